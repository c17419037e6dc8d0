//! Expiry, refresh and cookie options: the [`SessionPolicy`] trait (**API boundary**) and its
//! default implementation [`Policy`], built with [`Policy::builder`].

use std::fmt;
use std::time::Duration;

use crate::codec::RejectReason;
use crate::record::SessionRecord;
use crate::time::UnixTime;

/// Default sliding lifetime: 24 hours (C3). `Policy::builder().max_age(7 * DAY)` for a week.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Default refresh threshold: 30 minutes before expiry (C4).
pub const DEFAULT_REFRESH_THRESHOLD: Duration = Duration::from_secs(30 * 60);
/// Default cookie name.
pub const DEFAULT_COOKIE_NAME: &str = "session";
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
    /// The hard cap from creation that no refresh extends (S-19).
    fn absolute_lifetime(&self) -> Option<Duration>;
    /// Refresh when less than this remains (C4).
    fn refresh_threshold(&self) -> Duration;
    /// The cookie's name and attributes.
    fn cookie(&self) -> &CookieOptions;
    /// What a save that lost a race does (C8).
    fn on_conflict(&self) -> ConflictPolicy;

    /// Whether a handler's server error (5xx) still commits the session's changes (C18). The
    /// default is no: a sign-in that failed half-way must not leave a session behind.
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
    /// imported tokens are capped too (S-19).
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

    /// Whether a request at `now` should extend the session (C4, S-20, S-22): less than the
    /// threshold remains and a refresh would actually extend it, or half the idle timeout has
    /// passed since it was last seen.
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

/// What happens when a save finds that another request changed a key it read or wrote (C8).
///
/// Either way, requests that touched different keys are merged and both succeed, and a request
/// that only refreshed the session never fails: the policy decides only real overlaps.
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

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Also sent on top-level cross-site navigations (the default).
    Lax,
    /// Sent on every request; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The session cookie's name and attributes (C10). Defaults: `session`, `HttpOnly`, `Secure`,
/// `SameSite=Lax`, `Path=/`, no `Domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    name: String,
    path: String,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }
}

/// The largest `name=value` a browser stores (RFC 6265bis §5.6).
pub const MAX_COOKIE_SIZE: usize = 4096;

impl CookieOptions {
    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Path` attribute.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Domain` attribute, if any.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// `Set-Cookie` for `value`, living `max_age`. A `name=value` over 4096 bytes is an error,
    /// never a cookie the browser would silently drop (S-26).
    pub fn set_cookie(&self, value: &str, max_age: Duration) -> Result<String, CookieTooLarge> {
        let size = self.name.len() + 1 + value.len();
        if size > MAX_COOKIE_SIZE {
            return Err(CookieTooLarge {
                size,
                limit: MAX_COOKIE_SIZE,
            });
        }
        let mut out = String::with_capacity(size + 96);
        out.push_str(&self.name);
        out.push('=');
        out.push_str(value);
        out.push_str("; Max-Age=");
        out.push_str(&max_age.as_secs().to_string());
        self.push_attributes(&mut out);
        Ok(out)
    }

