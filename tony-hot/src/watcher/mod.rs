//! File watching for hot reload: the source roots and the plugin
//! configuration file, as [`HotReloadConfig`] says, turned into one
//! [`Change`] per saved file.
//!
//! Built on `notify` 8 and `notify-debouncer-mini` 0.7: notify watches, the
//! debouncer emits each path once it has been quiet for `debounce`
//! (trailing edge; its `AnyContinuous` reports during a long burst are
//! dropped). Tony's own code is what both debouncers measured unable to do.
//!
//! # Measured (notify 8.2.2, inotify, 100 ms timeout, recursive watch)
//!
//! Each case run 3 to 5 times; ranges where runs differed.
//!
//! | case | debouncer-mini 0.7 | debouncer-full 0.7 |
//! |---|---|---|
//! | 50 writes 10 ms apart | 6-7 `AnyContinuous`, then one `Any` once quiet | 23-25 batches, 47-51 events (each due a timeout after it happened) |
//! | vim save (rename to `a.rs~`, write, remove backup) | `a.rs`, `a.rs~` once each | `Create a.rs`, `Remove a.rs~` (rename lost) |
//! | temporary file renamed over `a.rs` | `a.rs`, `.a.rs.tmp` once each | `Create a.rs` |
//! | a read of `a.rs` (a build, an indexer) | `a.rs`, as if changed | `Access(Open)` |
//! | a subdirectory deleted, re-created with 2 files | each path once | 9 raw events |
//! | `mkdir -p a/b`, then write `a/b/x.rs` | `x.rs` in 1 run of 5 | `x.rs` in 1 run of 4 |
//! | 10,000-file `target/` (1,000 dirs) in the root | 1,001 watches, 38-78 ms; notify's own walk reported as 1,000 paths | 1,001 watches, 77-112 ms; 1,000 `Access(Open)` |
//! | the root deleted, re-created, written twice | nothing after the deletion | nothing after the deletion |
//!
//! Reproduce: `docs/measurements/watcher-debouncers.rs` (its header says
//! how). Tony's watcher on that `target/` case: 4 watches, started in
//! 1.1-1.7 ms (`tests/source_watch.rs`, `ignored_trees_cost_no_watches`,
//! timed by hand). Only mini is trailing-edge per path, so it is used,
//! with what both measured unable to do as Tony's own:
//!
//! * reads left out ([`backend`]): notify's access events are dropped
//!   before they reach the debouncer.
//! * the fingerprint ([`state`]): a path is reported only when its file's
//!   size, modification time or inode changed since last seen, and only
//!   when it is a regular file (a FIFO or device is never opened). It
//!   folds a path seen twice, by an event and by a walk, into one report,
//!   and a `chmod` into none.
//! * the walk ([`state`]): one non-recursive watch per directory, ignored
//!   trees never entered, and a directory that appears is walked for what
//!   it already holds (no event announced it).
//! * the roots ([`state`]): a root whose directory is deleted (notify drops
//!   the watch silently) waits on its nearest existing ancestor and is
//!   walked again when it is back; the configuration file is watched
//!   through its directory (editors replace files) and through its
//!   symlink target's, re-resolved on every batch.
//! * the filter ([`filter`]): `extensions` and `ignore` globs; notify has
//!   none.
//!
//! Not handled: an inotify queue overflow (mini drops notify's rescan
//! flag, so the changes it lost are not reported); two saves of the same
//! size within one tick of the file system's clock (a few milliseconds on
//! Linux) that a walk caught in between (the second looks unchanged). Directories are watched
//! one by one on every platform: on macOS each watch restarts notify's
//! FSEvents stream, on Windows each holds a handle.

mod backend;
mod filter;
mod state;

use std::{
    any::Any,
    collections::BTreeMap,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc},
    thread::{self, JoinHandle},
};

use notify_debouncer_mini::{DebounceEventResult, DebouncedEventKind};
use tony_core::HotReloadConfig;

use filter::Filter;
pub(crate) use state::Root;
use state::State;

