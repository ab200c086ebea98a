//! Trailing-edge debouncing per path.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use super::{ChangeEvent, ChangeKind};

/// Longest window honoured (keeps `Instant` arithmetic far from overflow).
const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// One filtered change to feed the [`Debouncer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Created(PathBuf),
    Modified(PathBuf),
    Removed(PathBuf),
    Renamed { from: PathBuf, to: PathBuf },
}

/// What one path went through since its first change in the window: the
/// event is the difference between `before` and now.
#[derive(Debug)]
struct Pending {
    /// Something was at the path before its first change in the window.
    before: bool,
    /// Something is at the path now.
    after: bool,
    /// What is at the path now is what was there before the window
    /// (modified maybe, but not replaced).
    original: bool,
    /// What is here now was renamed from that path, where it was before the
    /// window.
    origin: Option<PathBuf>,
    /// What was here before the window was renamed away: the rename
    /// reports it, not a removal.
    moved_away: bool,
    /// Bumped on every change to the path; queue entries of older
    /// generations are stale.
    generation: u64,
}

impl Pending {
    /// A path unchanged so far, with something at it.
    fn existing() -> Self {
        Self {
            before: true,
            after: true,
            original: true,
            origin: None,
            moved_away: false,
            generation: 0,
        }
    }
}

/// Folds the changes to each path into one event, emitted once the path has
/// been quiet for the window. Time is an argument of every call (the clock
/// is the caller's), so tests drive it without sleeping.
#[derive(Debug)]
pub(crate) struct Debouncer {
    window: Duration,
    pending: HashMap<PathBuf, Pending>,
    /// (deadline, generation, path), earliest first; stale entries are
    /// skipped when they come up.
    queue: BinaryHeap<Reverse<(Instant, u64, PathBuf)>>,
    generation: u64,
}

