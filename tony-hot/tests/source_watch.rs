//! Source watching through `HotReload`: each watch setting, and the saves
//! it must see once (bursts, editors, `git checkout`). Real temporary
//! trees; every wait has a generous deadline, and "nothing more" is
//! checked by listening several debounce windows longer.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tony_core::{
    BoxError, Context, Environment, Event, EventKind, HotReloadConfig, Metadata, Plugin,
    PluginDescriptor, PluginSystem, SourceLocation,
};
use tony_hot::{HotReload, HotReloadExt, WatchState, WatchedPlugin};

const DEBOUNCE: Duration = Duration::from_millis(100);
/// Deadline for an event that must come (the machine is shared).
const WAIT: Duration = Duration::from_secs(10);
/// How long to listen for events that must not come: several windows.
const QUIET: Duration = Duration::from_millis(600);
/// The window of the tests whose saves take several steps, long enough
/// that a stalled step on a loaded machine does not split a save in two.
const SLOW: Duration = Duration::from_millis(300);

#[derive(Default)]
pub struct Counter;

impl Plugin for Counter {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[derive(Default)]
pub struct Other;

impl Plugin for Other {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A saved file, relative to the fixture's root, with the plugins named.
type Saved = (String, Vec<String>);

struct Fixture {
    /// Canonical path of the temporary directory.
    root: PathBuf,
    hot: HotReload,
    rx: Receiver<Event>,
    debounce: Duration,
    _dir: TempDir,
}

/// A temporary tree holding `files`, with plugin `counter` (and `other`)
/// compiled from the files named in `plugins`, hot reload started with the
/// development preset as `config` adjusts it.
fn fixture(
    files: &[&str],
    plugins: &[&str],
    config: impl FnOnce(HotReloadConfig, &Path) -> HotReloadConfig,
) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    for file in files {
        let path = root.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "// v0\n").unwrap();
    }
    let meta = |name: &str, file: &str| {
        let source = SourceLocation::new(root.join(file).to_string_lossy().into_owned(), 1);
        Metadata::new(name.to_owned(), "1.0.0").with_source(source)
    };
    let config = config(
        HotReloadConfig::for_environment(Environment::Development).with_debounce(DEBOUNCE),
        &root,
    );
    let debounce = config.debounce;
    let mut builder = PluginSystem::builder()
        .register_inventory(false)
        .config(config);
    if let Some(file) = plugins.first() {
        builder = builder.descriptor(PluginDescriptor::stateless::<Counter>(meta(
            "counter", file,
        )));
    }
    if let Some(file) = plugins.get(1) {
        builder = builder.descriptor(PluginDescriptor::stateless::<Other>(meta("other", file)));
    }
    let system = builder.build().unwrap();
    system.initialize().unwrap();
    let (tx, rx) = mpsc::channel();
    system.subscribe(EventKind::SourceChanged, tx);
    let hot = system.start_hot_reload().unwrap();
    Fixture {
        root,
        hot,
        rx,
        debounce,
        _dir: dir,
    }
}

impl Fixture {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// The next save reported; fails after [`WAIT`].
    fn next(&self) -> Saved {
        match self.rx.recv_timeout(WAIT) {
            Ok(Event::SourceChanged { path, plugins }) => {
                let rel = path.strip_prefix(&self.root).unwrap();
                (rel.to_string_lossy().into_owned(), plugins)
            }
            other => panic!("no save reported: {other:?}"),
        }
    }

    /// The next `n` saves, in any order.
    fn next_n(&self, n: usize) -> BTreeSet<Saved> {
        (0..n).map(|_| self.next()).collect()
    }

    /// Fails if a save is reported within [`QUIET`] (or three windows).
    fn assert_quiet(&self) {
        match self.rx.recv_timeout(QUIET.max(self.debounce * 3)) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }

    fn roots(&self) -> Vec<PathBuf> {
        self.hot.status().watched.into_keys().collect()
    }
}

fn saved(rel: &str, plugins: &[&str]) -> Saved {
    (
        rel.to_owned(),
        plugins.iter().map(|p| (*p).to_owned()).collect(),
    )
}

#[test]
fn a_helper_modules_save_names_its_plugin() {
    let f = fixture(
        &[
            "src/plugins/counter/mod.rs",
            "src/plugins/counter/math.rs",
            "src/plugins/other.rs",
            "src/plugins/util.rs",
        ],
        &["src/plugins/counter/mod.rs", "src/plugins/other.rs"],
        |c, _| c,
    );
    // One root: the counter's directory lies inside the other's.
    assert_eq!(f.roots(), [f.path("src/plugins")]);
    assert_eq!(f.hot.status().watching.len(), 2);

    f.write("src/plugins/counter/math.rs", "// v1\n");
    assert_eq!(f.next(), saved("src/plugins/counter/math.rs", &["counter"]));
    f.write("src/plugins/util.rs", "// v1\n");
    assert_eq!(f.next(), saved("src/plugins/util.rs", &["other"]));
    f.write("src/plugins/counter/mod.rs", "// v1\n");
    assert_eq!(f.next(), saved("src/plugins/counter/mod.rs", &["counter"]));
    f.assert_quiet();
}

