//! [`AccessGuard`]: what a route that requires a session answers when there is none. Page
//! requests are redirected to the login page; API requests get 401 (as the Next.js apps this
//! framework grew from do: "verify the session optimistically, redirect to /login if missing").

/// The answer to a request that needs a session and has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// Redirect (303 See Other) to this location.
    Redirect(String),
    /// Answer 401 Unauthorized.
    Unauthorized,
}

impl Denial {
    /// The HTTP status to answer with: 303 See Other for a redirect, 401 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            Denial::Redirect(_) => 303,
            Denial::Unauthorized => 401,
        }
    }

    /// Where to redirect, if this is a redirect.
    pub fn location(&self) -> Option<&str> {
        match self {
            Denial::Redirect(location) => Some(location),
            Denial::Unauthorized => None,
        }
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denial::Redirect(_) => {
                f.write_str("a session is required: redirecting to the login page")
            }
            Denial::Unauthorized => f.write_str("a session is required"),
        }
    }
}

/// Decides between redirect and 401 for signed-out requests.
///
/// ```
/// use session_core::adapter::{AccessGuard, Denial};
/// let guard = AccessGuard::default();
/// assert_eq!(guard.deny("/dashboard", Some("text/html")), Denial::Redirect("/login".into()));
/// assert_eq!(guard.deny("/api/me", Some("text/html")), Denial::Unauthorized);
/// assert_eq!(guard.deny("/dashboard", Some("application/json")), Denial::Unauthorized);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGuard {
    login_path: String,
    api_prefixes: Vec<String>,
}

impl Default for AccessGuard {
    fn default() -> Self {
        AccessGuard {
            login_path: "/login".to_owned(),
            api_prefixes: vec!["/api/".to_owned()],
        }
    }
}

impl AccessGuard {
    /// Redirects page requests to `login_path`; paths under `/api/` are APIs.
    pub fn new(login_path: impl Into<String>) -> Self {
        AccessGuard {
            login_path: login_path.into(),
            ..AccessGuard::default()
        }
    }

    /// Treats paths starting with `prefix` as API paths (401 instead of a redirect). Replaces
    /// the default `/api/` the first time it is called.
    pub fn api_prefix(mut self, prefix: impl Into<String>) -> Self {
        if self.api_prefixes == ["/api/"] {
            self.api_prefixes.clear();
        }
        self.api_prefixes.push(prefix.into());
        self
    }

    /// The login page's path.
    pub fn login_path(&self) -> &str {
        &self.login_path
    }

    /// The answer for a signed-out request to `path` with this `Accept` header.
    pub fn deny(&self, path: &str, accept: Option<&str>) -> Denial {
        let is_api_path = self
            .api_prefixes
            .iter()
            .any(|p| path.starts_with(p.as_str()));
        let wants_json =
            accept.is_some_and(|a| a.contains("application/json") && !a.contains("text/html"));
        if is_api_path || wants_json {
            Denial::Unauthorized
        } else {
            Denial::Redirect(self.login_path.clone())
        }
    }
}
