//! The registry: every plugin type the application knows, collected from
//! `#[tony_plugin]` (through `inventory`) and from explicit registrations,
//! sorted by name.

use std::collections::BTreeMap;

use crate::__private::Registration;
use crate::{Metadata, PluginDescriptor, SourceLocation, metadata};

/// Why the registry could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two different plugins share one name.
    #[error("two plugins are named `{name}`: one at {first}, one at {second}")]
    Duplicate {
        /// The shared name.
        name: String,
        /// Where the first is defined.
        first: SourceLocation,
        /// Where the second is defined.
        second: SourceLocation,
    },
    /// A plugin's metadata is invalid.
    #[error("{source} (plugin defined at {location})")]
    Invalid {
        /// What is wrong.
        source: metadata::Error,
        /// Where the plugin is defined.
        location: SourceLocation,
    },
}

/// Every known plugin type, by name.
///
/// Never ordered by `inventory`, which promises no order: sorted by name.
/// One plugin submitted twice from the same place (as a hot-patch library's
/// constructors may do) counts once; two definitions of one name are an
/// error naming both.
///
/// ```
/// # use tony_core::{BoxError, Context, Metadata, Plugin, PluginDescriptor, Registry};
/// # #[derive(Default)] struct A;
/// # impl Plugin for A { fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) } }
/// let registry = Registry::new(false, vec![
///     PluginDescriptor::stateless::<A>(Metadata::new("b-plugin", "1.0.0")),
///     PluginDescriptor::stateless::<A>(Metadata::new("a-plugin", "1.0.0")),
/// ])?;
/// assert_eq!(registry.names().collect::<Vec<_>>(), ["a-plugin", "b-plugin"]);
/// # Ok::<(), tony_core::error::RegistryError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Registry {
    plugins: BTreeMap<String, PluginDescriptor>,
}

impl Registry {
    /// Builds a registry from `explicit` descriptors, plus every
    /// `#[tony_plugin]` of the binary when `with_inventory`.
    pub fn new(with_inventory: bool, explicit: Vec<PluginDescriptor>) -> Result<Self, Error> {
        let mut all: Vec<PluginDescriptor> = explicit;
        if with_inventory {
            all.extend(inventory::iter::<Registration>().map(|r| (r.descriptor)()));
        }
        all.sort_by(|a, b| key(&a.metadata).cmp(&key(&b.metadata)));

        let mut plugins: BTreeMap<String, PluginDescriptor> = BTreeMap::new();
        for d in all {
            d.metadata.validate().map_err(|source| Error::Invalid {
                source,
                location: d.metadata.source().clone(),
            })?;
            if let Some(existing) = plugins.get(d.metadata.name()) {
                if existing.metadata.source() == d.metadata.source() {
                    continue; // the same definition submitted again
                }
                return Err(Error::Duplicate {
                    name: d.metadata.name().to_owned(),
                    first: existing.metadata.source().clone(),
                    second: d.metadata.source().clone(),
                });
            }
            plugins.insert(d.metadata.name().to_owned(), d);
        }
        Ok(Registry { plugins })
    }

    /// The descriptor of `name`.
    pub fn get(&self, name: &str) -> Option<&PluginDescriptor> {
        self.plugins.get(name)
    }

    /// The plugin names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }

    /// The descriptors, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &PluginDescriptor> {
        self.plugins.values()
    }

    /// How many plugins are registered.
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// Whether no plugin is registered.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    pub(crate) fn into_descriptors(self) -> impl Iterator<Item = PluginDescriptor> {
        self.plugins.into_values()
    }
}

fn key(m: &Metadata) -> (&str, &str, u32) {
    (m.name(), &m.source().file, m.source().line)
}
