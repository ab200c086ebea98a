//! Tony: a plugin framework for Rust applications with hot reload.
//!
//! Plugins are ordinary Rust types registered with [`#[tony_plugin]`](tony_plugin).
//! A [`PluginSystem`] collects them, orders them by their semver
//! dependencies, activates them, and reloads them as *transactions*: state is
//! carried across in bincode, dependents are cycled with their dependency,
//! and any failure or panic rolls back to the previous version with its state
//! intact. In development, `tony-hot` feeds the same transactions from
//! `dx serve --hot-patch` and from a file watcher; in release none of that
//! machinery is compiled in.
//!
//! # Example
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tony_core::{BoxError, Context, Plugin, PluginSystem, tony_plugin};
//!
//! /// Counts greetings.
//! #[tony_plugin(name = "greeter", version = "1.0.0")]
//! #[derive(Default, Serialize, Deserialize)]
//! struct Greeter {
//!     greeted: u64,
//! }
//!
//! impl Plugin for Greeter {
//!     fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
//!         self.greeted += 1;
//!         Ok(())
//!     }
//! }
//!
//! let system = PluginSystem::builder().build()?;
//! system.initialize()?;
//! let result = system.reload_plugin("greeter");
//! assert!(result.success);
//! if system.config().preserve_state {
//!     // activate ran twice on the same carried-over state (development
//!     // and testing presets; production starts reloads from Default)
//!     assert!(result.state_preserved);
//!     assert_eq!(system.with::<Greeter, _>(|g| g.greeted)?, 2);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

extern crate self as tony_core;

mod access;
mod config;
mod engine;
mod events;
pub mod hot;
mod plugin;
mod system;
mod transaction;

#[doc(hidden)]
pub mod __private;

pub use access::AccessError;
pub use access::context::{Context, DependencyRef};
pub use access::lent_plugin::LentPlugin;
pub use config::file::{PluginConfigFile, UnknownTable};
pub use config::{Environment, HotReloadConfig};
pub use events::missed_edit::{MissCause, MissedEdit};
pub use events::status::{PluginState, PluginStatus};
pub use events::{ErrorSource, Event, EventKind, EventSink, PatchReceipt, SubscriptionId};
pub use hot::code_change::{ChangeKind, CodeDiff, PluginChange};
pub use hot::code_manifest::{CodeManifest, PluginCode};
pub use plugin::descriptor::PluginDescriptor;
pub use plugin::fingerprint::Fingerprints;
pub use plugin::metadata::{Dependency, Metadata, SourceLocation, tony_version};
pub use plugin::plugin_type::PluginType;
pub use plugin::registry::Registry;
pub use plugin::resolve::{Conflict, Resolution};
pub use plugin::snapshot::{OldState, Snapshot};
pub use plugin::{BoxError, Plugin};
pub use system::builder::PluginSystemBuilder;
pub use system::plugin_types::TypesAdded;
pub use system::{PluginSystem, Unload};
pub use tony_macros::tony_plugin;
pub use transaction::reload::{ReloadError, ReloadResult, Stage, StateRestore, Trigger};
pub use transaction::swap::{NoSwap, Swap};

/// The semver crate Tony's versions and ranges are made of
/// ([`Metadata::version`], [`ReloadResult::new_version`], [`tony_version`],
/// [`Dependency::req`]), re-exported so that comparing them needs no
/// dependency of your own.
///
/// ```
/// use tony_core::semver::{Version, VersionReq};
/// assert!(VersionReq::parse(">=0.1")?.matches(&tony_core::tony_version()));
/// # let _ = Version::new(0, 1, 0);
/// # Ok::<(), tony_core::semver::Error>(())
/// ```
pub use semver;
pub use transaction::validate::{Validation, Validator};

/// Per-module error types, each naming the plugin, file or version at fault.
pub mod error {
    pub use crate::access::context::Error as ContextError;
    pub use crate::config::Error as ConfigError;
    pub use crate::config::file::Error as ConfigFileError;
    pub use crate::hot::code_check::IncomingCodeError;
    pub use crate::plugin::metadata::Error as MetadataError;
    pub use crate::plugin::registry::Error as RegistryError;
    pub use crate::plugin::resolve::Error as ResolveError;
    pub use crate::plugin::snapshot::Error as SnapshotError;
    pub use crate::system::Error as SystemError;
}
