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
//! This library is the host side: [`Web`] (the system, the requests
//! waiting for its plugins, what the host observed), [`ApiError`], the
//! `/_tony` JSON. The plugins and the router live in the binary crate,
//! `src/service/` (each plugin's file holds the plugin, its `#[tony_plugin]`
//! methods and its routes), because dx hot-patches the binary crate only;
//! the tests and the bench compile the same files.
//!
//! # How plugins and async code meet
//!
//! Plugins stay synchronous: their hooks and methods are plain Rust, called
//! inline on the runtime thread from async handlers through [`Web::call`]:
//!
//! ```text
//! async handler ──► Web::call::<T>: a loan of T (PluginSystem::try_lend)
//!                     ├─ granted ──► body: fn item, sync, hot ──► lent.get_mut::<T>()?.hot_method(..)
//!                     └─ Busy (T under reload) ──► async wait for the reload's end (bounded → 503), try again
//! ```
//!
//! - **Why inline, not `spawn_blocking`**: a loan plus a plugin method
//!   costs about 65 ns; a `spawn_blocking` round trip about 25 µs and two
//!   thread hops, thirty times the whole axum request (measured in
//!   `benches/dispatch.rs`).
//! - **Why not async hooks**: a reload transaction is synchronous by design
//!   (snapshot, swap, restore, rollback must not interleave with anything);
//!   making it async would give every plugin the runtime's problems.
//!   A plugin needing I/O in `activate` starts its own task there.
//! - **What could block the runtime**, and how it does not: Tony's typed
//!   access waits, on the calling thread, while a transaction holds the
//!   plugin. [`Web::call`] asks for a loan instead, which Tony refuses
//!   (`AccessError::Busy`) while a transaction holds the plugin or is about
//!   to take it; the request then waits *asynchronously* (bounded) and
//!   tries again when the transaction's events come. A transaction waits
//!   for the loans in progress before it takes their plugin, so a granted
//!   body never blocks on a reload, and requests to other plugins are not
//!   delayed. A body that reaches a second plugin (`web.with::<U, _>`)
//!   uses plain typed access for it, which may wait for a reload of `U`.
//! - **Reloads** run on blocking threads: [`Web::reload`],
//!   [`Web::reload_config`], tony-hot's own threads. Never start one on a
//!   runtime thread: it would block that thread for its length.
//!
//! # Hot host code
//!
//! Handler bodies are fn items (`greet::hello_body`, ...), run by the one
//! line marked `HOT HOST CODE` in [`Web::call`] through
//! `tony_core::hot::call`: under `dx serve --hot-patch` an edited body
//! answers the next request, and after a plugin's struct changed it is the
//! *new* body that checks the layout (`LentPlugin::get_mut`) and reads the
//! migrated state.

mod admission;
mod app;
mod observer;
mod status;

use std::path::{Path, PathBuf};

use tony_core::HotReloadConfig;

pub use admission::AdmissionError;
pub use app::{ApiError, DEFAULT_WAIT_BOUND, Web};
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