#[test]
fn named_source_roots_replace_the_plugin_directories_and_code_outside_names_none() {
    let f = fixture(
        &["src/main.rs", "src/plugins/counter.rs"],
        &["src/plugins/counter.rs"],
        |c, root| c.with_source_roots([root.join("src")]),
    );
    assert_eq!(f.roots(), [f.path("src")]);
    f.write("src/main.rs", "// v1\n");
    assert_eq!(f.next(), saved("src/main.rs", &[]));
    f.write("src/plugins/counter.rs", "// v1\n");
    assert_eq!(f.next(), saved("src/plugins/counter.rs", &["counter"]));
    f.assert_quiet();
}

#[test]
fn recursive_on_sees_subdirectories_and_off_only_the_root() {
    let files = ["p/counter.rs", "p/sub/deep.rs"];
    let on = fixture(&files, &["p/counter.rs"], |c, _| c);
    on.write("p/sub/deep.rs", "// v1\n");
    assert_eq!(on.next(), saved("p/sub/deep.rs", &["counter"]));
    // A directory that appears is watched, what it holds reported.
    on.write("p/new/x.rs", "// v1\n");
    assert_eq!(on.next(), saved("p/new/x.rs", &["counter"]));
    assert_eq!(on.hot.status().watched_dirs, 3);

    let off = fixture(&files, &["p/counter.rs"], |c, _| c.with_recursive(false));
    assert_eq!(off.hot.status().watched_dirs, 1);
    off.write("p/sub/deep.rs", "// v1\n");
    off.write("p/new/x.rs", "// v1\n");
    off.write("p/helper.rs", "// v1\n");
    assert_eq!(off.next(), saved("p/helper.rs", &["counter"]));
    off.assert_quiet();
    assert_eq!(off.hot.status().watched_dirs, 1);
}

#[test]
fn an_excluded_extension_is_neither_watched_nor_listed() {
    let f = fixture(
        &["p/counter.rs", "p/Cargo.toml"],
        &["p/counter.rs"],
        |c, _| c.with_extensions(["toml"]),
    );
    let status = f.hot.status();
    assert!(status.watching.is_empty(), "{:?}", status.watching);
    assert_eq!(
        status.unwatched,
        [WatchedPlugin::new("counter", f.path("p/counter.rs"))]
    );
    f.write("p/counter.rs", "// v1\n");
    f.write("p/Cargo.toml", "# v1\n");
    assert_eq!(f.next(), saved("p/Cargo.toml", &["counter"]));
    f.assert_quiet();
}

#[test]
fn an_ignore_pattern_skips_its_trees_at_any_depth() {
    let f = fixture(
        &["p/counter.rs", "p/gen/x.rs", "p/sub/gen/y.rs"],
        &["p/counter.rs"],
        |c, _| c.with_ignore(["gen/**", "**/skip_*.rs"]),
    );
    // `p` and `p/sub`; neither `gen` is entered.
    assert_eq!(f.hot.status().watched_dirs, 2);
    f.write("p/gen/x.rs", "// v1\n");
    f.write("p/sub/gen/y.rs", "// v1\n");
    f.write("p/skip_me.rs", "// v1\n");
    f.write("p/sub/ok.rs", "// v1\n");
    assert_eq!(f.next(), saved("p/sub/ok.rs", &["counter"]));
    f.assert_quiet();
}

#[test]
fn ignored_trees_cost_no_watches() {
    let f = fixture(
        &["src/counter.rs", ".git/HEAD", "crates/a/target/debug/x.rs"],
        &["src/counter.rs"],
        |c, root| {
            for d in 0..100 {
                let dir = root.join(format!("target/debug/d{d}"));
                fs::create_dir_all(&dir).unwrap();
                for n in 0..100 {
                    fs::write(dir.join(format!("f{n}.rs")), "").unwrap();
                }
            }
            c.with_source_roots([root])
        },
    );
    // The root, `src`, `crates`, `crates/a`: no `target/`, no `.git/`.
    let status = f.hot.status();
    assert_eq!(status.watched_dirs, 4);
    assert_eq!(status.watched[&f.root], WatchState::Watched);
    f.write("target/debug/d0/f0.rs", "// v1\n");
    f.write(".git/config", "v1\n");
    f.write("crates/a/target/debug/x.rs", "// v1\n");
    f.write("src/counter.rs", "// v1\n");
    assert_eq!(f.next(), saved("src/counter.rs", &["counter"]));
    f.assert_quiet();
}

