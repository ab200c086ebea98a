//! Environment presets: [`Environment`] and the [`HotReloadConfig`] each one selects.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::HotReloadConfig;
use super::error::Error;

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
#[non_exhaustive]
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

impl HotReloadConfig {
    /// The preset of `env` (see the table on [`Environment`]); fields the preset does not
    /// mention keep their default.
    ///
    /// ```
    /// use tony_core::{Environment, HotReloadConfig};
    ///
    /// let config = HotReloadConfig::for_environment(Environment::Testing);
    /// assert!(!config.enabled);
    /// assert_eq!(config.max_retry_attempts.get(), 1);
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
                max_retry_attempts: NonZeroU32::MIN,
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
}
