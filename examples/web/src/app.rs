//! [`Web`]: the service's shared handle — the plugin system, the gates in
//! front of its plugins, and the host's observer — and [`Web::call`], the
//! one place where an async handler runs plugin code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tony_core::error::SystemError;
use tony_core::{AccessError, PluginSystem, PluginSystemBuilder, PluginType, ReloadResult};

use crate::gate::{GateError, Gates};
use crate::observer::Observer;

/// How long a request waits for a plugin under reload before it gets a 503.
pub const DEFAULT_WAIT_BOUND: Duration = Duration::from_secs(5);

/// How long a reload waits for the requests already admitted to its plugins.
const DRAIN_BOUND: Duration = Duration::from_secs(2);

/// The service's shared state: cheap to clone, one per router.
#[derive(Clone)]
pub struct Web {
    inner: Arc<Inner>,
}

struct Inner {
    system: PluginSystem,
    gates: Arc<Gates>,
    observer: Arc<Observer>,
    wait_bound: Duration,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("system", &self.inner.system)
            .field("wait_bound", &self.inner.wait_bound)
            .finish_non_exhaustive()
    }
}

impl Web {
    /// Builds the plugin system from `builder`, with the gates' validator
    /// added (see [`Web::call`]), and serves it. Initialize the system
    /// afterwards (`web.system().initialize()`).
    pub fn build(builder: PluginSystemBuilder) -> Result<Self, SystemError> {
        Self::build_with_wait_bound(builder, DEFAULT_WAIT_BOUND)
    }

    /// Like [`Web::build`], with another bound on how long a request waits
    /// for a plugin under reload.
    pub fn build_with_wait_bound(
        builder: PluginSystemBuilder,
        wait_bound: Duration,
    ) -> Result<Self, SystemError> {
        let (builder, gates) = Gates::hook(builder, DRAIN_BOUND);
        let system = builder.build()?;
        gates.install(&system);
        let observer = Observer::install(&system, Arc::clone(&gates));
        Ok(Web {
            inner: Arc::new(Inner {
                system,
                gates,
                observer,
                wait_bound,
            }),
        })
    }

    /// The plugin system.
    pub fn system(&self) -> &PluginSystem {
        &self.inner.system
    }

    /// What the host recorded: requests per plugin, reloads, patches.
    pub fn observer(&self) -> &Observer {
        &self.inner.observer
    }

    /// Runs a handler body against plugin `T`, from async code.
    ///
    /// `body` is a plain (sync) fn item that does the typed access itself
    /// (`web.with_mut::<T, _>(...)`) and calls `#[tony_plugin]` methods,
    /// which are hot under `dx serve --hot-patch`. It runs inline on the
    /// runtime thread once `T`'s gate admits it: while a reload cycles `T`,
    /// the request waits here asynchronously (up to the wait bound, then
    /// 503) instead of blocking a runtime thread in Tony's slot lock; once
    /// admitted, the body runs to completion before any transaction can
    /// take `T`. Requests to other plugins are never delayed.
    ///
    /// `body` runs through the hot-patch jump table
    /// ([`tony_core::hot::call`]): under `dx serve --hot-patch`, an edited
    /// handler body answers the next request, compiled against the newest
    /// layout of the plugins it reads. It must be a fn item (a zero-sized
    /// type), never a closure that captures: that does not compile.
    pub async fn call<T, A, R, F, M>(&self, body: F, args: A) -> Result<R, ApiError>
    where
        T: PluginType,
        F: for<'w> tony_core::hot::HotFunction<(&'w Web, A), M, Return = Result<R, ApiError>>,
    {
        let _permit = match self.inner.gates.get_static(T::NAME) {
            Some(gate) => Some(match gate.try_admit() {
                Some(permit) => permit,
                None => gate.wait(self.inner.wait_bound).await?,
            }),
            None => None, // not one of the system's plugins: typed access says so
        };
        tony_core::hot::call(body, (self, args))
    }

    /// Runs `f` on the live instance of `T`; see [`PluginSystem::with`]. For
    /// handler bodies run by [`Web::call`].
    pub fn with<T: PluginType, R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, ApiError> {
        Ok(self.inner.system.with(f)?)
    }

    /// Runs `f` on the live instance of `T` mutably; see [`Web::with`].
    pub fn with_mut<T: PluginType, R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, ApiError> {
        Ok(self.inner.system.with_mut(f)?)
    }

    /// Reloads `plugin` (and its dependents) from async code: the
    /// transaction runs on a blocking thread, never on a runtime thread.
    pub async fn reload(&self, plugin: &str) -> Result<ReloadResult, ApiError> {
        let system = self.inner.system.clone();
        let plugin = plugin.to_owned();
        tokio::task::spawn_blocking(move || system.reload_plugin(&plugin))
            .await
            .map_err(|e| ApiError::internal(format!("reload task failed: {e}")))
    }

    /// Reads the plugin configuration file at `path` and applies it (the
    /// plugins whose table changed are reloaded with their state), on a
    /// blocking thread. `Ok(None)`: no active plugin's table changed.
    pub async fn reload_config(
        &self,
        path: impl Into<PathBuf>,
    ) -> Result<Result<Option<ReloadResult>, SystemError>, ApiError> {
        let system = self.inner.system.clone();
        let path = path.into();
        tokio::task::spawn_blocking(move || system.reload_plugin_config(&path))
            .await
            .map_err(|e| ApiError::internal(format!("config task failed: {e}")))
    }
}

/// An error answered as JSON `{"error": "..."}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
    /// Whether the client should retry shortly (adds `Retry-After: 1`).
    pub retry: bool,
}

impl ApiError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry: false,
        }
    }

    /// A 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            retry: true,
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            // Inactive or failed: it may come back (a reload, a fix).
            AccessError::NotActive { .. } => ApiError::unavailable(e.to_string()),
            // Old host code asking for a plugin whose layout a hot patch
            // changed: needs hot host code (or a restart), see the README.
            AccessError::StaleLayout { .. } => ApiError::unavailable(e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<GateError> for ApiError {
    fn from(e: GateError) -> Self {
        ApiError::unavailable(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if self.retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
