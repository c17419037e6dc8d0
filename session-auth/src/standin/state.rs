//! What the stand-in remembers: per provider, its client, the user who signs in, the codes and
//! tokens it issued, and its counters. Everything sits behind one mutex, held only for
//! bookkeeping (never across an `.await`), so two concurrent refreshes with one refresh token
//! cannot both win.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use session_core::config::Clock;
use session_core::UnixTime;

use super::config::{GitHubUser, StandInConfig, VercelUser};
use super::wire::pkce_matches;
use super::{Fault, StandInProvider, Stats};

/// How long an authorization code can be exchanged.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// The stand-in's clock: the system time plus however far [`StandIn::advance`] moved it.
///
/// Clones share the offset, so an app handed [`StandIn::clock`] sees time move with the
/// stand-in.
///
/// [`StandIn::advance`]: super::StandIn::advance
/// [`StandIn::clock`]: super::StandIn::clock
#[derive(Debug, Clone, Default)]
pub struct StandInClock {
    advanced_ms: Arc<AtomicU64>,
}

impl StandInClock {
    /// Moves this clock (and every clone of it) on by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .advanced_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| {
                Some(ms.saturating_add(by))
            });
    }
}

impl Clock for StandInClock {
    fn now(&self) -> UnixTime {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let advanced = Duration::from_millis(self.advanced_ms.load(Ordering::SeqCst));
        UnixTime::from_secs(system.saturating_add(advanced).as_secs())
    }
}

/// The state every handler shares.
pub(crate) struct Shared {
    pub(crate) clock: StandInClock,
    inner: Mutex<Inner>,
}

impl Shared {
    pub(crate) fn new(config: StandInConfig) -> Self {
        let StandInConfig { github, vercel, .. } = config;
        let inner = Inner {
            fault: Fault::None,
            github: Provider::new(github.client_id, github.client_secret, github.user),
            github_app_tokens: github.app_tokens,
            vercel: Provider::new(vercel.client_id, vercel.client_secret, vercel.user),
            vercel_access_lifetime: vercel.access_lifetime,
            omit_expires_in: false,
        };
        Shared {
            clock: StandInClock::default(),
            inner: Mutex::new(inner),
        }
    }

    /// The state, even if a handler panicked while holding it (nothing here is left half-done).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }
}

/// The mutable part of [`Shared`].
pub(crate) struct Inner {
    pub(crate) fault: Fault,
    pub(crate) github: Provider<GitHubUser>,
    pub(crate) github_app_tokens: bool,
    pub(crate) vercel: Provider<VercelUser>,
    pub(crate) vercel_access_lifetime: Duration,
    pub(crate) omit_expires_in: bool,
}

impl Inner {
    pub(crate) fn stats(&self, which: StandInProvider) -> Stats {
        match which {
            StandInProvider::GitHub => self.github.stats,
            StandInProvider::Vercel => self.vercel.stats,
        }
    }

    pub(crate) fn last_scope(&self, which: StandInProvider) -> Option<String> {
        match which {
            StandInProvider::GitHub => self.github.last_scope.clone(),
            StandInProvider::Vercel => self.vercel.last_scope.clone(),
        }
    }

    /// Every access token issued so far, by either provider, expires now.
    pub(crate) fn expire_access_tokens(&mut self, now: UnixTime) {
        self.github.expire_access_tokens(now);
        self.vercel.expire_access_tokens(now);
    }
}

/// One provider's bookkeeping, the same for GitHub and Vercel (`U` is its kind of user).
pub(crate) struct Provider<U> {
    pub(crate) client_id: String,
    client_secret: String,
    /// Who signs in at the next authorize request.
    pub(crate) user: U,
    pub(crate) stats: Stats,
    /// The scope the latest authorize request asked for.
    pub(crate) last_scope: Option<String>,
    codes: HashMap<String, Code<U>>,
    tokens: HashMap<String, Token<U>>,
    next_grant: u64,
}

/// What an authorize request asked for; its code is bound to it.
pub(crate) struct CodeRequest {
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
    pub(crate) scope: String,
}

struct Code<U> {
    request: CodeRequest,
    user: U,
    expires_at: UnixTime,
}

/// One sign-in: the tokens issued for it, refreshed ones included, share its id.
#[derive(Clone)]
pub(crate) struct Grant<U> {
    id: u64,
    pub(crate) user: U,
    /// The scope as the authorize request spelled it (space-separated).
    pub(crate) scope: String,
}

struct Token<U> {
    grant: Grant<U>,
    refresh: bool,
    expires_at: Option<UnixTime>,
}

