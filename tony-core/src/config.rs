//! TEMPORARY STUB until the config module lands.
#![allow(missing_docs)]
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad env {0}")]
    Env(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment { Development, Production, Testing }

#[derive(Clone, Debug, PartialEq)]
pub struct HotReloadConfig {
    pub enabled: bool,
    pub preserve_state: bool,
    pub validate_before_reload: bool,
    pub debounce: Duration,
    pub recursive: bool,
    pub extensions: Vec<String>,
    pub ignore: Vec<String>,
    pub max_retry_attempts: u32,
    pub reload_dependents: bool,
    pub plugin_config_path: Option<PathBuf>,
}

impl Default for HotReloadConfig {
    fn default() -> Self {
        HotReloadConfig { enabled: cfg!(debug_assertions), preserve_state: true, validate_before_reload: true,
            debounce: Duration::from_millis(500), recursive: true, extensions: vec!["rs".into(), "toml".into()],
            ignore: vec!["target/**".into(), ".git/**".into()], max_retry_attempts: 3, reload_dependents: true, plugin_config_path: None }
    }
}

impl HotReloadConfig {
    pub fn from_env() -> Result<Self, Error> { Ok(Self::default()) }
}
