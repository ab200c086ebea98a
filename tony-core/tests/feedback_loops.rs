//! Issue 22: an event subscriber that reacts to the events it causes (a
//! reload from a reload event, a load from an unload event, an emit from
//! any event) is stopped: its nested transactions are refused past a small
//! bound with `Error::FeedbackLoop`, its events are delivered iteratively,
//! and the process and every plugin's state survive. On the engine before
//! the fix each of these recursed until the stack overflowed (the whole
//! test binary aborts), which is why they live in a binary of their own.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tony_core::error::SystemError;
use tony_core::{Event, EventKind, PluginState, PluginSystem, PluginType, ReloadResult, Unload};

count_plugin!(A, "fb-a");

fn system() -> PluginSystem {
    let system = common::system(vec![A::descriptor()]);
    system.initialize().unwrap();
    system.with_mut::<A, _>(|a| a.count = 7).unwrap();
    system
}

fn all_active(system: &PluginSystem) -> bool {
    system
        .status()
        .iter()
        .all(|s| s.state == PluginState::Active)
}

#[test]
fn a_subscriber_that_reloads_on_every_reload_event_is_stopped() {
    let system = system();
    let results: Arc<Mutex<Vec<ReloadResult>>> = Arc::default();
    let (sink, handle) = (Arc::clone(&results), system.clone());
    let id = system.subscribe_all(move |e: &Event| {
        if matches!(
            e,
            Event::ReloadStarted { .. } | Event::ReloadCompleted(_) | Event::ReloadFailed(_)
        ) {
            let r = handle.reload_plugin("fb-a");
            sink.lock().unwrap().push(r);
        }
    });

    let first = system.reload_plugin("fb-a");

    assert!(first.success, "{first:?}");
    let results = results.lock().unwrap().clone();
    let refused: Vec<&ReloadResult> = results.iter().filter(|r| !r.success).collect();
    assert!(!refused.is_empty(), "the loop was cut: {results:?}");
    for r in &refused {
        let message = &r.error.as_ref().unwrap().message;
        assert!(
            message.contains("feedback loop") && message.contains("`reload`"),
            "{message}"
        );
        assert!(!r.rolled_back && r.states.is_empty(), "nothing ran: {r:?}");
    }
    assert!(
        results.iter().all(|r| r.success || refused.contains(&r)),
        "every nested reload either ran or was refused as a loop"
    );
    assert_eq!(system.with::<A, _>(|a| a.count).unwrap(), 7, "state intact");
    assert!(all_active(&system));

    // Without the subscriber, reloads are as before.
    assert!(system.unsubscribe(id));
    assert!(system.reload_plugin("fb-a").success);
    assert_eq!(system.with::<A, _>(|a| a.count).unwrap(), 7);
}

#[test]
fn a_subscriber_that_loads_what_was_unloaded_and_back_is_refused_with_a_typed_error() {
    let system = system();
    let errors: Arc<Mutex<Vec<SystemError>>> = Arc::default();
    let (sink, handle) = (Arc::clone(&errors), system.clone());
    system.subscribe_all(move |e: &Event| {
        let outcome = match e {
            Event::PluginLoaded { plugin, .. } => {
                handle.unload_plugin(plugin, Unload::Refuse).map(drop)
            }
            Event::PluginUnloaded { plugin } => handle.load_plugin(plugin),
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            sink.lock().unwrap().push(e);
        }
    });

    system.unload_plugin("fb-a", Unload::Refuse).unwrap();

    let errors = std::mem::take(&mut *errors.lock().unwrap());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(errors[0], SystemError::FeedbackLoop { nesting: 4, .. }),
        "{:?}",
        errors[0]
    );
    assert!(
        errors[0].to_string().contains("feedback loop"),
        "{}",
        errors[0]
    );
    // The chain stopped after a load or an unload; either way the system
    // answers, and the plugin loads.
    let _ = system.load_plugin("fb-a");
    assert!(all_active(&system));
}

#[test]
fn a_subscriber_that_emits_on_every_event_is_cut_off() {
    let system = system();
    let delivered = Arc::new(AtomicUsize::new(0));
    let (count, handle) = (Arc::clone(&delivered), system.clone());
    system.subscribe(EventKind::SourceChanged, move |e: &Event| {
        count.fetch_add(1, Ordering::SeqCst);
        tony_core::__private::emit(&handle, e.clone());
    });

    tony_core::__private::emit(
        &system,
        Event::SourceChanged {
            path: PathBuf::from("src/lib.rs"),
            plugins: vec!["fb-a".to_owned()],
        },
    );

    let n = delivered.load(Ordering::SeqCst);
    assert!((2..=100).contains(&n), "delivered {n} times");
    assert!(
        system.reload_plugin("fb-a").success,
        "and the system works on"
    );
}

#[test]
fn events_a_subscriber_causes_arrive_after_the_event_it_handles() {
    let system = system();
    let seen: Arc<Mutex<Vec<EventKind>>> = Arc::default();
    let (sink, handle) = (Arc::clone(&seen), system.clone());
    let reloaded = Arc::new(AtomicUsize::new(0));
    let once = Arc::clone(&reloaded);
    system.subscribe_all(move |e: &Event| {
        sink.lock().unwrap().push(e.kind());
        if matches!(e, Event::PluginLoaded { .. }) && once.fetch_add(1, Ordering::SeqCst) == 0 {
            let reloaded = handle.reload_plugin("fb-a").success;
            // A marker: the reload returned.
            sink.lock().unwrap().push(if reloaded {
                EventKind::Error
            } else {
                EventKind::PatchApplied
            });
        }
    });

    system.unload_plugin("fb-a", Unload::Refuse).unwrap();
    system.load_plugin("fb-a").unwrap();

    let seen = seen.lock().unwrap().clone();
    let marker = seen.iter().position(|k| *k == EventKind::Error).unwrap();
    assert_eq!(
        seen[marker..],
        [
            EventKind::Error,
            EventKind::ReloadStarted,
            EventKind::StatePreserved,
            EventKind::StateRestored,
            EventKind::ReloadCompleted
        ],
        "the nested reload succeeded, and its events came after its subscriber returned"
    );
}
