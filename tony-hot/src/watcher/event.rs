//! What the watcher reports.

use std::path::{Path, PathBuf};

/// What happened to a path.
///
/// `#[non_exhaustive]`: new kinds may be added, so matches need a `_` arm.
///
/// # Example
///
/// ```
/// use std::path::PathBuf;
/// use tony_hot::ChangeKind;
///
/// let kind = ChangeKind::Renamed { from: PathBuf::from("a.rs"), to: PathBuf::from("b.rs") };
/// let verb = match &kind {
///     ChangeKind::Created => "created",
///     ChangeKind::Modified => "modified",
///     ChangeKind::Removed => "removed",
///     ChangeKind::Renamed { .. } => "renamed",
///     _ => "changed",
/// };
/// assert_eq!(verb, "renamed");
/// ```
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
/// # Example
///
/// ```
/// use std::path::{Path, PathBuf};
/// use tony_hot::{ChangeEvent, ChangeKind};
///
/// let event = ChangeEvent { kind: ChangeKind::Modified, paths: vec![PathBuf::from("/p/lib.rs")] };
/// assert_eq!(event.path(), Some(Path::new("/p/lib.rs")));
/// assert!(event.concerns(Path::new("/p/lib.rs")));
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
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.paths.last().map(PathBuf::as_path)
    }

    /// Whether `path` is one of the event's paths.
    ///
    /// ```
    /// use std::path::{Path, PathBuf};
    /// use tony_hot::{ChangeEvent, ChangeKind};
    ///
    /// let event = ChangeEvent { kind: ChangeKind::Removed, paths: vec![PathBuf::from("/p/x.rs")] };
    /// assert!(event.concerns(Path::new("/p/x.rs")));
    /// assert!(!event.concerns(Path::new("/p/y.rs")));
    /// ```
    pub fn concerns(&self, path: &Path) -> bool {
        self.paths.iter().any(|p| p == path)
    }
}
