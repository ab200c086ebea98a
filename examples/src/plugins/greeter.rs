//! A base plugin that provides a service to the plugins depending on it.

use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// The service the greeter provides.
pub struct Greeting {
    /// The word to greet with.
    pub word: String,
}

impl Greeting {
    /// Greets `name`.
    pub fn greet(&self, name: &str) -> String {
        format!("{}, {name}!", self.word)
    }
}

/// Provides the [`Greeting`] service.
#[tony_plugin(name = "greeter", version = "1.2.0", stateless)]
#[derive(Default)]
pub struct Greeter;

#[tony_plugin]
impl Plugin for Greeter {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        ctx.provide(Greeting {
            word: "Hello".into(),
        })?;
        Ok(())
    }
}
