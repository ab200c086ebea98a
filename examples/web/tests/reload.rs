//! Reloads while the service runs: configuration, dependents, and requests
//! under a storm of reloads.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::{KEY, Service, config, start, start_with, start_with_config};
use serde_json::json;
use tony_core::{BoxError, Event, EventKind, ReloadResult, Swap, Trigger};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_reload_changes_the_greeting_and_keeps_the_state() {
    let s = start(&config("Hello")).await;
    assert_eq!(s.get("/hello/ann").await.body, "Hello, ann!");

    let r = s.rewrite_config(&config("Howdy")).await.unwrap().unwrap();
    assert!(r.success, "{r:?}");
    assert_eq!(r.trigger, Trigger::Config);
    assert!(r.state_preserved, "{r:?}");
    assert_eq!(s.get("/hello/ann").await.body, "Howdy, ann!");
    let greeted = s
        .web
        .system()
        .with::<common::service::plugins::greet::Greet, _>(|g| g.greeted)
        .unwrap();
    assert_eq!(greeted, 2, "greet's state survived its config reload");

    // A broken file is refused and the old greeting keeps serving.
    let e = s
        .rewrite_config("[plugins.greet]\ngreeting = 42\n")
        .await
        .unwrap_err();
    assert!(e.contains("web.toml") && e.contains("greet"), "{e}");
    assert_eq!(s.get("/hello/ann").await.body, "Howdy, ann!");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_auth_cycles_its_dependents() {
    let s = start(&config("Hello")).await;
    let (tx, rx) = mpsc::channel();
    s.web
        .system()
        .subscribe(EventKind::ReloadStarted, tx.clone());
    s.web.system().subscribe(EventKind::StateRestored, tx);
    for _ in 0..2 {
        s.post("/count", Some(KEY)).await;
    }

    let r = s.web.reload("auth").await.unwrap();
    assert!(r.success && r.state_preserved, "{r:?}");
    let mut dependents = r.dependents_reloaded.clone();
    dependents.sort();
    // counter requires auth ^1.0, metrics requires auth >=1.1, <2; greet
    // depends (optionally) on metrics.
    assert_eq!(dependents, ["counter", "greet", "metrics"], "{r:?}");
    let events: Vec<Event> = rx.try_iter().collect();
    assert!(
        matches!(&events[0], Event::ReloadStarted { plugins, .. } if plugins == &["auth"]),
        "{events:?}"
    );
    let mut restored: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::StateRestored { plugin, .. } => Some(plugin.as_str()),
            _ => None,
        })
        .collect();
    // Dependencies first: auth, then metrics before greet (its dependent).
    let pos = |p: &str| restored.iter().position(|x| *x == p).unwrap();
    assert!(
        pos("auth") < pos("counter") && pos("auth") < pos("metrics"),
        "{restored:?}"
    );
    assert!(pos("metrics") < pos("greet"), "{restored:?}");
    restored.sort();
    assert_eq!(restored, ["auth", "counter", "greet", "metrics"]);

    // The count survived the cycle; and a new key added to the config
    // reloads auth (and its dependents) again, and works.
    assert_eq!(s.get_with_key("/count").await.json()["count"], 2);
    let text = config("Hello").replace("= \"tester\"", "= \"tester\", \"k2\" = \"bob\"");
    let r = s.rewrite_config(&text).await.unwrap().unwrap();
    assert!(r.success, "{r:?}");
    assert_eq!(r.plugin, "auth");
    assert!(
        r.dependents_reloaded.contains(&"counter".to_owned()),
        "{r:?}"
    );
    assert_eq!(
        s.post("/count", Some("k2")).await.json(),
        json!({ "count": 3, "yours": 1 })
    );
    let m = s.get_with_key("/metrics").await.json();
    let recent = m["recent_reloads"].as_array().unwrap();
    assert_eq!(recent.len(), 2, "{m}");
    assert_eq!(recent[1]["trigger"], "Config", "{m}");
    assert!(
        recent[0]["dependents"]
            .as_array()
            .unwrap()
            .contains(&json!("counter")),
        "{m}"
    );
    s.stop().await;
}

/// The swap step of a reload that blocks until told to go on: the reload
/// then holds its plugins (taken, not yet back) for as long as the test
/// wants. Bounded, so that a broken admission makes the test fail, not hang.
#[derive(Clone, Default)]
struct Brake {
    engaged: Arc<AtomicBool>,
    inside: Arc<AtomicBool>,
}

