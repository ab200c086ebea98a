//! Every route of the web example, over real HTTP.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::{KEY, config, start, start_with};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_greets_with_the_configured_greeting() {
    let s = start(&config("Hello")).await;
    let a = s.get("/hello/world").await;
    assert_eq!((a.status, a.body.as_str()), (200, "Hello, world!"));
    let a = s.get("/hello/%C3%A9mile").await;
    assert_eq!((a.status, a.body.as_str()), (200, "Hello, émile!"));
    assert_eq!(
        s.web
            .system()
            .with::<common::service::plugins::greet::Greet, _>(|g| g.greeted)
            .unwrap(),
        2
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_needs_a_known_key_and_counts() {
    let s = start(&config("Hello")).await;
    let a = s.post("/count", None).await;
    assert_eq!(a.status, 401, "{a:?}");
    assert_eq!(a.json(), json!({ "error": "missing x-api-key header" }));
    let a = s.post("/count", Some("wrong")).await;
    assert_eq!(a.status, 401, "{a:?}");
    assert_eq!(a.json(), json!({ "error": "unknown API key" }));

    for n in 1..=3 {
        let a = s.post("/count", Some(KEY)).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.json(), json!({ "count": n, "yours": n }));
    }
    let a = s.get_with_key("/count").await;
    assert_eq!(a.json(), json!({ "count": 3, "yours": 3 }));
    assert_eq!(s.get("/count").await.status, 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_lists_requests_per_plugin_and_reloads() {
    let s = start(&config("Hello")).await;
    s.get("/hello/a").await;
    s.get("/hello/b").await;
    s.post("/count", Some(KEY)).await;
    s.post("/count", None).await; // refused by auth: counted for auth only
    assert_eq!(s.get("/metrics").await.status, 401);
    assert!(s.web.reload("greet").await.unwrap().success);

    let a = s.get_with_key("/metrics").await;
    assert_eq!(a.status, 200, "{a:?}");
    let m = a.json();
    assert_eq!(m["requests"]["greet"], 2, "{m}");
    assert_eq!(m["requests"]["counter"], 1, "{m}");
    // /count twice, /metrics twice (one refused, one this request)
    assert_eq!(m["requests"]["auth"], 4, "{m}");
    assert_eq!(m["reloads"], 1, "{m}");
    assert_eq!(m["reloads_failed"], 0, "{m}");
    let r = &m["recent_reloads"][0];
    assert_eq!(
        (
            r["plugin"].as_str(),
            r["trigger"].as_str(),
            r["success"].as_bool()
        ),
        (Some("greet"), Some("Manual"), Some(true)),
        "{m}"
    );

    // The totals are the plugin's state: kept across its own reload.
    assert!(s.web.reload("metrics").await.unwrap().success);
    let m = s.get_with_key("/metrics").await.json();
    assert_eq!(m["requests"]["greet"], 2, "{m}");
    assert_eq!(m["requests"]["metrics"], 2, "{m}");
    assert_eq!(m["reloads"], 2, "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_plugins_versions_and_states() {
    let s = start(&config("Hello")).await;
    let a = s.get("/_tony/status").await;
    assert_eq!(a.status, 200, "{a:?}");
    let st = a.json();
    // No development triggers started here: no edit to report.
    assert_eq!(st["missed_edits"], serde_json::json!([]), "{st}");
    let plugins: Vec<(String, String, String)> = st["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("auth", "1.2.0"),
        ("counter", "1.0.0"),
        ("greet", "1.0.0"),
        ("metrics", "1.1.0"),
    ];
    assert_eq!(
        plugins,
        expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned(), "active".to_owned()))
            .collect::<Vec<_>>()
    );
    let counter = &st["plugins"][1];
    assert_eq!(
        counter["dependencies"],
        json!(["auth ^1.0", "metrics ^1.0 (optional)"]),
        "{st}"
    );
    assert_eq!(st["last_patch"], json!(null));
    assert_eq!(st["pid"], std::process::id());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_route_reloads_with_state_and_refuses_without_a_key() {
    let s = start(&config("Hello")).await;
    s.post("/count", Some(KEY)).await;
    assert_eq!(s.post("/_tony/reload/counter", None).await.status, 401);
    let a = s.post("/_tony/reload/counter", Some(KEY)).await;
    assert_eq!(a.status, 200, "{a:?}");
    let r = a.json();
    assert_eq!(
        (r["success"].as_bool(), r["state_preserved"].as_bool()),
        (Some(true), Some(true)),
        "{r}"
    );
    assert_eq!(s.get_with_key("/count").await.json()["count"], 1);

    let a = s.post("/_tony/reload/nope", Some(KEY)).await;
    assert_eq!(a.status, 409, "{a:?}");
    assert!(
        a.json()["error"].as_str().unwrap().contains("nope"),
        "{a:?}"
    );
    assert_eq!(s.get("/nowhere").await.status, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_is_optional() {
    let s = start_with(
        &config("Hi"),
        |b| b.select(|m| m.name() != "metrics"),
        tony_web_example::DEFAULT_WAIT_BOUND,
    )
    .await;
    assert_eq!(s.get("/hello/you").await.body, "Hi, you!");
    assert_eq!(
        s.post("/count", Some(KEY)).await.json(),
        json!({ "count": 1, "yours": 1 })
    );
    assert_eq!(s.get_with_key("/metrics").await.status, 404);
    let st = s.get("/_tony/status").await.json();
    assert_eq!(st["plugins"].as_array().unwrap().len(), 3, "{st}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unloaded_plugin_answers_503_and_comes_back() {
    let s = start(&config("Hello")).await;
    let system = s.web.system().clone();
    tokio::task::spawn_blocking(move || system.unload_plugin("greet", tony_core::Unload::Refuse))
        .await
        .unwrap()
        .unwrap();
    let a = s.get("/hello/x").await;
    assert_eq!(
        (a.status, a.retry_after.as_deref()),
        (503, Some("1")),
        "{a:?}"
    );
    assert!(
        a.json()["error"].as_str().unwrap().contains("not active"),
        "{a:?}"
    );
    let system = s.web.system().clone();
    tokio::task::spawn_blocking(move || system.load_plugin("greet"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.get("/hello/x").await.body, "Hello, x!");
    s.stop().await;
}
