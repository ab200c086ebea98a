//! `FileWatcher` on real temporary directories. Every wait has a deadline
//! (`recv_timeout`); "nothing more" is checked by waiting a few further
//! debounce windows.
#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
    sync::mpsc::{self, Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};

use tempfile::TempDir;
use tony_hot::{ChangeEvent, ChangeKind, FileWatcher, WatchError, WatchState, WatcherConfig};

const DEBOUNCE: Duration = Duration::from_millis(50);
/// Deadline for an event that must come.
const WAIT: Duration = Duration::from_secs(5);
/// How long to listen for events that must not come.
const QUIET: Duration = Duration::from_millis(250);

struct Fixture {
    watcher: FileWatcher,
    rx: Receiver<ChangeEvent>,
    /// Canonical path of the temporary directory.
    root: PathBuf,
    _dir: TempDir,
}

impl Fixture {
    /// A temporary directory laid out by `setup` (before watching), watched
    /// with `config`.
    fn new(config: WatcherConfig, setup: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        setup(&root);
        let (tx, rx) = mpsc::channel();
        let watcher = FileWatcher::new(config, tx).unwrap();
        watcher.watch_path(&root).unwrap();
        Self {
            watcher,
            rx,
            root,
            _dir: dir,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, contents: &str) {
        fs::write(self.path(rel), contents).unwrap();
    }

    /// The next event; fails after [`WAIT`].
    fn next(&self) -> ChangeEvent {
        self.rx
            .recv_timeout(WAIT)
            .expect("an event within the deadline")
    }

    /// The next `n` events, in any order.
    fn next_n(&self, n: usize) -> BTreeSet<(String, PathBuf)> {
        (0..n).map(|_| key(&self.next())).collect()
    }

    /// Fails if an event arrives within [`QUIET`].
    fn assert_quiet(&self) {
        match self.rx.recv_timeout(QUIET) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(event) => panic!("unexpected event {event:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("watcher thread gone"),
        }
    }
}

fn config() -> WatcherConfig {
    WatcherConfig::default().with_debounce(DEBOUNCE)
}

fn event(kind: ChangeKind, path: PathBuf) -> ChangeEvent {
    ChangeEvent {
        kind,
        paths: vec![path],
    }
}

fn key(e: &ChangeEvent) -> (String, PathBuf) {
    let kind = match &e.kind {
        ChangeKind::Renamed { .. } => "Renamed".to_owned(),
        other => format!("{other:?}"),
    };
    (kind, e.path().unwrap().to_path_buf())
}

fn created(paths: &[&PathBuf]) -> BTreeSet<(String, PathBuf)> {
    paths
        .iter()
        .map(|p| ("Created".to_owned(), (*p).clone()))
        .collect()
}

#[test]
fn create_modify_remove() {
    let f = Fixture::new(config(), |_| {});
    f.write("a.rs", "1");
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("a.rs")));
    f.write("a.rs", "2");
    assert_eq!(f.next(), event(ChangeKind::Modified, f.path("a.rs")));
    fs::remove_file(f.path("a.rs")).unwrap();
    assert_eq!(f.next(), event(ChangeKind::Removed, f.path("a.rs")));
    f.assert_quiet();
}

#[test]
fn rename_inside_the_tree_is_one_event() {
    let f = Fixture::new(config(), |root| fs::write(root.join("a.rs"), "1").unwrap());
    fs::rename(f.path("a.rs"), f.path("b.rs")).unwrap();
    let (from, to) = (f.path("a.rs"), f.path("b.rs"));
    assert_eq!(
        f.next(),
        ChangeEvent {
            kind: ChangeKind::Renamed {
                from: from.clone(),
                to: to.clone()
            },
            paths: vec![from, to]
        }
    );
    f.assert_quiet();
}

#[test]
fn an_editor_save_through_a_backup_is_one_modification() {
    // vim's `backupcopy=no`: rename the file to a backup, write it anew,
    // remove the backup.
    let f = Fixture::new(config(), |root| fs::write(root.join("a.rs"), "1").unwrap());
    fs::rename(f.path("a.rs"), f.path("a.rs~")).unwrap();
    f.write("a.rs", "2");
    fs::remove_file(f.path("a.rs~")).unwrap();
    assert_eq!(f.next(), event(ChangeKind::Modified, f.path("a.rs")));
    f.assert_quiet();
}

