//! The anchors: established session crates serving the same handlers as this framework's own
//! backends, so the HTTP part measures both in one run under the same load.
//!
//! Every anchor server answers `GET /counter` (read `n`, increment it, write it back) and
//! `GET /seed` (a signed-in session: the user id, the typical ~200-byte data of
//! [`typical_data`] and `n = 0`), on one worker thread, with the crate's defaults otherwise:
//! - Axum: tower-sessions 0.15 with its `MemoryStore` (`tower-memory`), and tower-sessions 0.14
//!   with tower-sessions-redis-store 0.16 (`tower-redis`; the Redis store implements
//!   tower-sessions-core 0.14, hence the older tower-sessions beside 0.15).
//! - Actix-web: actix-session 0.11 with `CookieSessionStore` (its default private, encrypted
//!   cookie; `actix-cookie`) and with `RedisSessionStore` (`actix-redis`).
//! - Rocket 0.5: its private cookies (`CookieJar::get_private` / `add_private`) holding the
//!   record as JSON (`rocket-private`).
//!
//! The Redis anchors keep their keys in a database of their own ([`ANCHOR_REDIS_DB`] on the
//! server of `REDIS_URL`), which the parent empties after the run.

use serde_json::{Map, Value};

use crate::codec::{secret, typical_data, TYPICAL_USER};
use crate::servers::{one_worker_runtime, rocket_config, Backend, Framework, LOCALHOST};
use crate::stores::redis_url;
use crate::{context, fail, BoxError};

/// An established session crate measured beside this framework's own backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// tower-sessions 0.15 with its `MemoryStore` (Axum).
    TowerMemory,
    /// tower-sessions 0.14 with tower-sessions-redis-store 0.16 (Axum).
    TowerRedis,
    /// actix-session 0.11 with `CookieSessionStore`, private (encrypted) cookies (Actix-web).
    ActixCookie,
    /// actix-session 0.11 with `RedisSessionStore` (Actix-web).
    ActixRedis,
    /// Rocket's private cookies holding the record as JSON (Rocket).
    RocketPrivate,
}

impl Anchor {
    /// Every anchor, in the order of the report.
    pub(crate) const ALL: [Anchor; 5] = [
        Anchor::TowerMemory,
        Anchor::TowerRedis,
        Anchor::ActixCookie,
        Anchor::ActixRedis,
        Anchor::RocketPrivate,
    ];

    /// The name on the `serve` command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Anchor::TowerMemory => "tower-memory",
            Anchor::TowerRedis => "tower-redis",
            Anchor::ActixCookie => "actix-cookie",
            Anchor::ActixRedis => "actix-redis",
            Anchor::RocketPrivate => "rocket-private",
        }
    }

    /// The name in the report.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Anchor::TowerMemory => "anchor: tower-sessions 0.15 MemoryStore",
            Anchor::TowerRedis => "anchor: tower-sessions 0.14 + redis-store 0.16",
            Anchor::ActixCookie => "anchor: actix-session 0.11 private cookie",
            Anchor::ActixRedis => "anchor: actix-session 0.11 Redis",
            Anchor::RocketPrivate => "anchor: Rocket private cookie",
        }
    }

    /// The framework the anchor belongs to.
    pub(crate) fn framework(self) -> Framework {
        match self {
            Anchor::TowerMemory | Anchor::TowerRedis => Framework::Axum,
            Anchor::ActixCookie | Anchor::ActixRedis => Framework::Actix,
            Anchor::RocketPrivate => Framework::Rocket,
        }
    }

    /// Whether the anchor keeps its sessions in Redis.
    pub(crate) fn uses_redis(self) -> bool {
        matches!(self, Anchor::TowerRedis | Anchor::ActixRedis)
    }

    /// The anchors of `framework`.
    pub(crate) fn of(framework: Framework) -> impl Iterator<Item = Anchor> {
        Self::ALL
            .into_iter()
            .filter(move |a| a.framework() == framework)
    }

    /// The anchor an own `backend` is compared with in `framework`, if any: the stateless cookies with the framework's cookie anchor
    /// (tower-sessions' memory store on Axum, which has no cookie store), the memory store with
    /// tower-sessions' memory store, Redis with the framework's Redis anchor.
    pub(crate) fn matching(framework: Framework, backend: Backend) -> Option<Anchor> {
        use Backend::{Jwe, Jwt, Memory, Redis};
        match (framework, backend) {
            (Framework::Axum, Jwt | Jwe | Memory) => Some(Anchor::TowerMemory),
            (Framework::Axum, Redis) => Some(Anchor::TowerRedis),
            (Framework::Actix, Jwt | Jwe) => Some(Anchor::ActixCookie),
            (Framework::Actix, Redis) => Some(Anchor::ActixRedis),
            (Framework::Rocket, Jwt | Jwe) => Some(Anchor::RocketPrivate),
            _ => None,
        }
    }

    /// The anchor named `s` on the command line.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// The Redis database index the Redis anchors use (emptied with `FLUSHDB` after the run).
