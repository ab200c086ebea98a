//! What a hot patch changes, told from the code the macro describes: each
//! version of a plugin below is real `#[tony_plugin]` output (its struct
//! and impl blocks, with their per-method hashes), and a patch's incoming
//! code is a version renamed to the plugin it replaces. Edits that rename
//! the functions the macro generates (adding, renaming, removing methods,
//! adding blocks) are detected, and so is every later edit of the new code.

#![allow(clippy::unwrap_used, missing_docs, dead_code)]

use tony_core::{ChangeKind, CodeDiff, PluginChange};
use tony_core::{CodeManifest, PluginCode};

/// Version 1: what the app started with.
mod v1 {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    #[tony_plugin(name = "det-v1", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Counter {
        count: u64,
    }

    #[tony_plugin]
    impl Counter {
        fn step(&self) -> u64 {
            1
        }

        fn tick(&mut self) -> u64 {
            self.count += self.step();
            self.count
        }
    }

    #[tony_plugin]
    impl Plugin for Counter {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            Ok(())
        }
    }
}

/// A method added and called from `tick`.
mod v2 {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    #[tony_plugin(name = "det-v2", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Counter {
        count: u64,
    }

    #[tony_plugin]
    impl Counter {
        fn step(&self) -> u64 {
            1
        }

        fn helper(&self) -> u64 {
            2
        }

        fn tick(&mut self) -> u64 {
            self.count += self.step() + self.helper();
            self.count
        }
    }

    #[tony_plugin]
    impl Plugin for Counter {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            Ok(())
        }
    }
}

/// A later edit of the method added in v2.
mod v3 {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    #[tony_plugin(name = "det-v3", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Counter {
        count: u64,
    }

    #[tony_plugin]
    impl Counter {
        fn step(&self) -> u64 {
            1
        }

        fn helper(&self) -> u64 {
            3
        }

        fn tick(&mut self) -> u64 {
            self.count += self.step() + self.helper();
            self.count
        }
    }

    #[tony_plugin]
    impl Plugin for Counter {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            Ok(())
        }
    }
}

/// `step` renamed `stride`, a second inherent block, `activate` edited, a
/// field added.
mod v4 {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    #[tony_plugin(name = "det-v4", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Counter {
        count: u64,
        bonus: u64,
    }

    #[tony_plugin]
    impl Counter {
        fn stride(&self) -> u64 {
            1
        }

        fn helper(&self) -> u64 {
            3
        }

        fn tick(&mut self) -> u64 {
            self.count += self.stride() + self.helper();
            self.count
        }
    }

    #[tony_plugin]
    impl Counter {
        fn reset(&mut self) {
            self.count = 0;
        }
    }

    #[tony_plugin]
    impl Plugin for Counter {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            self.bonus += 1;
            Ok(())
        }
    }
}

/// Another plugin of the crate, unchanged across every version.
mod other {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    #[tony_plugin(name = "det-other", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Other;

    #[tony_plugin]
    impl Plugin for Other {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            Ok(())
        }
    }
}

/// Version `v` of the counter, as the plugin `det-counter`.
fn counter(v: u32) -> PluginCode {
    let name = format!("det-v{v}");
    CodeManifest::original()
        .get(&name)
        .unwrap_or_else(|| panic!("{name} is not registered"))
        .clone()
        .renamed("det-counter")
}

/// The code of a binary (or patch library) of this crate with the counter
/// at version `v`.
fn binary(v: u32) -> CodeManifest {
    let other = CodeManifest::original().get("det-other").unwrap().clone();
    CodeManifest::default()
        .with_plugin(other)
        .with_plugin(counter(v))
}

/// The changes as (plugin, kind) pairs.
fn kinds(changes: &[PluginChange]) -> Vec<(&str, ChangeKind)> {
    changes
        .iter()
        .map(|c| (c.plugin.as_str(), c.kind.clone()))
        .collect()
}

fn only_change(changes: &[PluginChange]) -> &CodeDiff {
    match changes {
        [
            PluginChange {
                plugin,
                kind: ChangeKind::Modified(d),
                ..
            },
        ] if plugin == "det-counter" => d,
        other => panic!("expected one change of det-counter, got {other:?}"),
    }
}

#[test]
fn a_method_added_and_called_is_detected() {
    let changes = binary(1).diff(&binary(2));
    let d = only_change(&changes);
    assert_eq!(d.methods_added, ["helper"]);
    assert_eq!(d.methods_changed, ["tick"]);
    assert!(d.methods_removed.is_empty(), "{d:?}");
    assert!(!d.state_layout_changed, "{d:?}");
    // (The struct "changed" only because each version has its own `name`.)
    assert_eq!(
        changes[0].to_string(),
        "det-counter: methods added: helper; methods changed: tick; \
         struct changed (same state layout)"
    );
}