#[test]
fn moves_out_and_in_are_removed_and_created() {
    let outside = tempfile::tempdir().unwrap();
    let f = Fixture::new(config(), |root| fs::write(root.join("a.rs"), "1").unwrap());
    let away = outside.path().join("a.rs");
    fs::rename(f.path("a.rs"), &away).unwrap();
    assert_eq!(f.next(), event(ChangeKind::Removed, f.path("a.rs")));
    fs::rename(&away, f.path("back.rs")).unwrap();
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("back.rs")));
    f.assert_quiet();
}

#[test]
fn a_renamed_directory_keeps_being_watched() {
    let f = Fixture::new(config(), |root| {
        fs::create_dir_all(root.join("old/deep")).unwrap();
        fs::write(root.join("old/deep/x.rs"), "1").unwrap();
    });
    fs::rename(f.path("old"), f.path("new")).unwrap();
    assert_eq!(
        f.next().kind,
        ChangeKind::Renamed {
            from: f.path("old"),
            to: f.path("new")
        }
    );
    f.write("new/deep/x.rs", "2");
    assert_eq!(
        f.next(),
        event(ChangeKind::Modified, f.path("new/deep/x.rs"))
    );
    f.assert_quiet();
}

#[test]
fn extension_filter_applies_to_files() {
    let f = Fixture::new(config().with_extensions(["rs", ".toml"]), |_| {});
    f.write("notes.md", "no");
    f.write("Makefile", "no");
    f.write("lib.rs", "yes");
    f.write("Cargo.toml", "yes");
    assert_eq!(
        f.next_n(2),
        created(&[&f.path("lib.rs"), &f.path("Cargo.toml")])
    );
    // Directories are not subject to it.
    fs::create_dir(f.path("sub")).unwrap();
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("sub")));
    f.write("sub/x.txt", "no");
    f.write("sub/y.rs", "yes");
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("sub/y.rs")));
    f.assert_quiet();
}

#[test]
fn default_ignores_skip_target_and_git_at_any_depth() {
    let f = Fixture::new(config(), |root| {
        for dir in [
            "target/debug",
            ".git/refs",
            "crates/a/target/debug",
            "crates/a/.git",
            "src",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
    });
    f.write("target/debug/out.rs", "x");
    f.write(".git/HEAD", "x");
    f.write("crates/a/target/debug/out.rs", "x");
    f.write("crates/a/.git/config", "x");
    // A `target` directory appearing later is ignored, with its content.
    fs::create_dir_all(f.path("crates/b/target/release")).unwrap();
    f.write("crates/b/target/release/lib.rs", "x");
    f.write("src/lib.rs", "x");
    // `crates/b` is new and not ignored; everything under a `target` is.
    assert_eq!(
        f.next_n(2),
        created(&[&f.path("crates/b"), &f.path("src/lib.rs")])
    );
    f.assert_quiet();
}

#[test]
fn user_ignore_patterns_relative_and_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    for sub in ["generated", "abs", "src"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    let config = config()
        .with_ignore("generated")
        .with_ignore("**/*.bak")
        .with_ignore(format!("{}/abs/**", root.display()));
    let watcher = FileWatcher::new(config, tx).unwrap();
    watcher.watch_path(&root).unwrap();
    for rel in ["generated/x.rs", "src/old.bak", "abs/y.rs", "src/lib.rs"] {
        fs::write(root.join(rel), "x").unwrap();
    }
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        event(ChangeKind::Created, root.join("src/lib.rs"))
    );
    assert!(matches!(
        rx.recv_timeout(QUIET),
        Err(RecvTimeoutError::Timeout)
    ));
}

#[test]
fn recursive_off_watches_one_level() {
    let f = Fixture::new(config().with_recursive(false), |root| {
        fs::create_dir(root.join("sub")).unwrap();
    });
    f.write("sub/deep.rs", "x");
    f.write("top.rs", "x");
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("top.rs")));
    fs::create_dir(f.path("new")).unwrap();
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("new")));
    f.write("new/deep.rs", "x");
    f.assert_quiet();
}

