//! A request through a Tony plugin handler vs the same handler as a plain
//! axum route, in-process (`tower::ServiceExt::oneshot`, no sockets).
//!
//! Both answer `GET /hello/{name}` with a greeting from configuration and
//! count the people greeted under a lock; the Tony one goes through the
//! plugin's gate, typed access and the `#[tony_plugin]` method.
//!
//! ```text
//! cargo bench -p tony-web-example --bench dispatch
//! ```
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tony_core::{HotReloadConfig, PluginSystem};
use tony_web_example::{Web, router};
use tower::ServiceExt;

/// The plain route's state: what the `greet` plugin keeps, behind a lock.
struct PlainGreet {
    greeted: u64,
    greeting: String,
}

async fn plain_hello(
    State(state): State<Arc<Mutex<PlainGreet>>>,
    Path(name): Path<String>,
) -> String {
    let mut g = state.lock().unwrap();
    g.greeted += 1;
    format!("{}, {name}!", g.greeting)
}

fn request() -> Request<Body> {
    Request::get("/hello/bench").body(Body::empty()).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let plain = Router::new()
        .route("/hello/{name}", get(plain_hello))
        .with_state(Arc::new(Mutex::new(PlainGreet {
            greeted: 0,
            greeting: "Hello".to_owned(),
        })));

    let system = PluginSystem::builder()
        .config(HotReloadConfig::default().with_enabled(false))
        .build()
        .unwrap();
    system.initialize().unwrap();
    let web = Web::new(system);
    let tony = router(&web);

    // Same answer from both.
    for app in [&plain, &tony] {
        let r = rt.block_on(app.clone().oneshot(request())).unwrap();
        assert!(r.status().is_success());
    }

    let mut group = c.benchmark_group("hello");
    group.bench_function("plain_axum", |b| {
        b.iter(|| black_box(rt.block_on(plain.clone().oneshot(request())).unwrap()))
    });
    group.bench_function("tony_plugin", |b| {
        b.iter(|| black_box(rt.block_on(tony.clone().oneshot(request())).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
