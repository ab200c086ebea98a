//! The watcher's error type.

use std::path::PathBuf;

/// What can go wrong when starting a [`FileWatcher`](super::FileWatcher) or
/// changing what it watches. Every variant names the path or pattern at
/// fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path given to [`watch_path`](super::FileWatcher::watch_path) does
    /// not exist.
    #[error("cannot watch `{}`: no such file or directory", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The path exists but could not be resolved or read.
    #[error("cannot watch `{}`: {source}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's watch service refused the path (for instance:
    /// the inotify watch limit is reached).
    #[error("cannot watch `{}`: {source}", path.display())]
    Notify {
        /// The path the watch was requested for.
        path: PathBuf,
        /// What `notify` reported.
        #[source]
        source: notify::Error,
    },
    /// [`unwatch_path`](super::FileWatcher::unwatch_path) was given a path
    /// that is not watched.
    #[error("`{}` is not watched", path.display())]
    NotWatched {
        /// The path as given.
        path: PathBuf,
    },
    /// An ignore pattern of the [`WatcherConfig`](super::WatcherConfig) is
    /// not a valid glob.
    #[error("invalid ignore pattern `{pattern}`: {source}")]
    InvalidPattern {
        /// The pattern as written in the configuration.
        pattern: String,
        /// Why `globset` rejected it.
        #[source]
        source: globset::Error,
    },
    /// The platform's watch service could not be started.
    #[error("cannot start the file watcher: {source}")]
    Start {
        /// What `notify` reported.
        #[source]
        source: notify::Error,
    },
    /// The watcher's thread could not be spawned.
    #[error("cannot spawn the file watcher thread: {source}")]
    Spawn {
        /// What the OS reported.
        #[source]
        source: std::io::Error,
    },
}
