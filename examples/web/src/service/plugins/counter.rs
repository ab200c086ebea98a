//! `counter`: `POST /count` counts, `GET /count` reads; behind `auth`. The
//! count is the plugin's state: it survives reloads, config changes and hot
//! patches.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router, middleware};
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, LentPlugin, Plugin, tony_plugin};

use super::auth::{User, require_key};
use tony_web_example::{ApiError, Web};

/// What `/count` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// The count.
    pub count: u64,
    /// How many of them the caller made.
    pub yours: u64,
}

/// Counts requests, per user too.
#[tony_plugin(
    name = "counter",
    version = "1.0.0",
    dependencies("auth" = "^1.0", "metrics" = "^1.0" optional)
)]
#[derive(Default, Serialize, Deserialize)]
pub struct Counter {
    /// The count.
    pub count: u64,
    /// The count per user.
    pub by_user: BTreeMap<String, u64>,
}

#[tony_plugin]
impl Counter {
    /// Counts one for `user`.
    pub fn increment(&mut self, user: &str) -> Count {
        let step = self.step();
        self.count += step;
        let yours = self.by_user.entry(user.to_owned()).or_default();
        *yours += step;
        Count {
            count: self.count,
            yours: *yours,
        }
    }

    /// How far one request counts. Edit it under `dx serve --hot-patch`:
    /// the next `POST /count` steps by the new amount from the kept count.
    pub fn step(&self) -> u64 {
        1
    }

    /// The count, as `user` sees it.
    pub fn read(&self, user: &str) -> Count {
        Count {
            count: self.count,
            yours: self.by_user.get(user).copied().unwrap_or(0),
        }
    }
}

#[tony_plugin]
impl Plugin for Counter {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        ctx.dependency("auth")
            .ok_or("counter needs an active `auth` ^1.0")?;
        Ok(())
    }
}

/// `counter`'s routes, behind `auth`'s [`require_key`].
pub fn routes(web: &Web) -> Router<Web> {
    Router::new()
        .route("/count", get(read).post(count))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_key))
}

/// `POST /count`.
pub async fn count(
    State(web): State<Web>,
    Extension(user): Extension<User>,
) -> Result<Json<Count>, ApiError> {
    web.call::<Counter, _, _, _, _>(count_body, user)
        .await
        .map(Json)
}

/// Body of [`count`].
pub fn count_body(_: &Web, mut counter: LentPlugin<'_>, user: User) -> Result<Count, ApiError> {
    Ok(counter.get_mut::<Counter>()?.increment(&user.0))
}

/// `GET /count`.
pub async fn read(
    State(web): State<Web>,
    Extension(user): Extension<User>,
) -> Result<Json<Count>, ApiError> {
    web.call::<Counter, _, _, _, _>(read_body, user)
        .await
        .map(Json)
}

/// Body of [`read`].
pub fn read_body(_: &Web, counter: LentPlugin<'_>, user: User) -> Result<Count, ApiError> {
    Ok(counter.get::<Counter>()?.read(&user.0))
}
