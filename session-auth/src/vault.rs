//! [`TokenVault`]: provider tokens sealed before they reach a [`TokenStore`], opened after, and
//! refreshed when less than a minute is left, one refresh at a time per user and provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use session_core::codec::Sealer;
use session_core::config::{Clock, SystemClock};
use session_core::{UnixTime, UserId};

use crate::error::{ProviderError, SignInAgain, TokenError};
use crate::secret_text::{AccessToken, RefreshToken};
use crate::tokens::{GrantState, SealedToken, StoredGrant, TokenStore};

/// Refresh when less than this is left of an access token's life.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// What a refresh needs: the HTTP client and the provider's setup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refresher<'a> {
    pub(crate) http: &'a crate::http::Http,
    pub(crate) provider: &'a crate::provider::Provider,
}

/// Tokens in clear, as a provider handed them out.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, if the provider gives them.
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires (`None`: it does not).
    pub expires_at: Option<UnixTime>,
    /// When the provider issued them.
    pub obtained_at: UnixTime,
    /// The granted scopes.
    pub scope: Option<String>,
}

/// What is known about a stored grant, without its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantInfo {
    /// The provider's name.
    pub provider: String,
    /// The provider's account id.
    pub account: String,
    /// When the access token expires.
    pub expires_at: Option<UnixTime>,
    /// When the tokens were obtained or last refreshed.
    pub obtained_at: UnixTime,
    /// The granted scopes.
    pub scope: Option<String>,
    /// Usable, or disconnected by the provider.
    pub state: GrantState,
    /// Whether a refresh token is kept.
    pub refreshable: bool,
    /// The row's version: one more on every refresh.
    pub version: u64,
}

/// Keeps provider tokens sealed at rest (AES-256-GCM under the vault's key, bound to the owner,
/// the provider and whether it is the access or the refresh token) and hands out usable access
/// tokens.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use session_auth::{tokens::MemoryTokenStore, AccessToken, TokenSet, TokenVault};
/// use session_core::{codec::Sealer, Secret, UnixTime, UserId};
///
/// let sealer = Sealer::new(&Secret::from_bytes(vec![1; 32])?);
/// let vault = TokenVault::new(MemoryTokenStore::new(), sealer);
/// let alice = UserId::new("alice");
/// vault.store(&alice, "github", "583231", &TokenSet {
///     access_token: AccessToken::new("gho_example"),
///     refresh_token: None,
///     expires_at: None,
///     obtained_at: UnixTime::now(),
///     scope: Some("read:user".into()),
/// }).await?;
/// let info = vault.info(&alice, "github").await?.expect("stored");
/// assert_eq!(info.account, "583231");
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TokenVault {
    store: Arc<dyn TokenStore>,
    sealer: Sealer,
    clock: Arc<dyn Clock>,
    /// One lock per (owner, provider) being refreshed in this process.
    flights: Mutex<HashMap<(String, String), Flight>>,
}

/// The turn one (owner, provider) refresh takes.
type Flight = Arc<tokio::sync::Mutex<()>>;

enum Kind {
    Access,
    Refresh,
}

/// The associated data a token is sealed with: owner and provider length-prefixed, so no
/// choice of names makes two pairs alike.
fn aad(owner: &UserId, provider: &str, kind: Kind) -> Vec<u8> {
    let kind = match kind {
        Kind::Access => "access",
        Kind::Refresh => "refresh",
    };
    let owner = owner.as_str();
    format!(
        "session-auth token\0{}:{owner}\0{}:{provider}\0{kind}",
        owner.len(),
        provider.len()
    )
    .into_bytes()
}

