//! The plugin config file: one `[plugins.<name>]` TOML table per plugin ([`PluginConfigFile`],
//! which documents the format).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, ValueDeserializer};

use crate::config::{KeyPrefix, Location};

/// An error reading a plugin config file, or a plugin's typed config from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read plugin config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The path is not a regular file (a directory, a FIFO, a device such
    /// as `/dev/zero`, or a symlink to one), which could block or never end.
    #[error("plugin config file {} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than [`PluginConfigFile::MAX_SIZE`].
    #[error("plugin config file {} is too large: over {max} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in bytes.
        max: u64,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}:{column}: invalid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the TOML parser expected.
        message: String,
    },
    /// The file is valid TOML but not a plugin config file: it has a top-level key other than
    /// `plugins`, or a plugin entry that is not a table.
    #[error("{}:{line}:{column}: {}{message}", path.display(), KeyPrefix(key.as_deref()))]
    Layout {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column (in characters) of the offending key or value.
        column: usize,
        /// The offending key (dotted), when the error concerns one.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A plugin's table does not deserialize into the plugin's config type.
    #[error(
        "{}:{line}:{column}: plugin `{plugin}`: {}{message}",
        path.display(),
        KeyPrefix(key.as_deref())
    )]
    Config {
        /// The file.
        path: PathBuf,
        /// The plugin.
        plugin: String,
        /// 1-based line of the offending key or value, else of the plugin's table.
        line: usize,
        /// 1-based column (in characters), as `line`.
        column: usize,
        /// The offending key, dotted, relative to the plugin's table, when there is one.
        key: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A plugin has no table, and its config type has no default for some field.
    #[error("{}: no [plugins.{plugin}] table, and plugin `{plugin}` needs one: {message}", path.display())]
    MissingTable {
        /// The file.
        path: PathBuf,
        /// The plugin.
        plugin: String,
        /// What the config type is missing.
        message: String,
    },
}

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
    text: String,
    tables: BTreeMap<String, toml::Table>,
    lines: BTreeMap<String, usize>,
}

/// What a plugin config file may contain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Layout {
    #[serde(default)]
    plugins: BTreeMap<String, toml::Table>,
}

impl PluginConfigFile {
    /// The largest plugin config file [`load`](Self::load) reads: 16 MiB.
    pub const MAX_SIZE: u64 = 16 << 20;

