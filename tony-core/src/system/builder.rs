//! [`PluginSystemBuilder`]: how a [`PluginSystem`] is configured and built.

use std::any::Any;
use std::sync::Arc;

use semver::Version;

use crate::access::services::{HOST, Services};
use crate::config::HotReloadConfig;
use crate::config::file::PluginConfigFile;
use crate::engine::Engine;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::metadata::Metadata;
use crate::plugin::plugin_type::PluginType;
use crate::plugin::registry::Registry;
use crate::system::{Error, PluginSystem};
use crate::transaction::validate::Validator;

type Selector = Box<dyn Fn(&Metadata) -> bool>;

impl PluginSystem {
    /// Starts building a system.
    pub fn builder() -> PluginSystemBuilder {
        PluginSystemBuilder::default()
    }
}

/// Builds a [`PluginSystem`].
#[derive(Default)]
pub struct PluginSystemBuilder {
    config: Option<HotReloadConfig>,
    no_inventory: bool,
    explicit: Vec<PluginDescriptor>,
    select: Option<Selector>,
    services: Vec<(std::any::TypeId, &'static str, Arc<dyn Any + Send + Sync>)>,
    validators: Vec<Arc<dyn Validator>>,
    plugin_config: Option<PluginConfigFile>,
    tony_version: Option<Version>,
}

impl PluginSystemBuilder {
    /// Sets the hot-reload configuration. Default:
    /// [`HotReloadConfig::from_env`] (the `TONY_ENV` preset).
    pub fn config(mut self, config: HotReloadConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Whether to include every `#[tony_plugin]` of the binary (default: yes).
    pub fn register_inventory(mut self, yes: bool) -> Self {
        self.no_inventory = !yes;
        self
    }

    /// Keeps only the plugins `keep` accepts (handy in tests, where one
    /// binary holds many plugins).
    pub fn select(mut self, keep: impl Fn(&Metadata) -> bool + 'static) -> Self {
        self.select = Some(Box::new(keep));
        self
    }

    /// Registers a plugin type explicitly.
    pub fn plugin<T: PluginType>(self) -> Self {
        self.descriptor(T::descriptor())
    }

    /// Registers a plugin from its descriptor (for plugins written without
    /// the macro).
    pub fn descriptor(mut self, descriptor: PluginDescriptor) -> Self {
        self.explicit.push(descriptor);
        self
    }

    /// Provides a service from the host, visible to every plugin.
    pub fn service<S: Any + Send + Sync>(mut self, service: S) -> Self {
        self.services.push((
            std::any::TypeId::of::<S>(),
            std::any::type_name::<S>(),
            Arc::new(service),
        ));
        self
    }

    /// Adds a validator every reload must pass.
    pub fn validator(mut self, validator: impl Validator) -> Self {
        self.validators.push(Arc::new(validator));
        self
    }

    /// Sets the initial plugin configuration.
    pub fn plugin_config(mut self, file: PluginConfigFile) -> Self {
        self.plugin_config = Some(file);
        self
    }

    /// Pretends to be another Tony version (for testing `min_tony_version`).
    pub fn tony_version(mut self, version: Version) -> Self {
        self.tony_version = Some(version);
        self
    }

    /// Builds the system. Fails on a duplicate or invalid plugin, an invalid
    /// `TONY_ENV`, or an unreadable plugin configuration file.
    pub fn build(self) -> Result<PluginSystem, Error> {
        let config = match self.config {
            Some(c) => c,
            None => HotReloadConfig::from_env()?,
        };
        let plugin_config = match (self.plugin_config, &config.plugin_config_path) {
            (Some(f), _) => Some(f),
            (None, Some(path)) if path.exists() => Some(PluginConfigFile::load(path)?),
            _ => None,
        };
        let registry = Registry::new(!self.no_inventory, self.explicit)?;
        if let Some(file) = &plugin_config {
            file.warn_unknown_tables(registry.names());
        }
        let services = Services::default();
        for (id, type_name, value) in self.services {
            services
                .provide(HOST, value, id, type_name)
                .map_err(|e| Error::Activate {
                    plugin: HOST.to_owned(),
                    source: Box::new(e),
                })?;
        }
        let select = self.select;
        let descriptors = registry
            .into_descriptors()
            .filter(|d| select.as_ref().is_none_or(|keep| keep(&d.metadata)));
        Ok(PluginSystem {
            engine: Arc::new(Engine::new(
                self.tony_version
                    .unwrap_or_else(crate::plugin::metadata::tony_version),
                descriptors,
                services,
                config,
                plugin_config,
                self.validators,
            )),
        })
    }
}
