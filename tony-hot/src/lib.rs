//! Development triggers for [Tony](tony_core): hot patches from
//! `dx serve --hot-patch`, watched source roots, live plugin
//! configuration, and source tracking — all turned into tony-core reload
//! transactions.
//!
//! ```no_run
//! use tony_hot::HotReloadExt;
//!
//! let system = tony_core::PluginSystem::builder().build()?;
//! system.initialize()?;
//! let hot = system.start_hot_reload()?; // stops when dropped
//! println!("{:?}", hot.status());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `patch` (default): take hot patches from dx. Pulls in subsecond and
//!   dioxus-devtools and turns on tony-core's `hot` feature. Leave it out of
//!   release builds; without it this crate only watches files.
//! - `testing`: jump tables made by hand, to test hot-patch handling in a
//!   plain `cargo test` without dx ([`testing`]). Not public API: it follows
//!   subsecond's internals and may change in any release.

mod hot_reload;
mod patch;
mod pending;
mod watcher;

pub use hot_reload::{Error, HotReload, HotReloadExt, HotReloadStatus, WatchedPlugin};
#[cfg(feature = "patch")]
pub use patch::PatchError;
#[cfg(feature = "testing")]
pub use patch::testing;
pub use patch::{IntakeState, PatchStatus};
pub use watcher::WatchState;
