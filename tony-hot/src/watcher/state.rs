//! What is watched, and what a batch of debounced paths means: the roots,
//! the directories handed to notify, and the last seen state of each file.

use std::{
    collections::{BTreeMap, HashMap},
    fs,
    path::{Path, PathBuf},
    time::SystemTime,
};

use notify::RecursiveMode;
use notify_debouncer_mini::Debouncer;

use super::{Change, WatchState, backend, filter::Filter};

/// A path Tony watches.
#[derive(Debug)]
pub(crate) struct Root {
    /// A source directory (canonical), or the configuration file (absolute,
    /// as given: it may be a symlink).
    pub(crate) path: PathBuf,
    kind: Kind,
    /// While the directory the root rests on is gone: its nearest existing
    /// ancestor, watched instead until it is back.
    waiting: Option<PathBuf>,
}

#[derive(Debug, PartialEq)]
enum Kind {
    Source,
    /// The configuration file, reported whatever the filters say, and its
    /// canonical target, whose directory is watched too (a symlink is
    /// followed, and noticed when re-pointed).
    Config {
        target: Option<PathBuf>,
    },
}

impl Root {
    pub(crate) fn source(path: PathBuf) -> Self {
        Self {
            path,
            kind: Kind::Source,
            waiting: None,
        }
    }

    pub(crate) fn config(path: PathBuf) -> Self {
        Self {
            path,
            kind: Kind::Config { target: None },
            waiting: None,
        }
    }

    pub(crate) fn state(&self) -> WatchState {
        match &self.waiting {
            Some(ancestor) => WatchState::Waiting {
                ancestor: ancestor.clone(),
            },
            None => WatchState::Watched,
        }
    }

    /// The directory the root's own watch rests on.
    fn anchor(&self) -> &Path {
        match self.kind {
            Kind::Source => &self.path,
            Kind::Config { .. } => self.path.parent().unwrap_or(&self.path),
        }
    }
}

/// What a file looked like when last seen: a save, however an editor does
/// it, changes it; a read does not. `None`: no regular file there (gone, a
/// directory, a FIFO or a device: never opened).
type Fingerprint = Option<(u64, Option<SystemTime>, u64)>;

fn fingerprint(path: &Path) -> Fingerprint {
    let meta = fs::metadata(path).ok().filter(fs::Metadata::is_file)?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok(), inode))
}

/// A directory's identity: a directory deleted and re-created at the same
/// path is another one, whose watch is gone with the old one.
fn dir_id(path: &Path) -> Option<u64> {
    let meta = fs::symlink_metadata(path)
        .ok()
        .filter(fs::Metadata::is_dir)?;
    #[cfg(unix)]
    return Some(std::os::unix::fs::MetadataExt::ino(&meta));
    #[cfg(not(unix))]
    Some(0)
}

/// Everything behind the watcher, shared by its thread and `status()`.
pub(crate) struct State {
    debouncer: Debouncer<backend::NoReads>,
    filter: Filter,
    recursive: bool,
    pub(crate) roots: Vec<Root>,
    /// The directories notify watches (one non-recursive watch each), with
    /// their identity.
    pub(crate) dirs: BTreeMap<PathBuf, Option<u64>>,
    /// Each file reported or met by a walk, as last seen.
    seen: HashMap<PathBuf, Fingerprint>,
}

impl State {
    pub(crate) fn new(
        debouncer: Debouncer<backend::NoReads>,
        filter: Filter,
        recursive: bool,
    ) -> Self {
        Self {
            debouncer,
            filter,
            recursive,
            roots: Vec::new(),
            dirs: BTreeMap::new(),
            seen: HashMap::new(),
        }
    }

