//! The watcher's thread: raw events in, debounced events out.

use std::{
    any::Any,
    fs, mem,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::mpsc,
    time::Instant,
};

use super::{
    ChangeEvent, ChangeSink, Error,
    debounce::{Change, Debouncer},
    filter::Filter,
    raw::{Raw, classify},
    rename::{Renames, Stitched},
    roots::{Root, RootKind},
    watches::Watches,
};

/// What the thread is asked to do.
pub(crate) enum Msg {
    /// From the `notify` backend.
    Notify(notify::Result<notify::Event>),
    Watch {
        root: Root,
        reply: mpsc::Sender<Result<(), Error>>,
    },
    Unwatch {
        /// The path as given, for the error.
        given: PathBuf,
        /// Forms it may have been watched under (canonical, absolute).
        candidates: Vec<PathBuf>,
        /// The canonical path of the root removed.
        reply: mpsc::Sender<Result<PathBuf, Error>>,
    },
    Stop,
}

/// Everything the thread owns: the backend, the roots, the pipeline and the
/// sink. Dropped (backend stopped, sink dropped) when the thread ends.
pub(crate) struct Worker<S> {
    rx: mpsc::Receiver<Msg>,
    sink: S,
    filter: Filter,
    roots: Vec<Root>,
    watches: Watches,
    renames: Renames,
    debouncer: Debouncer,
    /// The backend pairs renames with trackers (inotify): an old half
    /// without one is a watched directory's own move, which its parent
    /// reports already.
    trackers: bool,
    stitched: Vec<Stitched>,
    out: Vec<ChangeEvent>,
}

