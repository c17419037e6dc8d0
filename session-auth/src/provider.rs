//! [`Provider`]: one OAuth 2.0 provider's endpoints, client credentials, scopes and quirks, and
//! [`ProviderUser`], what its user endpoints say about the person signing in.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

/// The providers whose APIs this crate knows, and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `GET /user`, `GET /user/emails`, `DELETE /applications/{client_id}/token`.
    GitHub,
    /// OpenID-style userinfo (`sub`, `preferred_username`, ...), RFC 7009 revocation.
    Vercel,
    /// Any other provider: a userinfo URL and a mapping.
    Generic(UserInfoMapping),
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`, RFC 6749's default).
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`): what GitHub and
    /// Vercel document.
    RequestBody,
}

/// Where a generic provider's user record keeps each field: JSON pointers (RFC 6901) into the
/// userinfo answer.
///
/// ```
/// use session_auth::UserInfoMapping;
/// // An OpenID Connect userinfo endpoint:
/// let mapping = UserInfoMapping::openid();
/// assert_eq!(mapping.id, "/sub");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfoMapping {
    /// The account id (required in the answer); numbers are taken as their decimal text.
    pub id: String,
    /// The user name.
    pub username: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// A boolean saying the email is verified; without one, the email is taken as unverified
    /// and not reported.
    pub email_verified: Option<String>,
    /// The avatar URL.
    pub avatar_url: Option<String>,
}

impl UserInfoMapping {
    /// OpenID Connect's standard claims: `sub`, `preferred_username`, `name`, `email`,
    /// `email_verified`, `picture`.
    pub fn openid() -> Self {
        UserInfoMapping {
            id: "/sub".into(),
            username: Some("/preferred_username".into()),
            name: Some("/name".into()),
            email: Some("/email".into()),
            email_verified: Some("/email_verified".into()),
            avatar_url: Some("/picture".into()),
        }
    }
}

/// The client secret, kept out of `Debug` and wiped when dropped.
#[derive(Clone)]
pub(crate) struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(redacted)")
    }
}

/// A provider's setup is wrong: a URL that does not parse, or a missing part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider configuration: {0}")]
pub struct ProviderConfigError(pub(crate) String);

/// One OAuth 2.0 provider: endpoints, client credentials, scopes, and how to read its user.
///
/// PKCE (S256) and `state` are always used, whatever the provider requires.
///
/// ```
/// use session_auth::Provider;
/// let github = Provider::github("Iv1.8a61f9b3a7aba766", "client-secret")
///     .scopes(["read:user", "user:email", "repo"]);
/// assert_eq!(github.id(), "github");
/// // The secret stays out of Debug output.
/// assert!(!format!("{github:?}").contains("client-secret"));
/// ```
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) authorize_url: Url,
    pub(crate) token_url: Url,
    pub(crate) userinfo_url: Url,
    pub(crate) emails_url: Option<Url>,
    pub(crate) revoke_url: Option<Url>,
    pub(crate) scopes: Vec<String>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) default_lifetime: Option<Duration>,
}

fn url(text: &str) -> Result<Url, ProviderConfigError> {
    Url::parse(text).map_err(|e| ProviderConfigError(format!("{text:?} is not a URL: {e}")))
}

impl Provider {
    /// GitHub (an OAuth app or a GitHub App), with the default scopes `read:user user:email`.
    ///
    /// OAuth-app tokens never expire and come without a refresh token; GitHub-App user tokens
    /// expire after 8 hours and come with a rotating refresh token: both are handled.
    pub fn github(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Provider::known("github", Kind::GitHub, client_id, client_secret)
            .scopes(["read:user", "user:email"])
    }

    /// Vercel ("Sign in with Vercel"): PKCE required, 1-hour access tokens, rotating refresh
    /// tokens; a token answer without `expires_in` is taken to last 3600 s.
    pub fn vercel(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        let mut provider = Provider::known("vercel", Kind::Vercel, client_id, client_secret)
            .scopes(["openid", "email", "profile", "offline_access"]);
        provider.default_lifetime = Some(Duration::from_secs(3600));
        provider
    }

    fn known(
        id: &str,
        kind: Kind,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let (web, api) = match kind {
            Kind::GitHub => ("https://github.com", "https://api.github.com"),
            _ => ("https://vercel.com", "https://api.vercel.com"),
        };
        let mut provider = Provider {
            id: id.to_owned(),
            kind,
            client_id: client_id.into(),
            client_secret: Some(ClientSecret(Zeroizing::new(client_secret.into()))),
            // Invariant: constant URLs always parse. Placeholders, replaced by
            // `set_base_urls` just below.
            authorize_url: Url::parse(web).expect("a constant URL"),
            token_url: Url::parse(web).expect("a constant URL"),
            userinfo_url: Url::parse(api).expect("a constant URL"),
            emails_url: None,
            revoke_url: None,
            scopes: Vec::new(),
            client_auth: ClientAuth::RequestBody,
            default_lifetime: None,
        };
        // Invariant: the two constant URLs parse as base URLs.
        provider.set_base_urls(web, api).expect("constant URLs");
        provider
    }

