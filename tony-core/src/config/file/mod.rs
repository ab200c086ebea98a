//! The plugin config file: one `[plugins.<name>]` TOML table per plugin ([`PluginConfigFile`],
//! which documents the format).
//!
//! - `error.rs`: what can go wrong, naming file, line, key and plugin;
//! - `read.rs`: reading the file, bounded in size and refusing anything but a regular file;
//! - `unknown.rs`: tables for plugins that do not exist (typos), with the closest name;
//! - here: parsing, once per change, and typed access to each plugin's table.

mod error;
mod read;
#[cfg(test)]
mod tests;
mod unknown;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, ValueDeserializer};

use crate::config::location::{LineIndex, Location};

pub use error::Error;
pub use unknown::UnknownTable;

/// A parsed plugin config file: each plugin's TOML table, and where it is in the file.
///
/// ```toml
/// [plugins.greeter]
/// greeting = "hello"
///
/// [plugins.http]
/// port = 8080
/// tls = { cert = "cert.pem" }
/// ```
///
/// The file holds nothing else: a top-level key other than `plugins` is an error, so that a
/// misspelt `[plugin.greeter]` is reported instead of silently leaving `greeter` unconfigured.
/// A plugin reads its table as its typed config with [`PluginConfigFile::check`]; a plugin
/// without a table reads an empty one, that is, its config type's defaults.
///
/// `Default` is the empty file (no path, no plugins), the "before" of a file that appears.
///
/// ```
/// use serde::Deserialize;
/// use tony_core::PluginConfigFile;
///
/// #[derive(Debug, Deserialize)]
/// struct HttpConfig {
///     port: u16,
///     #[serde(default)]
///     host: Option<String>,
/// }
///
/// let file = PluginConfigFile::parse("[plugins.http]\nport = 8080\n", "plugins.toml")?;
/// let http: HttpConfig = file.check("http")?;
/// assert_eq!((http.port, http.host), (8080, None));
/// assert_eq!(file.line_of("http"), Some(1));
///
/// let bad = PluginConfigFile::parse("[plugins.http]\nport = \"80\"\n", "plugins.toml")?;
/// let err = bad.check::<HttpConfig>("http").unwrap_err();
/// assert!(err.to_string().starts_with("plugins.toml:2:8: plugin `http`: `port`: invalid type"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PluginConfigFile {
    path: PathBuf,
    /// The text, shared: kept only to locate errors, which re-parse it (errors only).
    text: Arc<str>,
    /// Each plugin's table, parsed once per change: typed access deserializes from it.
    plugins: Arc<BTreeMap<String, Entry>>,
}

/// One plugin's table, and where it is.
#[derive(Clone, Debug)]
struct Entry {
    table: toml::Table,
    /// Line of the table's name (its `[plugins.<name>]` header or its key in `[plugins]`).
    line: usize,
    /// Line and column where the table's value starts, for errors about the whole table.
    start: (usize, usize),
}

/// What a plugin config file may contain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Layout {
    #[serde(default)]
    plugins: BTreeMap<String, toml::Table>,
}

impl PluginConfigFile {
    /// The default cap on the size of a plugin config file read by
    /// [`load`](Self::load): 1 MiB. A bigger file is refused with [`Error::TooLarge`]
    /// before it is parsed; [`load_with_limit`](Self::load_with_limit) takes another cap.
    pub const MAX_SIZE: u64 = 1024 * 1024;

    /// The cap on the TOML tokens of a text [`parse`](Self::parse) accepts
    /// (keys, values, punctuation, runs of whitespace, comments): 131,072.
    ///
    /// Parsing costs memory per token (up to about 140 bytes each, measured),
    /// whatever their size, so the size cap alone does not bound it: 1 MiB of
    /// `[0],` would cost about 135 MiB. The tokens are counted first, in
    /// constant memory, and a text with more is refused with
    /// [`Error::TooManyTokens`]. Together with [`MAX_SIZE`](Self::MAX_SIZE),
    /// reading a file peaks at about 17 MiB at most (measured by
    /// `tony-core/tests/config_memory.rs`). A hand-written file of this many
    /// tokens is around 250 KiB.
    pub const MAX_TOKENS: usize = 1 << 17;

