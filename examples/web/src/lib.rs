//! A web service on Tony: an axum + tokio HTTP service whose routes are
//! served by hot-reloadable plugins.
//!
//! | route | plugin | |
//! |---|---|---|
//! | `GET /hello/{name}` | `greet` | greeting from `[plugins.greet]` of the config file |
//! | `POST /count`, `GET /count` | `counter` | behind `auth`; the count survives reloads |
//! | (middleware) | `auth` | API keys from `[plugins.auth]`; `counter` and `metrics` depend on it (`^1.0`, `>=1.1, <2`) |
//! | `GET /metrics` | `metrics` | optional; requests per plugin and reload events |
//! | `GET /_tony/status` | — | plugins, versions, states, last patch receipt |
//! | `POST /_tony/reload/{plugin}` | — | behind `auth`; a reload transaction, answered as JSON |
//!
//! This library is the host side: [`Web`] (the system, the gates in front
//! of its plugins, what the host observed), [`ApiError`], the `/_tony` JSON.
//! The plugins and the router live in the binary crate, `src/service/`
//! (each plugin's file holds the plugin, its `#[tony_plugin]` methods and
//! its routes), because dx hot-patches the binary crate only; the tests and
//! the bench compile the same files.
//!
//! # How plugins and async code meet
//!
//! Plugins stay synchronous: their hooks and methods are plain Rust, called
//! inline on the runtime thread from async handlers through [`Web::call`]:
//!
//! ```text
//! async handler ──► gate of plugin T (async wait while T is reloaded, bounded → 503)
//!               ──► body: fn item, sync ──► web.with_mut::<T>(|t| t.hot_method(..))
//! ```
//!
//! - **Why inline, not `spawn_blocking`**: typed access plus a plugin
//!   method costs about 65 ns; a `spawn_blocking` round trip about 25 µs
//!   and two thread hops, thirty times the whole axum request (measured in
//!   `benches/dispatch.rs`).
//! - **Why not async hooks**: a reload transaction is synchronous by design
//!   (snapshot, swap, restore, rollback must not interleave with anything);
//!   making it async would give every plugin the runtime's problems.
//!   A plugin needing I/O in `activate` starts its own task there.
//! - **What could block the runtime**, and how it does not: Tony's typed
//!   access waits, on the calling thread, while a transaction holds the
//!   plugin. Requests therefore pass a [gate](crate::Web::call) per plugin
//!   that each reload closes (from a validator, before it takes any plugin)
//!   and reopens (on its end event): a request for a plugin under
//!   reload waits *asynchronously* (bounded), a reload waits for the calls
//!   already admitted before it takes the plugin, so an admitted call never
//!   blocks on a hold, and requests to other plugins are not delayed.
//! - **Reloads** run on blocking threads: [`Web::reload`],
//!   [`Web::reload_config`], tony-hot's own threads. Never start one on a
//!   runtime thread: it would wait there for the requests it should let
//!   finish (the wait is bounded, the reload still correct, but slow).
//!
//! # Hot host code
//!
//! Handler bodies are fn items (`greet::hello_body`, ...), run by the one
//! line marked `HOT HOST CODE` in [`Web::call`]: when tony-core can run a
//! host fn item through subsecond's jump table, that line makes every body
//! hot, so after a layout change it is the *new* body that asks for the
//! plugin. Until then the bodies are not hot and a struct change answers
//! 503 (`StaleLayout`) until restart; method edits are hot already.

mod app;
mod gate;
mod observer;
mod status;

use std::path::{Path, PathBuf};

use tony_core::HotReloadConfig;

pub use app::{ApiError, DEFAULT_WAIT_BOUND, Web};
pub use gate::GateError;
pub use observer::{Observed, Observer, ReloadRecord};
pub use status::{reload_json, status_json};

/// The plugin configuration file shipped with the example.
pub fn default_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web.toml")
}

/// The hot-reload configuration of the service: `TONY_ENV`'s preset, with
/// `config_path` as the plugin configuration file.
pub fn hot_reload_config(
    config_path: &Path,
) -> Result<HotReloadConfig, tony_core::error::ConfigError> {
    Ok(HotReloadConfig::from_env()?.with_plugin_config_path(config_path))
}
