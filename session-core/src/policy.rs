//! Lifetimes, refresh and conflicts: the [`SessionPolicy`] trait (**API boundary**) and its
//! default implementation [`Policy`], built with [`Policy::builder`]. The cookie's name,
//! attributes and formatting live in `cookie.rs` ([`CookieOptions`]).

use std::fmt;
use std::time::Duration;

use crate::codec::RejectReason;
use crate::cookie::{CookieOptions, SameSite};
use crate::record::SessionRecord;
use crate::time::UnixTime;

/// Default sliding lifetime: 24 hours ([C3]). `Policy::builder().max_age(7 * DAY)` for a week.
///
/// [C3]: crate::manual::contracts#c3
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Default refresh threshold: 30 minutes before expiry ([C4]).
///
/// [C4]: crate::manual::contracts#c4
pub const DEFAULT_REFRESH_THRESHOLD: Duration = Duration::from_secs(30 * 60);
/// The longest lifetime a session can be given ([`Session::set_max_age`] clamps to it): 400 days,
/// the most a browser keeps a cookie (RFC 6265bis §5.5: user agents cap `Max-Age` and `Expires`
/// there).
///
/// [`Session::set_max_age`]: crate::Session::set_max_age
pub const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(400 * 24 * 3600);

/// Decides how long sessions live and when they are refreshed.
///
/// Implement the four getters and the cookie options; the decisions (`expiry_from`,
/// `rejection`, `should_refresh`) are provided and shared by both modes and every adapter.
pub trait SessionPolicy: Send + Sync + fmt::Debug + 'static {
    /// The sliding lifetime: a session expires this long after it was created or last refreshed.
    fn max_age(&self) -> Duration;
    /// End a session idle (no write or refresh) for this long.
    fn idle_timeout(&self) -> Option<Duration>;
    /// The hard cap from creation that no refresh extends ([S-19]).
    ///
    /// [S-19]: crate::manual::contracts#s-19
    fn absolute_lifetime(&self) -> Option<Duration>;
    /// Refresh when less than this remains ([C4]).
    ///
    /// [C4]: crate::manual::contracts#c4
    fn refresh_threshold(&self) -> Duration;
    /// The cookie's name and attributes.
    fn cookie(&self) -> &CookieOptions;
    /// What a save that lost a race does ([C8]).
    ///
    /// [C8]: crate::manual::contracts#c8
    fn on_conflict(&self) -> ConflictPolicy;

    /// Whether a handler's server error (5xx) still commits the session's changes ([C18]). The
    /// default is no: a sign-in that failed half-way must not leave a session behind.
    ///
    /// [C18]: crate::manual::contracts#c18
    fn commit_on_server_error(&self) -> bool {
        false
    }

    /// The sliding lifetime of this record: its own "remember me" lifetime, or `max_age`.
    fn lifetime_of(&self, record: &SessionRecord) -> Duration {
        record
            .metadata
            .max_age_secs
            .map(Duration::from_secs)
            .unwrap_or_else(|| self.max_age())
            .min(MAX_SESSION_LIFETIME)
    }

    /// The longest any session issued under this policy can live from its last refresh: the
    /// absolute lifetime when one is set (nothing outlives it), otherwise the longest lifetime
    /// a session can be given ([`MAX_SESSION_LIFETIME`], the "remember me" bound), and never
    /// less than `max_age`. Revocation markers live this long.
    fn longest_lifetime(&self) -> Duration {
        match self.absolute_lifetime() {
            Some(cap) => cap.min(MAX_SESSION_LIFETIME.max(self.max_age())),
            None => MAX_SESSION_LIFETIME.max(self.max_age()),
        }
    }

    /// The hard limit of `record`: the earlier of its stored absolute expiry and `created_at`
    /// plus this policy's absolute lifetime, so records made before the cap was configured and
    /// imported tokens are capped too ([S-19]).
    ///
    /// [S-19]: crate::manual::contracts#s-19
    fn cap_of(&self, record: &SessionRecord) -> Option<UnixTime> {
        let configured = self.absolute_lifetime().map(|cap| record.created_at + cap);
        match (record.absolute_expires_at, configured) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When `record` ends unless refreshed: its sliding expiry, capped by [`cap_of`](Self::cap_of).
    fn expiry_of(&self, record: &SessionRecord) -> UnixTime {
        match self.cap_of(record) {
            Some(cap) => record.expires_at.min(cap),
            None => record.expires_at,
        }
    }

    /// The sliding expiry of `record` refreshed at `now`, capped by [`cap_of`](Self::cap_of).
    fn expiry_from(&self, record: &SessionRecord, now: UnixTime) -> UnixTime {
        let sliding = now + self.lifetime_of(record);
        match self.cap_of(record) {
            Some(cap) => sliding.min(cap),
            None => sliding,
        }
    }

    /// Why `record` is no longer valid at `now`, if it is not.
    fn rejection(&self, record: &SessionRecord, now: UnixTime) -> Option<RejectReason> {
        if self.expiry_of(record) <= now {
            return Some(RejectReason::Expired);
        }
        match self.idle_timeout() {
            Some(idle) if now >= record.last_seen_at + idle => Some(RejectReason::IdleTimeout),
            _ => None,
        }
    }

    /// Whether a request at `now` should extend the session ([C4], [S-20], [S-22]): less than the
    /// threshold remains and a refresh would actually extend it, or half the idle timeout has
    /// passed since it was last seen.
    ///
    /// [C4]: crate::manual::contracts#c4
    /// [S-20]: crate::manual::contracts#s-20
    /// [S-22]: crate::manual::contracts#s-22
    fn should_refresh(&self, record: &SessionRecord, now: UnixTime) -> bool {
        let threshold = self.refresh_threshold().min(self.lifetime_of(record) / 2);
        let expiry = self.expiry_of(record);
        let near_expiry = expiry.saturating_duration_since(now) < threshold
            && self.expiry_from(record, now) > expiry;
        let idle_due = self
            .idle_timeout()
            .is_some_and(|idle| now.saturating_duration_since(record.last_seen_at) >= idle / 2);
        near_expiry || idle_due
    }

    /// When the session ends if nothing happens: its expiry, or the idle deadline if sooner.
    fn deadline(&self, record: &SessionRecord) -> UnixTime {
        let expiry = self.expiry_of(record);
        match self.idle_timeout() {
            Some(idle) => expiry.min(record.last_seen_at + idle),
            None => expiry,
        }
    }
}

