//! A patch whose new code misbehaves where Tony calls it outside plugin
//! hooks: its hot entry (what gives a plugin's description and functions)
//! panics, or describes another plugin. The patch is refused or rolled
//! back, the receipt says why, and the next patch applies. Synthetic
//! patches, as in `patch_apply.rs`.

#![allow(clippy::unwrap_used, missing_docs, dead_code, unused_imports)]

include!("support/plugins.rs");

use std::sync::mpsc;
use std::time::Instant;

use tony_core::__private::MetadataParts;
use tony_hot::testing::Intake;

/// Alpha's hot entry as a patch whose generated code panics brings it.
fn alpha_code_panics() -> &'static Generated {
    panic!("the new hot entry panics")
}

/// Alpha's hot entry answering with Beta's description and functions.
fn alpha_code_is_beta() -> &'static Generated {
    Beta::__tony_plugin_code()
}

/// Alpha's name and metadata, Beta's functions (another Rust type).
fn alpha_code_with_beta_functions() -> &'static Generated {
    static CODE: LazyLock<Generated> = LazyLock::new(|| Generated {
        metadata: Alpha::__tony_plugin_code().metadata,
        ..*Beta::__tony_plugin_code()
    });
    &CODE
}

/// The jump table leads Alpha's hot entry to `entry`; the incoming code
/// says Alpha's struct changed.
fn entry_redirected(entry: fn() -> &'static Generated) -> (JumpTable, CodeManifest) {
    (
        table(vec![(fn_key(Alpha::__tony_plugin_code), fn_key(entry))]),
        incoming([code_of("hp-alpha").with_block("", 0x5eed_0004)]),
    )
}

/// The incoming code of Alpha is behind `entry` (the patch library's own
/// hot entry); the table changes Alpha's `step`.
fn described_by(entry: fn() -> &'static Generated) -> (JumpTable, CodeManifest) {
    (
        table(vec![(
            hot_key(&Alpha::__tony_hot_step),
            hot_key(&alpha_step_v2),
        )]),
        incoming([code_of("hp-alpha")
            .with_entry(entry)
            .with_block("", 0x5eed_0005)]),
    )
}

/// Applies `patch` to a system whose Alpha has ticked once, and checks
/// that its receipt's note says each of `said`, that the patch was not
/// kept, that everything is as it was, and that a good patch applies after
/// it. Returns how many times Alpha's `activate` ran during the bad patch.
fn not_kept(patch: (JumpTable, CodeManifest), said: &[&str]) -> u32 {
    let _serial = serial();
    let system = system(config(2));
    tick(&system);
    let before = observe(&system);
    let activations = count(&ALPHA_ACTIVATED);

    let receipt = apply(&system, patch);

    let ran = count(&ALPHA_ACTIVATED) - activations;
    assert!(!receipt.applied, "{receipt:?}");
    for words in said {
        assert!(
            receipt.note.contains(words),
            "`{words}` in: {}",
            receipt.note
        );
    }
    // A rollback reactivates the previous instances (the user's activation
    // count): everything else is as it was.
    let now = observe(&system);
    assert_eq!(
        (&now.0, now.1, now.2),
        (&before.0, before.1, before.2),
        "everything as it was"
    );
    assert!(
        system.reload_plugin("hp-alpha").success,
        "and it still reloads"
    );

    let good = apply(&system, alpha_edit());
    assert!(good.applied, "the next patch applies: {good:?}");
    assert_eq!(system.with::<Alpha, _>(Alpha::step).unwrap(), 10);
    ran
}

#[test]
fn a_patch_whose_installed_hot_entry_panics_is_rolled_back() {
    // The receipt says what panicked.
    not_kept(
        entry_redirected(alpha_code_panics),
        &[
            "rolled back",
            "hot entry of `hp-alpha`",
            "the new hot entry panics",
        ],
    );
}

#[test]
fn a_patch_whose_own_hot_entry_panics_is_refused_before_anything_changes() {
    let ran = not_kept(
        described_by(alpha_code_panics),
        &["refused, nothing changed", "the new hot entry panics"],
    );
    assert_eq!(ran, 0, "no hook ran");
}

#[test]
fn a_description_naming_another_plugin_is_refused() {
    let ran = not_kept(
        described_by(alpha_code_is_beta),
        &["refused, nothing changed", "describes plugin `hp-beta`"],
    );
    assert_eq!(ran, 0, "no hook ran");
}

#[test]
fn a_description_of_another_type_under_the_same_name_is_refused() {
    not_kept(
        described_by(alpha_code_with_beta_functions),
        &[
            "refused, nothing changed",
            "describes plugin `hp-alpha` of type",
            "Beta",
        ],
    );
}

#[test]
fn a_table_leading_a_hot_entry_to_another_plugin_is_rolled_back() {
    not_kept(
        entry_redirected(alpha_code_is_beta),
        &["rolled back", "describes plugin `hp-beta`"],
    );
}

#[test]
fn the_patch_thread_survives_a_panicking_patch_and_applies_the_next() {
    let _serial = serial();
    let system = system(config(2));
    tick(&system);
    let before = observe(&system);
    let events = record(&system);

    let (tx, rx) = mpsc::channel();
    let patch = |(table, _): (JumpTable, CodeManifest)| Intake::Patch {
        table,
        ms_elapsed: 0,
        received: Instant::now(),
    };
    tx.send(patch(entry_redirected(alpha_code_panics))).unwrap();
    tx.send(patch(alpha_edit())).unwrap();
    drop(tx);
    let status = testing::run_intake(&system, &rx);

    assert_eq!(
        (status.received, status.applied, status.rolled_back),
        (2, 1, 1),
        "{status:?}"
    );
    let receipts: Vec<PatchReceipt> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::PatchApplied(r) => Some((**r).clone()),
            _ => None,
        })
        .collect();
    assert_eq!(receipts.len(), 2, "{receipts:?}");
    assert!(
        !receipts[0].applied && receipts[0].note.contains("the new hot entry panics"),
        "{:?}",
        receipts[0]
    );
    assert!(receipts[1].applied, "{:?}", receipts[1]);
    assert_eq!(system.with::<Alpha, _>(Alpha::step).unwrap(), 10);
    assert_eq!(alpha_count(&system), before.1 / 1000, "state kept");
    assert!(system.reload_plugin("hp-alpha").success);
}
