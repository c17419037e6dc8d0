//! The stand-in provider behaves like GitHub and Vercel where the client code depends on it,
//! spoken to in raw HTTP: the quirks the OAuth client must handle are really there.

use std::time::Duration;

use reqwest::{redirect::Policy, Client, StatusCode};
use session_auth::standin::{
    Fault, StandIn, StandInProvider, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, VERCEL_CLIENT_ID,
    VERCEL_CLIENT_SECRET,
};
use url::Url;

const REDIRECT: &str = "http://app.test/auth/callback";
/// RFC 7636's example verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Follows the authorize URL and returns the redirect back, parsed.
async fn authorize(base: &str, client_id: &str, pkce: bool) -> Url {
    let mut url = Url::parse(&format!("{base}/oauth/authorize")).unwrap();
    if base.ends_with("/github") {
        url = Url::parse(&format!("{base}/login/oauth/authorize")).unwrap();
    }
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "st-1")
        .append_pair("response_type", "code");
    if pkce {
        url.query_pairs_mut()
            .append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256");
    }
    let answer = client().get(url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn github_exchange(standin: &StandIn, code: &str, accept_json: bool) -> reqwest::Response {
    let mut request = client()
        .post(format!(
            "{}/login/oauth/access_token",
            standin.github_web_base()
        ))
        .form(&[
            ("client_id", GITHUB_CLIENT_ID),
            ("client_secret", GITHUB_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]);
    if accept_json {
        request = request.header("accept", "application/json");
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn github_answers_form_encoded_unless_asked_for_json_and_errors_with_200() {
    let standin = StandIn::start().await.unwrap();
    let back = authorize(&standin.github_web_base(), GITHUB_CLIENT_ID, true).await;
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    let code = param(&back, "code").unwrap();

    let form = github_exchange(&standin, &code, false).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
    assert!(form.text().await.unwrap().starts_with("access_token=gho_"));

    // The code was used: GitHub says so with a 200.
    let again = github_exchange(&standin, &code, true).await;
    assert_eq!(again.status(), StatusCode::OK);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["error"], "bad_verification_code");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn github_api_refuses_requests_without_a_user_agent_or_with_a_bad_token() {
    let standin = StandIn::start().await.unwrap();
    let code = param(
        &authorize(&standin.github_web_base(), GITHUB_CLIENT_ID, true).await,
        "code",
    )
    .unwrap();
    let token: serde_json::Value = github_exchange(&standin, &code, true)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let user = format!("{}/user", standin.github_api_base());
    // reqwest sends no User-Agent unless told to.
    let bare = client()
        .get(&user)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let ok = client()
        .get(&user)
        .bearer_auth(&token)
        .header("user-agent", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(
        (body["login"].as_str(), body["email"].is_null()),
        (Some("octocat"), true)
    );
    let bad = client()
        .get(&user)
        .bearer_auth("gho_not_issued")
        .header("user-agent", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn vercel_requires_pkce_and_rotates_refresh_tokens() {
    let standin = StandIn::start().await.unwrap();
    let refused = authorize(&standin.vercel_web_base(), VERCEL_CLIENT_ID, false).await;
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&refused, "code"), None);

    let code = param(
        &authorize(&standin.vercel_web_base(), VERCEL_CLIENT_ID, true).await,
        "code",
    )
    .unwrap();
    let token_url = format!("{}/login/oauth/token", standin.vercel_api_base());
    let exchange = |verifier: &'static str, code: String| {
        client().post(&token_url).form(&[
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", VERCEL_CLIENT_ID.to_owned()),
            ("client_secret", VERCEL_CLIENT_SECRET.to_owned()),
            ("code", code),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ])
    };
    // A wrong verifier is refused (and uses its code up).
    let other_code = param(
        &authorize(&standin.vercel_web_base(), VERCEL_CLIENT_ID, true).await,
        "code",
    )
    .unwrap();
    let wrong = exchange("another-verifier-of-forty-three-characters-xx", other_code)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let tokens: serde_json::Value = exchange(VERIFIER, code)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["expires_in"], 3600, "{tokens}");
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let refresh = |token: String| {
        client().post(&token_url).form(&[
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", VERCEL_CLIENT_ID.to_owned()),
            ("client_secret", VERCEL_CLIENT_SECRET.to_owned()),
            ("refresh_token", token),
        ])
    };
    let rotated: serde_json::Value = refresh(first_refresh.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(rotated["refresh_token"].as_str().unwrap(), first_refresh);
    let reused = refresh(first_refresh).send().await.unwrap();
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = reused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(standin.stats(StandInProvider::Vercel).refreshes, 2);

    // The access token dies on the stand-in's clock.
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    let userinfo = format!("{}/login/oauth/userinfo", standin.vercel_api_base());
    let status = |token: String| {
        let request = client().get(&userinfo).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status(access.clone()).await, StatusCode::OK);
    standin.advance(Duration::from_secs(3601));
    assert_eq!(status(access).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn faults_are_what_they_say() {
    let standin = StandIn::start().await.unwrap();
    let userinfo = format!("{}/login/oauth/userinfo", standin.vercel_api_base());
    standin.set_fault(Fault::Down);
    assert_eq!(
        client().get(&userinfo).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    standin.set_fault(Fault::Garbage);
    let garbage = client().get(&userinfo).send().await.unwrap();
    assert_eq!(garbage.status(), StatusCode::OK);
    assert!(garbage.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    standin.set_fault(Fault::Slow(Duration::from_secs(2)));
    let slow = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .get(&userinfo)
        .send()
        .await;
    assert!(slow.unwrap_err().is_timeout());
}
