//! The watcher's thread: raw events in, debounced events out.

use std::{
    any::Any,
    collections::BTreeMap,
    fs, mem,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, mpsc},
    time::Instant,
};

use notify::event::{CreateKind, EventKind, MetadataKind, ModifyKind, RemoveKind, RenameMode};

use super::{
    ChangeEvent, ChangeSink, Error,
    debounce::{Change, Debouncer},
    filter::Filter,
    rename::{Half, Renames, Stitched},
    roots::{Root, RootKind, WatchState},
    watches::Watches,
};

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
    shared: Shared,
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
        shared: Shared,
    ) -> Self {
        Self {
            rx,
            sink,
            filter,
            roots: Vec::new(),
            shared,
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
        self.publish();
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

    /// After events at `paths`: re-checks every root whose directory (or
    /// one of its ancestors) or symlink was among them. A root whose
    /// directory is gone waits on its nearest existing ancestor; a waiting
    /// root whose directory is back is watched again, and what it holds is
    /// reported as created (no event announced it).
    fn check_roots(&mut self, paths: &[PathBuf], now: Instant) {
        let mut changed = false;
        for i in 0..self.roots.len() {
            let root = &self.roots[i];
            let touched = paths.iter().any(|p| {
                root.anchor().starts_with(p)
                    || root.link.as_deref() == Some(p)
                    || root.waiting.as_deref() == Some(p)
            });
            if touched || paths.is_empty() {
                changed |= self.revisit(i, now);
            }
        }
        if changed {
            self.watches.retain_for(&self.roots, &self.filter);
            self.publish();
        }
    }

    /// Brings root `i`'s watches in line with the file system; `true` if
    /// its state or path changed.
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
            let ancestor = ancestor.to_path_buf();
            self.watches.release(&anchor);
            changed = true;
            // A failed watch of a directory removed meanwhile: wait higher up.
            if let Err(error) = self.watches.watch_dir(&ancestor)
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
                found.extend(
                    fs::read_dir(&anchor)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|e| {
                            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                            (e.path(), is_dir)
                        }),
                );
                self.watches.add_root(&root, &wanted)
            }
        };
        if let Err(error) = result {
            tracing::warn!(root = %root.path.display(), %error, "cannot watch again");
        } else {
            tracing::info!(root = %root.path.display(), "watching again");
        }
        for (path, is_dir) in found {
            if root.admits(&path, is_dir, &self.filter) {
                let change = match root.kind {
                    RootKind::File => Change::Modified(path),
                    RootKind::Dir { .. } => Change::Created(path),
                };
                self.debouncer.push(change, now);
            }
        }
        true
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
        self.publish();
        tracing::debug!(root = %root.path.display(), watches = self.watches.len(), "unwatched");
        Ok(root.path)
    }

    /// Turns one `notify` event into changes for the debouncer (renames
    /// through [`Renames`]); access events and access-time updates are
    /// dropped.
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
        let paths = event.paths.clone();
        let dir = |folder: bool, file: bool| (folder || file).then_some(folder);
        match event.kind {
            EventKind::Modify(ModifyKind::Name(mode)) => {
                let mut halves = Vec::new();
                match (mode, &event.paths[..]) {
                    (RenameMode::Both, [from, to, ..]) => halves.push(Half::Both {
                        from: from.clone(),
                        to: to.clone(),
                    }),
                    (RenameMode::From, _) => halves.extend(event.paths.into_iter().map(Half::From)),
                    (RenameMode::To, _) => halves.extend(event.paths.into_iter().map(Half::To)),
                    // `Any` (FSEvents, kqueue) and anything unpaired: the side
                    // of the rename is told by whether the path exists now.
                    _ => halves.extend(event.paths.into_iter().map(|path| {
                        if path.symlink_metadata().is_ok() {
                            Half::To(path)
                        } else {
                            Half::From(path)
                        }
                    })),
                }
                for half in halves {
                    match half {
                        // With trackers (inotify), an old half without one is a
                        // watched directory's own move, which its parent reports.
                        Half::From(path) if tracker.is_none() && self.trackers => {
                            if self.roots.iter().any(|r| r.path == path) {
                                self.removed(path, None, now);
                            }
                        }
                        half => self.renames.push(half, tracker, now, &mut self.stitched),
                    }
                }
            }
            EventKind::Create(kind) => {
                let is_dir = dir(kind == CreateKind::Folder, kind == CreateKind::File);
                for path in event.paths {
                    self.before_change(&path, now);
                    self.created(path, is_dir, now);
                }
            }
            EventKind::Remove(kind) => {
                let is_dir = dir(kind == RemoveKind::Folder, kind == RemoveKind::File);
                for path in event.paths {
                    self.before_change(&path, now);
                    self.removed(path, is_dir, now);
                }
            }
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime))
            | EventKind::Access(_)
            | EventKind::Other => {}
            EventKind::Modify(_) | EventKind::Any => {
                for path in event.paths {
                    self.before_change(&path, now);
                    if self.admits(&path, is_dir_now(&path)) {
                        self.debouncer.push(Change::Modified(path), now);
                    }
                }
            }
        }
        self.settle(now);
        self.check_roots(&paths, now);
    }

    /// Settles a pending move out of `path` before another change to it.
    fn before_change(&mut self, path: &Path, now: Instant) {
        self.renames.before_change(path, &mut self.stitched);
        self.settle(now);
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

    /// Filters the settled renames and feeds the debouncer; in pruned mode,
    /// follows directories appearing and disappearing.
    fn settle(&mut self, now: Instant) {
        for change in mem::take(&mut self.stitched) {
            match change {
                Stitched::MovedOut { path, at } => self.removed(path, None, at),
                Stitched::MovedIn { path } => self.created(path, None, now),
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

#[cfg(test)]
mod tests;
