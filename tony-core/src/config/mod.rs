//! Hot-reload configuration: [`HotReloadConfig`], its [`Environment`] presets, and TOML files.
//!
//! A configuration comes from code ([`HotReloadConfig::default`] plus `with_*` methods), from
//! the environment ([`HotReloadConfig::from_env`] picks the preset named by `TONY_ENV`), or
//! from a TOML file ([`HotReloadConfig::from_toml_file`], format documented on
//! [`HotReloadConfig`]).

use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

mod presets;
#[cfg(test)]
mod tests;

pub use presets::Environment;
use presets::VALID_ENVIRONMENTS;

/// An error of hot-reload configuration: a config file that cannot be read or is invalid, or
/// an unknown environment name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read hot-reload config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The config is not valid TOML.
    #[error("{}:{line}:{column}: invalid TOML: {message}", path.display())]
    Syntax {
        /// The file (or the origin given to [`HotReloadConfig::from_toml_str`]).
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the TOML parser expected.
        message: String,
    },
    /// The config is valid TOML, but a key is unknown or its value has the wrong type.
    #[error("{}:{line}:{column}: {}{message}", path.display(), KeyPrefix(key.as_deref()))]
    Invalid {
        /// The file (or the origin given to [`HotReloadConfig::from_toml_str`]).
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column (in characters) of the offending key or value.
        column: usize,
        /// The offending key (dotted), when the error concerns one.
        key: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// `TONY_ENV` is set to something that names no environment.
    #[error("TONY_ENV={value:?} names no environment; expected {VALID_ENVIRONMENTS}, or unset")]
    InvalidTonyEnv {
        /// The value of `TONY_ENV`.
        value: String,
    },
    /// A string names no environment.
    #[error("unknown environment `{value}`; expected {VALID_ENVIRONMENTS}")]
    UnknownEnvironment {
        /// The string.
        value: String,
    },
}

/// How Tony reacts to changes: file watching, state preservation, validation, retries.
///
/// Build one from [`Default`] (the values below), from a preset
/// ([`HotReloadConfig::for_environment`], [`HotReloadConfig::from_env`]) or from a TOML file
/// ([`HotReloadConfig::from_toml_file`], format below), then adjust it with the `with_*`
/// methods.
///
/// ```
/// use std::time::Duration;
/// use tony_core::{Environment, HotReloadConfig};
///
/// let config = HotReloadConfig::for_environment(Environment::Development)
///     .with_debounce(Duration::from_millis(150))
///     .with_plugin_config_path("plugins.toml");
/// assert!(config.enabled);
/// assert_eq!(config.extensions, ["rs", "toml"]);
/// ```
///
/// # TOML format
///
/// Every key is optional. A file starts from the preset named by its `environment` key, or from
/// [`HotReloadConfig::default`] when it has none (a file never consults `TONY_ENV`, so it means
/// the same thing everywhere); each key present replaces the base value. Unknown keys are errors.
///
/// ```toml
/// environment = "development"         # base preset: development|dev, production|prod, testing|test
/// enabled = true
/// preserve_state = true
/// validate_before_reload = true
/// debounce_ms = 300                   # `debounce`, in whole milliseconds
/// recursive = true
/// extensions = ["rs", "toml"]         # without the leading dot
/// ignore = ["target/**", ".git/**"]   # glob patterns
/// max_retry_attempts = 3
/// reload_dependents = true
/// plugin_config_path = "plugins.toml" # relative to the directory of this file
/// ```
///
/// Deserializing a `HotReloadConfig` directly (say, as a table of an application's own config
/// file) uses the same keys except `environment`, and fills missing keys from the default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
#[non_exhaustive]
pub struct HotReloadConfig {
    /// Whether Tony reloads plugins when their code or config changes.
    /// Default: `true` in debug builds, `false` in release builds.
    pub enabled: bool,
    /// Whether a reloaded plugin keeps its state (snapshot before, restore after). Default: `true`.
    pub preserve_state: bool,
    /// Whether the new version is validated (metadata, dependency ranges, validators) before the
    /// old one is touched. Default: `true`.
    pub validate_before_reload: bool,
    /// How long file changes must stay quiet before they are acted upon. Default: 500 ms.
    ///
    /// In TOML: `debounce_ms`, an integer number of milliseconds (sub-millisecond parts are
    /// dropped when serializing).
    #[serde(rename = "debounce_ms", with = "millis")]
    pub debounce: Duration,
    /// Whether watched directories are watched with their subdirectories. Default: `true`.
    pub recursive: bool,
    /// Extensions of the files worth watching, without the leading dot.
    /// Default: `["rs", "toml"]`.
    pub extensions: Vec<String>,
    /// Glob patterns of paths never watched. Default: `["target/**", ".git/**"]`.
    pub ignore: Vec<String>,
    /// How many times one reload is attempted before Tony gives up and keeps the previous
    /// version running. Default: 3.
    pub max_retry_attempts: u32,
    /// Whether the plugins that depend on a reloaded plugin are reloaded with it. Default: `true`.
    pub reload_dependents: bool,
    /// The TOML file holding the per-plugin config tables (see
    /// [`PluginConfigFile`](crate::PluginConfigFile)), if any. Default: `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_config_path: Option<PathBuf>,
}

