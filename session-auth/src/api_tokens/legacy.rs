//! The seed app's API tokens: 32 random bytes as 64 lowercase hex characters, stored as the
//! unsalted SHA-256 (hex) of that text plus its first 8 characters. Imported rows keep working
//! for the clients that hold those tokens, without the table ever holding a hash that can be
//! checked offline again.

use session_core::{UnixTime, UserId};

use super::secret::{is_lower_hex, TokenHash};
use super::store::{ApiTokenRecord, Inserted};
use super::{ApiTokenError, ApiTokenInfo, ApiTokens};

/// One row of the seed app's API-token table, as read from it.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyApiToken {
    /// The user the token acts for.
    pub owner: UserId,
    /// Its name.
    pub name: String,
    /// The stored SHA-256 of the token text, 64 hex characters.
    pub token_hash: String,
    /// The stored first 8 characters of the token.
    pub token_prefix: String,
    /// Scopes to give it (the seed app had none).
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was last used.
    pub last_used_at: Option<UnixTime>,
    /// When it expires, if it does.
    pub expires_at: Option<UnixTime>,
}

impl std::fmt::Debug for LegacyApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The seed's hash can be checked offline: keep it out of logs.
        f.debug_struct("LegacyApiToken")
            .field("owner", &self.owner)
            .field("name", &self.name)
            .field("token_prefix", &self.token_prefix)
            .finish_non_exhaustive()
    }
}

impl ApiTokens {
    /// Imports one row of the seed app's token table: from now on the token it was made from
    /// authenticates here (with [`accept_seed_tokens`](super::ApiTokensBuilder::accept_seed_tokens)),
    /// while the store keeps only the HMAC of the seed's digest under this application's key.
    /// Delete the seed's table after the import: its unsalted digests are what this replaces.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_auth::api_tokens::{seed_hash, ApiTokens, LegacyApiToken, MemoryApiTokenStore};
    /// use session_core::{Secret, UnixTime, UserId};
    ///
    /// let secret = Secret::from_bytes(vec![7; 32])?;
    /// let tokens = ApiTokens::builder(&secret, MemoryApiTokenStore::new())
    ///     .accept_seed_tokens(true)
    ///     .build();
    /// // A client of the seed app holds this token; the seed's table holds its digest.
    /// let token = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    /// let row = LegacyApiToken {
    ///     owner: UserId::new("alice"),
    ///     name: "old CLI".into(),
    ///     token_hash: seed_hash(token), // in an import: the row's hash column
    ///     token_prefix: token[..8].into(),
    ///     scopes: vec![],
    ///     created_at: UnixTime::from_secs(1_700_000_000),
    ///     last_used_at: None,
    ///     expires_at: None,
    /// };
    /// tokens.import_legacy(&row).await?;
    /// assert_eq!(tokens.authenticate(token).await?.owner, UserId::new("alice"));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`ApiTokenError::InvalidSeedRow`] for a hash that is not 64 hex characters or a prefix
    /// that is not 8 lowercase hex characters; a bad name or scope as for
    /// [`create`](Self::create); a store failure. A row imported twice is a store collision.
    pub async fn import_legacy(&self, row: &LegacyApiToken) -> Result<ApiTokenInfo, ApiTokenError> {
        // The digest is 32 bytes in hex, as a `TokenHash` is written.
        let digest = TokenHash::from_hex(&row.token_hash).ok_or(ApiTokenError::InvalidSeedRow)?;
        if row.token_prefix.len() != 8 || !is_lower_hex(&row.token_prefix) {
            return Err(ApiTokenError::InvalidSeedRow);
        }
        let checked = super::NewApiToken::named(row.name.clone())
            .scopes(row.scopes.clone())
            .checked()?;
        let record = ApiTokenRecord {
            id: super::new_id()?,
            owner: row.owner.clone(),
            name: checked.name,
            scopes: checked.scopes,
            display_prefix: row.token_prefix.clone(),
            hash: self.0.format.legacy_hash(digest.as_bytes()),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            revoked_at: None,
        };
        match self.0.store.insert(&record, usize::MAX, self.now()).await? {
            Inserted::Stored => Ok(ApiTokenInfo::from(&record)),
            Inserted::LimitReached => Err(ApiTokenError::LimitReached { limit: usize::MAX }),
        }
    }
}

/// The seed app's stored digest of `token`: SHA-256 of the token text, lowercase hex (for
/// tests and import scripts that start from a token).
pub fn seed_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    TokenHash::from_bytes(Sha256::digest(token.as_bytes()).into()).to_hex()
}
