//! "Sign in with GitHub / Vercel": the providers the demo offers and where they live.
//!
//! With `GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET` (or `VERCEL_CLIENT_ID` and
//! `VERCEL_CLIENT_SECRET`) set, that provider is the real one; otherwise the demo starts the
//! stand-in provider on loopback and signs in through it, so the flow works with no network.
//! `PUBLIC_URL` is the origin the providers redirect back to (default
//! `http://127.0.0.1:<port>`; register `<PUBLIC_URL>/auth/<provider>/callback` at the provider).

use std::sync::Arc;

use session_adapters::auth::tokens::TokenStore;
use session_adapters::auth::{OAuth, Provider};
use session_adapters::Secret;
use session_auth::standin::{
    StandIn, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The demo's OAuth setup, and the stand-in when one runs.
pub(crate) struct SignIn {
    pub(crate) oauth: OAuth,
    pub(crate) standin: Option<Arc<StandIn>>,
    /// Which providers are the stand-in (shown on the pages).
    pub(crate) simulated: Vec<&'static str>,
}

fn real(id_var: &str, secret_var: &str) -> Option<(String, String)> {
    Some((std::env::var(id_var).ok()?, std::env::var(secret_var).ok()?))
}

/// The providers from the environment, a stand-in for the missing ones.
pub(crate) async fn configure(
    secret: &Secret,
    port: u16,
    tokens: impl TokenStore,
) -> Result<SignIn, BoxError> {
    let public = std::env::var("PUBLIC_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"));
    let github = real("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET");
    let vercel = real("VERCEL_CLIENT_ID", "VERCEL_CLIENT_SECRET");
    let standin = if github.is_none() || vercel.is_none() {
        Some(Arc::new(StandIn::start().await?))
    } else {
        None
    };
    let mut simulated = Vec::new();
    let local = || {
        standin
            .as_deref()
            .ok_or("the stand-in provider did not start")
    };
    let github = match github {
        Some((id, secret)) => Provider::github(id, secret),
        None => {
            simulated.push("github");
            let s = local()?;
            Provider::github(GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)
                .with_base_urls(&s.github_web_base(), &s.github_api_base())?
        }
    };
    let vercel = match vercel {
        Some((id, secret)) => Provider::vercel(id, secret),
        None => {
            simulated.push("vercel");
            let s = local()?;
            Provider::vercel(VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET)
                .with_base_urls(&s.vercel_web_base(), &s.vercel_api_base())?
        }
    };
    let mut builder = OAuth::builder(secret, &public)?
        .provider(github)
        .provider(vercel)
        .token_store(tokens)
        .revoke_on_sign_out(true);
    if let Some(standin) = &standin {
        // Token lifetimes run on the stand-in's clock, so "advance the clock" on the dashboard
        // expires the access token for the app and the provider alike.
        builder = builder.token_clock(Arc::new(standin.clock()));
        println!(
            "stand-in provider for {} on {}",
            simulated.join(" and "),
            standin.base_url()
        );
    }
    Ok(SignIn {
        oauth: builder.build(),
        standin,
        simulated,
    })
}