    /// Any other OAuth 2.0 provider: its authorization, token and userinfo endpoints, and
    /// where its user record keeps each field. HTTP Basic client authentication unless
    /// [`client_auth`](Self::client_auth) says otherwise.
    ///
    /// ```
    /// use session_auth::{Provider, UserInfoMapping};
    /// let gitlab = Provider::generic(
    ///     "gitlab",
    ///     "client-id",
    ///     Some("client-secret"),
    ///     "https://gitlab.com/oauth/authorize",
    ///     "https://gitlab.com/oauth/token",
    ///     "https://gitlab.com/oauth/userinfo",
    ///     UserInfoMapping::openid(),
    /// )?
    /// .scopes(["openid", "profile", "email"]);
    /// # Ok::<(), session_auth::ProviderConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ProviderConfigError`] when a URL does not parse.
    pub fn generic(
        id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<&str>,
        authorize_url: &str,
        token_url: &str,
        userinfo_url: &str,
        mapping: UserInfoMapping,
    ) -> Result<Self, ProviderConfigError> {
        Ok(Provider {
            id: id.into(),
            kind: Kind::Generic(mapping),
            client_id: client_id.into(),
            client_secret: client_secret.map(|s| ClientSecret(Zeroizing::new(s.to_owned()))),
            authorize_url: url(authorize_url)?,
            token_url: url(token_url)?,
            userinfo_url: url(userinfo_url)?,
            emails_url: None,
            revoke_url: None,
            scopes: Vec::new(),
            client_auth: ClientAuth::Basic,
            default_lifetime: None,
        })
    }

    /// Moves a GitHub or Vercel provider to other hosts: `web` serves the authorization page
    /// (GitHub's also the token endpoint), `api` the rest. For GitHub Enterprise, or a local
    /// stand-in in tests.
    ///
    /// # Errors
    ///
    /// [`ProviderConfigError`] when a URL does not parse or the provider is generic.
    pub fn with_base_urls(mut self, web: &str, api: &str) -> Result<Self, ProviderConfigError> {
        self.set_base_urls(web, api)?;
        Ok(self)
    }

    fn set_base_urls(&mut self, web: &str, api: &str) -> Result<(), ProviderConfigError> {
        let (web, api) = (web.trim_end_matches('/'), api.trim_end_matches('/'));
        match self.kind {
            Kind::GitHub => {
                self.authorize_url = url(&format!("{web}/login/oauth/authorize"))?;
                self.token_url = url(&format!("{web}/login/oauth/access_token"))?;
                self.userinfo_url = url(&format!("{api}/user"))?;
                self.emails_url = Some(url(&format!("{api}/user/emails"))?);
                self.revoke_url = Some(url(&format!(
                    "{api}/applications/{}/token",
                    self.client_id
                ))?);
            }
            Kind::Vercel => {
                self.authorize_url = url(&format!("{web}/oauth/authorize"))?;
                self.token_url = url(&format!("{api}/login/oauth/token"))?;
                self.userinfo_url = url(&format!("{api}/login/oauth/userinfo"))?;
                self.revoke_url = Some(url(&format!("{api}/login/oauth/token/revoke"))?);
            }
            Kind::Generic(_) => {
                return Err(ProviderConfigError(
                    "with_base_urls is for GitHub and Vercel; a generic provider takes full URLs"
                        .into(),
                ))
            }
        }
        Ok(())
    }

    /// The scopes to ask for (replacing the defaults).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// An RFC 7009 revocation endpoint (generic providers; GitHub and Vercel have theirs).
    ///
    /// # Errors
    ///
    /// [`ProviderConfigError`] when the URL does not parse.
    pub fn revocation_url(mut self, revoke_url: &str) -> Result<Self, ProviderConfigError> {
        self.revoke_url = Some(url(revoke_url)?);
        Ok(self)
    }

