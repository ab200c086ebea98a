//! A patch that edits a plugin's attribute (its version, its dependencies):
//! the new metadata is validated before the patch goes in, and the status
//! shows it once it is in. Synthetic patches, as in `patch_apply.rs`.

#![allow(clippy::unwrap_used, missing_docs, dead_code, unused_imports)]

include!("support/plugins.rs");

use tony_core::__private::MetadataParts;

/// `fn $name() -> &'static Generated`: Alpha's hot entry as a patch that
/// edits its attribute (`$field: $value` of its metadata) would bring it.
macro_rules! alpha_code {
    ($name:ident, $($field:ident: $value:expr),+) => {
        fn $name() -> &'static Generated {
            static CODE: LazyLock<Generated> = LazyLock::new(|| Generated {
                metadata: MetadataParts {
                    $($field: $value,)+
                    ..Alpha::__tony_plugin_code().metadata
                },
                ..*Alpha::__tony_plugin_code()
            });
            &CODE
        }
    };
}

alpha_code!(alpha_v2_0, version: "2.0.0");
alpha_code!(alpha_v1_1, version: "1.1.0");
alpha_code!(alpha_needs_a_stranger, dependencies: &[("hp-stranger", "^1", false)]);
alpha_code!(alpha_needs_its_user, dependencies: &[("hp-alpha-user", "^1", false)]);
alpha_code!(alpha_needs_beta, dependencies: &[("hp-beta", "^1", false)]);

/// A patch of Alpha's attribute: the jump table leads Alpha's hot entry to
/// `entry`, and the incoming code is behind it (a struct edit).
fn attribute_edit(entry: fn() -> &'static Generated) -> (JumpTable, CodeManifest) {
    (
        table(vec![(fn_key(Alpha::__tony_plugin_code), fn_key(entry))]),
        incoming([code_of("hp-alpha")
            .with_entry(entry)
            .with_block("", 0x5eed_0002)]),
    )
}

fn version_of(system: &PluginSystem, name: &str) -> String {
    system
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.version.to_string())
        .unwrap()
}

#[test]
fn a_version_bump_past_a_dependents_range_is_refused_and_changes_nothing() {
    let _serial = serial();
    let system = system(config(2));
    tick(&system);
    let before = observe(&system);
    let activations = (count(&ALPHA_ACTIVATED), count(&USER_ACTIVATED));

    let receipt = apply(&system, attribute_edit(alpha_v2_0));

    assert!(!receipt.applied, "{receipt:?}");
    assert!(
        receipt.note.contains("refused, nothing changed")
            && receipt
                .note
                .contains("version 2.0.0 breaks dependent `hp-alpha-user`"),
        "{}",
        receipt.note
    );
    assert!(receipt.cycled.is_empty(), "nothing was cycled: {receipt:?}");
    assert_eq!(
        (count(&ALPHA_ACTIVATED), count(&USER_ACTIVATED)),
        activations,
        "no hook ran"
    );
    assert_eq!(version_of(&system, "hp-alpha"), "1.0.0");
    assert_eq!(observe(&system), before, "everything as it was");
}

#[test]
fn a_new_dependency_on_a_plugin_nobody_has_is_refused() {
    let _serial = serial();
    let system = system(config(2));
    let before = observe(&system);

    let receipt = apply(&system, attribute_edit(alpha_needs_a_stranger));

    assert!(!receipt.applied, "{receipt:?}");
    assert!(
        receipt
            .note
            .contains("requires `hp-stranger` ^1, which is not registered"),
        "{}",
        receipt.note
    );
    assert_eq!(observe(&system), before, "everything as it was");
}

#[test]
fn a_compatible_version_bump_is_applied_and_shown() {
    let _serial = serial();
    let system = system(config(2));
    tick(&system);

    let receipt = apply(&system, attribute_edit(alpha_v1_1));

    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.cycled, ["hp-alpha", "hp-alpha-user"]);
    assert_eq!(
        version_of(&system, "hp-alpha"),
        "1.1.0",
        "the status shows the patch's version"
    );
    assert_eq!(alpha_count(&system), 1, "state kept");
    assert_eq!(tick(&system), 2, "and the plugin runs on");

    // Back to the binary's own code: its version again.
    let back = apply(
        &system,
        (
            testing::original().unwrap(),
            CodeManifest::original().clone(),
        ),
    );
    assert!(back.applied, "{back:?}");
    assert_eq!(version_of(&system, "hp-alpha"), "1.0.0");
}

#[test]
fn a_dependency_cycle_is_refused() {
    let _serial = serial();
    let system = system(config(2));
    let before = observe(&system);

    let receipt = apply(&system, attribute_edit(alpha_needs_its_user));

    assert!(!receipt.applied, "{receipt:?}");
    assert!(receipt.note.contains("cycle"), "{}", receipt.note);
    assert_eq!(observe(&system), before, "everything as it was");
    assert!(
        system.reload_plugin("hp-alpha").success,
        "and it still reloads"
    );
}

#[test]
fn plugins_patched_together_activate_in_the_order_of_their_new_dependencies() {
    let _serial = serial();
    let system = system(config(2));
    let events = record(&system);

    // Alpha now depends on Beta, and Beta's code changed in the same patch.
    let (table, code) = attribute_edit(alpha_needs_beta);
    let code = code.with_plugin(code_of("hp-beta").with_block("", 0x5eed_0003));
    let receipt = apply(&system, (table, code));

    assert!(receipt.applied, "{receipt:?}");
    let restored: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StateRestored { plugin, .. } => Some(plugin.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(restored, ["hp-beta", "hp-alpha", "hp-alpha-user"]);
}
