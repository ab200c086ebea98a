//! What notify-debouncer-mini 0.7 and notify-debouncer-full 0.7 (on notify 8.2,
//! 100 ms timeout, recursive watch) report for the saves Tony's watcher must
//! handle; the table in `tony-hot/src/watcher/mod.rs` comes from its output.
//!
//! Not part of the workspace. To run it:
//!
//! ```sh
//! cargo new --bin dbm && cp docs/measurements/watcher-debouncers.rs dbm/src/main.rs
//! cd dbm && cargo add notify@8.2 notify-debouncer-mini@0.7 notify-debouncer-full@0.7 tempfile@3
//! cargo run --release
//! ```
use notify::{RecursiveMode, Watcher};
use std::{
    fs,
    path::{Path, PathBuf},
    sync::mpsc,
    time::{Duration, Instant},
};

const T: Duration = Duration::from_millis(100);

/// (debouncer name, events as "kind path" strings, relative)
fn collect(rx: &mpsc::Receiver<Vec<String>>, wait: Duration) -> Vec<Vec<String>> {
    let end = Instant::now() + wait;
    let mut out = vec![];
    while let Ok(b) = rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
        out.push(b)
    }
    out
}

enum D {
    Mini(notify_debouncer_mini::Debouncer<notify::RecommendedWatcher>),
    Full(
        notify_debouncer_full::Debouncer<
            notify::RecommendedWatcher,
            notify_debouncer_full::RecommendedCache,
        >,
    ),
}

fn start(mini: bool, root: &Path) -> (D, mpsc::Receiver<Vec<String>>) {
    let (tx, rx) = mpsc::channel();
    let r = root.to_path_buf();
    let rel = move |p: &Path| {
        p.strip_prefix(&r)
            .map(|x| x.display().to_string())
            .unwrap_or(p.display().to_string())
    };
    let d = if mini {
        let cfg = notify_debouncer_mini::Config::default()
            .with_timeout(T)
            .with_batch_mode(false);
        let mut d = notify_debouncer_mini::new_debouncer_opt::<_, notify::RecommendedWatcher>(
            cfg,
            move |res: notify_debouncer_mini::DebounceEventResult| {
                if let Ok(evs) = res {
                    let _ = tx.send(
                        evs.iter()
                            .map(|e| format!("{:?} {}", e.kind, rel(&e.path)))
                            .collect(),
                    );
                }
            },
        )
        .unwrap();
        d.watcher().watch(root, RecursiveMode::Recursive).unwrap();
        D::Mini(d)
    } else {
        let mut d = notify_debouncer_full::new_debouncer(
            T,
            None,
            move |res: notify_debouncer_full::DebounceEventResult| {
                if let Ok(evs) = res {
                    let _ = tx.send(
                        evs.iter()
                            .map(|e| {
                                format!(
                                    "{:?} {}",
                                    e.kind,
                                    e.paths.iter().map(|p| rel(p)).collect::<Vec<_>>().join(",")
                                )
                            })
                            .collect(),
                    );
                }
            },
        )
        .unwrap();
        d.watch(root, RecursiveMode::Recursive).unwrap();
        D::Full(d)
    };
    (d, rx)
}