    /// Starts watching `root`, recording what its files look like now.
    pub(crate) fn add(&mut self, root: Root) -> notify::Result<()> {
        self.roots.push(root);
        let i = self.roots.len() - 1;
        let mut ignored = Vec::new();
        let anchor = self.roots[i].anchor().to_path_buf();
        if anchor.is_dir() {
            let result = match self.roots[i].kind {
                Kind::Source => self.walk(&anchor, None),
                Kind::Config { .. } => self.watch(&anchor),
            };
            if let Err(error) = result {
                self.roots.pop();
                return Err(error);
            }
        }
        let path = self.roots[i].path.clone();
        self.revisit(i, &[path], &mut ignored);
        Ok(())
    }

    /// What one debounced batch of paths means: the changes to report.
    pub(crate) fn on_paths(&mut self, paths: &[PathBuf]) -> Vec<Change> {
        let mut out = Vec::new();
        // A watched directory replaced (`git checkout`, `rm -r` then
        // `mkdir`): its watch went with the old one.
        for path in paths {
            if let Some(id) = self.dirs.get(path)
                && dir_id(path) != *id
            {
                self.forget_below(path);
            }
        }
        for i in 0..self.roots.len() {
            self.revisit(i, paths, &mut out);
        }
        for path in paths {
            if dir_id(path).is_some() {
                // A new directory: what it already holds came with no event.
                if !self.dirs.contains_key(path)
                    && self.needs(path)
                    && let Err(error) = self.walk(path, Some(&mut out))
                {
                    tracing::warn!(dir = %path.display(), %error, "new directory not watched");
                }
            } else if self.admits(path) {
                self.check(path, &mut out);
            }
        }
        self.retain_needed();
        out
    }

    /// Whether a source root that is watched right now reports `file`.
    pub(crate) fn admits(&self, file: &Path) -> bool {
        self.roots.iter().any(|root| {
            let under = match (&root.kind, &root.waiting, file.strip_prefix(&root.path)) {
                (Kind::Source, None, Ok(rel)) => rel,
                _ => return false,
            };
            (self.recursive || under.components().count() == 1)
                && !self.filter.ignores(under, file, false)
                && self.filter.allows(file)
        })
    }

    /// Reports `file` if it changed since last seen.
    fn check(&mut self, file: &Path, out: &mut Vec<Change>) {
        let now = fingerprint(file);
        let before = self.seen.insert(file.to_path_buf(), now);
        if before.flatten() != now {
            out.push(Change::Source(file.to_path_buf()));
        }
    }

    /// Brings root `i` in line with the file system after events at
    /// `paths`: waiting while its directory is gone, walked again once
    /// back; a configuration file followed to its current target, and
    /// reported when it changed.
    fn revisit(&mut self, i: usize, paths: &[PathBuf], out: &mut Vec<Change>) {
        let anchor = self.roots[i].anchor().to_path_buf();
        let mut back = false;
        if !anchor.is_dir() {
            let Some(ancestor) = anchor.ancestors().skip(1).find(|a| a.is_dir()) else {
                return;
            };
            if self.roots[i].waiting.as_deref() != Some(ancestor) {
                tracing::warn!(root = %self.roots[i].path.display(), ancestor = %ancestor.display(),
                    "watched directory is gone; waiting for it to reappear");
                let ancestor = ancestor.to_path_buf();
                self.forget_below(&anchor);
                if let Err(error) = self.watch(&ancestor) {
                    tracing::warn!(dir = %ancestor.display(), %error, "cannot watch while waiting");
                }
                self.roots[i].waiting = Some(ancestor);
            }
        } else if self.roots[i].waiting.is_some() || !self.dirs.contains_key(&anchor) {
            self.roots[i].waiting = None;
            back = true;
            let walked = match self.roots[i].kind {
                Kind::Source => self.walk(&anchor, Some(out)),
                Kind::Config { .. } => self.watch(&anchor),
            };
            match walked {
                Ok(()) => tracing::info!(root = %anchor.display(), "watching again"),
                Err(error) => {
                    tracing::warn!(root = %anchor.display(), %error, "cannot watch again")
                }
            }
        }
        let root = &mut self.roots[i];
        let Kind::Config { target } = &mut root.kind else {
            return;
        };
        let now = fs::canonicalize(&root.path).ok();
        let repointed = now != *target;
        // Only events at the file, its target or a directory above them
        // say anything about it: at any other time a save may be half-done.
        let touched = paths.iter().any(|p| {
            root.path.starts_with(p) || target.as_deref().is_some_and(|t| t.starts_with(p))
        });
        if repointed {
            *target = now.clone();
            if let Some(dir) = now.as_deref().and_then(Path::parent) {
                tracing::info!(file = %root.path.display(), dir = %dir.display(), "following the configuration file");
                let dir = dir.to_path_buf();
                if let Err(error) = self.watch(&dir) {
                    tracing::warn!(dir = %dir.display(), %error, "cannot follow the configuration file");
                }
            }
        }
        let path = self.roots[i].path.clone();
        if back || repointed || touched {
            let now = fingerprint(&path);
            if self.seen.insert(path, now).flatten() != now {
                out.push(Change::Config);
            }
        }
    }

