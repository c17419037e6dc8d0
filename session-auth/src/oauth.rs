//! [`OAuth`]: the sign-in flow (start, callback, sign-out) and access to the providers' tokens,
//! framework-agnostic. The adapters route requests to it and turn its [`AuthResponse`] into
//! their response type.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use session_core::codec::Sealer;
use session_core::config::{Clock, SystemClock};
use session_core::{Secret, Session, UnixTime, UserId};
use url::Url;

use crate::client::{self, DEFAULT_PROVIDER_TIMEOUT};
use crate::error::{AuthError, ProviderError, TokenError};
use crate::flow::{random_id, Flow, FlowCookies, DEFAULT_FLOW_LIFETIME};
use crate::http::{safe_code, Http};
use crate::next::safe_next;
use crate::provider::{Provider, ProviderUser};
use crate::secret_text::AccessToken;
use crate::tokens::{MemoryTokenStore, TokenStore};
use crate::vault::{Refresher, TokenSet, TokenVault};

/// The session key the signed-in user's [`Profile`] is kept under.
pub const PROFILE_KEY: &str = "oauth.profile";

/// What the session keeps about an OAuth sign-in: who, at which provider (never a token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The provider's name.
    pub provider: String,
    /// The provider's account id.
    pub account: String,
    /// The user name at the provider.
    pub username: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// A verified email address.
    pub email: Option<String>,
    /// The avatar's URL.
    pub avatar_url: Option<String>,
}

impl From<&ProviderUser> for Profile {
    /// What of the provider's user the session keeps (not the raw answer).
    fn from(user: &ProviderUser) -> Profile {
        Profile {
            provider: user.provider.clone(),
            account: user.account.clone(),
            username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            avatar_url: user.avatar_url.clone(),
        }
    }
}

impl Profile {
    /// The profile of the session's OAuth sign-in, if it has one.
    pub fn of(session: &Session) -> Option<Profile> {
        session.get(PROFILE_KEY).ok().flatten()
    }
}

/// What the application decides when someone signs in: which of its users this is (creating or
/// updating the user and linking the provider account).
///
/// ```
/// use session_auth::{HookError, ProviderUser, SignInHook};
/// use session_core::UserId;
///
/// #[derive(Debug)]
/// struct Users;
///
/// #[async_trait::async_trait]
/// impl SignInHook for Users {
///     async fn signed_in(&self, user: &ProviderUser) -> Result<UserId, HookError> {
///         // Look the account up, create the user on first sign-in, ...
///         Ok(UserId::new(format!("{}:{}", user.provider, user.account)))
///     }
/// }
/// ```
#[async_trait]
pub trait SignInHook: Send + Sync + fmt::Debug + 'static {
    /// The application's user for this provider account.
    ///
    /// # Errors
    ///
    /// [`HookError::Refused`] to turn the user away (403 with the message),
    /// [`HookError::Failed`] when the application fails (500).
    async fn signed_in(&self, user: &ProviderUser) -> Result<UserId, HookError>;
}

/// Why the application's [`SignInHook`] did not give a user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// This person may not sign in; the message is shown to them.
    #[error("sign-in refused: {0}")]
    Refused(String),
    /// The application failed.
    #[error("sign-in hook failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The default hook: the user id is `<provider>:<account>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountAsUser;

#[async_trait]
impl SignInHook for AccountAsUser {
    async fn signed_in(&self, user: &ProviderUser) -> Result<UserId, HookError> {
        Ok(UserId::new(format!("{}:{}", user.provider, user.account)))
    }
}

/// A response described without a framework: status, `Location`, `Set-Cookie` headers and an
/// HTML body for error pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    /// The HTTP status.
    pub status: u16,
    /// Where to go (redirects).
    pub location: Option<String>,
    /// `Set-Cookie` values (the flow cookie; the session cookie is the session layer's).
    pub set_cookies: Vec<String>,
    /// An HTML page for errors; empty for redirects.
    pub body: String,
}

impl AuthResponse {
    fn redirect(location: String, set_cookies: Vec<String>) -> Self {
        AuthResponse {
            status: 303,
            location: Some(location),
            set_cookies,
            body: String::new(),
        }
    }

