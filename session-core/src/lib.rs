//! Framework-agnostic sessions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod b64;
mod id;
mod memory_store;
mod record;
mod store;
mod time;

#[cfg(feature = "testing")]
pub mod testing;

pub use id::{SessionId, SessionKey, UserId, SESSION_ID_BYTES};
pub use memory_store::MemoryStore;
pub use record::{
    RecordFormatError, SessionData, SessionMetadata, SessionRecord, RECORD_FORMAT_VERSION,
};
pub use store::{BoxError, SessionStore, StoreCaps, StoreError};
pub use time::{Clock, SystemClock, UnixTime};
