//! Provider tokens at rest: the [`TokenStore`] trait the vault keeps them in, what one row holds
//! ([`StoredGrant`]), and the in-memory store.
//!
//! A store never sees a token in clear: the [`TokenVault`](crate::TokenVault) seals access and
//! refresh tokens before they reach it and opens them after, so a store only keeps text. What a
//! store must get right is the version: [`TokenStore::replace`] is a compare-and-set, and that is
//! what keeps two app nodes refreshing the same rotating refresh token from logging the user out.
//!
//! Every store passes the exported suite, [`token_store_conformance!`](crate::token_store_conformance)
//! (feature `testing`).

mod columns;
mod memory;

use std::fmt;

use async_trait::async_trait;
use session_core::store::StoreError;
use session_core::{UnixTime, UserId};

pub use columns::{GrantColumns, GRANT_COLUMNS};
pub use memory::MemoryTokenStore;

/// A token as the vault sealed it (`v1.<kid>.<nonce>.<ciphertext>`): safe to store, useless
/// without the vault's key, and bound to its owner, provider and kind.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken(String);

impl SealedToken {
    /// Wraps sealed text read back from a store.
    pub fn new(sealed: impl Into<String>) -> Self {
        SealedToken(sealed.into())
    }

    /// The sealed text, as a store keeps it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedToken({} bytes)", self.0.len())
    }
}

/// Whether a stored grant can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantState {
    /// The tokens are usable (or refreshable).
    Active,
    /// The provider refused the refresh token (`invalid_grant`): the user has to sign in with
    /// this provider again. Kept, not deleted, so the application can say so.
    Disconnected,
}

impl GrantState {
    /// The state as stored: `"active"` or `"disconnected"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Active => "active",
            GrantState::Disconnected => "disconnected",
        }
    }

    /// The state read back from a store; `None` for anything else.
    pub fn parse(text: &str) -> Option<GrantState> {
        match text {
            "active" => Some(GrantState::Active),
            "disconnected" => Some(GrantState::Disconnected),
            _ => None,
        }
    }
}

/// One (owner, provider) row: the sealed tokens, their times, and the version the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    /// The provider's id for the account (GitHub's numeric user id, Vercel's `sub`).
    pub account: String,
    /// The sealed access token.
    pub access_token: SealedToken,
    /// The sealed refresh token, when the provider gave one.
    pub refresh_token: Option<SealedToken>,
    /// When the access token stops working; `None` when the provider does not say and the token
    /// does not expire (a GitHub OAuth app's `gho_` token).
    pub expires_at: Option<UnixTime>,
    /// When the tokens were obtained (the code exchange or the last refresh).
    pub obtained_at: UnixTime,
    /// The scopes the provider granted, as it wrote them.
    pub scope: Option<String>,
    /// Usable, or refused by the provider.
    pub state: GrantState,
    /// Set by the store: 1 for a new row, one more on every write. What callers send is ignored
    /// by [`TokenStore::put`] and [`TokenStore::replace`].
    pub version: u64,
}

/// Where the [`TokenVault`](crate::TokenVault) keeps provider tokens, one row per (owner,
/// provider).
///
/// Owners and providers are arbitrary text (any characters, separators included): two
/// different pairs never share a row. Implementations answer engine failures with the
/// [`StoreError`] variants the session stores use, so a store crate maps its errors once.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use session_auth::tokens::{GrantState, MemoryTokenStore, SealedToken, StoredGrant, TokenStore};
/// use session_core::{UnixTime, UserId};
///
/// let store = MemoryTokenStore::new();
/// let alice = UserId::new("alice");
/// let grant = StoredGrant {
///     account: "583231".into(),
///     access_token: SealedToken::new("v1.kid.nonce.ciphertext"),
///     refresh_token: None,
///     expires_at: None,
///     obtained_at: UnixTime::from_secs(1_700_000_000),
///     scope: Some("read:user".into()),
///     state: GrantState::Active,
///     version: 0,
/// };
/// let v1 = store.put(&alice, "github", &grant).await?;
/// assert_eq!(v1, 1);
/// // A compare-and-set against the version read:
/// assert_eq!(store.replace(&alice, "github", v1, &grant).await?, Some(2));
/// assert_eq!(store.replace(&alice, "github", v1, &grant).await?, None, "v1 is gone");
/// # Ok::<(), session_core::store::StoreError>(()) }).unwrap();
/// ```
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The row for (`owner`, `provider`), if there is one.
    async fn get(&self, owner: &UserId, provider: &str) -> Result<Option<StoredGrant>, StoreError>;

    /// Stores `grant` for (`owner`, `provider`) whatever was there (a fresh sign-in), and
    /// returns its version: 1 for a new row, the old version + 1 otherwise.
    async fn put(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<u64, StoreError>;

    /// Replaces the row only if its version is `expected`, and returns the new version; `None`
    /// (and nothing written) when the row has another version or does not exist.
    async fn replace(
        &self,
        owner: &UserId,
        provider: &str,
        expected: u64,
        grant: &StoredGrant,
    ) -> Result<Option<u64>, StoreError>;

    /// Removes the row; whether there was one.
    async fn delete(&self, owner: &UserId, provider: &str) -> Result<bool, StoreError>;

    /// Every row of `owner`, by provider name in byte order.
    async fn list(&self, owner: &UserId) -> Result<Vec<(String, StoredGrant)>, StoreError>;
}

#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for std::sync::Arc<T> {
    async fn get(&self, owner: &UserId, provider: &str) -> Result<Option<StoredGrant>, StoreError> {
        (**self).get(owner, provider).await
    }
    async fn put(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<u64, StoreError> {
        (**self).put(owner, provider, grant).await
    }
    async fn replace(
        &self,
        owner: &UserId,
        provider: &str,
        expected: u64,
        grant: &StoredGrant,
    ) -> Result<Option<u64>, StoreError> {
        (**self).replace(owner, provider, expected, grant).await
    }
    async fn delete(&self, owner: &UserId, provider: &str) -> Result<bool, StoreError> {
        (**self).delete(owner, provider).await
    }
    async fn list(&self, owner: &UserId) -> Result<Vec<(String, StoredGrant)>, StoreError> {
        (**self).list(owner).await
    }
}
