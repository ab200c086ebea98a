//! File watching: [`FileWatcher`] reports debounced, filtered changes under
//! the paths it is given.
//!
//! The `notify` backend ([`watches`]), the roots ([`roots`]), the filter
//! ([`filter`]) and the debouncer ([`debounce`]) sit behind one mutex,
//! shared by the [`FileWatcher`] and its thread ([`worker`]), which feeds
//! them notify's events and calls the sink with the mutex released. The
//! thread is joined when the watcher is dropped.
//!
//! `notify` does the watching, and more than it seems: it pairs inotify's
//! rename halves by cookie (their tracker), sides FSEvents' renames, flags
//! a lost queue for a rescan, and recurses natively on FSEvents and
//! Windows. What is Tony's own, and why:
//!
//! * [`debounce`]: one event per path once the path has been quiet for the
//!   window (trailing edge), with create/remove/rename sequences folded
//!   into one kind. notify-debouncer-full cannot do it, as measured here
//!   (0.7, inotify, 100 ms timeout): a 500 ms burst of writes comes out as
//!   about 20 batches (each event is due a timeout after it happened); `rm
//!   -r` of a tree is one `Remove` of its top where Tony reports every
//!   path; a vim save (rename to a backup, write, remove the backup) comes
//!   out as `Create` and `Remove`, the rename lost, where Tony reports one
//!   modification. It also owns the backend, so events cannot be fed to
//!   it, nor seen before its timeout; it cannot serve as a first stage.
//! * rename pairing ([`worker`]): one pending old half, paired with the next
//!   new half by tracker (inotify) or by adjacency (Windows; `Any` halves
//!   on FSEvents and kqueue sided by whether the path exists). This is
//!   what notify-debouncer-full does on Linux too (its file-id cache,
//!   which stitches renames on FSEvents and Windows, is `NoCache` there);
//!   notify's own `Both` comes after the halves and is ignored. The
//!   trackerless paths are tested by feeding events, not on a real
//!   backend: only inotify runs here.
//! * [`watches`]: on inotify, notify's recursion watches every directory,
//!   `target/` included, and does not report what a directory created in
//!   one go already holds; the watcher walks the tree itself, skips ignored
//!   directories and reports that content. Elsewhere the backend's
//!   recursion is used: notify restarts its FSEvents stream on every
//!   `watch`, and Windows would hold a handle per directory. notify cannot
//!   tell what it watches, hence the map.
//! * [`roots`]: what notify's `watch` cannot know: a single file is
//!   watched through its directory (editors save by replacing), a file
//!   reached through a symlink is followed to its target and re-pointing is
//!   noticed, and a root whose directory is deleted (notify drops the watch
//!   silently) waits on its nearest existing ancestor and is watched again
//!   when it reappears ([`WatchState`]).
//! * [`filter`]: extensions and ignore globs (`globset`); notify has none.
//! * [`ChangeKind`]: the folded result (created, modified, removed,
//!   renamed), not notify's per-platform `EventKind`.

mod config;
mod debounce;
mod error;
mod event;
mod filter;
mod roots;
mod watches;
mod worker;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, mpsc},
    thread::{self, JoinHandle},
};

use notify::{RecommendedWatcher, Watcher, WatcherKind};

pub use config::{DEFAULT_DEBOUNCE, DEFAULT_IGNORE, WatcherConfig};
pub use error::Error;
pub use event::{ChangeEvent, ChangeKind, ChangeSink};
pub use roots::WatchState;

use debounce::Debouncer;
use filter::Filter;
use roots::{Root, RootKind};
use watches::Watches;
use worker::{Msg, State, lock};