    /// Watches `top` and every directory below it that a root needs,
    /// skipping ignored trees; with `report`, reports the files found that
    /// changed since last seen, else only records them. Fails only when
    /// `top` itself cannot be watched.
    fn walk(&mut self, top: &Path, mut report: Option<&mut Vec<Change>>) -> notify::Result<()> {
        let mut stack = vec![top.to_path_buf()];
        while let Some(dir) = stack.pop() {
            // Watch first, then list: what appears in between is seen by
            // both, and the fingerprint tells it once.
            let listed = self
                .watch(&dir)
                .and_then(|()| fs::read_dir(&dir).map_err(notify::Error::io));
            let entries = match listed {
                Ok(entries) => entries,
                Err(error) if dir == top => return Err(error),
                Err(error) => {
                    tracing::debug!(dir = %dir.display(), %error, "directory not watched");
                    continue;
                }
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    if self.needs(&path) {
                        stack.push(path);
                    }
                } else if self.admits(&path) {
                    match report.as_deref_mut() {
                        Some(out) => self.check(&path, out),
                        None => {
                            self.seen.insert(path.clone(), fingerprint(&path));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether some root needs `dir` watched.
    fn needs(&self, dir: &Path) -> bool {
        self.roots
            .iter()
            .any(|root| match (&root.kind, &root.waiting) {
                (_, Some(ancestor)) => ancestor == dir,
                (Kind::Source, None) => dir.strip_prefix(&root.path).is_ok_and(|rel| {
                    rel.as_os_str().is_empty()
                        || (self.recursive && !self.filter.ignores(rel, dir, true))
                }),
                (Kind::Config { target }, None) => {
                    root.anchor() == dir || target.as_deref().and_then(Path::parent) == Some(dir)
                }
            })
    }

    fn watch(&mut self, dir: &Path) -> notify::Result<()> {
        if !self.dirs.contains_key(dir) {
            self.debouncer
                .watcher()
                .watch(dir, RecursiveMode::NonRecursive)?;
            self.dirs.insert(dir.to_path_buf(), dir_id(dir));
        }
        Ok(())
    }

    /// Forgets the watches at and below a directory that is gone or
    /// replaced (notify may already have dropped them: errors are moot).
    fn forget_below(&mut self, dir: &Path) {
        let gone: Vec<PathBuf> = (self.dirs.keys())
            .filter(|d| d.starts_with(dir))
            .cloned()
            .collect();
        for d in gone {
            let _ = self.debouncer.watcher().unwatch(&d);
            self.dirs.remove(&d);
        }
    }

    /// Drops the watches no root needs any more (a waiting place, a former
    /// symlink target).
    fn retain_needed(&mut self) {
        let unneeded: Vec<PathBuf> = (self.dirs.keys())
            .filter(|d| !self.needs(d))
            .cloned()
            .collect();
        for d in unneeded {
            let _ = self.debouncer.watcher().unwatch(&d);
            self.dirs.remove(&d);
        }
    }
}
