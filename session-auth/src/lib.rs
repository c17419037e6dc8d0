//! Sign-in around [`session_core`] sessions: OAuth 2.0 with PKCE for GitHub, Vercel and any
//! other provider, and a [`TokenVault`] that keeps the providers' tokens sealed at rest and
//! refreshes them, one refresh at a time; API bearer tokens ([`api_tokens`]) for clients that
//! send `Authorization: Bearer`; and [`password`] hashing that verifies the seed app's bcrypt
//! hashes and moves them to Argon2id.
//!
//! ```
//! use session_auth::{OAuth, Provider};
//! use session_core::Secret;
//!
//! let secret = Secret::from_bytes(vec![7; 32])?; // in production: Secret::from_default_env()
//! let oauth = OAuth::builder(&secret, "https://app.example")?
//!     .provider(Provider::github("github-client-id", "github-client-secret"))
//!     .provider(Provider::vercel("vercel-client-id", "vercel-client-secret"))
//!     .revoke_on_sign_out(true)
//!     .build();
//! // Serve it with `session_adapters::axum::oauth_routes(oauth)` (or the Actix-web and Rocket
//! // equivalents): GET /auth/{provider}/sign-in, GET /auth/{provider}/callback,
//! // POST /auth/sign-out. Register the callback URL at each provider:
//! assert_eq!(
//!     oauth.callback_url("vercel").unwrap().as_str(),
//!     "https://app.example/auth/vercel/callback"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does, and what it does differently from the app it replaces
//!
//! - **The flow**: `state` and a PKCE S256 verifier on every sign-in, whatever the provider
//!   requires, sealed into a 10-minute `HttpOnly; SameSite=Lax` cookie and usable once. The
//!   callback exchanges the code, reads the user (GitHub: the primary verified email from
//!   `/user/emails`), asks your [`SignInHook`] which user this is, stores the tokens and logs the
//!   session in with a new id, the provider recorded and the [`Profile`] in the session.
//! - **`next`** is honoured only for a same-site path: `//evil.example`, `/\evil.example`,
//!   absolute URLs and their encoded forms go home instead ([`safe_next`]).
//! - **Sign-out** is a `POST` (a GET cannot sign anyone out behind their back); it can revoke the
//!   provider's tokens.
//! - **Tokens at rest** are AES-256-GCM with a key id, bound to the owner, the provider and the
//!   kind: a row copied to another user does not open, a changed byte does not open
//!   ([`TokenError::Unreadable`]). Rows of the old AES-CBC format import with [`legacy`].
//! - **Refresh**: [`OAuth::access_token`] refreshes when less than 60 s are left, one refresh at
//!   a time per user and provider (concurrent callers wait and share it), and stores the rotated
//!   refresh token with a compare-and-set, so two nodes refreshing at once cannot log the user
//!   out. A missing `expires_in` from Vercel means an hour. GitHub OAuth-app tokens never expire;
//!   an expired token without a refresh token is [`SignInAgain::NoRefreshToken`].
//! - **Errors** are typed, each with a status: a bad, replayed or expired flow is 400, the
//!   provider down 503, slow 504, garbage 502. No token, code, verifier or client secret appears
//!   in a log line, a `Debug` output or an error message.
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `rustls` (default) | TLS for the real providers' HTTPS endpoints |
//! | `standin` | [`standin`]: GitHub and Vercel played on loopback, for tests and demos |
//! | `testing` | [`testing`]: the conformance suites of provider-token and API-token stores (not semver-stable) |
//!
//! Token stores: [`tokens::MemoryTokenStore`] and [`api_tokens::MemoryApiTokenStore`] here;
//! `SqliteTokenStore`, `SqliteApiTokenStore`, `RedisTokenStore` and `RedisApiTokenStore` in the
//! SQLite and Redis store crates (feature `auth`).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod api_tokens;
mod client;
mod error;
mod flow;
mod http;
pub mod legacy;
mod next;
mod oauth;
pub mod password;
mod provider;
mod secret_text;
pub mod tokens;
mod vault;

pub use client::DEFAULT_PROVIDER_TIMEOUT;
pub use error::{AuthError, ProviderError, SignInAgain, TokenError};
pub use flow::DEFAULT_FLOW_LIFETIME;
pub use next::{safe_next, MAX_NEXT_LEN};
pub use oauth::{
    AccountAsUser, AuthResponse, HookError, OAuth, OAuthBuilder, Profile, SignInHook, PROFILE_KEY,
};
pub use provider::{ClientAuth, Provider, ProviderConfigError, ProviderUser, UserInfoMapping};
pub use secret_text::{AccessToken, RefreshToken};
pub use vault::{GrantInfo, TokenSet, TokenVault, REFRESH_MARGIN};

#[cfg(feature = "standin")]
#[cfg_attr(docsrs, doc(cfg(feature = "standin")))]
pub mod standin;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
