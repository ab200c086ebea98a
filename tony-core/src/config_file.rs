//! TEMPORARY STUB until the config module lands.
#![allow(missing_docs)]
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginConfigFile { path: PathBuf, plugins: toml::Table }

impl PluginConfigFile {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Invalid { path: path.into(), message: e.to_string() })?;
        Self::parse(&text, path)
    }
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        let t: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Invalid { path: path.into(), message: e.to_string() })?;
        let plugins = t.get("plugins").and_then(|p| p.as_table()).cloned().unwrap_or_default();
        Ok(PluginConfigFile { path: path.into(), plugins })
    }
    pub fn table(&self, plugin: &str) -> Option<&toml::Table> { self.plugins.get(plugin)?.as_table() }
    pub fn plugin_names(&self) -> Vec<String> { self.plugins.keys().cloned().collect() }
    pub fn path(&self) -> &Path { &self.path }
    pub fn changed_plugins(old: &Self, new: &Self) -> Vec<String> {
        let mut names: Vec<String> = old.plugins.keys().chain(new.plugins.keys()).filter(|k| old.plugins.get(*k) != new.plugins.get(*k)).cloned().collect();
        names.sort(); names.dedup(); names
    }
    pub fn plugin_error(&self, plugin: &str, e: &(dyn std::error::Error + Send + Sync)) -> Error {
        Error::Invalid { path: self.path.clone(), message: format!("plugin `{plugin}`: {e}") }
    }
}
