//! Unit tests of the watcher thread's event handling.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use notify::{
    Event, RecommendedWatcher, Watcher,
    event::{AccessKind, DataChange, Flag},
};

use super::*;
use crate::watcher::{ChangeKind, WatcherConfig, rename::RENAME_GRACE};

const W: Duration = Duration::from_millis(10);

/// A worker watching a temporary directory, fed events by hand.
fn worker(dir: &Path, trackers: bool) -> Worker<mpsc::Sender<ChangeEvent>> {
    let (_tx, rx) = mpsc::channel();
    let (sink, _) = mpsc::channel();
    let backend = RecommendedWatcher::new(|_| {}, notify::Config::default()).unwrap();
    let filter = Filter::new(&WatcherConfig::default()).unwrap();
    let watches = Watches::new(backend, true);
    let mut w = Worker::new(
        rx,
        sink,
        filter,
        watches,
        Debouncer::new(W),
        trackers,
        Shared::default(),
    );
    let root = Root {
        path: dir.to_path_buf(),
        given: dir.to_path_buf(),
        kind: RootKind::Dir { recursive: true },
        link: None,
        waiting: None,
    };
    w.watch(root).unwrap();
    w
}

fn feed(w: &mut Worker<mpsc::Sender<ChangeEvent>>, events: Vec<Event>) -> Vec<ChangeEvent> {
    let t = Instant::now();
    for event in events {
        w.on_event(event, t);
    }
    w.renames.expire(t + RENAME_GRACE, &mut w.stitched);
    w.settle(t);
    let mut out = Vec::new();
    w.debouncer.drain_due(t + RENAME_GRACE + W, &mut out);
    out
}

#[test]
fn access_is_dropped_rescan_reports_roots_and_any_renames_go_by_existence() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    let mut w = worker(&root, false);
    let a = root.join("a.rs");
    let ev = |kind| Event::new(kind).add_path(a.clone());
    assert!(
        feed(
            &mut w,
            vec![
                ev(EventKind::Access(AccessKind::Any)),
                ev(EventKind::Modify(ModifyKind::Metadata(
                    MetadataKind::AccessTime
                ))),
            ]
        )
        .is_empty()
    );
    assert_eq!(
        feed(
            &mut w,
            vec![ev(EventKind::Modify(ModifyKind::Data(DataChange::Any)))]
        ),
        [ChangeEvent {
            kind: ChangeKind::Modified,
            paths: vec![a.clone()]
        }]
    );
    let rescan = Event::new(EventKind::Other).set_flag(Flag::Rescan);
    assert_eq!(
        feed(&mut w, vec![rescan]),
        [ChangeEvent {
            kind: ChangeKind::Modified,
            paths: vec![root.clone()]
        }]
    );
    // `Any` (FSEvents, kqueue: no trackers): a path that is gone is the
    // old side; no new side follows, so it moved out.
    let any = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Any))).add_path(a.clone());
    assert_eq!(
        feed(&mut w, vec![any]),
        [ChangeEvent {
            kind: ChangeKind::Removed,
            paths: vec![a]
        }]
    );
}
