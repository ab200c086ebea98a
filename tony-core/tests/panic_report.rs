//! Issue 14: a panicking hook is reported in one line (plugin, hook,
//! message, location) instead of the default hook's output, unless
//! `RUST_BACKTRACE` asks for a backtrace; panics outside Tony's contained
//! calls still reach the previous hook. One test per process: the panic
//! hook is process-wide.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tony_core::{BoxError, Context, Metadata, Plugin, PluginDescriptor, PluginType};

#[derive(Default)]
struct Panicky;
impl Plugin for Panicky {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        panic!("activate went wrong");
    }
}
impl PluginType for Panicky {
    const NAME: &'static str = "panicky";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::stateless::<Self>(Metadata::new("panicky", "1.0.0"))
    }
}

/// Collects the messages of error events (a minimal subscriber: no
/// tracing-subscriber needed).
struct Errors(Arc<Mutex<Vec<String>>>);
struct Message<'a>(&'a mut String);
impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}
impl tracing::Subscriber for Errors {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            let mut message = String::new();
            event.record(&mut Message(&mut message));
            self.0.lock().unwrap().push(message);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_contained_panic_is_one_line_and_other_panics_reach_the_previous_hook() {
    static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
    // Installed before Tony contains anything: Tony's hook wraps it.
    std::panic::set_hook(Box::new(|_| {
        PREVIOUS.fetch_add(1, Ordering::SeqCst);
    }));
    let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");

    let errors = Arc::new(Mutex::new(Vec::new()));
    let system = common::system(vec![Panicky::descriptor()]);
    let err = tracing::subscriber::with_default(Errors(Arc::clone(&errors)), || {
        system.load_plugin("panicky").unwrap_err()
    });
    // The error says where, whatever the hook printed.
    let here = format!("{}:", file!());
    assert!(
        err.to_string().contains("activate went wrong") && err.to_string().contains(&here),
        "{err}"
    );
    let reported: Vec<String> = errors
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains("panicked in activate"))
        .cloned()
        .collect();
    if backtrace {
        // RUST_BACKTRACE asked for the full report: the previous hook ran.
        assert_eq!(PREVIOUS.load(Ordering::SeqCst), 1);
    } else {
        assert_eq!(PREVIOUS.load(Ordering::SeqCst), 0, "the default report ran");
        assert_eq!(reported.len(), 1, "{reported:?}");
        let line = &reported[0];
        assert!(
            line.contains("panicky")
                && line.contains("activate went wrong")
                && line.contains(&here),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }

    // A panic outside Tony, on another thread, goes to the previous hook.
    let before = PREVIOUS.load(Ordering::SeqCst);
    assert!(std::thread::spawn(|| panic!("not Tony's")).join().is_err());
    assert_eq!(PREVIOUS.load(Ordering::SeqCst), before + 1);
}
