//! An API-token record as the columns of a SQL row ([`ApiTokenColumns`]), shared by the SQL
//! API-token stores (SQLite, PostgreSQL): the plain values they bind when writing, and the check
//! that turns what they read back into an [`ApiTokenRecord`] or a typed `Corrupt` error.

use std::fmt;

use session_core::store::StoreError;
use session_core::{UnixTime, UserId};

use super::{ApiTokenRecord, TokenHash};

/// The column names, in the order [`ApiTokenColumns`] lists its fields, for `SELECT` lists.
pub const API_TOKEN_COLUMNS: &str = "id, owner, name, scopes, display_prefix, hash, created_at, \
                                     last_used_at, expires_at, revoked_at";

/// One API-token record as SQL columns: texts (the scopes as a JSON array, the hash as 64 lower
/// hex digits) and signed 64-bit Unix seconds, as SQLite and PostgreSQL store them. `Debug`
/// leaves out the hash.
///
/// ```
/// use session_auth::api_tokens::{ApiTokenColumns, ApiTokenRecord, TokenHash};
/// use session_core::{UnixTime, UserId};
/// let record = ApiTokenRecord {
///     id: "t1".into(),
///     owner: UserId::new("alice"),
///     name: "CI".into(),
///     scopes: vec!["read".into()],
///     display_prefix: "sat_abcd".into(),
///     hash: TokenHash::from_hex(&"ab".repeat(32)).unwrap(),
///     created_at: UnixTime::from_secs(1_700_000_000),
///     last_used_at: None,
///     expires_at: None,
///     revoked_at: None,
/// };
/// let columns = ApiTokenColumns::of(&record)?;
/// assert_eq!(columns.scopes, r#"["read"]"#);
/// assert_eq!(columns.into_record()?, record);
/// # Ok::<(), session_core::store::StoreError>(())
/// ```
pub struct ApiTokenColumns {
    /// `id`.
    pub id: String,
    /// `owner`.
    pub owner: String,
    /// `name`.
    pub name: String,
    /// `scopes`: a JSON array of strings.
    pub scopes: String,
    /// `display_prefix`.
    pub display_prefix: String,
    /// `hash`: [`TokenHash::to_hex`].
    pub hash: String,
    /// `created_at`.
    pub created_at: i64,
    /// `last_used_at`, or `NULL`.
    pub last_used_at: Option<i64>,
    /// `expires_at`, or `NULL` for a token that does not expire.
    pub expires_at: Option<i64>,
    /// `revoked_at`, or `NULL`.
    pub revoked_at: Option<i64>,
}

impl fmt::Debug for ApiTokenColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokenColumns")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// Why a stored row could not be read back: the source of a [`StoreError::Corrupt`]. Never
/// quotes what is stored.
#[derive(Debug, thiserror::Error)]
enum CorruptApiToken {
    #[error("the stored API token's hash is not 64 hex digits")]
    Hash,
    #[error("the stored API token's scopes are not a JSON array of strings")]
    Scopes,
    #[error("the stored API token has a negative time")]
    NegativeTime,
    #[error("a column of the stored API token has the wrong type")]
    ColumnType,
}

impl ApiTokenColumns {
    /// The columns of `record`. Times past `i64::MAX` seconds saturate.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the scopes do not serialise (they always do).
    pub fn of(record: &ApiTokenRecord) -> Result<Self, StoreError> {
        Ok(ApiTokenColumns {
            id: record.id.clone(),
            owner: record.owner.as_str().to_owned(),
            name: record.name.clone(),
            scopes: serde_json::to_string(&record.scopes).map_err(StoreError::backend)?,
            display_prefix: record.display_prefix.clone(),
            hash: record.hash.to_hex(),
            created_at: record.created_at.as_secs_i64(),
            last_used_at: record.last_used_at.map(UnixTime::as_secs_i64),
            expires_at: record.expires_at.map(UnixTime::as_secs_i64),
            revoked_at: record.revoked_at.map(UnixTime::as_secs_i64),
        })
    }

    /// The record these columns hold.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] for scopes that are not a JSON array of strings, a hash that is
    /// not 64 hex digits, or a negative time (without the value).
    pub fn into_record(self) -> Result<ApiTokenRecord, StoreError> {
        let time = |secs| {
            UnixTime::from_secs_i64(secs)
                .ok_or_else(|| StoreError::corrupt(CorruptApiToken::NegativeTime))
        };
        Ok(ApiTokenRecord {
            id: self.id,
            owner: UserId::new(self.owner),
            name: self.name,
            // The serde error is not kept: it may quote the stored text.
            scopes: serde_json::from_str(&self.scopes)
                .map_err(|_| StoreError::corrupt(CorruptApiToken::Scopes))?,
            display_prefix: self.display_prefix,
            hash: TokenHash::from_hex(&self.hash)
                .ok_or_else(|| StoreError::corrupt(CorruptApiToken::Hash))?,
            created_at: time(self.created_at)?,
            last_used_at: self.last_used_at.map(time).transpose()?,
            expires_at: self.expires_at.map(time).transpose()?,
            revoked_at: self.revoked_at.map(time).transpose()?,
        })
    }

    /// The error for a column the engine cannot give as its type (a damaged row): a
    /// [`StoreError::Corrupt`] without the value.
    pub fn wrong_type() -> StoreError {
        StoreError::corrupt(CorruptApiToken::ColumnType)
    }
}
