//! `/_standin/...`: the stand-in's controls over HTTP, for browser tests and the demo.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::state::Shared;
use super::wire::json;
use super::Fault;

/// The routes under `/_standin`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/advance", post(advance))
        .route("/stats", get(stats))
        .route("/fault", post(fault))
        .route("/expire", post(expire))
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

/// `POST /_standin/advance?seconds=N`: `{"now": <unix seconds>}`.
async fn advance(State(shared): State<Arc<Shared>>, Query(by): Query<Advance>) -> Response {
    shared.clock.advance(Duration::from_secs(by.seconds));
    json(StatusCode::OK, json!({ "now": shared.now().as_secs() }))
}

/// `GET /_standin/stats`: `{"github": {...}, "vercel": {...}}`.
async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    let body = json!({ "github": inner.github.stats, "vercel": inner.vercel.stats });
    json(StatusCode::OK, body)
}

#[derive(Deserialize)]
struct FaultQuery {
    kind: String,
    ms: Option<u64>,
}

/// `POST /_standin/fault?kind=none|down|slow|garbage[&ms=N]` (`slow` defaults to 2000 ms).
async fn fault(State(shared): State<Arc<Shared>>, Query(query): Query<FaultQuery>) -> Response {
    let fault = match query.kind.as_str() {
        "none" => Fault::None,
        "down" => Fault::Down,
        "slow" => Fault::Slow(Duration::from_millis(query.ms.unwrap_or(2000))),
        "garbage" => Fault::Garbage,
        _ => {
            let error = "kind must be none, down, slow or garbage";
            return json(StatusCode::BAD_REQUEST, json!({ "error": error }));
        }
    };
    shared.lock().fault = fault;
    json(StatusCode::OK, json!({ "fault": query.kind }))
}

/// `POST /_standin/expire`: every access token issued so far expires now.
async fn expire(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.now();
    shared.lock().expire_access_tokens(now);
    json(StatusCode::OK, json!({}))
}
