//! The library target of the e2e app's package: `src/lib.rs` beside
//! `src/main.rs`, the most common layout of an app. Its plugin shares its
//! crate name with the binary's, which dx recompiles without it: a patch of
//! the binary must never be taken for this plugin's removal.

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// Counts the rounds it has seen: the state the catalogue watches.
#[tony_plugin(name = "libside", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct LibSide {
    /// Rounds seen.
    pub rounds: u64,
}

#[tony_plugin]
impl LibSide {
    /// Counts one round; says how many.
    pub fn tick(&mut self) -> String {
        self.rounds += 1;
        format!("rounds={}", self.rounds)
    }
}

impl Plugin for LibSide {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}
