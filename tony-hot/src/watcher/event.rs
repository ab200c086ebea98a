//! What the watcher reports, and where it goes.

use std::{
    path::{Path, PathBuf},
    sync::mpsc,
};

/// What happened to a path: the folded, backend-independent result of
/// everything `notify` reported for it within the debounce window.
///
/// `#[non_exhaustive]`: new kinds may be added, so matches need a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeKind {
    /// The path appeared: created, or moved in from outside the watched
    /// tree.
    Created,
    /// The contents or metadata of the path changed (including a file
    /// deleted and re-created within one debounce window).
    Modified,
    /// The path disappeared: deleted, or moved out of the watched tree.
    Removed,
    /// The path was renamed inside the watched tree.
    Renamed {
        /// The old path.
        from: PathBuf,
        /// The new path.
        to: PathBuf,
    },
}

/// One debounced change: everything that happened to one path within the
/// debounce window, folded into one kind.
///
/// `paths` holds that one path, or `[from, to]` for
/// [`ChangeKind::Renamed`]. Paths are absolute and lie under the
/// canonical form of the watched path (see
/// [`FileWatcher::watch_path`](super::FileWatcher::watch_path)).
///
/// ```
/// use std::path::{Path, PathBuf};
/// use tony_hot::{ChangeEvent, ChangeKind};
///
/// let (from, to) = (PathBuf::from("/p/a.rs"), PathBuf::from("/p/b.rs"));
/// let event = ChangeEvent {
///     kind: ChangeKind::Renamed { from: from.clone(), to: to.clone() },
///     paths: vec![from, to],
/// };
/// assert_eq!(event.path(), Some(Path::new("/p/b.rs")));
/// assert!(event.concerns(Path::new("/p/a.rs")));
/// assert!(!event.concerns(Path::new("/p/c.rs")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangeEvent {
    /// What happened.
    pub kind: ChangeKind,
    /// The path it happened to (`[from, to]` for a rename).
    pub paths: Vec<PathBuf>,
}

impl ChangeEvent {
    /// The path as it is now: the new path of a rename, the path itself
    /// otherwise.
    pub fn path(&self) -> Option<&Path> {
        self.paths.last().map(PathBuf::as_path)
    }

    /// Whether `path` is one of the event's paths.
    pub fn concerns(&self, path: &Path) -> bool {
        self.paths.iter().any(|p| p == path)
    }
}

/// Receives the watcher's [`ChangeEvent`]s, one call per event, on the
/// watcher's own thread.
///
/// Implemented for closures `FnMut(ChangeEvent) + Send + 'static` and for
/// [`mpsc::Sender`] / [`mpsc::SyncSender`] of `ChangeEvent` (a send to a
/// dropped receiver is ignored; a full `SyncSender` blocks the watcher). A
/// sink that panics is caught: the panic is logged with `tracing` and the
/// watcher goes on with the next event. A sink should return quickly;
/// while it runs, the watcher's thread processes nothing else.
///
/// ```
/// use tony_hot::{ChangeEvent, ChangeSink, FileWatcher, WatcherConfig};
///
/// /// Counts events.
/// struct Counter(std::sync::Arc<std::sync::atomic::AtomicUsize>);
///
/// impl ChangeSink for Counter {
///     fn handle_event(&mut self, _event: ChangeEvent) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
/// }
///
/// let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
/// let _by_type = FileWatcher::new(WatcherConfig::default(), Counter(count.clone()))?;
/// let _by_closure = FileWatcher::new(WatcherConfig::default(), |e: ChangeEvent| {
///     tracing::info!(?e, "changed");
/// })?;
/// let (tx, _rx) = std::sync::mpsc::channel();
/// let _by_channel = FileWatcher::new(WatcherConfig::default(), tx)?;
/// # Ok::<(), tony_hot::WatchError>(())
/// ```
pub trait ChangeSink: Send + 'static {
    /// Handles one event.
    fn handle_event(&mut self, event: ChangeEvent);
}

impl<F: FnMut(ChangeEvent) + Send + 'static> ChangeSink for F {
    fn handle_event(&mut self, event: ChangeEvent) {
        self(event);
    }
}

impl ChangeSink for mpsc::Sender<ChangeEvent> {
    fn handle_event(&mut self, event: ChangeEvent) {
        if let Err(mpsc::SendError(event)) = self.send(event) {
            tracing::debug!(?event, "change receiver dropped; event discarded");
        }
    }
}

impl ChangeSink for mpsc::SyncSender<ChangeEvent> {
    fn handle_event(&mut self, event: ChangeEvent) {
        if let Err(mpsc::SendError(event)) = self.send(event) {
            tracing::debug!(?event, "change receiver dropped; event discarded");
        }
    }
}
