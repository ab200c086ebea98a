//! The directories handed to `notify`.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use notify::{
    ErrorKind, RecommendedWatcher,
    RecursiveMode::{self, NonRecursive, Recursive},
    Watcher,
};

use super::{
    filter::Filter,
    roots::{Root, RootKind},
};

/// The `notify` watcher and what it watches (notify offers no way to ask).
/// With `pruned` (inotify) recursion is done here, one non-recursive watch
/// per directory; elsewhere a recursive root is one recursive watch (see
/// the module docs of `watcher` for why).
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

    /// Adds the watches `root` needs; `wanted` tells which directories some
    /// root needs (for the walk of a pruned recursive root). With `found`,
    /// collects what the root holds (see [`add_tree`](Self::add_tree)).
    pub(crate) fn add_root(
        &mut self,
        root: &Root,
        wanted: &dyn Fn(&Path) -> bool,
        found: Option<&mut Vec<(PathBuf, bool)>>,
    ) -> notify::Result<()> {
        if let Some(waiting) = &root.waiting {
            return self.watch(waiting, NonRecursive);
        }
        match root.kind {
            RootKind::Dir { recursive: true } if self.pruned => {
                return self.add_tree(&root.path, wanted, found);
            }
            RootKind::Dir { recursive } => {
                self.watch(&root.path, if recursive { Recursive } else { NonRecursive })?;
                if let Some(found) = found {
                    let entries = fs::read_dir(&root.path).into_iter().flatten().flatten();
                    found.extend(
                        entries.map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir()))),
                    );
                }
            }
            RootKind::File => {
                let link_dir = root.link.as_deref().and_then(Path::parent);
                for dir in root.path.parent().into_iter().chain(link_dir) {
                    self.watch(dir, NonRecursive)?;
                }
                if let Some(found) = found
                    && root.path.exists()
                {
                    found.push((root.path.clone(), false));
                }
            }
        }
        Ok(())
    }

    /// Watches `top` and every `wanted` directory below it (pruned mode).
    /// With `found`, collects every entry met below `top`, with whether it
    /// is a directory: the content of a directory that just appeared, which
    /// no event will announce. A failure below `top` is skipped, unless the
    /// watch limit is reached.
    pub(crate) fn add_tree(
        &mut self,
        top: &Path,
        wanted: &dyn Fn(&Path) -> bool,
        mut found: Option<&mut Vec<(PathBuf, bool)>>,
    ) -> notify::Result<()> {
        let mut stack = vec![top.to_path_buf()];
        while let Some(dir) = stack.pop() {
            // Watch first, then list: what appears in between is reported
            // by both, and the debouncer folds the two.
            let listed = self.watch(&dir, NonRecursive).and_then(|()| {
                fs::read_dir(&dir).map_err(|e| notify::Error::io(e).add_path(dir.clone()))
            });
            let entries = match listed {
                Ok(entries) => entries,
                Err(e) if dir == top || matches!(e.kind, ErrorKind::MaxFilesWatch) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "directory not watched");
                    continue;
                }
            };
            for entry in entries.flatten() {
                let (path, is_dir) = (entry.path(), entry.file_type().is_ok_and(|t| t.is_dir()));
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

    /// After the roots changed: drops the watches no root needs any more,
    /// and restores those a dropped recursive watch covered.
    pub(crate) fn retain_for(&mut self, roots: &[Root], filter: &Filter) {
        let pruned = self.pruned;
        let needed = |dir: &Path| {
            roots.iter().any(|r| match r.kind {
                RootKind::Dir { recursive: true } if !pruned && r.waiting.is_none() => {
                    r.path == dir
                }
                _ => r.needs_dir(dir, filter),
            })
        };
        let watcher = &mut self.watcher;
        self.current.retain(|dir, _| {
            needed(dir) || {
                if let Err(e) = watcher.unwatch(dir)
                    && !matches!(e.kind, ErrorKind::WatchNotFound)
                {
                    tracing::debug!(dir = %dir.display(), error = %e, "unwatch failed");
                }
                false
            }
        });
        for root in roots {
            let walked = pruned
                && root.waiting.is_none()
                && root.kind == (RootKind::Dir { recursive: true });
            if !walked && let Err(e) = self.add_root(root, &|_| false, None) {
                tracing::warn!(root = %root.path.display(), error = %e, "could not restore watch");
            }
        }
    }

    /// Forgets the watches at and below a directory that is gone; inotify
    /// dropped them itself, a recursive backend watch is released here.
    pub(crate) fn forget_below(&mut self, dir: &Path) {
        if !self.pruned && self.current.contains_key(dir) {
            let _ = self.watcher.unwatch(dir);
        }
        self.current.retain(|p, _| !p.starts_with(dir));
    }

    /// Whether `dir` is watched (so was a directory).
    pub(crate) fn contains(&self, dir: &Path) -> bool {
        self.current.contains_key(dir)
    }

    /// Watches `dir` unless a watch already covers it.
    pub(crate) fn watch(&mut self, dir: &Path, mode: RecursiveMode) -> notify::Result<()> {
        let covered = self
            .current
            .get(dir)
            .is_some_and(|m| *m == Recursive || mode == NonRecursive)
            || dir
                .ancestors()
                .skip(1)
                .any(|a| self.current.get(a) == Some(&Recursive));
        if !covered {
            self.watcher.watch(dir, mode)?;
            self.current.insert(dir.to_path_buf(), mode);
        }
        Ok(())
    }
}
