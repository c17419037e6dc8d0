//! Cross-site request forgery ([S-27]): the origin check every adapter runs before a handler,
//! and the session-bound token for forms.
//!
//! A browser attaches the session cookie to any request to this site, including a form another
//! site posts. `SameSite=Lax` stops most of those, but not all (a sibling subdomain is the same
//! site; older browsers ignore it), so it is defence in depth, not the defence. The check here
//! decides from the headers browsers set and pages cannot forge:
//!
//! 1. A safe method (`GET`, `HEAD`, `OPTIONS`, `TRACE`) passes: it must not change anything.
//! 2. A request without the session cookie passes: there is no ambient credential to abuse
//!    (the adapters only check requests that carry it).
//! 3. A request with `Authorization: Bearer` passes: a cross-site page cannot set that header
//!    without the server's CORS consent, so the request is not a forgery of a form.
//! 4. `Sec-Fetch-Site: same-origin` (or `none`, a navigation the user started) passes;
//!    `same-site` or `cross-site` is refused unless `Origin` is one of the allowed origins.
//! 5. Otherwise `Origin`, or without it the origin of `Referer`, must be this site's (its
//!    authority equals the `Host` header) or one of the allowed origins. `Origin: null` (a
//!    sandboxed frame, a `data:` page) is refused.
//! 6. A request with none of these headers follows the configured [`WithoutOrigin`] rule:
//!    allowed by default (non-browser clients send none), refused in strict mode.
//!
//! A refused request is answered 403 before any handler runs, without touching the session, and
//! logged once at WARN with its reason ([`CsrfRefusal::reason`]), never a header's value.
//!
//! For forms, [`Session::csrf_token`](crate::Session::csrf_token) gives a token bound to the
//! session (an HMAC of its key: a new one after every sign-in and renewal) and
//! [`Session::verify_csrf_token`](crate::Session::verify_csrf_token) checks one in constant
//! time.
//!
//! [S-27]: crate::manual::security

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::id::SessionKey;
use crate::secret::{KeyPurpose, Secret};

/// What the CSRF check reads from a request: its method and the headers that say where it came
/// from. Adapters fill it from their framework's request; absent or non-UTF-8 headers are `None`.
///
/// ```
/// use session_core::adapter::CsrfRequest;
///
/// let request = CsrfRequest {
///     method: "POST",
///     host: Some("app.example"),
///     origin: Some("https://evil.example"),
///     ..CsrfRequest::default()
/// };
/// assert_eq!(request.method, "POST");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsrfRequest<'a> {
    /// The request method, as sent (`POST`).
    pub method: &'a str,
    /// The `Host` header (or HTTP/2's `:authority`).
    pub host: Option<&'a str>,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Referer` header.
    pub referer: Option<&'a str>,
    /// The `Sec-Fetch-Site` header.
    pub sec_fetch_site: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
}

impl<'a> CsrfRequest<'a> {
    /// The request with `method` whose headers `header` returns by lowercase name (`host`,
    /// `origin`, `referer`, `sec-fetch-site`, `authorization`): how adapters build it, so each
    /// reads the same headers.
    ///
    /// ```
    /// use session_core::adapter::CsrfRequest;
    /// let headers = [("host", "app.example"), ("origin", "https://app.example")];
    /// let request = CsrfRequest::from_headers("POST", |name| {
    ///     headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    /// });
    /// assert_eq!(request.origin, Some("https://app.example"));
    /// assert_eq!(request.referer, None);
    /// ```
    pub fn from_headers(method: &'a str, header: impl Fn(&'static str) -> Option<&'a str>) -> Self {
        CsrfRequest {
            method,
            host: header("host"),
            origin: header("origin"),
            referer: header("referer"),
            sec_fetch_site: header("sec-fetch-site"),
            authorization: header("authorization"),
        }
    }
}