    /// Reads and parses the plugin config file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the file cannot be read, [`Error::NotAFile`] when
    /// it is not a regular file, [`Error::TooLarge`] above
    /// [`MAX_SIZE`](Self::MAX_SIZE); otherwise as [`PluginConfigFile::parse`].
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
        let path = path.as_ref();
        let read = |source| Error::Read {
            path: path.to_owned(),
            source,
        };
        // Checked before opening: opening a FIFO would block. (A file swapped
        // for one between this check and the open is the remaining race.)
        let meta = fs::metadata(path).map_err(read)?;
        if !meta.is_file() {
            return Err(Error::NotAFile {
                path: path.to_owned(),
            });
        }
        let too_large = || Error::TooLarge {
            path: path.to_owned(),
            max: Self::MAX_SIZE,
        };
        if meta.len() > Self::MAX_SIZE {
            return Err(too_large());
        }
        // Bounded even if the file grows (or is swapped) after the check.
        let mut text = String::new();
        fs::File::open(path)
            .and_then(|f| f.take(Self::MAX_SIZE + 1).read_to_string(&mut text))
            .map_err(read)?;
        if text.len() as u64 > Self::MAX_SIZE {
            return Err(too_large());
        }
        let file = Self::parse(text, path)?;
        tracing::debug!(path = %path.display(), plugins = file.tables.len(), "read plugin config file");
        Ok(file)
    }

    /// Parses `text`, the content of the plugin config file `path` (used in errors).
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] for invalid TOML, [`Error::Layout`] for a top-level key other than
    /// `plugins` or a plugin entry that is not a table; both name the file, line and column.
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let err = PluginConfigFile::parse("[plugin.greeter]\n", "plugins.toml").unwrap_err();
    /// assert!(err.to_string().starts_with("plugins.toml:1:2: `plugin`: unknown field `plugin`"));
    /// ```
    pub fn parse(text: impl Into<String>, path: impl Into<PathBuf>) -> Result<Self, Error> {
        let (text, path) = (text.into(), path.into());
        let doc = DeTable::parse(&text).map_err(|err| syntax_error(&path, &text, &err))?;
        // Line numbers in one pass over the text, tables in file order:
        // counting from the start for each would be quadratic.
        let mut starts: Vec<(String, usize)> = plugin_tables(doc.get_ref())
            .into_iter()
            .flatten()
            .map(|(name, _)| (name.get_ref().to_string(), name.span().start))
            .collect();
        starts.sort_by_key(|(_, start)| *start);
        let (mut line, mut counted) = (1, 0);
        let lines = starts
            .into_iter()
            .map(|(name, start)| {
                let start = start.min(text.len());
                line += text.as_bytes()[counted..start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                counted = start;
                (name, line)
            })
            .collect();
        let layout = Layout::deserialize(toml::de::Deserializer::from(doc)).map_err(|err| {
            // Parsed fine above; parsed again only to name the key at fault.
            let doc = DeTable::parse(&text).ok();
            let at = Location::of(&text, err.span(), doc.as_ref().map(|d| d.get_ref()));
            Error::Layout {
                path: path.clone(),
                line: at.line,
                column: at.column,
                key: at.key,
                message: err.message().to_owned(),
            }
        })?;
        Ok(Self {
            path,
            text,
            tables: layout.plugins,
            lines,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the plugins that have a table, sorted.
    pub fn plugin_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
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
        self.tables.get(plugin)
    }

    /// The 1-based line where the table of `plugin` starts (its `[plugins.<name>]` header, or
    /// its key in `[plugins]`), for messages about it.
    pub fn line_of(&self, plugin: &str) -> Option<usize> {
        self.lines.get(plugin).copied()
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
        let names: BTreeSet<&String> = old.tables.keys().chain(new.tables.keys()).collect();
        names
            .into_iter()
            .filter(|name| old.tables.get(*name) != new.tables.get(*name))
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
        // From the tables parsed once; the text is parsed again only to
        // locate an error.
        if let Some(table) = self.tables.get(plugin)
            && let Ok(config) = C::deserialize(table.clone())
        {
            return Ok(config);
        }
        let doc =
            DeTable::parse(&self.text).map_err(|err| syntax_error(&self.path, &self.text, &err))?;
        let Some(value) = plugin_tables(doc.get_ref()).and_then(|plugins| plugins.get(plugin))
        else {
            return C::deserialize(toml::Table::new()).map_err(|err| Error::MissingTable {
                path: self.path.clone(),
                plugin: plugin.to_owned(),
                message: err.message().to_owned(),
            });
        };
        C::deserialize(ValueDeserializer::from(value.clone())).map_err(|err| {
            let span = err.span().unwrap_or_else(|| value.span());
            let at = Location::of(&self.text, Some(span), value.get_ref().as_table());
            self.config_error(plugin, at, err.message())
        })
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
        let doc = DeTable::parse(&self.text).ok();
        match doc
            .as_ref()
            .and_then(|doc| plugin_tables(doc.get_ref())?.get(plugin))
        {
            Some(value) => {
                let at = Location::of(&self.text, Some(value.span()), None);
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

/// The document's `plugins` table (plugin name -> table, with spans), if it is one.
fn plugin_tables<'a, 'i>(doc: &'a DeTable<'i>) -> Option<&'a DeTable<'i>> {
    doc.get("plugins")?.get_ref().as_table()
}

fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> Error {
    let at = Location::of(text, err.span(), None);
    Error::Syntax {
        path: path.to_owned(),
        line: at.line,
        column: at.column,
        message: err.message().to_owned(),
    }
}

mod unknown;

pub use unknown::UnknownTable;

#[cfg(test)]
mod tests;
