//! A hot patch that changes a plugin's state layout: the instance is
//! rebuilt from its snapshot by the new code (migrated, or reset and said
//! so), and host code run through `tony_core::hot::call` reaches it with the
//! new layout.

#![allow(clippy::unwrap_used, missing_docs, dead_code, unused_imports)]

include!("support/plugins.rs");

// 7. A changed state layout: rebuilt from the snapshot by the new code
// ---------------------------------------------------------------------------

fn layout_system<T: PluginType>() -> PluginSystem {
    let system = PluginSystem::builder()
        .config(config(3))
        .register_inventory(false)
        .plugin::<T>()
        .build()
        .unwrap();
    system.initialize().unwrap();
    let snapshot = system.create_state_snapshot(T::NAME).unwrap();
    assert_eq!(snapshot.old_state().decode::<u64>().unwrap(), 0);
    system
}

/// The state of `name` as the live code encodes it.
fn stored_count(system: &PluginSystem, name: &str) -> (u64, u64) {
    let snapshot = system.create_state_snapshot(name).unwrap();
    (
        snapshot.old_state().decode::<u64>().unwrap(),
        snapshot.fingerprint,
    )
}

#[test]
fn a_changed_state_layout_is_migrated_by_the_new_code() {
    let _serial = serial();
    let system = layout_system::<Gamma>();
    system.with_mut::<Gamma, _>(|g| g.count = 7).unwrap();
    let old = live_fingerprints(&system, "hp-gamma");
    assert_eq!(old.state, Gamma::STATE_FINGERPRINT);
    let events = record(&system);

    let receipt = apply(
        &system,
        (
            table(vec![
                (fn_key(Gamma::__tony_plugin_code), fn_key(gamma_code_v2)),
                (
                    hot_key(&Gamma::__tony_hot_Plugin_migrate),
                    hot_key(&gamma_migrate_v2),
                ),
            ]),
            incoming([code_of("hp-gamma")
                .with_state(gamma_fingerprints_v2().state)
                .with_method("Plugin::migrate", 0x5eed_0003)]),
        ),
    );
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-gamma"]);
    assert!(receipt.note.contains("state preserved"), "{}", receipt.note);

    assert_eq!(count(&NEW_MIGRATE_RAN), 1, "the new code's migrate ran");
    assert_eq!(
        *MIGRATED_FROM.lock().unwrap(),
        Some((1, old.state)),
        "it was handed the old snapshot's state version and fingerprint"
    );
    let results = reload_results(&events);
    assert_eq!(
        results[0].states,
        [(
            "hp-gamma".to_owned(),
            StateRestore::Migrated {
                from_state_version: 1
            }
        )]
    );
    assert!(results[0].state_preserved && results[0].state_note().is_none());
    assert_eq!(
        LAYOUT_SEEN.load(Ordering::SeqCst),
        7000,
        "activated migrated"
    );
    assert_eq!(
        stored_count(&system, "hp-gamma"),
        (7000, gamma_fingerprints_v2().state)
    );
    // Code compiled against the old layout may not touch the new instance.
    assert!(matches!(
        system.with::<Gamma, _>(|g| g.count),
        Err(AccessError::StaleLayout { .. })
    ));
}

#[test]
fn a_changed_state_layout_without_migration_resets_and_says_so() {
    let _serial = serial();
    let system = layout_system::<Delta>();
    system.with_mut::<Delta, _>(|d| d.count = 7).unwrap();
    let events = record(&system);

    let receipt = apply(
        &system,
        (
            table(vec![(
                fn_key(Delta::__tony_plugin_code),
                fn_key(delta_code_v2),
            )]),
            incoming([code_of("hp-delta").with_state(delta_fingerprints_v2().state)]),
        ),
    );
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-delta"]);
    assert!(
        receipt.note.contains("state reset") && receipt.note.contains("no migration"),
        "{}",
        receipt.note
    );
    let results = reload_results(&events);
    assert!(!results[0].state_preserved);
    assert!(matches!(
        results[0].states[..],
        [(ref p, StateRestore::Reset { .. })] if p == "hp-delta"
    ));
    assert!(
        results[0]
            .state_note()
            .is_some_and(|n| n.starts_with("hp-delta")),
        "{:?}",
        results[0].state_note()
    );
    let reset_events: Vec<bool> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StateRestored { plugin, how } if plugin == "hp-delta" => {
                Some(matches!(how, StateRestore::Reset { .. }))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reset_events, [true], "an event says so too");
    assert_eq!(
        LAYOUT_SEEN.load(Ordering::SeqCst),
        0,
        "activated from default"
    );
    assert_eq!(
        stored_count(&system, "hp-delta"),
        (0, delta_fingerprints_v2().state)
    );
}
