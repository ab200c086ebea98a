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
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::de::{DeTable, DeValue};

/// The accepted environment names, for error messages.
const VALID_ENVIRONMENTS: &str = "development (or dev), production (or prod), testing (or test)";

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

/// A deployment environment; each selects a [`HotReloadConfig`] preset
/// ([`HotReloadConfig::for_environment`]).
///
/// Fields a preset does not mention keep their [default](HotReloadConfig::default):
///
/// | preset        | `enabled` | `debounce` | `preserve_state` | `validate_before_reload` | `reload_dependents` | `max_retry_attempts` |
/// |---------------|-----------|------------|------------------|--------------------------|---------------------|----------------------|
/// | `Development` | true      | 300 ms     | true             | true                     | true                | 3                    |
/// | `Production`  | false     | 500 ms     | false            | true                     | false               | 3                    |
/// | `Testing`     | false     | 100 ms     | false            | true                     | true                | 1                    |
///
/// Its text form (`Display`, `FromStr`, serde) is `development`, `production` or `testing`;
/// parsing also accepts `dev`, `prod` and `test`, in any letter case.
///
/// ```
/// use tony_core::Environment;
///
/// assert_eq!("Prod".parse::<Environment>()?, Environment::Production);
/// assert_eq!(Environment::Testing.to_string(), "testing");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Working on the code: hot reload on, short debounce, state carried across reloads.
    Development,
    /// Deployed: hot reload off; reloads (manual ones) keep no state and touch no dependents.
    Production,
    /// Automated tests: hot reload off, short debounce, no state, a single attempt per reload.
    Testing,
}

impl Environment {
    /// The environment variable read by [`Environment::from_env`].
    pub const VAR: &'static str = "TONY_ENV";

    /// Reads the environment from the `TONY_ENV` variable; see [`Environment::from_var`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTonyEnv`] when `TONY_ENV` names no environment (the message lists the
    /// valid values).
    ///
    /// ```
    /// use tony_core::{Environment, HotReloadConfig};
    ///
    /// let config = match Environment::from_env() {
    ///     Ok(env) => HotReloadConfig::for_environment(env),
    ///     Err(err) => {
    ///         tracing::warn!("{err}; using the default hot-reload config");
    ///         HotReloadConfig::default()
    ///     }
    /// };
    /// # let _ = config;
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        let value = std::env::var_os(Self::VAR).map(|v| v.to_string_lossy().into_owned());
        let env = Self::from_var(value.as_deref())?;
        tracing::debug!(environment = %env, var = Self::VAR, "selected environment");
        Ok(env)
    }

    /// The environment named by `value`, the content of `TONY_ENV` (`None` when unset).
    ///
    /// Unset, empty or blank: [`Environment::default`] (`Development` in debug builds,
    /// `Production` in release builds). Otherwise the name is parsed as with
    /// [`FromStr`], ignoring surrounding whitespace.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTonyEnv`] when `value` names no environment.
    ///
    /// ```
    /// use tony_core::Environment;
    ///
    /// assert_eq!(Environment::from_var(Some("test"))?, Environment::Testing);
    /// assert_eq!(Environment::from_var(None)?, Environment::default());
    /// assert!(Environment::from_var(Some("staging")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_var(value: Option<&str>) -> Result<Self, Error> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::default()),
            Some(name) => name.parse().map_err(|_| Error::InvalidTonyEnv {
                value: name.to_owned(),
            }),
        }
    }

    /// The canonical name: `"development"`, `"production"` or `"testing"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Testing => "testing",
        }
    }
}

impl Default for Environment {
    /// `Development` in debug builds (`debug_assertions` on), `Production` otherwise.
    fn default() -> Self {
        if cfg!(debug_assertions) {
            Self::Development
        } else {
            Self::Production
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        const NAMES: [(&str, Environment); 6] = [
            ("development", Environment::Development),
            ("dev", Environment::Development),
            ("production", Environment::Production),
            ("prod", Environment::Production),
            ("testing", Environment::Testing),
            ("test", Environment::Testing),
        ];
        NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, env)| env)
            .ok_or_else(|| Error::UnknownEnvironment {
                value: name.to_owned(),
            })
    }
}

