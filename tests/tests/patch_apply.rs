//! Hot patches applied as reload transactions, without dx: synthetic jump
//! tables point `#[tony_plugin]` functions at replacement functions compiled
//! into this test binary (which exports `main`, see `build.rs`), and the
//! incoming code is described as a patch library would submit it.

#![allow(clippy::unwrap_used, missing_docs, dead_code, unused_imports)]

include!("support/plugins.rs");

// ---------------------------------------------------------------------------
// 1. A method is redirected, and the original comes back
// ---------------------------------------------------------------------------

#[test]
fn a_plugin_method_is_redirected_and_an_empty_table_restores_it() {
    let _serial = serial();
    let mut alpha = Alpha { count: 5 };
    assert_eq!(alpha.step(), 1);

    Patch::new(table(vec![(
        hot_key(&Alpha::__tony_hot_step),
        hot_key(&alpha_step_v2),
    )]))
    .unwrap()
    .apply()
    .unwrap();
    assert_eq!(alpha.step(), 10, "the visible method runs the new code");
    assert_eq!(
        alpha.tick(),
        15,
        "callers of the method see the new code too"
    );

    Patch::new(testing::original().unwrap())
        .unwrap()
        .apply()
        .unwrap();
    assert_eq!(alpha.step(), 1, "an empty-map table restores the original");
    assert_eq!(alpha.tick(), 16);
}

// ---------------------------------------------------------------------------
// 2. A changed plugin is cycled with its dependent, not an unrelated one
// ---------------------------------------------------------------------------

