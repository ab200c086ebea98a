//! Running user code so that its panics become errors.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::BoxError;

/// A hook that panicked.
#[derive(Debug, thiserror::Error)]
#[error("panicked: {message}")]
pub(crate) struct Panicked {
    pub(crate) message: String,
}

/// Runs `f`, turning a panic into an error carrying the panic message.
///
/// `AssertUnwindSafe` is sound here because after a panic the system never
/// trusts the value `f` touched: a failed instance is rolled back (replaced
/// by the previous one, or rebuilt from its snapshot).
pub(crate) fn contain<R>(f: impl FnOnce() -> Result<R, BoxError>) -> Result<R, BoxError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => Err(Box::new(Panicked {
            message: panic_message(&*panic),
        })),
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
