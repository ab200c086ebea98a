//! `auth`: API keys from the plugin configuration, and the middleware that
//! checks them. Other plugins depend on it with a semver range: reloading
//! it (a new key in the config file) cycles them too.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, LentPlugin, Plugin, tony_plugin};

use tony_web_example::{ApiError, Web};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// `[plugins.auth]`: the API keys and who they belong to.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// API key -> user name.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

/// Who a request comes from: put in the request's extensions by
/// [`require_key`] for the handlers behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(pub String);

/// Checks API keys.
#[tony_plugin(name = "auth", version = "1.2.0", config = AuthConfig)]
#[derive(Default, Serialize, Deserialize)]
pub struct Auth {
    /// Keys checked: state, kept across reloads.
    pub checked: u64,
    /// Keys refused.
    pub refused: u64,
    /// The keys in force (configuration, rebuilt on every activation).
    #[serde(skip)]
    keys: BTreeMap<String, String>,
}

#[tony_plugin]
impl Auth {
    /// The user `key` belongs to, or why not.
    pub fn authorize(&mut self, key: Option<&str>) -> Result<String, &'static str> {
        self.checked += 1;
        let user = match key {
            None => Err("missing x-api-key header"),
            Some(key) => self.keys.get(key).cloned().ok_or("unknown API key"),
        };
        if user.is_err() {
            self.refused += 1;
        }
        user
    }
}

#[tony_plugin]
impl Plugin for Auth {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        let config: AuthConfig = ctx.config()?;
        if config.keys.keys().any(String::is_empty) {
            return Err("an API key cannot be empty".into());
        }
        self.keys = config.keys;
        Ok(())
    }
}

/// Middleware: lets a request through when its API key is known to `auth`,
/// with its [`User`] in the extensions; 401 otherwise.
pub async fn require_key(State(web): State<Web>, mut request: Request, next: Next) -> Response {
    let key = request
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match web.call::<Auth, _, _, _, _>(authorize, key).await {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// Body of [`require_key`].
fn authorize(_: &Web, mut auth: LentPlugin<'_>, key: Option<String>) -> Result<User, ApiError> {
    (auth.get_mut::<Auth>()?.authorize(key.as_deref()))
        .map(User)
        .map_err(|why| ApiError::new(StatusCode::UNAUTHORIZED, why))
}