impl<U> Token<U> {
    fn live(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// What a token looks like and how long it works.
#[derive(Clone, Copy)]
pub(crate) struct TokenShape {
    pub(crate) prefix: &'static str,
    pub(crate) len: usize,
    pub(crate) lifetime: Option<Duration>,
}

/// The tokens [`Provider::issue`] minted.
pub(crate) struct Issued {
    pub(crate) access: String,
    pub(crate) refresh: Option<String>,
}

/// Why a code was not exchanged.
pub(crate) enum BadCode {
    /// Unknown, already used or expired.
    Invalid,
    /// The token request named another redirect URI than the authorize request.
    RedirectMismatch,
    /// The PKCE verifier is missing, unexpected or does not match the challenge.
    Verifier,
}

impl<U: Clone> Provider<U> {
    fn new(client_id: String, client_secret: String, user: U) -> Self {
        Provider {
            client_id,
            client_secret,
            user,
            stats: Stats::default(),
            last_scope: None,
            codes: HashMap::new(),
            tokens: HashMap::new(),
            next_grant: 0,
        }
    }

    /// Whether these are the registered client's credentials.
    pub(crate) fn authenticates(&self, id: Option<&str>, secret: Option<&str>) -> bool {
        id == Some(self.client_id.as_str()) && secret == Some(self.client_secret.as_str())
    }

    /// A new single-use code for the current user, valid [`CODE_LIFETIME`].
    pub(crate) fn issue_code(&mut self, request: CodeRequest, len: usize, now: UnixTime) -> String {
        let code = random_token("", len);
        self.last_scope = Some(request.scope.clone());
        let entry = Code {
            request,
            user: self.user.clone(),
            expires_at: now + CODE_LIFETIME,
        };
        self.codes.insert(code.clone(), entry);
        code
    }

    /// Uses up `code` (whatever the outcome) and, if it checks out, starts a grant for it.
    /// `redirect_uri`, when given, must be the authorize request's; the verifier must match
    /// the challenge, and be absent when there was none.
    pub(crate) fn redeem(
        &mut self,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: UnixTime,
    ) -> Result<Grant<U>, BadCode> {
        let code = self
            .codes
            .remove(code)
            .filter(|c| now < c.expires_at)
            .ok_or(BadCode::Invalid)?;
        if redirect_uri.is_some_and(|uri| uri != code.request.redirect_uri) {
            return Err(BadCode::RedirectMismatch);
        }
        let verified = match (&code.request.challenge, verifier) {
            (None, None) => true,
            (Some(challenge), Some(verifier)) => pkce_matches(challenge, verifier),
            _ => false,
        };
        if !verified {
            return Err(BadCode::Verifier);
        }
        self.next_grant += 1;
        Ok(Grant {
            id: self.next_grant,
            user: code.user,
            scope: code.request.scope,
        })
    }

    /// Mints an access token (and maybe a refresh token) for `grant`.
    pub(crate) fn issue(
        &mut self,
        grant: &Grant<U>,
        access: TokenShape,
        refresh: Option<TokenShape>,
        now: UnixTime,
    ) -> Issued {
        Issued {
            access: self.mint(grant, access, false, now),
            refresh: refresh.map(|shape| self.mint(grant, shape, true, now)),
        }
    }

    fn mint(
        &mut self,
        grant: &Grant<U>,
        shape: TokenShape,
        refresh: bool,
        now: UnixTime,
    ) -> String {
        let token = random_token(shape.prefix, shape.len);
        let entry = Token {
            grant: grant.clone(),
            refresh,
            expires_at: shape.lifetime.map(|lifetime| now + lifetime),
        };
        self.tokens.insert(token.clone(), entry);
        token
    }

    /// Uses up a live refresh token: its grant, or `None` (the token is unknown, expired,
    /// already used or an access token).
    pub(crate) fn take_refresh(&mut self, token: &str, now: UnixTime) -> Option<Grant<U>> {
        let usable = self
            .tokens
            .get(token)
            .is_some_and(|t| t.refresh && t.live(now));
        usable
            .then(|| self.tokens.remove(token))
            .flatten()
            .map(|t| t.grant)
    }

    /// The grant of a live access token.
    pub(crate) fn access(&self, token: &str, now: UnixTime) -> Option<&Grant<U>> {
        let token = self.tokens.get(token)?;
        (!token.refresh && token.live(now)).then_some(&token.grant)
    }

    /// Ends the grant `token` belongs to: all its access and refresh tokens stop working.
    /// `false` if the token is unknown.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        let Some(grant) = self.tokens.get(token).map(|t| t.grant.id) else {
            return false;
        };
        self.tokens.retain(|_, t| t.grant.id != grant);
        true
    }

    /// Every access token issued so far expires now.
    pub(crate) fn expire_access_tokens(&mut self, now: UnixTime) {
        for token in self.tokens.values_mut().filter(|t| !t.refresh) {
            token.expires_at = Some(now);
        }
    }
}

/// `prefix` followed by `len` random base62 characters.
pub(crate) fn random_token(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut token = String::with_capacity(prefix.len() + len);
    token.push_str(prefix);
    let mut added = 0;
    while added < len {
        let mut bytes = [0u8; 64];
        // Invariant: getrandom only fails without an OS entropy source (a stand-in for tests).
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        // 248 = 4 * 62: dropping the bytes above it keeps every character equally likely.
        for byte in bytes.into_iter().filter(|&b| b < 248).take(len - added) {
            token.push(char::from(ALPHABET[usize::from(byte % 62)]));
            added += 1;
        }
    }
    token
}
