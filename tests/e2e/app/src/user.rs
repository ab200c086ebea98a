//! A plugin of the binary crate that depends on one of the library crate.

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// Counts its activations.
#[tony_plugin(name = "user", version = "1.0.0", dependencies("base" = "^1"))]
#[derive(Default, Serialize, Deserialize)]
pub struct User {
    /// Activations so far.
    pub activations: u64,
}

#[tony_plugin]
impl User {
    /// What it knows.
    pub fn describe(&self) -> String {
        format!("activations={}", self.activations)
    }
}

#[tony_plugin]
impl Plugin for User {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.activations += 1;
        println!("ACTIVATE user activations={}", self.activations);
        Ok(())
    }
}
