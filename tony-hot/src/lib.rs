//! placeholder

mod watcher;
pub use watcher::{
    ChangeEvent, ChangeKind, ChangeSink, DEFAULT_DEBOUNCE, DEFAULT_IGNORE, Error as WatchError,
    FileWatcher, WatcherConfig,
};
