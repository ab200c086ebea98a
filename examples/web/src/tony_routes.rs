//! The service's own routes under `/_tony`: status, and reloads on demand.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::{Value, json};
use tony_core::ReloadResult;

use crate::plugins::auth::require_key;
use crate::{ApiError, Web};

/// `GET /_tony/status` (public) and `POST /_tony/reload/{plugin}` (behind
/// `auth`).
pub fn routes(web: &Web) -> Router<Web> {
    let reload = Router::new()
        .route("/_tony/reload/{plugin}", post(reload))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_key));
    Router::new()
        .route("/_tony/status", get(status))
        .merge(reload)
}

/// `GET /_tony/status`: plugins, versions, states, the last patch receipt.
///
/// Reads only what Tony's status API gives without waiting for a reload.
pub async fn status(State(web): State<Web>) -> Json<Value> {
    Json(status_json(&web))
}

/// The status document.
pub fn status_json(web: &Web) -> Value {
    let plugins: Vec<Value> = web
        .system()
        .status()
        .into_iter()
        .map(|s| {
            json!({
                "name": s.name,
                "version": s.version.to_string(),
                "state": s.state.to_string(),
                "dependencies": s.dependencies,
                "source": s.source.to_string(),
                "error": s.error,
            })
        })
        .collect();
    let last_patch = web.observer().last_patch().map(|(p, at)| {
        json!({
            "changed": p.changed,
            "cycled": p.cycled,
            "applied": p.applied,
            "note": p.note,
            "at_unix_ms": at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        })
    });
    json!({
        "tony": tony_core::tony_version().to_string(),
        "pid": std::process::id(),
        "hot_patching": cfg!(feature = "hot"),
        "plugins": plugins,
        "reloads": web.observer().reload_count(),
        "last_patch": last_patch,
    })
}

/// `POST /_tony/reload/{plugin}`: reloads it (and its dependents) with its
/// state; answers the [`ReloadResult`]. 409 when the reload failed (and was
/// rolled back).
pub async fn reload(
    State(web): State<Web>,
    Path(plugin): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = web.reload(&plugin).await?;
    if r.success {
        Ok(Json(reload_json(&r)))
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            r.error.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }
}

/// A [`ReloadResult`] as JSON.
pub fn reload_json(r: &ReloadResult) -> Value {
    json!({
        "success": r.success,
        "plugin": r.plugin,
        "previous_version": r.previous_version.as_ref().map(ToString::to_string),
        "new_version": r.new_version.as_ref().map(ToString::to_string),
        "state_preserved": r.state_preserved,
        "dependents_reloaded": r.dependents_reloaded,
        "rolled_back": r.rolled_back,
        "micros": u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX),
        "error": r.error.as_ref().map(ToString::to_string),
    })
}
