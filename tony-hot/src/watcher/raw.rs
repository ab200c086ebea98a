//! `notify` events, reduced to what the watcher acts on.

use std::path::{Path, PathBuf};

use notify::event::{CreateKind, EventKind, MetadataKind, ModifyKind, RemoveKind, RenameMode};

/// One raw change to one path, before rename pairing and debouncing.
/// `is_dir` is `None` when the backend did not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Raw {
    Created {
        path: PathBuf,
        is_dir: Option<bool>,
    },
    Modified {
        path: PathBuf,
    },
    Removed {
        path: PathBuf,
        is_dir: Option<bool>,
    },
    /// First half of a rename (or a move out of the watched tree).
    RenameFrom {
        path: PathBuf,
        tracker: Option<usize>,
    },
    /// Second half of a rename (or a move into the watched tree).
    RenameTo {
        path: PathBuf,
        tracker: Option<usize>,
    },
    /// A rename the backend already paired.
    RenameBoth {
        from: PathBuf,
        to: PathBuf,
        tracker: Option<usize>,
    },
    /// The backend lost events (queue overflow): anything may have changed.
    Rescan,
}

impl Raw {
    /// The path of a one-path change.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Raw::Created { path, .. }
            | Raw::Modified { path }
            | Raw::Removed { path, .. }
            | Raw::RenameFrom { path, .. }
            | Raw::RenameTo { path, .. } => Some(path),
            Raw::RenameBoth { .. } | Raw::Rescan => None,
        }
    }
}

/// Splits one `notify` event into [`Raw`] changes. Access events (open,
/// close, read) and access-time updates are dropped.
pub(crate) fn classify(event: notify::Event) -> Vec<Raw> {
    if event.need_rescan() {
        return vec![Raw::Rescan];
    }
    let tracker = event.tracker();
    let dir = |is: bool| Some(is);
    let mut paths = event.paths;
    match event.kind {
        EventKind::Create(kind) => {
            let is_dir = match kind {
                CreateKind::Folder => dir(true),
                CreateKind::File => dir(false),
                _ => None,
            };
            paths
                .into_iter()
                .map(|path| Raw::Created { path, is_dir })
                .collect()
        }
        EventKind::Remove(kind) => {
            let is_dir = match kind {
                RemoveKind::Folder => dir(true),
                RemoveKind::File => dir(false),
                _ => None,
            };
            paths
                .into_iter()
                .map(|path| Raw::Removed { path, is_dir })
                .collect()
        }
        EventKind::Modify(ModifyKind::Name(mode)) => match mode {
            RenameMode::Both if paths.len() >= 2 => {
                let to = paths.swap_remove(1);
                let from = paths.swap_remove(0);
                vec![Raw::RenameBoth { from, to, tracker }]
            }
            RenameMode::From => paths
                .into_iter()
                .map(|path| Raw::RenameFrom { path, tracker })
                .collect(),
            RenameMode::To => paths
                .into_iter()
                .map(|path| Raw::RenameTo { path, tracker })
                .collect(),
            // `Any` (FSEvents, kqueue) and anything unpaired: the side of the
            // rename is told by whether the path exists now.
            _ => paths
                .into_iter()
                .map(|path| {
                    if path.symlink_metadata().is_ok() {
                        Raw::RenameTo { path, tracker }
                    } else {
                        Raw::RenameFrom { path, tracker }
                    }
                })
                .collect(),
        },
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => Vec::new(),
        EventKind::Modify(_) | EventKind::Any => paths
            .into_iter()
            .map(|path| Raw::Modified { path })
            .collect(),
        EventKind::Access(_) | EventKind::Other => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, AccessMode, DataChange, Event, Flag};

    use super::*;

    #[test]
    fn kinds_map_and_access_is_dropped() {
        let p = PathBuf::from("/w/a.rs");
        let ev = |kind| Event::new(kind).add_path(p.clone());
        assert_eq!(
            classify(ev(EventKind::Create(CreateKind::Folder))),
            [Raw::Created {
                path: p.clone(),
                is_dir: Some(true)
            }]
        );
        assert_eq!(
            classify(ev(EventKind::Modify(ModifyKind::Data(DataChange::Any)))),
            [Raw::Modified { path: p.clone() }]
        );
        assert_eq!(
            classify(ev(EventKind::Remove(RemoveKind::File))),
            [Raw::Removed {
                path: p.clone(),
                is_dir: Some(false)
            }]
        );
        assert!(classify(ev(EventKind::Access(AccessKind::Close(AccessMode::Write)))).is_empty());
        assert!(
            classify(ev(EventKind::Modify(ModifyKind::Metadata(
                MetadataKind::AccessTime
            ))))
            .is_empty()
        );
        assert_eq!(
            classify(Event::new(EventKind::Other).set_flag(Flag::Rescan)),
            [Raw::Rescan]
        );
    }

    #[test]
    fn renames_keep_their_tracker() {
        let both = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
            .add_path("/w/a".into())
            .add_path("/w/b".into())
            .set_tracker(7);
        assert_eq!(
            classify(both),
            [Raw::RenameBoth {
                from: "/w/a".into(),
                to: "/w/b".into(),
                tracker: Some(7)
            }]
        );
        let from = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::From)))
            .add_path("/w/a".into())
            .set_tracker(7);
        assert_eq!(
            classify(from),
            [Raw::RenameFrom {
                path: "/w/a".into(),
                tracker: Some(7)
            }]
        );
        // `Any` on a path that does not exist: the old side.
        let any = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Any)))
            .add_path("/definitely/not/here".into());
        assert_eq!(
            classify(any),
            [Raw::RenameFrom {
                path: "/definitely/not/here".into(),
                tracker: None
            }]
        );
    }
}
