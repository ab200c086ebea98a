//! [`PluginDescriptor`]: a plugin type, erased into metadata and a table of
//! functions the system calls ([`VTable`], with the functions generated code
//! puts in it).

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::file::{self as config_file, PluginConfigFile};
use crate::engine::containment;
use crate::plugin::fingerprint::Fingerprints;
use crate::plugin::metadata::{Metadata, SourceLocation};
use crate::plugin::snapshot::{self, NoMigration, OldState};
use crate::plugin::{BoxError, Plugin};

/// A plugin type made into values: its [`Metadata`] and the functions that
/// create, snapshot, restore and migrate its instances.
///
/// `#[tony_plugin]` builds one for you (see [`PluginType::descriptor`](crate::PluginType::descriptor));
/// [`PluginDescriptor::serde`] and [`PluginDescriptor::stateless`] build one
/// by hand.
#[derive(Clone)]
pub struct PluginDescriptor {
    pub(crate) metadata: Arc<Metadata>,
    functions: Functions,
    /// The Rust type behind it, when known without asking the code (see
    /// [`PluginDescriptor::type_name`]).
    type_name: Option<&'static str>,
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
        let mut d = Self::from_parts(
            metadata,
            VTable {
                fingerprints: layout_fingerprints::<T>,
                create: create::<T>,
                save: serde_save::<T>,
                load: serde_load::<T>,
                migrate: migrate::<T>,
                check_config: None,
            },
        );
        d.type_name = Some(std::any::type_name::<T>());
        d
    }

    /// A plugin without state to carry: each reload starts from `Default`.
    pub fn stateless<T>(metadata: Metadata) -> Self
    where
        T: Plugin + Default,
    {
        let mut d = Self::from_parts(
            metadata,
            VTable {
                fingerprints: layout_fingerprints::<T>,
                create: create::<T>,
                save: stateless_save,
                load: stateless_load::<T>,
                migrate: stateless_migrate::<T>,
                check_config: None,
            },
        );
        d.type_name = Some(std::any::type_name::<T>());
        d
    }

    /// This descriptor with other metadata and the same functions: how to
    /// present a new version of a plugin (a version bump, a dependency
    /// added) to [`PluginSystem::replace_descriptors`](crate::PluginSystem::replace_descriptors)
    /// while keeping its code, its state and typed access to it.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use tony_core::{BoxError, Context, Plugin, PluginSystem, PluginType, tony_plugin};
    ///
    /// #[tony_plugin(name = "release-notes", version = "1.0.0")]
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct ReleaseNotes {
    ///     n: u64,
    /// }
    ///
    /// impl Plugin for ReleaseNotes {
    ///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let system = PluginSystem::builder().build()?;
    /// system.initialize()?;
    /// system.with_mut::<ReleaseNotes, _>(|t| t.n = 7)?;
    ///
    /// let current = ReleaseNotes::descriptor();
    /// let next = current.metadata().clone().with_version("1.1.0");
    /// let result = system.replace_descriptors(vec![current.with_metadata(next)]);
    /// assert!(result.success, "{:?}", result.error);
    /// assert_eq!(result.new_version, Some(tony_core::semver::Version::new(1, 1, 0)));
    /// if system.config().preserve_state {
    ///     assert_eq!(system.with::<ReleaseNotes, _>(|t| t.n)?, 7); // the state came across
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Arc::new(metadata);
        self
    }

    /// Declares the plugin's typed configuration: a changed `[plugins.<name>]`
    /// table is deserialized into `C` before anything reloads, and rejected
    /// (the old configuration kept) when it does not fit.
    ///
    /// For descriptors built by hand; a `#[tony_plugin]` type declares its
    /// configuration in the attribute (`config = C`), and this leaves its
    /// descriptor as it is.
    pub fn with_config<C: DeserializeOwned>(mut self) -> Self {
        if let Functions::Fixed(vtable) = &mut self.functions {
            vtable.check_config = Some(check_config::<C>);
        }
        self
    }

    pub(crate) fn from_parts(metadata: Metadata, vtable: VTable) -> Self {
        PluginDescriptor {
            metadata: Arc::new(metadata),
            functions: Functions::Fixed(vtable),
            type_name: None,
        }
    }

    /// The descriptor of the `#[tony_plugin]` type whose hot entry is
    /// `entry`: the metadata of the newest code, and functions looked up
    /// through `entry` each time they are called, so that after a hot patch
    /// every one of them is the patch's.
    pub(crate) fn generated(entry: CodeEntry) -> Self {
        Self::generated_as(entry, Self::newest(entry).metadata)
    }

    /// [`generated`](Self::generated), with the metadata of `parts`: of
    /// code not behind `entry` yet (a patch's, before its jump table is
    /// installed).
    pub(crate) fn generated_as(entry: CodeEntry, parts: MetadataParts) -> Self {
        let mut m = Metadata::new(parts.name, parts.version)
            .with_description(parts.description)
            .with_state_version(parts.state_version)
            .with_source(SourceLocation::new(parts.file, parts.line));
        if let Some(v) = parts.min_tony_version {
            m = m.with_min_tony_version(v);
        }
        for &(name, req, optional) in parts.dependencies {
            m = if optional {
                m.with_optional_dependency(name, req)
            } else {
                m.with_dependency(name, req)
            };
        }
        PluginDescriptor {
            metadata: Arc::new(m),
            functions: Functions::Hot(entry),
            type_name: None,
        }
    }

    /// The functions to call now: after a hot patch of a `#[tony_plugin]`
    /// type, the patch's. For such a type this calls its hot entry, the new
    /// code's own, contained: a patch whose entry panics makes this an
    /// error the transaction rolls back, never an unwind through Tony. The
    /// functions in the table are user code, which callers run contained.
    pub(crate) fn vtable(&self) -> Result<VTable, BoxError> {
        match self.functions {
            Functions::Fixed(vtable) => Ok(vtable),
            Functions::Hot(entry) => Ok(Self::answer(self.metadata.name(), entry)?.vtable),
        }
    }

    /// [`newest`](Self::newest), contained: what the hot entry of `plugin`'s
    /// code generated, or what its panic said.
    fn answer(plugin: &str, entry: CodeEntry) -> Result<&'static Generated, BoxError> {
        Self::answer_with(plugin, || Self::newest(entry))
    }

    /// Calls `entry` (a hot entry of `plugin`'s code, generated code)
    /// contained.
    pub(crate) fn answer_with(
        plugin: &str,
        entry: impl FnOnce() -> &'static Generated,
    ) -> Result<&'static Generated, BoxError> {
        containment::contain(plugin, "hot entry", || Ok(entry())).map_err(|e| {
            format!("the hot entry of `{plugin}` (which gives its description and functions) {e}")
                .into()
        })
    }

    /// What the newest code behind the hot entry `entry` generated.
    pub(crate) fn newest(entry: CodeEntry) -> &'static Generated {
        // SAFETY: every version of a hot entry is a `CodeEntry`: the macro
        // generates no other signature, and `Generated` lives here, in a
        // crate that is never patched.
        #[allow(unsafe_code)]
        let entry = unsafe { crate::hot::latest(entry) };
        entry()
    }

    /// The Rust type this descriptor stands for (`std::any::type_name`), as
    /// far as it can be told: given by [`PluginDescriptor::serde`] and
    /// [`PluginDescriptor::stateless`], and learned from the fingerprint
    /// function `#[tony_plugin]` generates (generated code, no user code
    /// runs). `None` when neither tells.
    pub fn type_name(&self) -> Option<&'static str> {
        if self.type_name.is_some() {
            return self.type_name;
        }
        let fingerprints = self.vtable().ok()?.fingerprints;
        Self::seen_type(self.metadata.name(), fingerprints)
    }

    /// The type whose fingerprints `fingerprints` (of `plugin`'s code)
    /// computes, as the generated function notes it; called contained.
    pub(crate) fn seen_type(
        plugin: &str,
        fingerprints: fn() -> Fingerprints,
    ) -> Option<&'static str> {
        SEEN_TYPE.with(|t| t.set(None));
        let asked = containment::contain(plugin, "fingerprints", || Ok(fingerprints()));
        let seen = SEEN_TYPE.with(|t| t.replace(None));
        asked.ok().and(seen)
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

