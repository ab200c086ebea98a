//! A configured plugin: its `[plugins.banner]` table in `demo.toml` is read
//! on activation, and a change to the file reconfigures it live.

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

/// The banner's configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerConfig {
    /// The text shown.
    pub text: String,
    /// The width it is centred in.
    #[serde(default = "default_width")]
    pub width: usize,
}

fn default_width() -> usize {
    40
}

/// Shows a configurable line of text.
#[tony_plugin(name = "banner", version = "1.0.0", config = BannerConfig)]
#[derive(Default, Serialize, Deserialize)]
pub struct Banner {
    /// How many times it was shown: state, kept across reconfigurations.
    pub shown: u64,
    /// The configuration in force (rebuilt on every activation).
    #[serde(skip)]
    pub config: BannerConfig,
}

#[tony_plugin]
impl Banner {
    /// The banner line.
    pub fn render(&mut self) -> String {
        self.shown += 1;
        format!("{:^width$}", self.config.text, width = self.config.width)
    }
}

#[tony_plugin]
impl Plugin for Banner {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.config = ctx.config()?;
        Ok(())
    }
}
