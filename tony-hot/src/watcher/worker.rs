//! The watcher's thread and the state it feeds: `notify` events in, rename
//! halves paired (see the module docs of `watcher`), debounced events out.

use std::{
    any::Any,
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError, mpsc},
    time::{Duration, Instant},
};

use notify::{
    RecursiveMode,
    event::{CreateKind, EventKind, MetadataKind, ModifyKind, RemoveKind, RenameMode},
};

use super::{
    ChangeEvent, ChangeSink, Error,
    debounce::{Change, Debouncer},
    filter::Filter,
    roots::{Root, RootKind},
    watches::Watches,
};

/// How long the old half of a rename waits for its new half before it
/// counts as a move out of the watched tree. Both halves come from one
/// kernel read, so this only needs to cover thread scheduling.
pub(crate) const RENAME_GRACE: Duration = Duration::from_millis(50);

/// What the thread receives: an event from the backend, or `None` to stop.
pub(crate) type Msg = Option<notify::Result<notify::Event>>;

/// Runs the watcher's thread until told to stop (or until every sender is
/// gone): events into `state`, what is due out to `sink`, which is called
/// with `state` unlocked. Changes still inside their window are discarded.
pub(crate) fn run(state: &Mutex<State>, rx: &mpsc::Receiver<Msg>, mut sink: impl ChangeSink) {
    // No deadline: `Duration::MAX` overflows `Instant`, and std then waits
    // without one.
    let mut wait = Duration::MAX;
    loop {
        match rx.recv_timeout(wait) {
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(Some(Ok(event))) => lock(state).on_event(event, Instant::now()),
            Ok(Some(Err(error))) => {
                tracing::warn!(%error, paths = ?error.paths, "file watch error");
            }
        }
        let (due, next) = {
            let mut state = lock(state);
            (state.due(Instant::now()), state.next_deadline())
        };
        for event in due {
            tracing::debug!(kind = ?event.kind, paths = ?event.paths, "change");
            if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| sink.handle_event(event))) {
                let panic = panic_message(&*panic);
                tracing::error!(panic, "change sink panicked; the watcher goes on");
            }
        }
        wait = next.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
    }
    tracing::debug!("file watcher thread stopped");
}

/// Locks the state; a panic while it was held left it usable.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything behind the watcher: the backend, the roots and the pipeline.
/// The thread feeds it events; `watch_path` and `unwatch_path` change its
/// roots from the caller's thread.
#[derive(Debug)]
pub(crate) struct State {
    filter: Filter,
    pub(crate) roots: Vec<Root>,
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

impl State {
    pub(crate) fn new(
        filter: Filter,
        watches: Watches,
        debouncer: Debouncer,
        trackers: bool,
    ) -> Self {
        Self {
            filter,
            roots: Vec::new(),
            watches,
            debouncer,
            trackers,
            moving: None,
        }
    }

    /// When something is due next: a window closing, or an old rename
    /// half's grace ending.
    fn next_deadline(&self) -> Option<Instant> {
        let rename = self.moving.as_ref().map(|m| m.2 + RENAME_GRACE);
        self.debouncer
            .next_deadline()
            .into_iter()
            .chain(rename)
            .min()
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

    /// Watches `root`, unless a root at its path is watched already.
    pub(crate) fn watch(&mut self, root: Root) -> Result<(), Error> {
        if self.roots.iter().any(|r| r.path == root.path) {
            return Ok(());
        }
        self.roots.push(root.clone());
        let (roots, filter) = (&self.roots, &self.filter);
        let wanted = |d: &Path| roots.iter().any(|r| r.needs_dir(d, filter));
        if let Err(source) = self.watches.add_root(&root, &wanted, None) {
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
        Ok(())
    }

    /// Stops watching the root watched under one of `candidates`.
    pub(crate) fn unwatch(&mut self, given: &Path, candidates: &[PathBuf]) -> Result<(), Error> {
        let found = (self.roots.iter())
            .position(|r| candidates.iter().any(|c| *c == r.path || *c == r.given));
        let Some(index) = found else {
            return Err(Error::NotWatched {
                path: given.to_path_buf(),
            });
        };
        let root = self.roots.remove(index);
        self.watches.retain_for(&self.roots, &self.filter);
        tracing::debug!(root = %root.path.display(), "unwatched");
        Ok(())
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
        // notify sends `Both` (inotify) after the halves it pairs.
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        let atime = EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime));
        let skip = matches!(event.kind, EventKind::Access(_) | EventKind::Other);
        let is_dir = match event.kind {
            EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder) => {
                Some(true)
            }
            EventKind::Create(CreateKind::File) | EventKind::Remove(RemoveKind::File) => {
                Some(false)
            }
            _ => None,
        };
        let tracker = event.tracker();
        for path in event.paths.iter().cloned() {
            if skip || event.kind == both || event.kind == atime {
                break;
            }
            let EventKind::Modify(ModifyKind::Name(mode)) = event.kind else {
                self.settle_move(Some(&path));
                match event.kind {
                    EventKind::Create(_) => self.created(path, is_dir, now),
                    EventKind::Remove(_) => self.removed(path, is_dir, now),
                    _ if self.admits(&path, is_dir_now(&path)) => {
                        self.debouncer.push(Change::Modified(path), now);
                    }
                    _ => {}
                }
                continue;
            };
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
        self.report(found, false, now);
    }

    /// After events at `paths` (none: all): re-checks every root whose
    /// directory (or one of its ancestors), symlink or waiting place was
    /// among them.
    fn check_roots(&mut self, paths: &[PathBuf], now: Instant) {
        let mut changed = false;
        for i in 0..self.roots.len() {
            let root = &self.roots[i];
            let touched = paths.iter().any(|p| {
                let at = |o: &Option<PathBuf>| o.as_deref() == Some(p.as_path());
                root.anchor().starts_with(p) || at(&root.link) || at(&root.waiting)
            });
            if touched || paths.is_empty() {
                changed |= self.revisit(i, now);
            }
        }
        if changed {
            self.watches.retain_for(&self.roots, &self.filter);
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
            if let Err(error) = self.watches.watch(ancestor, RecursiveMode::NonRecursive)
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
        match self.watches.add_root(&root, &wanted, Some(&mut found)) {
            Ok(()) => tracing::info!(root = %root.path.display(), "watching again"),
            Err(error) => tracing::warn!(root = %root.path.display(), %error, "cannot watch again"),
        }
        self.report(found, root.kind == RootKind::File, now);
        true
    }

    /// Reports what a directory that appeared holds (or a file root back
    /// in place, as modified): no event announced it.
    fn report(&mut self, found: Vec<(PathBuf, bool)>, file: bool, now: Instant) {
        for (path, is_dir) in found {
            if self.admits(&path, is_dir) {
                let change = if file {
                    Change::Modified(path)
                } else {
                    Change::Created(path)
                };
                self.debouncer.push(change, now);
            }
        }
    }

    fn admits(&self, path: &Path, is_dir: bool) -> bool {
        self.roots
            .iter()
            .any(|r| r.admits(path, is_dir, &self.filter))
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
