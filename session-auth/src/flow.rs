//! The sign-in flow's browser binding: `state`, the PKCE verifier, the provider and `next`
//! sealed into a short-lived cookie set when the sign-in starts and checked (once) by the
//! callback.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax` (the provider's redirect back is a top-level GET,
//! which Lax lets through), scoped to the callback paths and sealed with AES-256-GCM, so the
//! browser holds the verifier without being able to read or change it. A flow is usable once:
//! the callback clears the cookie and remembers the flow's id until the cookie would have
//! expired, so a replayed callback (the same cookie and query again) is refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_core::codec::Sealer;
use session_core::UnixTime;
use subtle::ConstantTimeEq;

use crate::error::AuthError;

/// How long a sign-in may take between the start and the callback.
pub const DEFAULT_FLOW_LIFETIME: Duration = Duration::from_secs(600);

/// What the cookie carries (sealed).
#[derive(Serialize, Deserialize)]
pub(crate) struct Flow {
    /// Random; what replay protection remembers.
    pub(crate) id: String,
    pub(crate) state: String,
    pub(crate) verifier: String,
    pub(crate) provider: String,
    pub(crate) next: Option<String>,
    pub(crate) expires_at: u64,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("provider", &self.provider)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) struct FlowCookies {
    sealer: Sealer,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) secure: bool,
    pub(crate) lifetime: Duration,
    used: Mutex<HashMap<String, u64>>,
}

impl FlowCookies {
    pub(crate) fn new(sealer: Sealer, path: String, secure: bool, lifetime: Duration) -> Self {
        // `__Host-` needs `Path=/`; a cookie scoped to the callback paths takes `__Secure-`.
        let name = if secure {
            "__Secure-oauth-flow"
        } else {
            "oauth-flow"
        };
        FlowCookies {
            sealer,
            name: name.to_owned(),
            path,
            secure,
            lifetime,
            used: Mutex::new(HashMap::new()),
        }
    }

    fn aad(&self) -> Vec<u8> {
        format!("session-auth oauth flow\0{}", self.name).into_bytes()
    }

    /// The `Set-Cookie` value holding `flow`.
    pub(crate) fn set_cookie(&self, flow: &Flow) -> Result<String, AuthError> {
        let json = serde_json::to_vec(flow).map_err(|e| AuthError::Hook(Box::new(e)))?;
        let sealed = self
            .sealer
            .seal(&json, &self.aad())
            .map_err(|_| AuthError::Tokens(crate::error::TokenError::Seal))?;
        Ok(self.cookie(&sealed, self.lifetime.as_secs()))
    }

    /// The `Set-Cookie` value that removes the flow cookie.
    pub(crate) fn clear_cookie(&self) -> String {
        self.cookie("", 0)
    }

    fn cookie(&self, value: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.name, self.path
        )
    }

    /// The flow cookie's value among `Cookie` headers.
    pub(crate) fn find<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
    ) -> Option<&'a str> {
        cookie_headers
            .into_iter()
            .flat_map(|h| h.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value)
    }

    /// Opens the cookie and checks it against the callback's `state` and provider, then
    /// marks the flow used.
    pub(crate) fn redeem(
        &self,
        cookie: Option<&str>,
        state: &str,
        provider: &str,
        now: UnixTime,
    ) -> Result<Flow, AuthError> {
        let cookie = cookie
            .filter(|c| !c.is_empty())
            .ok_or(AuthError::FlowMissing)?;
        let json = self
            .sealer
            .open(cookie, &self.aad())
            .map_err(|_| AuthError::StateMismatch)?;
        let flow: Flow = serde_json::from_slice(&json).map_err(|_| AuthError::StateMismatch)?;
        let state_matches: bool = flow.state.as_bytes().ct_eq(state.as_bytes()).into();
        if !state_matches || flow.provider != provider {
            return Err(AuthError::StateMismatch);
        }
        if now.as_secs() >= flow.expires_at {
            return Err(AuthError::FlowExpired);
        }
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.retain(|_, expires| *expires > now.as_secs());
        if used.insert(flow.id.clone(), flow.expires_at).is_some() {
            return Err(AuthError::FlowReplayed);
        }
        Ok(flow)
    }
}

/// 32 random bytes, base64url.
pub(crate) fn random_id() -> Result<String, AuthError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| AuthError::Tokens(crate::error::TokenError::Seal))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::Secret;

    fn cookies() -> FlowCookies {
        let sealer = Sealer::new(&Secret::from_bytes(vec![7; 32]).unwrap());
        FlowCookies::new(sealer, "/auth".into(), false, DEFAULT_FLOW_LIFETIME)
    }

    fn flow(expires_at: u64) -> Flow {
        Flow {
            id: random_id().unwrap(),
            state: "state-1".into(),
            verifier: "verifier".into(),
            provider: "github".into(),
            next: None,
            expires_at,
        }
    }

    fn value(set_cookie: &str) -> &str {
        set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
    }

    #[test]
    fn a_flow_opens_once_with_its_state_and_provider() {
        let cookies = cookies();
        let now = UnixTime::from_secs(1_000);
        let set = cookies.set_cookie(&flow(1_600)).unwrap();
        assert!(set.contains("HttpOnly; SameSite=Lax") && set.contains("Path=/auth"));
        let sealed = value(&set);
        assert!(matches!(
            cookies.redeem(Some(sealed), "other", "github", now),
            Err(AuthError::StateMismatch)
        ));
        assert!(matches!(
            cookies.redeem(Some(sealed), "state-1", "vercel", now),
            Err(AuthError::StateMismatch)
        ));
        assert!(cookies
            .redeem(Some(sealed), "state-1", "github", now)
            .is_ok());
        assert!(matches!(
            cookies.redeem(Some(sealed), "state-1", "github", now),
            Err(AuthError::FlowReplayed)
        ));
    }

    #[test]
    fn an_expired_missing_or_forged_flow_is_refused() {
        let cookies = cookies();
        let set = cookies.set_cookie(&flow(1_600)).unwrap();
        assert!(matches!(
            cookies.redeem(
                Some(value(&set)),
                "state-1",
                "github",
                UnixTime::from_secs(1_600)
            ),
            Err(AuthError::FlowExpired)
        ));
        assert!(matches!(
            cookies.redeem(None, "state-1", "github", UnixTime::from_secs(1)),
            Err(AuthError::FlowMissing)
        ));
        assert!(matches!(
            cookies.redeem(
                Some("v1.x.y.z"),
                "state-1",
                "github",
                UnixTime::from_secs(1)
            ),
            Err(AuthError::StateMismatch)
        ));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let cookies = cookies();
        assert_eq!(
            cookies.find(["a=1; oauth-flow=v1.abc", "b=2"]),
            Some("v1.abc")
        );
        assert_eq!(cookies.find(["xoauth-flow=1"]), None);
    }
}
