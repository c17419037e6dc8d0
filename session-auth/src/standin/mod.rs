//! A local stand-in for GitHub and Vercel: an HTTP server on loopback that answers like their
//! OAuth endpoints, quirks included, so the sign-in flow can be tested (and demonstrated)
//! without the network or real accounts.
//!
//! There is no consent screen: the authorize endpoints redirect back with a code at once, for
//! the user set in the configuration (or with [`StandIn::set_github_user`] and
//! [`StandIn::set_vercel_user`]). Token lifetimes run on the stand-in's own clock, which
//! [`StandIn::advance`] moves on; [`StandIn::set_fault`] makes the API endpoints fail.
//!
//! | GitHub (`/github`)                        | Vercel (`/vercel`)                    |
//! |-------------------------------------------|---------------------------------------|
//! | `GET /login/oauth/authorize`              | `GET /oauth/authorize` (PKCE required)|
//! | `POST /login/oauth/access_token`          | `POST /api/login/oauth/token`         |
//! | `GET /api/user`, `GET /api/user/emails`   | `GET /api/login/oauth/userinfo`       |
//! | `DELETE /api/applications/{id}/token`     | `POST /api/login/oauth/token/revoke`  |
//!
//! The quirks: GitHub's token endpoint answers errors with `200 OK` and an `error` field, and
//! answers form-encoded unless the request has `Accept: application/json`; GitHub's API
//! refuses requests without a `User-Agent` (403); Vercel rotates refresh tokens, so a used one
//! is refused (`400 invalid_grant`). `/_standin/advance?seconds=N`, `/_standin/stats`,
//! `/_standin/fault?kind=...` and `/_standin/expire` control it over HTTP.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use session_auth::standin::{StandIn, StandInProvider};
//! use std::time::Duration;
//!
//! let standin = StandIn::start().await?;
//! let authorize = format!("{}/login/oauth/authorize", standin.github_web_base());
//! // ... sign in through `authorize`, then an hour later:
//! standin.advance(Duration::from_secs(3600));
//! assert_eq!(standin.stats(StandInProvider::GitHub).refreshes, 0);
//! # Ok(()) }
//! ```

mod admin;
mod config;
mod flow;
mod github;
mod state;
mod vercel;
mod wire;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::Serialize;
use session_core::UnixTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use config::{
    GitHubConfig, GitHubEmail, GitHubUser, StandInConfig, VercelConfig, VercelUser,
    GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET,
};
pub use state::StandInClock;

use state::Shared;

/// How the API endpoints (token, user, emails, userinfo, revoke) misbehave. The authorize
/// endpoints are never affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answer normally.
    #[default]
    None,
    /// `503 Service Unavailable` with a short text body.
    Down,
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// `200 OK`, `text/html`, body `<html>oops</html>`.
    Garbage,
}

/// Which of the two providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandInProvider {
    /// The GitHub stand-in.
    GitHub,
    /// The Vercel stand-in.
    Vercel,
}

/// Requests one provider has answered, by endpoint, whatever their outcome (requests a
/// [`Fault`] answered are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Authorize requests.
    pub authorize: u64,
    /// Token requests with `grant_type=authorization_code` (or none, at GitHub).
    pub code_exchanges: u64,
    /// Token requests with `grant_type=refresh_token`.
    pub refreshes: u64,
    /// User requests: GitHub's `/user` and `/user/emails`, Vercel's userinfo.
    pub user_requests: u64,
    /// Revocation requests.
    pub revocations: u64,
    /// API requests refused (a token error, a bad or missing token, bad client credentials).
    pub rejected: u64,
}

/// The stand-in server. It runs on the Tokio runtime it was started on, until dropped (or
/// [`shutdown`](StandIn::shutdown)).
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for StandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandIn")
            .field("base_url", &self.base_url())
            .field("clock", &self.shared.clock)
            .finish_non_exhaustive()
    }
}

impl StandIn {
    /// Starts the stand-in on `127.0.0.1`, any free port, with the default configuration.
    pub async fn start() -> std::io::Result<StandIn> {
        StandIn::start_with(StandInConfig::default()).await
    }

    /// Starts the stand-in on `127.0.0.1:{config.port}` (0: any free port).
    pub async fn start_with(config: StandInConfig) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                // Dropping the sender stops the server too.
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::warn!(%error, "the stand-in provider stopped");
            }
        });
        Ok(StandIn {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// Stops the server (as dropping it does).
    pub fn shutdown(self) {
        drop(self);
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where GitHub's web endpoints (authorize, access token) live: `{base}/github`.
    pub fn github_web_base(&self) -> String {
        format!("{}/github", self.base_url())
    }

    /// Where GitHub's REST API lives: `{base}/github/api`.
    pub fn github_api_base(&self) -> String {
        format!("{}/github/api", self.base_url())
    }

    /// Where Vercel's web endpoint (authorize) lives: `{base}/vercel`.
    pub fn vercel_web_base(&self) -> String {
        format!("{}/vercel", self.base_url())
    }

    /// Where Vercel's API (token, userinfo, revoke) lives: `{base}/vercel/api`.
    pub fn vercel_api_base(&self) -> String {
        format!("{}/vercel/api", self.base_url())
    }

    /// Moves the stand-in's clock on: codes and tokens expire as if `by` had passed.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The stand-in's time: the system time plus everything [`advance`](StandIn::advance)d.
    pub fn now(&self) -> UnixTime {
        self.shared.now()
    }

    /// A handle on the stand-in's clock, to give the app (e.g. its token vault) the same time.
    pub fn clock(&self) -> StandInClock {
        self.shared.clock.clone()
    }

    /// Makes the API endpoints misbehave (or, with [`Fault::None`], behave again).
    pub fn set_fault(&self, fault: Fault) {
        self.shared.lock().fault = fault;
    }

    /// What one provider has been asked so far.
    pub fn stats(&self, provider: StandInProvider) -> Stats {
        self.shared.lock().stats(provider)
    }

    /// The scope the provider's latest authorize request asked for, as sent.
    pub fn last_scope(&self, provider: StandInProvider) -> Option<String> {
        self.shared.lock().last_scope(provider)
    }

    /// With `true`, Vercel's token responses leave out `expires_in` (the tokens still expire
    /// after the configured lifetime).
    pub fn set_omit_expires_in(&self, on: bool) {
        self.shared.lock().omit_expires_in = on;
    }

    /// Every access token issued so far, by either provider, expires now (refresh tokens keep
    /// working).
    pub fn expire_access_tokens(&self) {
        let now = self.now();
        self.shared.lock().expire_access_tokens(now);
    }

    /// Who signs in at GitHub from the next authorize request on (tokens already issued keep
    /// their user).
    pub fn set_github_user(&self, user: GitHubUser) {
        self.shared.lock().github.user = user;
    }

    /// Who signs in at Vercel from the next authorize request on (tokens already issued keep
    /// their user).
    pub fn set_vercel_user(&self, user: VercelUser) {
        self.shared.lock().vercel.user = user;
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/github", github::router(&shared))
        .nest("/vercel", vercel::router(&shared))
        .nest("/_standin", admin::router())
        .with_state(shared)
}
