use serde::{Deserialize, Serialize};
use tony_core::{AccessError, BoxError, Context, Plugin, PluginSystem, hot, tony_plugin};

/// Counts what it sees. The struct is the state a reload can carry over.
#[tony_plugin(name = "counter", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct Counter {
    /// Ticks so far.
    pub count: u64,
}

#[tony_plugin] // in development, methods go through the hot-patch jump table
impl Counter {
    /// Counts one more tick.
    pub fn tick(&mut self) -> u64 {
        self.count += 1; // edit this while the app runs under dx
        self.count
    }
}

impl Plugin for Counter {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// One round of the app's work. Called through `hot::call`, it is patched too.
fn round(system: &PluginSystem) -> Result<u64, AccessError> {
    system.with_mut::<Counter, _>(|c| c.tick())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = PluginSystem::builder().build()?; // every #[tony_plugin]; preset from TONY_ENV
    system.initialize()?; // activates them in dependency order
    for _ in 0..3 {
        hot::call(round, (&system,))?; // a fn item, never a capturing closure
    }

    let result = system.reload_plugin("counter"); // snapshot, deactivate, rebuild, activate
    assert!(result.success, "{:?}", result.error);
    let count = system.with::<Counter, _>(|c| c.count)?;
    if system.config().preserve_state {
        // development, the default in debug builds: the state came back
        assert!(result.state_preserved);
        assert_eq!(count, 3);
    } else {
        // production (the default in release builds) and testing start afresh
        assert_eq!(count, 0);
    }
    Ok(())
}
