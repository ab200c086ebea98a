//! Applying a plugin configuration file while the system runs: checked
//! against each plugin's config type, then installed as the swap step of a
//! reload transaction of the plugins whose table changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::file::{self as config_file, PluginConfigFile, UnknownTable};
use crate::engine::containment::contain;
use crate::events::{ErrorSource, Event};
use crate::system::{Error, PluginSystem, enter};
use crate::transaction;
use crate::transaction::reload::{ReloadResult, Trigger};
use crate::transaction::swap::ConfigSwap;

impl PluginSystem {
    /// The plugin configuration file in force, if any.
    pub fn plugin_config(&self) -> Option<PluginConfigFile> {
        self.engine.plugin_config_file().map(|f| (*f).clone())
    }

    /// Reads the plugin configuration file at `path` and applies it; see
    /// [`PluginSystem::apply_plugin_config`]. An unreadable or invalid file
    /// keeps the old configuration and emits an [`Event::Error`] naming the
    /// file, line and plugin.
    pub fn reload_plugin_config(&self, path: &Path) -> Result<Option<ReloadResult>, Error> {
        match PluginConfigFile::load(path) {
            Ok(file) => self.apply_plugin_config(file),
            Err(e) => {
                self.config_error(None, &e);
                Err(e.into())
            }
        }
    }

    /// Applies a new plugin configuration: each changed table is checked
    /// against its plugin's config type, then the active plugins whose table
    /// changed are reloaded in one transaction, with their state. A table
    /// that does not fit keeps the old configuration running. Returns the
    /// reload, or `None` when no active plugin's table changed.
    ///
    /// Refused ([`Error::Reentrant`]) from inside a hook or typed access.
    pub fn apply_plugin_config(
        &self,
        new: PluginConfigFile,
    ) -> Result<Option<ReloadResult>, Error> {
        let _g = enter("apply_plugin_config")?;
        let _t = self.engine.txn();
        self.report_unknown_tables(&new, true);
        let old = self.engine.plugin_config_file();
        let changed = match &old {
            Some(old) => PluginConfigFile::changed_plugins(old, &new),
            None => new.plugin_names(),
        };
        for name in &changed {
            let Some(descriptor) = self.engine.descriptor(name) else {
                continue;
            };
            // The plugin's config type may have its own `Deserialize`.
            let checked = descriptor.vtable().and_then(|vt| match vt.check_config {
                Some(check) => contain(name, "config check", || Ok(check(&new, name))),
                None => Ok(Ok(())),
            });
            let e = match checked {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(panic) => new.plugin_error(name, panic),
            };
            self.config_error(Some(name), &e);
            return Err(e.into());
        }
        let active: Vec<String> = changed
            .into_iter()
            .filter(|n| self.engine.is_active(n))
            .collect();
        if active.is_empty() {
            self.engine.set_plugin_config(Some(Arc::new(new)));
            return Ok(None);
        }
        let path = new.path().to_path_buf();
        let mut swap = ConfigSwap {
            engine: &self.engine,
            new: Some(Arc::new(new)),
            old: None,
        };
        let result = transaction::run(&self.engine, &active, Trigger::Config, &mut swap);
        if result.success {
            self.emit(Event::ConfigReloaded {
                path,
                plugins: active,
            });
        }
        Ok(Some(result))
    }

    fn config_error(&self, plugin: Option<&str>, e: &config_file::Error) {
        tracing::error!(error = %e, "plugin configuration rejected; the previous one stays in force");
        self.emit(Event::Error {
            source: ErrorSource::Config,
            plugin: plugin.map(str::to_owned),
            message: e.to_string(),
        });
    }

    /// The tables of the plugin configuration file in force whose plugin is
    /// not registered (most often a typo), with their file, line and the
    /// closest registered name; empty without a file. Each was also emitted
    /// as an [`Event::UnknownConfigTable`].
    pub fn unknown_config_tables(&self) -> Vec<UnknownTable> {
        self.engine
            .plugin_config_file()
            .map(|file| file.unknown_tables(self.engine.names().iter().map(String::as_str)))
            .unwrap_or_default()
    }

    /// Emits an [`Event::UnknownConfigTable`] for each unknown table of
    /// `file`, logged too unless it was already (when the system was built).
    pub(crate) fn report_unknown_tables(&self, file: &PluginConfigFile, log: bool) {
        let names = self.engine.names();
        let known = names.iter().map(String::as_str);
        let unknown = if log {
            file.warn_unknown_tables(known)
        } else {
            file.unknown_tables(known)
        };
        for table in unknown {
            self.emit(Event::UnknownConfigTable(table));
        }
    }

    /// The path of the plugin configuration file, from the configuration.
    pub fn plugin_config_path(&self) -> Option<PathBuf> {
        self.engine.config().plugin_config_path.clone()
    }
}