    /// Reads and parses the plugin config file at `path`, at most
    /// [`MAX_SIZE`](Self::MAX_SIZE) bytes.
    ///
    /// Only a regular file (or a symlink to one) is read: a FIFO, a device such as
    /// `/dev/zero`, a socket or a directory is refused with [`Error::NotAFile`] before it is
    /// opened, and the read stops one byte past the cap, so even a file swapped for an
    /// endless one between the check and the read cannot be read forever.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the file cannot be read, [`Error::NotAFile`] and
    /// [`Error::TooLarge`] as above; otherwise as [`PluginConfigFile::parse`].
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("plugins.toml");
    /// std::fs::write(&path, "[plugins.greeter]\ngreeting = \"hello\"\n")?;
    ///
    /// let file = PluginConfigFile::load(&path)?;
    /// assert_eq!(file.plugin_names(), ["greeter"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::load_with_limit(path, Self::MAX_SIZE)
    }

    /// As [`load`](Self::load), refusing files over `max_size` bytes.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), with [`Error::TooLarge`] naming `max_size`.
    ///
    /// ```
    /// use tony_core::{PluginConfigFile, error::ConfigFileError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("plugins.toml");
    /// std::fs::write(&path, "[plugins.greeter]\ngreeting = \"hello\"\n")?;
    ///
    /// let err = PluginConfigFile::load_with_limit(&path, 8).unwrap_err();
    /// assert!(matches!(err, ConfigFileError::TooLarge { limit: 8, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_with_limit(path: impl AsRef<Path>, max_size: u64) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = read::read_bounded(path, max_size)?;
        let file = Self::parse(text, path)?;
        tracing::debug!(path = %path.display(), plugins = file.plugins.len(), "read plugin config file");
        Ok(file)
    }

    /// Parses `text`, the content of the plugin config file `path` (used in errors).
    ///
    /// Time is linear in the size of the text: line numbers come from line starts indexed
    /// once. Each plugin's table is kept, so [`check`](Self::check) does not parse again.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyTokens`] for a text of more than [`MAX_TOKENS`](Self::MAX_TOKENS)
    /// tokens, [`Error::Syntax`] for invalid TOML, [`Error::Layout`] for a top-level key other
    /// than `plugins` or a plugin entry that is not a table; both name the file, line and
    /// column.
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let err = PluginConfigFile::parse("[plugin.greeter]\n", "plugins.toml").unwrap_err();
    /// assert!(err.to_string().starts_with("plugins.toml:1:2: `plugin`: unknown field `plugin`"));
    /// ```
    pub fn parse(text: impl Into<String>, path: impl Into<PathBuf>) -> Result<Self, Error> {
        let (text, path) = (text.into(), path.into());
        let tokens = toml_parser::Source::new(&text)
            .lex()
            .take(Self::MAX_TOKENS + 1)
            .count();
        if tokens > Self::MAX_TOKENS {
            return Err(Error::TooManyTokens {
                path,
                limit: Self::MAX_TOKENS,
            });
        }
        let lines = LineIndex::new(&text);
        let doc = parse_doc(&text).map_err(|err| syntax_error(&path, &text, &lines, &err))?;
        let mut places: BTreeMap<String, (usize, (usize, usize))> = BTreeMap::new();
        for (name, value) in plugin_tables(doc.get_ref()).into_iter().flatten() {
            let line = Location::at(&lines, &text, Some(name.span()), None).line;
            let start = Location::at(&lines, &text, Some(value.span()), None);
            places.insert(
                name.get_ref().to_string(),
                (line, (start.line, start.column)),
            );
        }
        let layout = Layout::deserialize(toml::de::Deserializer::from(doc)).map_err(|err| {
            // Parsed fine above; parsed again (errors only) to name the key at fault.
            let doc = parse_doc(&text).ok();
            let at = Location::at(&lines, &text, err.span(), doc.as_ref().map(|d| d.get_ref()));
            Error::Layout {
                path: path.clone(),
                line: at.line,
                column: at.column,
                key: at.key,
                message: err.message().to_owned(),
            }
        })?;
        let plugins = layout
            .plugins
            .into_iter()
            .map(|(name, table)| {
                let (line, start) = places.get(&name).copied().unwrap_or((1, (1, 1)));
                (name, Entry { table, line, start })
            })
            .collect();
        Ok(Self {
            path,
            text: text.into(),
            plugins: Arc::new(plugins),
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the plugins that have a table, sorted.
    pub fn plugin_names(&self) -> Vec<String> {
        self.plugins.keys().cloned().collect()
    }

    /// The table of `plugin`, if the file has one.
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let file = PluginConfigFile::parse("[plugins.http]\nport = 8080\n", "plugins.toml")?;
    /// assert_eq!(file.table("http").and_then(|t| t["port"].as_integer()), Some(8080));
    /// assert!(file.table("greeter").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn table(&self, plugin: &str) -> Option<&toml::Table> {
        self.plugins.get(plugin).map(|entry| &entry.table)
    }

    /// The 1-based line where the table of `plugin` starts (its `[plugins.<name>]` header, or
    /// its key in `[plugins]`), for messages about it.
    pub fn line_of(&self, plugin: &str) -> Option<usize> {
        self.plugins.get(plugin).map(|entry| entry.line)
    }

    /// The plugins whose table differs between `old` and `new`, added and removed ones
    /// included, sorted by name. Formatting, comments and key order do not count.
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let old = PluginConfigFile::parse("[plugins.a]\nx = 1\n[plugins.b]\nx = 1\n", "p.toml")?;
    /// let new = PluginConfigFile::parse("[plugins.b]\nx = 2\n[plugins.a]\nx = 1 # same\n", "p.toml")?;
    /// assert_eq!(PluginConfigFile::changed_plugins(&old, &new), ["b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn changed_plugins(old: &Self, new: &Self) -> Vec<String> {
        let names: BTreeSet<&String> = old.plugins.keys().chain(new.plugins.keys()).collect();
        names
            .into_iter()
            .filter(|name| old.table(name) != new.table(name))
            .cloned()
            .collect()
    }

    /// Deserializes the table of `plugin` into its config type `C`; a plugin without a table
    /// gets `C` from an empty table (its defaults).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file, the plugin, the line and column of the offending
    /// key or value (of the plugin's table when the error concerns the table as a whole, such
    /// as a missing field) and the key; [`Error::MissingTable`] when there is no table and `C`
    /// cannot be built from an empty one.
    pub fn check<C: DeserializeOwned>(&self, plugin: &str) -> Result<C, Error> {
        let Some(entry) = self.plugins.get(plugin) else {
            return C::deserialize(toml::Table::new()).map_err(|err| Error::MissingTable {
                path: self.path.clone(),
                plugin: plugin.to_owned(),
                message: err.message().to_owned(),
            });
        };
        // The table parsed once per change; the text is parsed again only to locate an error.
        C::deserialize(entry.table.clone()).map_err(|err| self.locate::<C>(plugin, entry, &err))
    }

    /// Locates a typed-config error of `plugin` by deserializing its table into `C` again,
    /// this time from a parse that keeps spans (errors only).
    fn locate<C: DeserializeOwned>(
        &self,
        plugin: &str,
        entry: &Entry,
        err: &toml::de::Error,
    ) -> Error {
        let at_start = Location {
            line: entry.start.0,
            column: entry.start.1,
            key: None,
        };
        let doc = parse_doc(&self.text).ok();
        let Some(value) = doc
            .as_ref()
            .and_then(|doc| plugin_tables(doc.get_ref())?.get(plugin))
        else {
            return self.config_error(plugin, at_start, err.message());
        };
        match C::deserialize(ValueDeserializer::from(value.clone())) {
            Err(spanned) => {
                let span = spanned.span().unwrap_or_else(|| value.span());
                let lines = LineIndex::new(&self.text);
                let at = Location::at(&lines, &self.text, Some(span), value.get_ref().as_table());
                self.config_error(plugin, at, spanned.message())
            }
            Ok(_) => self.config_error(plugin, at_start, err.message()),
        }
    }

    /// An error about the table of `plugin` found by other means than [`check`](Self::check)
    /// (a validator, say), located at the start of that table: [`Error::Config`], or
    /// [`Error::MissingTable`] when the plugin has no table.
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let file = PluginConfigFile::parse("\n[plugins.http]\nport = 80\n", "plugins.toml")?;
    /// let err = file.plugin_error("http", "port must be above 1024");
    /// assert_eq!(err.to_string(), "plugins.toml:2:1: plugin `http`: port must be above 1024");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn plugin_error(&self, plugin: &str, error: impl fmt::Display) -> Error {
        match self.plugins.get(plugin) {
            Some(entry) => {
                let at = Location {
                    line: entry.start.0,
                    column: entry.start.1,
                    key: None,
                };
                self.config_error(plugin, at, &error.to_string())
            }
            None => Error::MissingTable {
                path: self.path.clone(),
                plugin: plugin.to_owned(),
                message: error.to_string(),
            },
        }
    }

    fn config_error(&self, plugin: &str, at: Location, message: &str) -> Error {
        Error::Config {
            path: self.path.clone(),
            plugin: plugin.to_owned(),
            line: at.line,
            column: at.column,
            key: at.key,
            message: message.to_owned(),
        }
    }
}

/// Parses a whole file text: the one place it happens, so tests can count it.
fn parse_doc(text: &str) -> Result<toml::Spanned<DeTable<'_>>, toml::de::Error> {
    #[cfg(test)]
    tests::count_parse();
    DeTable::parse(text)
}

/// The document's `plugins` table (plugin name -> table, with spans), if it is one.
fn plugin_tables<'a, 'i>(doc: &'a DeTable<'i>) -> Option<&'a DeTable<'i>> {
    doc.get("plugins")?.get_ref().as_table()
}

fn syntax_error(path: &Path, text: &str, lines: &LineIndex, err: &toml::de::Error) -> Error {
    let at = Location::at(lines, text, err.span(), None);
    Error::Syntax {
        path: path.to_owned(),
        line: at.line,
        column: at.column,
        message: err.message().to_owned(),
    }
}
