//! API bearer tokens: made once and shown once, stored only as a keyed hash, checked on
//! `Authorization: Bearer`, with names, scopes, expiry, revocation and a per-user limit.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use session_auth::api_tokens::{ApiTokens, BearerError, MemoryApiTokenStore, NewApiToken};
//! use session_core::{Secret, UserId};
//!
//! let secret = Secret::from_bytes(vec![7; 32])?; // in production: Secret::from_default_env()
//! let tokens = ApiTokens::builder(&secret, MemoryApiTokenStore::new()).limit(20).build();
//!
//! let alice = UserId::new("alice");
//! let created = tokens.create(&alice, NewApiToken::named("CI deploy").scopes(["deploy"])).await?;
//! let text = created.secret.expose().to_owned(); // show it once: it is not stored
//! assert!(text.starts_with("sat_"));
//!
//! let bearer = tokens.authenticate(&text).await?;
//! assert_eq!(bearer.owner, alice);
//! assert!(bearer.allows("deploy") && !bearer.allows("admin"));
//!
//! tokens.revoke(&alice, &created.token.id).await?;
//! assert!(matches!(tokens.authenticate(&text).await, Err(BearerError::Revoked)));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # What is stored, and why
//!
//! A token is the prefix (`sat_` unless configured) and 43 base64url characters: 256 bits from
//! the operating system's generator. A store keeps its HMAC-SHA256 under a key derived from the
//! application's secret (HKDF label `api token hash`) and the first 6 characters after the
//! prefix, never the token: a leaked table cannot be checked offline without the secret, and a
//! leaked row presented as a token (its hash, its prefix) is refused. The seed app kept an
//! unsalted SHA-256 of a prefix-less hex token, so anyone with the table could test guesses.
//!
//! Checking a request: the `Authorization` header is read first ([`presented`]). A present but
//! malformed header, an unknown, revoked or expired token is a 401 with a
//! `WWW-Authenticate: Bearer` challenge ([`BearerError`]) and one INFO event with the reason,
//! never the token, and never a fall-back to the session cookie. Revocation and expiry are
//! checked before `last_used_at` is written, and that write happens at most once per
//! [`touch_interval`](ApiTokensBuilder::touch_interval) per token. The per-user limit is checked
//! by the store in the same atomic step as the insert.
//!
//! The seed app's tokens (64 hex characters, no prefix) keep working after
//! [`ApiTokens::import_legacy`] brings their rows over and
//! [`accept_seed_tokens`](ApiTokensBuilder::accept_seed_tokens) is on; their rows hold the HMAC
//! of the seed's SHA-256, not the SHA-256.

mod columns;
mod error;
mod header;
mod legacy;
mod memory;
mod secret;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use session_core::config::{Clock, Secret, SystemClock};
use session_core::{UnixTime, UserId};

pub use columns::{ApiTokenColumns, API_TOKEN_COLUMNS};
pub use error::{ApiTokenError, BearerError};
pub use header::{presented, MalformedHeader, Presented};
pub use legacy::{seed_hash, LegacyApiToken};
pub use memory::MemoryApiTokenStore;
pub use secret::{ApiTokenSecret, MalformedToken, TokenHash, MAX_PRESENTED_LEN};
pub use store::{ApiTokenRecord, ApiTokenStore, Inserted};

use secret::{valid_prefix, TokenFormat};

/// The token prefix unless [`ApiTokensBuilder::prefix`] sets another.
pub const DEFAULT_PREFIX: &str = "sat_";
/// Active tokens per user unless [`ApiTokensBuilder::limit`] sets another.
pub const DEFAULT_LIMIT: usize = 20;
/// How often `last_used_at` is written per token, unless
/// [`ApiTokensBuilder::touch_interval`] sets another.
pub const DEFAULT_TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// Longest token name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest scope, in bytes.
pub const MAX_SCOPE_LEN: usize = 64;
/// Most scopes on one token.
pub const MAX_SCOPES: usize = 32;

/// What a new token is for: its name, scopes and lifetime.
///
/// ```
/// use std::time::Duration;
/// use session_auth::api_tokens::NewApiToken;
/// let request = NewApiToken::named("nightly export")
///     .scopes(["reports:read"])
///     .expires_in(Duration::from_secs(30 * 24 * 3600));
/// # let _ = request;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    name: String,
    scopes: Vec<String>,
    expires_in: Option<Duration>,
}

impl NewApiToken {
    /// A token named `name`, with no scopes, that does not expire.
    pub fn named(name: impl Into<String>) -> Self {
        NewApiToken {
            name: name.into(),
            scopes: Vec::new(),
            expires_in: None,
        }
    }

