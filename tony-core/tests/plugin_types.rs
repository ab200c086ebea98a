//! Adding, removing and replacing plugin types while the system runs (what
//! a hot patch that brings or drops a `#[tony_plugin]` struct needs).
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use tony_core::error::{RegistryError, SystemError};
use tony_core::{
    BoxError, Context, Metadata, Plugin, PluginDescriptor, PluginState, PluginSystem, PluginType,
};

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Base {
    n: u64,
}
impl Plugin for Base {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}
impl PluginType for Base {
    const NAME: &'static str = "base";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(Metadata::new("base", "1.0.0"))
    }
}

/// Provides this while active.
struct Tool;

#[derive(Default)]
struct Extra;
impl Plugin for Extra {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        assert!(ctx.dependency("base").is_some());
        ctx.provide(Tool)?;
        Ok(())
    }
}

simple_plugin!(Top, "top", "1.0.0", dep "extra" "^1");
simple_plugin!(Orphan, "orphan", "1.0.0", dep "missing" "^1");

fn extra() -> PluginDescriptor {
    PluginDescriptor::stateless::<Extra>(
        Metadata::new("extra", "1.0.0").with_dependency("base", "^1"),
    )
}

fn system() -> PluginSystem {
    let system = common::system(vec![Base::descriptor()]);
    system.initialize().unwrap();
    system.with_mut::<Base, _>(|b| b.n = 5).unwrap();
    system
}

fn state(system: &PluginSystem, name: &str) -> Option<PluginState> {
    system
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.state)
}

#[test]
fn added_types_are_resolved_against_the_running_ones_and_activated_in_order() {
    let system = system();
    let receipt = system
        .add_plugin_types(vec![Top::descriptor(), Orphan::descriptor(), extra()])
        .unwrap();
    assert_eq!(receipt.added, ["extra", "orphan", "top"]);
    assert_eq!(receipt.activated, ["extra", "top"]);
    assert_eq!(receipt.failed.len(), 1);
    assert_eq!(receipt.failed[0].0, "orphan");
    assert!(
        receipt.failed[0].1.contains("missing"),
        "{:?}",
        receipt.failed
    );
    assert_eq!(state(&system, "top"), Some(PluginState::Active));
    assert_eq!(state(&system, "orphan"), Some(PluginState::Registered));
    assert!(system.service::<Tool>().is_some());
    // Adding the same types again changes nothing.
    let again = system.add_plugin_types(vec![extra()]).unwrap();
    assert!(again.added.is_empty());
    assert_eq!(again.already_registered, ["extra"]);
    // The running plugin kept its state throughout.
    assert_eq!(system.with::<Base, _>(|b| b.n).unwrap(), 5);
}

#[test]
fn a_type_whose_name_is_taken_is_refused_and_nothing_changes() {
    let system = system();
    let impostor = PluginDescriptor::stateless::<Extra>(Metadata::new("base", "2.0.0"));
    let err = system
        .add_plugin_types(vec![extra(), impostor])
        .unwrap_err();
    let SystemError::Registry(RegistryError::Duplicate { name, .. }) = &err else {
        panic!("{err}")
    };
    assert_eq!(name, "base");
    assert!(
        err.to_string().contains("Extra") && err.to_string().contains("Base"),
        "{err}"
    );
    assert_eq!(state(&system, "extra"), None, "half-added");
}

#[test]
fn removing_types_is_refused_while_others_depend_on_them() {
    let system = system();
    system
        .add_plugin_types(vec![extra(), Top::descriptor()])
        .unwrap();
    let err = system.remove_plugin_types(&["extra"]).unwrap_err();
    let SystemError::HasDependents { dependents, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(dependents, &["top"]);
    assert_eq!(state(&system, "extra"), Some(PluginState::Active));
    assert!(matches!(
        system.remove_plugin_types(&["nope"]),
        Err(SystemError::Unknown(_))
    ));

    let removed = system.remove_plugin_types(&["extra", "top"]).unwrap();
    assert_eq!(removed, ["top", "extra"]);
    assert_eq!(state(&system, "extra"), None);
    assert_eq!(state(&system, "top"), None);
    assert!(system.service::<Tool>().is_none());
    // And back.
    let receipt = system.add_plugin_types(vec![extra()]).unwrap();
    assert_eq!(receipt.activated, ["extra"]);
}

#[test]
fn a_descriptor_is_replaced_as_a_reload_with_state() {
    let system = system();
    system.add_plugin_types(vec![extra()]).unwrap();
    let newer = PluginDescriptor::serde::<Base>(Metadata::new("base", "1.1.0"));
    let result = system.replace_descriptors(vec![newer]);
    assert!(result.success, "{:?}", result.error);
    assert_eq!(result.dependents_reloaded, ["extra"]);
    assert_eq!(result.new_version.unwrap().to_string(), "1.1.0");
    assert_eq!(system.with::<Base, _>(|b| b.n).unwrap(), 5);
    // A version its dependent does not accept is refused before anything changes.
    let breaking = PluginDescriptor::serde::<Base>(Metadata::new("base", "2.0.0"));
    let result = system.replace_descriptors(vec![breaking]);
    assert!(!result.success);
    let version = system
        .status()
        .into_iter()
        .find(|s| s.name == "base")
        .unwrap()
        .version;
    assert_eq!(version.to_string(), "1.1.0");
}

#[test]
fn type_changes_from_inside_typed_access_are_refused() {
    let system = system();
    let inside = system
        .with::<Base, _>(|_| {
            (
                system.add_plugin_types(vec![extra()]).map(drop),
                system.remove_plugin_types(&["base"]).map(drop),
            )
        })
        .unwrap();
    assert!(matches!(inside.0, Err(SystemError::Reentrant(_))));
    assert!(matches!(inside.1, Err(SystemError::Reentrant(_))));
}

#[test]
fn a_reload_of_no_plugin_still_runs_its_swap_as_a_transaction() {
    struct Count(u32);
    impl tony_core::Swap for Count {
        fn apply(&mut self) -> Result<(), BoxError> {
            self.0 += 1;
            Ok(())
        }
        fn undo(&mut self) -> Result<(), BoxError> {
            Ok(())
        }
    }
    let system = system();
    let mut swap = Count(0);
    let result =
        tony_core::__private::reload_as(&system, &[], tony_core::Trigger::Patch, &mut swap);
    assert!(result.success, "{:?}", result.error);
    assert_eq!(swap.0, 1);
    assert_eq!(system.with::<Base, _>(|b| b.n).unwrap(), 5);
}

#[test]
fn a_swap_that_panics_anywhere_is_contained_and_changes_nothing() {
    struct Bad(&'static str);
    impl tony_core::Swap for Bad {
        fn apply(&mut self) -> Result<(), BoxError> {
            assert_ne!(self.0, "apply", "apply panics");
            Ok(())
        }
        fn undo(&mut self) -> Result<(), BoxError> {
            Ok(())
        }
        fn candidate(&self, _: &str) -> Option<PluginDescriptor> {
            assert_ne!(self.0, "candidate", "candidate panics");
            None
        }
    }
    let system = system();
    for at in ["candidate", "apply"] {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tony_core::__private::reload_as(
                &system,
                &["base"],
                tony_core::Trigger::Patch,
                &mut Bad(at),
            )
        }))
        .unwrap_or_else(|_| panic!("a panic in Swap::{at} reached the caller"));
        assert!(!result.success, "{at}");
        assert_eq!(system.with::<Base, _>(|b| b.n).unwrap(), 5, "{at}");
    }
}
