//! The expansion compiles cleanly under strict lints: whatever the user's
//! crate denies, the generated code must not trip it. (Clippy's lints are
//! checked by `cargo clippy --all-targets`.)

#![deny(
    warnings,
    unused,
    unused_qualifications,
    missing_docs,
    unreachable_pub,
    unsafe_code,
    rust_2018_idioms,
    single_use_lifetimes,
    trivial_casts,
    trivial_numeric_casts,
    unused_lifetimes,
    unused_results,
    redundant_lifetimes,
    let_underscore_drop,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    clippy::nursery
)]

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// A plugin with every key set.
#[tony_plugin(
    name = "strict",
    version = "1.0.0",
    min_tony_version = "0.1.0",
    state_version = 1,
    dependencies("other" = "^1" optional),
    config = StrictConfig
)]
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Strict {
    count: u64,
}

/// Its configuration.
#[derive(Debug, Deserialize)]
pub struct StrictConfig {
    /// A setting.
    pub level: u8,
}

/// A stateless plugin with every default.
#[tony_plugin(stateless)]
#[derive(Debug, Default)]
pub struct Quiet;

#[tony_plugin]
impl Plugin for Strict {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.count += 1;
        Ok(())
    }
}

#[tony_plugin]
impl Plugin for Quiet {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tony_plugin]
impl Strict {
    /// The count.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds to the count.
    pub fn add(&mut self, (a, b): (u64, u64), mut c: u64) {
        c += a + b;
        self.count += c;
    }
}

#[test]
fn compiles_and_runs() {
    let mut s = Strict::default();
    s.add((1, 2), 3);
    assert_eq!(s.count(), 6);
}