/// What happens when a save finds that another request changed a key it read or wrote ([C8]).
///
/// Either way, requests that touched different keys are merged and both succeed, and a request
/// that only refreshed the session never fails: the policy decides only real overlaps.
///
/// [C8]: crate::manual::contracts#c8
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConflictPolicy {
    /// The late request fails with a conflict error (409 in the adapters). Nothing is lost.
    #[default]
    Reject,
    /// Per key, the last writer wins: the late request's writes are applied on top of the other
    /// writer's record and it never fails for a conflict. Keys it did not write keep the other
    /// writer's values.
    LastWriteWins,
}

/// A policy the builder refuses, caught at start-up instead of as a silent logout loop ([S-25]).
///
/// [S-25]: crate::manual::contracts#s-25
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The name is empty or has characters a cookie name cannot have.
    #[error("invalid cookie name")]
    InvalidCookieName,
    /// The path does not start with `/` or contains `;`.
    #[error("invalid cookie path (must start with '/')")]
    InvalidCookiePath,
    /// The domain is empty or contains separators.
    #[error("invalid cookie domain")]
    InvalidCookieDomain,
    /// `__Host-` and `__Secure-` cookies must be `Secure`.
    #[error("a {0} cookie must be Secure")]
    PrefixRequiresSecure(&'static str),
    /// `__Host-` cookies must have `Path=/`.
    #[error("a __Host- cookie must have Path=/")]
    HostPrefixRequiresRootPath,
    /// `__Host-` cookies must not have a `Domain`.
    #[error("a __Host- cookie must not set Domain")]
    HostPrefixForbidsDomain,
    /// `SameSite=None` requires `Secure`.
    #[error("SameSite=None requires Secure")]
    SameSiteNoneRequiresSecure,
    /// A zero lifetime.
    #[error("max_age must be at least one second")]
    ZeroMaxAge,
}