#[test]
fn recursive_on_follows_new_directories() {
    let f = Fixture::new(config(), |root| fs::create_dir(root.join("sub")).unwrap());
    f.write("sub/deep.rs", "x");
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("sub/deep.rs")));
    // A tree created in one go: its content is reported even if it was
    // written before the new directories could be watched.
    fs::create_dir_all(f.path("new/a/b")).unwrap();
    f.write("new/a/b/x.rs", "x");
    assert_eq!(
        f.next_n(4),
        created(&[
            &f.path("new"),
            &f.path("new/a"),
            &f.path("new/a/b"),
            &f.path("new/a/b/x.rs")
        ])
    );
    f.write("new/a/b/x.rs", "y");
    assert_eq!(
        f.next(),
        event(ChangeKind::Modified, f.path("new/a/b/x.rs"))
    );
    f.assert_quiet();
}

#[test]
fn a_single_file_is_watched_even_when_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    let file = root.join("plugins.toml");
    fs::write(&file, "a = 1").unwrap();
    let (tx, rx) = mpsc::channel();
    // The extension filter does not apply to a file watched by name.
    let watcher = FileWatcher::new(config().with_extensions(["rs"]), tx).unwrap();
    watcher.watch_path(&file).unwrap();
    assert_eq!(watcher.watched_paths(), std::slice::from_ref(&file));

    fs::write(root.join("sibling.rs"), "x").unwrap();
    fs::write(&file, "a = 2").unwrap();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        event(ChangeKind::Modified, file.clone())
    );

    // Saved the way many editors do: write a temporary file, rename it over.
    fs::write(root.join("plugins.toml.tmp"), "a = 3").unwrap();
    fs::rename(root.join("plugins.toml.tmp"), &file).unwrap();
    let replaced = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(replaced.paths, std::slice::from_ref(&file));
    fs::write(&file, "a = 4").unwrap();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        event(ChangeKind::Modified, file.clone())
    );
    assert!(matches!(
        rx.recv_timeout(QUIET),
        Err(RecvTimeoutError::Timeout)
    ));
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = mpsc::channel();
    let watcher = FileWatcher::new(config(), tx).unwrap();
    let missing = dir.path().join("no/such/plugin.rs");
    let err = watcher.watch_path(&missing).unwrap_err();
    assert!(
        matches!(&err, WatchError::NotFound { path } if *path == missing),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );
    assert!(watcher.watched_paths().is_empty());
    let err = watcher.unwatch_path(&missing).unwrap_err();
    assert!(
        matches!(&err, WatchError::NotWatched { path } if *path == missing),
        "{err:?}"
    );
}

#[test]
fn a_burst_of_writes_is_one_event() {
    let window = Duration::from_millis(100);
    let f = Fixture::new(config().with_debounce(window), |root| {
        fs::write(root.join("hot.rs"), "0").unwrap();
    });
    let started = Instant::now();
    for i in 0..50 {
        f.write("hot.rs", &i.to_string());
    }
    let burst = started.elapsed();
    let first = f.next();
    let latency = started.elapsed();
    assert_eq!(first, event(ChangeKind::Modified, f.path("hot.rs")));
    assert!(
        latency >= window,
        "emitted after {latency:?}, before the window closed"
    );
    // Nothing more for that file: wait further windows for stragglers.
    match f.rx.recv_timeout(window * 3) {
        Err(RecvTimeoutError::Timeout) => {}
        other => panic!("extra event after a {burst:?} burst: {other:?}"),
    }
}

#[test]
fn dropping_the_watcher_stops_its_thread() {
    let f = Fixture::new(config(), |_| {});
    f.write("a.rs", "1");
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("a.rs")));
    let Fixture {
        watcher,
        rx,
        _dir: dir,
        ..
    } = f;
    drop(watcher);
    // The thread owned the only sender: once `drop` has returned the
    // receiver must see the disconnection at once, not time out.
    match rx.recv_timeout(Duration::ZERO) {
        Err(RecvTimeoutError::Disconnected) => {}
        other => panic!("thread still running: {other:?}"),
    }
    drop(dir);
}

#[test]
fn a_panicking_sink_does_not_stop_the_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    let (tx, rx) = mpsc::channel();
    let mut seen = 0;
    let sink = move |event: ChangeEvent| {
        seen += 1;
        if seen == 1 {
            panic!("sink fails on {event:?}");
        }
        let _ = tx.send(event);
    };
    let watcher = FileWatcher::new(config(), sink).unwrap();
    watcher.watch_path(&root).unwrap();
    fs::write(root.join("first.rs"), "x").unwrap();
    // Wait until the first event has been delivered (and panicked) before
    // making the second change: retry the second write until it shows up.
    let deadline = Instant::now() + WAIT;
    loop {
        fs::write(root.join("second.rs"), "x").unwrap();
        match rx.recv_timeout(Duration::from_millis(300)) {
            Ok(event) => {
                assert_eq!(event.path(), Some(root.join("second.rs").as_path()));
                break;
            }
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            other => panic!("watcher stopped after the panic: {other:?}"),
        }
    }
}

