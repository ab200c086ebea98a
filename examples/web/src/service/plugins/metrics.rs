//! `metrics`: `GET /metrics`, behind `auth` — requests per plugin and the
//! reload events, accumulated in its state across reloads. Optional: the
//! other plugins run without it, and without it the route is not mounted.

use std::collections::{BTreeMap, VecDeque};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, LentPlugin, Plugin, tony_plugin};

use super::auth::require_key;
use tony_web_example::{ApiError, Observed, ReloadRecord, Web};

/// Reload events the report lists, most recent last.
const RECENT_RELOADS: usize = 32;

/// What `GET /metrics` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Requests dispatched to each plugin.
    pub requests: BTreeMap<String, u64>,
    /// Reload transactions seen.
    pub reloads: u64,
    /// Of which failed (and were rolled back).
    pub reloads_failed: u64,
    /// The most recent reload transactions.
    pub recent_reloads: Vec<ReloadRecord>,
}

/// Accumulates what the host observed.
#[tony_plugin(name = "metrics", version = "1.1.0", dependencies("auth" = ">=1.1, <2"))]
#[derive(Default, Serialize, Deserialize)]
pub struct Metrics {
    /// Requests per plugin.
    pub requests: BTreeMap<String, u64>,
    /// Reloads seen.
    pub reloads: u64,
    /// Failed reloads seen.
    pub reloads_failed: u64,
    /// The last few reloads.
    pub recent: VecDeque<ReloadRecord>,
}

#[tony_plugin]
impl Metrics {
    /// Adds what the host observed since the last time.
    pub fn absorb(&mut self, observed: Observed) {
        for (plugin, n) in observed.requests {
            *self.requests.entry(plugin).or_default() += n;
        }
        self.reloads += observed.reloads;
        self.reloads_failed += observed.reloads_failed;
        for r in observed.recent {
            if self.recent.len() == RECENT_RELOADS {
                self.recent.pop_front();
            }
            self.recent.push_back(r);
        }
    }

    /// The report.
    pub fn report(&self) -> Report {
        Report {
            requests: self.requests.clone(),
            reloads: self.reloads,
            reloads_failed: self.reloads_failed,
            recent_reloads: self.recent.iter().cloned().collect(),
        }
    }
}

#[tony_plugin]
impl Plugin for Metrics {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// `metrics`' routes, behind `auth`'s [`require_key`].
pub fn routes(web: &Web) -> Router<Web> {
    Router::new()
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_key))
}

/// `GET /metrics`.
pub async fn metrics(State(web): State<Web>) -> Result<Json<Report>, ApiError> {
    web.call::<Metrics, _, _, _, _>(metrics_body, ())
        .await
        .map(Json)
}

/// Body of [`metrics`]: drains the host's observations into the plugin
/// (only when it is live: nothing is lost while it is away) and reports.
pub fn metrics_body(web: &Web, mut metrics: LentPlugin<'_>, (): ()) -> Result<Report, ApiError> {
    let m = metrics.get_mut::<Metrics>()?;
    m.absorb(web.observer().drain(web.system()));
    Ok(m.report())
}