/// Why hot reload could not start. Every variant names the path or
/// pattern at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An `ignore` pattern of the [`HotReloadConfig`] is not a valid glob.
    #[error("invalid ignore pattern `{pattern}`: {source}")]
    InvalidPattern {
        /// The pattern as written in the configuration.
        pattern: String,
        /// Why `globset` rejected it.
        #[source]
        source: globset::Error,
    },
    /// The operating system refused to watch a directory (for instance: the
    /// inotify watch limit is reached).
    #[error("cannot watch `{}`: {source}", path.display())]
    Watch {
        /// The source root or configuration file.
        path: PathBuf,
        /// What `notify` reported.
        #[source]
        source: notify::Error,
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

/// Whether a watched path (a source root, the configuration file) is
/// watched right now.
///
/// ```
/// use tony_hot::WatchState;
///
/// let state = WatchState::Waiting { ancestor: "/srv".into() };
/// assert!(!state.is_watched());
/// assert!(WatchState::Watched.is_watched());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WatchState {
    /// Watched: its saves are seen.
    Watched,
    /// The directory it needs is gone (deleted, or moved away by a `git
    /// checkout`); `ancestor`, the nearest one that exists, is watched
    /// instead, and the path is watched again as soon as it reappears.
    Waiting {
        /// The directory watched while waiting.
        ancestor: PathBuf,
    },
}

impl WatchState {
    /// Whether saves to the path are seen right now.
    pub fn is_watched(&self) -> bool {
        matches!(self, WatchState::Watched)
    }
}

/// What the watcher reports, once per save.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A file under a source root, admitted by the filters, was saved,
    /// created or removed.
    Source(PathBuf),
    /// The configuration file changed (or appeared, or was re-pointed).
    Config,
}

enum Msg {
    Batch(DebounceEventResult),
    Stop,
}

/// The watcher: its state, shared with its thread, which reports to the
/// sink with the state unlocked. Dropping it stops the thread and waits
/// for it (and for a sink call in progress).
pub(crate) struct FileWatcher {
    state: Arc<Mutex<State>>,
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl FileWatcher {
    /// Watches `roots` with the settings of `config` and reports to `sink`.
    pub(crate) fn start(
        config: &HotReloadConfig,
        roots: Vec<Root>,
        mut sink: impl FnMut(Change) + Send + 'static,
    ) -> Result<Self, Error> {
        let filter = Filter::new(config).map_err(|e| Error::InvalidPattern {
            pattern: e.pattern,
            source: e.source,
        })?;
        let (tx, rx) = mpsc::channel();
        let batches = tx.clone();
        let debouncer = notify_debouncer_mini::new_debouncer_opt::<_, backend::NoReads>(
            notify_debouncer_mini::Config::default()
                .with_timeout(config.debounce)
                .with_batch_mode(false),
            move |batch| {
                // Fails only once the thread is gone: nothing left to tell.
                let _ = batches.send(Msg::Batch(batch));
            },
        )
        .map_err(|source| Error::Start { source })?;
        let mut state = State::new(debouncer, filter, config.recursive);
        for root in roots {
            let path = root.path.clone();
            state
                .add(root)
                .map_err(|source| Error::Watch { path, source })?;
        }
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let thread = thread::Builder::new()
            .name("tony-watcher".into())
            .spawn(move || {
                while let Ok(Msg::Batch(batch)) = rx.recv() {
                    let paths: Vec<PathBuf> = match batch {
                        Ok(events) => (events.into_iter())
                            .filter(|e| e.kind == DebouncedEventKind::Any)
                            .map(|e| e.path)
                            .collect(),
                        Err(error) => {
                            tracing::warn!(%error, paths = ?error.paths, "file watch error");
                            continue;
                        }
                    };
                    let changes = lock(&shared).on_paths(&paths);
                    for change in changes {
                        tracing::debug!(?change, "file change");
                        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| sink(change))) {
                            let panic = panic_message(&*panic);
                            tracing::error!(
                                panic,
                                "file change handler panicked; the watcher goes on"
                            );
                        }
                    }
                }
                tracing::debug!("file watcher thread stopped");
            })
            .map_err(|source| Error::Spawn { source })?;
        Ok(Self {
            state,
            tx,
            thread: Some(thread),
        })
    }

    /// Every root, with whether it is watched right now.
    pub(crate) fn roots(&self) -> BTreeMap<PathBuf, WatchState> {
        let state = lock(&self.state);
        (state.roots.iter())
            .map(|r| (r.path.clone(), r.state()))
            .collect()
    }

    /// Whether a save of `file` is seen right now.
    pub(crate) fn admits(&self, file: &Path) -> bool {
        lock(&self.state).admits(file)
    }

    /// How many directories notify watches.
    pub(crate) fn watched_dirs(&self) -> usize {
        lock(&self.state).dirs.len()
    }
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
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

/// Locks the state; a panic while it was held left it usable.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}
