//! The one HTTP client every provider call goes through: no redirects followed (a token
//! endpoint that redirects is refused, not followed: SSRF), a timeout on every call, a cap on
//! answer sizes, and provider quirks smoothed out before `oauth2` parses an answer.

use std::time::Duration;

use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde_json::Value;

use crate::error::ProviderError;

/// The largest answer read from a provider.
const MAX_BODY: usize = 256 * 1024;
const AGENT: &str = concat!("session-auth/", env!("CARGO_PKG_VERSION"));

/// Why an HTTP exchange failed, without the URL or anything sent (which may hold a secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("the request timed out")]
    Timeout,
    #[error("the provider could not be reached")]
    Unreachable,
    #[error("the provider answered HTTP {0}")]
    ServerError(u16),
    #[error("the provider's answer is too large or broken")]
    BadAnswer,
}

impl From<HttpError> for ProviderError {
    fn from(error: HttpError) -> ProviderError {
        match error {
            HttpError::Timeout => ProviderError::Timeout,
            HttpError::Unreachable | HttpError::ServerError(_) => ProviderError::Unavailable,
            HttpError::BadAnswer => ProviderError::Garbage,
        }
    }
}

fn classify(error: &reqwest::Error) -> HttpError {
    if error.is_timeout() {
        HttpError::Timeout
    } else {
        HttpError::Unreachable
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Http {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(AGENT)
            .build()
            // Invariant: only fails when the TLS backend cannot start, a build problem.
            .expect("the HTTP client starts");
        Http { client }
    }

    /// Sends `request` and reads the answer (5xx and transport failures as errors).
    async fn send(&self, request: reqwest::Request) -> Result<http::Response<Vec<u8>>, HttpError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(HttpError::ServerError(status.as_u16()));
        }
        let mut builder = http::Response::builder().status(status);
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::BadAnswer);
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(|_| HttpError::BadAnswer)
    }

    /// The client `oauth2` calls for token requests. GitHub answers token errors with HTTP 200
    /// and an `error` field; that answer is given a 400 here so it is parsed as the error it is.
    pub(crate) async fn oauth(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request).map_err(|_| HttpError::BadAnswer)?;
        let mut response = self.send(request).await?;
        if response.status() == http::StatusCode::OK && is_error_answer(response.body()) {
            *response.status_mut() = http::StatusCode::BAD_REQUEST;
        }
        Ok(response)
    }

    /// `GET url` with the bearer token; the JSON answer. A 4xx is [`ProviderError::Status`].
    pub(crate) async fn get_json(
        &self,
        url: &url::Url,
        token: &str,
    ) -> Result<Value, ProviderError> {
        let request = self
            .client
            .get(url.clone())
            .bearer_auth(token)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, AGENT)
            .build()
            .map_err(|_| ProviderError::Garbage)?;
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(ProviderError::Status {
                status: response.status().as_u16(),
            });
        }
        json_body(&response).ok_or(ProviderError::Garbage)
    }

    /// Sends a prepared request and gives its status (revocation: the answer body is not used).
    pub(crate) async fn status_of(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<u16, ProviderError> {
        let request = request.build().map_err(|_| ProviderError::Garbage)?;
        Ok(self.send(request).await?.status().as_u16())
    }

    /// A request builder on this client (for revocation calls).
    pub(crate) fn request(&self, method: http::Method, url: &url::Url) -> reqwest::RequestBuilder {
        self.client.request(method, url.clone())
    }
}

/// `oauth2` calls the provider through [`Http::oauth`]. (Implemented on the type rather than
/// passed as a closure, whose future's borrow would make every caller's future `!Send`.)
impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.oauth(request))
    }
}

/// A JSON answer, if the content type says JSON and it parses.
fn json_body(response: &http::Response<Vec<u8>>) -> Option<Value> {
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if !json {
        return None;
    }
    serde_json::from_slice(response.body()).ok()
}

/// `{"error": "...", ...}` without an `access_token`.
fn is_error_answer(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| {
        v.get("error").is_some_and(Value::is_string) && v.get("access_token").is_none()
    })
}

/// An OAuth error code as safe to log: lowercase letters, digits and `_`, at most 64 bytes;
/// anything else is `"unknown"` (a provider could put anything in the field).
pub(crate) fn safe_code(code: &str) -> String {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        code.to_owned()
    } else {
        "unknown".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_needs_an_error_and_no_token() {
        assert!(is_error_answer(br#"{"error":"bad_verification_code"}"#));
        assert!(!is_error_answer(br#"{"access_token":"x","error":"odd"}"#));
        assert!(!is_error_answer(b"access_token=x&scope=y"));
    }

    #[test]
    fn codes_that_could_carry_anything_are_not_logged() {
        assert_eq!(safe_code("invalid_grant"), "invalid_grant");
        assert_eq!(safe_code("gho_SECRET token"), "unknown");
        assert_eq!(safe_code(&"a".repeat(65)), "unknown");
    }
}
