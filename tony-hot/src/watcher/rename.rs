//! Pairing the two halves of a rename.
//!
//! Own code because `notify` pairs halves only on inotify (its `Both`
//! event, sent after the halves) and reports unpaired `Any` halves on
//! FSEvents and kqueue, while the watcher must tell a rename inside the
//! tree from a move out or in on every backend. notify-debouncer-full does
//! this only inside its own debouncer, which the watcher cannot use (see
//! the module docs of `watcher`).

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// How long the old half of a rename waits for its new half before it
/// counts as a move out of the watched tree. Both halves come from one
/// kernel read, so this only needs to cover thread scheduling.
pub(crate) const RENAME_GRACE: Duration = Duration::from_millis(50);

/// One rename event from `notify`, by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Half {
    /// The old path (or a move out of the watched tree).
    From(PathBuf),
    /// The new path (or a move into the watched tree).
    To(PathBuf),
    /// A rename the backend paired itself.
    Both { from: PathBuf, to: PathBuf },
}

/// A rename, settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stitched {
    /// Both halves of a rename.
    Renamed { from: PathBuf, to: PathBuf },
    /// An old half that found no new half: moved out of the watched tree
    /// (`at`: when it was seen).
    MovedOut { path: PathBuf, at: Instant },
    /// A new half without an old half: moved into the watched tree.
    MovedIn { path: PathBuf },
}

/// Pairs rename halves, by tracker (inotify cookie) when the backend gives
/// one, by adjacency otherwise (Windows, FSEvents). Time is passed in by the
/// caller, so tests drive it.
#[derive(Debug, Default)]
pub(crate) struct Renames {
    /// An old half waiting for its new half: path, tracker, when seen.
    half: Option<(PathBuf, Option<usize>, Instant)>,
    /// Tracker of the last pair made from halves, whose `Both` event (sent
    /// after them by inotify) is then a duplicate.
    last_paired: Option<usize>,
}

impl Renames {
    /// Feeds one half; what is settled is appended to `out`.
    pub(crate) fn push(
        &mut self,
        half: Half,
        tracker: Option<usize>,
        now: Instant,
        out: &mut Vec<Stitched>,
    ) {
        match half {
            Half::From(path) => {
                self.settle_old(out);
                self.half = Some((path, tracker, now));
            }
            Half::To(to) => match self.half.take() {
                Some((from, t, _)) if t == tracker => {
                    if tracker.is_some() {
                        self.last_paired = tracker;
                    }
                    out.push(Stitched::Renamed { from, to });
                }
                other => {
                    self.half = other;
                    out.push(Stitched::MovedIn { path: to });
                }
            },
            Half::Both { from, to } => {
                if tracker.is_some() && tracker == self.last_paired {
                    return;
                }
                if self.half.as_ref().is_some_and(|h| h.0 == from) {
                    self.half = None;
                }
                out.push(Stitched::Renamed { from, to });
            }
        }
    }

    /// Before any other change to `path`: an old half that left it (moved
    /// out, then re-created) is settled first, to keep the order.
    pub(crate) fn before_change(&mut self, path: &Path, out: &mut Vec<Stitched>) {
        if self.half.as_ref().is_some_and(|h| h.0 == path) {
            self.settle_old(out);
        }
    }

    /// When the pending old half expires, if there is one.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.half.as_ref().map(|h| h.2 + RENAME_GRACE)
    }

    /// Settles an old half that waited [`RENAME_GRACE`] as a move out.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Stitched>) {
        if self.deadline().is_some_and(|d| d <= now) {
            self.settle_old(out);
        }
    }

    fn settle_old(&mut self, out: &mut Vec<Stitched>) {
        if let Some((path, _, at)) = self.half.take() {
            out.push(Stitched::MovedOut { path, at });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn feed(r: &mut Renames, halves: Vec<(Half, Option<usize>)>, now: Instant) -> Vec<Stitched> {
        let mut out = Vec::new();
        for (half, tracker) in halves {
            r.push(half, tracker, now, &mut out);
        }
        out
    }

    fn renamed(from: &str, to: &str) -> Stitched {
        Stitched::Renamed {
            from: p(from),
            to: p(to),
        }
    }

    #[test]
    fn inotify_sequence_gives_one_rename() {
        // inotify: From(cookie), To(cookie), Both(cookie).
        let (mut r, t) = (Renames::default(), Instant::now());
        let both = Half::Both {
            from: p("/w/a"),
            to: p("/w/b"),
        };
        let halves = vec![
            (Half::From(p("/w/a")), Some(3)),
            (Half::To(p("/w/b")), Some(3)),
            (both, Some(3)),
        ];
        assert_eq!(feed(&mut r, halves, t), [renamed("/w/a", "/w/b")]);
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn unpaired_halves_are_moves_in_and_out() {
        let (mut r, t) = (Renames::default(), Instant::now());
        assert!(feed(&mut r, vec![(Half::From(p("/w/a")), Some(1))], t).is_empty());
        let mut out = Vec::new();
        r.expire(t + RENAME_GRACE / 2, &mut out);
        assert!(out.is_empty(), "still within the grace period");
        r.expire(t + RENAME_GRACE, &mut out);
        let moved_out = Stitched::MovedOut {
            path: p("/w/a"),
            at: t,
        };
        assert_eq!(out, [moved_out]);
        let out = feed(&mut r, vec![(Half::To(p("/w/b")), Some(2))], t);
        assert_eq!(out, [Stitched::MovedIn { path: p("/w/b") }]);
    }

    #[test]
    fn a_change_to_the_old_path_or_a_second_old_half_settles_the_move() {
        let (mut r, t) = (Renames::default(), Instant::now());
        let moved_out = |s: &str| Stitched::MovedOut { path: p(s), at: t };
        let mut out = feed(&mut r, vec![(Half::From(p("/w/a")), Some(1))], t);
        r.before_change(Path::new("/w/x"), &mut out);
        assert!(out.is_empty(), "another path");
        r.before_change(Path::new("/w/a"), &mut out);
        assert_eq!(out, [moved_out("/w/a")]);

        let halves = vec![
            (Half::From(p("/w/a")), Some(1)),
            (Half::From(p("/w/c")), Some(2)),
        ];
        assert_eq!(feed(&mut r, halves, t), [moved_out("/w/a")]);
        assert_eq!(r.deadline(), Some(t + RENAME_GRACE));
    }

    #[test]
    fn trackerless_halves_pair_by_adjacency() {
        let (mut r, t) = (Renames::default(), Instant::now());
        let halves = vec![(Half::From(p("/w/a")), None), (Half::To(p("/w/b")), None)];
        assert_eq!(feed(&mut r, halves, t), [renamed("/w/a", "/w/b")]);
    }
}
