//! A dependent plugin: reloading the greeter reloads it too. It also has an
//! optional dependency that the demo does not ship.

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

use super::greeter::Greeting;

/// Reports through the greeter's service.
#[tony_plugin(
    name = "reporter",
    version = "0.3.0",
    dependencies("greeter" = "^1.0", "metrics" = ">=1.0" optional)
)]
#[derive(Default, Serialize, Deserialize)]
pub struct Reporter {
    /// How many times it was activated.
    pub activations: u32,
    /// Whether the optional `metrics` plugin was there at the last activation.
    #[serde(skip)]
    pub with_metrics: bool,
    /// The greeting made at the last activation.
    #[serde(skip)]
    pub line: String,
}

#[tony_plugin]
impl Plugin for Reporter {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.activations += 1;
        self.with_metrics = ctx.dependency("metrics").is_some();
        let greeting = ctx
            .service::<Greeting>()
            .ok_or("the greeter's service is missing")?;
        self.line = greeting.greet("reporter");
        Ok(())
    }
}
