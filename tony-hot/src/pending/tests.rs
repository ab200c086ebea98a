#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use tony_core::MissCause;

use super::{Ledger, MIN_WAIT, Owner};

const CODE: &str = "pub fn step() -> u64 {\n    1\n}\n";

fn owner(plugin: &str, library_of_binary: bool) -> Owner {
    Owner {
        plugin: plugin.into(),
        crate_name: "app".into(),
        unit: Some(
            if library_of_binary {
                "app"
            } else {
                "app (bin app)"
            }
            .into(),
        ),
        library_of_binary,
    }
}

/// Writes `text` to `file` with the modification time `mtime`.
fn write_at(file: &std::path::Path, text: &str, mtime: SystemTime) {
    fs::write(file, text).unwrap();
    fs::File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(mtime))
        .unwrap();
}

/// What a patch of the binary names as recompiled.
fn bin() -> Vec<String> {
    vec!["app (bin app)".to_owned()]
}

/// A file holding `CODE`, recorded as running.
fn started(takes_patches: bool) -> (tempfile::TempDir, PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counter.rs");
    fs::write(&file, CODE).unwrap();
    let mut ledger = Ledger::new(takes_patches);
    ledger.baseline(&file);
    (dir, file, ledger)
}

#[test]
fn comments_and_whitespace_are_no_edit() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(
        &file,
        "// a comment\npub fn step()   -> u64 {\n\n    1 /* one */\n}\n",
    )
    .unwrap();
    assert_eq!(ledger.saved(&file, vec![owner("counter", false)], t0), None);
    assert!(ledger.expire(t0 + Duration::from_secs(3600)).is_empty());
    assert!(ledger.missed().is_empty());
}

#[test]
fn a_patch_of_its_crate_settles_an_edit() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    assert_eq!(ledger.saved(&file, vec![owner("counter", false)], t0), None);
    assert!(
        ledger
            .patched(&bin(), SystemTime::now(), t0 + Duration::from_millis(400))
            .is_empty()
    );
    assert!(ledger.expire(t0 + Duration::from_secs(3600)).is_empty());
    // The applied version is the new baseline: saving it again is no edit.
    assert_eq!(ledger.saved(&file, vec![owner("counter", false)], t0), None);
    assert!(ledger.expire(t0 + Duration::from_secs(3600)).is_empty());
}

#[test]
fn no_patch_is_a_miss_once_the_wait_is_over_and_the_fix_clears_it() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, "pub fn step() -> u64 {\n    1 +\n}\n").unwrap();
    ledger.saved(&file, vec![owner("counter", false)], t0);
    assert!(
        ledger
            .expire(t0 + MIN_WAIT - Duration::from_millis(1))
            .is_empty()
    );
    let missed = ledger.expire(t0 + MIN_WAIT);
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].plugins, ["counter"]);
    assert!(matches!(missed[0].cause, MissCause::NoPatch { .. }));
    assert!(
        missed[0].to_string().contains("does not compile"),
        "{}",
        missed[0]
    );
    assert_eq!(ledger.missed(), missed);
    // Reported once.
    assert!(ledger.expire(t0 + MIN_WAIT * 2).is_empty());
    // The fix compiles and its patch arrives: cleared.
    fs::write(&file, CODE.replace('1', "3")).unwrap();
    ledger.saved(&file, vec![owner("counter", false)], t0 + MIN_WAIT * 3);
    ledger.patched(
        &bin(),
        SystemTime::now(),
        t0 + MIN_WAIT * 3 + Duration::from_millis(300),
    );
    assert!(ledger.missed().is_empty());
}

#[test]
fn undoing_the_edit_clears_its_miss() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, "broken {").unwrap();
    ledger.saved(&file, vec![owner("counter", false)], t0);
    assert_eq!(ledger.expire(t0 + MIN_WAIT).len(), 1);
    fs::write(&file, CODE).unwrap();
    assert_eq!(
        ledger.saved(&file, vec![owner("counter", false)], t0 + MIN_WAIT),
        None
    );
    assert!(ledger.missed().is_empty());
}

#[test]
fn the_library_of_the_binary_is_missed_at_the_first_patch_without_it() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    ledger.saved(&file, vec![owner("libside", true)], t0);
    let missed = ledger.patched(&bin(), SystemTime::now(), t0 + Duration::from_millis(300));
    assert_eq!(missed.len(), 1);
    assert_eq!(
        missed[0].cause,
        MissCause::LibraryOfBinary {
            crate_name: "app".into()
        }
    );
    assert!(
        missed[0]
            .to_string()
            .contains("move them into the binary target")
    );
    assert!(
        ledger.expire(t0 + MIN_WAIT * 10).is_empty(),
        "reported once"
    );
}

#[test]
fn a_patch_that_passed_the_crate_over_is_named_at_the_bound() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    ledger.saved(&file, vec![owner("base", false)], t0);
    assert!(
        ledger
            .patched(
                &["other".to_owned()],
                SystemTime::now(),
                t0 + Duration::from_millis(300)
            )
            .is_empty()
    );
    let missed = ledger.expire(t0 + MIN_WAIT);
    assert_eq!(
        missed[0].cause,
        MissCause::NotRecompiled {
            crate_name: "app".into()
        }
    );
}

