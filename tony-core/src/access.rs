//! Typed access to a live plugin instance: waiting for reloads, checking the
//! caller's state layout, refusing re-entry.
//!
//! The user's closure runs with the plugin's slot locked, so two threads
//! never touch one instance at once. Nesting accesses to *different* plugins
//! in opposite orders on two threads can deadlock, like any two locks; access
//! to the same plugin from inside its own access is refused.

use std::any::Any;

use crate::system::{BUSY, Inner};
use crate::{PluginState, PluginType};

/// Why typed access to a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No plugin of that name is registered.
    #[error("unknown plugin `{0}`")]
    Unknown(String),
    /// The plugin has no live instance.
    #[error("plugin `{plugin}` is {state}, not active")]
    NotActive {
        /// The plugin.
        plugin: String,
        /// Its state.
        state: PluginState,
    },
    /// The caller was compiled against another state layout than the live
    /// instance's (e.g. before a hot patch changed the struct).
    #[error(
        "plugin `{plugin}`: caller expects state layout {expected:#x}, the live instance has {live:#x}"
    )]
    StaleLayout {
        /// The plugin.
        plugin: String,
        /// The caller's fingerprint.
        expected: u64,
        /// The live instance's.
        live: u64,
    },
    /// The live instance is of another type.
    #[error("plugin `{plugin}` is not a `{expected}`")]
    WrongType {
        /// The plugin.
        plugin: String,
        /// The type asked for.
        expected: &'static str,
    },
    /// Typed access to a plugin from inside typed access to the same plugin.
    #[error("plugin `{0}` is already borrowed by this thread")]
    Reentrant(String),
}

struct AccessGuard;

impl AccessGuard {
    fn enter(name: &str) -> Result<AccessGuard, AccessError> {
        BUSY.with_borrow_mut(|(names, _)| {
            if names.iter().any(|n| n == name) {
                return Err(AccessError::Reentrant(name.to_owned()));
            }
            names.push(name.to_owned());
            Ok(AccessGuard)
        })
    }
}

impl Drop for AccessGuard {
    fn drop(&mut self) {
        BUSY.with_borrow_mut(|(names, _)| names.pop());
    }
}

impl Inner {
    pub(crate) fn with<T: PluginType, R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.with_mut(|t: &mut T| f(t))
    }

    pub(crate) fn with_mut<T: PluginType, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, AccessError> {
        let slot = self
            .slots
            .get(T::NAME)
            .ok_or_else(|| AccessError::Unknown(T::NAME.to_owned()))?;
        let _guard = AccessGuard::enter(T::NAME)?;
        let mut s = slot.lock();
        if s.live.state != T::STATE_FINGERPRINT && s.instance.is_some() {
            return Err(AccessError::StaleLayout {
                plugin: T::NAME.to_owned(),
                expected: T::STATE_FINGERPRINT,
                live: s.live.state,
            });
        }
        let state = s.state;
        let instance = s.instance.as_mut().ok_or_else(|| AccessError::NotActive {
            plugin: T::NAME.to_owned(),
            state,
        })?;
        let typed = (&mut **instance as &mut dyn Any)
            .downcast_mut::<T>()
            .ok_or_else(|| AccessError::WrongType {
                plugin: T::NAME.to_owned(),
                expected: std::any::type_name::<T>(),
            })?;
        Ok(f(typed))
    }
}
