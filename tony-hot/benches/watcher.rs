//! The file watcher, each measurement beside a baseline from the same run:
//!
//! * `start`: `FileWatcher::new` + `watch_path` on a 10,000-file tree
//!   (goal: < 1 s), beside a plain walk of the same tree; then the same tree
//!   with a 20,000-file `target/` next to it (ignored, so never entered).
//! * `latency`: from a write to its event, *minus the debounce
//!   window* (goal: <= 20 ms), beside raw `notify` (write to its first
//!   modify event, no debouncing). Both are timed from just before the
//!   write.
//!
//! `cargo bench -p tony-hot --bench watcher`
#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    fs,
    hint::black_box,
    path::Path,
    sync::mpsc,
    time::{Duration, Instant},
};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use notify::Watcher;
use tony_hot::{FileWatcher, WatcherConfig};

/// `dirs` x `dirs` directories of `files` files each, under `root`.
fn tree(root: &Path, dirs: usize, files: usize) {
    for a in 0..dirs {
        for b in 0..dirs {
            let dir = root.join(format!("m{a:02}/s{b:02}"));
            fs::create_dir_all(&dir).unwrap();
            for f in 0..files {
                fs::write(dir.join(format!("f{f:03}.rs")), "").unwrap();
            }
        }
    }
}

fn walk(dir: &Path) -> usize {
    let mut n = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        n += 1;
        if entry.file_type().unwrap().is_dir() {
            n += walk(&entry.path());
        }
    }
    n
}

fn start(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    tree(&root, 10, 100); // 100 directories, 10,000 files
    let mut g = c.benchmark_group("start");
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    g.bench_function("baseline: walk 10k files", |b| {
        b.iter(|| black_box(walk(&root)))
    });
    let mut timed_start = |b: &mut criterion::Bencher<'_>| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (tx, _rx) = mpsc::channel();
                let t = Instant::now();
                let watcher = FileWatcher::new(WatcherConfig::default(), tx).unwrap();
                watcher.watch_path(&root).unwrap();
                total += t.elapsed();
                drop(watcher);
            }
            total
        })
    };
    g.bench_function("watch 10k files", &mut timed_start);
    tree(&root.join("target"), 20, 50); // 400 directories, 20,000 files
    g.bench_function("watch 10k files + 20k in target/", &mut timed_start);
    g.finish();
}

fn latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    let file = root.join("hot.rs");
    fs::write(&file, "0").unwrap();
    let mut g = c.benchmark_group("latency");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(6));

    {
        let (tx, rx) = mpsc::channel();
        let mut raw = notify::recommended_watcher(tx).unwrap();
        raw.watch(&root, notify::RecursiveMode::Recursive).unwrap();
        g.bench_function("baseline: raw notify, write to modify event", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let t = Instant::now();
                    fs::write(&file, i.to_string()).unwrap();
                    // The open is reported before the write: wait for the data.
                    loop {
                        let event = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
                        if matches!(event.kind, notify::EventKind::Modify(_)) {
                            break;
                        }
                    }
                    total += t.elapsed();
                    std::thread::sleep(Duration::from_millis(5));
                    while rx.try_recv().is_ok() {}
                }
                total
            })
        });
    }

    for window in [Duration::from_millis(50), Duration::from_millis(500)] {
        let (tx, rx) = mpsc::channel();
        let watcher = FileWatcher::new(WatcherConfig::default().with_debounce(window), tx).unwrap();
        watcher.watch_path(&root).unwrap();
        let name = format!("write to event minus {} ms debounce", window.as_millis());
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let t = Instant::now();
                    fs::write(&file, i.to_string()).unwrap();
                    rx.recv_timeout(window + Duration::from_secs(5)).unwrap();
                    total += t.elapsed().saturating_sub(window);
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, start, latency);
criterion_main!(benches);