pub(crate) const ANCHOR_REDIS_DB: u8 = 9;

/// `REDIS_URL` (or the default) with its database replaced by [`ANCHOR_REDIS_DB`].
pub(crate) fn anchor_redis_url() -> String {
    with_database(&redis_url(), ANCHOR_REDIS_DB)
}

/// `url` (`redis://[auth@]host[:port][/db][?query]`) with the database `db`.
fn with_database(url: &str, db: u8) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    match query {
        Some(query) => format!("{scheme}://{authority}/{db}?{query}"),
        None => format!("{scheme}://{authority}/{db}"),
    }
}

/// The seeded record, the same as the own backends': the user id, the typical data and `n = 0`.
fn seed_record() -> Map<String, Value> {
    let mut record = Map::new();
    record.insert("user_id".into(), Value::from(TYPICAL_USER));
    record.extend(typical_data());
    record.insert("n".into(), Value::from(0u64));
    record
}

/// `serve <framework> <anchor> <port>`: runs the anchor's server until the process ends.
pub(crate) fn serve(anchor: Anchor, port: u16) -> Result<(), BoxError> {
    match anchor {
        Anchor::TowerMemory => tower_memory::serve(port),
        Anchor::TowerRedis => tower_redis::serve(port),
        Anchor::ActixCookie => actix::serve_cookie(port),
        Anchor::ActixRedis => actix::serve_redis(port),
        Anchor::RocketPrivate => rocket_private::serve(port),
    }
}

/// The `/counter` and `/seed` handlers for one version of tower-sessions (0.15 and 0.14 have the
/// same `Session` API but are different types).
macro_rules! tower_handlers {
    ($krate:ident) => {
        use axum::http::StatusCode;
        use axum::routing::get;
        use axum::Router;
        use $krate::Session;

        /// A failed session call as a 500.
        fn internal(e: $krate::session::Error) -> (StatusCode, String) {
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }

        /// `GET /counter`: read `n`, write `n + 1`.
        async fn counter(session: Session) -> Result<String, (StatusCode, String)> {
            let n = session
                .get::<u64>("n")
                .await
                .map_err(internal)?
                .unwrap_or(0)
                + 1;
            session.insert("n", n).await.map_err(internal)?;
            Ok(n.to_string())
        }

        /// `GET /seed`: the signed-in session with the typical record.
        async fn seed(session: Session) -> Result<&'static str, (StatusCode, String)> {
            for (key, value) in seed_record() {
                session.insert(&key, value).await.map_err(internal)?;
            }
            Ok("seeded")
        }

        /// The two routes, without the session layer.
        fn routes() -> Router {
            Router::new()
                .route("/counter", get(counter))
                .route("/seed", get(seed))
        }
    };
}

/// Serves the Axum app `app` on `port`.
async fn serve_axum(app: axum::Router, port: u16) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind((LOCALHOST, port))
        .await
        .map_err(context(format!("bind 127.0.0.1:{port}")))?;
    axum::serve(listener, app)
        .await
        .map_err(context("axum::serve"))
}

mod tower_memory {
    //! tower-sessions 0.15 with its `MemoryStore`, on Axum.

    use super::*;

    tower_handlers!(tower_sessions);

    /// Serves the anchor on `port` until the process ends.
    pub(super) fn serve(port: u16) -> Result<(), BoxError> {
        let store = tower_sessions::MemoryStore::default();
        let app = routes().layer(tower_sessions::SessionManagerLayer::new(store));
        one_worker_runtime()?.block_on(serve_axum(app, port))
    }
}

mod tower_redis {
    //! tower-sessions 0.14 with tower-sessions-redis-store 0.16 (a `fred` client), on Axum.

    use super::*;
    use tower_sessions_redis_store::fred::prelude::{Client, ClientLike as _, Config};
    use tower_sessions_redis_store::RedisStore;

    tower_handlers!(tower_sessions_014);

    /// Serves the anchor on `port` until the process ends.
    pub(super) fn serve(port: u16) -> Result<(), BoxError> {
        one_worker_runtime()?.block_on(async move {
            let config = Config::from_url(&anchor_redis_url()).map_err(context("fred config"))?;
            let client = Client::new(config, None, None, None);
            // The connection task runs as long as the client: the handle is not needed.
            let _connection = client.init().await.map_err(context("connect fred"))?;
            let store = RedisStore::new(client);
            let app = routes().layer(tower_sessions_014::SessionManagerLayer::new(store));
            serve_axum(app, port).await
        })
    }
}

mod actix {
    //! actix-session 0.11 on Actix-web, with its cookie store and its Redis store.

    use super::*;
    use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
    use actix_session::{Session, SessionMiddleware};
    use actix_web::cookie::Key;
    use actix_web::{error, web, App, HttpServer};

    /// `GET /counter`: read `n`, write `n + 1`.
    async fn counter(session: Session) -> actix_web::Result<String> {
        let n = session
            .get::<u64>("n")
            .map_err(error::ErrorInternalServerError)?
            .unwrap_or(0)
            + 1;
        session
            .insert("n", n)
            .map_err(error::ErrorInternalServerError)?;
        Ok(n.to_string())
    }

