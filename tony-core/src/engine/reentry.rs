//! What the current thread is inside of — a transaction, typed accesses —
//! and the events it holds back until it is inside of nothing.
//!
//! The re-entrancy rules of `docs/concurrency.md` are enforced here: a
//! transaction cannot start on a thread that is already inside one or inside
//! a typed access, and a thread cannot borrow a plugin it already borrows.
//! Events emitted while the thread is busy are queued and delivered once it
//! holds nothing, so a subscriber never runs while this thread holds a lock or
//! a plugin another thread may need. Events raised while the thread delivers
//! (by a subscriber, or a transaction a subscriber started) are queued too,
//! and delivered by the same loop after the subscriber returns; a chain of
//! subscriber-started transactions deeper than [`MAX_SUBSCRIBER_NESTING`] is
//! refused as a feedback loop.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::events::{Bus, Event};

/// How deep a chain of transactions started by event subscribers may go: a
/// subscriber may start a transaction while it delivers an event of a
/// transaction that itself was started by a subscriber, and so on, this
/// many times; one more is refused as a feedback loop.
pub(crate) const MAX_SUBSCRIBER_NESTING: u32 = 4;

/// Events raised by subscribers beyond this many generations (a subscriber
/// that emits on every event it receives) are dropped, with an error in
/// the log, rather than delivered forever.
const MAX_EVENT_GENERATIONS: u32 = 64;

/// Why a transaction cannot start on this thread.
pub(crate) enum Refused {
    /// The thread is inside a transaction or a typed access.
    Reentrant(&'static str),
    /// A subscriber started it, from an event of a transaction a subscriber
    /// started, [`MAX_SUBSCRIBER_NESTING`] times already.
    FeedbackLoop(&'static str),
}

/// An event waiting to be delivered, with its generation: 0 when raised
/// outside any delivery, n + 1 when raised while an event of generation n
/// was being delivered on this thread (by its subscriber, or by a
/// transaction the subscriber started).
struct Queued {
    bus: Arc<Bus>,
    event: Event,
    generation: u32,
}

struct Busy {
    /// The plugins this thread borrows through typed access, innermost last,
    /// as (engine id, slot index).
    accesses: Vec<(u64, usize)>,
    /// Whether a transaction (load, unload, reload, ...) runs on this thread.
    txn: bool,
    /// Events held back until the thread is idle, oldest first.
    outbox: VecDeque<Queued>,
    /// The generation of the event this thread is delivering, if it is:
    /// one delivery loop per thread, which delivers whatever its
    /// subscribers raise too (iteratively, never recursively).
    delivering: Option<u32>,
    /// This thread's number (see [`me`]); 0 until first asked for.
    me: u64,
}

thread_local! {
    static BUSY: RefCell<Busy> = const {
        RefCell::new(Busy {
            accesses: Vec::new(),
            txn: false,
            outbox: VecDeque::new(),
            delivering: None,
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
/// who holds a plugin, in `engine/slot.rs`.
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
    pub(crate) fn enter(what: &'static str) -> Result<TxnGuard, Refused> {
        let entered = BUSY.with_borrow_mut(|b| {
            if b.txn || !b.accesses.is_empty() {
                return Err(Refused::Reentrant(what));
            }
            if b.delivering.is_some_and(|g| g >= MAX_SUBSCRIBER_NESTING) {
                return Err(Refused::FeedbackLoop(what));
            }
            b.txn = true;
            Ok(TxnGuard(()))
        });
        if let Err(Refused::FeedbackLoop(call)) = &entered {
            tracing::error!(
                call,
                nesting = MAX_SUBSCRIBER_NESTING,
                "refused: event subscribers keep starting transactions from the events of the \
                 transactions they started (a feedback loop)"
            );
        }
        entered
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

/// Delivers `event` now when the thread is idle, or once it is. Raised
/// while this thread delivers events (by a subscriber), it is queued and
/// delivered by that delivery loop once the subscriber returns: a
/// subscriber that reacts to the events it causes loops, it never recurses.
pub(crate) fn emit(bus: &Arc<Bus>, event: Event) {
    BUSY.with_borrow_mut(|b| {
        let generation = b.delivering.map_or(0, |g| g + 1);
        b.outbox.push_back(Queued {
            bus: Arc::clone(bus),
            event,
            generation,
        });
    });
    flush_if_idle();
}

/// Ends this thread's delivery loop, also if a delivery unwinds.
struct Delivering;

impl Drop for Delivering {
    fn drop(&mut self) {
        BUSY.with_borrow_mut(|b| b.delivering = None);
    }
}

fn flush_if_idle() {
    let start = BUSY.with_borrow_mut(|b| {
        let idle = !b.txn && b.accesses.is_empty() && b.delivering.is_none();
        let start = idle && !b.outbox.is_empty();
        if start {
            b.delivering = Some(0);
        }
        start
    });
    if !start {
        return;
    }
    let _delivering = Delivering;
    // A subscriber may start a transaction or emit: what that raises is
    // queued (this thread is delivering) and picked up here.
    while let Some(q) = BUSY.with_borrow_mut(|b| {
        let q = b.outbox.pop_front();
        if let Some(q) = &q {
            b.delivering = Some(q.generation);
        }
        q
    }) {
        if q.generation > MAX_EVENT_GENERATIONS {
            tracing::error!(
                kind = ?q.event.kind(),
                generations = q.generation,
                "event dropped: event subscribers keep raising events from the events they \
                 receive (a feedback loop)"
            );
            continue;
        }
        q.bus.deliver(&q.event);
    }
}
