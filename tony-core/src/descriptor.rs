//! [`PluginDescriptor`]: a plugin type, erased into metadata and a table of
//! functions the system calls.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::VTable;
use crate::{Metadata, Plugin, snapshot};

/// Hashes identifying a plugin's code and its state layout.
///
/// `#[tony_plugin]` computes them from the plugin's tokens; after a hot
/// patch, asking the new code gives the new values, which is how Tony knows
/// which plugins an edit changed and whether their state needs migrating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fingerprints {
    /// Hash of the plugin's code (its struct and `#[tony_plugin]` impl blocks).
    pub code: u64,
    /// Hash of the plugin's state type definition.
    pub state: u64,
}

/// A plugin type made into values: its [`Metadata`] and the functions that
/// create, snapshot, restore and migrate its instances.
///
/// `#[tony_plugin]` builds one for you (see [`PluginType::descriptor`](crate::PluginType::descriptor));
/// [`PluginDescriptor::serde`] and [`PluginDescriptor::stateless`] build one
/// by hand.
#[derive(Clone)]
pub struct PluginDescriptor {
    pub(crate) metadata: Arc<Metadata>,
    pub(crate) vtable: VTable,
}

impl PluginDescriptor {
    /// A plugin whose state is the whole struct, carried across reloads with
    /// serde + bincode.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use tony_core::{BoxError, Context, Metadata, Plugin, PluginDescriptor};
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct Notes { lines: Vec<String> }
    /// impl Plugin for Notes {
    ///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) }
    /// }
    /// let d = PluginDescriptor::serde::<Notes>(Metadata::new("notes", "1.0.0"));
    /// assert_eq!(d.metadata().name(), "notes");
    /// ```
    pub fn serde<T>(metadata: Metadata) -> Self
    where
        T: Plugin + Default + Serialize + DeserializeOwned,
    {
        Self::from_parts(
            metadata,
            VTable {
                fingerprints: layout_fingerprints::<T>,
                create: create::<T>,
                save: crate::__private::serde_save::<T>,
                load: crate::__private::serde_load::<T>,
                migrate: crate::__private::migrate::<T>,
                check_config: None,
            },
        )
    }

    /// A plugin without state to carry: each reload starts from `Default`.
    pub fn stateless<T>(metadata: Metadata) -> Self
    where
        T: Plugin + Default,
    {
        Self::from_parts(
            metadata,
            VTable {
                fingerprints: layout_fingerprints::<T>,
                create: create::<T>,
                save: crate::__private::stateless_save,
                load: crate::__private::stateless_load::<T>,
                migrate: crate::__private::stateless_migrate::<T>,
                check_config: None,
            },
        )
    }

    /// Declares the plugin's typed configuration: a changed `[plugins.<name>]`
    /// table is deserialized into `C` before anything reloads, and rejected
    /// (the old configuration kept) when it does not fit.
    pub fn with_config<C: DeserializeOwned>(mut self) -> Self {
        self.vtable.check_config = Some(crate::__private::check_config::<C>);
        self
    }

    pub(crate) fn from_parts(metadata: Metadata, vtable: VTable) -> Self {
        PluginDescriptor {
            metadata: Arc::new(metadata),
            vtable,
        }
    }

    /// The plugin's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// A fingerprint of `T`'s size and alignment, for hand-written
    /// [`PluginType`](crate::PluginType) impls. `#[tony_plugin]` does better:
    /// it hashes the definition itself.
    pub const fn layout_fingerprint<T>() -> u64 {
        let mut h = snapshot::FNV_OFFSET;
        h = snapshot::fnv_u64(h, size_of::<T>() as u64);
        snapshot::fnv_u64(h, align_of::<T>() as u64)
    }
}

impl fmt::Debug for PluginDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginDescriptor")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

fn layout_fingerprints<T>() -> Fingerprints {
    Fingerprints {
        code: 0,
        state: PluginDescriptor::layout_fingerprint::<T>(),
    }
}

fn create<T: Plugin + Default>() -> Box<dyn Plugin> {
    Box::new(T::default())
}