impl Debouncer {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window: window.min(MAX_WINDOW),
            pending: HashMap::new(),
            queue: BinaryHeap::new(),
            generation: 0,
        }
    }

    /// Records a change seen at `at`.
    pub(crate) fn push(&mut self, change: Change, at: Instant) {
        match change {
            Change::Created(path) => {
                let e = self.entry(&path, false);
                e.after = true;
                self.touch(path, at);
            }
            Change::Modified(path) => {
                let e = self.entry(&path, true);
                e.after = true;
                self.touch(path, at);
            }
            Change::Removed(path) => {
                let e = self.entry(&path, true);
                e.after = false;
                e.original = false;
                let origin = e.origin.take();
                self.touch(path, at);
                if let Some(origin) = origin {
                    // Renamed here, then removed: the original is gone.
                    let o = self
                        .pending
                        .entry(origin.clone())
                        .or_insert_with(|| Pending {
                            after: false,
                            original: false,
                            ..Pending::existing()
                        });
                    o.moved_away = false;
                    self.touch(origin, at);
                }
            }
            Change::Renamed { from, to } => {
                if from == to {
                    return self.push(Change::Modified(to), at);
                }
                let f = self.entry(&from, true);
                let origin = match f.origin.take() {
                    Some(origin) => Some(origin),
                    None if f.original => Some(from.clone()),
                    None => None,
                };
                f.after = false;
                f.original = false;
                if origin.as_ref() == Some(&from) {
                    f.moved_away = true;
                }
                self.touch(from, at);
                let t = self.entry(&to, false);
                if origin.as_ref() == Some(&to) {
                    // Renamed back where it was.
                    t.moved_away = false;
                    t.original = true;
                } else {
                    t.original = false;
                    t.origin = origin;
                }
                t.after = true;
                self.touch(to, at);
            }
        }
    }

    /// The next time something may be due.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((deadline, generation, path))) = self.queue.peek() {
            if self.is_current(path, *generation) {
                return Some(*deadline);
            }
            self.queue.pop();
        }
        None
    }

    /// Appends to `out` the events of every path quiet since `now - window`,
    /// earliest first. A path whose changes cancel out (created then
    /// removed) gives none.
    pub(crate) fn drain_due(&mut self, now: Instant, out: &mut Vec<ChangeEvent>) {
        while let Some(Reverse((deadline, _, _))) = self.queue.peek() {
            if *deadline > now {
                break;
            }
            let Some(Reverse((_, generation, path))) = self.queue.pop() else {
                break;
            };
            if !self.is_current(&path, generation) {
                continue;
            }
            if let Some(pending) = self.pending.remove(&path) {
                out.extend(event(path, pending));
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.pending.len()
    }

    /// The path's entry; a new one assumes something was there before the
    /// window when the first change says so (`before`).
    fn entry(&mut self, path: &Path, before: bool) -> &mut Pending {
        self.pending.entry(path.to_path_buf()).or_insert(Pending {
            before,
            after: before,
            original: before,
            ..Pending::existing()
        })
    }

    fn is_current(&self, path: &Path, generation: u64) -> bool {
        self.pending
            .get(path)
            .is_some_and(|p| p.generation == generation)
    }

    /// Restarts the path's window at `at`.
    fn touch(&mut self, path: PathBuf, at: Instant) {
        self.generation += 1;
        let generation = self.generation;
        if let Some(p) = self.pending.get_mut(&path) {
            p.generation = generation;
            self.queue
                .push(Reverse((at + self.window, generation, path)));
        }
    }
}

fn event(path: PathBuf, p: Pending) -> Option<ChangeEvent> {
    let kind = match (p.origin, p.before, p.after) {
        (Some(from), _, true) => {
            return Some(ChangeEvent {
                kind: ChangeKind::Renamed {
                    from: from.clone(),
                    to: path.clone(),
                },
                paths: vec![from, path],
            });
        }
        (None, false, true) => ChangeKind::Created,
        (None, true, true) => ChangeKind::Modified,
        (_, true, false) if !p.moved_away => ChangeKind::Removed,
        _ => return None,
    };
    Some(ChangeEvent {
        kind,
        paths: vec![path],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_millis(100);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn drain(d: &mut Debouncer, now: Instant) -> Vec<ChangeEvent> {
        let mut out = Vec::new();
        d.drain_due(now, &mut out);
        out
    }

    fn one(kind: ChangeKind, path: &str) -> ChangeEvent {
        ChangeEvent {
            kind,
            paths: vec![p(path)],
        }
    }

    #[test]
    fn a_burst_is_one_event_after_the_last_write_plus_the_window() {
        let (mut d, t) = (Debouncer::new(W), Instant::now());
        for i in 0..50 {
            d.push(Change::Modified(p("/w/a.rs")), t + ms(i * 3));
        }
        let last = t + ms(49 * 3);
        assert_eq!(d.next_deadline(), Some(last + W));
        assert!(
            drain(&mut d, last + W - ms(1)).is_empty(),
            "not quiet long enough yet"
        );
        assert_eq!(
            drain(&mut d, last + W),
            [one(ChangeKind::Modified, "/w/a.rs")]
        );
        assert_eq!(d.next_deadline(), None);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn paths_are_independent_and_come_out_in_deadline_order() {
        let (mut d, t) = (Debouncer::new(W), Instant::now());
        d.push(Change::Modified(p("/w/b")), t);
        d.push(Change::Modified(p("/w/a")), t + ms(10));
        d.push(Change::Modified(p("/w/b")), t + ms(20));
        assert_eq!(
            drain(&mut d, t + ms(110)),
            [one(ChangeKind::Modified, "/w/a")]
        );
        assert_eq!(
            drain(&mut d, t + ms(120)),
            [one(ChangeKind::Modified, "/w/b")]
        );
    }

    #[test]
    fn kinds_fold() {
        let t = Instant::now();
        let fold = |changes: Vec<Change>| {
            let mut d = Debouncer::new(W);
            for c in changes {
                d.push(c, t);
            }
            drain(&mut d, t + W)
        };
        let a = || p("/w/a");
        assert_eq!(
            fold(vec![Change::Created(a()), Change::Modified(a())]),
            [one(ChangeKind::Created, "/w/a")]
        );
        assert_eq!(fold(vec![Change::Created(a()), Change::Removed(a())]), []);
        assert_eq!(
            fold(vec![Change::Modified(a()), Change::Removed(a())]),
            [one(ChangeKind::Removed, "/w/a")]
        );
        assert_eq!(
            fold(vec![Change::Removed(a()), Change::Created(a())]),
            [one(ChangeKind::Modified, "/w/a")]
        );
    }

    #[test]
    fn renames_carry_and_chain() {
        let t = Instant::now();
        let mut d = Debouncer::new(W);
        d.push(Change::Modified(p("/w/a")), t);
        d.push(
            Change::Renamed {
                from: p("/w/a"),
                to: p("/w/b"),
            },
            t,
        );
        d.push(
            Change::Renamed {
                from: p("/w/b"),
                to: p("/w/c"),
            },
            t,
        );
        let renamed = ChangeEvent {
            kind: ChangeKind::Renamed {
                from: p("/w/a"),
                to: p("/w/c"),
            },
            paths: vec![p("/w/a"), p("/w/c")],
        };
        assert_eq!(drain(&mut d, t + W), [renamed]);

        // A new file renamed into place is a new file.
        d.push(Change::Created(p("/w/tmp")), t);
        d.push(
            Change::Renamed {
                from: p("/w/tmp"),
                to: p("/w/x"),
            },
            t,
        );
        assert_eq!(drain(&mut d, t + W), [one(ChangeKind::Created, "/w/x")]);

        // Renamed away and back: modified.
        d.push(
            Change::Renamed {
                from: p("/w/x"),
                to: p("/w/y"),
            },
            t,
        );
        d.push(
            Change::Renamed {
                from: p("/w/y"),
                to: p("/w/x"),
            },
            t,
        );
        assert_eq!(drain(&mut d, t + W), [one(ChangeKind::Modified, "/w/x")]);

        // Renamed, then removed: the original is removed.
        d.push(
            Change::Renamed {
                from: p("/w/x"),
                to: p("/w/y"),
            },
            t,
        );
        d.push(Change::Removed(p("/w/y")), t);
        assert_eq!(drain(&mut d, t + W), [one(ChangeKind::Removed, "/w/x")]);
    }

    #[test]
    fn editor_saves_fold_to_one_change() {
        let t = Instant::now();
        let mut d = Debouncer::new(W);
        // vim with a backup: rename away, write anew, drop the backup.
        d.push(
            Change::Renamed {
                from: p("/w/a.rs"),
                to: p("/w/a.rs~"),
            },
            t,
        );
        d.push(Change::Created(p("/w/a.rs")), t);
        d.push(Change::Modified(p("/w/a.rs")), t);
        d.push(Change::Removed(p("/w/a.rs~")), t);
        assert_eq!(drain(&mut d, t + W), [one(ChangeKind::Modified, "/w/a.rs")]);
        // Backup kept: both the rename and the new file are reported.
        d.push(
            Change::Renamed {
                from: p("/w/a.rs"),
                to: p("/w/a.rs~"),
            },
            t,
        );
        d.push(Change::Created(p("/w/a.rs")), t);
        let mut got = drain(&mut d, t + W);
        got.sort_by_key(|e| e.paths.len());
        assert_eq!(got[0], one(ChangeKind::Modified, "/w/a.rs"));
        assert_eq!(
            got[1].kind,
            ChangeKind::Renamed {
                from: p("/w/a.rs"),
                to: p("/w/a.rs~")
            }
        );
        assert_eq!(got.len(), 2);
        // Renamed twice in a row: one rename from the first to the last path.
        d.push(
            Change::Renamed {
                from: p("/w/o"),
                to: p("/w/f"),
            },
            t,
        );
        d.push(
            Change::Renamed {
                from: p("/w/f"),
                to: p("/w/t"),
            },
            t,
        );
        let mut got = drain(&mut d, t + W);
        got.sort_by_key(|e| e.paths.len());
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].kind,
            ChangeKind::Renamed {
                from: p("/w/o"),
                to: p("/w/t")
            }
        );
    }

    #[test]
    fn an_earlier_timestamp_is_honoured() {
        // A move-out is settled late but stamped with when it happened.
        let (mut d, t) = (Debouncer::new(W), Instant::now());
        d.push(Change::Modified(p("/w/a")), t + ms(50));
        d.push(Change::Removed(p("/w/b")), t);
        assert_eq!(d.next_deadline(), Some(t + W));
        assert_eq!(drain(&mut d, t + W), [one(ChangeKind::Removed, "/w/b")]);
    }

    #[test]
    fn a_huge_window_does_not_overflow() {
        let mut d = Debouncer::new(Duration::MAX);
        d.push(Change::Modified(p("/w/a")), Instant::now());
        assert!(d.next_deadline().is_some());
    }
}
