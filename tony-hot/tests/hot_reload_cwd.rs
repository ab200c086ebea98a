//! A relative plugin configuration path and source root, resolved against
//! the working directory at start. Its own test binary: it changes the process's
//! working directory, which no other test may share.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tony_core::{
    BoxError, Context, Environment, HotReloadConfig, Plugin, PluginSystem, tony_plugin,
};
use tony_hot::HotReloadExt;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct WordConfig {
    #[serde(default)]
    pub word: String,
}

#[tony_plugin(name = "cwd-greeter", version = "1.0.0", config = WordConfig)]
#[derive(Default, Serialize, Deserialize)]
pub struct CwdGreeter {
    #[serde(skip)]
    config: WordConfig,
}

impl Plugin for CwdGreeter {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.config = ctx.config()?;
        Ok(())
    }
}

#[test]
fn a_relative_config_path_created_after_start_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let mut c = HotReloadConfig::for_environment(Environment::Development);
    c.debounce = Duration::from_millis(50);
    c.plugin_config_path = Some("plugins.toml".into());
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let c = c.with_source_roots(["src"]);
    let system = PluginSystem::builder()
        .config(c)
        .select(|m| m.name() == "cwd-greeter")
        .build()
        .unwrap();
    system.initialize().unwrap();
    let hot = system.start_hot_reload().unwrap();
    assert_eq!(
        hot.status().config_file.as_deref(),
        Some(dir.path().join("plugins.toml").as_path()),
        "resolved against the working directory at start"
    );
    let src = std::fs::canonicalize(dir.path().join("src")).unwrap();
    assert!(
        hot.status().watched[&src].is_watched(),
        "{:?}",
        hot.status().watched
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        n += 1;
        let w = format!("created-{n}");
        std::fs::write(
            "plugins.toml",
            format!("[plugins.cwd-greeter]\nword = \"{w}\"\n"),
        )
        .unwrap();
        let settle = Instant::now() + Duration::from_millis(500);
        while Instant::now() < settle {
            if system
                .with::<CwdGreeter, _>(|g| g.config.word.clone())
                .unwrap()
                == w
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            Instant::now() < deadline,
            "the created file was never applied"
        );
    }
}