    /// Its scopes (duplicates are dropped, order kept).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Makes it stop working `lifetime` after creation.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_in = Some(lifetime);
        self
    }

    pub(crate) fn checked(self) -> Result<NewApiToken, ApiTokenError> {
        let name = self.name.trim().to_owned();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_LEN
            || name.chars().any(char::is_control)
        {
            return Err(ApiTokenError::InvalidName);
        }
        let mut scopes: Vec<String> = Vec::with_capacity(self.scopes.len());
        for scope in self.scopes {
            let visible = scope.bytes().all(|b| b.is_ascii_graphic());
            if scope.is_empty() || scope.len() > MAX_SCOPE_LEN || !visible {
                return Err(ApiTokenError::InvalidScope);
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.len() > MAX_SCOPES {
            return Err(ApiTokenError::InvalidScope);
        }
        if self.expires_in.is_some_and(|d| d.as_secs() == 0) {
            return Err(ApiTokenError::InvalidExpiry);
        }
        Ok(NewApiToken {
            name,
            scopes,
            expires_in: self.expires_in,
        })
    }
}

/// A token as its owner sees it in a list: everything but its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiTokenInfo {
    /// Its public id, for [`ApiTokens::revoke`].
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// The prefix and first characters of the token (`sat_Ab12Cd`).
    pub display_prefix: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last authenticated a request (to within the touch interval).
    pub last_used_at: Option<UnixTime>,
    /// When it stops working, if it expires.
    pub expires_at: Option<UnixTime>,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
}

impl ApiTokenInfo {
    /// Whether it still authenticates at `now`.
    pub fn is_active(&self, now: UnixTime) -> bool {
        store::is_active(self.revoked_at, self.expires_at, now)
    }
}

impl From<&ApiTokenRecord> for ApiTokenInfo {
    fn from(record: &ApiTokenRecord) -> Self {
        ApiTokenInfo {
            id: record.id.clone(),
            name: record.name.clone(),
            scopes: record.scopes.clone(),
            display_prefix: record.display_prefix.clone(),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// A token just created: the secret, to show once, and what is stored of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreatedApiToken {
    /// The token in clear. It is not stored anywhere: show it now or never.
    pub secret: ApiTokenSecret,
    /// What lists will show of it.
    pub token: ApiTokenInfo,
}

/// A request authenticated by an API token: who, and with what token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BearerToken {
    /// The user the token acts for.
    pub owner: UserId,
    /// The token's id.
    pub id: String,
    /// The token's name.
    pub name: String,
    /// The token's scopes.
    pub scopes: Vec<String>,
    /// When it stops working, if it expires.
    pub expires_at: Option<UnixTime>,
}

impl BearerToken {
    /// Whether the token carries `scope`.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Builds [`ApiTokens`]; see [`ApiTokens::builder`].
#[derive(Debug)]
#[must_use]
pub struct ApiTokensBuilder(Inner);

/// Why [`ApiTokensBuilder::prefix`] refused a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an API token prefix is 2 to 16 characters: a lowercase letter, lowercase letters or digits, \
     and a final `_`"
)]
pub struct InvalidPrefix;

impl ApiTokensBuilder {
    /// Another token prefix: 2 to 16 characters, a lowercase letter first, lowercase letters
    /// and digits, ending with `_` (`myapp_`). Register it with your secret scanner.
    ///
    /// ```
    /// use session_auth::api_tokens::{ApiTokens, MemoryApiTokenStore};
    /// use session_core::Secret;
    /// let secret = Secret::from_bytes(vec![7; 32])?;
    /// let tokens = ApiTokens::builder(&secret, MemoryApiTokenStore::new()).prefix("myapp_")?.build();
    /// assert!(ApiTokens::builder(&secret, MemoryApiTokenStore::new()).prefix("My-App").is_err());
    /// # let _ = tokens;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Result<Self, InvalidPrefix> {
        if !valid_prefix(prefix) {
            return Err(InvalidPrefix);
        }
        self.0.format = self.0.format.with_prefix(prefix.to_owned());
        Ok(self)
    }

    /// At most `limit` active (not revoked, not expired) tokens per user; creating one more is
    /// [`ApiTokenError::LimitReached`]. Default [`DEFAULT_LIMIT`].
    pub fn limit(mut self, limit: usize) -> Self {
        self.0.limit = limit;
        self
    }

    /// Writes a token's `last_used_at` at most once per `interval` (default
    /// [`DEFAULT_TOUCH_INTERVAL`]), so a busy API client does not turn every request into a
    /// store write.
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.0.touch_interval = interval;
        self
    }

    /// Reads "now" from `clock` (tests, demos with a movable clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.0.clock = clock;
        self
    }

    /// Also accepts the seed app's prefix-less tokens (64 lowercase hex characters) whose rows
    /// were brought over with [`ApiTokens::import_legacy`], so its API clients keep working
    /// while they move to new tokens. Off by default: without it such a token is refused as
    /// `wrong_prefix`.
    pub fn accept_seed_tokens(mut self, accept: bool) -> Self {
        self.0.accept_seed_tokens = accept;
        self
    }

    /// The configured tokens.
    pub fn build(self) -> ApiTokens {
        ApiTokens(Arc::new(self.0))
    }
}

