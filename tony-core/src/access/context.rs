//! [`Context`]: what a hook can reach — the framework version, services,
//! dependencies and configuration.
//!
//! A context reaches the engine through the small [`Host`] trait, which the
//! engine implements: this module knows nothing of the engine's state.

use std::any::{Any, TypeId};
use std::sync::Arc;

use semver::Version;
use serde::de::DeserializeOwned;

use crate::access::AccessError;
use crate::config::file::{self as config_file, PluginConfigFile};
use crate::plugin::metadata::Metadata;

/// Why a context call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another plugin already provides a service of this type.
    #[error("plugin `{plugin}` cannot provide `{service}`: already provided by `{owner}`")]
    ServiceTaken {
        /// The plugin trying to provide it.
        plugin: String,
        /// The service type.
        service: &'static str,
        /// Who provides it now.
        owner: String,
    },
}

/// What a context needs from the engine.
pub(crate) trait Host {
    fn tony_version(&self) -> &Version;
    fn provide(
        &self,
        owner: &str,
        value: Arc<dyn Any + Send + Sync>,
        id: TypeId,
        type_name: &'static str,
    ) -> Result<(), Error>;
    fn service(&self, id: TypeId) -> Option<Arc<dyn Any + Send + Sync>>;
    /// A plugin's metadata and whether it is active.
    fn plugin(&self, name: &str) -> Option<(Arc<Metadata>, bool)>;
    fn plugin_config(&self) -> Option<Arc<PluginConfigFile>>;
    /// Lends the live instance of `name` to `f` (typed access, erased);
    /// `layout` is the caller's state fingerprint.
    fn access(
        &self,
        name: &'static str,
        layout: u64,
        f: &mut dyn FnMut(&mut dyn Any),
    ) -> Result<(), AccessError>;
}

/// What a plugin hook can reach.
///
/// ```
/// use std::sync::Arc;
/// use tony_core::{BoxError, Context, Plugin, PluginSystem, tony_plugin};
///
/// pub struct Clock(pub u64);
///
/// #[tony_plugin(name = "clock-provider", version = "1.0.0", stateless)]
/// #[derive(Default)]
/// struct ClockProvider;
///
/// impl Plugin for ClockProvider {
///     fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
///         ctx.provide(Clock(42))?; // withdrawn automatically on deactivate
///         Ok(())
///     }
/// }
///
/// let system = PluginSystem::builder().build()?;
/// system.initialize()?;
/// assert_eq!(system.service::<Clock>().map(|c| c.0), Some(42));
/// system.unload_plugin("clock-provider", tony_core::Unload::Refuse)?;
/// assert!(system.service::<Clock>().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Context<'a> {
    host: &'a dyn Host,
    plugin: &'a Metadata,
}

impl<'a> Context<'a> {
    pub(crate) fn new(host: &'a dyn Host, plugin: &'a Metadata) -> Self {
        Context { host, plugin }
    }

    /// The version of Tony running the plugin.
    pub fn tony_version(&self) -> &Version {
        self.host.tony_version()
    }

    /// The metadata of the plugin this context was given to.
    pub fn plugin(&self) -> &Metadata {
        self.plugin
    }

    /// Provides a service, owned by this plugin: withdrawn automatically
    /// when the plugin deactivates.
    pub fn provide<S: Any + Send + Sync>(&mut self, service: S) -> Result<Arc<S>, Error> {
        let service = Arc::new(service);
        self.host.provide(
            self.plugin.name(),
            Arc::clone(&service) as Arc<dyn Any + Send + Sync>,
            TypeId::of::<S>(),
            std::any::type_name::<S>(),
        )?;
        Ok(service)
    }

    /// A service of type `S`, if some plugin (or the host) provides one.
    pub fn service<S: Any + Send + Sync>(&self) -> Option<Arc<S>> {
        self.host.service(TypeId::of::<S>())?.downcast::<S>().ok()
    }

    /// A declared dependency, if it is active and in range. `None` for an
    /// absent optional dependency.
    pub fn dependency(&self, name: &str) -> Option<DependencyRef<'a>> {
        let dep = self.plugin.dependencies().iter().find(|d| d.name == name)?;
        let (metadata, active) = self.host.plugin(name)?;
        (active && dep.req.matches(metadata.version())).then_some(DependencyRef {
            host: self.host,
            metadata,
        })
    }

    /// This plugin's configuration: its `[plugins.<name>]` table of the
    /// configuration file, deserialized as `C`. A plugin without a table gets
    /// `C` from an empty table, so `#[serde(default)]` fields work. Errors
    /// name the file, line and key.
    pub fn config<C: DeserializeOwned>(&self) -> Result<C, config_file::Error> {
        let name = self.plugin.name();
        match self.host.plugin_config() {
            Some(file) => file.check::<C>(name),
            // Errors then read "(no plugin configuration file): plugin `x`: missing field ...".
            None => PluginConfigFile::parse("", "(no plugin configuration file)")?.check::<C>(name),
        }
    }
}

/// An active dependency, from [`Context::dependency`]. Its typed access,
/// `with`, is in `plugin/plugin_type.rs`.
pub struct DependencyRef<'a> {
    pub(crate) host: &'a dyn Host,
    metadata: Arc<Metadata>,
}

impl DependencyRef<'_> {
    /// The dependency's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}
