//! Errors of hot-reload configuration.

use std::io;
use std::path::PathBuf;

use super::location::KeyPrefix;

/// The environment names [`Environment`](super::Environment)'s parser
/// accepts, for the messages below (kept here, beside the messages, so that
/// the parser can import its errors without a circle).
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
        /// The file (or the origin given to [`HotReloadConfig::from_toml_str`](super::HotReloadConfig::from_toml_str)).
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
        /// The file (or the origin given to [`HotReloadConfig::from_toml_str`](super::HotReloadConfig::from_toml_str)).
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