impl Serialize for Environment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ALL: [Environment; 3] = [
        Environment::Development,
        Environment::Production,
        Environment::Testing,
    ];

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn invalid(text: &str) -> (usize, usize, Option<String>, String) {
        match HotReloadConfig::from_toml_str(text, "hot.toml") {
            Err(Error::Invalid {
                path,
                line,
                column,
                key,
                message,
            }) => {
                assert_eq!(path, Path::new("hot.toml"));
                (line, column, key, message)
            }
            other => panic!("expected Error::Invalid, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_guide() {
        let c = HotReloadConfig::default();
        assert_eq!(c.enabled, cfg!(debug_assertions));
        assert!(c.preserve_state && c.validate_before_reload && c.recursive && c.reload_dependents);
        assert_eq!(c.debounce, ms(500));
        assert_eq!(c.extensions, ["rs", "toml"]);
        assert_eq!(c.ignore, ["target/**", ".git/**"]);
        assert_eq!(c.max_retry_attempts, 3);
        assert_eq!(c.plugin_config_path, None);
    }

    #[test]
    fn development_preset() {
        let c = HotReloadConfig::for_environment(Environment::Development);
        assert!(c.enabled && c.preserve_state && c.validate_before_reload && c.reload_dependents);
        assert_eq!(c.debounce, ms(300));
        assert_eq!(c.max_retry_attempts, 3);
        assert!(c.recursive);
    }

    #[test]
    fn production_preset() {
        let c = HotReloadConfig::for_environment(Environment::Production);
        assert!(!c.enabled && !c.preserve_state && !c.reload_dependents);
        assert!(c.validate_before_reload);
        assert_eq!(c.debounce, ms(500));
        assert_eq!(c.max_retry_attempts, 3);
    }

    #[test]
    fn testing_preset() {
        let c = HotReloadConfig::for_environment(Environment::Testing);
        assert!(!c.enabled && !c.preserve_state);
        assert_eq!(c.debounce, ms(100));
        assert_eq!(c.max_retry_attempts, 1);
        assert!(c.validate_before_reload && c.reload_dependents);
    }

    #[test]
    fn presets_keep_the_default_watch_settings() {
        let default = HotReloadConfig::default();
        for env in ALL {
            let c = HotReloadConfig::for_environment(env);
            assert_eq!(
                (c.recursive, &c.extensions, &c.ignore, &c.plugin_config_path),
                (
                    default.recursive,
                    &default.extensions,
                    &default.ignore,
                    &default.plugin_config_path
                ),
                "{env}"
            );
        }
    }

    #[test]
    fn builders_set_their_field() {
        let c = HotReloadConfig::default()
            .with_enabled(false)
            .with_preserve_state(false)
            .with_validate_before_reload(false)
            .with_debounce(ms(42))
            .with_recursive(false)
            .with_extensions(["rs"])
            .with_ignore(vec![String::from("**/gen/**")])
            .with_max_retry_attempts(7)
            .with_reload_dependents(false)
            .with_plugin_config_path("p.toml");
        let expected = HotReloadConfig {
            enabled: false,
            preserve_state: false,
            validate_before_reload: false,
            debounce: ms(42),
            recursive: false,
            extensions: vec!["rs".into()],
            ignore: vec!["**/gen/**".into()],
            max_retry_attempts: 7,
            reload_dependents: false,
            plugin_config_path: Some("p.toml".into()),
        };
        assert_eq!(c, expected);
    }

    #[test]
    fn every_spelling_parses_in_any_case() {
        for (names, env) in [
            (
                ["development", "dev", "DEV", "Development"],
                Environment::Development,
            ),
            (
                ["production", "prod", "PROD", "Production"],
                Environment::Production,
            ),
            (["testing", "test", "TEST", "Testing"], Environment::Testing),
        ] {
            for name in names {
                assert_eq!(name.parse::<Environment>().unwrap(), env, "{name}");
                assert_eq!(Environment::from_var(Some(name)).unwrap(), env, "{name}");
            }
        }
        assert_eq!(
            Environment::from_var(Some(" prod\n")).unwrap(),
            Environment::Production
        );
    }

    #[test]
    fn display_round_trips() {
        for env in ALL {
            assert_eq!(env.to_string().parse::<Environment>().unwrap(), env);
        }
    }

    #[test]
    fn unset_or_empty_var_follows_the_build() {
        let expected = if cfg!(debug_assertions) {
            Environment::Development
        } else {
            Environment::Production
        };
        for value in [None, Some(""), Some("  ")] {
            assert_eq!(Environment::from_var(value).unwrap(), expected, "{value:?}");
        }
    }

    #[test]
    fn unknown_var_lists_the_valid_values() {
        let err = Environment::from_var(Some("staging")).unwrap_err();
        assert!(matches!(&err, Error::InvalidTonyEnv { value } if value == "staging"));
        let message = err.to_string();
        for word in [
            "TONY_ENV",
            "staging",
            "development",
            "dev",
            "production",
            "prod",
            "testing",
            "test",
        ] {
            assert!(message.contains(word), "{word:?} missing from {message:?}");
        }
        let err = "qa".parse::<Environment>().unwrap_err();
        assert!(matches!(&err, Error::UnknownEnvironment { value } if value == "qa"));
        assert!(err.to_string().contains("production (or prod)"));
    }

    #[test]
    fn file_keys_override_the_named_preset() {
        let text = "environment = \"testing\"\nenabled = true\ndebounce_ms = 250\n";
        let c = HotReloadConfig::from_toml_str(text, "hot.toml").unwrap();
        let expected = HotReloadConfig::for_environment(Environment::Testing)
            .with_enabled(true)
            .with_debounce(ms(250));
        assert_eq!(c, expected);
    }

    #[test]
    fn file_without_environment_starts_from_the_default() {
        let c = HotReloadConfig::from_toml_str("max_retry_attempts = 5", "hot.toml").unwrap();
        assert_eq!(c, HotReloadConfig::default().with_max_retry_attempts(5));
        assert_eq!(
            HotReloadConfig::from_toml_str("", "hot.toml").unwrap(),
            HotReloadConfig::default()
        );
    }

    #[test]
    fn every_field_round_trips_through_a_file() {
        let config = HotReloadConfig::for_environment(Environment::Production)
            .with_enabled(true)
            .with_validate_before_reload(false)
            .with_debounce(ms(1234))
            .with_recursive(false)
            .with_extensions(["rs", "ron"])
            .with_ignore(["**/gen/**"])
            .with_max_retry_attempts(9)
            .with_plugin_config_path("conf/plugins.toml");
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("debounce_ms = 1234"), "{text}");
        assert_eq!(
            HotReloadConfig::from_toml_str(&text, "hot.toml").unwrap(),
            config
        );
        assert_eq!(toml::from_str::<HotReloadConfig>(&text).unwrap(), config);
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let err = HotReloadConfig::from_toml_str("enabled = true\ndebounce_ms = = 3\n", "hot.toml")
            .unwrap_err();
        let Error::Syntax {
            path, line, column, ..
        } = &err
        else {
            panic!("expected Error::Syntax, got {err:?}");
        };
        assert_eq!(
            (path.as_path(), *line, *column),
            (Path::new("hot.toml"), 2, 15)
        );
        assert!(
            err.to_string().starts_with("hot.toml:2:15: invalid TOML: "),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let (line, column, key, message) = invalid("enabled = true\n\n  debounce = 300\n");
        assert_eq!((line, column, key.as_deref()), (3, 3, Some("debounce")));
        assert!(message.contains("unknown field `debounce`"), "{message}");
        assert!(
            message.contains("debounce_ms"),
            "the valid keys are listed: {message}"
        );
    }

    #[test]
    fn wrong_type_is_named_with_its_line() {
        let (line, column, key, message) =
            invalid("enabled = true\nmax_retry_attempts = \"three\"\n");
        assert_eq!(
            (line, column, key.as_deref()),
            (2, 22, Some("max_retry_attempts"))
        );
        assert!(message.contains("invalid type"), "{message}");

        let (line, _, key, _) = invalid("extensions = [\n  \"rs\",\n  3,\n]\n");
        assert_eq!((line, key.as_deref()), (3, Some("extensions")));

        let (line, _, key, _) = invalid("\ndebounce_ms = -1\n");
        assert_eq!((line, key.as_deref()), (2, Some("debounce_ms")));
    }

    #[test]
    fn unknown_environment_in_a_file_is_named_with_its_line() {
        let (line, _, key, message) = invalid("enabled = true\nenvironment = \"staging\"\n");
        assert_eq!((line, key.as_deref()), (2, Some("environment")));
        assert!(
            message.contains("staging") && message.contains("testing (or test)"),
            "{message}"
        );
    }

    #[test]
    fn error_display_names_file_line_and_key() {
        let err = HotReloadConfig::from_toml_str("recursive = 1", "cfg/hot.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cfg/hot.toml:1:13: `recursive`: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn from_toml_file_reads_and_resolves_the_plugin_config_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hot.toml");
        fs::write(
            &path,
            "environment = \"dev\"\nplugin_config_path = \"conf/plugins.toml\"\n",
        )
        .unwrap();
        let c = HotReloadConfig::from_toml_file(&path).unwrap();
        let expected = HotReloadConfig::for_environment(Environment::Development)
            .with_plugin_config_path(dir.path().join("conf/plugins.toml"));
        assert_eq!(c, expected);

        fs::write(&path, "plugin_config_path = \"/etc/tony/plugins.toml\"\n").unwrap();
        let c = HotReloadConfig::from_toml_file(&path).unwrap();
        assert_eq!(
            c.plugin_config_path.as_deref(),
            Some(Path::new("/etc/tony/plugins.toml"))
        );
    }

    #[test]
    fn from_toml_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let err = HotReloadConfig::from_toml_file(&missing).unwrap_err();
        assert!(
            matches!(&err, Error::Read { path, source } if *path == missing && source.kind() == io::ErrorKind::NotFound)
        );
        assert!(err.to_string().contains("missing.toml"), "{err}");

        let bad = dir.path().join("bad.toml");
        fs::write(&bad, "# comment\nenabled = yes\n").unwrap();
        let err = HotReloadConfig::from_toml_file(&bad).unwrap_err();
        assert!(
            matches!(&err, Error::Syntax { path, line: 2, .. } if *path == bad),
            "{err:?}"
        );
    }

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a = 1\nb = \"é\" x\n";
        let at = |offset| Location::of(text, Some(offset..offset), None);
        assert_eq!((at(0).line, at(0).column), (1, 1));
        assert_eq!((at(6).line, at(6).column), (2, 1));
        // `x` is byte 15 but character 9 of line 2; a mid-character offset rounds down.
        assert_eq!((at(15).line, at(15).column), (2, 9));
        assert_eq!((at(12).line, at(12).column), (2, 6));
        assert_eq!(at(usize::MAX).line, 3);
        assert_eq!(Location::of(text, None, None).line, 1);
    }
}
