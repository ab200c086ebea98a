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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use tony_core::{Event, EventKind};
use tony_web_example::Web;
use tower::ServiceExt;

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

/// What the binary serves: [`router`], built at start, and behind it, for a
/// request none of its routes match, the router as the newest code builds
/// it. That one is rebuilt (through the jump table) after each applied hot
/// patch, so a route added under `dx serve --hot-patch` is served at once;
/// the routes that existed at start keep their fast path (their handlers'
/// bodies are hot already). A route an edit removes keeps answering at
/// its old path until a restart.
pub fn serve(web: &Web) -> Router {
    let patches = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&patches);
    web.system()
        .subscribe(EventKind::PatchApplied, move |e: &Event| {
            if let Event::PatchApplied(receipt) = e
                && receipt.applied
            {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        });
    let newest = Arc::new(Newest {
        patches,
        router: Mutex::new((0, router(web))),
    });
    let web = web.clone();
    router(&web).fallback(move |request: Request| {
        let router = newest.router(&web);
        async move { router.oneshot(request).await.into_response() }
    })
}

/// The router of the newest code, and the patch count it was built at.
struct Newest {
    patches: Arc<AtomicU64>,
    router: Mutex<(u64, Router)>,
}

impl Newest {
    fn router(&self, web: &Web) -> Router {
        let patches = self.patches.load(Ordering::Relaxed);
        let mut built = self.router.lock().unwrap_or_else(PoisonError::into_inner);
        if built.0 != patches {
            *built = (patches, tony_core::hot::call(router, (web,)));
        }
        built.1.clone()
    }
}