/// Why a request was refused as a possible forgery (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CsrfRefusal {
    /// `Sec-Fetch-Site` said `cross-site` or `same-site`, and `Origin` is not allowed.
    CrossSite,
    /// `Origin` names another origin than this site's and the allowed ones (or is `null`).
    ForeignOrigin,
    /// Without `Origin`, `Referer` names another origin (or is not a URL).
    ForeignReferer,
    /// None of `Sec-Fetch-Site`, `Origin` and `Referer`, under [`WithoutOrigin::Refuse`].
    NoOrigin,
    /// A form's token is missing, malformed, or belongs to another session.
    BadToken,
}

impl CsrfRefusal {
    /// The reason logged with the refusal: `cross_site`, `foreign_origin`, `foreign_referer`,
    /// `no_origin` or `bad_token`.
    ///
    /// ```
    /// use session_core::adapter::CsrfRefusal;
    /// assert_eq!(CsrfRefusal::CrossSite.reason(), "cross_site");
    /// ```
    pub fn reason(self) -> &'static str {
        match self {
            CsrfRefusal::CrossSite => "cross_site",
            CsrfRefusal::ForeignOrigin => "foreign_origin",
            CsrfRefusal::ForeignReferer => "foreign_referer",
            CsrfRefusal::NoOrigin => "no_origin",
            CsrfRefusal::BadToken => "bad_token",
        }
    }

    /// The status adapters answer with: 403.
    pub fn status_code(self) -> u16 {
        403
    }
}

impl fmt::Display for CsrfRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused as a cross-site request forgery ({})",
            self.reason()
        )
    }
}

impl std::error::Error for CsrfRefusal {}

/// What to do with an unsafe request that carries the session cookie but none of
/// `Sec-Fetch-Site`, `Origin` and `Referer`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WithoutOrigin {
    /// Let it through (the default): every current browser sends `Origin` on a cross-site
    /// `POST`, so such a request comes from a non-browser client, an old browser, or a proxy
    /// that strips headers. Pair with the form token for old browsers.
    #[default]
    Allow,
    /// Refuse it (strict mode): for apps whose clients are all current browsers.
    Refuse,
}

/// An allowed origin was not `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an allowed origin must be scheme://host[:port] with no path, got {0:?}")]
pub struct InvalidOrigin(String);

/// The CSRF check's configuration: on by default, for this site's own origin (the `Host`
/// header), allowing requests without origin headers.
///
/// ```
/// use session_core::adapter::{CsrfRefusal, CsrfRequest};
/// use session_core::config::{CsrfProtection, WithoutOrigin};
///
/// let csrf = CsrfProtection::new()
///     .allow_origin("https://admin.example")?
///     .without_origin(WithoutOrigin::Refuse);
/// let post = |origin| CsrfRequest {
///     method: "POST",
///     host: Some("app.example"),
///     origin,
///     ..CsrfRequest::default()
/// };
/// assert_eq!(csrf.check(&post(Some("https://app.example"))), Ok(()));
/// assert_eq!(csrf.check(&post(Some("https://admin.example"))), Ok(()));
/// assert_eq!(csrf.check(&post(Some("https://evil.example"))), Err(CsrfRefusal::ForeignOrigin));
/// assert_eq!(csrf.check(&post(None)), Err(CsrfRefusal::NoOrigin));
/// # Ok::<(), session_core::config::InvalidOrigin>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfProtection {
    enabled: bool,
    /// Lowercase `scheme://authority`.
    allowed: Vec<String>,
    without_origin: WithoutOrigin,
}

impl Default for CsrfProtection {
    fn default() -> Self {
        Self::new()
    }
}

impl CsrfProtection {
    /// The default: on, this site's origin only, requests without origin headers allowed.
    pub fn new() -> Self {
        CsrfProtection {
            enabled: true,
            allowed: Vec::new(),
            without_origin: WithoutOrigin::Allow,
        }
    }