    fn error(error: &AuthError, set_cookies: Vec<String>) -> Self {
        let status = error.status_code();
        if status >= 500 {
            tracing::error!(target: "session_auth", reason = error.reason(), error = %error, "sign-in failed");
        } else {
            tracing::warn!(target: "session_auth", reason = error.reason(), error = %error, "sign-in refused");
        }
        let message = escape(&error.user_message());
        AuthResponse {
            status,
            location: None,
            set_cookies,
            body: format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
                 <body><h1>Sign-in failed</h1><p>{message}</p><p><a href=\"/\">Back</a></p></body></html>"
            ),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The OAuth sign-in of an application: its providers, the flow cookie, the token vault and the
/// sign-in hook. Cheap to clone.
///
/// Routes (under [`mount`](OAuthBuilder::mount), `/auth` by default):
/// `GET /auth/{provider}/sign-in?next=/path`, `GET /auth/{provider}/callback`,
/// `POST /auth/sign-out`. The adapters in `session-adapters` serve them.
///
/// ```
/// use session_auth::{OAuth, Provider};
/// use session_core::Secret;
///
/// let secret = Secret::from_bytes(vec![7; 32])?;
/// let oauth = OAuth::builder(&secret, "https://app.example")?
///     .provider(Provider::github("client-id", "client-secret"))
///     .provider(Provider::vercel("client-id", "client-secret"))
///     .build();
/// assert_eq!(oauth.callback_url("github").unwrap().as_str(), "https://app.example/auth/github/callback");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct OAuth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    providers: BTreeMap<String, Provider>,
    public_base: Url,
    mount: String,
    home: String,
    revoke_on_sign_out: bool,
    flow: FlowCookies,
    vault: TokenVault,
    hook: Arc<dyn SignInHook>,
    http: Http,
    clock: Arc<dyn Clock>,
}

/// Sets an [`OAuth`] up; see [`OAuth::builder`].
#[derive(Debug)]
pub struct OAuthBuilder {
    sealer: Sealer,
    providers: BTreeMap<String, Provider>,
    public_base: Url,
    mount: String,
    home: String,
    revoke_on_sign_out: bool,
    secure: Option<bool>,
    flow_lifetime: Duration,
    store: Option<Arc<dyn TokenStore>>,
    hook: Arc<dyn SignInHook>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    token_clock: Option<Arc<dyn Clock>>,
}

impl OAuth {
    /// Starts the setup. `secret` keys the flow cookie and the token vault (through HKDF, apart
    /// from the session keys); `public_base` is the application's origin as browsers see it
    /// (`https://app.example`), from which the callback URLs are made.
    ///
    /// # Errors
    ///
    /// [`crate::ProviderConfigError`] when `public_base` is not an `http(s)` origin.
    pub fn builder(
        secret: &Secret,
        public_base: &str,
    ) -> Result<OAuthBuilder, crate::ProviderConfigError> {
        let public_base = Url::parse(public_base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                crate::ProviderConfigError(format!("{public_base:?} is not an http(s) origin"))
            })?;
        Ok(OAuthBuilder {
            sealer: Sealer::new(secret),
            providers: BTreeMap::new(),
            public_base,
            mount: "/auth".into(),
            home: "/".into(),
            revoke_on_sign_out: false,
            secure: None,
            flow_lifetime: DEFAULT_FLOW_LIFETIME,
            store: None,
            hook: Arc::new(AccountAsUser),
            timeout: DEFAULT_PROVIDER_TIMEOUT,
            clock: Arc::new(SystemClock),
            token_clock: None,
        })
    }
}

impl OAuthBuilder {
    /// Adds a provider (a second one of the same name replaces the first).
    pub fn provider(mut self, provider: Provider) -> Self {
        self.providers.insert(provider.id.clone(), provider);
        self
    }

    /// Where the tokens are kept (default: a [`MemoryTokenStore`], lost on restart).
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The application's sign-in hook (default: [`AccountAsUser`]).
    pub fn hook(mut self, hook: impl SignInHook) -> Self {
        self.hook = Arc::new(hook);
        self
    }

    /// Where the routes live (default `/auth`; `/` puts them at the root).
    pub fn mount(mut self, path: &str) -> Self {
        let trimmed = path.trim_matches('/');
        self.mount = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Where sign-out, and a sign-in without a usable `next`, lead (default `/`).
    pub fn home(mut self, path: &str) -> Self {
        self.home = safe_next(path).unwrap_or("/").to_owned();
        self
    }

    /// Whether sign-out also revokes the provider's tokens and forgets them (default: no).
    pub fn revoke_on_sign_out(mut self, revoke: bool) -> Self {
        self.revoke_on_sign_out = revoke;
        self
    }

    /// Whether the flow cookie is `Secure` (default: when the public base is `https`).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure = Some(secure);
        self
    }