fn scenario(name: &str, mini: bool, setup: impl Fn(&Path), act: impl Fn(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = fs::canonicalize(dir.path()).unwrap();
    setup(&root);
    let t0 = Instant::now();
    let (d, rx) = start(mini, &root);
    let startup = t0.elapsed();
    std::thread::sleep(Duration::from_millis(50));
    act(&root);
    let batches = collect(&rx, Duration::from_millis(800));
    let n: usize = batches.iter().map(|b| b.len()).sum();
    let short: Vec<Vec<String>> = batches
        .iter()
        .map(|b| {
            if b.len() > 6 {
                let mut v = b[..3].to_vec();
                v.push(format!("... {} more", b.len() - 3));
                v
            } else {
                b.clone()
            }
        })
        .collect();
    println!(
        "[{}] {name}: start {:?}, {} batches, {} events: {:?}",
        if mini { "mini" } else { "full" },
        startup,
        batches.len(),
        n,
        short
    );
    drop(d);
}

fn main() {
    for mini in [true, false] {
        scenario(
            "burst 50 writes 10ms apart",
            mini,
            |r| fs::write(r.join("a.rs"), "0").unwrap(),
            |r| {
                for i in 0..50 {
                    fs::write(r.join("a.rs"), i.to_string()).unwrap();
                    std::thread::sleep(Duration::from_millis(10));
                }
            },
        );
        scenario(
            "vim backup save",
            mini,
            |r| fs::write(r.join("a.rs"), "0").unwrap(),
            |r| {
                fs::rename(r.join("a.rs"), r.join("a.rs~")).unwrap();
                fs::write(r.join("a.rs"), "1").unwrap();
                fs::remove_file(r.join("a.rs~")).unwrap();
            },
        );
        scenario(
            "atomic rename save",
            mini,
            |r| fs::write(r.join("a.rs"), "0").unwrap(),
            |r| {
                fs::write(r.join(".a.rs.tmp"), "1").unwrap();
                fs::rename(r.join(".a.rs.tmp"), r.join("a.rs")).unwrap();
            },
        );
        scenario(
            "read only (cargo build reading a source)",
            mini,
            |r| fs::write(r.join("a.rs"), "0").unwrap(),
            |r| {
                let _ = fs::read(r.join("a.rs")).unwrap();
            },
        );
        scenario(
            "checkout: dir deleted, re-created with 2 files",
            mini,
            |r| {
                fs::create_dir(r.join("sub")).unwrap();
                fs::write(r.join("sub/x.rs"), "0").unwrap();
            },
            |r| {
                fs::remove_dir_all(r.join("sub")).unwrap();
                fs::create_dir(r.join("sub")).unwrap();
                fs::write(r.join("sub/x.rs"), "1").unwrap();
                fs::write(r.join("sub/y.rs"), "1").unwrap();
            },
        );
        scenario(
            "new tree in one go (mkdir -p a/b; write a/b/x.rs)",
            mini,
            |_| {},
            |r| {
                fs::create_dir_all(r.join("a/b")).unwrap();
                fs::write(r.join("a/b/x.rs"), "1").unwrap();
            },
        );
        scenario(
            "10,000-file target/ (1,000 dirs) then write src.rs",
            mini,
            |r| {
                for d in 0..1000 {
                    let p = r.join(format!("target/d{d}"));
                    fs::create_dir_all(&p).unwrap();
                    for f in 0..10 {
                        fs::write(p.join(format!("f{f}.o")), "").unwrap();
                    }
                }
            },
            |r| fs::write(r.join("src.rs"), "1").unwrap(),
        );
        scenario(
            "write into target/ (ignored tree)",
            mini,
            |r| fs::create_dir_all(r.join("target/debug")).unwrap(),
            |r| fs::write(r.join("target/debug/out.rs"), "1").unwrap(),
        );
    }
    // root deleted and re-created
    for mini in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let top = fs::canonicalize(dir.path()).unwrap();
        let root = top.join("src");
        fs::create_dir(&root).unwrap();
        let (d, rx) = start(mini, &root);
        fs::remove_dir_all(&root).unwrap();
        let b1 = collect(&rx, Duration::from_millis(400));
        fs::create_dir(&root).unwrap();
        fs::write(root.join("lib.rs"), "1").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        fs::write(root.join("lib.rs"), "2").unwrap();
        let b2 = collect(&rx, Duration::from_millis(600));
        println!(
            "[{}] root deleted: {:?}; re-created and written twice: {:?}",
            if mini { "mini" } else { "full" },
            b1,
            b2
        );
        drop(d);
    }
}
