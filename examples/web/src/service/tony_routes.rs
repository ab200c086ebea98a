//! The service's own routes under `/_tony`: status, and reloads on demand.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::Value;
use tony_web_example::{ApiError, Web, reload_json, status_json};

use super::plugins::auth::require_key;

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

/// `POST /_tony/reload/{plugin}`: reloads it (and its dependents) with its
/// state; answers the `ReloadResult`. 409 when the reload failed (and was
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
