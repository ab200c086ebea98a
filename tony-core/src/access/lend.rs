//! Typed access: lending a live instance to a closure.
//!
//! The instance stays in its slot's cell, and the access holds the cell's
//! lock while the closure runs: that lock is the plugin's hold (see
//! `engine/slot.rs`), so an uncontended access is one lock and one unlock of a
//! lock no other access shares, found through the thread's cache, with no
//! table lock.
//!
//! When the cell is taken, the access goes down the slow path, under the
//! table lock: the cycle check, then a wait that cannot close a cycle. A
//! cell locked by another access is waited for on the cell itself; a plugin
//! a transaction holds (or reserved, for an outermost access) is waited for
//! on `Engine::changed`, which the transaction signals when it lets go,
//! unless the caller asked not to wait for transactions ([`OnTxn::Refuse`]:
//! an async host that waits its own way, see `PluginSystem::try_lend`).

use std::any::Any;
use std::borrow::Cow;
use std::sync::MutexGuard;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use crate::access::lent_plugin::LentPlugin;
use crate::access::{AccessError, OnTxn};
use crate::engine::reentry::AccessGuard;
use crate::engine::slot::{self, Cell, Slot};
use crate::engine::{Engine, Table};
use crate::plugin::Plugin;
use crate::plugin::fingerprint::Fingerprints;
use crate::plugin::plugin_type::{self, PluginType};

/// A cell held by a typed access; let go on drop, even when unwinding.
struct Lent<'a> {
    slot: &'a Slot,
    cell: MutexGuard<'a, Cell>,
    /// [`Slot::holder`] before: this thread's transaction, or no one.
    previous: u64,
}

impl Drop for Lent<'_> {
    #[inline]
    fn drop(&mut self) {
        // Before the cell is unlocked (the guard is dropped after this).
        self.slot.holder.store(self.previous, Ordering::Relaxed);
    }
}

/// What keeps an access from its plugin.
enum Blocked {
    /// Another thread's transaction holds it, or (for an outermost access)
    /// reserved it: wait for the transaction to let go.
    Txn(u64),
    /// The plugin is not registered, or not active, or of another layout.
    No(AccessError),
}

/// Whether `me` may take `cell` now: the fast path's whole check.
#[inline(always)]
fn may_take(slot: &Slot, cell: &Cell, me: u64, nested: bool, layout: Option<u64>) -> bool {
    (cell.txn == me || (cell.txn == 0 && (nested || !slot.reserved.load(Ordering::Relaxed))))
        && cell.instance.is_some()
        && layout.is_none_or(|l| l == cell.live.state)
}

/// Why `me` may not take `cell` now (`may_take` said no).
#[cold]
fn blocked(
    slot: &Slot,
    cell: MutexGuard<'_, Cell>,
    me: u64,
    nested: bool,
    name: &str,
    layout: Option<u64>,
) -> Blocked {
    if cell.txn != 0 && cell.txn != me {
        return Blocked::Txn(cell.txn);
    }
    if cell.txn == 0 && !nested && slot.reserved.load(Ordering::Relaxed) {
        return Blocked::Txn(0);
    }
    if let (Some(expected), Some(_)) = (layout, &cell.instance) {
        return Blocked::No(AccessError::StaleLayout {
            plugin: name.to_owned(),
            expected,
            live: cell.live.state,
        });
    }
    drop(cell);
    Blocked::No(match slot.meta().as_ref() {
        Some(e) => AccessError::NotActive {
            plugin: name.to_owned(),
            state: e.state,
        },
        None => AccessError::Unknown(name.to_owned()),
    })
}

impl Engine {
    /// Typed access by `T` ([`PluginSystem::with`](crate::PluginSystem::with)):
    /// [`Engine::access`] with `f` called directly, not through a `dyn`
    /// closure as [`Host::access`](crate::access::context::Host) must.
    #[inline]
    pub(crate) fn typed<T: PluginType, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, AccessError> {
        let mut f = Some(f);
        let mut out = None;
        self.access(T::NAME, Some(T::STATE_FINGERPRINT), OnTxn::Wait, |p, _| {
            if let (Some(typed), Some(f)) = ((p as &mut dyn Any).downcast_mut::<T>(), f.take()) {
                out = Some(f(typed));
            }
        })?;
        out.ok_or_else(plugin_type::wrong_type::<T>)
    }

