//! Where each plugin lives: a *slot* per plugin name, found and taken by
//! a typed access without the engine's table lock.
//!
//! A slot has two locks. `meta` guards what the table knows of the plugin
//! (descriptor, state, error, kept state) and is held for a few
//! instructions only. `cell` guards the live instance, and holding it *is*
//! holding the plugin: a typed access keeps it for the length of its
//! closure, so an uncontended access costs what a plain `Mutex` does (one
//! atomic swap in, one out). A transaction holds a plugin by marking the
//! cell as its own ([`Cell::txn`]), not by keeping it locked, so that its
//! own hooks may still reach the plugin.
//!
//! Nobody waits on a `cell` in a way that could close a cycle: a typed
//! access first tries it; when it is taken, it checks the chain of who
//! waits for whom (under the table lock, reading each slot's
//! [`Slot::holder`]) and only then blocks on it; a transaction waits for a
//! cell holding no plugin at all. Everything else locks a cell only while
//! its transaction holds the plugin, so only for as long as another thread
//! needs to see that and let go. See `access/lend.rs` and `docs/concurrency.md`.
//!
//! A name keeps its slot for the life of the engine: a plugin type removed
//! at runtime leaves its slot empty, and the slot is its again if it comes
//! back. Slots are never moved nor freed before the engine, so the
//! directory ([`Slots`]) hands out plain references, and each thread
//! remembers which slot a name has ([`cached`]).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use crate::events::status::PluginState;
use crate::plugin::Plugin;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::fingerprint::Fingerprints;
use crate::plugin::snapshot::Snapshot;

/// One plugin: what the table knows of it, in its slot.
pub(crate) struct Entry {
    pub(crate) descriptor: PluginDescriptor,
    pub(crate) state: PluginState,
    /// Fingerprints of the code that built the live instance.
    pub(crate) live: Fingerprints,
    pub(crate) error: Option<String>,
    /// The last good state of a plugin that a failed rollback left
    /// [`PluginState::Failed`]: its next load or reload starts from it.
    pub(crate) kept: Option<Snapshot>,
}

impl Entry {
    pub(crate) fn new(descriptor: PluginDescriptor) -> Self {
        Entry {
            descriptor,
            state: PluginState::Registered,
            live: Fingerprints::default(),
            error: None,
            kept: None,
        }
    }
}

/// The live instance, and who holds it.
#[derive(Default)]
pub(crate) struct Cell {
    pub(crate) instance: Option<Box<dyn Plugin>>,
    /// The instance's fingerprints (as [`Entry::live`]; here for typed
    /// access to check the layout under this lock alone).
    pub(crate) live: Fingerprints,
    /// The thread (see `reentry::me`) of the transaction holding the
    /// plugin; 0 for none.
    pub(crate) txn: u64,
}

/// One plugin's slot.
#[derive(Default)]
pub(crate) struct Slot {
    /// The plugin's entry; `None` while it is not registered.
    meta: Mutex<Option<Entry>>,
    cell: Mutex<Cell>,
    /// The thread (see `reentry::me`) holding the plugin, 0 for none: written by
    /// the holder once it has the cell (or has marked it for its
    /// transaction) and cleared before it lets go; read by the cycle check.
    pub(crate) holder: AtomicU64,
    /// A pending transaction waits for this plugin: new outermost typed
    /// accesses wait behind it.
    pub(crate) reserved: AtomicBool,
    /// Loans granted (`PluginSystem::try_lend`). Written only by a loan
    /// while it holds the cell, so one thread at a time: a load and a
    /// store, ordered by the cell's lock, not an atomic add (which would
    /// cost a loan as much as the rest of its bookkeeping).
    pub(crate) loans: AtomicU64,
}

impl Slot {
    /// The entry. Held for a few instructions of Tony's code only; the
    /// table lock may be held around it, never taken under it.
    pub(crate) fn meta(&self) -> MutexGuard<'_, Option<Entry>> {
        self.meta.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cell, waiting for it: only after the cycle check, or holding no
    /// plugin, or while this thread's transaction holds the plugin.
    pub(crate) fn cell(&self) -> MutexGuard<'_, Cell> {
        self.cell.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cell if nobody has it locked. A closure that panicked while
    /// holding it left it as a `Mutex` that does not poison would.
    #[inline]
    pub(crate) fn try_cell(&self) -> Option<MutexGuard<'_, Cell>> {
        match self.cell.try_lock() {
            Ok(cell) => Some(cell),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// Slots in segment `k`: `FIRST << k`.
const FIRST: usize = 8;
const SEGMENTS: usize = 24;

/// The engine's slots, by index: append-only, in segments that double in
/// size, each made once and never moved, so a slot is reached with no lock.
pub(crate) struct Slots {
    segments: [OnceLock<Box<[Slot]>>; SEGMENTS],
}

impl Default for Slots {
    fn default() -> Self {
        Slots {
            segments: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

/// The segment of slot `i`, and its place in it.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    let n = i / FIRST + 1; // segment k holds the n in [2^k, 2^(k+1))
    let k = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (k, i - FIRST * ((1 << k) - 1))
}

impl Slots {
    /// Slot `i`, if it was made.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Slot> {
        let (k, at) = locate(i);
        self.segments.get(k)?.get()?.get(at)
    }

    /// Slot `i`, made if it was not (its segment, at least). The caller
    /// hands out indices in order, under the table lock.
    pub(crate) fn make(&self, i: usize) -> &Slot {
        let (k, at) = locate(i);
        let segment = self
            .segments
            .get(k)
            .expect("fewer than 2^27 plugin names per system")
            .get_or_init(|| (0..FIRST << k).map(|_| Slot::default()).collect());
        &segment[at]
    }
}

/// A number for each engine, never reused (an address could be).
pub(crate) fn next_engine_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// How many (engine, name) pairs a thread remembers before it starts over.
const CACHE_CAP: usize = 64;

thread_local! {
    /// (engine id, a `&'static` plugin name's address, its slot index):
    /// which slot a name has is fixed for the engine's life, so this never
    /// goes stale. By address: the same name at another address is only a
    /// second entry.
    static CACHE: RefCell<Vec<(u64, *const str, usize)>> = const { RefCell::new(Vec::new()) };
}

/// The slot index of `name` in engine `engine`: from this thread's memory,
/// else from `find` (which takes the table lock), remembered if found.
#[inline]
pub(crate) fn cached(
    engine: u64,
    name: &'static str,
    find: impl FnOnce() -> Option<usize>,
) -> Option<usize> {
    let key: *const str = name;
    let hit = CACHE.with_borrow(|c| {
        c.iter()
            .find(|(e, n, _)| *e == engine && std::ptr::eq(*n, key))
            .map(|&(_, _, i)| i)
    });
    if hit.is_some() {
        return hit;
    }
    let found = find()?;
    CACHE.with_borrow_mut(|c| {
        if c.len() >= CACHE_CAP {
            c.clear();
        }
        c.push((engine, key, found));
    });
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_indices() {
        let mut expected = (0, 0);
        for i in 0..10_000 {
            assert_eq!(locate(i), expected, "slot {i}");
            expected.1 += 1;
            if expected.1 == FIRST << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
    }

    #[test]
    fn slots_are_made_once_and_stay_put() {
        let slots = Slots::default();
        assert!(slots.get(0).is_none());
        let first: *const Slot = slots.make(0);
        for i in 1..100 {
            slots.make(i);
        }
        assert!(std::ptr::eq(
            first,
            slots.get(0).unwrap_or_else(|| unreachable!())
        ));
        assert!(slots.get(99).is_some());
    }
}
