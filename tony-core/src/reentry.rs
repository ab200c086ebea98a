//! What the current thread is inside of — a transaction, typed accesses —
//! and the events it holds back until it is inside of nothing.
//!
//! The re-entrancy rules of `docs/concurrency.md` are enforced here: a
//! transaction cannot start on a thread that is already inside one or inside
//! a typed access, and a thread cannot borrow a plugin it already borrows.
//! Events emitted while the thread is busy are queued and delivered once it
//! holds nothing, so a subscriber never runs while this thread holds a lock or
//! a plugin another thread may need.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::events::{Bus, Event};

struct Busy {
    /// The plugins this thread borrows through typed access, innermost last,
    /// as (engine id, slot index).
    accesses: Vec<(u64, usize)>,
    /// Whether a transaction (load, unload, reload, ...) runs on this thread.
    txn: bool,
    /// Events held back until the thread is idle.
    outbox: Vec<(Arc<Bus>, Event)>,
    /// This thread's number (see [`me`]); 0 until first asked for.
    me: u64,
}

thread_local! {
    static BUSY: RefCell<Busy> = const {
        RefCell::new(Busy {
            accesses: Vec::new(),
            txn: false,
            outbox: Vec::new(),
            me: 0,
        })
    };
}

impl Busy {
    fn me(&mut self) -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        if self.me == 0 {
            self.me = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        self.me
    }
}

/// A number for this thread, never 0 (`ThreadId` gives none on stable):
/// who holds a plugin, in `slot.rs`.
pub(crate) fn me() -> u64 {
    BUSY.with_borrow_mut(Busy::me)
}

/// Whether this thread runs a transaction or borrows a plugin.
pub(crate) fn is_busy() -> bool {
    BUSY.with_borrow(|b| b.txn || !b.accesses.is_empty())
}

/// Marks the thread as running a transaction; refused when it already is
/// inside one or inside a typed access (`what` names the refused call).
pub(crate) struct TxnGuard(());

impl TxnGuard {
    pub(crate) fn enter(what: &'static str) -> Result<TxnGuard, &'static str> {
        BUSY.with_borrow_mut(|b| {
            if b.txn || !b.accesses.is_empty() {
                return Err(what);
            }
            b.txn = true;
            Ok(TxnGuard(()))
        })
    }
}

impl Drop for TxnGuard {
    fn drop(&mut self) {
        BUSY.with_borrow_mut(|b| b.txn = false);
        flush_if_idle();
    }
}

/// Marks a plugin (slot `slot` of engine `engine`) as borrowed by this
/// thread.
pub(crate) struct AccessGuard {
    me: u64,
    nested: bool,
}

impl AccessGuard {
    /// Refused (`None`) when this thread already borrows the plugin.
    #[inline]
    pub(crate) fn enter(engine: u64, slot: usize) -> Option<AccessGuard> {
        BUSY.with_borrow_mut(|b| {
            if b.accesses.contains(&(engine, slot)) {
                return None;
            }
            let nested = b.txn || !b.accesses.is_empty();
            b.accesses.push((engine, slot));
            Some(AccessGuard { me: b.me(), nested })
        })
    }

    /// This thread's number.
    pub(crate) fn me(&self) -> u64 {
        self.me
    }

    /// Whether the thread held something before this access: a nested access
    /// must never wait behind a pending transaction (it could hold what the
    /// transaction waits for).
    pub(crate) fn nested(&self) -> bool {
        self.nested
    }
}

impl Drop for AccessGuard {
    #[inline]
    fn drop(&mut self) {
        let flush = BUSY.with_borrow_mut(|b| {
            b.accesses.pop();
            !b.outbox.is_empty()
        });
        if flush {
            flush_if_idle();
        }
    }
}

/// Delivers `event` now when the thread is idle, or once it is.
pub(crate) fn emit(bus: &Arc<Bus>, event: Event) {
    let queued = BUSY.with_borrow_mut(|b| {
        if b.txn || !b.accesses.is_empty() {
            b.outbox.push((Arc::clone(bus), event));
            None
        } else {
            Some(event)
        }
    });
    if let Some(event) = queued {
        bus.deliver(&event);
    }
}

fn flush_if_idle() {
    loop {
        let batch = BUSY.with_borrow_mut(|b| {
            if b.txn || !b.accesses.is_empty() {
                Vec::new()
            } else {
                std::mem::take(&mut b.outbox)
            }
        });
        if batch.is_empty() {
            return;
        }
        // A subscriber may start a transaction; its events queue and flush
        // on their own, then this loop picks up whatever is left.
        for (bus, event) in batch {
            bus.deliver(&event);
        }
    }
}
