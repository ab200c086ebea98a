//! A service on port 0 and a real HTTP client, for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tony_core::{HotReloadConfig, PluginSystem, PluginSystemBuilder};
use tony_web_example::Web;

// The service's plugins and router, as the binary compiles them.
#[path = "../../src/service/mod.rs"]
pub mod service;

use service::serve;

/// The API key the tests' config files give to `tester`.
pub const KEY: &str = "test-key";

/// A config file with `greeting` and the test key.
pub fn config(greeting: &str) -> String {
    format!(
        "[plugins.greet]\ngreeting = \"{greeting}\"\n\n[plugins.auth]\nkeys = {{ \"{KEY}\" = \"tester\" }}\n"
    )
}

/// A running service.
pub struct Service {
    pub addr: SocketAddr,
    pub web: Web,
    pub config_path: PathBuf,
    pub client: Client<HttpConnector, String>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the service on 127.0.0.1:0 with a config file holding `config_text`.
pub async fn start(config_text: &str) -> Service {
    start_with(config_text, |b| b, tony_web_example::DEFAULT_WAIT_BOUND).await
}

/// Like [`start`], with a customized system and wait bound.
pub async fn start_with(
    config_text: &str,
    customize: impl FnOnce(PluginSystemBuilder) -> PluginSystemBuilder,
    wait_bound: Duration,
) -> Service {
    launch(config_text, |c| c, customize, wait_bound).await
}

/// Like [`start`], with the hot-reload configuration changed by `tweak`.
pub async fn start_with_config(
    config_text: &str,
    tweak: impl FnOnce(HotReloadConfig) -> HotReloadConfig,
) -> Service {
    launch(
        config_text,
        tweak,
        |b| b,
        tony_web_example::DEFAULT_WAIT_BOUND,
    )
    .await
}

async fn launch(
    config_text: &str,
    tweak: impl FnOnce(HotReloadConfig) -> HotReloadConfig,
    customize: impl FnOnce(PluginSystemBuilder) -> PluginSystemBuilder,
    wait_bound: Duration,
) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("web.toml");
    std::fs::write(&config_path, config_text).unwrap();
    let config = tweak(
        HotReloadConfig::default()
            .with_enabled(true)
            .with_preserve_state(true)
            .with_reload_dependents(true)
            .with_plugin_config_path(&config_path),
    );
    let web = Web::build_with_wait_bound(
        customize(PluginSystem::builder().config(config)),
        wait_bound,
    )
    .unwrap();
    let system = web.system().clone();
    tokio::task::spawn_blocking(move || system.initialize())
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = serve(&web);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Service {
        addr,
        web,
        config_path,
        client: Client::builder(TokioExecutor::new()).build_http(),
        _dir: dir,
        stop: Some(stop),
        server: Some(server),
    }
}

/// An answer: status, `Retry-After`, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

impl Service {
    /// Sends a request; `Err` only when no HTTP answer came.
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
    ) -> Result<Answer, String> {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = self
            .client
            .request(request.body(String::new()).unwrap())
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{method} {path}: body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8(body.to_vec()).unwrap(),
        })
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.try_send("GET", path, None).await.unwrap()
    }

    pub async fn get_with_key(&self, path: &str) -> Answer {
        self.try_send("GET", path, Some(KEY)).await.unwrap()
    }

    pub async fn post(&self, path: &str, key: Option<&str>) -> Answer {
        self.try_send("POST", path, key).await.unwrap()
    }

    /// Rewrites the config file and applies it through the system's config API.
    pub async fn rewrite_config(
        &self,
        text: &str,
    ) -> Result<Option<tony_core::ReloadResult>, String> {
        std::fs::write(&self.config_path, text).unwrap();
        self.web
            .reload_config(&self.config_path)
            .await
            .unwrap()
            .map_err(|e| e.to_string())
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
    }
}