#[test]
fn every_later_edit_of_the_new_code_is_detected() {
    // The patch that added `helper` is applied: its code is what runs.
    let running = binary(1).patched(&binary(2), &[]);
    assert!(running.diff(&binary(2)).is_empty(), "nothing new any more");

    // The next patch edits only `helper`, the method the first one added.
    let changes = running.diff(&binary(3));
    let d = only_change(&changes);
    assert_eq!(d.methods_changed, ["helper"]);
    assert!(d.methods_added.is_empty() && d.methods_removed.is_empty());

    // And the one after, every kind of edit at once.
    let running = running.patched(&binary(3), &[]);
    let changes = running.diff(&binary(4));
    let d = only_change(&changes);
    assert_eq!(d.methods_added, ["reset", "stride"]);
    assert_eq!(d.methods_removed, ["step"], "renamed away");
    assert_eq!(d.methods_changed, ["Plugin::activate", "tick"]);
    assert_eq!(d.blocks_added, ["impl of `det-counter`"], "a second block");
    assert!(d.state_layout_changed, "a field was added");
}

#[test]
fn code_fingerprints_follow_every_edit() {
    let codes: Vec<u64> = (1..=4).map(|v| counter(v).code()).collect();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            assert_ne!(a, b, "{codes:x?}");
        }
    }
    assert_eq!(counter(2).state(), counter(1).state(), "no field changed");
    assert_ne!(counter(4).state(), counter(1).state());
    assert_eq!(
        counter(2).methods().collect::<Vec<_>>(),
        ["Plugin::activate", "helper", "step", "tick"]
    );
}

#[test]
fn new_and_removed_plugin_types_are_told_apart_from_other_crates() {
    // A new plugin type in the patch.
    let without = CodeManifest::default().with_plugin(counter(1));
    let changes = without.diff(&binary(1));
    assert_eq!(kinds(&changes), [("det-other", ChangeKind::Added)]);
    // The crate recompiled without `det-other`: removed.
    let changes = binary(1).diff(&without);
    assert_eq!(kinds(&changes), [("det-other", ChangeKind::Removed)]);
    // A patch of another crate says nothing about this crate's plugins.
    assert!(binary(1).diff(&CodeManifest::default()).is_empty());
    // Removing leaves the rest of the running code.
    let after = binary(1).patched(&without, &["det-other".to_owned()]);
    assert!(after.get("det-other").is_none() && after.get("det-counter").is_some());
}

/// A package with a library and a binary (`src/lib.rs` + `src/main.rs`)
/// compiles two units with one crate name. dx recompiles the binary
/// without the library: its patch describes the binary's plugins only, and
/// must not be read as the library's plugins being deleted.
#[test]
fn a_patch_of_the_binary_never_removes_the_library_plugins_of_its_package() {
    // Running: `det-other` from the library, `det-counter` from the binary.
    let running = CodeManifest::default()
        .with_plugin(CodeManifest::original().get("det-other").unwrap().clone())
        .with_plugin(counter(1).in_bin(Some("solo")));
    // The patch recompiled the binary: it describes `det-counter` only.
    let patch = CodeManifest::default().with_plugin(counter(2).in_bin(Some("solo")));
    let changes = running.diff(&patch);
    assert_eq!(kinds(&changes).len(), 1, "{changes:?}");
    assert_eq!(changes[0].plugin, "det-counter");
    assert!(matches!(changes[0].kind, ChangeKind::Modified(_)));
    // And once applied, a later patch of the binary still keeps it.
    let after = running.patched(&patch, &[]);
    assert!(after.get("det-other").is_some());
    assert!(after.diff(&patch).is_empty());
    // A patch of the library that lacks it does remove it.
    let library = CodeManifest::default().with_plugin(counter(1).renamed("det-lib-new"));
    let changes = after.diff(&library);
    assert!(
        changes
            .iter()
            .any(|c| c.plugin == "det-other" && c.kind == ChangeKind::Removed),
        "{changes:?}"
    );
}

#[test]
fn the_binary_describes_each_plugin_once_with_its_blocks() {
    let original = CodeManifest::original();
    for v in 1..=4 {
        assert!(original.get(&format!("det-v{v}")).is_some());
    }
    assert_eq!(
        original
            .get("det-other")
            .unwrap()
            .methods()
            .collect::<Vec<_>>(),
        ["Plugin::activate"]
    );
    // Nothing was loaded since the binary started.
    assert!(tony_core::__private::Watermark::now().incoming().is_empty());
}
