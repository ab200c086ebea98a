//! Pairing the two halves of a rename.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use super::raw::Raw;

/// How long the old half of a rename waits for its new half before it
/// counts as a move out of the watched tree. Both halves come from one
/// kernel read, so this only needs to cover thread scheduling.
pub(crate) const RENAME_GRACE: Duration = Duration::from_millis(50);

/// A raw change after rename pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stitched {
    /// Anything but a rename, unchanged.
    Plain(Raw),
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
    half: Option<Half>,
    /// Tracker of the last pair made from halves, whose `Both` event (sent
    /// after them by inotify) is then a duplicate.
    last_paired: Option<usize>,
}

#[derive(Debug)]
struct Half {
    path: PathBuf,
    tracker: Option<usize>,
    at: Instant,
}

impl Renames {
    /// Feeds one raw change; what is settled is appended to `out`.
    pub(crate) fn push(&mut self, raw: Raw, now: Instant, out: &mut Vec<Stitched>) {
        match raw {
            Raw::RenameFrom { path, tracker } => {
                if let Some(old) = self.half.take() {
                    out.push(Stitched::MovedOut {
                        path: old.path,
                        at: old.at,
                    });
                }
                self.half = Some(Half {
                    path,
                    tracker,
                    at: now,
                });
            }
            Raw::RenameTo { path, tracker } => match self.half.take() {
                Some(old) if old.tracker == tracker => {
                    if tracker.is_some() {
                        self.last_paired = tracker;
                    }
                    out.push(Stitched::Renamed {
                        from: old.path,
                        to: path,
                    });
                }
                other => {
                    self.half = other;
                    out.push(Stitched::MovedIn { path });
                }
            },
            Raw::RenameBoth { from, to, tracker } => {
                if tracker.is_some() && tracker == self.last_paired {
                    return;
                }
                if self.half.as_ref().is_some_and(|h| h.path == from) {
                    self.half = None;
                }
                out.push(Stitched::Renamed { from, to });
            }
            plain => {
                // A change to the path an old half left (moved out, then
                // re-created): settle the move first, to keep the order.
                if self
                    .half
                    .as_ref()
                    .is_some_and(|h| Some(h.path.as_path()) == plain.path())
                    && let Some(old) = self.half.take()
                {
                    out.push(Stitched::MovedOut {
                        path: old.path,
                        at: old.at,
                    });
                }
                out.push(Stitched::Plain(plain));
            }
        }
    }

    /// When the pending old half expires, if there is one.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.half.as_ref().map(|h| h.at + RENAME_GRACE)
    }

    /// Settles an old half that waited [`RENAME_GRACE`] as a move out.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Stitched>) {
        if self.deadline().is_some_and(|d| d <= now)
            && let Some(old) = self.half.take()
        {
            out.push(Stitched::MovedOut {
                path: old.path,
                at: old.at,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(r: &mut Renames, raws: Vec<Raw>, now: Instant) -> Vec<Stitched> {
        let mut out = Vec::new();
        for raw in raws {
            r.push(raw, now, &mut out);
        }
        out
    }

    #[test]
    fn inotify_sequence_gives_one_rename() {
        // inotify: From(cookie), To(cookie), Both(cookie).
        let (mut r, t) = (Renames::default(), Instant::now());
        let out = feed(
            &mut r,
            vec![
                Raw::RenameFrom {
                    path: "/w/a".into(),
                    tracker: Some(3),
                },
                Raw::RenameTo {
                    path: "/w/b".into(),
                    tracker: Some(3),
                },
                Raw::RenameBoth {
                    from: "/w/a".into(),
                    to: "/w/b".into(),
                    tracker: Some(3),
                },
            ],
            t,
        );
        assert_eq!(
            out,
            [Stitched::Renamed {
                from: "/w/a".into(),
                to: "/w/b".into()
            }]
        );
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn unpaired_halves_are_moves_in_and_out() {
        let (mut r, t) = (Renames::default(), Instant::now());
        let out = feed(
            &mut r,
            vec![Raw::RenameFrom {
                path: "/w/a".into(),
                tracker: Some(1),
            }],
            t,
        );
        assert!(out.is_empty());
        let mut out = Vec::new();
        r.expire(t + RENAME_GRACE / 2, &mut out);
        assert!(out.is_empty(), "still within the grace period");
        r.expire(t + RENAME_GRACE, &mut out);
        assert_eq!(
            out,
            [Stitched::MovedOut {
                path: "/w/a".into(),
                at: t
            }]
        );

        let out = feed(
            &mut r,
            vec![Raw::RenameTo {
                path: "/w/b".into(),
                tracker: Some(2),
            }],
            t,
        );
        assert_eq!(
            out,
            [Stitched::MovedIn {
                path: "/w/b".into()
            }]
        );
    }

    #[test]
    fn a_change_to_the_old_path_settles_the_move_first() {
        let (mut r, t) = (Renames::default(), Instant::now());
        let out = feed(
            &mut r,
            vec![
                Raw::RenameFrom {
                    path: "/w/a".into(),
                    tracker: Some(1),
                },
                Raw::Created {
                    path: "/w/a".into(),
                    is_dir: Some(false),
                },
            ],
            t,
        );
        assert_eq!(
            out,
            [
                Stitched::MovedOut {
                    path: "/w/a".into(),
                    at: t
                },
                Stitched::Plain(Raw::Created {
                    path: "/w/a".into(),
                    is_dir: Some(false)
                })
            ]
        );
    }

    #[test]
    fn trackerless_halves_pair_by_adjacency() {
        let (mut r, t) = (Renames::default(), Instant::now());
        let out = feed(
            &mut r,
            vec![
                Raw::RenameFrom {
                    path: "/w/a".into(),
                    tracker: None,
                },
                Raw::RenameTo {
                    path: "/w/b".into(),
                    tracker: None,
                },
            ],
            t,
        );
        assert_eq!(
            out,
            [Stitched::Renamed {
                from: "/w/a".into(),
                to: "/w/b".into()
            }]
        );
    }

    #[test]
    fn a_second_old_half_settles_the_first() {
        let (mut r, t) = (Renames::default(), Instant::now());
        let out = feed(
            &mut r,
            vec![
                Raw::RenameFrom {
                    path: "/w/a".into(),
                    tracker: Some(1),
                },
                Raw::RenameFrom {
                    path: "/w/c".into(),
                    tracker: Some(2),
                },
                Raw::Modified {
                    path: "/w/x".into(),
                },
            ],
            t,
        );
        assert_eq!(
            out,
            [
                Stitched::MovedOut {
                    path: "/w/a".into(),
                    at: t
                },
                Stitched::Plain(Raw::Modified {
                    path: "/w/x".into()
                })
            ]
        );
        assert_eq!(r.deadline(), Some(t + RENAME_GRACE));
    }
}
