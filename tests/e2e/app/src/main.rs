//! The app of the hot-patch end-to-end catalogue (`scripts/e2e-hotpatch.sh`):
//! plugins in this binary and in a library crate, a host loop run through
//! the jump table, a thread that never is, and one line of output per tick
//! (and per background read), per activation and per patch receipt, which
//! the script reads.
//!
//! ```text
//! dx serve --hot-patch -p tony-e2e-app --features hot
//! ```
#![allow(clippy::print_stdout)] // the catalogue reads what the app prints

mod counter;
mod host;
mod user;
mod util;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tony_core::{Event, EventKind, HotReloadConfig, MissCause, PluginSystem, hot};
use tony_hot::HotReloadExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = HotReloadConfig::default()
        .with_enabled(true)
        .with_max_retry_attempts(std::num::NonZeroU32::MIN);
    let system = PluginSystem::builder().config(config).build()?;
    system.subscribe(EventKind::PatchApplied, |e: &Event| {
        if let Event::PatchApplied(r) = e {
            println!(
                "RECEIPT applied={} changed=[{}] added=[{}] removed=[{}] cycled=[{}] restart=[{}] note=[{}] tony_ms={:.1} load_ms={:.1} pid={} at={}",
                r.applied,
                r.changed.join(","),
                r.added.join(","),
                r.removed.join(","),
                r.cycled.join(","),
                r.restart_needed.as_deref().unwrap_or(""),
                r.note,
                r.duration.as_secs_f64() * 1e3,
                r.load_time.as_secs_f64() * 1e3,
                std::process::id(),
                now()
            );
        }
    });
    system.subscribe(EventKind::StateRestored, |e: &Event| {
        if let Event::StateRestored { plugin, how } = e {
            println!("RESTORED {plugin} {how:?}");
        }
    });
    system.subscribe(EventKind::EditNotApplied, |e: &Event| {
        if let Event::EditNotApplied(miss) = e {
            println!("MISSED cause={} {miss}", cause_tag(&miss.cause));
        }
    });
    system.initialize()?;
    let hot_reload = system.start_hot_reload()?;
    println!(
        "READY {} (pid {})",
        hot_reload.status().patches.summary(),
        std::process::id()
    );
    // A thread started once that never goes through the jump table: it
    // reaches `Counter::peek` through the method's own trampoline only.
    let background = system.clone();
    std::thread::spawn(move || {
        loop {
            match background.with::<counter::Counter, _>(counter::Counter::peek) {
                Ok(step) => println!("BG step={step}"),
                Err(e) => println!("BG ERR {e:?}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut misses = 0;
    for round in 0.. {
        // The loop's body runs through the jump table: after a patch, the
        // new body, compiled against the new plugin layouts.
        hot::call(host::tick, (&system, round));
        // The edits Tony reports as not applied, when their number changes.
        let now = hot_reload.status().missed_edits.len();
        if now != misses {
            misses = now;
            println!("MISSES n={misses}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// A short name for each cause, for the catalogue to match.
fn cause_tag(cause: &MissCause) -> &'static str {
    match cause {
        MissCause::NotUnderDx => "not-under-dx",
        MissCause::LibraryOfBinary { .. } => "library-of-binary",
        MissCause::NotRecompiled { .. } => "not-recompiled",
        MissCause::NoPatch { .. } => "no-patch",
        _ => "other",
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
