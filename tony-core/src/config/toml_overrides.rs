//! Hot-reload configuration from TOML files: a base preset plus the keys present.

use std::fs;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::de::DeTable;

use super::HotReloadConfig;
use super::error::Error;
use super::location::Location;
use super::preset::Environment;

impl HotReloadConfig {
    /// Reads a TOML config file (format: [`HotReloadConfig`](HotReloadConfig#toml-format)).
    ///
    /// A relative `plugin_config_path` or `source_roots` entry is resolved against the directory
    /// of `path`.
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
        if let Some(dir) = path.parent() {
            let paths = config.plugin_config_path.iter_mut();
            for p in paths.chain(&mut config.source_roots) {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        tracing::debug!(path = %path.display(), "read hot-reload config");
        Ok(config)
    }

    /// Parses a TOML config (format: [`HotReloadConfig`](HotReloadConfig#toml-format)); `origin`
    /// names it in errors. Relative paths are kept as written.
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
    source_roots: Option<Vec<PathBuf>>,
    recursive: Option<bool>,
    extensions: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    max_retry_attempts: Option<NonZeroU32>,
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
            source_roots,
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
