//! The service: its plugins (one file each: the plugin, its `#[tony_plugin]`
//! methods, its routes) and its router.
//!
//! This module is compiled into the *binary* crate (`src/main.rs`), not
//! into the library: dx 0.7.10 builds hot patches from the binary crate
//! only, so plugin code in the package's library target is never patched
//! (measured with `scripts/e2e-web.sh`: the patch library held none of its
//! symbols). The tests and the bench compile the same files with
//! `#[path = ".../src/service/mod.rs"] mod service;`.

pub mod plugins;
mod tony_routes;

use axum::Router;
use tony_web_example::Web;

/// The service's router: the routes of every plugin the system has, and
/// `/_tony`.
pub fn router(web: &Web) -> Router {
    let has = |name: &str| web.system().status().iter().any(|s| s.name == name);
    let mut router = tony_routes::routes(web);
    if has("greet") {
        router = router.merge(plugins::greet::routes());
    }
    if has("counter") {
        router = router.merge(plugins::counter::routes(web));
    }
    if has("metrics") {
        router = router.merge(plugins::metrics::routes(web));
    }
    router.with_state(web.clone())
}
