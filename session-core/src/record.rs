//! The stored form of a session: [`SessionRecord`], its [`SessionMetadata`], and the versioned
//! byte encoding every store shares.
//!
//! **Stability boundary.** [`SessionRecord::to_bytes`] is what stores persist. It starts with a
//! format version (`"fmt":1`); a reader that meets another version returns
//! [`RecordFormatError::UnsupportedVersion`] instead of guessing, so the format can evolve.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::id::{SessionKey, UserId};
use crate::time::UnixTime;

/// The format version written by [`SessionRecord::to_bytes`].
pub const RECORD_FORMAT_VERSION: u32 = 1;

/// Session data: a JSON object.
pub type SessionData = Map<String, Value>;

/// Where and how a session was made. Shown to users in "your active sessions" lists.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMetadata {
    /// How the user signed in ("password", "github", ...), set by the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<String>,
    /// The `User-Agent` of the request that created the session (truncated to 256 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client address of the request that created the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// A lifetime for this session that overrides the policy's `max_age` ("remember me").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_secs: Option<u64>,
}

impl fmt::Debug for SessionMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMetadata")
            .field("auth_provider", &self.auth_provider)
            .field("user_agent", &self.user_agent)
            .field("ip", &self.ip)
            .field("max_age_secs", &self.max_age_secs)
            .finish()
    }
}

/// One session as a store keeps it.
///
/// The record holds the [`SessionKey`] (a hash of the id), never the id itself, so nothing a store
/// persists can be replayed as a cookie.
#[derive(Clone, PartialEq)]
pub struct SessionRecord {
    /// SHA-256 of the session id.
    pub key: SessionKey,
    /// The application's data.
    pub data: SessionData,
    /// The signed-in user, if any (indexes "log out everywhere" and session lists).
    pub user_id: Option<UserId>,
    /// When the session was created.
    pub created_at: UnixTime,
    /// The last time the session was written or refreshed (writes are throttled, see the policy).
    pub last_seen_at: UnixTime,
    /// When the session ends unless refreshed (already capped by `absolute_expires_at`).
    pub expires_at: UnixTime,
    /// The hard limit no refresh can pass, if the policy sets one.
    pub absolute_expires_at: Option<UnixTime>,
    /// Incremented by every save; `save(record, expected_version)` compares it ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    pub version: u64,
    /// How the session was made.
    pub metadata: SessionMetadata,
}

impl SessionRecord {
    /// A new, empty record (version 1) for `key`, expiring at `expires_at`.
    pub fn new(key: SessionKey, now: UnixTime, expires_at: UnixTime) -> Self {
        SessionRecord {
            key,
            data: Map::new(),
            user_id: None,
            created_at: now,
            last_seen_at: now,
            expires_at,
            absolute_expires_at: None,
            version: 1,
            metadata: SessionMetadata::default(),
        }
    }

    /// The moment the record stops being valid: its sliding expiry, capped by the absolute one.
    pub fn effective_expiry(&self) -> UnixTime {
        match self.absolute_expires_at {
            Some(cap) => self.expires_at.min(cap),
            None => self.expires_at,
        }
    }

    /// Whether the record has expired at `now`. Stores call this in `load` so expiry holds even
    /// when an engine's TTL or a purge has not run yet.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.effective_expiry() <= now
    }

    /// Seconds left until [`effective_expiry`](Self::effective_expiry) (zero when expired).
    pub fn remaining(&self, now: UnixTime) -> Duration {
        self.effective_expiry().saturating_duration_since(now)
    }

    /// Serialises the record in the versioned storage format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let wire = WireRef {
            fmt: RECORD_FORMAT_VERSION,
            key: &self.key,
            data: &self.data,
            user_id: self.user_id.as_ref(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            absolute_expires_at: self.absolute_expires_at,
            version: self.version,
            metadata: &self.metadata,
        };
        // Invariant: every field is a string, number, map or option of those; serde_json cannot
        // fail on such a value (keys of `data` are strings by construction).
        serde_json::to_vec(&wire).expect("a session record always serialises")
    }

    /// Reads the storage format back. Another format version, or bytes that are not a record, is
    /// a typed error (stores map it to `StoreError::Corrupt`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RecordFormatError> {
        #[derive(Deserialize)]
        struct Probe {
            fmt: u32,
        }
        // One parse on the happy path; only bytes that are not a record of this format are
        // parsed again, to tell another version from garbage.
        let wire: WireOwned = match serde_json::from_slice(bytes) {
            Ok(wire) => wire,
            Err(error) => {
                return Err(match serde_json::from_slice::<Probe>(bytes) {
                    Ok(probe) if probe.fmt != RECORD_FORMAT_VERSION => {
                        RecordFormatError::UnsupportedVersion { found: probe.fmt }
                    }
                    _ => RecordFormatError::invalid(error),
                })
            }
        };
        if wire.fmt != RECORD_FORMAT_VERSION {
            return Err(RecordFormatError::UnsupportedVersion { found: wire.fmt });
        }
        Ok(SessionRecord {
            key: wire.key,
            data: wire.data,
            user_id: wire.user_id,
            created_at: wire.created_at,
            last_seen_at: wire.last_seen_at,
            expires_at: wire.expires_at,
            absolute_expires_at: wire.absolute_expires_at,
            version: wire.version,
            metadata: wire.metadata,
        })
    }
}