impl Swap for Brake {
    fn apply(&mut self) -> Result<(), BoxError> {
        self.inside.store(true, Ordering::SeqCst);
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while self.engaged.load(Ordering::SeqCst) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl Brake {
    /// Starts a reload of `greet` that stops at the swap step, on a
    /// blocking thread; returns once it is there.
    async fn reload_greet(&self, s: &Service) -> tokio::task::JoinHandle<ReloadResult> {
        self.engaged.store(true, Ordering::SeqCst);
        let system = s.web.system().clone();
        let mut swap = self.clone();
        let reload = tokio::task::spawn_blocking(move || system.reload_with(&["greet"], &mut swap));
        while !self.inside.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        reload
    }

    fn release(&self) {
        self.engaged.store(false, Ordering::SeqCst);
    }
}

// One runtime thread: had the request to `greet` blocked it (in Tony's typed
// access, waiting for the reload), nothing else could be served.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_plugin_under_reload_makes_its_requests_wait_not_the_others() {
    requests_wait_for_a_reload_not_the_others(start(&config("Hello")).await).await;
}

// The same without validation: no validator runs, and the wait still does
// not block the runtime (Tony refuses the loan; it is not a validator that
// closes anything).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn without_validation_too() {
    let s = start_with_config(&config("Hello"), |c| c.with_validate_before_reload(false)).await;
    requests_wait_for_a_reload_not_the_others(s).await;
}