impl TokenVault {
    /// A vault keeping tokens in `store`, sealed by `sealer`.
    pub fn new(store: impl TokenStore, sealer: Sealer) -> Self {
        TokenVault {
            store: Arc::new(store),
            sealer,
            clock: Arc::new(SystemClock),
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Reads "now" from `clock` (tests; the demo shares its stand-in provider's clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store behind the vault.
    pub fn token_store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn seal(
        &self,
        owner: &UserId,
        provider: &str,
        account: &str,
        tokens: &TokenSet,
    ) -> Result<StoredGrant, TokenError> {
        let access = self
            .sealer
            .seal(
                tokens.access_token.secret().as_bytes(),
                &aad(owner, provider, Kind::Access),
            )
            .map_err(|_| TokenError::Seal)?;
        let refresh = match &tokens.refresh_token {
            Some(t) => Some(SealedToken::new(
                self.sealer
                    .seal(t.secret().as_bytes(), &aad(owner, provider, Kind::Refresh))
                    .map_err(|_| TokenError::Seal)?,
            )),
            None => None,
        };
        Ok(StoredGrant {
            account: account.to_owned(),
            access_token: SealedToken::new(access),
            refresh_token: refresh,
            expires_at: tokens.expires_at,
            obtained_at: tokens.obtained_at,
            scope: tokens.scope.clone(),
            state: GrantState::Active,
            version: 0,
        })
    }

    fn open(
        &self,
        owner: &UserId,
        provider: &str,
        sealed: &SealedToken,
        kind: Kind,
    ) -> Result<String, TokenError> {
        let bytes = self
            .sealer
            .open(sealed.as_str(), &aad(owner, provider, kind))
            .map_err(|reason| {
                tracing::warn!(
                    target: "session_auth",
                    user = owner.as_str(), provider, %reason,
                    "a stored provider token does not open: not used"
                );
                TokenError::Unreadable
            })?;
        String::from_utf8(bytes).map_err(|_| TokenError::Unreadable)
    }

    /// Stores (or replaces) the tokens of `owner` at `provider`, sealed; returns the row's
    /// version.
    ///
    /// # Errors
    ///
    /// [`TokenError::Store`] when the store fails, [`TokenError::Seal`] when sealing does.
    pub async fn store(
        &self,
        owner: &UserId,
        provider: &str,
        account: &str,
        tokens: &TokenSet,
    ) -> Result<u64, TokenError> {
        let grant = self.seal(owner, provider, account, tokens)?;
        Ok(self.store.put(owner, provider, &grant).await?)
    }

    /// What is stored for `owner` at `provider`, without the tokens.
    ///
    /// # Errors
    ///
    /// [`TokenError::Store`] when the store fails.
    pub async fn info(
        &self,
        owner: &UserId,
        provider: &str,
    ) -> Result<Option<GrantInfo>, TokenError> {
        Ok(self
            .store
            .get(owner, provider)
            .await?
            .map(|g| info(provider, &g)))
    }

    /// Every provider linked to `owner`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Store`] when the store fails.
    pub async fn linked(&self, owner: &UserId) -> Result<Vec<GrantInfo>, TokenError> {
        Ok(self
            .store
            .list(owner)
            .await?
            .iter()
            .map(|(p, g)| info(p, g))
            .collect())
    }

    /// Removes the row and returns its tokens (to revoke them at the provider); `None` when
    /// nothing was stored. Tokens that do not open are removed and not returned.
    ///
    /// # Errors
    ///
    /// [`TokenError::Store`] when the store fails.
    pub async fn take(
        &self,
        owner: &UserId,
        provider: &str,
    ) -> Result<Option<(AccessToken, Option<RefreshToken>)>, TokenError> {
        let Some(grant) = self.store.get(owner, provider).await? else {
            return Ok(None);
        };
        self.store.delete(owner, provider).await?;
        let access = self.open(owner, provider, &grant.access_token, Kind::Access);
        let refresh = grant
            .refresh_token
            .as_ref()
            .map(|t| self.open(owner, provider, t, Kind::Refresh));
        match (access, refresh.transpose()) {
            (Ok(a), Ok(r)) => Ok(Some((AccessToken::new(a), r.map(RefreshToken::new)))),
            _ => Ok(None),
        }
    }

    /// A usable access token: the stored one while more than [`REFRESH_MARGIN`] is left, else
    /// one `refresh` gives (with the stored refresh token), which is stored first. Concurrent
    /// callers for one owner and provider wait for a single refresh; across processes the
    /// store's compare-and-set decides, and the loser uses the winner's tokens.
    pub(crate) async fn access_token(
        &self,
        owner: &UserId,
        provider: &str,
        refresh: Refresher<'_>,
    ) -> Result<AccessToken, TokenError> {
        if let Some(token) = self.fresh(owner, provider).await? {
            return Ok(token);
        }
        let flight = self.flight(owner, provider);
        let turn = flight.lock().await;
        let result = self.refresh_under_turn(owner, provider, &refresh).await;
        drop(turn);
        self.land(owner, provider, flight);
        result
    }

    /// The stored access token if it is fresh; `None` if it needs a refresh.
    async fn fresh(
        &self,
        owner: &UserId,
        provider: &str,
    ) -> Result<Option<AccessToken>, TokenError> {
        let grant = self.usable(owner, provider).await?;
        if self.is_fresh(&grant) {
            return self
                .open(owner, provider, &grant.access_token, Kind::Access)
                .map(|t| Some(AccessToken::new(t)));
        }
        Ok(None)
    }

    async fn usable(&self, owner: &UserId, provider: &str) -> Result<StoredGrant, TokenError> {
        let grant = self
            .store
            .get(owner, provider)
            .await?
            .ok_or(TokenError::NotLinked)?;
        if grant.state == GrantState::Disconnected {
            return Err(TokenError::SignInAgain(SignInAgain::Disconnected));
        }
        Ok(grant)
    }

    fn is_fresh(&self, grant: &StoredGrant) -> bool {
        grant
            .expires_at
            .is_none_or(|at| at.saturating_duration_since(self.now()) > REFRESH_MARGIN)
    }

    async fn refresh_under_turn(
        &self,
        owner: &UserId,
        provider: &str,
        refresh: &Refresher<'_>,
    ) -> Result<AccessToken, TokenError> {
        // Another node may refresh at the same moment: a lost compare-and-set re-reads.
        for _ in 0..3 {
            let grant = self.usable(owner, provider).await?;
            if self.is_fresh(&grant) {
                let token = self.open(owner, provider, &grant.access_token, Kind::Access)?;
                return Ok(AccessToken::new(token));
            }
            let Some(sealed_refresh) = &grant.refresh_token else {
                return Err(TokenError::SignInAgain(SignInAgain::NoRefreshToken));
            };
            let refresh_token =
                RefreshToken::new(self.open(owner, provider, sealed_refresh, Kind::Refresh)?);
            match crate::client::refresh(refresh.http, refresh.provider, &refresh_token, self.now())
                .await
            {
                Ok(mut tokens) => {
                    // A provider that does not rotate keeps the old refresh token valid.
                    if tokens.refresh_token.is_none() {
                        tokens.refresh_token = Some(refresh_token);
                    }
                    let new = self.seal(owner, provider, &grant.account, &tokens)?;
                    if self
                        .store
                        .replace(owner, provider, grant.version, &new)
                        .await?
                        .is_some()
                    {
                        tracing::info!(target: "session_auth", user = owner.as_str(), provider, "provider token refreshed");
                        return Ok(tokens.access_token);
                    }
                }
                Err(ProviderError::Refused { code }) => {
                    if self.disconnect(owner, provider, &grant).await? {
                        tracing::warn!(target: "session_auth", user = owner.as_str(), provider, code, "the provider refused the refresh token: the account is disconnected");
                        return Err(TokenError::SignInAgain(SignInAgain::RefreshRefused));
                    }
                    // The row changed meanwhile: another node refreshed; use its tokens.
                }
                Err(other) => return Err(TokenError::Provider(other)),
            }
        }
        Err(TokenError::Store(session_core::store::StoreError::Conflict))
    }

    /// Marks the grant disconnected if it is still the version read; whether it was.
    async fn disconnect(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<bool, TokenError> {
        let disconnected = StoredGrant {
            state: GrantState::Disconnected,
            ..grant.clone()
        };
        Ok(self
            .store
            .replace(owner, provider, grant.version, &disconnected)
            .await?
            .is_some())
    }

    fn flight(&self, owner: &UserId, provider: &str) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights
            .entry((owner.as_str().to_owned(), provider.to_owned()))
            .or_default()
            .clone()
    }

    /// Forgets the lock once nobody else holds or waits for it.
    fn land(&self, owner: &UserId, provider: &str, flight: Flight) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        // Ours and the map's: nobody else.
        if Arc::strong_count(&flight) == 2 {
            flights.remove(&(owner.as_str().to_owned(), provider.to_owned()));
        }
    }
}

fn info(provider: &str, grant: &StoredGrant) -> GrantInfo {
    GrantInfo {
        provider: provider.to_owned(),
        account: grant.account.clone(),
        expires_at: grant.expires_at,
        obtained_at: grant.obtained_at,
        scope: grant.scope.clone(),
        state: grant.state,
        refreshable: grant.refresh_token.is_some(),
        version: grant.version,
    }
}