#[test]
fn a_burst_of_writes_is_one_save() {
    let f = fixture(&["p/counter.rs"], &["p/counter.rs"], |c, _| {
        c.with_debounce(SLOW)
    });
    for i in 0..50 {
        f.write("p/counter.rs", &format!("// v{i}\n"));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(f.next(), saved("p/counter.rs", &["counter"]));
    f.assert_quiet();
}

#[test]
fn an_editors_save_through_a_backup_or_a_rename_is_one_save() {
    let f = fixture(&["p/counter.rs"], &["p/counter.rs"], |c, _| {
        c.with_debounce(SLOW)
    });
    // vim: rename to a backup, write anew, remove the backup.
    fs::rename(f.path("p/counter.rs"), f.path("p/counter.rs~")).unwrap();
    f.write("p/counter.rs", "// v1\n");
    fs::remove_file(f.path("p/counter.rs~")).unwrap();
    assert_eq!(f.next(), saved("p/counter.rs", &["counter"]));
    f.assert_quiet();
    // Most others: write a temporary file, rename it over.
    f.write("p/.counter.rs.tmp", "// v2\n");
    fs::rename(f.path("p/.counter.rs.tmp"), f.path("p/counter.rs")).unwrap();
    assert_eq!(f.next(), saved("p/counter.rs", &["counter"]));
    f.assert_quiet();
}

#[test]
fn a_read_is_not_a_save() {
    // A build, an editor or an indexer opening every source file.
    let f = fixture(&["p/counter.rs", "p/math.rs"], &["p/counter.rs"], |c, _| c);
    for _ in 0..3 {
        fs::read(f.path("p/counter.rs")).unwrap();
        fs::read_dir(f.path("p")).unwrap().for_each(drop);
    }
    f.assert_quiet();
}

fn git(root: &Path, args: &[&str]) -> bool {
    std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_git_checkout_is_one_save_per_changed_file() {
    let files = ["src/counter/mod.rs", "src/counter/math.rs", "src/same.rs"];
    let mut has_git = true;
    let f = fixture(&files, &["src/counter/mod.rs"], |c, root| {
        has_git = git(root, &["init", "-q"])
            && git(root, &["add", "."])
            && git(root, &["commit", "-qm", "one"])
            && git(root, &["checkout", "-qb", "two"]);
        fs::write(root.join("src/counter/mod.rs"), "// two\n").unwrap();
        fs::write(root.join("src/counter/math.rs"), "// two\n").unwrap();
        fs::create_dir_all(root.join("src/counter/extra")).unwrap();
        fs::write(root.join("src/counter/extra/x.rs"), "// two\n").unwrap();
        has_git = has_git
            && git(root, &["add", "."])
            && git(root, &["commit", "-qm", "two"])
            && git(root, &["checkout", "-q", "main"]);
        c.with_source_roots([root]).with_debounce(SLOW)
    });
    if !has_git {
        tracing::warn!("git unavailable; checkout test skipped");
        return;
    }
    let changed = [
        "src/counter/extra/x.rs",
        "src/counter/math.rs",
        "src/counter/mod.rs",
    ];
    let expected: BTreeSet<Saved> = changed.iter().map(|p| saved(p, &["counter"])).collect();
    assert!(git(&f.root, &["checkout", "-q", "two"]));
    assert_eq!(f.next_n(3), expected);
    f.assert_quiet();
    // And back: the new directory goes away, its file with it.
    assert!(git(&f.root, &["checkout", "-q", "main"]));
    assert_eq!(f.next_n(3), expected);
    f.assert_quiet();
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_never_read() {
    let mkfifo = |path: &Path| {
        std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut made = false;
    let f = fixture(&["p/counter.rs"], &["p/counter.rs"], |c, root| {
        made = mkfifo(&root.join("p/before.rs"));
        c
    });
    if !made {
        tracing::warn!("mkfifo unavailable; FIFO test skipped");
        return;
    }
    assert!(mkfifo(&f.path("p/after.rs")));
    // A device, reached through a link with a watched extension.
    std::os::unix::fs::symlink("/dev/null", f.path("p/device.rs")).unwrap();
    f.assert_quiet();
    // Opening a FIFO would have blocked the watcher: it still sees saves.
    f.write("p/counter.rs", "// v1\n");
    assert_eq!(f.next(), saved("p/counter.rs", &["counter"]));
}

#[test]
fn status_lists_exactly_what_is_watched() {
    let f = fixture(
        &["a/counter.rs", "b/other.rs", "b/skipped/x.rs"],
        &["a/counter.rs", "b/other.rs"],
        |c, _| c.with_ignore(["skipped/**"]),
    );
    let status = f.hot.status();
    assert_eq!(f.roots(), [f.path("a"), f.path("b")]);
    assert!(status.watched.values().all(WatchState::is_watched));
    let watching: Vec<&str> = status.watching.iter().map(|w| &*w.plugin).collect();
    assert_eq!(watching, ["counter", "other"]);
    assert!(status.unwatched.is_empty());
    assert_eq!(status.watched_dirs, 2);

    // A plugin whose directory goes away is unwatched until it is back.
    fs::remove_dir_all(f.path("a")).unwrap();
    let deadline = Instant::now() + WAIT;
    while f.hot.status().watched[&f.path("a")].is_watched() {
        assert!(Instant::now() < deadline, "root `a` still said watched");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = f.hot.status();
    assert_eq!(status.unwatched[0].plugin, "counter");
    assert_eq!(
        status.watched[&f.path("a")],
        WatchState::Waiting {
            ancestor: f.root.clone()
        }
    );
    f.write("a/counter.rs", "// back\n");
    assert_eq!(f.next(), saved("a/counter.rs", &["counter"]));
    assert_eq!(f.hot.status().watching.len(), 2);
}
