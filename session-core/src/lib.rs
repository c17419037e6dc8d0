//! Framework-agnostic sessions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod b64;
mod codec;
mod guard;
mod id;
mod key;
mod manager;
mod memory_store;
mod policy;
mod record;
mod session;
mod store;
mod time;

#[cfg(feature = "testing")]
pub mod testing;

pub use codec::{
    Decoded, EncodeError, JwtAlgorithm, JwtCodec, JwtCodecBuilder, JwtKey, RejectReason,
    SessionCodec, SignedIdCodec, Tag, MAX_COOKIE_VALUE_LEN, RESERVED_CLAIMS,
};
pub use guard::{AccessGuard, Denial};
pub use id::{SessionId, SessionKey, UserId, SESSION_ID_BYTES};
pub use key::{KeyError, KeyPurpose, Secret, DEFAULT_SECRET_ENV, MIN_SECRET_LEN};
pub use manager::{CookieUpdate, SessionError, SessionManager, SessionManagerBuilder};
pub use memory_store::MemoryStore;
pub use policy::{
    ConfigError, ConflictPolicy, CookieOptions, CookieTooLarge, Policy, PolicyBuilder, SameSite,
    SessionPolicy, DEFAULT_COOKIE_NAME, DEFAULT_MAX_AGE, DEFAULT_REFRESH_THRESHOLD,
    MAX_COOKIE_SIZE,
};
pub use record::{
    RecordFormatError, SessionData, SessionMetadata, SessionRecord, RECORD_FORMAT_VERSION,
};
pub use session::{DataError, RequestContext, Session, SessionInfo, SessionStatus};
pub use store::{BoxError, SessionStore, StoreCaps, StoreError};
pub use time::{Clock, SystemClock, UnixTime};