async fn requests_wait_for_a_reload_not_the_others(s: Service) {
    let s = Arc::new(s);
    let brake = Brake::default();
    let reload = brake.reload_greet(&s).await;

    let hello = tokio::spawn({
        let s = Arc::clone(&s);
        async move { s.get("/hello/waiter").await }
    });
    // Another plugin's routes are not held up by greet's reload.
    let others = async {
        for n in 1..=3 {
            assert_eq!(s.post("/count", Some(KEY)).await.json()["count"], n);
        }
    };
    let served = tokio::time::timeout(Duration::from_secs(5), others).await;
    assert!(
        served.is_ok(),
        "requests to counter were held up by greet's reload"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !hello.is_finished(),
        "the request to greet did not wait for its reload"
    );

    brake.release();
    let a = hello.await.unwrap();
    assert_eq!((a.status, a.body.as_str()), (200, "Hello, waiter!"));
    assert!(reload.await.unwrap().success);
    let s = Arc::into_inner(s).unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_is_bounded() {
    let s = start_with(&config("Hello"), |b| b, Duration::from_millis(100)).await;
    let brake = Brake::default();
    let reload = brake.reload_greet(&s).await;
    let a = s.get("/hello/late").await;
    assert_eq!(
        (a.status, a.retry_after.as_deref()),
        (503, Some("1")),
        "{a:?}"
    );
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .contains("being reloaded"),
        "{a:?}"
    );
    brake.release();
    assert!(reload.await.unwrap().success);
    assert_eq!(s.get("/hello/late").await.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_keep_succeeding_during_a_thousand_reloads() {
    const RELOADS: usize = 1_000;
    const CLIENTS: usize = 4;
    let s = Arc::new(start(&config("Hello")).await);
    let done = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let counted = Arc::new(AtomicU64::new(0));
    let during = Arc::new(AtomicU64::new(0));
    let started = Arc::new(AtomicU64::new(0));
    let reloading = Arc::new(AtomicBool::new(false));

    // The reloads, from another task (a blocking thread, as every reload
    // must be): auth (cycles all the others), counter, greet, a config
    // change, in turn.
    let reloader = tokio::task::spawn_blocking({
        let system = s.web.system().clone();
        let path = s.config_path.clone();
        let done = Arc::clone(&done);
        let (started, reloading) = (Arc::clone(&started), Arc::clone(&reloading));
        move || {
            // Start once every client has sent a request, so the two overlap
            // whatever the machine's load (bounded, not to hang on a bug).
            let until = std::time::Instant::now() + Duration::from_secs(30);
            while started.load(Ordering::SeqCst) < CLIENTS as u64
                && std::time::Instant::now() < until
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            reloading.store(true, Ordering::SeqCst);
            let mut failures = Vec::new();
            for i in 0..RELOADS {
                let r = match i % 4 {
                    0 => system.reload_plugin("auth"),
                    1 => system.reload_plugin("counter"),
                    2 => system.reload_plugin("greet"),
                    _ => {
                        let greeting = if i % 8 == 3 { "Hi" } else { "Hello" };
                        std::fs::write(&path, config(greeting)).unwrap();
                        system.reload_plugin_config(&path).unwrap().unwrap()
                    }
                };
                if !r.success || !r.state_preserved {
                    failures.push(format!("{r:?}"));
                }
            }
            done.store(true, Ordering::SeqCst);
            failures
        }
    });

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (s, done, failed, counted, during, started, reloading) = (
                Arc::clone(&s),
                Arc::clone(&done),
                Arc::clone(&failed),
                Arc::clone(&counted),
                Arc::clone(&during),
                Arc::clone(&started),
                Arc::clone(&reloading),
            );
            tokio::spawn(async move {
                let mut errors = Vec::new();
                let mut first = true;
                while !done.load(Ordering::SeqCst) {
                    let (method, path, key) = match c % 2 {
                        0 => ("POST", "/count", Some(KEY)),
                        _ => ("GET", "/hello/storm", None),
                    };
                    let answer = s.try_send(method, path, key).await;
                    if std::mem::take(&mut first) {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                    match answer {
                        Ok(a) if a.status == 200 => {
                            if path == "/count" {
                                counted.fetch_add(1, Ordering::SeqCst);
                            } else {
                                assert!(
                                    a.body == "Hello, storm!" || a.body == "Hi, storm!",
                                    "{a:?}"
                                );
                            }
                            if reloading.load(Ordering::SeqCst) && !done.load(Ordering::SeqCst) {
                                during.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        other => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            errors.push(format!("{method} {path}: {other:?}"));
                        }
                    }
                }
                errors
            })
        })
        .collect();

    let reload_failures = reloader.await.unwrap();
    let mut errors = Vec::new();
    for c in clients {
        errors.extend(c.await.unwrap());
    }
    assert!(
        reload_failures.is_empty(),
        "{} failed reloads: {:?}",
        reload_failures.len(),
        reload_failures.first()
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "failed requests, first ones: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert!(
        during.load(Ordering::SeqCst) > 0,
        "no request ran during the reloads"
    );
    let count = s.get_with_key("/count").await.json()["count"]
        .as_u64()
        .unwrap();
    assert_eq!(
        count,
        counted.load(Ordering::SeqCst),
        "the counter lost or invented counts"
    );
    let m = s.get_with_key("/metrics").await.json();
    assert_eq!(m["reloads"], RELOADS as u64, "{}", m["reloads"]);
    assert_eq!(m["reloads_failed"], 0);
    eprintln!(
        "{RELOADS} reloads, {} requests during them ({count} counted), 0 failed",
        during.load(Ordering::SeqCst)
    );
    let s = Arc::into_inner(s).unwrap();
    s.stop().await;
}

/// A handler body that panics, as an edit under dx can make it: that
/// request fails, and the plugin and the service carry on (a loan not given
/// back on unwind would hold the next reload forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_body_leaves_the_plugin_usable() {
    use common::service::plugins::greet::Greet;
    use tony_core::LentPlugin;
    use tony_web_example::{ApiError, Web};

    fn panicking_body(_: &Web, _: LentPlugin<'_>, (): ()) -> Result<String, ApiError> {
        panic!("e2e: an edited handler panics")
    }

    let s = start(&config("Hello")).await;
    assert_eq!(s.get("/hello/a").await.body, "Hello, a!");
    let web = s.web.clone();
    let failed =
        tokio::spawn(async move { web.call::<Greet, _, _, _, _>(panicking_body, ()).await });
    assert!(failed.await.unwrap_err().is_panic());

    assert_eq!(s.get("/hello/b").await.body, "Hello, b!");
    let reloaded = s.web.reload("greet").await.unwrap();
    assert!(reloaded.success && reloaded.state_preserved, "{reloaded:?}");
    assert!(
        reloaded.duration < Duration::from_secs(1),
        "the reload waited for a request that was gone: {:?}",
        reloaded.duration
    );
    assert_eq!(
        s.web.with::<Greet, _>(|g| g.greeted).unwrap(),
        2,
        "the panicking call changed nothing"
    );
    s.stop().await;
}
