//! The registry: every plugin type the application knows, collected from
//! `#[tony_plugin]` (through `inventory`) and from explicit registrations,
//! sorted by name.

use std::any::TypeId;
use std::collections::BTreeMap;

use crate::plugin::descriptor::{CodeEntry, PluginDescriptor};
use crate::plugin::metadata::{self, Metadata, SourceLocation};

/// One `#[tony_plugin]` struct, submitted to `inventory`.
pub struct Registration {
    pub(crate) entry: CodeEntry,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) code: &'static StructCode,
}

impl Registration {
    /// The plugin's hot entry, the type's id and what the macro saw of the
    /// struct (see [`code_manifest`](crate::hot::code_manifest)).
    pub const fn new(entry: CodeEntry, type_id: fn() -> TypeId, code: &'static StructCode) -> Self {
        Registration {
            entry,
            type_id,
            code,
        }
    }

    /// The descriptor of the registered type.
    pub(crate) fn descriptor(&self) -> PluginDescriptor {
        PluginDescriptor::generated(self.entry)
    }
}

inventory::collect!(Registration);

/// What the macro saw of a plugin struct (part of its [`Registration`]; read by
/// [`code_manifest`](crate::hot::code_manifest)).
#[doc(hidden)]
pub struct StructCode {
    /// The plugin's name.
    pub name: &'static str,
    /// The crate that defines it (`CARGO_CRATE_NAME`).
    pub crate_name: &'static str,
    /// The binary target that defines it (`CARGO_BIN_NAME`), `None` in a
    /// library: a package's library and binary share one crate name.
    pub bin_name: Option<&'static str>,
    /// Hash of the attribute's arguments and the struct item.
    pub code: u64,
    /// The state fingerprint.
    pub state: u64,
}

/// Why the registry could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two different plugins share one name.
    #[error(
        "two plugins are named `{name}`: `{first_type}` at {first}, `{second_type}` at {second}"
    )]
    Duplicate {
        /// The shared name.
        name: String,
        /// Where the first is defined.
        first: SourceLocation,
        /// Where the second is defined.
        second: SourceLocation,
        /// The first one's Rust type (`?` when it cannot be told).
        first_type: &'static str,
        /// The second one's Rust type.
        second_type: &'static str,
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
/// One plugin submitted twice (same Rust type, same source location, as a
/// hot-patch library's constructors may do) counts once; any other two
/// descriptors of one name are an error naming both types and places, even
/// when they come from the same place (two structs from one `macro_rules!`
/// invocation, metadata built by one helper function).
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
            all.extend(inventory::iter::<Registration>().map(Registration::descriptor));
        }
        all.sort_by(|a, b| key(&a.metadata).cmp(&key(&b.metadata)));

        let mut plugins: BTreeMap<String, PluginDescriptor> = BTreeMap::new();
        for d in all {
            if let Some(existing) = plugins.get(d.metadata.name()) {
                check_duplicate(existing, &d)?;
                continue; // the same definition submitted again
            }
            d.metadata.validate().map_err(|source| Error::Invalid {
                source,
                location: d.metadata.source().clone(),
            })?;
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

/// `Ok` when `new`, of the same name as `existing`, is `existing` submitted
/// again (same type, same place); `Err(Duplicate)` naming both otherwise.
pub(crate) fn check_duplicate(
    existing: &PluginDescriptor,
    new: &PluginDescriptor,
) -> Result<(), Error> {
    let (a, b) = (existing.type_name(), new.type_name());
    let same_type = match (a, b) {
        (Some(a), Some(b)) => a == b,
        // Neither can be told: only the place is left to compare.
        (None, None) => true,
        _ => false,
    };
    if same_type && existing.metadata.source() == new.metadata.source() {
        return Ok(());
    }
    Err(Error::Duplicate {
        name: new.metadata.name().to_owned(),
        first: existing.metadata.source().clone(),
        second: new.metadata.source().clone(),
        first_type: a.unwrap_or("?"),
        second_type: b.unwrap_or("?"),
    })
}

fn key(m: &Metadata) -> (&str, &str, u32) {
    (m.name(), &m.source().file, m.source().line)
}
