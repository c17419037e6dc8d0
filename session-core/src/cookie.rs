//! The session cookie: its name and attributes ([`CookieOptions`], [`SameSite`]), the
//! `__Host-`/`__Secure-` rules, `Set-Cookie` and removal-cookie formatting, finding the cookie in
//! a `Cookie` header, and the 4096-byte limit ([`CookieTooLarge`]). The policy
//! ([`SessionPolicy::cookie`](crate::config::SessionPolicy::cookie)) holds one; the manager formats
//! every `Set-Cookie` through it.

use std::time::Duration;

use crate::policy::ConfigError;

/// Default cookie name.
pub const DEFAULT_COOKIE_NAME: &str = "session";

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

/// The session cookie's name and attributes ([C10]). Defaults: `session`, `HttpOnly`, `Secure`,
/// `SameSite=Lax`, `Path=/`, no `Domain`.
///
/// [C10]: crate::manual::contracts#c10
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    // Set by `PolicyBuilder`, whose `build` checks them with `validate`.
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
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
    /// never a cookie the browser would silently drop ([S-26]).
    ///
    /// [S-26]: crate::manual::contracts#s-26
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
    /// expiry in the past ([C7]).
    ///
    /// [C7]: crate::manual::contracts#c7
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
    /// use session_core::config::CookieOptions;
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

    /// The first cookie rule these options break ([S-25]): name and attribute syntax, the
    /// `__Host-` and `__Secure-` prefixes, `SameSite=None` without `Secure`.
    ///
    /// [S-25]: crate::manual::contracts#s-25
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Policy, SessionPolicy};

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
