//! Unit tests of the watcher thread's event handling, fed by hand: access
//! events, rescans, and the rename halves of every backend.

#![allow(clippy::unwrap_used)]

use notify::{
    Event, RecommendedWatcher, Watcher,
    event::{AccessKind, DataChange, Flag},
};

use super::*;
use crate::watcher::{ChangeKind, WatcherConfig};

const W: Duration = Duration::from_millis(10);

/// The state of a watcher on a temporary directory, fed events by hand.
fn worker(dir: &Path, trackers: bool) -> State {
    let backend = RecommendedWatcher::new(|_| {}, notify::Config::default()).unwrap();
    let filter = Filter::new(&WatcherConfig::default()).unwrap();
    let watches = Watches::new(backend, true);
    let mut w = State::new(filter, watches, Debouncer::new(W), trackers);
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

/// Feeds `events` at `t`, then takes what is due once every rename half
/// and window has expired.
fn feed(w: &mut State, events: Vec<Event>, t: Instant) -> Vec<ChangeEvent> {
    for event in events {
        w.on_event(event, t);
    }
    w.due(t + RENAME_GRACE + W)
}

fn one(kind: ChangeKind, path: &Path) -> ChangeEvent {
    ChangeEvent {
        kind,
        paths: vec![path.to_path_buf()],
    }
}

fn half(mode: RenameMode, path: &Path, tracker: Option<usize>) -> Event {
    let event = Event::new(EventKind::Modify(ModifyKind::Name(mode))).add_path(path.to_path_buf());
    match tracker {
        Some(t) => event.set_tracker(t),
        None => event,
    }
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    (dir, root)
}

#[test]
fn access_is_dropped_rescan_reports_roots_and_any_renames_go_by_existence() {
    let ((_dir, root), t) = (tmp(), Instant::now());
    let mut w = worker(&root, false);
    let a = root.join("a.rs");
    let ev = |kind| Event::new(kind).add_path(a.clone());
    let access = vec![
        ev(EventKind::Access(AccessKind::Any)),
        ev(EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime,
        ))),
    ];
    assert!(feed(&mut w, access, t).is_empty());
    let write = ev(EventKind::Modify(ModifyKind::Data(DataChange::Any)));
    assert_eq!(
        feed(&mut w, vec![write], t),
        [one(ChangeKind::Modified, &a)]
    );
    let rescan = Event::new(EventKind::Other).set_flag(Flag::Rescan);
    assert_eq!(
        feed(&mut w, vec![rescan], t),
        [one(ChangeKind::Modified, &root)]
    );
    // `Any` (FSEvents, kqueue: no trackers): a path that is gone is the
    // old side; no new side follows, so it moved out.
    let any = half(RenameMode::Any, &a, None);
    assert_eq!(feed(&mut w, vec![any], t), [one(ChangeKind::Removed, &a)]);
}

#[test]
fn inotify_halves_and_both_give_one_rename() {
    let ((_dir, root), t) = (tmp(), Instant::now());
    let mut w = worker(&root, true);
    let (a, b) = (root.join("a.rs"), root.join("b.rs"));
    let both = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
        .add_path(a.clone())
        .add_path(b.clone())
        .set_tracker(3);
    let events = vec![
        half(RenameMode::From, &a, Some(3)),
        half(RenameMode::To, &b, Some(3)),
        both,
    ];
    let renamed = ChangeEvent {
        kind: ChangeKind::Renamed {
            from: a.clone(),
            to: b.clone(),
        },
        paths: vec![a, b],
    };
    assert_eq!(feed(&mut w, events, t), [renamed]);
    assert!(w.moving.is_none());
}

#[test]
fn trackerless_halves_pair_by_adjacency() {
    let ((_dir, root), t) = (tmp(), Instant::now());
    let mut w = worker(&root, false);
    let (a, b) = (root.join("a.rs"), root.join("b.rs"));
    let events = vec![
        half(RenameMode::From, &a, None),
        half(RenameMode::To, &b, None),
    ];
    let got = feed(&mut w, events, t);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].kind, ChangeKind::Renamed { from: a, to: b });
}

#[test]
fn unpaired_halves_are_moves_out_after_the_grace_and_moves_in() {
    let ((_dir, root), t) = (tmp(), Instant::now());
    let mut w = worker(&root, true);
    let (a, b) = (root.join("a.rs"), root.join("b.rs"));
    w.on_event(half(RenameMode::From, &a, Some(1)), t);
    assert!(
        w.due(t + RENAME_GRACE / 2).is_empty(),
        "still within the grace period"
    );
    assert!(w.moving.is_some());
    // Stamped with when it was seen: due at once.
    assert_eq!(w.due(t + RENAME_GRACE), [one(ChangeKind::Removed, &a)]);
    let to = half(RenameMode::To, &b, Some(2));
    assert_eq!(feed(&mut w, vec![to], t), [one(ChangeKind::Created, &b)]);
}

#[test]
fn a_change_to_the_old_path_or_a_second_old_half_settles_the_move() {
    let ((_dir, root), t) = (tmp(), Instant::now());
    let mut w = worker(&root, true);
    let (a, c, x) = (root.join("a.rs"), root.join("c.rs"), root.join("x.rs"));
    w.on_event(half(RenameMode::From, &a, Some(1)), t);
    w.on_event(
        Event::new(EventKind::Modify(ModifyKind::Any)).add_path(x.clone()),
        t,
    );
    assert!(w.moving.is_some(), "another path");
    // Moved out, then re-created: the removal comes first, so the two fold
    // into a modification.
    w.on_event(
        Event::new(EventKind::Create(CreateKind::File)).add_path(a.clone()),
        t,
    );
    assert!(w.moving.is_none());
    let mut got = w.due(t + RENAME_GRACE + W);
    got.sort_by(|l, r| l.paths.cmp(&r.paths));
    assert_eq!(
        got,
        [one(ChangeKind::Modified, &a), one(ChangeKind::Modified, &x)]
    );

    let halves = vec![
        half(RenameMode::From, &a, Some(1)),
        half(RenameMode::From, &c, Some(2)),
    ];
    for event in halves {
        w.on_event(event, t);
    }
    assert_eq!(w.moving.as_ref().map(|m| &m.0), Some(&c));
    assert_eq!(w.due(t + W), [one(ChangeKind::Removed, &a)]);
}