#[test]
fn a_patch_cycles_the_changed_plugin_and_its_dependent_only() {
    let _serial = serial();
    let system = system(config(3));
    for _ in 0..3 {
        tick(&system);
    }
    assert_eq!(alpha_count(&system), 3);
    let before = live_fingerprints(&system, "hp-alpha");
    let beta_before = live_fingerprints(&system, "hp-beta");
    assert_eq!(
        (
            count(&ALPHA_ACTIVATED),
            count(&USER_ACTIVATED),
            count(&BETA_ACTIVATED)
        ),
        (1, 1, 1)
    );
    let events = record(&system);

    let receipt = apply(&system, alpha_edit());
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-alpha"]);
    assert_eq!(receipt.cycled, ["hp-alpha", "hp-alpha-user"]);
    assert_eq!(receipt.changes.len(), 1, "{:?}", receipt.changes);
    match &receipt.changes[0].kind {
        ChangeKind::Modified(d) => {
            assert_eq!(d.methods_changed, ["step"]);
            assert!(d.methods_added.is_empty() && d.methods_removed.is_empty());
            assert!(!d.state_layout_changed);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        receipt.note.contains("hp-alpha: methods changed: step")
            && receipt.note.contains("state preserved"),
        "{}",
        receipt.note
    );

    // A and its dependent were cycled, B was not touched.
    assert_eq!(
        (
            count(&ALPHA_ACTIVATED),
            count(&USER_ACTIVATED),
            count(&BETA_ACTIVATED)
        ),
        (2, 2, 1)
    );
    let started: Vec<Vec<String>> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::ReloadStarted { plugins, trigger } => {
                assert_eq!(*trigger, Trigger::Patch);
                Some(plugins.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(started, [["hp-alpha"]]);
    let preserved: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StatePreserved { plugin, .. } => Some(plugin.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(preserved, ["hp-alpha-user", "hp-alpha"], "dependents first");
    let results = reload_results(&events);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].dependents_reloaded, ["hp-alpha-user"]);
    assert!(
        results[0]
            .states
            .iter()
            .all(|(_, s)| *s == StateRestore::Decoded)
    );
    assert!(
        kinds(&events).contains(&EventKind::PatchApplied),
        "the receipt is published"
    );

    // State kept, new code running, new fingerprint live, B unchanged.
    assert_eq!(alpha_count(&system), 3, "A's counter survived the patch");
    assert_eq!(
        system.with::<AlphaUser, _>(|u| u.activations).unwrap(),
        2,
        "the dependent kept its state and was activated again"
    );
    assert_eq!(tick(&system), 13, "the new step runs");
    let after = live_fingerprints(&system, "hp-alpha");
    assert_ne!(after.code, before.code, "the new code fingerprint is live");
    assert_eq!(after.state, before.state);
    assert_eq!(live_fingerprints(&system, "hp-beta"), beta_before);
    assert_eq!(system.with::<Beta, _>(Beta::value).unwrap(), 100);
}

// ---------------------------------------------------------------------------
// 3. A failing new `activate` rolls back to the old code and state
// ---------------------------------------------------------------------------

/// An edit of A's `step` and `activate`.
fn failing_patch(new_activate: u64) -> (JumpTable, CodeManifest) {
    (
        table(vec![
            (hot_key(&Alpha::__tony_hot_step), hot_key(&alpha_step_v2)),
            (hot_key(&Alpha::__tony_hot_Plugin_activate), new_activate),
        ]),
        incoming([code_of("hp-alpha")
            .with_method("step", 0x5eed_0001)
            .with_method("Plugin::activate", 0x5eed_0002)]),
    )
}

/// Applies `patch`, expects a rollback after `attempts` tries of the new
/// `activate`, and the old code and state afterwards.
fn expect_rollback(
    system: &PluginSystem,
    patch: (JumpTable, CodeManifest),
    attempts: u32,
    message: &str,
) {
    let events = record(system);
    let count_before = alpha_count(system);
    let fingerprints_before = live_fingerprints(system, "hp-alpha");
    let old_activations = count(&ALPHA_ACTIVATED);
    NEW_ACTIVATE_RAN.store(0, Ordering::SeqCst);

    let receipt = apply(system, patch);
    assert!(!receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-alpha"]);
    assert!(
        receipt.note.contains("rolled back") && receipt.note.contains(message),
        "{}",
        receipt.note
    );
    assert_eq!(count(&NEW_ACTIVATE_RAN), attempts, "max_retry_attempts");
    let results = reload_results(&events);
    assert_eq!(results.len(), 1);
    assert!(!results[0].success && results[0].rolled_back);
    assert_eq!(results[0].attempts, attempts);
    assert!(results[0].failed.is_empty(), "{:?}", results[0].failed);
    assert!(kinds(&events).contains(&EventKind::ReloadFailed));

    // The old activate ran once more (the rollback), the old code is back.
    assert_eq!(count(&ALPHA_ACTIVATED), old_activations + 1);
    assert_eq!(alpha_count(system), count_before, "old state");
    assert_eq!(
        live_fingerprints(system, "hp-alpha"),
        fingerprints_before,
        "the old code fingerprint is live again"
    );
    assert!(
        system
            .status()
            .iter()
            .all(|s| s.state == PluginState::Active)
    );
    assert_eq!(tick(system), count_before + 1, "the old step runs again");
}

#[test]
fn a_patch_whose_activate_fails_or_panics_is_rolled_back() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    tick(&system);

    expect_rollback(
        &system,
        failing_patch(hot_key(&alpha_activate_fails)),
        3,
        "the new activate refuses",
    );
    expect_rollback(
        &system,
        failing_patch(hot_key(&alpha_activate_panics)),
        3,
        "the new activate panics",
    );
    assert_eq!(alpha_count(&system), 4);

    // The retry limit is the configured one, not a constant.
    let once = self::system(config(1));
    expect_rollback(
        &once,
        failing_patch(hot_key(&alpha_activate_fails)),
        1,
        "the new activate refuses",
    );
}

// ---------------------------------------------------------------------------

// 6. A patch that changes no plugin cycles nothing
// ---------------------------------------------------------------------------

#[test]
fn a_patch_of_non_plugin_code_changes_no_plugin() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    let events = record(&system);
    let before = observe(&system);
    let call_helper = || subsecond::HotFn::current(helper).call(());
    assert_eq!(call_helper(), 1);

    // Only a non-plugin function; the library has no plugin.
    let receipt = apply(
        &system,
        (
            table(vec![(hot_key(&helper), hot_key(&helper_v2))]),
            CodeManifest::default(),
        ),
    );
    assert_eq!(receipt.note, "no plugin changed: code outside plugins");
    assert!(receipt.applied && receipt.changed.is_empty() && receipt.cycled.is_empty());
    assert!(receipt.recompiled.is_empty(), "no crate with plugins");
    assert_eq!(call_helper(), 2, "the table was applied");

    // As dx sends it: the recompiled crate's plugins are in the table and
    // in the library too, unchanged.
    let receipt = apply(
        &system,
        (
            table(vec![
                (hot_key(&helper), hot_key(&helper_v2)),
                (hot_key(&Beta::__tony_hot_value), hot_key(&beta_value_same)),
            ]),
            incoming([]),
        ),
    );
    assert_eq!(receipt.note, "no plugin changed: code outside plugins");
    assert!(receipt.applied && receipt.changed.is_empty() && receipt.cycled.is_empty());
    // But the crate was recompiled: an edit saved in it is in this patch.
    assert_eq!(receipt.recompiled, ["patch_apply"]);

    let seen = kinds(&events);
    assert!(!seen.contains(&EventKind::ReloadStarted), "{seen:?}");
    assert!(!seen.contains(&EventKind::StatePreserved), "{seen:?}");
    assert_eq!(seen, [EventKind::PatchApplied, EventKind::PatchApplied]);
    assert_eq!(observe(&system), before, "nothing cycled");
    assert_eq!((count(&ALPHA_ACTIVATED), count(&BETA_ACTIVATED)), (1, 1));
}

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// 5. New code whose fingerprint fn panics is rolled back, not half applied
// ---------------------------------------------------------------------------

fn alpha_fingerprints_panic() -> Fingerprints {
    panic!("the new fingerprint fn panics");
}

fn alpha_code_panicking() -> &'static Generated {
    static CODE: LazyLock<Generated> =
        LazyLock::new(|| with_fingerprints(Alpha::__tony_plugin_code(), alpha_fingerprints_panic));
    &CODE
}

#[test]
fn a_patch_whose_new_fingerprint_fn_panics_is_rolled_back() {
    let _serial = serial();
    let system = system(config(2));
    tick(&system);
    let before = observe(&system);

    let receipt = apply(
        &system,
        (
            table(vec![
                (hot_key(&Alpha::__tony_hot_step), hot_key(&alpha_step_v2)),
                (
                    fn_key(Alpha::__tony_plugin_code),
                    fn_key(alpha_code_panicking),
                ),
            ]),
            incoming([code_of("hp-alpha").with_method("step", 0x5eed_0001)]),
        ),
    );
    assert!(!receipt.applied, "{receipt:?}");
    assert!(
        receipt.note.contains("rolled back") && receipt.note.contains("fingerprint fn panics"),
        "{}",
        receipt.note
    );
    let after = observe(&system);
    assert_eq!(
        (&after.0, after.1, after.2),
        (&before.0, before.1, before.2),
        "the old code and state are back"
    );
    assert_eq!(after.3, before.3 + 1, "the dependent was cycled back once");

    // And the plugin still reloads: the panicking code is gone for good.
    let again = system.reload_plugin("hp-alpha");
    assert!(again.success, "{:?}", again.error);
    assert_eq!(tick(&system), 2, "the original step");
}
