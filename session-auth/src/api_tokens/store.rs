//! Where API tokens are kept: the [`ApiTokenStore`] trait and what one row holds
//! ([`ApiTokenRecord`]).

use std::fmt;

use async_trait::async_trait;
use session_core::store::StoreError;
use session_core::{UnixTime, UserId};

use super::secret::TokenHash;

/// One API token as stored: everything but the token itself, of which only the keyed
/// [`TokenHash`] and a short display prefix are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// The token's public id (24 hex characters): what lists show and revocation names.
    pub id: String,
    /// The user the token acts for.
    pub owner: UserId,
    /// The name its owner gave it ("CI deploy").
    pub name: String,
    /// What it may do: free-form strings the application checks
    /// ([`BearerToken::allows`](super::BearerToken::allows)).
    pub scopes: Vec<String>,
    /// The prefix and the first characters of the token (`sat_Ab12Cd`), to recognise it by.
    pub display_prefix: String,
    /// The keyed hash of the whole token; stores find tokens by it.
    pub hash: TokenHash,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last authenticated a request (written at most once per touch interval).
    pub last_used_at: Option<UnixTime>,
    /// When it stops working, if it expires.
    pub expires_at: Option<UnixTime>,
    /// When it was revoked; revoked rows are kept so lists can show them.
    pub revoked_at: Option<UnixTime>,
}

impl ApiTokenRecord {
    /// Whether the token still authenticates at `now`: not revoked and not expired.
    ///
    /// ```
    /// # use session_auth::api_tokens::{ApiTokenRecord, TokenHash};
    /// # use session_core::{UnixTime, UserId};
    /// # let mut record = ApiTokenRecord {
    /// #     id: "00".repeat(12), owner: UserId::new("alice"), name: "ci".into(), scopes: vec![],
    /// #     display_prefix: "sat_abcdef".into(), hash: TokenHash::from_bytes([1; 32]),
    /// #     created_at: UnixTime::from_secs(100), last_used_at: None, expires_at: None, revoked_at: None,
    /// # };
    /// record.expires_at = Some(UnixTime::from_secs(200));
    /// assert!(record.is_active(UnixTime::from_secs(199)));
    /// assert!(!record.is_active(UnixTime::from_secs(200)), "an expiry is the first second it fails");
    /// ```
    pub fn is_active(&self, now: UnixTime) -> bool {
        is_active(self.revoked_at, self.expires_at, now)
    }
}

/// Not revoked, and not past its expiry (the expiry is the first second it fails).
pub(crate) fn is_active(
    revoked_at: Option<UnixTime>,
    expires_at: Option<UnixTime>,
    now: UnixTime,
) -> bool {
    revoked_at.is_none() && expires_at.is_none_or(|at| now < at)
}

/// What [`ApiTokenStore::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Inserted {
    /// The row is stored.
    Stored,
    /// The owner already has `limit` active tokens: nothing was stored.
    LimitReached,
}

/// Where [`ApiTokens`](super::ApiTokens) keeps its tokens.
///
/// Rows are found by [`TokenHash`] (unique) and by id (unique); owners and names are arbitrary
/// text. Revocation keeps the row with `revoked_at` set. Implementations answer engine failures
/// with the [`StoreError`] variants the session stores use. Every implementation passes
/// [`api_token_store_conformance!`](crate::api_token_store_conformance) (feature `testing`).
#[async_trait]
pub trait ApiTokenStore: Send + Sync + fmt::Debug + 'static {
    /// Stores `record` unless its owner already has `limit` tokens active at `now`
    /// ([`ApiTokenRecord::is_active`]); the count and the write are one atomic step, so
    /// concurrent creations cannot pass the limit together.
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError>;

    /// The row whose hash is `hash`, revoked and expired ones included.
    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError>;

    /// Every row of `owner`, oldest first (by `created_at`, then id).
    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError>;

    /// Sets the row's `last_used_at` to `at` unless it is already later; a missing row is not
    /// an error.
    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError>;

    /// Sets `revoked_at` on `owner`'s token `id` if it is not revoked yet; whether it did
    /// (false for another owner's token, a missing one, or one already revoked).
    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError>;

    /// Revokes every token of `owner` not revoked yet; how many.
    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError>;
}

#[async_trait]
impl<T: ApiTokenStore + ?Sized> ApiTokenStore for std::sync::Arc<T> {
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError> {
        (**self).insert(record, limit, now).await
    }
    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        (**self).find(hash).await
    }
    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        (**self).list(owner).await
    }
    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError> {
        (**self).touch(id, at).await
    }
    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError> {
        (**self).revoke(owner, id, at).await
    }
    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError> {
        (**self).revoke_all(owner, at).await
    }
}
