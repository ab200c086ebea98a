//! The directories handed to the operating system's watch service.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use notify::{ErrorKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::{
    filter::Filter,
    roots::{Root, RootKind},
};

/// The `notify` watcher and the watches it holds for the roots.
///
/// With `pruned` (inotify, where recursion is emulated anyway), recursion is
/// done here: one non-recursive watch per directory, skipping ignored
/// subtrees, so a `target/` with thousands of directories costs nothing.
/// Elsewhere (FSEvents, Windows: natively recursive) a recursive root is one
/// recursive watch and ignored paths are filtered out of its events.
#[derive(Debug)]
pub(crate) struct Watches {
    watcher: RecommendedWatcher,
    pruned: bool,
    current: BTreeMap<PathBuf, RecursiveMode>,
}

impl Watches {
    pub(crate) fn new(watcher: RecommendedWatcher, pruned: bool) -> Self {
        Self {
            watcher,
            pruned,
            current: BTreeMap::new(),
        }
    }

    pub(crate) fn pruned(&self) -> bool {
        self.pruned
    }

    /// Adds the watches `root` needs. `wanted` tells which directories some
    /// root needs (for the walk of a pruned recursive root).
    pub(crate) fn add_root(
        &mut self,
        root: &Root,
        wanted: &dyn Fn(&Path) -> bool,
    ) -> notify::Result<()> {
        if let Some(waiting) = &root.waiting {
            return self.watch_dir(waiting);
        }
        match root.kind {
            RootKind::File => {
                let link_dir = root.link.as_deref().and_then(Path::parent);
                for dir in root.path.parent().into_iter().chain(link_dir) {
                    self.watch_dir(dir)?;
                }
                Ok(())
            }
            RootKind::Dir { recursive: false } => self
                .ensure(&root.path, RecursiveMode::NonRecursive)
                .map(drop),
            RootKind::Dir { recursive: true } if !self.pruned => {
                self.ensure(&root.path, RecursiveMode::Recursive).map(drop)
            }
            RootKind::Dir { recursive: true } => self.add_tree(&root.path, wanted, None),
        }
    }

    /// Watches `top` and every directory below it that is `wanted`
    /// (pruned mode). With `found`, collects every entry met below `top`,
    /// with whether it is a directory: the content of a directory that just
    /// appeared, which no event will announce.
    pub(crate) fn add_tree(
        &mut self,
        top: &Path,
        wanted: &dyn Fn(&Path) -> bool,
        mut found: Option<&mut Vec<(PathBuf, bool)>>,
    ) -> notify::Result<()> {
        let mut added = Vec::new();
        let mut stack = vec![top.to_path_buf()];
        while let Some(dir) = stack.pop() {
            // Watch first, then list: what appears in between is reported
            // by both, and the debouncer folds the two.
            match self.ensure(&dir, RecursiveMode::NonRecursive) {
                Ok(true) => added.push(dir.clone()),
                Ok(false) => {}
                Err(e) if dir == top || matches!(e.kind, ErrorKind::MaxFilesWatch) => {
                    self.rollback(added);
                    return Err(e);
                }
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "directory not watched");
                    continue;
                }
            }
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if dir == top => {
                    self.rollback(added);
                    return Err(notify::Error::io(e).add_path(dir));
                }
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "directory not listed");
                    continue;
                }
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && wanted(&path) {
                    stack.push(path.clone());
                }
                if let Some(found) = found.as_deref_mut() {
                    found.push((path, is_dir));
                }
            }
        }
        Ok(())
    }

    /// After a root was removed: drops the watches no remaining root needs,
    /// and restores those a removed recursive watch covered.
    pub(crate) fn retain_for(&mut self, roots: &[Root], filter: &Filter) {
        let pruned = self.pruned;
        let stale: Vec<PathBuf> = self
            .current
            .keys()
            .filter(|dir| {
                !roots.iter().any(|r| match r.kind {
                    RootKind::Dir { recursive: true } if !pruned => r.path == **dir,
                    _ => r.needs_dir(dir, filter),
                })
            })
            .cloned()
            .collect();
        for dir in stale {
            self.current.remove(&dir);
            match self.watcher.unwatch(&dir) {
                Ok(()) => {}
                Err(e) if matches!(e.kind, ErrorKind::WatchNotFound) => {}
                Err(e) => tracing::debug!(dir = %dir.display(), error = %e, "unwatch failed"),
            }
        }
        for root in roots {
            let walks = root.waiting.is_none()
                && pruned
                && matches!(root.kind, RootKind::Dir { recursive: true });
            if !walks && let Err(e) = self.add_root(root, &|_| false) {
                tracing::warn!(root = %root.path.display(), error = %e, "could not restore watch");
            }
        }
    }

    /// Forgets the watches at and below a directory that is gone (the
    /// backend dropped them itself).
    pub(crate) fn forget_below(&mut self, dir: &Path) {
        let gone: Vec<PathBuf> = self
            .current
            .range(dir.to_path_buf()..)
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for p in gone {
            self.current.remove(&p);
        }
    }

    /// Watches one directory on its own, unless already covered.
    pub(crate) fn watch_dir(&mut self, dir: &Path) -> notify::Result<()> {
        self.ensure(dir, RecursiveMode::NonRecursive).map(drop)
    }

    /// Drops the watches at and below a directory that is gone. inotify
    /// dropped them itself; a recursive backend watch is released here.
    pub(crate) fn release(&mut self, dir: &Path) {
        if !self.pruned && self.current.contains_key(dir) {
            let _ = self.watcher.unwatch(dir);
        }
        self.forget_below(dir);
    }

    /// Whether `dir` is watched (so was a directory).
    pub(crate) fn contains(&self, dir: &Path) -> bool {
        self.current.contains_key(dir)
    }

    /// Number of watched directories (recursive watches count once).
    pub(crate) fn len(&self) -> usize {
        self.current.len()
    }

    fn covered(&self, path: &Path, mode: RecursiveMode) -> bool {
        match self.current.get(path) {
            Some(RecursiveMode::Recursive) => return true,
            Some(RecursiveMode::NonRecursive) if mode == RecursiveMode::NonRecursive => {
                return true;
            }
            _ => {}
        }
        path.ancestors()
            .skip(1)
            .any(|a| self.current.get(a) == Some(&RecursiveMode::Recursive))
    }

    /// Watches `path` unless already covered; `true` if a watch was added.
    fn ensure(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<bool> {
        if self.covered(path, mode) {
            return Ok(false);
        }
        self.watcher.watch(path, mode)?;
        self.current.insert(path.to_path_buf(), mode);
        Ok(true)
    }

    fn rollback(&mut self, added: Vec<PathBuf>) {
        for dir in added {
            self.current.remove(&dir);
            let _ = self.watcher.unwatch(&dir);
        }
    }
}
