//! The parts of the OAuth flow GitHub and Vercel share: the authorize step, the token
//! request's checks, and bearer-token lookups. Each provider renders the outcome its own way.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use session_core::UnixTime;
use url::Url;

use super::state::{BadCode, CodeRequest, Grant, Provider};
use super::wire::{client_credentials, credentials, is_s256_challenge, page, redirect, Params};

/// The authorize request's query.
#[derive(Deserialize)]
pub(crate) struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    response_type: Option<String>,
}

/// How strict a provider's authorize step is.
#[derive(Clone, Copy)]
pub(crate) struct AuthorizeRules {
    /// Whether a PKCE challenge is required (it is always checked when given).
    pub(crate) pkce_required: bool,
    /// Whether `response_type=code` is required (GitHub ignores it).
    pub(crate) response_type_required: bool,
    /// How many characters a code has.
    pub(crate) code_len: usize,
}

/// The authorize step, with no consent screen: a redirect back with a code at once, or with
/// an error when the request is invalid. Unknown clients and unusable redirect URIs get a page.
pub(crate) fn authorize<U: Clone>(
    provider: &mut Provider<U>,
    query: AuthorizeQuery,
    rules: AuthorizeRules,
    now: UnixTime,
) -> Response {
    provider.stats.authorize += 1;
    if query.client_id.as_deref() != Some(provider.client_id.as_str()) {
        return page(
            StatusCode::NOT_FOUND,
            "404: no application has this client_id",
        );
    }
    let Some((raw_uri, back)) = query
        .redirect_uri
        .as_deref()
        .and_then(|raw| Some((raw, Url::parse(raw).ok()?)))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is missing or not a URL",
        );
    };
    let state = query.state.as_deref();
    if let Err((error, description)) = check_authorize(&query, rules) {
        let pairs = [
            ("error", Some(error)),
            ("error_description", Some(description)),
            ("state", state),
        ];
        return redirect(&back, &pairs);
    }
    let request = CodeRequest {
        redirect_uri: raw_uri.to_owned(),
        challenge: query.code_challenge.clone(),
        scope: query.scope.clone().unwrap_or_default(),
    };
    let code = provider.issue_code(request, rules.code_len, now);
    redirect(&back, &[("code", Some(&code)), ("state", state)])
}

/// The OAuth error code and description for an invalid authorize request.
fn check_authorize(
    query: &AuthorizeQuery,
    rules: AuthorizeRules,
) -> Result<(), (&'static str, &'static str)> {
    if rules.response_type_required && query.response_type.as_deref() != Some("code") {
        return Err(("unsupported_response_type", "response_type must be code"));
    }
    let method = query.code_challenge_method.as_deref();
    match query.code_challenge.as_deref() {
        None if rules.pkce_required => Err((
            "invalid_request",
            "PKCE is required: send code_challenge and code_challenge_method=S256",
        )),
        None => Ok(()),
        Some(_) if method != Some("S256") => {
            Err(("invalid_request", "code_challenge_method must be S256"))
        }
        Some(challenge) if !is_s256_challenge(challenge) => Err((
            "invalid_request",
            "code_challenge must be 43 base64url characters",
        )),
        Some(_) => Ok(()),
    }
}

/// Why a token request was refused; each provider words (and numbers) it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A parameter is repeated, or a required one is missing.
    Malformed,
    /// The client id or secret is wrong or missing.
    Client,
    /// A `grant_type` other than `authorization_code` and `refresh_token`.
    UnsupportedGrant,
    /// The code is missing, unknown, used or expired.
    Code,
    /// The redirect URI differs from the authorize request's.
    RedirectMismatch,
    /// The PKCE verifier is missing, unexpected or wrong.
    Verifier,
    /// The refresh token is missing, unknown, used, revoked or expired.
    RefreshToken,
}

/// The raw token request.
pub(crate) struct TokenRequest<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// Checks a token request and consumes its code or refresh token: the grant to issue tokens
/// for. `strict` (Vercel) follows RFC 6749 to the letter: `grant_type` and `redirect_uri` are
/// required; lenient (GitHub) defaults the grant type and takes the redirect URI as optional.
pub(crate) fn exchange<U: Clone>(
    provider: &mut Provider<U>,
    request: &TokenRequest<'_>,
    strict: bool,
    now: UnixTime,
) -> Result<Grant<U>, Refused> {
    let result = check_token_request(provider, request, strict, now);
    if result.is_err() {
        provider.stats.rejected += 1;
    }
    result
}

fn check_token_request<U: Clone>(
    provider: &mut Provider<U>,
    request: &TokenRequest<'_>,
    strict: bool,
    now: UnixTime,
) -> Result<Grant<U>, Refused> {
    let params = Params::parse(request.query, request.body).ok_or(Refused::Malformed)?;
    let grant_type = match params.get("grant_type") {
        None if strict => return Err(Refused::Malformed),
        None => "authorization_code",
        Some(grant_type) => grant_type,
    };
    let missing = |refused| if strict { Refused::Malformed } else { refused };
    match grant_type {
        "authorization_code" => {
            provider.stats.code_exchanges += 1;
            authenticate(provider, request.headers, &params)?;
            let code = params.get("code").ok_or(missing(Refused::Code))?;
            let redirect_uri = params.get("redirect_uri");
            if strict && redirect_uri.is_none() {
                return Err(Refused::Malformed);
            }
            let verifier = params.get("code_verifier");
            provider
                .redeem(code, redirect_uri, verifier, now)
                .map_err(|bad| match bad {
                    BadCode::Invalid => Refused::Code,
                    BadCode::RedirectMismatch => Refused::RedirectMismatch,
                    BadCode::Verifier => Refused::Verifier,
                })
        }
        "refresh_token" => {
            provider.stats.refreshes += 1;
            authenticate(provider, request.headers, &params)?;
            let token = params
                .get("refresh_token")
                .ok_or(missing(Refused::RefreshToken))?;
            provider
                .take_refresh(token, now)
                .ok_or(Refused::RefreshToken)
        }
        _ => Err(Refused::UnsupportedGrant),
    }
}

/// Whether the request carries the registered client's credentials (Basic or in the body).
pub(crate) fn authenticate<U: Clone>(
    provider: &Provider<U>,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), Refused> {
    let (id, secret) = client_credentials(headers, params);
    if provider.authenticates(id.as_deref(), secret.as_deref()) {
        Ok(())
    } else {
        Err(Refused::Client)
    }
}

/// Why a bearer token was not accepted.
pub(crate) enum Unauthorized {
    /// No `Authorization` header with one of the accepted schemes.
    Missing,
    /// Unknown, expired or revoked.
    Invalid,
}

/// The user behind the request's access token (sent with one of `schemes`), counted as a
/// user request.
pub(crate) fn bearer_user<U: Clone>(
    provider: &mut Provider<U>,
    headers: &HeaderMap,
    schemes: &[&str],
    now: UnixTime,
) -> Result<U, Unauthorized> {
    provider.stats.user_requests += 1;
    let result = match credentials(headers, schemes) {
        None => Err(Unauthorized::Missing),
        Some(token) => provider
            .access(token, now)
            .map(|grant| grant.user.clone())
            .ok_or(Unauthorized::Invalid),
    };
    if result.is_err() {
        provider.stats.rejected += 1;
    }
    result
}