impl Default for HotReloadConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(debug_assertions),
            preserve_state: true,
            validate_before_reload: true,
            debounce: Duration::from_millis(500),
            recursive: true,
            extensions: vec!["rs".into(), "toml".into()],
            ignore: vec!["target/**".into(), ".git/**".into()],
            max_retry_attempts: 3,
            reload_dependents: true,
            plugin_config_path: None,
        }
    }
}

impl HotReloadConfig {
    /// The preset of `env` (see the table on [`Environment`]); fields the preset does not
    /// mention keep their default.
    ///
    /// ```
    /// use tony_core::{Environment, HotReloadConfig};
    ///
    /// let config = HotReloadConfig::for_environment(Environment::Testing);
    /// assert!(!config.enabled);
    /// assert_eq!(config.max_retry_attempts, 1);
    /// ```
    pub fn for_environment(env: Environment) -> Self {
        let base = Self::default();
        match env {
            Environment::Development => Self {
                enabled: true,
                debounce: Duration::from_millis(300),
                preserve_state: true,
                validate_before_reload: true,
                reload_dependents: true,
                ..base
            },
            Environment::Production => Self {
                enabled: false,
                preserve_state: false,
                validate_before_reload: true,
                reload_dependents: false,
                ..base
            },
            Environment::Testing => Self {
                enabled: false,
                debounce: Duration::from_millis(100),
                preserve_state: false,
                max_retry_attempts: 1,
                ..base
            },
        }
    }

    /// The preset of the environment named by `TONY_ENV` ([`Environment::from_env`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTonyEnv`] when `TONY_ENV` names no environment.
    ///
    /// ```
    /// use tony_core::HotReloadConfig;
    ///
    /// let config = HotReloadConfig::from_env()?;
    /// assert_eq!(config.extensions, ["rs", "toml"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Environment::from_env().map(Self::for_environment)
    }

    /// Reads a TOML config file (format: [`HotReloadConfig`](HotReloadConfig#toml-format)).
    ///
    /// A relative `plugin_config_path` is resolved against the directory of `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the file cannot be read; otherwise as
    /// [`HotReloadConfig::from_toml_str`].
    ///
    /// ```
    /// use tony_core::HotReloadConfig;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("hot-reload.toml");
    /// std::fs::write(&path, "environment = \"dev\"\nplugin_config_path = \"plugins.toml\"\n")?;
    ///
    /// let config = HotReloadConfig::from_toml_file(&path)?;
    /// assert_eq!(config.plugin_config_path, Some(dir.path().join("plugins.toml")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml_str(&text, path)?;
        if let (Some(plugins), Some(dir)) = (&mut config.plugin_config_path, path.parent())
            && plugins.is_relative()
        {
            *plugins = dir.join(&*plugins);
        }
        tracing::debug!(path = %path.display(), "read hot-reload config");
        Ok(config)
    }

    /// Parses a TOML config (format: [`HotReloadConfig`](HotReloadConfig#toml-format)); `origin`
    /// names it in errors. A relative `plugin_config_path` is kept as written.
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] for invalid TOML, [`Error::Invalid`] for an unknown key or a value of
    /// the wrong type; both name `origin`, the line and column, and (`Invalid`) the key.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tony_core::{Environment, HotReloadConfig};
    ///
    /// let config = HotReloadConfig::from_toml_str("environment = \"prod\"\ndebounce_ms = 250", "inline")?;
    /// assert_eq!(
    ///     config,
    ///     HotReloadConfig::for_environment(Environment::Production).with_debounce(Duration::from_millis(250)),
    /// );
    ///
    /// let err = HotReloadConfig::from_toml_str("enabled = true\ndebounce = 250", "hot.toml").unwrap_err();
    /// assert!(err.to_string().starts_with("hot.toml:2:1: `debounce`: unknown field"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_toml_str(text: &str, origin: impl AsRef<Path>) -> Result<Self, Error> {
        let path = origin.as_ref();
        let doc = DeTable::parse(text).map_err(|err| {
            let at = Location::of(text, err.span(), None);
            Error::Syntax {
                path: path.to_owned(),
                line: at.line,
                column: at.column,
                message: err.message().to_owned(),
            }
        })?;
        let overrides =
            FileOverrides::deserialize(toml::de::Deserializer::from(doc)).map_err(|err| {
                // Parsed fine above; parsed again only to name the key at fault.
                let root = DeTable::parse(text).ok();
                let at = Location::of(text, err.span(), root.as_ref().map(|r| r.get_ref()));
                Error::Invalid {
                    path: path.to_owned(),
                    line: at.line,
                    column: at.column,
                    key: at.key,
                    message: err.message().to_owned(),
                }
            })?;
        Ok(overrides.apply())
    }

    /// Sets [`enabled`](Self::enabled).
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets [`preserve_state`](Self::preserve_state).
    #[must_use]
    pub fn with_preserve_state(mut self, preserve_state: bool) -> Self {
        self.preserve_state = preserve_state;
        self
    }

    /// Sets [`validate_before_reload`](Self::validate_before_reload).
    #[must_use]
    pub fn with_validate_before_reload(mut self, validate: bool) -> Self {
        self.validate_before_reload = validate;
        self
    }

    /// Sets [`debounce`](Self::debounce).
    #[must_use]
    pub fn with_debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Sets [`recursive`](Self::recursive).
    #[must_use]
    pub fn with_recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }

    /// Sets [`extensions`](Self::extensions) (without the leading dot).
    #[must_use]
    pub fn with_extensions<I>(mut self, extensions: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.extensions = extensions.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`ignore`](Self::ignore) (glob patterns).
    #[must_use]
    pub fn with_ignore<I>(mut self, patterns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.ignore = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`max_retry_attempts`](Self::max_retry_attempts).
    #[must_use]
    pub fn with_max_retry_attempts(mut self, attempts: u32) -> Self {
        self.max_retry_attempts = attempts;
        self
    }

    /// Sets [`reload_dependents`](Self::reload_dependents).
    #[must_use]
    pub fn with_reload_dependents(mut self, reload_dependents: bool) -> Self {
        self.reload_dependents = reload_dependents;
        self
    }

    /// Sets [`plugin_config_path`](Self::plugin_config_path).
    #[must_use]
    pub fn with_plugin_config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.plugin_config_path = Some(path.into());
        self
    }
}