    /// How long a sign-in may take (default 10 minutes).
    pub fn flow_lifetime(mut self, lifetime: Duration) -> Self {
        self.flow_lifetime = lifetime;
        self
    }

    /// How long one provider call may take (default 10 s).
    pub fn provider_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where "now" comes from for flows and tokens (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where "now" comes from for token lifetimes only (the demo shares its stand-in
    /// provider's clock this way); defaults to [`clock`](Self::clock).
    pub fn token_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.token_clock = Some(clock);
        self
    }

    /// The configured [`OAuth`].
    pub fn build(self) -> OAuth {
        let secure = self.secure.unwrap_or(self.public_base.scheme() == "https");
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let token_clock = self.token_clock.unwrap_or_else(|| self.clock.clone());
        OAuth {
            inner: Arc::new(Inner {
                flow: FlowCookies::new(
                    self.sealer.clone(),
                    if self.mount.is_empty() {
                        "/".to_owned()
                    } else {
                        self.mount.clone()
                    },
                    secure,
                    self.flow_lifetime,
                ),
                vault: TokenVault::new(store, self.sealer).with_clock(token_clock),
                providers: self.providers,
                public_base: self.public_base,
                mount: self.mount,
                home: self.home,
                revoke_on_sign_out: self.revoke_on_sign_out,
                hook: self.hook,
                http: Http::new(self.timeout),
                clock: self.clock,
            }),
        }
    }
}

/// The callback's query: `code` and `state`, or `error`.
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Parses the query; a repeated field or an over-long one is malformed.
fn parse_callback(query: &str) -> Result<Callback, AuthError> {
    let mut callback = Callback {
        code: None,
        state: None,
        error: None,
    };
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "code" => &mut callback.code,
            "state" => &mut callback.state,
            "error" => &mut callback.error,
            _ => continue,
        };
        if slot.is_some() || value.len() > 2048 {
            return Err(AuthError::BadCallback);
        }
        *slot = Some(value.into_owned());
    }
    Ok(callback)
}