/// The default [`SessionPolicy`].
///
/// ```
/// use session_core::{config::SessionPolicy, Policy};
/// use std::time::Duration;
/// let week = Policy::builder().max_age(Duration::from_secs(7 * 24 * 3600)).build()?;
/// assert_eq!(week.cookie().name(), "session");
/// assert!(Policy::builder().cookie_name("__Host-session").cookie_domain("example.com").build().is_err());
/// # Ok::<(), session_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    max_age: Duration,
    idle_timeout: Option<Duration>,
    absolute_lifetime: Option<Duration>,
    refresh_threshold: Duration,
    cookie: CookieOptions,
    on_conflict: ConflictPolicy,
    commit_on_server_error: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_age: DEFAULT_MAX_AGE,
            idle_timeout: None,
            absolute_lifetime: None,
            refresh_threshold: DEFAULT_REFRESH_THRESHOLD,
            cookie: CookieOptions::default(),
            on_conflict: ConflictPolicy::Reject,
            commit_on_server_error: false,
        }
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder(Policy::default())
    }
}

impl SessionPolicy for Policy {
    fn max_age(&self) -> Duration {
        self.max_age
    }
    fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
    fn absolute_lifetime(&self) -> Option<Duration> {
        self.absolute_lifetime
    }
    fn refresh_threshold(&self) -> Duration {
        self.refresh_threshold
    }
    fn cookie(&self) -> &CookieOptions {
        &self.cookie
    }
    fn on_conflict(&self) -> ConflictPolicy {
        self.on_conflict
    }
    fn commit_on_server_error(&self) -> bool {
        self.commit_on_server_error
    }
}

/// Builds a [`Policy`]; [`build`](Self::build) checks the cookie rules.
#[derive(Debug, Clone)]
pub struct PolicyBuilder(Policy);

impl PolicyBuilder {
    /// The sliding lifetime (default 24 h).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.0.max_age = max_age;
        self
    }
    /// End sessions idle for this long (default: no idle timeout).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.0.idle_timeout = Some(idle);
        self
    }
    /// A hard cap from creation that refreshes never pass (default: none).
    pub fn absolute_lifetime(mut self, cap: Duration) -> Self {
        self.0.absolute_lifetime = Some(cap);
        self
    }
    /// Refresh when less than this remains (default 30 min).
    pub fn refresh_threshold(mut self, threshold: Duration) -> Self {
        self.0.refresh_threshold = threshold;
        self
    }
    /// The cookie's name (default `session`). `__Host-` and `__Secure-` prefixes are checked.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.0.cookie.name = name.into();
        self
    }
    /// The cookie's `Path` (default `/`).
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.0.cookie.path = path.into();
        self
    }
    /// The cookie's `Domain` (default none: host-only, the safest).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.0.cookie.domain = Some(domain.into());
        self
    }
    /// The cookie's `SameSite` (default `Lax`).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.0.cookie.same_site = same_site;
        self
    }
    /// Drops the `Secure` attribute, so the cookie also travels over plain HTTP. Only for local
    /// development on a host browsers do not treat as secure.
    pub fn danger_insecure_cookie(mut self) -> Self {
        self.0.cookie.secure = false;
        self
    }
    /// Drops `HttpOnly`, so page scripts can read the session cookie.
    pub fn danger_script_readable_cookie(mut self) -> Self {
        self.0.cookie.http_only = false;
        self
    }
    /// What a save that lost a race does (default [`ConflictPolicy::Reject`]).
    pub fn on_conflict(mut self, on_conflict: ConflictPolicy) -> Self {
        self.0.on_conflict = on_conflict;
        self
    }

    /// Commit the session's changes even when the handler answers with a server error (5xx).
    /// Off by default, as users of tower-sessions expect: a request that failed half-way
    /// leaves the session as it was.
    pub fn commit_on_server_error(mut self, commit: bool) -> Self {
        self.0.commit_on_server_error = commit;
        self
    }
    /// The policy, or the first rule it breaks.
    pub fn build(self) -> Result<Policy, ConfigError> {
        if self.0.max_age.as_secs() == 0 {
            return Err(ConfigError::ZeroMaxAge);
        }
        self.0.cookie.validate()?;
        Ok(self.0)
    }
}