/// The keys of a config file: a base preset and optional overrides of its fields.
/// (`every_field_round_trips_through_a_file` keeps it in step with `HotReloadConfig`.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOverrides {
    environment: Option<Environment>,
    enabled: Option<bool>,
    preserve_state: Option<bool>,
    validate_before_reload: Option<bool>,
    debounce_ms: Option<u64>,
    recursive: Option<bool>,
    extensions: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    max_retry_attempts: Option<u32>,
    reload_dependents: Option<bool>,
    plugin_config_path: Option<PathBuf>,
}

impl FileOverrides {
    fn apply(self) -> HotReloadConfig {
        let mut config = self
            .environment
            .map_or_else(HotReloadConfig::default, HotReloadConfig::for_environment);
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(value) = self.$field { config.$field = value; })* };
        }
        set!(
            enabled,
            preserve_state,
            validate_before_reload,
            recursive,
            extensions,
            ignore,
            max_retry_attempts,
            reload_dependents
        );
        if let Some(ms) = self.debounce_ms {
            config.debounce = Duration::from_millis(ms);
        }
        config.plugin_config_path = self.plugin_config_path.or(config.plugin_config_path);
        config
    }
}

/// Serde representation of a `Duration` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Formats `` `key`: `` before an error message, or nothing.
pub(crate) struct KeyPrefix<'a>(pub(crate) Option<&'a str>);

impl fmt::Display for KeyPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "`{key}`: "),
            None => Ok(()),
        }
    }
}

/// Where a TOML error points: 1-based line and column, and the dotted key concerned.
#[derive(Debug)]
pub(crate) struct Location {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) key: Option<String>,
}

impl Location {
    /// Locates `span` (a byte range of `text`; none: the start) and, given the table parsed
    /// from `text` that the error concerns, names the key (relative to that table) it covers.
    pub(crate) fn of(text: &str, span: Option<Range<usize>>, table: Option<&DeTable<'_>>) -> Self {
        let start = span.as_ref().map_or(0, |span| span.start);
        let before = &text[..text.floor_char_boundary(start)];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            key: span
                .zip(table)
                .and_then(|(span, table)| key_at(table, &span)),
        }
    }
}

/// The dotted path, relative to `table`, of the key whose name or value covers `span`.
fn key_at(table: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    let covers = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    table.iter().find_map(|(key, value)| {
        let name = key.get_ref();
        if covers(key.span()) {
            return Some(name.to_string());
        }
        let inner = match value.get_ref() {
            DeValue::Table(table) => key_at(table, span).map(|sub| format!("{name}.{sub}")),
            DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let item = item.get_ref().as_table()?;
                key_at(item, span).map(|sub| format!("{name}[{i}].{sub}"))
            }),
            _ => None,
        };
        inner.or_else(|| covers(value.span()).then(|| name.to_string()))
    })
}