    /// The `Set-Cookie` that removes the cookie: same name, path and domain, `Max-Age=0` and an
    /// expiry in the past (C7).
    pub fn removal_cookie(&self) -> String {
        let mut out = String::with_capacity(self.name.len() + 128);
        out.push_str(&self.name);
        out.push_str("=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        self.push_attributes(&mut out);
        out
    }

    fn push_attributes(&self, out: &mut String) {
        out.push_str("; Path=");
        out.push_str(&self.path);
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        out.push_str("; SameSite=");
        out.push_str(self.same_site.as_str());
    }

    /// The value of this cookie in a `Cookie` request header, if present (the first occurrence).
    ///
    /// ```
    /// use session_core::CookieOptions;
    /// let opts = CookieOptions::default();
    /// assert_eq!(opts.find_in_header("a=1; session=xyz; b=2"), Some("xyz"));
    /// assert_eq!(opts.find_in_header("sessionx=1"), None);
    /// ```
    pub fn find_in_header<'h>(&self, header: &'h str) -> Option<&'h str> {
        header.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name.trim() == self.name).then(|| value.trim())
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let valid_name = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !valid_name {
            return Err(ConfigError::InvalidCookieName);
        }
        if !self.path.starts_with('/') || self.path.contains([';', '\r', '\n']) {
            return Err(ConfigError::InvalidCookiePath);
        }
        if let Some(domain) = &self.domain {
            if domain.is_empty() || domain.contains([';', ' ', '\r', '\n']) {
                return Err(ConfigError::InvalidCookieDomain);
            }
        }
        if self.name.starts_with("__Host-") {
            if !self.secure {
                return Err(ConfigError::PrefixRequiresSecure("__Host-"));
            }
            if self.path != "/" {
                return Err(ConfigError::HostPrefixRequiresRootPath);
            }
            if self.domain.is_some() {
                return Err(ConfigError::HostPrefixForbidsDomain);
            }
        }
        if self.name.starts_with("__Secure-") && !self.secure {
            return Err(ConfigError::PrefixRequiresSecure("__Secure-"));
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(ConfigError::SameSiteNoneRequiresSecure);
        }
        Ok(())
    }
}

/// A cookie that browsers would drop because `name=value` exceeds 4096 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session cookie too large: {size} bytes, the limit is {limit}")]
pub struct CookieTooLarge {
    /// Size of `name=value` in bytes.
    pub size: usize,
    /// The limit.
    pub limit: usize,
}

/// A policy the builder refuses, caught at start-up instead of as a silent logout loop (S-25).
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
/// use session_core::{Policy, SessionPolicy};
/// use std::time::Duration;
/// let week = Policy::builder().max_age(Duration::from_secs(7 * 24 * 3600)).build()?;
/// assert_eq!(week.cookie().name(), "session");
/// assert!(Policy::builder().cookie_name("__Host-session").cookie_domain("example.com").build().is_err());
/// # Ok::<(), session_core::ConfigError>(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_prefix_rules_are_enforced() {
        let b = || Policy::builder();
        assert_eq!(
            b().cookie_name("__Host-s")
                .cookie_domain("example.com")
                .build()
                .unwrap_err(),
            ConfigError::HostPrefixForbidsDomain
        );
        assert_eq!(
            b().cookie_name("__Host-s")
                .cookie_path("/app")
                .build()
                .unwrap_err(),
            ConfigError::HostPrefixRequiresRootPath
        );
        assert_eq!(
            b().cookie_name("__Host-s")
                .danger_insecure_cookie()
                .build()
                .unwrap_err(),
            ConfigError::PrefixRequiresSecure("__Host-")
        );
        assert_eq!(
            b().cookie_name("__Secure-s")
                .danger_insecure_cookie()
                .build()
                .unwrap_err(),
            ConfigError::PrefixRequiresSecure("__Secure-")
        );
        assert_eq!(
            b().same_site(SameSite::None)
                .danger_insecure_cookie()
                .build()
                .unwrap_err(),
            ConfigError::SameSiteNoneRequiresSecure
        );
        assert_eq!(
            b().cookie_name("a b").build().unwrap_err(),
            ConfigError::InvalidCookieName
        );
        assert!(b().cookie_name("__Host-session").build().is_ok());
    }

    #[test]
    fn default_cookie_attributes() {
        let p = Policy::default();
        let c = p.cookie().set_cookie("v", Duration::from_secs(60)).unwrap();
        assert_eq!(
            c,
            "session=v; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            p.cookie().removal_cookie(),
            "session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn oversized_cookies_are_an_error() {
        let p = Policy::default();
        let fits = "v".repeat(MAX_COOKIE_SIZE - "session=".len());
        assert!(p.cookie().set_cookie(&fits, Duration::ZERO).is_ok());
        let err = p
            .cookie()
            .set_cookie(&format!("{fits}v"), Duration::ZERO)
            .unwrap_err();
        assert_eq!(
            err,
            CookieTooLarge {
                size: 4097,
                limit: 4096
            }
        );
    }
}
