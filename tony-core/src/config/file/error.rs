//! Errors of the plugin config file.

use std::io;
use std::path::PathBuf;

use crate::config::location::KeyPrefix;

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
    /// The path is not a regular file (after following symlinks): a FIFO, a device such as
    /// `/dev/zero`, a socket or a directory. It is refused without being read.
    #[error("plugin config file {} is {kind}, not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`"a FIFO"`, `"a device"`, ...).
        kind: &'static str,
    },
    /// The file is larger than the cap ([`PluginConfigFile::MAX_SIZE`] unless another was
    /// given to [`PluginConfigFile::load_with_limit`]).
    ///
    /// [`PluginConfigFile::MAX_SIZE`]: super::PluginConfigFile::MAX_SIZE
    /// [`PluginConfigFile::load_with_limit`]: super::PluginConfigFile::load_with_limit
    #[error("plugin config file {} is larger than {limit} bytes, the cap on its size", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The text has more TOML tokens (keys, values, punctuation, runs of
    /// whitespace, comments) than [`PluginConfigFile::MAX_TOKENS`]: parsing
    /// costs memory per token, so it is refused before it is parsed.
    ///
    /// [`PluginConfigFile::MAX_TOKENS`]: super::PluginConfigFile::MAX_TOKENS
    #[error(
        "plugin config file {} has more than {limit} TOML tokens, the cap on its complexity",
        path.display()
    )]
    #[non_exhaustive]
    TooManyTokens {
        /// The file.
        path: PathBuf,
        /// The cap, in tokens.
        limit: usize,
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