    /// No check at all: for an app that does its own (the form token still works).
    ///
    /// ```
    /// use session_core::adapter::CsrfRequest;
    /// use session_core::config::CsrfProtection;
    /// let forged = CsrfRequest { method: "POST", origin: Some("https://evil.example"), ..Default::default() };
    /// assert_eq!(CsrfProtection::disabled().check(&forged), Ok(()));
    /// ```
    pub fn disabled() -> Self {
        CsrfProtection {
            enabled: false,
            ..Self::new()
        }
    }

    /// Also accept requests from `origin` (`https://host[:port]`), such as a separate front-end
    /// site that posts to this one.
    ///
    /// # Errors
    ///
    /// [`InvalidOrigin`] when `origin` is not `scheme://host[:port]` (a path, a query or a
    /// missing scheme).
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, InvalidOrigin> {
        let normalized = origin_of(origin)
            .filter(|o| o.len() == origin.trim_end_matches('/').len())
            .ok_or_else(|| InvalidOrigin(origin.to_owned()))?;
        self.allowed.push(normalized);
        Ok(self)
    }

    /// What to do with unsafe requests that carry no origin header at all (default
    /// [`WithoutOrigin::Allow`]).
    pub fn without_origin(mut self, rule: WithoutOrigin) -> Self {
        self.without_origin = rule;
        self
    }

    /// Whether the check runs at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The decision for a request that carries the session cookie, as the module docs describe.
    /// Pure: nothing is logged (the manager logs refusals where adapters call it).
    ///
    /// # Errors
    ///
    /// The [`CsrfRefusal`] saying why the request looks forged.
    pub fn check(&self, request: &CsrfRequest<'_>) -> Result<(), CsrfRefusal> {
        if !self.enabled || is_safe(request.method) || is_bearer(request.authorization) {
            return Ok(());
        }
        let origin = request.origin.map(str::trim);
        match request.sec_fetch_site.map(str::trim) {
            Some(site) if site.eq_ignore_ascii_case("same-origin") => return Ok(()),
            Some(site) if site.eq_ignore_ascii_case("none") => return Ok(()),
            Some(site)
                if site.eq_ignore_ascii_case("same-site")
                    || site.eq_ignore_ascii_case("cross-site") =>
            {
                let allowed = origin
                    .and_then(origin_of)
                    .is_some_and(|o| self.allowed.contains(&o));
                return if allowed {
                    Ok(())
                } else {
                    Err(CsrfRefusal::CrossSite)
                };
            }
            // An unknown value says nothing: decide on the other headers.
            _ => {}
        }
        if let Some(origin) = origin {
            return if self.is_own(origin, request.host) {
                Ok(())
            } else {
                Err(CsrfRefusal::ForeignOrigin)
            };
        }
        if let Some(referer) = request.referer.map(str::trim) {
            return if self.is_own(referer, request.host) {
                Ok(())
            } else {
                Err(CsrfRefusal::ForeignReferer)
            };
        }
        match self.without_origin {
            WithoutOrigin::Allow => Ok(()),
            WithoutOrigin::Refuse => Err(CsrfRefusal::NoOrigin),
        }
    }

    /// Whether `url`'s origin is this site's (its authority is the `Host`) or an allowed one.
    fn is_own(&self, url: &str, host: Option<&str>) -> bool {
        let Some(origin) = origin_of(url) else {
            return false;
        };
        if self.allowed.contains(&origin) {
            return true;
        }
        let authority = origin.split_once("://").map_or("", |(_, a)| a);
        host.is_some_and(|host| host.trim().eq_ignore_ascii_case(authority))
    }
}

fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// `Authorization: Bearer ...` (the scheme in any case). Basic credentials are not enough: a
/// browser sends cached ones by itself, like a cookie.
fn is_bearer(authorization: Option<&str>) -> bool {
    authorization
        .and_then(|value| value.trim_start().split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
}

/// The lowercase `scheme://authority` of an absolute `http(s)` URL, without user info; `None`
/// for anything else (`null`, a relative path, another scheme, an empty host).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if authority.is_empty() || authority.contains(|c: char| c.is_whitespace() || c == '\\') {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// The keys of form tokens: HMAC-SHA256 of a session's key, under keys derived from a secret
/// (HKDF label `csrf form token`). The first makes tokens; every key verifies them, so a
/// rotation of the secret keeps the forms already rendered valid.
#[derive(Clone)]
pub(crate) struct CsrfTokenKey(Vec<Hmac<Sha256>>);

impl fmt::Debug for CsrfTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfTokenKey(<redacted>)")
    }
}

impl CsrfTokenKey {
    pub(crate) fn new(secret: &Secret) -> Self {
        CsrfTokenKey(vec![Self::mac(&secret.derive(KeyPurpose::CsrfToken))])
    }

    /// The keys from ones already derived for [`KeyPurpose::CsrfToken`], the one that makes
    /// tokens first; `None` for none.
    pub(crate) fn from_derived(keys: &[Secret]) -> Option<Self> {
        (!keys.is_empty()).then(|| CsrfTokenKey(keys.iter().map(Self::mac).collect()))
    }

    fn mac(key: &Secret) -> Hmac<Sha256> {
        // Invariant: HMAC accepts a key of any length.
        Hmac::<Sha256>::new_from_slice(key.expose()).expect("HMAC takes a key of any length")
    }

