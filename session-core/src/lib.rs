//! Framework-agnostic sessions: one engine for stateless (JWT cookie) and stateful (signed id +
//! store) sessions, secure by default, shared by the Axum, Actix-web and Rocket adapters in
//! `session-adapters`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use session_core::{CookieUpdate, JwtCodec, MemoryStore, RequestContext, Secret, SessionManager};
//!
//! let secret = Secret::from_bytes(b"at least thirty-two bytes of secret!".to_vec())?;
//! // Stateless or stateful is one line:
//! let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
//! # let _ = SessionManager::stateless(JwtCodec::hs256(&secret)?).build();
//!
//! // What an adapter does around every request:
//! let session = manager.load_from_header(None, RequestContext::default()).await?;
//! session.insert("theme", "dark")?;
//! let update = manager.commit(&session).await?;
//! assert!(matches!(update, CookieUpdate::Set(ref c) if c.contains("HttpOnly; SameSite=Lax")));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # The pieces
//!
//! | piece | what it is |
//! |---|---|
//! | [`SessionManager`] | loads a session from the `Cookie` header, commits it to a [`CookieUpdate`] |
//! | [`Session`] | the handle handlers use: typed `get`/`insert`, `login`, `renew`, `destroy`, `status` |
//! | [`SessionStore`] | where stateful sessions live ([`MemoryStore`] here; sled, SQLite, Redis in their crates) |
//! | [`SessionCodec`] | what travels in the cookie: [`JwtCodec`] (whole record) or [`SignedIdCodec`] (id) |
//! | [`SessionPolicy`] | lifetimes, refresh and cookie attributes; [`Policy`] is the default |
//! | [`manual`] | why the defaults are what they are |
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `password` | [`password`]: Argon2id hashing for login forms |
//! | `testing` | [`testing`]: the store conformance suite, store decorators, a mock clock, a log capture (not semver-stable) |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod b64;
mod codec;
mod cookie;
mod error;
mod events;
mod guard;
mod id;
mod manager;
pub mod manual;
mod memory_store;
mod merge;
mod policy;
mod purge;
mod record;
mod seal;
mod secret;
mod session;
mod state;
mod store;
mod time;
mod validate;

#[cfg(feature = "password")]
#[cfg_attr(docsrs, doc(cfg(feature = "password")))]
pub mod password;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use codec::{
    Decoded, EncodeError, ForeignClaims, JweAlgorithm, JweCodec, JweCodecBuilder, JweEncryption,
    JweKey, JwtAlgorithm, JwtCodec, JwtCodecBuilder, JwtKey, RejectReason, SessionCodec,
    SignedIdCodec, Tag, TokenCodec, MAX_COOKIE_VALUE_LEN, MAX_KID_LEN, MAX_PURPOSE_LEN,
    RESERVED_CLAIMS,
};
pub use cookie::{CookieOptions, CookieTooLarge, SameSite, DEFAULT_COOKIE_NAME, MAX_COOKIE_SIZE};
pub use error::{DataError, SessionError, ShapeError};
pub use guard::{AccessGuard, Denial};
pub use id::{SessionId, SessionKey, UserId, SESSION_ID_BYTES};
pub use manager::{CookieUpdate, SessionManager, SessionManagerBuilder};
pub use memory_store::MemoryStore;
pub use policy::{
    ConfigError, ConflictPolicy, Policy, PolicyBuilder, SessionPolicy, DEFAULT_MAX_AGE,
    DEFAULT_REFRESH_THRESHOLD, MAX_SESSION_LIFETIME,
};
pub use purge::{
    BackgroundPurge, PurgeSchedule, DEFAULT_PURGE_BATCH, DEFAULT_PURGE_INTERVAL, MIN_PURGE_INTERVAL,
};
pub use record::{
    RecordFormatError, SessionData, SessionMetadata, SessionRecord, RECORD_FORMAT_VERSION,
};
pub use seal::{SealError, Sealer};
pub use secret::{KeyError, KeyPurpose, Secret, DEFAULT_SECRET_ENV, MIN_SECRET_LEN};
pub use session::{RequestContext, Session, SessionInfo, SessionStatus, SignedIn};
pub use store::{BoxError, SessionStore, StoreCaps, StoreError};
pub use time::{Clock, SystemClock, UnixTime};
pub use validate::Validate;
