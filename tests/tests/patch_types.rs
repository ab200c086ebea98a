//! Plugin types a hot patch adds or removes: registered, resolved and
//! activated; deactivated and unloaded, or refused while active plugins
//! depend on them. The incoming code is described as a patch library would
//! submit it (see `support/plugins.rs`).

#![allow(clippy::unwrap_used, missing_docs, dead_code, unused_imports)]

include!("support/plugins.rs");

fn names(system: &PluginSystem) -> Vec<(String, PluginState)> {
    system
        .status()
        .into_iter()
        .map(|s| (s.name, s.state))
        .collect()
}

/// The running code without `hp-epsilon`, as if the binary never had it.
fn start_without_epsilon() {
    tony_core::__private::commit_running(
        CodeManifest::original()
            .clone()
            .without_plugin("hp-epsilon"),
    );
}

#[test]
fn a_new_plugin_type_is_registered_resolved_and_activated() {
    let _serial = serial();
    start_without_epsilon();
    let system = system(config(3));
    let events = record(&system);
    assert!(
        system.with::<Epsilon, _>(|e| e.bumps).is_err(),
        "unknown at first"
    );

    let receipt = apply(&system, (table(vec![]), incoming([])));
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.added, ["hp-epsilon"]);
    assert!(receipt.changed.is_empty() && receipt.cycled.is_empty());
    assert_eq!(receipt.restart_needed, None);
    assert!(
        receipt.note.contains("hp-epsilon: new plugin type"),
        "{}",
        receipt.note
    );
    assert!(names(&system).contains(&("hp-epsilon".into(), PluginState::Active)));
    assert_eq!(system.with_mut::<Epsilon, _>(Epsilon::bump).unwrap(), 1);
    assert!(kinds(&events).contains(&EventKind::PluginLoaded));

    // A later patch that edits it: detected, cycled, state kept.
    let receipt = apply(
        &system,
        (
            table(vec![]),
            incoming([code_of("hp-epsilon").with_method("bump", 0x5eed)]),
        ),
    );
    assert_eq!(receipt.changed, ["hp-epsilon"], "{receipt:?}");
    assert_eq!(receipt.cycled, ["hp-epsilon"]);
    assert_eq!(system.with_mut::<Epsilon, _>(Epsilon::bump).unwrap(), 2);
}

#[test]
fn a_new_plugin_whose_dependency_is_missing_asks_for_a_restart() {
    let _serial = serial();
    start_without_epsilon();
    // A system without Alpha: Epsilon's dependency is missing.
    let system = PluginSystem::builder()
        .config(config(3))
        .register_inventory(false)
        .plugin::<Beta>()
        .build()
        .unwrap();
    system.initialize().unwrap();

    let receipt = apply(&system, (table(vec![]), incoming([])));
    assert!(receipt.applied, "{receipt:?}");
    let why = receipt.restart_needed.clone().unwrap_or_default();
    assert!(
        why.contains("hp-epsilon") && why.contains("hp-alpha"),
        "{why}"
    );
    assert!(receipt.note.contains("restart needed"), "{}", receipt.note);
}

#[test]
fn a_removed_plugin_type_is_unloaded() {
    let _serial = serial();
    let system = system(config(3));
    let events = record(&system);

    let receipt = apply(
        &system,
        (
            table(vec![]),
            CodeManifest::original().clone().without_plugin("hp-beta"),
        ),
    );
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.removed, ["hp-beta"]);
    assert!(
        receipt.note.contains("hp-beta: plugin type removed"),
        "{}",
        receipt.note
    );
    assert!(
        names(&system).iter().all(|(n, _)| n != "hp-beta"),
        "{:?}",
        names(&system)
    );
    assert!(system.with::<Beta, _>(Beta::value).is_err());
    assert!(kinds(&events).contains(&EventKind::PluginUnloaded));
    assert!(CodeManifest::running().get("hp-beta").is_none());
}

#[test]
fn removing_a_type_active_plugins_depend_on_is_refused_and_retried() {
    let _serial = serial();
    let system = system(config(3));
    let without_alpha = || CodeManifest::original().clone().without_plugin("hp-alpha");

    let receipt = apply(&system, (table(vec![]), without_alpha()));
    assert!(receipt.removed.is_empty(), "{receipt:?}");
    let why = receipt.restart_needed.clone().unwrap_or_default();
    assert!(why.contains("hp-alpha-user"), "names the dependent: {why}");
    assert_eq!(tick(&system), 1, "A runs on");

    // The next patch of the crate tries again (still refused here).
    let again = apply(&system, (table(vec![]), without_alpha()));
    assert!(again.restart_needed.is_some(), "{again:?}");
}