#[test]
fn without_patches_an_edit_is_missed_at_once_and_told_once() {
    let (_dir, file, mut ledger) = started(false);
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    let missed = ledger.saved(&file, vec![owner("counter", false)], Instant::now());
    assert_eq!(missed.unwrap().cause, MissCause::NotUnderDx);
    fs::write(&file, CODE.replace('1', "3")).unwrap();
    assert_eq!(
        ledger.saved(&file, vec![owner("counter", false)], Instant::now()),
        None
    );
    assert_eq!(ledger.missed().len(), 1);
    // Saved back to what runs: nothing is missed any more.
    fs::write(&file, CODE).unwrap();
    assert_eq!(
        ledger.saved(&file, vec![owner("counter", false)], Instant::now()),
        None
    );
    assert!(ledger.missed().is_empty());
}

#[test]
fn a_plugin_registered_by_hand_is_settled_by_any_patch() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    let mut by_hand = owner("manual", false);
    by_hand.unit = None;
    ledger.saved(&file, vec![by_hand], t0);
    ledger.patched(
        &["another".to_owned()],
        SystemTime::now(),
        t0 + Duration::from_millis(200),
    );
    assert!(ledger.expire(t0 + MIN_WAIT * 10).is_empty());
}

#[test]
fn the_wait_follows_the_slowest_patch() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    assert_eq!(ledger.bound(), MIN_WAIT);
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    ledger.saved(&file, vec![owner("counter", false)], t0);
    let build_started = SystemTime::now();
    ledger.patched(&bin(), build_started, t0 + Duration::from_secs(2));
    assert_eq!(ledger.bound(), Duration::from_secs(6));
    // A save after that build started (the seconds apart of a real edit:
    // within one tick of the file system's clock, its mtime could equal the
    // build's start, and the patch would hold it).
    write_at(
        &file,
        &CODE.replace('1', "4"),
        build_started + Duration::from_secs(1),
    );
    ledger.saved(
        &file,
        vec![owner("counter", false)],
        t0 + Duration::from_secs(10),
    );
    assert!(ledger.expire(t0 + Duration::from_secs(15)).is_empty());
    assert_eq!(ledger.expire(t0 + Duration::from_secs(16)).len(), 1);
}

#[test]
fn files_outside_plugins_and_other_extensions_are_not_tracked() {
    let (dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    assert_eq!(ledger.saved(&file, vec![], t0), None);
    let toml = dir.path().join("Cargo.toml");
    fs::write(&toml, "[package]").unwrap();
    assert_eq!(ledger.saved(&toml, vec![owner("counter", false)], t0), None);
    assert!(ledger.expire(t0 + MIN_WAIT * 100).is_empty());
}

#[test]
fn a_late_patch_without_the_library_corrects_a_no_patch_guess() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    ledger.saved(&file, vec![owner("libside", true)], t0);
    let guessed = ledger.expire(t0 + MIN_WAIT);
    assert!(matches!(guessed[0].cause, MissCause::NoPatch { .. }));
    let proved = ledger.patched(&bin(), SystemTime::now(), t0 + MIN_WAIT * 5);
    assert_eq!(proved.len(), 1);
    assert!(matches!(proved[0].cause, MissCause::LibraryOfBinary { .. }));
    assert_eq!(ledger.missed(), proved);
}

#[test]
fn a_patch_quicker_than_the_watcher_settles_the_save_it_holds() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    // dx built and sent the patch before the debounced save reached Tony.
    assert!(ledger.patched(&bin(), SystemTime::now(), t0).is_empty());
    assert_eq!(ledger.saved(&file, vec![owner("counter", false)], t0), None);
    assert!(ledger.expire(t0 + MIN_WAIT * 10).is_empty(), "settled");
}

#[test]
fn a_patch_quicker_than_the_watcher_without_the_library_is_told_at_once() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    ledger.patched(&bin(), SystemTime::now(), t0);
    let missed = ledger.saved(&file, vec![owner("libside", true)], t0);
    assert!(matches!(
        missed.unwrap().cause,
        MissCause::LibraryOfBinary { .. }
    ));
}

#[test]
fn a_patch_dx_started_before_the_save_does_not_hold_it() {
    let (_dir, file, mut ledger) = started(true);
    let t0 = Instant::now();
    let started_building = SystemTime::now() - Duration::from_secs(5);
    fs::write(&file, CODE.replace('1', "2")).unwrap();
    ledger.saved(&file, vec![owner("counter", false)], t0);
    // The patch of an earlier save, built from before this one.
    ledger.patched(&bin(), started_building, t0 + Duration::from_millis(100));
    let missed = ledger.expire(t0 + MIN_WAIT);
    assert_eq!(
        missed.len(),
        1,
        "not settled by a patch that cannot hold it"
    );
    assert!(matches!(missed[0].cause, MissCause::NoPatch { .. }));
}