/// Where a descriptor's functions come from.
#[derive(Clone, Copy)]
enum Functions {
    /// A table built once ([`PluginDescriptor::serde`], ...).
    Fixed(VTable),
    /// The table of the newest code behind a `#[tony_plugin]` hot entry.
    Hot(CodeEntry),
}

thread_local! {
    /// The type whose fingerprints were last asked on this thread.
    static SEEN_TYPE: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Records that `T`'s fingerprints are being computed (see
/// [`PluginDescriptor::type_name`]).
pub(crate) fn note_type<T: ?Sized>() {
    SEEN_TYPE.with(|t| t.set(Some(std::any::type_name::<T>())));
}

fn layout_fingerprints<T>() -> Fingerprints {
    note_type::<T>();
    Fingerprints {
        code: 0,
        state: PluginDescriptor::layout_fingerprint::<T>(),
    }
}

/// A new instance of `T`, from its `Default`.
pub fn create<T: Plugin + Default>() -> Box<dyn Plugin> {
    Box::new(T::default())
}

/// The functions the system calls on a plugin type. For a `#[tony_plugin]`
/// type the system asks the newest code for its table each time, so after a
/// hot patch the new code answers.
#[derive(Clone, Copy)]
pub struct VTable {
    /// The code and state fingerprints of the code now running.
    pub fingerprints: fn() -> Fingerprints,
    /// A default instance.
    pub create: fn() -> Box<dyn Plugin>,
    /// Encodes an instance's state.
    pub save: fn(&dyn Plugin) -> Result<Vec<u8>, BoxError>,
    /// Rebuilds an instance from bytes of the same state layout.
    pub load: fn(&[u8]) -> PluginResult,
    /// Rebuilds an instance from bytes of another state layout.
    pub migrate: fn(&OldState<'_>) -> PluginResult,
    /// Checks the plugin's table of a configuration file against its config type.
    pub check_config: Option<CheckConfig>,
}

/// What `#[tony_plugin]` generates for one plugin: one `static` in the
/// user's crate, returned by the plugin's hot entry (`__tony_plugin_code`).
///
/// Everything else the plugin needs is a tony-core generic instantiated
/// with the plugin type (`serde_save::<T>`, `create::<T>`, ...). The
/// compiler places such instances in codegen units of their own, apart from
/// the module that defines the plugin, so an edit of a plugin's method
/// recompiles the module's own code and not this machinery (issue 12).
#[derive(Clone, Copy)]
pub struct Generated {
    /// The attribute's literal parts.
    pub metadata: MetadataParts,
    /// The functions of this compilation.
    pub vtable: VTable,
}

/// A plugin's hot entry: the [`Generated`] code of the compilation that
/// answers (after a hot patch, the patch's).
pub type CodeEntry = fn() -> &'static Generated;

/// The literal parts of a `#[tony_plugin]` attribute, validated at compile time.
#[derive(Clone, Copy)]
pub struct MetadataParts {
    /// `name = "..."`.
    pub name: &'static str,
    /// `version = "..."` or the crate's version.
    pub version: &'static str,
    /// `description = "..."` or the doc comment.
    pub description: &'static str,
    /// `min_tony_version = "..."`.
    pub min_tony_version: Option<&'static str>,
    /// `(name, range, optional)` for each dependency.
    pub dependencies: &'static [(&'static str, &'static str, bool)],
    /// `state_version = N`.
    pub state_version: u32,
    /// Absolute path of the source file.
    pub file: &'static str,
    /// Line of the struct.
    pub line: u32,
}

/// An instance, or why it could not be built.
pub type PluginResult = Result<Box<dyn Plugin>, BoxError>;

/// Checks one plugin's table of a configuration file.
pub type CheckConfig = fn(&PluginConfigFile, &str) -> Result<(), config_file::Error>;

fn downcast<T: Plugin>(p: &dyn Plugin) -> Result<&T, BoxError> {
    (p as &dyn Any)
        .downcast_ref::<T>()
        .ok_or_else(|| format!("instance is not a `{}`", std::any::type_name::<T>()).into())
}

/// Encodes the state of a serde plugin.
pub fn serde_save<T: Plugin + Serialize>(p: &dyn Plugin) -> Result<Vec<u8>, BoxError> {
    Ok(snapshot::encode(downcast::<T>(p)?)?)
}

/// Decodes the state of a serde plugin.
pub fn serde_load<T: Plugin + DeserializeOwned>(bytes: &[u8]) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(snapshot::decode::<T>(bytes)?))
}

/// Runs the plugin's migration hook.
pub fn migrate<T: Plugin>(old: &OldState<'_>) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(T::migrate(old)?))
}

/// A stateless plugin has nothing to encode.
pub fn stateless_save(_: &dyn Plugin) -> Result<Vec<u8>, BoxError> {
    Ok(Vec::new())
}

/// A stateless plugin restarts from `Default`.
pub fn stateless_load<T: Plugin + Default>(_: &[u8]) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(T::default()))
}

/// A stateless plugin has nothing to migrate either.
pub fn stateless_migrate<T: Plugin + Default>(
    _: &OldState<'_>,
) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(T::default()))
}

/// Whether a migration error means "there is no migration hook".
pub fn is_no_migration(e: &BoxError) -> bool {
    e.downcast_ref::<NoMigration>().is_some()
}

/// Checks `plugin`'s table of `file` against `C`.
pub fn check_config<C: DeserializeOwned>(
    file: &PluginConfigFile,
    plugin: &str,
) -> Result<(), config_file::Error> {
    file.check::<C>(plugin).map(drop)
}