/// An application's API tokens: create, list, revoke, and authenticate bearer requests.
///
/// Cheap to clone (one `Arc`). Give it to the framework as the adapters' docs say
/// (`session_adapters::Auth`), which then reads `Authorization: Bearer` before the session
/// cookie.
#[derive(Clone)]
pub struct ApiTokens(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    format: TokenFormat,
    store: Arc<dyn ApiTokenStore>,
    limit: usize,
    touch_interval: Duration,
    clock: Arc<dyn Clock>,
    accept_seed_tokens: bool,
}

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokens")
            .field("prefix", &self.0.format.prefix())
            .field("store", &self.0.store)
            .field("limit", &self.0.limit)
            .field("touch_interval", &self.0.touch_interval)
            .field("accept_seed_tokens", &self.0.accept_seed_tokens)
            .finish_non_exhaustive()
    }
}

impl ApiTokens {
    /// Tokens hashed under a key derived from `secret`, kept in `store`.
    pub fn builder(secret: &Secret, store: impl ApiTokenStore) -> ApiTokensBuilder {
        ApiTokensBuilder(Inner {
            format: TokenFormat::new(secret, DEFAULT_PREFIX.to_owned()),
            store: Arc::new(store),
            limit: DEFAULT_LIMIT,
            touch_interval: DEFAULT_TOUCH_INTERVAL,
            clock: Arc::new(SystemClock),
            accept_seed_tokens: false,
        })
    }

    /// The store the tokens are kept in.
    pub fn store(&self) -> &Arc<dyn ApiTokenStore> {
        &self.0.store
    }

    /// The prefix every token of this application starts with.
    pub fn prefix(&self) -> &str {
        self.0.format.prefix()
    }

    fn now(&self) -> UnixTime {
        self.0.clock.now()
    }

    /// Makes a token for `owner`. The returned [`CreatedApiToken::secret`] is the only copy of
    /// the token: show it to the user once.
    ///
    /// # Errors
    ///
    /// A bad name, scope or expiry (400), the limit reached (409), a store failure.
    pub async fn create(
        &self,
        owner: &UserId,
        request: NewApiToken,
    ) -> Result<CreatedApiToken, ApiTokenError> {
        let request = request.checked()?;
        let now = self.now();
        let (secret, hash, display_prefix) = self
            .0
            .format
            .generate()
            .map_err(|_| ApiTokenError::Randomness)?;
        let record = ApiTokenRecord {
            id: new_id()?,
            owner: owner.clone(),
            name: request.name,
            scopes: request.scopes,
            display_prefix,
            hash,
            created_at: now,
            last_used_at: None,
            expires_at: request.expires_in.map(|lifetime| now + lifetime),
            revoked_at: None,
        };
        match self.0.store.insert(&record, self.0.limit, now).await? {
            Inserted::Stored => {
                tracing::info!(target: "session_auth", user = owner.as_str(), token_id = %record.id, "API token created");
                Ok(CreatedApiToken {
                    secret,
                    token: ApiTokenInfo::from(&record),
                })
            }
            Inserted::LimitReached => Err(ApiTokenError::LimitReached {
                limit: self.0.limit,
            }),
        }
    }