impl<S: ChangeSink> Worker<S> {
    pub(crate) fn new(
        rx: mpsc::Receiver<Msg>,
        sink: S,
        filter: Filter,
        watches: Watches,
        debouncer: Debouncer,
        trackers: bool,
    ) -> Self {
        Self {
            rx,
            sink,
            filter,
            roots: Vec::new(),
            watches,
            renames: Renames::default(),
            debouncer,
            trackers,
            stitched: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Runs until [`Msg::Stop`] (or until every sender is gone). Changes
    /// still inside their debounce window are discarded.
    pub(crate) fn run(mut self) {
        loop {
            let deadline = match (self.debouncer.next_deadline(), self.renames.deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let msg = match deadline {
                Some(deadline) => {
                    match self
                        .rx
                        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    {
                        Ok(msg) => Some(msg),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
                None => match self.rx.recv() {
                    Ok(msg) => Some(msg),
                    Err(mpsc::RecvError) => break,
                },
            };
            match msg {
                Some(Msg::Stop) => break,
                Some(Msg::Notify(Ok(event))) => self.on_event(event, Instant::now()),
                Some(Msg::Notify(Err(error))) => {
                    tracing::warn!(%error, paths = ?error.paths, "file watch error");
                }
                Some(Msg::Watch { root, reply }) => {
                    let _ = reply.send(self.watch(root));
                }
                Some(Msg::Unwatch {
                    given,
                    candidates,
                    reply,
                }) => {
                    let _ = reply.send(self.unwatch(given, &candidates));
                }
                None => {}
            }
            let now = Instant::now();
            self.renames.expire(now, &mut self.stitched);
            self.settle(now);
            self.debouncer.drain_due(now, &mut self.out);
            for event in mem::take(&mut self.out) {
                self.deliver(event);
            }
        }
        tracing::debug!("file watcher thread stopped");
    }

    fn watch(&mut self, root: Root) -> Result<(), Error> {
        if self.roots.iter().any(|r| r.path == root.path) {
            return Ok(());
        }
        self.roots.push(root.clone());
        let (roots, filter) = (&self.roots, &self.filter);
        let wanted = |dir: &Path| roots.iter().any(|r| r.needs_dir(dir, filter));
        if let Err(source) = self.watches.add_root(&root, &wanted) {
            self.roots.pop();
            return Err(match source.kind {
                notify::ErrorKind::PathNotFound => Error::NotFound { path: root.given },
                _ => Error::Notify {
                    path: root.given,
                    source,
                },
            });
        }
        tracing::debug!(root = %root.path.display(), watches = self.watches.len(), "watching");
        Ok(())
    }

    fn unwatch(&mut self, given: PathBuf, candidates: &[PathBuf]) -> Result<PathBuf, Error> {
        let found = self
            .roots
            .iter()
            .position(|r| candidates.iter().any(|c| *c == r.path || *c == r.given));
        let Some(index) = found else {
            return Err(Error::NotWatched { path: given });
        };
        let root = self.roots.remove(index);
        self.watches.retain_for(&self.roots, &self.filter);
        tracing::debug!(root = %root.path.display(), watches = self.watches.len(), "unwatched");
        Ok(root.path)
    }

    fn on_event(&mut self, event: notify::Event, now: Instant) {
        tracing::trace!(?event, "raw event");
        for raw in classify(event) {
            let raw = match raw {
                Raw::RenameFrom {
                    path,
                    tracker: None,
                } if self.trackers => {
                    if self.roots.iter().any(|r| r.path == path) {
                        Raw::Removed { path, is_dir: None }
                    } else {
                        continue;
                    }
                }
                raw => raw,
            };
            self.renames.push(raw, now, &mut self.stitched);
        }
        self.settle(now);
    }

    /// Filters the paired changes and feeds the debouncer; in pruned mode,
    /// follows directories appearing and disappearing.
    fn settle(&mut self, now: Instant) {
        for change in mem::take(&mut self.stitched) {
            match change {
                Stitched::Plain(Raw::Created { path, is_dir }) => {
                    let is_dir = is_dir.unwrap_or_else(|| is_dir_now(&path));
                    if self.admits(&path, is_dir) {
                        self.debouncer.push(Change::Created(path.clone()), now);
                    }
                    if is_dir {
                        self.dir_appeared(&path, true, now);
                    }
                }
                Stitched::Plain(Raw::Modified { path }) => {
                    if self.admits(&path, is_dir_now(&path)) {
                        self.debouncer.push(Change::Modified(path), now);
                    }
                }
                Stitched::Plain(Raw::Removed { path, is_dir }) => {
                    self.removed(path, is_dir, now);
                }
                Stitched::MovedOut { path, at } => self.removed(path, None, at),
                Stitched::MovedIn { path } => {
                    let is_dir = is_dir_now(&path);
                    if self.admits(&path, is_dir) {
                        self.debouncer.push(Change::Created(path.clone()), now);
                    }
                    if is_dir {
                        self.dir_appeared(&path, true, now);
                    }
                }
                Stitched::Renamed { from, to } => {
                    let is_dir = is_dir_now(&to);
                    if is_dir && self.watches.pruned() {
                        self.watches.forget_below(&from);
                    }
                    let (old, new) = (self.admits(&from, is_dir), self.admits(&to, is_dir));
                    match (old, new) {
                        (true, true) => self.debouncer.push(
                            Change::Renamed {
                                from,
                                to: to.clone(),
                            },
                            now,
                        ),
                        (true, false) => self.debouncer.push(Change::Removed(from), now),
                        (false, true) => self.debouncer.push(Change::Created(to.clone()), now),
                        (false, false) => {}
                    }
                    if is_dir {
                        // Content of a directory renamed inside the tree is
                        // covered by the rename; content moved in from an
                        // ignored place is new.
                        self.dir_appeared(&to, !old, now);
                    }
                }
                Stitched::Plain(Raw::Rescan) => {
                    tracing::warn!(
                        "file watch backend lost events; reporting every root as modified"
                    );
                    for root in &self.roots {
                        self.debouncer
                            .push(Change::Modified(root.path.clone()), now);
                    }
                }
                Stitched::Plain(
                    Raw::RenameFrom { .. } | Raw::RenameTo { .. } | Raw::RenameBoth { .. },
                ) => {
                    // Renames never leave `Renames` unpaired.
                }
            }
        }
    }

    fn removed(&mut self, path: PathBuf, is_dir: Option<bool>, at: Instant) {
        let is_dir = is_dir.unwrap_or_else(|| self.watches.contains(&path));
        if self.watches.pruned() {
            self.watches.forget_below(&path);
        }
        if self.admits(&path, is_dir) {
            self.debouncer.push(Change::Removed(path), at);
        }
    }

    /// A directory appeared under a recursive root (pruned mode): watch it
    /// and, with `announce`, report what it already holds.
    fn dir_appeared(&mut self, dir: &Path, announce: bool, now: Instant) {
        if !self.watches.pruned() {
            return;
        }
        let (roots, filter) = (&self.roots, &self.filter);
        let wanted = |d: &Path| {
            roots.iter().any(|r| {
                matches!(r.kind, RootKind::Dir { recursive: true }) && r.needs_dir(d, filter)
            })
        };
        if !wanted(dir) {
            return;
        }
        let mut found = Vec::new();
        let sink = if announce { Some(&mut found) } else { None };
        if let Err(error) = self.watches.add_tree(dir, &wanted, sink) {
            tracing::warn!(dir = %dir.display(), %error, "new directory not watched");
        }
        for (path, is_dir) in found {
            if self.admits(&path, is_dir) {
                self.debouncer.push(Change::Created(path), now);
            }
        }
    }

    fn admits(&self, path: &Path, is_dir: bool) -> bool {
        self.roots
            .iter()
            .any(|r| r.admits(path, is_dir, &self.filter))
    }

    fn deliver(&mut self, event: ChangeEvent) {
        tracing::debug!(kind = ?event.kind, paths = ?event.paths, "change");
        let sink = &mut self.sink;
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| sink.handle_event(event))) {
            tracing::error!(
                panic = panic_message(&*panic),
                "change sink panicked; the watcher goes on"
            );
        }
    }
}

fn is_dir_now(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}