#[test]
fn unwatch_stops_events_and_keeps_overlapping_roots() {
    let f = Fixture::new(config(), |root| fs::create_dir(root.join("src")).unwrap());
    f.watcher.watch_path(f.path("src")).unwrap();
    f.watcher.watch_path(f.path("src")).unwrap();
    assert_eq!(f.watcher.watched_paths(), [f.root.clone(), f.path("src")]);
    // Watched twice over, reported once.
    f.write("src/a.rs", "1");
    assert_eq!(f.next(), event(ChangeKind::Created, f.path("src/a.rs")));
    f.assert_quiet();

    f.watcher.unwatch_path(&f.root).unwrap();
    assert_eq!(f.watcher.watched_paths(), [f.path("src")]);
    f.write("top.rs", "1");
    f.write("src/a.rs", "2");
    assert_eq!(f.next(), event(ChangeKind::Modified, f.path("src/a.rs")));
    f.assert_quiet();

    f.watcher.unwatch_path(f.path("src")).unwrap();
    f.write("src/a.rs", "3");
    f.assert_quiet();
}

#[test]
fn removing_a_tree_reports_each_path() {
    let f = Fixture::new(config(), |root| {
        fs::create_dir_all(root.join("sub/deep")).unwrap();
        fs::write(root.join("sub/deep/x.rs"), "x").unwrap();
        fs::write(root.join("sub/y.rs"), "y").unwrap();
    });
    fs::remove_dir_all(f.path("sub")).unwrap();
    let removed: BTreeSet<_> = ["sub", "sub/deep", "sub/deep/x.rs", "sub/y.rs"]
        .iter()
        .map(|p| ("Removed".to_owned(), f.path(p)))
        .collect();
    assert_eq!(f.next_n(4), removed);
    f.assert_quiet();
}

/// Waits (polling, with a deadline) until `ready` holds.
fn eventually(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Receives events until one concerns `path`; fails after [`WAIT`].
fn event_for(rx: &Receiver<ChangeEvent>, path: &Path) -> ChangeEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(event) if event.concerns(path) => return event,
            Ok(_) => {}
            Err(e) => panic!("no event for {}: {e}", path.display()),
        }
    }
}

#[test]
fn a_deleted_and_recreated_root_is_watched_again() {
    // `git checkout` / `git stash` delete and re-create directories.
    let dir = tempfile::tempdir().unwrap();
    let top = fs::canonicalize(dir.path()).unwrap();
    let root = top.join("src");
    fs::create_dir(&root).unwrap();
    let (tx, rx) = mpsc::channel();
    let watcher = FileWatcher::new(config(), tx).unwrap();
    watcher.watch_path(&root).unwrap();

    fs::remove_dir_all(&root).unwrap();
    let waiting = WatchState::Waiting {
        ancestor: top.clone(),
    };
    eventually("the root to wait", || {
        watcher.watch_states().get(&root) == Some(&waiting)
    });
    assert_eq!(
        watcher.watched_paths(),
        std::slice::from_ref(&root),
        "still listed"
    );

    // Re-created with content written at once: the content is reported.
    fs::create_dir(&root).unwrap();
    fs::write(root.join("lib.rs"), "1").unwrap();
    event_for(&rx, &root.join("lib.rs"));
    eventually("the root to be watched", || {
        watcher.watch_states().get(&root) == Some(&WatchState::Watched)
    });
    fs::write(root.join("lib.rs"), "2").unwrap();
    assert_eq!(
        event_for(&rx, &root.join("lib.rs")),
        event(ChangeKind::Modified, root.join("lib.rs"))
    );

    // Gone two levels deep, back level by level.
    fs::create_dir_all(top.join("a/b")).unwrap();
    let deep = top.join("a/b");
    watcher.watch_path(&deep).unwrap();
    fs::remove_dir_all(top.join("a")).unwrap();
    eventually("the deep root to wait", || {
        watcher.watch_states().get(&deep) == Some(&waiting)
    });
    fs::create_dir(top.join("a")).unwrap();
    fs::create_dir(&deep).unwrap();
    eventually("the deep root to be watched", || {
        watcher.watch_states().get(&deep) == Some(&WatchState::Watched)
    });
    fs::write(deep.join("x.rs"), "1").unwrap();
    event_for(&rx, &deep.join("x.rs"));
}