    /// `owner`'s tokens, oldest first, revoked and expired ones included; no secrets.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenInfo>, ApiTokenError> {
        let rows = self.0.store.list(owner).await?;
        Ok(rows.iter().map(ApiTokenInfo::from).collect())
    }

    /// Revokes `owner`'s token `id`: from now on it is refused. `false` if `owner` has no
    /// such active token (another user's token id changes nothing).
    ///
    /// # Errors
    ///
    /// A store failure.
    pub async fn revoke(&self, owner: &UserId, id: &str) -> Result<bool, ApiTokenError> {
        let revoked = self.0.store.revoke(owner, id, self.now()).await?;
        if revoked {
            tracing::info!(target: "session_auth", user = owner.as_str(), token_id = id, "API token revoked");
        }
        Ok(revoked)
    }

    /// Revokes every token of `owner` (with "log out everywhere", so a stolen token goes with
    /// the sessions); how many.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub async fn revoke_all(&self, owner: &UserId) -> Result<u64, ApiTokenError> {
        let count = self.0.store.revoke_all(owner, self.now()).await?;
        tracing::info!(target: "session_auth", user = owner.as_str(), count, "API tokens revoked");
        Ok(count)
    }

    /// The token behind a request's `Authorization` headers (every value the request has):
    /// `Ok(None)` without the header, so the request can fall back to its session cookie.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # use session_auth::api_tokens::{ApiTokens, MemoryApiTokenStore, BearerError};
    /// # let tokens = ApiTokens::builder(&session_core::Secret::from_bytes(vec![7; 32])?, MemoryApiTokenStore::new()).build();
    /// assert!(tokens.authenticate_headers([]).await?.is_none());
    /// let refused = tokens.authenticate_headers([&b"Basic YTpi"[..]]).await.unwrap_err();
    /// assert_eq!((refused.status_code(), refused.reason()), (401, "other_scheme"));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`authenticate`](Self::authenticate), and [`BearerError::Header`] for a malformed or
    /// repeated header. Each refusal is logged.
    pub async fn authenticate_headers<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<BearerToken>, BearerError> {
        match presented(values) {
            Presented::Nothing => Ok(None),
            Presented::Bearer(token) => self.authenticate(token).await.map(Some),
            Presented::Malformed(why) => Err(refused(BearerError::Header(why), None)),
        }
    }

    /// The token `presented` (the credential of `Authorization: Bearer <presented>`).
    ///
    /// # Errors
    ///
    /// [`BearerError`]: malformed, unknown, revoked, expired (each logged at INFO with its
    /// reason, never the token), or the store unavailable (WARN, 503).
    pub async fn authenticate(&self, presented: &str) -> Result<BearerToken, BearerError> {
        let hash = match self.0.format.check(presented) {
            Ok(hash) => hash,
            Err(MalformedToken::WrongPrefix) if self.0.accept_seed_tokens => {
                match self.0.format.check_legacy(presented) {
                    Some(hash) => hash,
                    None => {
                        let why = MalformedToken::WrongPrefix;
                        return Err(refused(BearerError::Malformed(why), None));
                    }
                }
            }
            Err(why) => return Err(refused(BearerError::Malformed(why), None)),
        };
        let record = match self.0.store.find(&hash).await {
            Ok(Some(record)) if record.hash.matches(&hash) => record,
            Ok(_) => return Err(refused(BearerError::Unknown, None)),
            Err(error) => return Err(refused(BearerError::Unavailable(error), None)),
        };
        let now = self.now();
        if record.revoked_at.is_some() {
            return Err(refused(BearerError::Revoked, Some(&record.id)));
        }
        if record.expires_at.is_some_and(|at| now >= at) {
            return Err(refused(BearerError::Expired, Some(&record.id)));
        }
        self.touch(&record, now).await;
        Ok(BearerToken {
            owner: record.owner,
            id: record.id,
            name: record.name,
            scopes: record.scopes,
            expires_at: record.expires_at,
        })
    }

    /// Records the use, at most once per touch interval; a failed write is logged, not fatal
    /// (the token was valid).
    async fn touch(&self, record: &ApiTokenRecord, now: UnixTime) {
        let due = record
            .last_used_at
            .is_none_or(|at| now.saturating_duration_since(at) >= self.0.touch_interval);
        if !due {
            return;
        }
        if let Err(error) = self.0.store.touch(&record.id, now).await {
            tracing::warn!(target: "session_auth", token_id = %record.id, %error, "recording an API token's use failed");
        }
    }
}

/// A new token id: 12 random bytes as 24 hex characters.
fn new_id() -> Result<String, ApiTokenError> {
    let mut id = [0u8; 12];
    getrandom::fill(&mut id).map_err(|_| ApiTokenError::Randomness)?;
    Ok(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// Logs a refusal once, with its reason and, for a known token, its id; never the token.
fn refused(error: BearerError, token_id: Option<&str>) -> BearerError {
    match &error {
        BearerError::Unavailable(source) => {
            tracing::warn!(target: "session_auth", reason = error.reason(), error = %source, "bearer token could not be checked");
        }
        _ => {
            tracing::info!(target: "session_auth", reason = error.reason(), token_id, "bearer token refused");
        }
    }
    error
}
