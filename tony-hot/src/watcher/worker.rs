//! The watcher's thread: `notify` events in, debounced events out.
//!
//! Rename halves are paired here: by tracker (the inotify cookie) when the
//! backend gives one, by adjacency otherwise (Windows; FSEvents and kqueue,
//! whose unpaired `Any` halves are sided by whether the path exists now).
//! An old half that finds no new half within [`RENAME_GRACE`] moved out.

use std::{
    any::Any,
    collections::BTreeMap,
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, mpsc},
    time::{Duration, Instant},
};

use notify::event::{CreateKind, EventKind, MetadataKind, ModifyKind, RemoveKind, RenameMode};

use super::{
    ChangeEvent, ChangeSink, Error,
    debounce::{Change, Debouncer},
    filter::Filter,
    roots::{Root, RootKind, WatchState},
    watches::Watches,
};

/// How long the old half of a rename waits for its new half before it
/// counts as a move out of the watched tree. Both halves come from one
/// kernel read, so this only needs to cover thread scheduling.
pub(crate) const RENAME_GRACE: Duration = Duration::from_millis(50);

/// The roots and their state, as the [`FileWatcher`](super::FileWatcher)
/// reports them; written by the thread only.
pub(crate) type Shared = Arc<Mutex<BTreeMap<PathBuf, WatchState>>>;

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
        reply: mpsc::Sender<Result<(), Error>>,
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
    shared: Shared,
    watches: Watches,
    debouncer: Debouncer,
    /// The backend pairs renames with trackers (inotify): an old half
    /// without one is a watched directory's own move, which its parent
    /// reports already.
    trackers: bool,
    /// The old half of a rename waiting for its new half: path, tracker,
    /// when seen.
    moving: Option<(PathBuf, Option<usize>, Instant)>,
}

impl<S: ChangeSink> Worker<S> {
    pub(crate) fn new(
        rx: mpsc::Receiver<Msg>,
        sink: S,
        filter: Filter,
        watches: Watches,
        debouncer: Debouncer,
        trackers: bool,
        shared: Shared,
    ) -> Self {
        Self {
            rx,
            sink,
            filter,
            roots: Vec::new(),
            shared,
            watches,
            debouncer,
            trackers,
            moving: None,
        }
    }

    /// Runs until [`Msg::Stop`] (or until every sender is gone). Changes
    /// still inside their debounce window are discarded.
    pub(crate) fn run(mut self) {
        loop {
            let rename = self.moving.as_ref().map(|m| m.2 + RENAME_GRACE);
            let deadline = self
                .debouncer
                .next_deadline()
                .into_iter()
                .chain(rename)
                .min();
            // No deadline: `Duration::MAX` overflows `Instant`, and std
            // then waits without one.
            let wait = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            match self.rx.recv_timeout(wait) {
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Ok(Msg::Notify(Ok(event))) => self.on_event(event, Instant::now()),
                Ok(Msg::Notify(Err(error))) => {
                    tracing::warn!(%error, paths = ?error.paths, "file watch error");
                }
                Ok(Msg::Watch { root, reply }) => {
                    let _ = reply.send(self.watch(root));
                }
                Ok(Msg::Unwatch {
                    given,
                    candidates,
                    reply,
                }) => {
                    let _ = reply.send(self.unwatch(given, &candidates));
                }
            }
            for event in self.due(Instant::now()) {
                self.deliver(event);
            }
        }
        tracing::debug!("file watcher thread stopped");
    }

    /// Settles an old rename half past its grace as a move out, and takes
    /// the events whose window has closed.
    fn due(&mut self, now: Instant) -> Vec<ChangeEvent> {
        if self
            .moving
            .as_ref()
            .is_some_and(|m| m.2 + RENAME_GRACE <= now)
        {
            self.settle_move(None);
        }
        let mut out = Vec::new();
        self.debouncer.drain_due(now, &mut out);
        out
    }

    fn watch(&mut self, root: Root) -> Result<(), Error> {
        if self.roots.iter().any(|r| r.path == root.path) {
            return Ok(());
        }
        self.roots.push(root.clone());
        let (roots, filter) = (&self.roots, &self.filter);
        if let Err(source) = self
            .watches
            .add_root(&root, &|d| roots.iter().any(|r| r.needs_dir(d, filter)))
        {
            self.roots.pop();
            self.watches.retain_for(&self.roots, &self.filter);
            return Err(match source.kind {
                notify::ErrorKind::PathNotFound => Error::NotFound { path: root.given },
                _ => Error::Notify {
                    path: root.given,
                    source,
                },
            });
        }
        tracing::debug!(root = %root.path.display(), "watching");
        self.publish();
        Ok(())
    }