impl OAuth {
    /// The provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.inner.providers.get(name)
    }

    /// The configured providers, by name.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.inner.providers.values()
    }

    /// The vault holding the users' provider tokens.
    pub fn vault(&self) -> &TokenVault {
        &self.inner.vault
    }

    /// Where the routes are mounted: `/auth` by default, `/` at the root.
    pub fn mount(&self) -> &str {
        if self.inner.mount.is_empty() {
            "/"
        } else {
            &self.inner.mount
        }
    }

    /// The `GET` path the provider redirects back to: `<mount>/<provider>/callback`.
    pub fn callback_path(&self, provider: &str) -> String {
        format!("{}/{provider}/callback", self.inner.mount)
    }

    /// `GET` path starting a sign-in with `provider`.
    pub fn sign_in_path(&self, provider: &str) -> String {
        format!("{}/{provider}/sign-in", self.inner.mount)
    }

    /// The `POST` path signing out.
    pub fn sign_out_path(&self) -> String {
        format!("{}/sign-out", self.inner.mount)
    }

    /// The redirect URI registered at `provider`: `<public base><mount>/<provider>/callback`.
    pub fn callback_url(&self, provider: &str) -> Option<Url> {
        self.inner.providers.get(provider)?;
        self.inner
            .public_base
            .join(&self.callback_path(provider))
            .ok()
    }

    /// Starts a sign-in: the provider's authorization URL (with `state` and a PKCE S256
    /// challenge) and the flow cookie binding both to this browser. `next` is kept only if it
    /// is a same-site path ([`safe_next`]).
    ///
    /// # Errors
    ///
    /// [`AuthError::UnknownProvider`] for a provider not configured.
    pub fn sign_in(&self, provider: &str, next: Option<&str>) -> Result<AuthResponse, AuthError> {
        let config = self.provider(provider).ok_or(AuthError::UnknownProvider)?;
        let redirect = self
            .callback_url(provider)
            .ok_or(AuthError::UnknownProvider)?;
        let (url, state, verifier) = client::authorize(config, &redirect);
        let next = next.and_then(|n| {
            let kept = safe_next(n);
            if kept.is_none() {
                tracing::warn!(target: "session_auth", reason = "unsafe_next", "sign-in `next` is not a same-site path: ignored");
            }
            kept.map(str::to_owned)
        });
        let flow = Flow {
            id: random_id()?,
            state,
            verifier,
            provider: provider.to_owned(),
            next,
            expires_at: self
                .inner
                .clock
                .now()
                .saturating_add(self.inner.flow.lifetime)
                .as_secs(),
        };
        let cookie = self.inner.flow.set_cookie(&flow)?;
        Ok(AuthResponse::redirect(url.to_string(), vec![cookie]))
    }

    /// Finishes a sign-in: checks the flow cookie against `state` (once), exchanges the code with
    /// the PKCE verifier, reads the user, asks the [`SignInHook`] who this is, stores the tokens
    /// sealed, and logs the session in (a new session id) with the provider recorded and the
    /// [`Profile`] under [`PROFILE_KEY`]. Nothing is stored when any step fails.
    ///
    /// `query` is the callback's raw query string; `cookie_headers` the request's `Cookie`
    /// headers.
    ///
    /// # Errors
    ///
    /// Every [`AuthError`]: the flow's, the provider's, the hook's and the vault's.
    pub async fn callback<'a>(
        &self,
        provider: &str,
        query: &str,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        session: &Session,
    ) -> Result<AuthResponse, AuthError> {
        let config = self.provider(provider).ok_or(AuthError::UnknownProvider)?;
        let callback = parse_callback(query)?;
        let state = callback.state.ok_or(AuthError::BadCallback)?;
        let cookie = self.inner.flow.find(cookie_headers);
        let flow = self
            .inner
            .flow
            .redeem(cookie, &state, provider, self.inner.clock.now())?;
        if let Some(error) = callback.error {
            return Err(AuthError::Declined {
                code: safe_code(&error),
            });
        }
        let code = callback.code.ok_or(AuthError::BadCallback)?;
        let redirect = self
            .callback_url(provider)
            .ok_or(AuthError::UnknownProvider)?;
        let tokens = client::exchange_code(
            &self.inner.http,
            config,
            &redirect,
            &code,
            &flow.verifier,
            self.inner.vault.now(),
        )
        .await?;
        let user = client::fetch_user(&self.inner.http, config, &tokens.access_token).await?;
        let user_id = self
            .inner
            .hook
            .signed_in(&user)
            .await
            .map_err(|e| match e {
                HookError::Refused(message) => AuthError::Refused { message },
                HookError::Failed(source) => AuthError::Hook(source),
            })?;
        self.inner
            .vault
            .store(&user_id, provider, &user.account, &tokens)
            .await?;
        let profile = Profile::from(&user);
        session.login_with(user_id, Some(provider));
        session
            .insert(PROFILE_KEY, &profile)
            .map_err(|e| AuthError::Hook(Box::new(e)))?;
        tracing::info!(target: "session_auth", provider, account = %user.account, "signed in");
        let next = flow.next.unwrap_or_else(|| self.inner.home.clone());
        Ok(AuthResponse::redirect(
            next,
            vec![self.inner.flow.clear_cookie()],
        ))
    }

    /// Signs out: destroys the session and, if [configured](OAuthBuilder::revoke_on_sign_out),
    /// revokes the provider's tokens and forgets them. Serve it on `POST` only. A failed
    /// revocation is logged; the session ends anyway.
    pub async fn sign_out(&self, session: &Session) -> AuthResponse {
        if self.inner.revoke_on_sign_out {
            if let (Some(user), Some(profile)) = (session.user_id(), Profile::of(session)) {
                self.revoke(&user, &profile.provider).await;
            }
        }
        session.destroy();
        AuthResponse::redirect(self.inner.home.clone(), Vec::new())
    }

    /// Revokes and forgets `user`'s tokens at `provider` (failures are logged).
    pub async fn revoke(&self, user: &UserId, provider: &str) {
        let Some(config) = self.provider(provider) else {
            return;
        };
        match self.inner.vault.take(user, provider).await {
            Ok(Some((access, refresh))) => {
                let mut tokens = vec![access.secret().to_owned()];
                tokens.extend(refresh.map(|r| r.secret().to_owned()));
                for token in tokens {
                    if let Err(error) = client::revoke(&self.inner.http, config, &token).await {
                        tracing::warn!(target: "session_auth", provider, %error, "revoking the provider token failed");
                    }
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(target: "session_auth", provider, %error, "reading the tokens to revoke failed")
            }
        }
    }

    /// A usable access token for `user` at `provider`: the stored one, or a refreshed one when
    /// less than 60 s are left (one refresh at a time per user and provider; the rotated
    /// refresh token is stored before the new access token is returned).
    ///
    /// # Errors
    ///
    /// [`TokenError::NotLinked`], [`TokenError::SignInAgain`] (no refresh token, or the
    /// provider refused it), [`TokenError::Unreadable`] for a tampered row,
    /// [`TokenError::Provider`] and [`TokenError::Store`].
    pub async fn access_token(
        &self,
        user: &UserId,
        provider: &str,
    ) -> Result<AccessToken, TokenError> {
        let config = self.provider(provider).ok_or(TokenError::NotLinked)?;
        let refresher = Refresher {
            http: &self.inner.http,
            provider: config,
        };
        self.inner
            .vault
            .access_token(user, provider, refresher)
            .await
    }

    /// Calls `provider`'s user endpoint with `token`: who it belongs to (a check that the
    /// token works).
    ///
    /// # Errors
    ///
    /// [`ProviderError`]: a 401 is [`ProviderError::Status`].
    pub async fn fetch_user(
        &self,
        provider: &str,
        token: &AccessToken,
    ) -> Result<ProviderUser, ProviderError> {
        let config = self
            .provider(provider)
            .ok_or(ProviderError::Misconfigured)?;
        client::fetch_user(&self.inner.http, config, token).await
    }

    /// [`sign_in`](Self::sign_in) as a response: the redirect, or an error page.
    pub fn respond_sign_in(&self, provider: &str, query: &str) -> AuthResponse {
        let next = url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "next")
            .map(|(_, v)| v.into_owned());
        self.sign_in(provider, next.as_deref())
            .unwrap_or_else(|e| AuthResponse::error(&e, Vec::new()))
    }

    /// [`callback`](Self::callback) as a response: the redirect, or an error page; the flow
    /// cookie is cleared either way.
    pub async fn respond_callback<'a>(
        &self,
        provider: &str,
        query: &str,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        session: &Session,
    ) -> AuthResponse {
        match self
            .callback(provider, query, cookie_headers, session)
            .await
        {
            Ok(response) => response,
            Err(e) => AuthResponse::error(&e, vec![self.inner.flow.clear_cookie()]),
        }
    }

    /// Stores tokens obtained elsewhere (an import, a test).
    ///
    /// # Errors
    ///
    /// [`TokenError::Store`] or [`TokenError::Seal`].
    pub async fn store_tokens(
        &self,
        user: &UserId,
        provider: &str,
        account: &str,
        tokens: &TokenSet,
    ) -> Result<u64, TokenError> {
        self.inner
            .vault
            .store(user, provider, account, tokens)
            .await
    }

    /// "Now" on the token clock.
    pub fn token_now(&self) -> UnixTime {
        self.inner.vault.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(mount: &str) -> OAuth {
        OAuth::builder(
            &Secret::from_bytes(vec![1; 32]).unwrap(),
            "https://app.example",
        )
        .unwrap()
        .provider(Provider::github("id", "secret"))
        .mount(mount)
        .build()
    }

    #[test]
    fn every_mount_gives_paths_on_this_origin() {
        for (mount, sign_in, callback) in [
            (
                "/auth",
                "/auth/github/sign-in",
                "https://app.example/auth/github/callback",
            ),
            (
                "auth/",
                "/auth/github/sign-in",
                "https://app.example/auth/github/callback",
            ),
            (
                "/",
                "/github/sign-in",
                "https://app.example/github/callback",
            ),
            ("", "/github/sign-in", "https://app.example/github/callback"),
        ] {
            let oauth = oauth(mount);
            assert_eq!(oauth.sign_in_path("github"), sign_in, "{mount:?}");
            assert_eq!(
                oauth.callback_url("github").unwrap().as_str(),
                callback,
                "{mount:?}"
            );
            let start = oauth.sign_in("github", None).unwrap();
            assert!(start.set_cookies[0].contains(&format!("Path={}", oauth.mount())));
        }
    }

    /// Handlers of every framework run these futures on multi-threaded runtimes.
    #[allow(dead_code, reason = "compiles or not; never runs")]
    fn the_flow_futures_are_send(oauth: &OAuth, session: &Session, user: &UserId) {
        fn send<T: Send>(_: T) {}
        send(oauth.callback("github", "", [""], session));
        send(oauth.respond_callback("github", "", [""], session));
        send(oauth.sign_out(session));
        send(oauth.access_token(user, "github"));
        send(oauth.revoke(user, "github"));
    }
}
