//! Reload transactions: fault injection, retries, validation, migration,
//! snapshots. Faults are process-global, so these tests take a lock.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};

use common::{Hook, Mode, inject, remaining};
use tony_core::{
    BoxError, Metadata, PluginDescriptor, PluginState, PluginSystem, PluginType, Stage,
    StateRestore, Swap, Trigger, Validation,
};

mod base {
    faulty_plugin!(Base, "base", "1.0.0");
}
mod dependent {
    faulty_plugin!(Dependent, "dependent", "1.0.0", dep "base" "^1");
}
mod base_v2 {
    use crate::common::{Hook, check};

    /// Same plugin, new state layout: what a code swap installs.
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    pub struct BaseV2 {
        pub state: crate::base::State,
        pub extra: [u64; 2],
    }

    impl tony_core::Plugin for BaseV2 {
        fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
            Ok(())
        }
        fn migrate(old: &tony_core::OldState<'_>) -> Result<Self, tony_core::BoxError> {
            check("base", Hook::Migrate)?;
            Ok(BaseV2 {
                state: old.decode()?,
                extra: [1, 2],
            })
        }
    }

    impl tony_core::PluginType for BaseV2 {
        const NAME: &'static str = "base";
        const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
        fn descriptor() -> tony_core::PluginDescriptor {
            tony_core::PluginDescriptor::serde::<Self>(tony_core::Metadata::new("base", "1.1.0"))
        }
    }
}
use base::Base;
use dependent::Dependent;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn setup() -> PluginSystem {
    let system = common::system(vec![Base::descriptor(), Dependent::descriptor()]);
    system.initialize().unwrap();
    system
        .with_mut::<Base, _>(|b| {
            b.state = base::State {
                value: 41,
                log: vec!["b".into()],
            }
        })
        .unwrap();
    system
        .with_mut::<Dependent, _>(|d| {
            d.state = dependent::State {
                value: 7,
                log: vec!["d".into()],
            }
        })
        .unwrap();
    system
}

fn states(system: &PluginSystem) -> (base::State, dependent::State) {
    (
        system.with::<Base, _>(|b| b.state.clone()).unwrap(),
        system.with::<Dependent, _>(|d| d.state.clone()).unwrap(),
    )
}

/// Swaps `base` for a new layout (to reach the migration hook).
struct NewLayout;
impl Swap for NewLayout {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
    fn candidate(&self, plugin: &str) -> Option<PluginDescriptor> {
        (plugin == "base").then(base_v2::BaseV2::descriptor)
    }
}

