//! Trailing-edge debouncing per path.

use std::{
    collections::HashMap,
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
    /// When the window closes: a window after the path's last change.
    due: Instant,
}

/// Folds the changes to each path into one event, emitted once the path has
/// been quiet for the window. Time is an argument of every call (the clock
/// is the caller's), so tests drive it without sleeping.
#[derive(Debug)]
pub(crate) struct Debouncer {
    window: Duration,
    pending: HashMap<PathBuf, Pending>,
}

impl Debouncer {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window: window.min(MAX_WINDOW),
            pending: HashMap::new(),
        }
    }

    /// Records a change seen at `at`.
    pub(crate) fn push(&mut self, change: Change, at: Instant) {
        match change {
            Change::Created(path) => self.entry(&path, false, at).after = true,
            Change::Modified(path) => self.entry(&path, true, at).after = true,
            Change::Removed(path) => {
                let e = self.entry(&path, true, at);
                (e.after, e.original) = (false, false);
                if let Some(origin) = e.origin.take() {
                    // Renamed here, then removed: the original is gone
                    // (unless something new is there by now).
                    let fresh = !self.pending.contains_key(&origin);
                    let o = self.entry(&origin, true, at);
                    o.moved_away = false;
                    if fresh {
                        (o.after, o.original) = (false, false);
                    }
                }
            }
            Change::Renamed { from, to } if from == to => self.push(Change::Modified(to), at),
            Change::Renamed { from, to } => {
                let f = self.entry(&from, true, at);
                let origin = match f.origin.take() {
                    None if f.original => Some(from.clone()),
                    origin => origin,
                };
                (f.after, f.original) = (false, false);
                f.moved_away |= origin.as_ref() == Some(&from);
                let t = self.entry(&to, false, at);
                t.after = true;
                if origin.as_ref() == Some(&to) {
                    // Renamed back where it was.
                    (t.moved_away, t.original) = (false, true);
                } else {
                    (t.original, t.origin) = (false, origin);
                }
            }
        }
    }

    /// The next time something may be due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.due).min()
    }

    /// Appends to `out` the events of every path quiet since `now - window`,
    /// earliest first. A path whose changes cancel out (created then
    /// removed) gives none.
    pub(crate) fn drain_due(&mut self, now: Instant, out: &mut Vec<ChangeEvent>) {
        let mut due: Vec<(Instant, PathBuf)> = (self.pending.iter())
            .filter(|(_, p)| p.due <= now)
            .map(|(path, p)| (p.due, path.clone()))
            .collect();
        due.sort();
        for (_, path) in due {
            if let Some(pending) = self.pending.remove(&path) {
                out.extend(event(path, pending));
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.pending.len()
    }

    /// The path's entry, its window restarted at `at`; a new one assumes
    /// something was there before the window when the first change says so
    /// (`before`).
    fn entry(&mut self, path: &Path, before: bool, at: Instant) -> &mut Pending {
        let due = at + self.window;
        let entry = self.pending.entry(path.to_path_buf()).or_insert(Pending {
            before,
            after: before,
            original: before,
            origin: None,
            moved_away: false,
            due,
        });
        entry.due = due;
        entry
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
