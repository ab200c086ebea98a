//! A plugin in a workspace library crate, which the app's binary crate
//! depends on: `scripts/e2e-hotpatch.sh` edits it while the app runs under
//! `dx serve --hot-patch`, and a plugin of the binary depends on it.
#![allow(clippy::print_stdout)] // the catalogue reads what the app prints

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// Greets, counting its greetings.
#[tony_plugin(name = "base", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct Base {
    /// Greetings so far.
    pub calls: u64,
}

#[tony_plugin]
impl Base {
    /// One greeting.
    pub fn greeting(&mut self) -> String {
        self.calls += 1;
        format!("hello#{}", self.calls)
    }
}

#[tony_plugin]
impl Plugin for Base {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        println!("ACTIVATE base calls={}", self.calls);
        Ok(())
    }
}