impl fmt::Debug for SessionRecord {
    /// Shows the data's field names but not their values (they may be secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.data.keys().map(String::as_str).collect();
        f.debug_struct("SessionRecord")
            .field("key", &self.key)
            .field("data_fields", &fields)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .field("absolute_expires_at", &self.absolute_expires_at)
            .field("version", &self.version)
            .field("metadata", &self.metadata)
            .finish()
    }
}

#[derive(Serialize)]
struct WireRef<'a> {
    fmt: u32,
    key: &'a SessionKey,
    data: &'a SessionData,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a UserId>,
    created_at: UnixTime,
    last_seen_at: UnixTime,
    expires_at: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    absolute_expires_at: Option<UnixTime>,
    version: u64,
    metadata: &'a SessionMetadata,
}

#[derive(Deserialize)]
struct WireOwned {
    fmt: u32,
    key: SessionKey,
    data: SessionData,
    #[serde(default)]
    user_id: Option<UserId>,
    created_at: UnixTime,
    last_seen_at: UnixTime,
    expires_at: UnixTime,
    #[serde(default)]
    absolute_expires_at: Option<UnixTime>,
    version: u64,
    #[serde(default)]
    metadata: SessionMetadata,
}

/// Why stored bytes could not be read as a [`SessionRecord`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordFormatError {
    /// The bytes carry a format version this build does not know.
    #[error("unsupported session record format version {found} (this build reads {RECORD_FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version found in the bytes.
        found: u32,
    },
    /// The bytes are not a session record. Only the kind and position of the problem are kept:
    /// serde_json's own message can quote the stored data, which may be secret ([S-30]).
    ///
    /// [S-30]: crate::manual::contracts#s-30
    #[error("stored bytes are not a valid session record ({kind} error at line {line}, column {column})")]
    Invalid {
        /// `syntax`, `data` (wrong shape), `eof` or `io`.
        kind: &'static str,
        /// Line of the problem in the stored JSON.
        line: usize,
        /// Column of the problem in the stored JSON.
        column: usize,
    },
}

impl RecordFormatError {
    fn invalid(e: serde_json::Error) -> Self {
        let kind = match e.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        RecordFormatError::Invalid {
            kind,
            line: e.line(),
            column: e.column(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;

    fn sample() -> SessionRecord {
        let mut r = SessionRecord::new(
            SessionId::generate().key(),
            UnixTime::from_secs(100),
            UnixTime::from_secs(200),
        );
        r.data.insert("secret_note".into(), Value::from("hunter2"));
        r.user_id = Some(UserId::new("u1"));
        r.absolute_expires_at = Some(UnixTime::from_secs(150));
        r
    }

    #[test]
    fn round_trips_through_bytes() {
        let r = sample();
        assert_eq!(SessionRecord::from_bytes(&r.to_bytes()).unwrap(), r);
    }

    #[test]
    fn other_format_versions_are_a_typed_error() {
        let text = String::from_utf8(sample().to_bytes()).unwrap();
        let v2 = text.replacen("\"fmt\":1", "\"fmt\":2", 1);
        assert!(matches!(
            SessionRecord::from_bytes(v2.as_bytes()),
            Err(RecordFormatError::UnsupportedVersion { found: 2 })
        ));
        assert!(matches!(
            SessionRecord::from_bytes(b"\xff garbage"),
            Err(RecordFormatError::Invalid { .. })
        ));
        let mut leaky = sample();
        leaky.version = 1;
        let text = String::from_utf8(leaky.to_bytes()).unwrap();
        let wrong_shape = text.replacen("\"version\":1", "\"version\":\"hunter2\"", 1);
        let err = SessionRecord::from_bytes(wrong_shape.as_bytes()).unwrap_err();
        assert!(
            !format!("{err} {err:?}").contains("hunter2"),
            "errors never quote stored data"
        );
    }

    #[test]
    fn expiry_uses_the_absolute_cap() {
        let r = sample();
        assert_eq!(r.effective_expiry(), UnixTime::from_secs(150));
        assert!(!r.is_expired(UnixTime::from_secs(149)));
        assert!(r.is_expired(UnixTime::from_secs(150)));
        assert_eq!(r.remaining(UnixTime::from_secs(500)), Duration::ZERO);
    }

    #[test]
    fn debug_hides_data_values() {
        let shown = format!("{:?}", sample());
        assert!(shown.contains("secret_note"));
        assert!(!shown.contains("hunter2"));
    }
}
