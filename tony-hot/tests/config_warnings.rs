//! Issue 22: a `[plugins.<typo>]` table in the watched plugin config file
//! reaches subscribers (when the file is edited) and the hot-reload status,
//! with its file, line and the closest plugin name.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tony_core::{
    BoxError, Context, Environment, Event, EventKind, HotReloadConfig, Plugin, PluginSystem,
    tony_plugin,
};
use tony_hot::HotReloadExt;

#[tony_plugin(name = "warned-greeter", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct WarnedGreeter;

impl Plugin for WarnedGreeter {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_typo_table_reaches_the_status_and_subscribers_when_the_file_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugins.toml");
    std::fs::write(&file, "[plugins.warned-greetr]\nword = \"hi\"\n").unwrap();
    let mut config = HotReloadConfig::for_environment(Environment::Development);
    config.debounce = Duration::from_millis(50);
    config.plugin_config_path = Some(file.clone());
    let system = PluginSystem::builder()
        .config(config)
        .select(|m| m.name() == "warned-greeter")
        .build()
        .unwrap();
    system.initialize().unwrap();
    let hot = system.start_hot_reload().unwrap();

    let warnings = hot.status().config_warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        (warnings[0].line, warnings[0].closest.as_deref()),
        (1, Some("warned-greeter"))
    );

    let (tx, rx) = mpsc::channel();
    system.subscribe(EventKind::UnknownConfigTable, tx);
    std::fs::write(
        &file,
        "[plugins.warned-greeter]\nword = \"hi\"\n\n[plugins.wraned-greeter]\nword = \"yo\"\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx
            .recv_timeout(left)
            .expect("no UnknownConfigTable event in 10 s")
        {
            Event::UnknownConfigTable(t) if t.plugin == "wraned-greeter" => break t,
            _ => {}
        }
    };
    assert_eq!(seen.line, 4);
    assert_eq!(seen.closest.as_deref(), Some("warned-greeter"));
    assert!(seen.path.ends_with("plugins.toml"), "{:?}", seen.path);
    assert_eq!(hot.status().config_warnings, [seen], "the status follows");
}