    /// [`PluginSystem::try_lend`](crate::PluginSystem::try_lend): the
    /// instance of `name` whatever its type and layout (the borrower checks
    /// them), refused rather than waited for while a transaction holds it.
    #[inline]
    pub(crate) fn lend_now<R>(
        &self,
        name: &'static str,
        f: impl FnOnce(LentPlugin<'_>) -> R,
    ) -> Result<R, AccessError> {
        let mut f = Some(f);
        let mut out = None;
        self.access(name, None, OnTxn::Refuse, |p, live| {
            if let Some(f) = f.take() {
                out = Some(f(LentPlugin::new(name, p, live.state)));
            }
        })?;
        // `access` calls `f` whenever it succeeds.
        out.ok_or_else(|| AccessError::Unknown(name.to_owned()))
    }

    /// Lends the live instance of `name` to `f`, with the fingerprints it
    /// was built with. `layout`, when given, must match the
    /// live state fingerprint. No engine lock is held while `f` runs (only
    /// the plugin's own cell, the hold); a panic in `f` lets the plugin go
    /// and goes on unwinding to the caller.
    #[inline]
    pub(crate) fn access(
        &self,
        name: impl Into<Cow<'static, str>>,
        layout: Option<u64>,
        on_txn: OnTxn,
        mut f: impl FnMut(&mut dyn Plugin, Fingerprints),
    ) -> Result<(), AccessError> {
        let name = name.into();
        let find = || self.table().index.get(&*name).copied();
        let index = match name {
            Cow::Borrowed(n) => slot::cached(self.id, n, find),
            Cow::Owned(_) => find(),
        };
        let Some((index, slot)) = index.and_then(|i| Some((i, self.slots.get(i)?))) else {
            return Err(AccessError::Unknown(name.into_owned()));
        };
        let Some(guard) = AccessGuard::enter(self.id, index) else {
            return Err(AccessError::Reentrant(name.into_owned()));
        };
        let me = guard.me();
        let nested = guard.nested();
        let cell = match slot.try_cell() {
            Some(cell) if may_take(slot, &cell, me, nested, layout) => cell,
            cell => self.wait_and_take(slot, cell, index, (me, nested, on_txn), layout, &name)?,
        };
        if on_txn == OnTxn::Refuse {
            // A loan (only loans refuse to wait), counted under the cell.
            let loans = slot.loans.load(Ordering::Relaxed);
            slot.loans.store(loans.wrapping_add(1), Ordering::Relaxed);
        }
        let previous = slot.holder.load(Ordering::Relaxed);
        slot.holder.store(me, Ordering::Relaxed);
        let mut lent = Lent {
            slot,
            cell,
            previous,
        };
        let live = lent.cell.live;
        if let Some(instance) = lent.cell.instance.as_deref_mut() {
            f(instance, live);
        }
        drop(lent);
        drop(guard); // delivers the events held back, if this was the outermost
        Ok(())
    }

    /// The slow path: `cell` (if this thread got it) did not let `me` in.
    /// Waits, under the table lock, until `me` may take the slot, unless
    /// waiting would close a cycle, or would be for a transaction and
    /// `on_txn` refuses that.
    #[cold]
    fn wait_and_take<'a>(
        &self,
        slot: &'a Slot,
        cell: Option<MutexGuard<'a, Cell>>,
        index: usize,
        (me, nested, on_txn): (u64, bool, OnTxn),
        layout: Option<u64>,
        name: &str,
    ) -> Result<MutexGuard<'a, Cell>, AccessError> {
        // What stops `me` at `cell`: `Ok` a transaction to wait for.
        let why = |cell| match blocked(slot, cell, me, nested, name, layout) {
            Blocked::No(e) => Err(e),
            Blocked::Txn(_) if on_txn == OnTxn::Refuse => Err(AccessError::Busy(name.to_owned())),
            Blocked::Txn(holder) => Ok(holder),
        };
        // Seen without the table lock: only a "no" is final.
        if let Some(cell) = cell {
            why(cell)?;
        }
        let mut t = self.table();
        loop {
            let txn = match slot.try_cell() {
                Some(cell) if may_take(slot, &cell, me, nested, layout) => return Ok(cell),
                Some(cell) => Some(why(cell)?),
                // Reserved: a transaction takes it once the access in
                // there ends; no point waiting for that access only to
                // refuse then.
                None if on_txn == OnTxn::Refuse
                    && !nested
                    && slot.reserved.load(Ordering::Relaxed) =>
                {
                    return Err(AccessError::Busy(name.to_owned()));
                }
                None => None,
            };
            let holder = txn.unwrap_or_else(|| slot.holder.load(Ordering::Relaxed));
            if holder != 0 && self.closes_cycle(&t, me, holder) {
                return Err(AccessError::WouldDeadlock(name.to_owned()));
            }
            t.waits.insert(me, index);
            if txn.is_some() {
                // A transaction's: it signals `changed` under the table
                // lock when it lets go, and this thread holds that lock
                // from the check above until it waits.
                t.waiting += 1;
                t = self.changed.wait(t).unwrap_or_else(PoisonError::into_inner);
                t.waiting -= 1;
                t.waits.remove(&me);
                continue;
            }
            // Another access's (or someone checking it, briefly): wait for
            // the cell itself, with the table let go.
            drop(t);
            let cell = slot.cell();
            t = self.table();
            t.waits.remove(&me);
            if may_take(slot, &cell, me, nested, layout) {
                return Ok(cell);
            }
            why(cell)?;
        }
    }

    /// Whether `me` waiting for a plugin held by `holder` closes a cycle: the
    /// holder waits (through a chain of holders) for something `me` holds.
    ///
    /// Sound although plugins are taken without the table lock: a thread is
    /// in `waits` only from its own check (under the table lock, which this
    /// thread holds) until it stops waiting, so it holds what it held then;
    /// every holder it wrote before that check is seen here.
    fn closes_cycle(&self, t: &Table, me: u64, holder: u64) -> bool {
        let mut current = holder;
        for _ in 0..=t.waits.len() {
            if current == me {
                return true;
            }
            let Some(next) = t
                .waits
                .get(&current)
                .and_then(|&wanted| self.slots.get(wanted))
                .map(|s| s.holder.load(Ordering::Relaxed))
                .filter(|&h| h != 0)
            else {
                return false;
            };
            current = next;
        }
        false
    }
}
