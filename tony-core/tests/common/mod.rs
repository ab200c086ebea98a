//! Hand-written plugins for tony-core's tests (no macro: the registry must
//! work without it), and fault injection.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tony_core::{HotReloadConfig, PluginSystem};

/// A hook a fault can be injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    Deactivate,
    Snapshot,
    Restore,
    Migrate,
    Activate,
}

/// How an injected fault fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Error,
    Panic,
}

/// Armed faults: (plugin, hook) -> (how, how many more times).
type Faults = HashMap<(&'static str, Hook), (Mode, u32)>;

static FAULTS: Mutex<Option<Faults>> = Mutex::new(None);

/// Makes the next `times` calls of `hook` on `plugin` fail.
pub fn inject(plugin: &'static str, hook: Hook, mode: Mode, times: u32) {
    FAULTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .insert((plugin, hook), (mode, times));
}

/// How many injected failures were not consumed.
pub fn remaining(plugin: &'static str, hook: Hook) -> u32 {
    FAULTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|f| f.get(&(plugin, hook)).map(|(_, n)| *n))
        .unwrap_or(0)
}

/// Fails if a fault is armed for `(plugin, hook)`.
pub fn check(plugin: &'static str, hook: Hook) -> Result<(), String> {
    let mode = {
        let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
        match faults.as_mut().and_then(|f| f.get_mut(&(plugin, hook))) {
            Some((mode, n)) if *n > 0 => {
                *n -= 1;
                Some(*mode)
            }
            _ => None,
        }
    };
    match mode {
        None => Ok(()),
        Some(Mode::Error) => Err(format!("injected {hook:?} error in {plugin}")),
        Some(Mode::Panic) => panic!("injected {hook:?} panic in {plugin}"),
    }
}

/// Defines a hand-written stateful plugin type `$ty` named `$name` with a
/// `value: u64` and `log: Vec<String>` state, faults checked in every hook,
/// and the given dependencies.
#[macro_export]
macro_rules! faulty_plugin {
    ($ty:ident, $name:literal, $version:literal $(, dep $dep:literal $req:literal)* $(, optional $odep:literal $oreq:literal)*) => {
        #[derive(Default, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct State {
            pub value: u64,
            pub log: Vec<String>,
        }

        #[derive(Default, Debug)]
        pub struct $ty {
            pub state: State,
            pub active: bool,
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::common::check($name, $crate::common::Hook::Snapshot).map_err(serde::ser::Error::custom)?;
                self.state.serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let state = State::deserialize(d)?;
                $crate::common::check($name, $crate::common::Hook::Restore).map_err(serde::de::Error::custom)?;
                Ok($ty { state, active: false })
            }
        }

        impl tony_core::Plugin for $ty {
            fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
                $crate::common::check($name, $crate::common::Hook::Activate)?;
                self.active = true;
                Ok(())
            }
            fn deactivate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
                $crate::common::check($name, $crate::common::Hook::Deactivate)?;
                self.active = false;
                Ok(())
            }
            fn migrate(old: &tony_core::OldState<'_>) -> Result<Self, tony_core::BoxError> {
                $crate::common::check($name, $crate::common::Hook::Migrate)?;
                Ok($ty { state: old.decode()?, active: false })
            }
        }

        impl tony_core::PluginType for $ty {
            const NAME: &'static str = $name;
            const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
            fn descriptor() -> tony_core::PluginDescriptor {
                tony_core::PluginDescriptor::serde::<Self>(
                    tony_core::Metadata::new($name, $version)
                        $(.with_dependency($dep, $req))*
                        $(.with_optional_dependency($odep, $oreq))*,
                )
            }
        }
    };
}

/// Defines a plugin `$ty` named `$name` whose state is a `count: u64`,
/// carried in serde, with dependencies (`^1` of each).
#[macro_export]
macro_rules! count_plugin {
    ($ty:ident, $name:literal $(, dep $dep:literal)*) => {
        #[derive(Default, serde::Serialize, serde::Deserialize)]
        pub struct $ty {
            pub count: u64,
        }
        impl tony_core::Plugin for $ty {
            fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
                Ok(())
            }
        }
        impl tony_core::PluginType for $ty {
            const NAME: &'static str = $name;
            const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
            fn descriptor() -> tony_core::PluginDescriptor {
                tony_core::PluginDescriptor::serde::<Self>(
                    tony_core::Metadata::new($name, "1.0.0") $(.with_dependency($dep, "^1"))*,
                )
            }
        }
    };
}

/// Defines a stateless plugin `$ty` named `$name` with dependencies.
#[macro_export]
macro_rules! simple_plugin {
    ($ty:ident, $name:literal, $version:literal $(, dep $dep:literal $req:literal)* $(, optional $odep:literal $oreq:literal)*) => {
        #[derive(Default)]
        pub struct $ty;
        impl tony_core::Plugin for $ty {
            fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
                Ok(())
            }
        }
        impl tony_core::PluginType for $ty {
            const NAME: &'static str = $name;
            const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
            fn descriptor() -> tony_core::PluginDescriptor {
                tony_core::PluginDescriptor::stateless::<Self>(
                    tony_core::Metadata::new($name, $version)
                        $(.with_dependency($dep, $req))*
                        $(.with_optional_dependency($odep, $oreq))*,
                )
            }
        }
    };
}

/// The testing preset, with hot reload settings that matter here.
pub fn config() -> HotReloadConfig {
    let mut c = HotReloadConfig::default();
    c.max_retry_attempts = std::num::NonZeroU32::new(3).unwrap();
    c.preserve_state = true;
    c.reload_dependents = true;
    c.validate_before_reload = true;
    c
}

/// A system of exactly the given descriptors (no inventory), with [`config`].
pub fn system(descriptors: Vec<tony_core::PluginDescriptor>) -> PluginSystem {
    system_with(config(), descriptors)
}

/// A system of exactly the given descriptors (no inventory), with `config`.
pub fn system_with(
    config: HotReloadConfig,
    descriptors: Vec<tony_core::PluginDescriptor>,
) -> PluginSystem {
    descriptors
        .into_iter()
        .fold(
            PluginSystem::builder()
                .register_inventory(false)
                .config(config),
            |b, d| b.descriptor(d),
        )
        .build()
        .unwrap()
}

/// Runs `f` on its own thread and fails the test with `what` if it does not
/// finish within `secs` seconds (a deadlock), instead of hanging CI. The
/// stuck thread is left behind; the test binary exits anyway.
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out);
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("deadlock: {what} did not finish within {secs}s"),
    }
}

/// On one thread: takes `H` mutably, waits at `all_in` until every other
/// such thread holds its plugin, then asks for `W` while still holding `H`
/// (a link of a would-be deadlock cycle). `W`'s answer.
pub fn hold_then_want<H: tony_core::PluginType, W: tony_core::PluginType>(
    system: &PluginSystem,
    all_in: &std::sync::Barrier,
) -> Result<(), tony_core::AccessError> {
    system
        .with_mut::<H, _>(|_| {
            all_in.wait();
            system.with::<W, _>(|_| ())
        })
        .unwrap()
}