    /// How the client authenticates at the token endpoint.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// How long an access token lasts when the token answer has no `expires_in` (`None`: it
    /// does not expire).
    pub fn default_token_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// Renames the provider (the name in URLs, in the session and in the token store);
    /// `github` and `vercel` by default.
    pub fn named(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The provider's name: `github`, `vercel`, or the generic provider's.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The configured scopes.
    pub fn scope_list(&self) -> &[String] {
        &self.scopes
    }

    /// The user endpoint (GitHub's `/user`, Vercel's userinfo), e.g. to check a token.
    pub fn userinfo_url(&self) -> &str {
        self.userinfo_url.as_str()
    }
}

/// Who signed in, as the provider's user endpoints describe them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderUser {
    /// The provider's name (`github`).
    pub provider: String,
    /// The provider's stable account id (GitHub's numeric id as text, Vercel's `sub`).
    pub account: String,
    /// The user name (GitHub's `login`).
    pub username: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// A verified email address (GitHub: the primary verified one), or none.
    pub email: Option<String>,
    /// The avatar's URL.
    pub avatar_url: Option<String>,
    /// The user endpoint's whole answer.
    pub raw: Value,
}

/// Text or a number at `pointer` (numbers as their decimal text).
fn text_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Provider {
    /// Reads the user endpoint's answer (and GitHub's email list) into a [`ProviderUser`];
    /// `None` when the account id is missing.
    pub(crate) fn parse_user(&self, user: Value, emails: Option<&Value>) -> Option<ProviderUser> {
        let (account, username, name, email, avatar_url) = match &self.kind {
            Kind::GitHub => (
                text_at(&user, "/id")?,
                text_at(&user, "/login"),
                text_at(&user, "/name"),
                emails.and_then(primary_verified_github_email),
                text_at(&user, "/avatar_url"),
            ),
            Kind::Vercel => {
                let mapping = UserInfoMapping::openid();
                return self.mapped(user, &mapping);
            }
            Kind::Generic(mapping) => return self.mapped(user, mapping),
        };
        Some(ProviderUser {
            provider: self.id.clone(),
            account,
            username,
            name,
            email,
            avatar_url,
            raw: user,
        })
    }

    fn mapped(&self, user: Value, mapping: &UserInfoMapping) -> Option<ProviderUser> {
        let at = |pointer: &Option<String>| pointer.as_deref().and_then(|p| text_at(&user, p));
        let verified = mapping
            .email_verified
            .as_deref()
            .and_then(|p| user.pointer(p))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Some(ProviderUser {
            provider: self.id.clone(),
            account: text_at(&user, &mapping.id)?,
            username: at(&mapping.username),
            name: at(&mapping.name),
            email: at(&mapping.email).filter(|_| verified),
            avatar_url: at(&mapping.avatar_url),
            raw: user,
        })
    }
}

/// GitHub's `/user/emails`: the primary address, if it is verified.
fn primary_verified_github_email(emails: &Value) -> Option<String> {
    emails.as_array()?.iter().find_map(|e| {
        let primary = e.get("primary")?.as_bool()?;
        let verified = e.get("verified")?.as_bool()?;
        (primary && verified).then(|| e.get("email")?.as_str().map(str::to_owned))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_takes_the_primary_verified_email_only() {
        let github = Provider::github("id", "secret");
        let user = json!({"id": 583231, "login": "octocat", "name": null, "email": null});
        let emails = json!([
            {"email": "a@example.com", "primary": false, "verified": true},
            {"email": "b@example.com", "primary": true, "verified": true},
        ]);
        let parsed = github.parse_user(user.clone(), Some(&emails)).unwrap();
        assert_eq!(parsed.account, "583231");
        assert_eq!(parsed.email.as_deref(), Some("b@example.com"));
        assert_eq!(parsed.name, None);
        let unverified = json!([{"email": "b@example.com", "primary": true, "verified": false}]);
        assert_eq!(
            github.parse_user(user, Some(&unverified)).unwrap().email,
            None
        );
    }

    #[test]
    fn an_unverified_openid_email_is_not_reported() {
        let vercel = Provider::vercel("id", "secret");
        let user = json!({"sub": "u1", "email": "x@example.com", "email_verified": false});
        let parsed = vercel.parse_user(user, None).unwrap();
        assert_eq!(parsed.account, "u1");
        assert_eq!(parsed.email, None);
        assert!(vercel.parse_user(json!({"email": "x"}), None).is_none());
    }

    #[test]
    fn base_urls_move_every_endpoint() {
        let github = Provider::github("cid", "s")
            .with_base_urls("http://127.0.0.1:9/github", "http://127.0.0.1:9/github/api")
            .unwrap();
        assert_eq!(
            github.token_url.as_str(),
            "http://127.0.0.1:9/github/login/oauth/access_token"
        );
        assert_eq!(
            github.revoke_url.unwrap().as_str(),
            "http://127.0.0.1:9/github/api/applications/cid/token"
        );
    }
}
