//! [`Context`]: what a hook can reach — the framework version, services,
//! dependencies and configuration.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use semver::Version;
use serde::de::DeserializeOwned;

use crate::AccessError;
use crate::system::Inner;
use crate::{Metadata, PluginType};

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
    inner: &'a Inner,
    plugin: &'a Metadata,
}

impl<'a> Context<'a> {
    pub(crate) fn new(inner: &'a Inner, plugin: &'a Metadata) -> Self {
        Context { inner, plugin }
    }

    /// The version of Tony running the plugin.
    pub fn tony_version(&self) -> &Version {
        &self.inner.tony_version
    }

    /// The metadata of the plugin this context was given to.
    pub fn plugin(&self) -> &Metadata {
        self.plugin
    }

    /// Provides a service, owned by this plugin: withdrawn automatically
    /// when the plugin deactivates.
    pub fn provide<S: Any + Send + Sync>(&mut self, service: S) -> Result<Arc<S>, Error> {
        let service = Arc::new(service);
        self.inner.services.provide(
            self.plugin.name(),
            Arc::clone(&service) as Arc<dyn Any + Send + Sync>,
            TypeId::of::<S>(),
            std::any::type_name::<S>(),
        )?;
        Ok(service)
    }

    /// A service of type `S`, if some plugin (or the host) provides one.
    pub fn service<S: Any + Send + Sync>(&self) -> Option<Arc<S>> {
        self.inner.services.get::<S>()
    }

    /// A declared dependency, if it is active and in range (the seed's
    /// `getDependency`). `None` for an absent optional dependency.
    pub fn dependency(&self, name: &str) -> Option<DependencyRef<'a>> {
        let dep = self.plugin.dependencies().iter().find(|d| d.name == name)?;
        let (metadata, active) = self.inner.peek(name)?;
        (active && dep.req.matches(metadata.version())).then_some(DependencyRef {
            inner: self.inner,
            metadata,
        })
    }

    /// This plugin's configuration: its `[plugins.<name>]` table of the
    /// configuration file, deserialized as `C`. A plugin without a table gets
    /// `C` from an empty table, so `#[serde(default)]` fields work. Errors
    /// name the file, line and key.
    pub fn config<C: DeserializeOwned>(&self) -> Result<C, crate::config_file::Error> {
        self.inner.plugin_config(self.plugin.name())
    }
}

/// An active dependency, from [`Context::dependency`].
pub struct DependencyRef<'a> {
    inner: &'a Inner,
    metadata: Arc<Metadata>,
}

impl DependencyRef<'_> {
    /// The dependency's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Runs `f` on the dependency's instance (typed access, see
    /// [`PluginSystem::with`](crate::PluginSystem::with)).
    pub fn with<T: PluginType, R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.inner.with(f)
    }
}

/// Services by type, each owned by the plugin that provided it.
#[derive(Default)]
pub(crate) struct Services {
    map: RwLock<HashMap<TypeId, Service>>,
}

struct Service {
    owner: String,
    value: Arc<dyn Any + Send + Sync>,
}

pub(crate) const HOST: &str = "(host)";

impl Services {
    pub(crate) fn provide(
        &self,
        owner: &str,
        value: Arc<dyn Any + Send + Sync>,
        id: TypeId,
        type_name: &'static str,
    ) -> Result<(), Error> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = map.get(&id) {
            return Err(Error::ServiceTaken {
                plugin: owner.to_owned(),
                service: type_name,
                owner: existing.owner.clone(),
            });
        }
        tracing::debug!(plugin = owner, service = type_name, "service provided");
        map.insert(
            id,
            Service {
                owner: owner.to_owned(),
                value,
            },
        );
        Ok(())
    }

    pub(crate) fn get<S: Any + Send + Sync>(&self) -> Option<Arc<S>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let value = Arc::clone(&map.get(&TypeId::of::<S>())?.value);
        value.downcast::<S>().ok()
    }

    /// Withdraws every service `owner` provides; returns how many.
    pub(crate) fn withdraw(&self, owner: &str) -> usize {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let before = map.len();
        map.retain(|_, s| s.owner != owner);
        before - map.len()
    }
}