#[test]
fn fault_matrix_every_hook_error_and_panic_on_plugin_and_dependent() {
    let _s = serial();
    let hooks = [
        Hook::Deactivate,
        Hook::Snapshot,
        Hook::Restore,
        Hook::Migrate,
        Hook::Activate,
    ];
    let mut cases = 0;
    for hook in hooks {
        for mode in [Mode::Error, Mode::Panic] {
            for target in ["base", "dependent"] {
                let system = setup();
                let before = states(&system);
                // Commit-stage faults fire on every attempt, so the reload
                // must roll back; prepare-stage faults fire once.
                let times = if matches!(hook, Hook::Deactivate | Hook::Snapshot) {
                    1
                } else {
                    3
                };
                // Only `base` changes layout, so the migration hook is base's.
                if hook == Hook::Migrate && target == "dependent" {
                    continue;
                }
                inject(target, hook, mode, times);
                let result = if hook == Hook::Migrate {
                    tony_core::__private::reload_as(
                        &system,
                        &["base"],
                        Trigger::Patch,
                        &mut NewLayout,
                    )
                } else {
                    system.reload_plugin("base")
                };
                let case = format!("{hook:?} {mode:?} in {target}");
                assert_eq!(remaining(target, hook), 0, "{case}: fault never fired");
                assert!(!result.success, "{case}: reload should fail");
                let error = result.error.as_ref().unwrap();
                assert_eq!(error.plugin, target, "{case}: {error}");
                let stage = match hook {
                    Hook::Deactivate => Stage::Deactivate,
                    Hook::Snapshot => Stage::Snapshot,
                    Hook::Restore => Stage::Restore,
                    Hook::Migrate => Stage::Migrate,
                    Hook::Activate => Stage::Activate,
                };
                assert_eq!(error.stage, stage, "{case}: {error}");
                if mode == Mode::Panic {
                    assert!(
                        error.message.contains("injected"),
                        "{case}: panic message lost: {error}"
                    );
                }
                assert!(
                    result.failed.is_empty(),
                    "{case}: rollback failed for {:?}",
                    result.failed
                );
                assert!(
                    system
                        .status()
                        .iter()
                        .all(|s| s.state == PluginState::Active),
                    "{case}"
                );
                assert_eq!(states(&system), before, "{case}: state changed");
                assert!(
                    system.with::<Base, _>(|b| b.active).unwrap(),
                    "{case}: base not active"
                );
                assert!(
                    system.with::<Dependent, _>(|d| d.active).unwrap(),
                    "{case}: dependent not active"
                );
                // and the system still reloads normally afterwards
                assert!(
                    system.reload_plugin("base").success,
                    "{case}: system wedged"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 18);
}

#[test]
fn commit_is_retried_before_rollback() {
    let _s = serial();
    let system = setup();
    inject("dependent", Hook::Activate, Mode::Panic, 2);
    let result = system.reload_plugin("base");
    assert!(result.success, "{:?}", result.error);
    assert_eq!(result.attempts, 3);
    assert!(!result.rolled_back);
    assert_eq!(states(&system).0.value, 41);

    inject("base", Hook::Activate, Mode::Error, 3);
    let result = system.reload_plugin("base");
    assert!(!result.success && result.rolled_back);
    assert_eq!(result.attempts, 3);
}

#[test]
fn validators_reject_before_anything_changes() {
    let _s = serial();
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(common::config())
        .plugin::<Base>()
        .plugin::<Dependent>()
        .validator(|new: &Metadata, _: &Metadata| {
            if new.name() == "dependent" {
                Validation::reject("dependent is frozen")
            } else {
                Validation::valid()
            }
        })
        .build()
        .unwrap();
    system.initialize().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    system.subscribe_all(tx);
    let result = system.reload_plugin("base");
    assert!(!result.success);
    let e = result.error.unwrap();
    assert_eq!((e.plugin.as_str(), e.stage), ("dependent", Stage::Validate));
    assert!(e.message.contains("dependent is frozen"));
    let kinds: Vec<_> = rx.try_iter().map(|e| e.kind()).collect();
    assert!(
        !kinds.contains(&tony_core::EventKind::StatePreserved),
        "validation failure touched state: {kinds:?}"
    );
}

#[test]
fn validation_checks_dependent_ranges_against_the_new_version() {
    let _s = serial();
    mod v2 {
        faulty_plugin!(Base2, "base", "2.0.0");
    }
    struct Upgrade;
    impl Swap for Upgrade {
        fn apply(&mut self) -> Result<(), BoxError> {
            panic!("must not run: validation should reject first")
        }
        fn undo(&mut self) -> Result<(), BoxError> {
            Ok(())
        }
        fn candidate(&self, plugin: &str) -> Option<PluginDescriptor> {
            (plugin == "base").then(v2::Base2::descriptor)
        }
    }
    let system = setup();
    let result = tony_core::__private::reload_as(&system, &["base"], Trigger::Patch, &mut Upgrade);
    let e = result.error.unwrap();
    assert_eq!(e.stage, Stage::Validate);
    assert!(
        e.message.contains("2.0.0") && e.message.contains("dependent") && e.message.contains("^1"),
        "{e}"
    );
}

mod counter_v1 {
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    pub struct Counter {
        pub count: u64,
    }
    impl tony_core::Plugin for Counter {
        fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
            Ok(())
        }
    }
    impl tony_core::PluginType for Counter {
        const NAME: &'static str = "counter";
        const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
        fn descriptor() -> tony_core::PluginDescriptor {
            tony_core::PluginDescriptor::serde::<Self>(tony_core::Metadata::new("counter", "1.0.0"))
        }
    }
}

mod counter_v2 {
    /// The state gained a field.
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    pub struct Counter {
        pub count: u64,
        pub step: u64,
    }
    impl tony_core::Plugin for Counter {
        fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
            Ok(())
        }
        fn migrate(old: &tony_core::OldState<'_>) -> Result<Self, tony_core::BoxError> {
            let v1: super::counter_v1::Counter = old.decode()?;
            Ok(Counter {
                count: v1.count,
                step: 1,
            })
        }
    }
    impl tony_core::PluginType for Counter {
        const NAME: &'static str = "counter";
        const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
        fn descriptor() -> tony_core::PluginDescriptor {
            tony_core::PluginDescriptor::serde::<Self>(
                tony_core::Metadata::new("counter", "1.0.0").with_state_version(2),
            )
        }
    }

    /// Same layout change, no migration hook.
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    pub struct NoHook {
        pub count: u64,
        pub step: u64,
    }
    impl tony_core::Plugin for NoHook {
        fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
            Ok(())
        }
    }
    impl tony_core::PluginType for NoHook {
        const NAME: &'static str = "counter";
        const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
        fn descriptor() -> tony_core::PluginDescriptor {
            tony_core::PluginDescriptor::serde::<Self>(tony_core::Metadata::new("counter", "1.0.0"))
        }
    }
}

