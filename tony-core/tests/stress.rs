//! Concurrency: calls wait for reloads and never see a half-reloaded plugin;
//! reloads leak no instances.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;

use tony_core::{BoxError, Context, Plugin, PluginDescriptor, PluginType};

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Both tests create and drop counters; the count is only meaningful when
/// they do not overlap.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Counter {
    count: u64,
    #[serde(skip)]
    active: bool,
    #[serde(skip)]
    _live: Live,
}

/// Counts live instances.
struct Live;
impl Default for Live {
    fn default() -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Live
    }
}
impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Plugin for Counter {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        self.active = true;
        Ok(())
    }
    fn deactivate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        self.active = false;
        Ok(())
    }
}

impl PluginType for Counter {
    const NAME: &'static str = "counter";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(tony_core::Metadata::new("counter", "1.0.0"))
    }
}

#[test]
fn increments_from_eight_threads_survive_a_thousand_reloads() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 125_000;
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let system = common::system(vec![Counter::descriptor()]);
    system.initialize().unwrap();
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    system
                        .with_mut::<Counter, _>(|c| {
                            assert!(c.active, "saw a deactivated instance");
                            c.count += 1;
                        })
                        .unwrap();
                }
            });
        }
        s.spawn(|| {
            for _ in 0..1000 {
                let r = system.reload_plugin("counter");
                assert!(r.success && r.state_preserved, "{:?}", r.error);
                thread::yield_now();
            }
        });
    });
    assert_eq!(
        system.with::<Counter, _>(|c| c.count).unwrap(),
        THREADS * PER_THREAD
    );
}

#[test]
fn ten_thousand_reloads_leave_the_instance_count_unchanged() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let system = common::system(vec![Counter::descriptor()]);
    system.initialize().unwrap();
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..10_000 {
        assert!(system.reload_plugin("counter").success);
    }
    assert_eq!(LIVE.load(Ordering::SeqCst), before);
}