/// Watches directories and single files and reports their changes to a
/// [`ChangeSink`], debounced and filtered as its [`WatcherConfig`] says.
///
/// * Each path's changes within the debounce window fold into one
///   [`ChangeEvent`], sent once the path has been quiet for the window
///   (trailing edge): a burst of writes is one event.
/// * Renames inside the watched tree are one [`ChangeKind::Renamed`]; a
///   move out is [`ChangeKind::Removed`], a move in [`ChangeKind::Created`].
///   A file created and removed within one window is not reported.
/// * Events are delivered on the watcher's own thread, in the order their
///   windows close. A panicking sink is caught and logged; the watcher goes
///   on.
/// * Its methods may be called from any thread, the sink's included.
/// * Dropping the watcher stops its thread and waits for it (and for a sink
///   call in progress): the sink is dropped before `drop` returns. Changes
///   still inside their window are discarded.
///
/// On Linux the watcher walks the tree itself, one inotify watch per
/// directory, and never enters ignored directories: a big `target/` costs
/// neither start-up time nor inotify watches.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tony_hot::{ChangeKind, FileWatcher, WatcherConfig};
///
/// let dir = tempfile::tempdir()?;
/// let (tx, rx) = std::sync::mpsc::channel();
/// let config = WatcherConfig::default()
///     .with_debounce(Duration::from_millis(50))
///     .with_extensions(["rs"]);
/// let watcher = FileWatcher::new(config, tx)?;
/// watcher.watch_path(dir.path())?;
///
/// std::fs::write(dir.path().join("notes.md"), "filtered out")?;
/// std::fs::write(dir.path().join("lib.rs"), "fn main() {}")?;
///
/// let event = rx.recv_timeout(Duration::from_secs(5))?;
/// assert_eq!(event.kind, ChangeKind::Created);
/// assert_eq!(event.path(), Some(watcher.watched_paths()[0].join("lib.rs").as_path()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileWatcher {
    /// Shared with the thread, which never holds it while calling the sink.
    state: Arc<Mutex<State>>,
    /// To the thread: `None` stops it.
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    config: WatcherConfig,
}

impl FileWatcher {
    /// Starts a watcher, watching nothing yet, that reports to `sink`.
    ///
    /// Fails on an invalid ignore pattern, or when the platform's watch
    /// service or the thread cannot be started.
    pub fn new(config: WatcherConfig, sink: impl ChangeSink) -> Result<Self, Error> {
        let inotify = RecommendedWatcher::kind() == WatcherKind::Inotify;
        Self::start(config, sink, inotify)
    }

    /// `pruned`: recursion done by the watcher (one watch per directory)
    /// rather than by the backend.
    fn start(config: WatcherConfig, sink: impl ChangeSink, pruned: bool) -> Result<Self, Error> {
        let filter = Filter::new(&config)?;
        let (tx, rx) = mpsc::channel();
        let backend_tx = tx.clone();
        let backend = RecommendedWatcher::new(
            move |event| {
                // Fails only once the thread is gone: nothing left to tell.
                let _ = backend_tx.send(Some(event));
            },
            notify::Config::default(),
        )
        .map_err(|source| Error::Start { source })?;
        let trackers = RecommendedWatcher::kind() == WatcherKind::Inotify;
        let watches = Watches::new(backend, pruned);
        let debouncer = Debouncer::new(config.debounce);
        let state = Arc::new(Mutex::new(State::new(filter, watches, debouncer, trackers)));
        let shared = state.clone();
        let thread = thread::Builder::new()
            .name("tony-watcher".into())
            .spawn(move || worker::run(&shared, &rx, sink))
            .map_err(|source| Error::Spawn { source })?;
        Ok(Self {
            state,
            tx,
            thread: Some(thread),
            config,
        })
    }

