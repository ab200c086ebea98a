//! Running user code so that its panics become errors, and dropping user
//! values so that their `Drop` cannot unwind into Tony.
//!
//! A contained panic is reported in one line (plugin, hook, message,
//! location) through `tracing` instead of the default hook's output; with
//! `RUST_BACKTRACE` set (not `0`) the previous hook runs as usual, backtrace
//! included. The hook is installed once, process-wide, the first time Tony
//! contains user code; it only acts on threads that are inside
//! [`contain`] at the moment of the panic and hands every other panic to the
//! hook that was installed before it.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use crate::plugin::BoxError;

/// A hook that panicked.
#[derive(Debug, thiserror::Error)]
#[error("panicked{}: {message}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
pub(crate) struct Panicked {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
}

#[derive(Clone)]
struct Site {
    plugin: String,
    hook: &'static str,
}

thread_local! {
    /// The contained calls running on this thread, innermost last.
    static SITES: RefCell<Vec<Site>> = const { RefCell::new(Vec::new()) };
    /// Where the last contained panic of this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f` (user code: `hook` of `plugin`), turning a panic into an error
/// carrying the panic message and location. The panic payload is dropped
/// contained too.
///
/// `AssertUnwindSafe` is sound here because after a panic the system never
/// trusts the value `f` touched: a failed instance is rolled back (replaced
/// by the previous one, or rebuilt from its snapshot).
pub(crate) fn contain<R>(
    plugin: &str,
    hook: &'static str,
    f: impl FnOnce() -> Result<R, BoxError>,
) -> Result<R, BoxError> {
    install_hook();
    SITES.with_borrow_mut(|s| {
        s.push(Site {
            plugin: plugin.to_owned(),
            hook,
        })
    });
    let outcome = catch_unwind(AssertUnwindSafe(f));
    SITES.with_borrow_mut(|s| s.pop());
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(&*payload);
            drop_payload(payload);
            let location = LOCATION.with_borrow_mut(Option::take);
            Err(Box::new(Panicked { message, location }))
        }
    }
}

/// Drops `value` (a plugin instance, a service, a sink) so that a panic in
/// its `Drop` becomes an error.
pub(crate) fn drop_contained<T>(
    plugin: &str,
    what: &'static str,
    value: T,
) -> Result<(), BoxError> {
    contain(plugin, what, move || {
        drop(value);
        Ok(())
    })
}

/// Drops a panic payload; a payload whose own `Drop` panics is leaked
/// rather than allowed to unwind.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

fn backtrace_wanted() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}

fn install_hook() {
    static ONCE: Once = Once::new();
    // `take_hook` panics on a panicking thread (a drop during unwinding).
    if ONCE.is_completed() || std::thread::panicking() {
        return;
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let site = SITES
                .try_with(|s| s.try_borrow().ok().and_then(|s| s.last().cloned()))
                .ok()
                .flatten();
            let Some(site) = site else {
                return previous(info);
            };
            let location = info.location().map(ToString::to_string);
            let _ = LOCATION.try_with(|l| {
                if let Ok(mut l) = l.try_borrow_mut() {
                    l.clone_from(&location);
                }
            });
            if backtrace_wanted() {
                return previous(info);
            }
            let message = info.payload_as_str().unwrap_or("non-string panic payload");
            tracing::error!(
                plugin = %site.plugin,
                hook = site.hook,
                location = location.as_deref().unwrap_or("?"),
                "plugin `{}` panicked in {}: {message} (at {}; RUST_BACKTRACE=1 for a backtrace)",
                site.plugin,
                site.hook,
                location.as_deref().unwrap_or("?"),
            );
        }));
    });
}
