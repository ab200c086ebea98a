//! What the current thread is inside of — a transaction, typed accesses —
//! and the events it holds back until it is inside of nothing.
//!
//! The re-entrancy rules of `docs/concurrency.md` are enforced here: a
//! transaction cannot start on a thread that is already inside one or inside
//! a typed access, and a thread cannot borrow a plugin it already borrows.
//! Events emitted while the thread is busy are queued and delivered once it
//! holds nothing, so a subscriber never runs while this thread holds a lock or
//! a plugin another thread may need.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use crate::access::AccessError;
use crate::events::{Bus, Event};

struct Busy {
    /// The plugins this thread borrows through typed access, innermost last
    /// (typed access names a plugin by its `&'static` name: no allocation).
    accesses: Vec<Cow<'static, str>>,
    /// Whether a transaction (load, unload, reload, ...) runs on this thread.
    txn: bool,
    /// Events held back until the thread is idle.
    outbox: Vec<(Arc<Bus>, Event)>,
}

thread_local! {
    static BUSY: RefCell<Busy> = const {
        RefCell::new(Busy { accesses: Vec::new(), txn: false, outbox: Vec::new() })
    };
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

/// Marks `name` as borrowed by this thread; refused when it already is.
pub(crate) struct AccessGuard {
    nested: bool,
}

impl AccessGuard {
    pub(crate) fn enter(name: Cow<'static, str>) -> Result<AccessGuard, AccessError> {
        BUSY.with_borrow_mut(|b| {
            if b.accesses.contains(&name) {
                return Err(AccessError::Reentrant(name.into_owned()));
            }
            let nested = b.txn || !b.accesses.is_empty();
            b.accesses.push(name);
            Ok(AccessGuard { nested })
        })
    }

    /// Whether the thread held something before this access: a nested access
    /// must never wait behind a pending transaction (it could hold what the
    /// transaction waits for).
    pub(crate) fn nested(&self) -> bool {
        self.nested
    }
}

impl Drop for AccessGuard {
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