    fn unwatch(&mut self, given: PathBuf, candidates: &[PathBuf]) -> Result<(), Error> {
        let found = (self.roots.iter())
            .position(|r| candidates.iter().any(|c| *c == r.path || *c == r.given));
        let Some(index) = found else {
            return Err(Error::NotWatched { path: given });
        };
        let root = self.roots.remove(index);
        self.watches.retain_for(&self.roots, &self.filter);
        self.publish();
        tracing::debug!(root = %root.path.display(), "unwatched");
        Ok(())
    }

    /// Tells the [`FileWatcher`](super::FileWatcher) what is watched.
    fn publish(&self) {
        let states = self
            .roots
            .iter()
            .map(|r| (r.path.clone(), r.state()))
            .collect();
        *self.shared.lock().unwrap_or_else(PoisonError::into_inner) = states;
    }

    /// Turns one `notify` event into changes for the debouncer; access
    /// events and access-time updates are dropped.
    fn on_event(&mut self, event: notify::Event, now: Instant) {
        tracing::trace!(?event, "raw event");
        if event.need_rescan() {
            tracing::warn!("file watch backend lost events; reporting every root as modified");
            for root in &self.roots {
                self.debouncer
                    .push(Change::Modified(root.path.clone()), now);
            }
            return self.check_roots(&[], now);
        }
        let tracker = event.tracker();
        let hint = |folder: bool, file: bool| (folder || file).then_some(folder);
        for path in event.paths.iter().cloned() {
            match event.kind {
                EventKind::Access(_)
                | EventKind::Other
                | EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime))
                // notify sends `Both` (inotify) after the halves it pairs.
                | EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => break,
                EventKind::Modify(ModifyKind::Name(mode)) => {
                    let old = match mode {
                        RenameMode::From => true,
                        RenameMode::To => false,
                        _ => path.symlink_metadata().is_err(),
                    };
                    if !old {
                        self.moved_in(path, tracker, now);
                    } else if tracker.is_some() || !self.trackers {
                        self.settle_move(None);
                        self.moving = Some((path, tracker, now));
                    } else if self.roots.iter().any(|r| r.path == path) {
                        self.removed(path, None, now);
                    }
                }
                EventKind::Create(kind) => {
                    self.settle_move(Some(&path));
                    self.created(path, hint(kind == CreateKind::Folder, kind == CreateKind::File), now);
                }
                EventKind::Remove(kind) => {
                    self.settle_move(Some(&path));
                    self.removed(path, hint(kind == RemoveKind::Folder, kind == RemoveKind::File), now);
                }
                EventKind::Modify(_) | EventKind::Any => {
                    self.settle_move(Some(&path));
                    if self.admits(&path, is_dir_now(&path)) {
                        self.debouncer.push(Change::Modified(path), now);
                    }
                }
            }
        }
        self.check_roots(&event.paths, now);
    }

    /// Settles the pending old half of a rename as a move out: any, or
    /// only one that left `path` (so that a change there comes after it).
    fn settle_move(&mut self, path: Option<&Path>) {
        if let Some((from, _, at)) = self.moving.take_if(|m| path.is_none_or(|p| m.0 == p)) {
            self.removed(from, None, at);
        }
    }

    /// The new half of a rename: renamed inside the tree if it pairs with
    /// the pending old half, moved in otherwise.
    fn moved_in(&mut self, to: PathBuf, tracker: Option<usize>, now: Instant) {
        let Some((from, _, _)) = self.moving.take_if(|m| m.1 == tracker) else {
            return self.created(to, None, now);
        };
        let is_dir = is_dir_now(&to);
        if is_dir {
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
            // Content of a directory renamed inside the tree is covered by
            // the rename; content moved in from an ignored place is new.
            self.dir_appeared(&to, !old, now);
        }
    }

    fn created(&mut self, path: PathBuf, is_dir: Option<bool>, now: Instant) {
        let is_dir = is_dir.unwrap_or_else(|| is_dir_now(&path));
        if self.admits(&path, is_dir) {
            self.debouncer.push(Change::Created(path.clone()), now);
        }
        if is_dir {
            self.dir_appeared(&path, true, now);
        }
    }

    fn removed(&mut self, path: PathBuf, is_dir: Option<bool>, at: Instant) {
        let is_dir = is_dir.unwrap_or_else(|| self.watches.contains(&path));
        self.watches.forget_below(&path);
        if self.admits(&path, is_dir) {
            self.debouncer.push(Change::Removed(path), at);
        }
    }

    /// A directory appeared under a recursive root (pruned mode): watch it
    /// and, with `announce`, report what it already holds.
    fn dir_appeared(&mut self, dir: &Path, announce: bool, now: Instant) {
        let (roots, filter) = (&self.roots, &self.filter);
        let wanted = |d: &Path| {
            (roots.iter())
                .any(|r| r.kind == (RootKind::Dir { recursive: true }) && r.needs_dir(d, filter))
        };
        if !self.watches.pruned() || !wanted(dir) {
            return;
        }
        let mut found = Vec::new();
        if let Err(error) = self
            .watches
            .add_tree(dir, &wanted, announce.then_some(&mut found))
        {
            tracing::warn!(dir = %dir.display(), %error, "new directory not watched");
        }
        self.report_created(found, RootKind::Dir { recursive: true }, now);
    }

    /// Reports what a new directory (or a file root back in place) holds:
    /// no event announced it.
    fn report_created(&mut self, found: Vec<(PathBuf, bool)>, kind: RootKind, now: Instant) {
        for (path, is_dir) in found {
            if self.admits(&path, is_dir) {
                let change = match kind {
                    RootKind::File => Change::Modified(path),
                    RootKind::Dir { .. } => Change::Created(path),
                };
                self.debouncer.push(change, now);
            }
        }
    }

    /// After events at `paths` (none: all): re-checks every root whose
    /// directory (or one of its ancestors), symlink or waiting place was
    /// among them.
    fn check_roots(&mut self, paths: &[PathBuf], now: Instant) {
        let mut changed = false;
        for i in 0..self.roots.len() {
            let root = &self.roots[i];
            let touched = paths.is_empty()
                || paths.iter().any(|p| {
                    root.anchor().starts_with(p)
                        || [&root.link, &root.waiting].contains(&&Some(p.clone()))
                });
            if touched {
                changed |= self.revisit(i, now);
            }
        }
        if changed {
            self.watches.retain_for(&self.roots, &self.filter);
            self.publish();
        }
    }

    /// Brings root `i`'s watches in line with the file system; `true` if
    /// its state or path changed. A root whose directory is gone waits on
    /// its nearest existing ancestor; a waiting root whose directory is
    /// back is watched again, and what it holds is reported as created.
    fn revisit(&mut self, i: usize, now: Instant) -> bool {
        let root = &mut self.roots[i];
        let mut changed = false;
        if let Some(link) = &root.link
            && let Ok(target) = fs::canonicalize(link)
            && target != root.path
        {
            tracing::info!(link = %link.display(), target = %target.display(), "watched symlink re-pointed");
            root.path = target;
            changed = true;
        }
        let anchor = root.anchor().to_path_buf();
        // Directories come and go faster than watches are set (`git
        // checkout`, `rm -r`): after each watch, look again.
        while !anchor.is_dir() {
            let Some(ancestor) = anchor.ancestors().skip(1).find(|a| a.is_dir()) else {
                return changed;
            };
            if root.waiting.as_deref() == Some(ancestor) && self.watches.contains(ancestor) {
                return changed;
            }
            tracing::warn!(root = %root.path.display(), ancestor = %ancestor.display(),
                "watched directory is gone; waiting for it to reappear");
            root.waiting = Some(ancestor.to_path_buf());
            self.watches.forget_below(&anchor);
            changed = true;
            // A failed watch of a directory removed meanwhile: wait higher up.
            if let Err(error) = self
                .watches
                .watch(ancestor, notify::RecursiveMode::NonRecursive)
                && ancestor.is_dir()
            {
                tracing::warn!(dir = %ancestor.display(), %error, "cannot watch while waiting");
                return true;
            }
        }
        if root.waiting.is_none() && self.watches.contains(&anchor) && !changed {
            return false;
        }
        // Back (or re-created before its removal was seen, or re-pointed).
        root.waiting = None;
        let root = root.clone();
        let (roots, filter) = (&self.roots, &self.filter);
        let wanted = |dir: &Path| roots.iter().any(|r| r.needs_dir(dir, filter));
        let mut found = Vec::new();
        let result = match root.kind {
            RootKind::Dir { recursive: true } if self.watches.pruned() => {
                self.watches.add_tree(&root.path, &wanted, Some(&mut found))
            }
            RootKind::File => {
                found.extend(root.path.exists().then(|| (root.path.clone(), false)));
                self.watches.add_root(&root, &wanted)
            }
            RootKind::Dir { .. } => {
                let entries = fs::read_dir(&anchor).into_iter().flatten().flatten();
                found.extend(entries.map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir()))));
                self.watches.add_root(&root, &wanted)
            }
        };
        match result {
            Ok(()) => tracing::info!(root = %root.path.display(), "watching again"),
            Err(error) => tracing::warn!(root = %root.path.display(), %error, "cannot watch again"),
        }
        found.retain(|(path, is_dir)| root.admits(path, *is_dir, &self.filter));
        self.report_created(found, root.kind, now);
        true
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
    (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

#[cfg(test)]
mod tests;