#[test]
fn a_file_whose_directory_is_recreated_is_watched_again() {
    let dir = tempfile::tempdir().unwrap();
    let top = fs::canonicalize(dir.path()).unwrap();
    let file = top.join("conf/plugins.toml");
    fs::create_dir(top.join("conf")).unwrap();
    fs::write(&file, "a = 1").unwrap();
    let (tx, rx) = mpsc::channel();
    let watcher = FileWatcher::new(config(), tx).unwrap();
    watcher.watch_path(&file).unwrap();

    fs::remove_dir_all(top.join("conf")).unwrap();
    eventually("the file to wait", || {
        matches!(
            watcher.watch_states().get(&file),
            Some(WatchState::Waiting { .. })
        )
    });
    fs::create_dir(top.join("conf")).unwrap();
    fs::write(&file, "a = 2").unwrap();
    event_for(&rx, &file);
    eventually("the file to be watched", || {
        watcher.watch_states().get(&file) == Some(&WatchState::Watched)
    });
    fs::write(&file, "a = 3").unwrap();
    assert_eq!(
        event_for(&rx, &file),
        event(ChangeKind::Modified, file.clone())
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_is_followed_to_its_target_and_when_re_pointed() {
    let dir = tempfile::tempdir().unwrap();
    let top = fs::canonicalize(dir.path()).unwrap();
    for sub in ["links", "one", "two"] {
        fs::create_dir(top.join(sub)).unwrap();
    }
    let (one, two) = (top.join("one/plugins.toml"), top.join("two/plugins.toml"));
    fs::write(&one, "a = 1").unwrap();
    fs::write(&two, "b = 1").unwrap();
    let link = top.join("links/plugins.toml");
    std::os::unix::fs::symlink(&one, &link).unwrap();
    let (tx, rx) = mpsc::channel();
    let watcher = FileWatcher::new(config(), tx).unwrap();
    watcher.watch_path(&link).unwrap();
    assert_eq!(watcher.watched_paths(), std::slice::from_ref(&one));

    // An edit of the target, in a directory of its own.
    fs::write(&one, "a = 2").unwrap();
    assert_eq!(
        event_for(&rx, &one),
        event(ChangeKind::Modified, one.clone())
    );

    // The link re-pointed (`ln -sfn`: a new link renamed over the old one).
    let tmp = top.join("links/.plugins.toml.new");
    std::os::unix::fs::symlink(&two, &tmp).unwrap();
    fs::rename(&tmp, &link).unwrap();
    eventually("the new target to be watched", || {
        watcher.watched_paths() == [two.clone()]
    });
    while rx.recv_timeout(QUIET).is_ok() {}
    fs::write(&two, "b = 2").unwrap();
    assert_eq!(
        event_for(&rx, &two),
        event(ChangeKind::Modified, two.clone())
    );
    fs::write(&one, "a = 3").unwrap();
    assert!(
        matches!(rx.recv_timeout(QUIET), Err(RecvTimeoutError::Timeout)),
        "the old target is no longer followed"
    );
}

#[test]
fn the_sink_may_change_what_is_watched() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a_root, b_root) = (
        fs::canonicalize(a.path()).unwrap(),
        fs::canonicalize(b.path()).unwrap(),
    );
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None::<FileWatcher>));
    let (tx, rx) = mpsc::channel();
    let (in_sink, b_dir) = (slot.clone(), b_root.clone());
    let sink = move |event: ChangeEvent| {
        if let Some(watcher) = in_sink.lock().unwrap().as_ref() {
            watcher.watch_path(&b_dir).unwrap();
        }
        let _ = tx.send(event);
    };
    let watcher = FileWatcher::new(config(), sink).unwrap();
    watcher.watch_path(&a_root).unwrap();
    *slot.lock().unwrap() = Some(watcher);
    fs::write(a_root.join("a.rs"), "1").unwrap();
    event_for(&rx, &a_root.join("a.rs"));
    fs::write(b_root.join("b.rs"), "1").unwrap();
    assert_eq!(
        event_for(&rx, &b_root.join("b.rs")),
        event(ChangeKind::Created, b_root.join("b.rs"))
    );
    let watcher = slot.lock().unwrap().take().unwrap();
    assert_eq!(watcher.watched_paths().len(), 2);
}
