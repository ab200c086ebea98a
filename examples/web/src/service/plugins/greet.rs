//! `greet`: `GET /hello/{name}`, with the greeting from the plugin
//! configuration file.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, LentPlugin, Plugin, tony_plugin};

use tony_web_example::{ApiError, Web};

/// `[plugins.greet]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreetConfig {
    /// The word to greet with.
    #[serde(default = "default_greeting")]
    pub greeting: String,
}

fn default_greeting() -> String {
    "Hello".to_owned()
}

impl Default for GreetConfig {
    fn default() -> Self {
        GreetConfig {
            greeting: default_greeting(),
        }
    }
}

/// Greets people.
#[tony_plugin(
    name = "greet",
    version = "1.0.0",
    config = GreetConfig,
    dependencies("metrics" = "^1.0" optional)
)]
#[derive(Default, Serialize, Deserialize)]
pub struct Greet {
    /// People greeted: state, kept across reloads.
    pub greeted: u64,
    /// The configuration in force (rebuilt on every activation).
    #[serde(skip)]
    pub config: GreetConfig,
}

#[tony_plugin]
impl Greet {
    /// The greeting for `name`. Edit it under `dx serve --hot-patch`: the
    /// next `GET /hello/{name}` answers with the new text.
    pub fn hello(&mut self, name: &str) -> String {
        self.greeted += 1;
        format!("{}, {name}!", self.config.greeting)
    }
}

#[tony_plugin]
impl Plugin for Greet {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.config = ctx.config()?;
        Ok(())
    }
}

/// `greet`'s routes.
pub fn routes() -> Router<Web> {
    Router::new().route("/hello/{name}", get(hello))
}

/// `GET /hello/{name}`.
pub async fn hello(State(web): State<Web>, Path(name): Path<String>) -> Result<String, ApiError> {
    web.call::<Greet, _, _, _, _>(hello_body, name).await
}

/// Body of [`hello`].
pub fn hello_body(_: &Web, mut greet: LentPlugin<'_>, name: String) -> Result<String, ApiError> {
    Ok(greet.get_mut::<Greet>()?.hello(&name))
}
