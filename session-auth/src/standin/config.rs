//! What the stand-in is configured with: the registered clients and the users who sign in.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// The stand-in GitHub's default client id.
pub const GITHUB_CLIENT_ID: &str = "gh-client-id";
/// The stand-in GitHub's default client secret.
pub const GITHUB_CLIENT_SECRET: &str = "gh-client-secret";
/// The stand-in Vercel's default client id.
pub const VERCEL_CLIENT_ID: &str = "vc-client-id";
/// The stand-in Vercel's default client secret.
pub const VERCEL_CLIENT_SECRET: &str = "vc-client-secret";

/// How a [`StandIn`](super::StandIn) is set up. `Default` is what [`StandIn::start`](super::StandIn::start) uses.
#[derive(Debug, Clone, Default)]
pub struct StandInConfig {
    /// The GitHub side.
    pub github: GitHubConfig,
    /// The Vercel side.
    pub vercel: VercelConfig,
    /// The loopback port to listen on; 0 (the default) picks any free port.
    pub port: u16,
}

/// The stand-in GitHub: its one registered client, the kind of tokens it issues, and who signs in.
#[derive(Clone)]
pub struct GitHubConfig {
    /// The registered client id (default [`GITHUB_CLIENT_ID`]).
    pub client_id: String,
    /// The registered client secret (default [`GITHUB_CLIENT_SECRET`]).
    pub client_secret: String,
    /// `false` (default): an OAuth app, whose `gho_` tokens never expire and have no refresh
    /// token. `true`: a GitHub App, whose `ghu_` tokens expire after 8 hours and come with a
    /// rotating `ghr_` refresh token.
    pub app_tokens: bool,
    /// The user who signs in (default [`GitHubUser::octocat`]).
    pub user: GitHubUser,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        GitHubConfig {
            client_id: GITHUB_CLIENT_ID.to_owned(),
            client_secret: GITHUB_CLIENT_SECRET.to_owned(),
            app_tokens: false,
            user: GitHubUser::octocat(),
        }
    }
}

impl fmt::Debug for GitHubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("app_tokens", &self.app_tokens)
            .field("user", &self.user)
            .finish()
    }
}

/// A GitHub account, as `GET /user` and `GET /user/emails` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubUser {
    /// The numeric account id.
    pub id: u64,
    /// The handle.
    pub login: String,
    /// The display name, if the user set one.
    pub name: Option<String>,
    /// The public email on `/user`: `None` (shown as `null`) when the user keeps it private.
    pub email: Option<String>,
    /// The avatar's URL.
    pub avatar_url: String,
    /// What `/user/emails` lists.
    pub emails: Vec<GitHubEmail>,
}

impl GitHubUser {
    /// The default user: octocat (id 583231), whose `/user` email is private (`null`) and whose
    /// primary verified address, `octo@example.com`, is only on `/user/emails`.
    pub fn octocat() -> Self {
        GitHubUser {
            id: 583231,
            login: "octocat".to_owned(),
            name: Some("The Octocat".to_owned()),
            email: None,
            avatar_url: "https://avatars.example/octocat.png".to_owned(),
            emails: vec![
                GitHubEmail::new("octocat@users.noreply.github.com", false, true, None),
                GitHubEmail::new("octo@example.com", true, true, Some("public")),
                GitHubEmail::new("unverified@example.com", false, false, None),
            ],
        }
    }
}

impl Default for GitHubUser {
    fn default() -> Self {
        GitHubUser::octocat()
    }
}

/// One entry of GitHub's `/user/emails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitHubEmail {
    /// The address.
    pub email: String,
    /// Whether it is the account's primary address.
    pub primary: bool,
    /// Whether the user verified it.
    pub verified: bool,
    /// `"public"`, `"private"`, or `None` (`null`).
    pub visibility: Option<String>,
}

impl GitHubEmail {
    /// An entry from its parts.
    pub fn new(email: &str, primary: bool, verified: bool, visibility: Option<&str>) -> Self {
        GitHubEmail {
            email: email.to_owned(),
            primary,
            verified,
            visibility: visibility.map(str::to_owned),
        }
    }
}

/// The stand-in Vercel: its one registered client, how long access tokens live, and who signs in.
#[derive(Clone)]
pub struct VercelConfig {
    /// The registered client id (default [`VERCEL_CLIENT_ID`]).
    pub client_id: String,
    /// The registered client secret (default [`VERCEL_CLIENT_SECRET`]).
    pub client_secret: String,
    /// How long an access token works, on the stand-in's clock (default one hour).
    pub access_lifetime: Duration,
    /// The user who signs in (default [`VercelUser::vercel_dev`]).
    pub user: VercelUser,
}

impl Default for VercelConfig {
    fn default() -> Self {
        VercelConfig {
            client_id: VERCEL_CLIENT_ID.to_owned(),
            client_secret: VERCEL_CLIENT_SECRET.to_owned(),
            access_lifetime: Duration::from_secs(3600),
            user: VercelUser::vercel_dev(),
        }
    }
}

impl fmt::Debug for VercelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VercelConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("access_lifetime", &self.access_lifetime)
            .field("user", &self.user)
            .finish()
    }
}

/// A Vercel account, as the OpenID Connect userinfo endpoint shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VercelUser {
    /// The stable account id.
    pub sub: String,
    /// The email address.
    pub email: String,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// The display name.
    pub name: String,
    /// The handle.
    pub preferred_username: String,
    /// The avatar's URL.
    pub picture: String,
}

impl VercelUser {
    /// The default user: `vc_user_3f9a`, "Vercel Dev", with a verified email.
    pub fn vercel_dev() -> Self {
        VercelUser {
            sub: "vc_user_3f9a".to_owned(),
            email: "dev@vercel.example".to_owned(),
            email_verified: true,
            name: "Vercel Dev".to_owned(),
            preferred_username: "vercel-dev".to_owned(),
            picture: "https://avatars.example/vercel.png".to_owned(),
        }
    }
}

impl Default for VercelUser {
    fn default() -> Self {
        VercelUser::vercel_dev()
    }
}
