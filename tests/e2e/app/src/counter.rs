//! A stateful plugin of the binary crate.

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// Counts by its step.
#[tony_plugin(name = "counter", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct Counter {
    /// The count so far.
    pub count: u64,
}

#[tony_plugin]
impl Counter {
    /// Advances the count; says where it is.
    pub fn tick(&mut self) -> String {
        self.count += self.step();
        format!("count={} step={}", self.count, self.step())
    }

    /// How far one tick goes.
    pub fn step(&self) -> u64 {
        crate::util::scale()
    }

    /// What the next tick would add, for readers outside the tick (the
    /// app's background thread).
    pub fn peek(&self) -> u64 {
        self.step()
    }
}

#[tony_plugin]
impl Plugin for Counter {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        println!("ACTIVATE counter v1 count={}", self.count);
        Ok(())
    }
}
