//! A stateful plugin: its count survives every reload and every hot patch.

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// Counts ticks.
#[tony_plugin(name = "counter", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct Counter {
    /// Ticks so far.
    pub count: u64,
}

#[tony_plugin]
impl Counter {
    /// Advances the count by [`Counter::step`] and returns it.
    pub fn tick(&mut self) -> u64 {
        self.count += self.step();
        self.count
    }

    /// How far one tick goes. Edit it while the demo runs under
    /// `dx serve --hot-patch`: the next tick uses the new step, and the
    /// count is kept.
    pub fn step(&self) -> u64 {
        1
    }
}

#[tony_plugin]
impl Plugin for Counter {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}
