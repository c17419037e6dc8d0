//! Sessions for Axum, Actix-web and Rocket, from one crate: the framework bindings of
//! [`session_core`], with the stores re-exported behind features.
//!
//! ```
//! use session_adapters::{MemoryStore, Policy, Secret, SessionManager};
//! use std::time::Duration;
//!
//! // In production: Secret::from_default_env() reads SESSION_SECRET (32 bytes or more).
//! let secret = Secret::from_bytes(vec![7u8; 32])?;
//! let policy = Policy::builder().max_age(Duration::from_secs(7 * 24 * 3600)).build()?;
//! let manager = SessionManager::stateful(&secret, MemoryStore::new())
//!     .policy(policy)
//!     .build();
//! // Hand `manager` to your framework's binding, e.g. `axum::SessionLayer::new(manager)`.
//! # let _ = manager;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! Nothing is enabled by default: name the framework and the store you use.
//!
//! | feature | adds |
//! |---|---|
//! | `axum` | module `axum`: `SessionLayer`; the handler types are Axum extractors (Axum 0.8) |
//! | `actix` | module `actix`: `SessionMiddleware`; the handler types are Actix-web extractors (Actix-web 4) |
//! | `rocket` | module `rocket`: `SessionFairing`; the handler types are Rocket request guards (Rocket 0.5) |
//! | `sled` | `SledStore`, `SledStoreConfig` (embedded, from `session-store-sled`) |
//! | `sqlite` | `SqliteStore`, `SqliteStoreConfig` (embedded SQLite, from `session-store-sqlite`) |
//! | `redis` | `RedisStore`, `RedisStoreConfig` (a Redis server, from `session-store-redis`) |
//! | `redis-cluster` | `redis`, plus `RedisStoreConfig::cluster` (a Redis Cluster) |
//! | `postgres` | `PostgresStore`, `PostgresStoreConfig` (a PostgreSQL server, from `session-store-postgres`) |
//! | `auth` | module `auth` (`session-auth`: OAuth sign-in with GitHub, Vercel or any provider, API tokens, passwords), `OAuth`, `Provider`, `ApiTokens`, the [`Auth`] extractor (bearer token or session); with a framework feature, that framework's sign-in routes (`axum::oauth_routes`, `actix::oauth_routes`, `rocket::oauth_routes`) |
//!
//! [`MemoryStore`] and stateless sessions (signed: [`JwtCodec`]; encrypted: [`JweCodec`]) need
//! no feature.
//!
//! # Handlers
//!
//! The types handlers take are the same in every framework: [`Session`] (read and write),
//! [`SessionData<T>`] (the whole data, typed and [validated](Validate)), [`SignedIn`] (routes for
//! signed-in users; `Option<SignedIn>` for routes open to both), the [`SessionRejection`] they
//! fail with, and the [`Error`] a handler returns with `?`; with feature `auth`, `Auth` (an API
//! bearer token or the session cookie, for routes that serve browsers and API clients; see its
//! table of outcomes). Each framework module implements its extractor traits for them and adds
//! its middleware.
//!
//! Every binding only carries the `Cookie` header in and the `Set-Cookie` header out: all
//! decisions (expiry, refresh, renewal, conflicts, errors) are [`SessionManager`]'s, so the three
//! frameworks behave identically. The same behaviour suite runs through each of them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use session_core as core;

mod answer;
#[cfg(feature = "auth")]
mod auth_extractor;
mod error;
mod extract;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use auth_extractor::{Auth, AuthVia, BearerChallenge};
pub use error::Error;
pub use extract::{Session, SessionData, SessionRejection, SignedIn};

#[doc(inline)]
pub use session_core::{
    adapter::{AccessGuard, Denial, SessionManagerBuilder},
    codec::{JweEncryption, JweKey, JwtAlgorithm},
    config::{ConflictPolicy, PolicyBuilder, SameSite},
    handler::SessionStatus,
    store::StoreError,
    DataError, JweCodec, JwtCodec, MemoryStore, Policy, Secret, SessionError, SessionManager,
    SessionStore, UserId, Validate,
};

#[cfg(feature = "sled")]
#[cfg_attr(docsrs, doc(cfg(feature = "sled")))]
#[doc(inline)]
pub use session_store_sled::{SledStore, SledStoreConfig};

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
#[doc(inline)]
pub use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(inline)]
pub use session_store_redis::{RedisStore, RedisStoreConfig};

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[doc(inline)]
pub use session_store_postgres::{PostgresStore, PostgresStoreConfig};

/// OAuth sign-in, API tokens and passwords: [`session_auth`], re-exported. The framework modules serve its routes:
/// `axum::oauth_routes`, `actix::oauth_routes` and `rocket::oauth_routes` (each with its
/// framework's feature and `auth`).
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use session_auth as auth;

#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
#[doc(no_inline)]
pub use session_auth::{
    api_tokens::{ApiTokens, MemoryApiTokenStore, NewApiToken},
    OAuth, Provider,
};

#[cfg(all(feature = "sqlite", feature = "auth"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "sqlite", feature = "auth"))))]
#[doc(inline)]
pub use session_store_sqlite::{SqliteApiTokenStore, SqliteTokenStore};

#[cfg(all(feature = "redis", feature = "auth"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "redis", feature = "auth"))))]
#[doc(inline)]
pub use session_store_redis::{RedisApiTokenStore, RedisTokenStore};

#[cfg(all(feature = "postgres", feature = "auth"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "postgres", feature = "auth"))))]
#[doc(inline)]
pub use session_store_postgres::{PostgresApiTokenStore, PostgresTokenStore};

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "rocket")]
#[cfg_attr(docsrs, doc(cfg(feature = "rocket")))]
pub mod rocket;

/// The README's snippets, compiled as doctests so they cannot drift from the API.
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "actix",
    feature = "rocket",
    feature = "sqlite",
    feature = "redis",
    feature = "auth"
))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
