//! A plugin's place in the system: its instance, its lifecycle state, and
//! the hold a transaction puts on it.
//!
//! Callers wait while another thread's transaction holds the slot, so no call
//! ever sees a half-reloaded plugin. The holding thread itself may reach the
//! slot (a dependent's `activate` reading its freshly reactivated dependency).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

use crate::{Fingerprints, Plugin, PluginDescriptor, PluginState};

pub(crate) struct Slot {
    inner: Mutex<SlotInner>,
    released: Condvar,
}

pub(crate) struct SlotInner {
    pub(crate) descriptor: PluginDescriptor,
    pub(crate) state: PluginState,
    pub(crate) instance: Option<Box<dyn Plugin>>,
    /// Fingerprints of the code that built `instance`.
    pub(crate) live: Fingerprints,
    pub(crate) error: Option<String>,
    holder: Option<ThreadId>,
}

impl Slot {
    pub(crate) fn new(descriptor: PluginDescriptor) -> Self {
        Slot {
            inner: Mutex::new(SlotInner {
                descriptor,
                state: PluginState::Registered,
                instance: None,
                live: Fingerprints::default(),
                error: None,
                holder: None,
            }),
            released: Condvar::new(),
        }
    }

    /// Locks the slot without waiting for a hold to end: for status reads.
    pub(crate) fn peek(&self) -> MutexGuard<'_, SlotInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the slot once no other thread holds it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotInner> {
        let me = thread::current().id();
        let guard = self.peek();
        self.released
            .wait_while(guard, |s| s.holder.is_some_and(|h| h != me))
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the slot for the current thread's transaction.
    pub(crate) fn hold(&self) {
        let mut guard = self.lock();
        guard.holder = Some(thread::current().id());
    }

    /// Ends the hold and wakes the waiting callers.
    pub(crate) fn release(&self) {
        self.peek().holder = None;
        self.released.notify_all();
    }
}
