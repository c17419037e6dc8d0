//! A grant as the columns of a SQL row ([`GrantColumns`]), shared by the SQL token stores
//! (SQLite, PostgreSQL): the plain values they bind when writing, and the check that turns what
//! they read back into a [`StoredGrant`] or a typed `Corrupt` error.

use std::fmt;

use session_core::store::StoreError;
use session_core::UnixTime;

use super::{GrantState, SealedToken, StoredGrant};

/// The column names, in the order [`GrantColumns`] lists its fields, for `SELECT` lists.
pub const GRANT_COLUMNS: &str =
    "account, access_token, refresh_token, expires_at, obtained_at, scope, state, version";

/// One grant as SQL columns: texts, and signed 64-bit integers for the times (Unix seconds) and
/// the version, as SQLite and PostgreSQL store them. `Debug` leaves the sealed tokens out.
///
/// ```
/// use session_auth::tokens::{GrantColumns, GrantState, SealedToken, StoredGrant};
/// use session_core::UnixTime;
/// let grant = StoredGrant {
///     account: "42".into(),
///     access_token: SealedToken::new("v1.k.n.c"),
///     refresh_token: None,
///     expires_at: Some(UnixTime::from_secs(1_700_003_600)),
///     obtained_at: UnixTime::from_secs(1_700_000_000),
///     scope: Some("read:user".into()),
///     state: GrantState::Active,
///     version: 3,
/// };
/// let columns = GrantColumns::of(&grant);
/// assert_eq!(columns.state, "active");
/// assert_eq!(columns.into_grant()?, grant);
/// # Ok::<(), session_core::store::StoreError>(())
/// ```
pub struct GrantColumns {
    /// `account`.
    pub account: String,
    /// `access_token`, sealed.
    pub access_token: String,
    /// `refresh_token`, sealed, or `NULL`.
    pub refresh_token: Option<String>,
    /// `expires_at`, or `NULL` for a token that does not expire.
    pub expires_at: Option<i64>,
    /// `obtained_at`.
    pub obtained_at: i64,
    /// `scope`, or `NULL`.
    pub scope: Option<String>,
    /// `state`: [`GrantState::as_str`].
    pub state: String,
    /// `version` (stores set it themselves when writing).
    pub version: i64,
}

impl fmt::Debug for GrantColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantColumns")
            .field("account", &self.account)
            .field("state", &self.state)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Why a stored row could not be read back: the source of a [`StoreError::Corrupt`]. Never
/// quotes what is stored.
#[derive(Debug, thiserror::Error)]
enum CorruptGrant {
    #[error("the stored token grant has an unknown state")]
    UnknownState,
    #[error("the stored token grant has a negative time")]
    NegativeTime,
    #[error("a column of the stored token grant has the wrong type")]
    ColumnType,
}

impl GrantColumns {
    /// The columns of `grant`. Times past `i64::MAX` seconds saturate; the version is
    /// reinterpreted bit for bit (versions are only compared for equality).
    pub fn of(grant: &StoredGrant) -> Self {
        GrantColumns {
            account: grant.account.clone(),
            access_token: grant.access_token.as_str().to_owned(),
            refresh_token: grant.refresh_token.as_ref().map(|t| t.as_str().to_owned()),
            expires_at: grant.expires_at.map(UnixTime::as_secs_i64),
            obtained_at: grant.obtained_at.as_secs_i64(),
            scope: grant.scope.clone(),
            state: grant.state.as_str().to_owned(),
            version: grant.version as i64,
        }
    }

    /// The grant these columns hold.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] for an unknown state or a negative time (without the value).
    pub fn into_grant(self) -> Result<StoredGrant, StoreError> {
        let time = |secs| {
            UnixTime::from_secs_i64(secs)
                .ok_or_else(|| StoreError::corrupt(CorruptGrant::NegativeTime))
        };
        Ok(StoredGrant {
            account: self.account,
            access_token: SealedToken::new(self.access_token),
            refresh_token: self.refresh_token.map(SealedToken::new),
            expires_at: self.expires_at.map(time).transpose()?,
            obtained_at: time(self.obtained_at)?,
            scope: self.scope,
            state: GrantState::parse(&self.state)
                .ok_or_else(|| StoreError::corrupt(CorruptGrant::UnknownState))?,
            // The inverse of `of`.
            version: self.version as u64,
        })
    }

    /// The error for a column the engine cannot give as its type (a damaged row): a
    /// [`StoreError::Corrupt`] without the value.
    pub fn wrong_type() -> StoreError {
        StoreError::corrupt(CorruptGrant::ColumnType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(state: &str, obtained_at: i64) -> GrantColumns {
        GrantColumns {
            account: "a".into(),
            access_token: "t".into(),
            refresh_token: None,
            expires_at: None,
            obtained_at,
            scope: None,
            state: state.into(),
            version: 1,
        }
    }

    #[test]
    fn damaged_rows_are_corrupt_without_the_value() {
        for bad in [columns("revoked-ish", 0), columns("active", -1)] {
            let err = bad.into_grant().expect_err("a damaged row");
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
            assert!(!format!("{err:?}").contains("revoked-ish"));
        }
        assert!(matches!(
            GrantColumns::wrong_type(),
            StoreError::Corrupt { .. }
        ));
        assert!(columns("disconnected", 0).into_grant().is_ok());
    }
}
