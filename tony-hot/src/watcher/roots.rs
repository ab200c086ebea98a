//! The paths given to `watch_path`, and what each of them reports.

use std::path::{Path, PathBuf};

use super::filter::Filter;

/// One path given to `watch_path`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Root {
    /// Canonical path; events carry paths under it.
    pub(crate) path: PathBuf,
    /// Absolute form of the path as the user gave it (for `unwatch_path`
    /// after the path is gone).
    pub(crate) given: PathBuf,
    pub(crate) kind: RootKind,
    /// A file reached through a symlink: the link, under its directory's
    /// canonical form. An event at it means the link may point elsewhere.
    pub(crate) link: Option<PathBuf>,
    /// While the directory the root rests on is gone: the nearest existing
    /// ancestor, watched instead until it reappears.
    pub(crate) waiting: Option<PathBuf>,
}

/// Whether a path given to [`watch_path`](super::FileWatcher::watch_path)
/// is watched right now.
///
/// `#[non_exhaustive]`: new states may be added.
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
    /// Watched: its changes are reported.
    Watched,
    /// The directory it needs is gone (deleted, or moved away by a
    /// `git checkout`); `ancestor`, the nearest one that exists, is watched
    /// instead, and the path is watched again as soon as it reappears.
    Waiting {
        /// The directory watched while waiting.
        ancestor: PathBuf,
    },
}

impl WatchState {
    /// Whether changes to the path are being reported.
    pub fn is_watched(&self) -> bool {
        matches!(self, WatchState::Watched)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootKind {
    File,
    Dir { recursive: bool },
}

impl Root {
    /// What the root's watch state is.
    pub(crate) fn state(&self) -> WatchState {
        match &self.waiting {
            Some(ancestor) => WatchState::Waiting {
                ancestor: ancestor.clone(),
            },
            None => WatchState::Watched,
        }
    }

    /// The directory whose watch the root rests on.
    pub(crate) fn anchor(&self) -> &Path {
        match self.kind {
            RootKind::File => self.path.parent().unwrap_or(&self.path),
            RootKind::Dir { .. } => &self.path,
        }
    }

    /// Whether this root reports `path` (of a directory, if `is_dir`).
    pub(crate) fn admits(&self, path: &Path, is_dir: bool, filter: &Filter) -> bool {
        let relative = match self.kind {
            RootKind::File => return path == self.path || self.link.as_deref() == Some(path),
            RootKind::Dir { recursive } => match path.strip_prefix(&self.path) {
                Ok(rel) if recursive || rel.components().count() <= 1 => rel,
                _ => return false,
            },
        };
        !filter.is_ignored(relative, path, is_dir) && (is_dir || filter.extension_allows(path))
    }

    /// Whether this root needs the directory `dir` watched on its own
    /// (non-recursively), when the watcher manages recursion itself.
    pub(crate) fn needs_dir(&self, dir: &Path, filter: &Filter) -> bool {
        if let Some(waiting) = &self.waiting {
            return waiting == dir;
        }
        match self.kind {
            RootKind::File => {
                self.path.parent() == Some(dir)
                    || self.link.as_deref().and_then(Path::parent) == Some(dir)
            }
            RootKind::Dir { recursive: false } => self.path == dir,
            RootKind::Dir { recursive: true } => dir
                .strip_prefix(&self.path)
                .is_ok_and(|rel| !filter.is_ignored(rel, dir, true)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::watcher::WatcherConfig;

    fn filter(config: WatcherConfig) -> Filter {
        Filter::new(&config).unwrap()
    }

    fn root(kind: RootKind) -> Root {
        Root {
            path: "/w".into(),
            given: "/w".into(),
            kind,
            link: None,
            waiting: None,
        }
    }

    #[test]
    fn roots_admit_by_kind() {
        let f = filter(WatcherConfig::default().with_extension("rs"));
        let rec = root(RootKind::Dir { recursive: true });
        let flat = root(RootKind::Dir { recursive: false });
        let file = Root {
            path: "/w/notes.md".into(),
            given: "/w/notes.md".into(),
            kind: RootKind::File,
            link: None,
            waiting: None,
        };
        assert!(rec.admits(Path::new("/w/a/b/c.rs"), false, &f));
        assert!(
            rec.admits(Path::new("/w/a/b"), true, &f),
            "directories pass the extension filter"
        );
        assert!(!rec.admits(Path::new("/w/a/b/c.md"), false, &f));
        assert!(!rec.admits(Path::new("/w/target/c.rs"), false, &f));
        assert!(!rec.admits(Path::new("/elsewhere/c.rs"), false, &f));
        assert!(flat.admits(Path::new("/w/c.rs"), false, &f));
        assert!(!flat.admits(Path::new("/w/a/c.rs"), false, &f));
        assert!(
            file.admits(Path::new("/w/notes.md"), false, &f),
            "explicit files bypass filters"
        );
        assert!(!file.admits(Path::new("/w/other.rs"), false, &f));
        assert!(rec.needs_dir(Path::new("/w/a"), &f));
        assert!(!rec.needs_dir(Path::new("/w/target"), &f));
        assert!(file.needs_dir(Path::new("/w"), &f));
        assert!(!flat.needs_dir(Path::new("/w/a"), &f));
    }
}