    fn tag(key: &Hmac<Sha256>, session: &SessionKey) -> [u8; 32] {
        let mut mac = key.clone();
        mac.update(b"csrf\0");
        mac.update(session.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The token of `session`: 43 base64url characters.
    pub(crate) fn token(&self, session: &SessionKey) -> String {
        crate::b64::encode(&Self::tag(&self.0[0], session))
    }

    /// Whether `presented` is `session`'s token under any of the keys, each compared in
    /// constant time.
    pub(crate) fn verify(&self, session: &SessionKey, presented: &str) -> bool {
        let Some(tag) = crate::b64::decode_array::<32>(presented.trim()) else {
            return false;
        };
        self.0.iter().fold(false, |found, key| {
            found | bool::from(tag.ct_eq(&Self::tag(key, session)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post<'a>(host: &'a str) -> CsrfRequest<'a> {
        CsrfRequest {
            method: "POST",
            host: Some(host),
            ..CsrfRequest::default()
        }
    }

    #[test]
    fn the_decision_table() {
        let csrf = CsrfProtection::new();
        let strict = CsrfProtection::new().without_origin(WithoutOrigin::Refuse);
        let host = "app.example:8443";
        let cases: Vec<(CsrfRequest, Result<(), CsrfRefusal>)> = vec![
            (
                CsrfRequest {
                    method: "GET",
                    origin: Some("https://evil.example"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    method: "HEAD",
                    sec_fetch_site: Some("cross-site"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    origin: Some("https://app.example:8443"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    origin: Some("HTTPS://APP.EXAMPLE:8443"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    origin: Some("https://app.example"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    origin: Some("https://evil.example"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    origin: Some("null"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    origin: Some("https://app.example:8443.evil.example"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    origin: Some("https://app.example:8443@evil.example"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    sec_fetch_site: Some("cross-site"),
                    origin: Some("https://app.example:8443"),
                    ..post(host)
                },
                Err(CsrfRefusal::CrossSite),
            ),
            (
                CsrfRequest {
                    sec_fetch_site: Some("same-site"),
                    ..post(host)
                },
                Err(CsrfRefusal::CrossSite),
            ),
            (
                CsrfRequest {
                    sec_fetch_site: Some("same-origin"),
                    origin: Some("https://evil.example"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    sec_fetch_site: Some("none"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    sec_fetch_site: Some("bogus"),
                    origin: Some("https://evil.example"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    referer: Some("https://app.example:8443/form?x=1"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    referer: Some("https://evil.example/app.example:8443"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignReferer),
            ),
            (
                CsrfRequest {
                    referer: Some("/relative"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignReferer),
            ),
            (
                CsrfRequest {
                    origin: Some("https://evil.example"),
                    authorization: Some("Bearer sat_x"),
                    ..post(host)
                },
                Ok(()),
            ),
            (
                CsrfRequest {
                    origin: Some("https://evil.example"),
                    authorization: Some("Basic dTpw"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (
                CsrfRequest {
                    method: "DELETE",
                    origin: Some("https://evil.example"),
                    ..post(host)
                },
                Err(CsrfRefusal::ForeignOrigin),
            ),
            (post(host), Ok(())),
        ];
        for (request, expected) in &cases {
            assert_eq!(csrf.check(request), *expected, "{request:?}");
        }
        assert_eq!(strict.check(&post(host)), Err(CsrfRefusal::NoOrigin));
        assert_eq!(
            CsrfProtection::disabled().check(&CsrfRequest {
                origin: Some("https://evil.example"),
                ..post(host)
            }),
            Ok(())
        );
    }

    #[test]
    fn allowed_origins_are_exact_origins() {
        let csrf = CsrfProtection::new()
            .allow_origin("https://Front.example")
            .unwrap();
        let from = |origin| CsrfRequest {
            origin: Some(origin),
            ..post("api.example")
        };
        assert_eq!(csrf.check(&from("https://front.example")), Ok(()));
        assert_eq!(
            csrf.check(&from("http://front.example")),
            Err(CsrfRefusal::ForeignOrigin)
        );
        let cross = CsrfRequest {
            sec_fetch_site: Some("cross-site"),
            ..from("https://front.example")
        };
        assert_eq!(csrf.check(&cross), Ok(()));
        for bad in [
            "front.example",
            "https://front.example/path",
            "ftp://x",
            "https://",
            "null",
        ] {
            assert!(CsrfProtection::new().allow_origin(bad).is_err(), "{bad}");
        }
        assert!(CsrfProtection::new()
            .allow_origin("https://front.example/")
            .is_ok());
    }

    #[test]
    fn tokens_are_bound_to_the_session_key_and_checked_whole() {
        let key = CsrfTokenKey::new(&Secret::from_bytes(vec![9; 32]).unwrap());
        let (a, b) = (
            crate::store::SessionId::generate().key(),
            crate::store::SessionId::generate().key(),
        );
        let token = key.token(&a);
        assert_eq!(token.len(), 43);
        assert!(key.verify(&a, &token));
        assert!(!key.verify(&b, &token), "another session's token");
        assert!(!key.verify(&a, &token[..42]));
        assert!(!key.verify(&a, ""));
        assert!(!key.verify(&a, &format!("{token}=")));
        let other = CsrfTokenKey::new(&Secret::from_bytes(vec![8; 32]).unwrap());
        assert!(!other.verify(&a, &token), "another secret's token");
        assert_eq!(format!("{key:?}"), "CsrfTokenKey(<redacted>)");
    }

    #[test]
    fn a_ring_makes_tokens_with_its_first_key_and_verifies_with_all() {
        let derived = |byte| Secret::from_bytes(vec![byte; 32]).unwrap();
        let session = crate::store::SessionId::generate().key();
        let old = CsrfTokenKey::from_derived(&[derived(1)]).unwrap();
        let rotated = CsrfTokenKey::from_derived(&[derived(2), derived(1)]).unwrap();
        let removed = CsrfTokenKey::from_derived(&[derived(2)]).unwrap();
        let old_token = old.token(&session);
        assert!(rotated.verify(&session, &old_token));
        assert!(
            !removed.verify(&session, &old_token),
            "a removed key verifies nothing"
        );
        assert_eq!(rotated.token(&session), removed.token(&session));
        assert!(CsrfTokenKey::from_derived(&[]).is_none());
    }
}
