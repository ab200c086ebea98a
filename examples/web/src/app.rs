//! [`Web`]: the service's shared handle — the plugin system, the requests
//! waiting for its plugins, and the host's observer — and [`Web::call`],
//! the one place where an async handler runs plugin code.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;
use tony_core::error::SystemError;
use tony_core::hot::HotFunction;
use tony_core::{
    AccessError, LentPlugin, PluginSystem, PluginSystemBuilder, PluginType, ReloadResult,
};
use tony_hot::{HotReload, HotReloadExt, HotReloadStatus};

use crate::admission::{AdmissionError, Admissions};
use crate::observer::Observer;

/// How long a request waits for a plugin under reload before it gets a 503.
pub const DEFAULT_WAIT_BOUND: Duration = Duration::from_secs(5);

/// How long a reload waits for the requests that waited for the previous
/// one to be served (see the `admission` module).
const FAIR_BOUND: Duration = Duration::from_secs(2);

/// The service's shared state: cheap to clone, one per router.
#[derive(Clone)]
pub struct Web {
    inner: Arc<Inner>,
}

struct Inner {
    system: PluginSystem,
    admissions: Arc<Admissions>,
    observer: Arc<Observer>,
    wait_bound: Duration,
    /// Tony's development triggers, once started.
    hot: Mutex<Option<HotReload>>,
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
    /// Builds the plugin system from `builder`, with the admissions'
    /// validator added (see [`Web::call`]), and serves it. Initialize the system
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
        let (builder, admissions) = Admissions::hook(builder, FAIR_BOUND);
        let system = builder.build()?;
        admissions.install(&system);
        let observer = Observer::install(&system);
        Ok(Web {
            inner: Arc::new(Inner {
                system,
                admissions,
                observer,
                wait_bound,
                hot: Mutex::new(None),
            }),
        })
    }

    /// Starts Tony's development triggers for the service (the plugin
    /// config file watched; hot patches with the `hot` feature, and the
    /// edits that did not reach it), kept until the service is dropped.
    pub fn start_hot_reload(&self) -> Result<(), tony_hot::Error> {
        let hot = self.inner.system.start_hot_reload()?;
        *self
            .inner
            .hot
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(hot);
        Ok(())
    }

    /// What the development triggers are doing, once started.
    pub fn hot_status(&self) -> Option<HotReloadStatus> {
        let hot = self
            .inner
            .hot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        hot.as_ref().map(HotReload::status)
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
    /// `body` is a plain (sync) fn item that gets `T`'s live instance as a
    /// [`LentPlugin`] (`lent.get_mut::<T>()?`) and calls `#[tony_plugin]`
    /// methods, which are hot under `dx serve --hot-patch`. It runs inline
    /// on the runtime thread, holding `T` (a transaction waits for it to
    /// return before taking `T`). While a transaction holds `T`, or is about
    /// to take it, the request waits here asynchronously (up to the wait
    /// bound, then 503) instead of blocking a runtime thread in Tony; no
    /// part of the body has run then. Requests to other plugins are never
    /// delayed. See the `admission` module.
    ///
    /// `body` runs through the hot-patch jump table
    /// ([`tony_core::hot::call`]): under `dx serve --hot-patch`, an edited
    /// handler body answers the next request, and after the plugin's struct
    /// changed it is the *new* body that checks the layout
    /// ([`LentPlugin::get`]) and reads the migrated state. It must be a fn
    /// item (a zero-sized type), never a closure that captures: that does
    /// not compile.
    pub async fn call<T, A, R, F, M>(&self, body: F, args: A) -> Result<R, ApiError>
    where
        T: PluginType,
        F: Copy
            + for<'w, 'p> HotFunction<(&'w Web, LentPlugin<'p>, A), M, Return = Result<R, ApiError>>,
    {
        let mut args = Some(args);
        match self.try_call(T::NAME, body, &mut args) {
            Some(done) => done,
            None => Box::pin(self.wait_and_call(T::NAME, body, args)).await,
        }
    }

    /// One try at `body`: `None` (and `args` left in place) when a
    /// transaction holds the plugin.
    #[inline]
    fn try_call<A, R, F, M>(
        &self,
        plugin: &'static str,
        body: F,
        args: &mut Option<A>,
    ) -> Option<Result<R, ApiError>>
    where
        F: for<'w, 'p> HotFunction<(&'w Web, LentPlugin<'p>, A), M, Return = Result<R, ApiError>>,
    {
        let lent = self
            .inner
            .system
            .try_lend(plugin, |lent| match args.take() {
                // HOT HOST CODE: the body, through the jump table.
                Some(args) => tony_core::hot::call(body, (self, lent, args)),
                None => Err(ApiError::internal("handler arguments taken twice")),
            });
        match lent {
            Err(AccessError::Busy(_)) => None,
            done => Some(done.unwrap_or_else(|e| Err(e.into()))),
        }
    }

    /// [`Web::call`] once a transaction refused it: tries again after each
    /// event of the system until the wait bound. Boxed by the caller: the
    /// waiting machinery (a `Notified`, a timer) is large, and every
    /// request's future would carry it for the path that never waits.
    async fn wait_and_call<A, R, F, M>(
        &self,
        plugin: &'static str,
        body: F,
        mut args: Option<A>,
    ) -> Result<R, ApiError>
    where
        F: Copy
            + for<'w, 'p> HotFunction<(&'w Web, LentPlugin<'p>, A), M, Return = Result<R, ApiError>>,
    {
        let admissions = &self.inner.admissions;
        let _waiting = admissions.start_waiting(plugin);
        let started = Instant::now();
        let deadline = started + self.inner.wait_bound;
        let done = admissions
            .retry_until(deadline, || self.try_call(plugin, body, &mut args))
            .await;
        done.unwrap_or_else(|| {
            Err(AdmissionError::Timeout {
                plugin: plugin.to_owned(),
                waited: started.elapsed(),
            }
            .into())
        })
    }

    /// Runs `f` on the live instance of `T`; see [`PluginSystem::with`]. For
    /// handler bodies run by [`Web::call`] that need another plugin than
    /// their own (this one waits, blocking, while a reload holds `T`).
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

impl From<AdmissionError> for ApiError {
    fn from(e: AdmissionError) -> Self {
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
