//! What reaches the patch transaction: patches for another process or
//! build are ignored, a bad library is refused before anything changes.

#![allow(clippy::unwrap_used, missing_docs, dead_code, unused_imports)]

use dioxus_devtools::{DevserverMsg, HotReloadMsg};
use tony_hot::testing::Intake;

include!("support/plugins.rs");

// 4. A patch for another process or build is ignored
// ---------------------------------------------------------------------------

fn message(
    table: Option<JumpTable>,
    for_pid: Option<u32>,
    for_build_id: Option<u64>,
) -> DevserverMsg {
    DevserverMsg::HotReload(HotReloadMsg {
        jump_table: table,
        for_pid,
        for_build_id,
        ms_elapsed: 42,
        ..HotReloadMsg::default()
    })
}

#[test]
fn patches_for_another_process_or_build_are_ignored() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    let pid = std::process::id();
    let build = 0;
    let ignored = |m: Option<Intake>| match m {
        Some(Intake::Ignored { reason }) => reason,
        other => panic!("expected Ignored, got {other:?}"),
    };
    let patch = || Some(alpha_edit().0);

    // What the intake thread would do with each message.
    let handle = |msg| match testing::classify(msg, pid, build) {
        Some(Intake::Patch { table, .. }) => Some(apply(&system, (table, alpha_edit().1))),
        _ => None,
    };

    let other_pid = ignored(testing::classify(
        message(patch(), Some(pid.wrapping_add(1)), Some(build)),
        pid,
        build,
    ));
    assert!(
        other_pid.contains(&pid.wrapping_add(1).to_string()),
        "{other_pid}"
    );
    // dx replays its last patch to every new connection without a pid.
    ignored(testing::classify(
        message(patch(), None, Some(build)),
        pid,
        build,
    ));
    let other_build = ignored(testing::classify(
        message(patch(), Some(pid), Some(build + 1)),
        pid,
        build,
    ));
    assert!(other_build.contains("build"), "{other_build}");
    assert!(
        testing::classify(message(None, Some(pid), Some(build)), pid, build).is_none(),
        "no table: nothing for Tony"
    );
    assert!(matches!(
        testing::classify(DevserverMsg::HotPatchStart, pid, build),
        Some(Intake::PatchStarted)
    ));

    let before = observe(&system);
    for msg in [
        message(patch(), Some(pid.wrapping_add(1)), Some(build)),
        message(patch(), None, Some(build)),
        message(patch(), Some(pid), Some(build + 1)),
        message(patch(), Some(pid), None),
    ] {
        assert!(handle(msg).is_none());
    }
    assert_eq!(observe(&system), before, "nothing changed");

    // The same table addressed to us goes through.
    let receipt = handle(message(patch(), Some(pid), Some(build))).unwrap();
    assert_eq!(receipt.changed, ["hp-alpha"]);
    assert_eq!(system.with::<Alpha, _>(Alpha::step).unwrap(), 10);
}

// ---------------------------------------------------------------------------
// 5. A bad library is refused and changes nothing
// ---------------------------------------------------------------------------

/// The path of the libc this process runs with.
fn libc_path() -> PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            let name = p.rsplit('/').next().unwrap_or_default();
            name.starts_with("libc.so") || name.starts_with("libc-")
        })
        .map(PathBuf::from)
        .expect("libc in /proc/self/maps")
}

#[test]
fn a_patch_with_a_bad_library_is_refused_and_changes_nothing() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    tick(&system);
    let events = record(&system);
    let before = observe(&system);

    let mut missing = alpha_edit().0;
    missing.lib = PathBuf::from("/nonexistent/libtony-patch-0.so");
    let e = testing::apply_patch_transaction(&system, missing).unwrap_err();
    assert!(matches!(e, PatchError::Load { .. }), "{e:?}");
    assert_eq!(observe(&system), before);

    let mut no_main = alpha_edit().0;
    no_main.lib = libc_path();
    let e = testing::apply_patch_transaction(&system, no_main).unwrap_err();
    assert!(matches!(e, PatchError::NoMainInLib { .. }), "{e:?}");
    assert_eq!(observe(&system), before);

    // Built against another binary: its main lies above ours.
    let mut foreign = alpha_edit().0;
    foreign.aslr_reference += 0x1000;
    let e = testing::apply_patch_transaction(&system, foreign).unwrap_err();
    assert!(matches!(e, PatchError::Foreign { .. }), "{e:?}");
    assert_eq!(observe(&system), before);

    assert_eq!(kinds(&events), [], "no reload started, no receipt");
    assert_eq!(tick(&system), 3, "the original step still runs");
}

// ---------------------------------------------------------------------------
