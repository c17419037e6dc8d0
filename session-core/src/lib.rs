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
//! # The pieces, by who uses them
//!
//! | module | for | what is in it |
//! |---|---|---|
//! | [`handler`] | request handlers | [`Session`]: typed `get`/`insert`, `login`, `renew`, `destroy`, `status`; [`Validate`] |
//! | [`config`] | setting the application up | [`Policy`] (lifetimes, refresh, cookie attributes), [`Secret`], the clock |
//! | [`store`] | store authors | [`SessionStore`] (a complete custom store opens its docs), records, [`MemoryStore`], purging |
//! | [`codec`] | codec authors | [`SessionCodec`](codec::SessionCodec): [`JwtCodec`] (signed), [`JweCodec`] (encrypted), the signed-id codec; the [`Sealer`](codec::Sealer) for values at rest |
//! | [`adapter`] | web-framework bindings | [`SessionManager`]: load from the `Cookie` header, commit to a [`CookieUpdate`]; the guard |
//! | [`manual`] | everyone | why the defaults are what they are, and every guarantee with its tests |
//!
//! The names nearly every application uses are also at the root.
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
pub mod codec;
mod cookie;
mod csrf;
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
pub mod store;
mod time;
mod validate;

#[cfg(feature = "password")]
#[cfg_attr(docsrs, doc(cfg(feature = "password")))]
pub mod password;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

/// For request handlers: the session handle and what its methods return.
pub mod handler {
    pub use crate::error::{DataError, ShapeError};
    pub use crate::id::UserId;
    pub use crate::session::{Session, SessionInfo, SessionStatus, SignedIn};
    pub use crate::validate::Validate;
}

/// For adapter authors (a web framework's binding): the manager an adapter drives around every
/// request, what it answers, and the guard's decisions.
pub mod adapter {
    pub use crate::csrf::{CsrfRefusal, CsrfRequest};
    pub use crate::error::SessionError;
    pub use crate::guard::{AccessGuard, Denial};
    pub use crate::manager::{CookieUpdate, LazySession, SessionManager, SessionManagerBuilder};
    pub use crate::session::RequestContext;
}

/// For whoever sets the application up: the policy, the cookie, secrets and the clock.
pub mod config {
    pub use crate::cookie::{
        CookieOptions, CookieTooLarge, SameSite, DEFAULT_COOKIE_NAME, MAX_COOKIE_SIZE,
    };
    pub use crate::csrf::{CsrfProtection, InvalidOrigin, WithoutOrigin};
    pub use crate::policy::{
        ConfigError, ConflictPolicy, Policy, PolicyBuilder, SessionPolicy, DEFAULT_MAX_AGE,
        DEFAULT_REFRESH_THRESHOLD, MAX_SESSION_LIFETIME,
    };
    pub use crate::secret::{KeyError, KeyPurpose, Secret, DEFAULT_SECRET_ENV, MIN_SECRET_LEN};
    pub use crate::time::{Clock, SystemClock, UnixTime};
}

// The paved path: the names nearly every application uses, also at the root.
pub use adapter::{CookieUpdate, RequestContext, SessionManager};
pub use codec::{JweCodec, JwtCodec};
pub use config::{Policy, Secret, UnixTime};
pub use error::{DataError, SessionError};
pub use handler::{Session, UserId, Validate};
pub use store::{MemoryStore, SessionStore};
