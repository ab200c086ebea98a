//! Hot-reload configuration: [`HotReloadConfig`], its [`Environment`] presets, and TOML files.
//!
//! A configuration comes from code ([`HotReloadConfig::default`] plus `with_*` methods), from
//! the environment ([`HotReloadConfig::from_env`] picks the preset named by `TONY_ENV`), or
//! from a TOML file ([`HotReloadConfig::from_toml_file`], format documented on
//! [`HotReloadConfig`]).

//!
//! - `preset.rs`: [`Environment`] and its presets;
//! - `toml_overrides.rs`: TOML config files, a preset plus the keys present;
//! - `location.rs`: where a TOML error points (shared with the plugin config file);
//! - `error.rs`: what can go wrong, naming the file, line and key.

pub(crate) mod file;
pub(crate) mod live;

mod error;
pub(crate) mod location;
mod preset;
#[cfg(test)]
mod tests;
mod toml_overrides;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::Error;
pub use preset::Environment;

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
/// source_roots = ["src"]              # relative to the directory of this file; default: none
/// recursive = true
/// extensions = ["rs", "toml"]         # without the leading dot
/// ignore = ["target/**", ".git/**"]   # glob patterns
/// max_retry_attempts = 3             # commit attempts, the first included; at least 1
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
    /// How long a file must stay quiet after a write before its save is acted upon: a burst of
    /// writes is one save. Default: 500 ms.
    ///
    /// In TOML: `debounce_ms`, an integer number of milliseconds (sub-millisecond parts are
    /// dropped when serializing).
    #[serde(rename = "debounce_ms", with = "millis")]
    pub debounce: Duration,
    /// The directories watched for source changes. Empty (the default): the directories the
    /// plugins' source files are in. A relative path is resolved against the working directory
    /// when hot reload starts (in a TOML file: against the file's directory).
    pub source_roots: Vec<PathBuf>,
    /// Whether the source roots are watched with their subdirectories. Default: `true`.
    pub recursive: bool,
    /// Extensions of the source files whose saves count, without the leading dot, in any letter
    /// case; empty: every file. Default: `["rs", "toml"]`. (The plugin configuration file counts
    /// whatever its extension.)
    pub extensions: Vec<String>,
    /// Glob patterns of paths under the source roots never watched. A relative pattern applies
    /// at any depth below a root, as a `.gitignore` line does (`target/**` ignores every
    /// `target/` of the tree); an absolute one to the absolute path. An ignored directory is
    /// never entered, so it costs no watch. Default: `["target/**", ".git/**"]`.
    pub ignore: Vec<String>,
    /// How many times the commit of one reload is attempted, the first attempt included,
    /// before Tony rolls back and keeps the previous version running. Default: 3 (the first
    /// attempt and two retries). Never 0: in TOML, `max_retry_attempts = 0` is an error.
    pub max_retry_attempts: NonZeroU32,
    /// Whether the plugins that depend on a reloaded plugin are reloaded with it. Default: `true`.
    pub reload_dependents: bool,
    /// The TOML file holding the per-plugin config tables (see
    /// [`PluginConfigFile`](crate::PluginConfigFile)), if any. Default: `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_config_path: Option<PathBuf>,
}

/// The default of [`HotReloadConfig::max_retry_attempts`].
const DEFAULT_ATTEMPTS: NonZeroU32 = NonZeroU32::new(3).expect("3 is not zero");

impl Default for HotReloadConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(debug_assertions),
            preserve_state: true,
            validate_before_reload: true,
            debounce: Duration::from_millis(500),
            source_roots: Vec::new(),
            recursive: true,
            extensions: vec!["rs".into(), "toml".into()],
            ignore: vec!["target/**".into(), ".git/**".into()],
            max_retry_attempts: DEFAULT_ATTEMPTS,
            reload_dependents: true,
            plugin_config_path: None,
        }
    }
}

impl HotReloadConfig {
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

    /// Sets [`source_roots`](Self::source_roots).
    #[must_use]
    pub fn with_source_roots<I>(mut self, roots: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<PathBuf>,
    {
        self.source_roots = roots.into_iter().map(Into::into).collect();
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
    pub fn with_max_retry_attempts(mut self, attempts: NonZeroU32) -> Self {
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
