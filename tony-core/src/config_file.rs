//! The plugin config file: one `[plugins.<name>]` TOML table per plugin ([`PluginConfigFile`],
//! which documents the format).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
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
    /// Reads and parses the plugin config file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the file cannot be read; otherwise as [`PluginConfigFile::parse`].
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
        let text = fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
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
        let lines = plugin_tables(doc.get_ref())
            .into_iter()
            .flatten()
            .map(|(name, _)| {
                let line = Location::of(&text, Some(name.span()), None).line;
                (name.get_ref().to_string(), line)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;

    const FILE: &str = "\
# plugin config
[plugins]
inline = { x = 1 }

[plugins.http]
port = 8080
host = \"localhost\"

[plugins.http.tls]
cert = \"cert.pem\"

[plugins.greeter]
greeting = \"hello\"
";

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Http {
        port: u16,
        host: String,
        #[serde(default)]
        tls: Option<Tls>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Tls {
        cert: String,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Greeter {
        greeting: String,
    }

    fn parse(text: &str) -> PluginConfigFile {
        PluginConfigFile::parse(text, "plugins.toml").unwrap()
    }

    fn typed_error<C: DeserializeOwned + fmt::Debug>(
        text: &str,
        plugin: &str,
    ) -> (usize, usize, Option<String>, String) {
        match parse(text).check::<C>(plugin) {
            Err(Error::Config {
                path,
                plugin: at_fault,
                line,
                column,
                key,
                message,
            }) => {
                assert_eq!(
                    (path.as_path(), at_fault.as_str()),
                    (Path::new("plugins.toml"), plugin)
                );
                (line, column, key, message)
            }
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }

    #[test]
    fn each_plugin_has_its_table_and_line() {
        let file = parse(FILE);
        assert_eq!(file.plugin_names(), ["greeter", "http", "inline"]);
        let http = file.table("http").unwrap();
        assert_eq!(http["port"].as_integer(), Some(8080));
        assert_eq!(http["tls"]["cert"].as_str(), Some("cert.pem"));
        assert_eq!(file.table("inline").unwrap()["x"].as_integer(), Some(1));
        assert_eq!(file.table("missing"), None);
        assert_eq!(file.line_of("inline"), Some(3));
        assert_eq!(file.line_of("http"), Some(5));
        assert_eq!(file.line_of("greeter"), Some(12));
        assert_eq!(file.line_of("missing"), None);
        assert_eq!(file.path(), Path::new("plugins.toml"));
    }

    #[test]
    fn an_empty_file_has_no_plugins() {
        assert!(parse("# nothing yet\n").plugin_names().is_empty());
        assert!(parse("[plugins]\n").plugin_names().is_empty());
    }

    #[test]
    fn top_level_keys_other_than_plugins_are_rejected() {
        let err = PluginConfigFile::parse(
            "# typo\n[plugin.greeter]\ngreeting = \"hi\"\n",
            "plugins.toml",
        )
        .unwrap_err();
        let Error::Layout {
            line,
            column,
            key,
            message,
            ..
        } = &err
        else {
            panic!("expected Error::Layout, got {err:?}");
        };
        assert_eq!((*line, *column, key.as_deref()), (2, 2, Some("plugin")));
        assert!(message.contains("unknown field `plugin`"), "{message}");
    }

    #[test]
    fn a_plugin_entry_must_be_a_table() {
        let err = PluginConfigFile::parse("[plugins]\nhttp = 8080\n", "plugins.toml").unwrap_err();
        let Error::Layout { line, key, .. } = &err else {
            panic!("expected Error::Layout, got {err:?}");
        };
        assert_eq!((*line, key.as_deref()), (2, Some("plugins.http")));
        assert!(
            err.to_string()
                .starts_with("plugins.toml:2:8: `plugins.http`: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let err =
            PluginConfigFile::parse("[plugins.http]\nport = 80\nhost = \n", "conf/plugins.toml")
                .unwrap_err();
        let Error::Syntax {
            path, line, column, ..
        } = &err
        else {
            panic!("expected Error::Syntax, got {err:?}");
        };
        assert_eq!(
            (path.as_path(), *line, *column),
            (Path::new("conf/plugins.toml"), 3, 8)
        );
        assert!(
            err.to_string()
                .starts_with("conf/plugins.toml:3:8: invalid TOML"),
            "{err}"
        );
    }

    #[test]
    fn changed_plugins_lists_changed_added_and_removed_tables() {
        let old = parse("[plugins.a]\nx = 1\n[plugins.b]\ny = 1\n[plugins.c]\nz = 1\n");
        let new = parse(
            "[plugins.d]\n\n[plugins.b]\ny = 2\n\n# moved, same content\n[plugins.a]\nx = 1\n",
        );
        assert_eq!(
            PluginConfigFile::changed_plugins(&old, &new),
            ["b", "c", "d"]
        );
        assert_eq!(
            PluginConfigFile::changed_plugins(&new, &new),
            Vec::<String>::new()
        );
        let empty = PluginConfigFile::default();
        assert_eq!(
            PluginConfigFile::changed_plugins(&empty, &old),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn check_deserializes_the_typed_config() {
        let file = parse(FILE);
        let http: Http = file.check("http").unwrap();
        let tls = Some(Tls {
            cert: "cert.pem".into(),
        });
        assert_eq!(
            http,
            Http {
                port: 8080,
                host: "localhost".into(),
                tls
            }
        );
        let greeter: Greeter = file.check("greeter").unwrap();
        assert_eq!(greeter.greeting, "hello");
    }

    #[test]
    fn check_names_the_line_and_key_of_a_wrong_type() {
        let text = FILE.replace("port = 8080", "port = \"eighty\"");
        let (line, column, key, message) = typed_error::<Http>(&text, "http");
        assert_eq!((line, column, key.as_deref()), (6, 8, Some("port")));
        assert!(message.contains("invalid type"), "{message}");
        let err = parse(&text).check::<Http>("http").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("plugins.toml:6:8: plugin `http`: `port`: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn check_names_the_line_of_an_unknown_or_nested_key() {
        let text = FILE.replace("host = \"localhost\"", "host = \"localhost\"\nhots = 1");
        let (line, column, key, message) = typed_error::<Http>(&text, "http");
        assert_eq!((line, column, key.as_deref()), (8, 1, Some("hots")));
        assert!(message.contains("unknown field `hots`"), "{message}");

        let text = FILE.replace("cert = \"cert.pem\"", "cert = 3");
        let (line, _, key, _) = typed_error::<Http>(&text, "http");
        assert_eq!((line, key.as_deref()), (10, Some("tls.cert")));
    }

    #[test]
    fn check_points_at_the_table_when_a_field_is_missing() {
        let text = FILE.replace("port = 8080\n", "");
        let (line, column, key, message) = typed_error::<Http>(&text, "http");
        assert_eq!((line, column, key), (5, 1, None));
        assert!(message.contains("missing field `port`"), "{message}");

        let (line, _, _, _) = typed_error::<Http>(FILE, "inline");
        assert_eq!(line, 3);
    }

    #[test]
    fn a_plugin_without_a_table_gets_its_defaults() {
        let file = parse(FILE);
        assert_eq!(file.check::<Greeter>("absent").unwrap(), Greeter::default());
        let err = file.check::<Http>("absent").unwrap_err();
        assert!(
            matches!(&err, Error::MissingTable { plugin, .. } if plugin == "absent"),
            "{err:?}"
        );
        assert!(err.to_string().contains("missing field `port`"), "{err}");
    }

    #[test]
    fn plugin_error_points_at_the_plugin_table() {
        let file = parse(FILE);
        let err = file.plugin_error("greeter", "greeting too short");
        assert!(
            matches!(&err, Error::Config { plugin, line: 12, column: 1, key: None, .. } if plugin == "greeter"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "plugins.toml:12:1: plugin `greeter`: greeting too short"
        );
        let err = file.plugin_error("absent", "needed");
        assert!(
            matches!(&err, Error::MissingTable { plugin, .. } if plugin == "absent"),
            "{err:?}"
        );
    }

    #[test]
    fn load_reads_the_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugins.toml");
        fs::write(&path, FILE).unwrap();
        let file = PluginConfigFile::load(&path).unwrap();
        assert_eq!(
            (file.path(), file.line_of("http")),
            (path.as_path(), Some(5))
        );

        let missing = dir.path().join("missing.toml");
        let err = PluginConfigFile::load(&missing).unwrap_err();
        assert!(
            matches!(&err, Error::Read { path, .. } if *path == missing),
            "{err:?}"
        );
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }
}
