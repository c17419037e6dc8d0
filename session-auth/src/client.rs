//! The provider calls: code exchange and refresh through `oauth2`, the user endpoints, and
//! revocation as each provider does it.

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use session_core::UnixTime;

use crate::error::ProviderError;
use crate::http::{safe_code, Http, HttpError};
use crate::provider::{ClientAuth, Kind, Provider, ProviderUser};
use crate::secret_text::{AccessToken, RefreshToken};
use crate::vault::TokenSet;

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn client(provider: &Provider, redirect: Option<&url::Url>) -> Client {
    let mut client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(provider.authorize_url.clone()))
        .set_token_uri(TokenUrl::from_url(provider.token_url.clone()))
        .set_auth_type(match provider.client_auth {
            ClientAuth::Basic => AuthType::BasicAuth,
            ClientAuth::RequestBody => AuthType::RequestBody,
        });
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
    }
    if let Some(redirect) = redirect {
        client = client.set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
    }
    client
}

/// The authorization URL, with the state and the PKCE verifier to keep.
pub(crate) fn authorize(provider: &Provider, redirect: &url::Url) -> (url::Url, String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(provider, Some(redirect))
        .authorize_url(CsrfToken::new_random)
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    (url, state.secret().clone(), verifier.secret().clone())
}

fn token_error(error: RequestTokenError<HttpError, BasicErrorResponse>) -> ProviderError {
    match error {
        RequestTokenError::Request(e) => e.into(),
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => {
                ProviderError::Misconfigured
            }
            // GitHub's own codes arrive as `Extension`.
            BasicErrorResponseType::Extension(code) if code == "incorrect_client_credentials" => {
                ProviderError::Misconfigured
            }
            other => ProviderError::Refused {
                code: safe_code(other.as_ref()),
            },
        },
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => ProviderError::Garbage,
    }
}

fn token_set<T: TokenResponse>(provider: &Provider, response: &T, now: UnixTime) -> TokenSet {
    let lifetime = response.expires_in().or(provider.default_lifetime);
    TokenSet {
        access_token: AccessToken::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().clone())),
        expires_at: lifetime.map(|d| now.saturating_add(d)),
        obtained_at: now,
        scope: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    }
}

/// Exchanges the authorization code (with the PKCE verifier) for tokens.
pub(crate) async fn exchange_code(
    http: &Http,
    provider: &Provider,
    redirect: &url::Url,
    code: &str,
    verifier: &str,
    now: UnixTime,
) -> Result<TokenSet, ProviderError> {
    let response = client(provider, Some(redirect))
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(token_error)?;
    Ok(token_set(provider, &response, now))
}

/// Trades a refresh token for new tokens.
pub(crate) async fn refresh(
    http: &Http,
    provider: &Provider,
    refresh_token: &RefreshToken,
    now: UnixTime,
) -> Result<TokenSet, ProviderError> {
    let token = oauth2::RefreshToken::new(refresh_token.secret().to_owned());
    let response = client(provider, None)
        .exchange_refresh_token(&token)
        .request_async(http)
        .await
        .map_err(token_error)?;
    Ok(token_set(provider, &response, now))
}

/// Who the token belongs to (and, for GitHub, their primary verified email).
pub(crate) async fn fetch_user(
    http: &Http,
    provider: &Provider,
    token: &AccessToken,
) -> Result<ProviderUser, ProviderError> {
    let user = http
        .get_json(&provider.userinfo_url, token.secret())
        .await?;
    let emails = match &provider.emails_url {
        // Without the `user:email` scope the list is a 404 or 403: no verified email then.
        Some(url) => match http.get_json(url, token.secret()).await {
            Ok(emails) => Some(emails),
            Err(ProviderError::Status { .. }) => None,
            Err(other) => return Err(other),
        },
        None => None,
    };
    provider
        .parse_user(user, emails.as_ref())
        .ok_or(ProviderError::Garbage)
}

/// Revokes `token` at the provider, as it expects: GitHub `DELETE
/// /applications/{client_id}/token` with Basic auth, others RFC 7009. A provider without a
/// revocation endpoint is a no-op.
pub(crate) async fn revoke(
    http: &Http,
    provider: &Provider,
    token: &str,
) -> Result<(), ProviderError> {
    let Some(url) = &provider.revoke_url else {
        return Ok(());
    };
    let secret = provider
        .client_secret
        .as_ref()
        .map(|s| s.expose().to_owned());
    let request = match provider.kind {
        Kind::GitHub => http
            .request(http::Method::DELETE, url)
            .basic_auth(&provider.client_id, secret)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .json(&serde_json::json!({ "access_token": token })),
        _ => {
            let mut form = vec![
                ("token", token.to_owned()),
                ("client_id", provider.client_id.clone()),
            ];
            if let Some(secret) = secret {
                form.push(("client_secret", secret));
            }
            http.request(http::Method::POST, url).form(&form)
        }
    };
    match http.status_of(request).await? {
        200..=299 | 404 => Ok(()),
        status => Err(ProviderError::Status { status }),
    }
}

/// How long a provider call may take by default.
pub const DEFAULT_PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