    /// Watches a directory (with its subdirectories when the config is
    /// `recursive`) or a single file. Watching a path twice is a no-op.
    ///
    /// The path is resolved to its canonical form (symlinks followed), and
    /// events carry paths under that form; [`watched_paths`] lists it. A
    /// single file is watched through its directory, so editors that save by
    /// replacing the file keep being seen; it is reported whatever the
    /// extension and ignore filters say. A missing path is
    /// [`Error::NotFound`], naming it.
    ///
    /// [`watched_paths`]: FileWatcher::watched_paths
    pub fn watch_path(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let io = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: path.to_path_buf(),
            },
            _ => Error::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        let canonical = fs::canonicalize(path).map_err(io)?;
        let given = std::path::absolute(path).map_err(io)?;
        let kind = if fs::metadata(&canonical).map_err(io)?.is_dir() {
            RootKind::Dir {
                recursive: self.config.recursive,
            }
        } else {
            RootKind::File
        };
        // A file reached through a symlink: its link is watched too, so a
        // re-pointed link is followed.
        let link = match (&kind, given.parent(), given.file_name()) {
            (RootKind::File, Some(dir), Some(name)) if given.is_symlink() => {
                Some(fs::canonicalize(dir).map_err(io)?.join(name))
            }
            _ => None,
        };
        let root = Root {
            path: canonical,
            given,
            kind,
            link,
            waiting: None,
        };
        lock(&self.state).watch(root)
    }

    /// Stops watching a path given to [`watch_path`] (in any spelling that
    /// resolves to it, or as given if it no longer exists). Changes already
    /// seen under it are still reported. A path not watched is
    /// [`Error::NotWatched`].
    ///
    /// [`watch_path`]: FileWatcher::watch_path
    pub fn unwatch_path(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let candidates: Vec<PathBuf> =
            [fs::canonicalize(path).ok(), std::path::absolute(path).ok()]
                .into_iter()
                .flatten()
                .collect();
        lock(&self.state).unwatch(path, &candidates)
    }

    /// The watched paths, canonical, sorted.
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        self.watch_states().into_keys().collect()
    }

    /// The watched paths (canonical; a symlinked file under its current
    /// target) with whether each is watched right now or waiting for its
    /// directory to reappear.
    pub fn watch_states(&self) -> BTreeMap<PathBuf, WatchState> {
        let state = lock(&self.state);
        state
            .roots
            .iter()
            .map(|r| (r.path.clone(), r.state()))
            .collect()
    }

    /// The configuration the watcher was built with.
    pub fn config(&self) -> &WatcherConfig {
        &self.config
    }
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        let _ = self.tx.send(None);
        let Some(thread) = self.thread.take() else {
            return;
        };
        if thread.thread().id() == thread::current().id() {
            // Dropped by its own sink: the thread ends when the sink returns.
            return;
        }
        if thread.join().is_err() {
            tracing::error!("file watcher thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    #[test]
    fn watcher_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FileWatcher>();
    }

    #[test]
    fn paths_states_config_and_errors() {
        let bad = WatcherConfig::default().with_ignore("src/[");
        let (tx, _rx) = mpsc::channel();
        assert!(matches!(
            FileWatcher::new(bad, tx),
            Err(Error::InvalidPattern { .. })
        ));

        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        let file = root.join("plugins.toml");
        fs::write(&file, "").unwrap();
        let sink = |event: ChangeEvent| tracing::info!(?event, "changed");
        let config = WatcherConfig::default().with_recursive(false);
        let watcher = FileWatcher::new(config, sink).unwrap();
        assert!(watcher.watched_paths().is_empty());
        assert!(!watcher.config().recursive);
        watcher.watch_path(dir.path()).unwrap();
        watcher.watch_path(dir.path()).unwrap();
        watcher.watch_path(&file).unwrap();
        assert_eq!(watcher.watched_paths(), [root.clone(), file.clone()]);
        assert_eq!(watcher.watch_states()[&root], WatchState::Watched);
        let missing = dir.path().join("missing");
        match watcher.watch_path(&missing) {
            Err(Error::NotFound { path }) => assert_eq!(path, missing),
            other => panic!("{other:?}"),
        }
        watcher.unwatch_path(dir.path()).unwrap();
        assert_eq!(watcher.watched_paths(), [file]);
        assert!(matches!(
            watcher.unwatch_path(dir.path()),
            Err(Error::NotWatched { .. })
        ));
    }

    /// The backend-recursive mode (FSEvents, Windows), exercised on inotify.
    #[test]
    fn backend_recursion_filters_ignored_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join("src/deep")).unwrap();
        fs::create_dir_all(root.join("target/debug")).unwrap();
        let (tx, rx) = mpsc::channel();
        let config = WatcherConfig::default().with_debounce(Duration::from_millis(50));
        let watcher = FileWatcher::start(config, tx, false).unwrap();
        watcher.watch_path(&root).unwrap();
        fs::write(root.join("target/debug/out.rs"), "x").unwrap();
        fs::write(root.join("src/deep/lib.rs"), "x").unwrap();
        let event = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(
            event,
            ChangeEvent {
                kind: ChangeKind::Created,
                paths: vec![root.join("src/deep/lib.rs")]
            }
        );
        assert!(
            rx.recv_timeout(Duration::from_millis(150)).is_err(),
            "target/ is ignored"
        );

        // A nested root survives the removal of the root that covered it.
        watcher.watch_path(root.join("src")).unwrap();
        watcher.unwatch_path(&root).unwrap();
        fs::write(root.join("src/deep/lib.rs"), "y").unwrap();
        let event = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(
            event,
            ChangeEvent {
                kind: ChangeKind::Modified,
                paths: vec![root.join("src/deep/lib.rs")]
            }
        );
    }
}