    /// `GET /seed`: the signed-in session with the typical record.
    async fn seed(session: Session) -> actix_web::Result<&'static str> {
        for (key, value) in seed_record() {
            session
                .insert(key, value)
                .map_err(error::ErrorInternalServerError)?;
        }
        Ok("seeded")
    }

    /// The key of actix-session's cookies, derived from the bench's secret.
    fn key() -> Result<Key, BoxError> {
        Ok(Key::derive_from(secret()?.expose()))
    }

    /// Serves the two routes with the store `make_store` builds (once per worker) on `port`.
    async fn serve_with<S>(
        make_store: impl Fn() -> S + Clone + Send + 'static,
        port: u16,
    ) -> Result<(), BoxError>
    where
        S: SessionStore + 'static,
    {
        let key = key()?;
        HttpServer::new(move || {
            App::new()
                .wrap(SessionMiddleware::new(make_store(), key.clone()))
                .route("/counter", web::get().to(counter))
                .route("/seed", web::get().to(seed))
        })
        .workers(1)
        .bind((LOCALHOST, port))
        .map_err(context(format!("bind 127.0.0.1:{port}")))?
        .run()
        .await
        .map_err(context("actix server"))
    }

    /// The cookie-store anchor on `port`, until the process ends.
    pub(super) fn serve_cookie(port: u16) -> Result<(), BoxError> {
        actix_web::rt::System::new().block_on(serve_with(CookieSessionStore::default, port))
    }

    /// The Redis-store anchor on `port`, until the process ends.
    pub(super) fn serve_redis(port: u16) -> Result<(), BoxError> {
        actix_web::rt::System::new().block_on(async move {
            let store = RedisSessionStore::new(anchor_redis_url())
                .await
                .map_err(|e| fail(format!("connect actix-session's RedisSessionStore: {e:#}")))?;
            serve_with(move || store.clone(), port).await
        })
    }
}

mod rocket_private {
    //! Rocket 0.5's private cookies (AES-256-GCM under the configured secret key) holding the
    //! session record as JSON.

    use super::*;
    use rocket::http::{Cookie, CookieJar, Status};
    use rocket::{get, routes};

    /// The cookie's name.
    const NAME: &str = "session";

    /// The record in the request's private cookie; empty without a (valid) one.
    fn load(jar: &CookieJar<'_>) -> Map<String, Value> {
        jar.get_private(NAME)
            .and_then(|cookie| serde_json::from_str(cookie.value()).ok())
            .unwrap_or_default()
    }

    /// Writes `record` back as the private cookie.
    fn store(jar: &CookieJar<'_>, record: &Map<String, Value>) -> Result<(), (Status, String)> {
        let json = serde_json::to_string(record)
            .map_err(|e| (Status::InternalServerError, e.to_string()))?;
        jar.add_private(Cookie::new(NAME, json));
        Ok(())
    }

    /// `GET /counter`: read `n`, write `n + 1`.
    #[get("/counter")]
    fn counter(jar: &CookieJar<'_>) -> Result<String, (Status, String)> {
        let mut record = load(jar);
        let n = record.get("n").and_then(Value::as_u64).unwrap_or(0) + 1;
        record.insert("n".into(), Value::from(n));
        store(jar, &record)?;
        Ok(n.to_string())
    }

    /// `GET /seed`: the signed-in session with the typical record.
    #[get("/seed")]
    fn seed(jar: &CookieJar<'_>) -> Result<&'static str, (Status, String)> {
        store(jar, &seed_record())?;
        Ok("seeded")
    }

    /// Serves the anchor on `port` until the process ends.
    pub(super) fn serve(port: u16) -> Result<(), BoxError> {
        one_worker_runtime()?.block_on(async move {
            rocket::custom(rocket_config(port)?)
                .mount("/", routes![counter, seed])
                .launch()
                .await
                .map(|_| ())
                .map_err(|e| fail(format!("rocket: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_database_replaces_the_url_database() {
        assert_eq!(
            with_database("redis://127.0.0.1:6379", 9),
            "redis://127.0.0.1:6379/9"
        );
        assert_eq!(
            with_database("redis://:pw@cache:6380/2?protocol=resp3", 9),
            "redis://:pw@cache:6380/9?protocol=resp3"
        );
        assert_eq!(with_database("redis://h/", 9), "redis://h/9");
    }

    #[test]
    fn every_anchor_parses_back_and_matches_its_framework() {
        for anchor in Anchor::ALL {
            assert_eq!(Anchor::parse(anchor.name()), Some(anchor));
            assert!(Anchor::of(anchor.framework()).any(|a| a == anchor));
        }
        assert_eq!(
            Anchor::matching(Framework::Actix, Backend::Memory),
            None,
            "actix-session has no memory store"
        );
        assert_eq!(
            Anchor::matching(Framework::Axum, Backend::Redis),
            Some(Anchor::TowerRedis)
        );
    }
}