struct SwapTo(fn() -> PluginDescriptor);
impl Swap for SwapTo {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
    fn candidate(&self, _: &str) -> Option<PluginDescriptor> {
        Some((self.0)())
    }
}

#[test]
fn a_state_that_gains_a_field_migrates_with_the_hook() {
    let system = common::system(vec![counter_v1::Counter::descriptor()]);
    system.initialize().unwrap();
    system
        .with_mut::<counter_v1::Counter, _>(|c| c.count = 99)
        .unwrap();
    let result = tony_core::__private::reload_as(
        &system,
        &["counter"],
        Trigger::Patch,
        &mut SwapTo(counter_v2::Counter::descriptor),
    );
    assert!(result.success, "{:?}", result.error);
    assert_eq!(
        result.states,
        [(
            "counter".to_owned(),
            StateRestore::Migrated {
                from_state_version: 0
            }
        )]
    );
    assert!(result.state_preserved);
    assert_eq!(
        system
            .with::<counter_v2::Counter, _>(|c| (c.count, c.step))
            .unwrap(),
        (99, 1)
    );
    // Code compiled against the old layout is refused, not handed new memory.
    let stale = system.with::<counter_v1::Counter, _>(|c| c.count);
    assert!(
        matches!(stale, Err(tony_core::AccessError::StaleLayout { .. })),
        "{stale:?}"
    );
}

#[test]
fn without_a_hook_the_state_resets_and_says_so() {
    let system = common::system(vec![counter_v1::Counter::descriptor()]);
    system.initialize().unwrap();
    system
        .with_mut::<counter_v1::Counter, _>(|c| c.count = 99)
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    system.subscribe(tony_core::EventKind::StateRestored, tx);
    let result = tony_core::__private::reload_as(
        &system,
        &["counter"],
        Trigger::Patch,
        &mut SwapTo(counter_v2::NoHook::descriptor),
    );
    assert!(result.success, "{:?}", result.error);
    assert!(!result.state_preserved);
    assert!(
        result.state_note().unwrap().contains("no migration"),
        "{:?}",
        result.state_note()
    );
    assert_eq!(
        system.with::<counter_v2::NoHook, _>(|c| c.count).unwrap(),
        0
    );
    let ev = rx.try_recv().unwrap();
    assert!(
        matches!(
            ev,
            tony_core::Event::StateRestored {
                how: StateRestore::Reset { .. },
                ..
            }
        ),
        "{ev:?}"
    );
}

#[test]
fn preserve_state_off_starts_fresh_but_rolls_back_intact() {
    let _s = serial();
    let mut config = common::config();
    config.preserve_state = false;
    let system = common::system_with(config, vec![Base::descriptor(), Dependent::descriptor()]);
    system.initialize().unwrap();
    system.with_mut::<Base, _>(|b| b.state.value = 5).unwrap();
    inject("base", Hook::Activate, Mode::Error, 3);
    assert!(!system.reload_plugin("base").success);
    assert_eq!(
        system.with::<Base, _>(|b| b.state.value).unwrap(),
        5,
        "rollback must keep state even without preservation"
    );
    let result = system.reload_plugin("base");
    assert!(result.success && !result.state_preserved);
    assert_eq!(system.with::<Base, _>(|b| b.state.value).unwrap(), 0);
}

#[test]
fn manual_snapshots_round_trip() {
    let _s = serial();
    let system = setup();
    let snap = system.create_state_snapshot("base").unwrap();
    assert_eq!(snap.plugin, "base");
    system
        .with_mut::<Base, _>(|b| b.state.value = 1000)
        .unwrap();
    let result = system.restore_state_snapshot(&snap);
    assert!(result.success, "{:?}", result.error);
    assert_eq!(system.with::<Base, _>(|b| b.state.value).unwrap(), 41);

    let mut corrupt = snap.clone();
    corrupt.bytes.truncate(1);
    system
        .with_mut::<Base, _>(|b| b.state.value = 1000)
        .unwrap();
    let result = system.restore_state_snapshot(&corrupt);
    assert!(!result.success);
    assert_eq!(result.error.unwrap().stage, Stage::Restore);
    assert_eq!(
        system.with::<Base, _>(|b| b.state.value).unwrap(),
        1000,
        "a bad snapshot must change nothing"
    );
}

#[test]
fn reload_dependents_off_cycles_only_the_plugin() {
    let _s = serial();
    let mut config = common::config();
    config.reload_dependents = false;
    let system = common::system_with(config, vec![Base::descriptor(), Dependent::descriptor()]);
    system.initialize().unwrap();
    let result = system.reload_plugin("base");
    assert!(result.success);
    assert!(result.dependents_reloaded.is_empty());
    assert_eq!(result.states.len(), 1);
}
