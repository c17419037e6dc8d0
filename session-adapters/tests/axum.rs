//! The behaviour suite through Axum: the ROUTES app (see `common`) with this crate's Axum
//! extractors, driven with `tower::ServiceExt::oneshot`.

mod common;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use session_adapters::axum::{oauth_routes, SessionLayer};
use session_adapters::{
    ApiTokens, Auth, Error, OAuth, Session, SessionData, SessionManager, SignedIn,
};
use tower::ServiceExt;

use common::bearer::BearerDriver;
use common::oauth::OAuthDriver;
use common::routes::Profile;
use common::{routes, Driver, TestApp, TestRequest, TestResponse};

fn counter(session: &Session) -> u64 {
    routes::counter(session).expect("n is a number")
}

async fn read(session: Session) -> String {
    routes::read(&session)
}

async fn write(session: Session) -> Result<String, Error> {
    Ok(routes::write(&session)?)
}

async fn write_then_fail(session: Session) -> (StatusCode, &'static str) {
    match routes::write_then_fail(&session) {
        Ok(()) | Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    }
}

async fn csrf(session: Session) -> Result<String, Error> {
    Ok(routes::csrf(&session)?)
}

async fn form(session: Session, Path(token): Path<String>) -> Result<String, Error> {
    routes::form(&session, &token)
}

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, Error> {
    Ok(routes::login(&session, &user)?)
}

async fn renew(session: Session) -> &'static str {
    session.renew();
    "ok"
}

async fn logout(session: Session) -> &'static str {
    session.destroy();
    "ok"
}

async fn logout_everywhere(session: Session) -> Result<String, Error> {
    Ok(session.log_out_everywhere().await?.to_string())
}

async fn profile(SessionData(profile): SessionData<Profile>) -> String {
    profile.name
}

async fn me(auth: SignedIn) -> String {
    auth.user_id().to_string()
}

async fn twice(first: Session, second: Session, auth: SignedIn) -> String {
    assert_eq!(counter(&first), counter(&second));
    auth.user_id().to_string()
}

async fn maybe_me(user: Option<SignedIn>) -> String {
    routes::maybe_me(user.as_ref().map(SignedIn::user_id))
}

async fn maybe_profile(profile: Option<SessionData<Profile>>) -> String {
    routes::maybe_profile(profile.map(SessionData::into_inner))
}

async fn sessions(session: Session) -> Result<String, Error> {
    Ok(routes::sessions(&session).await?)
}

async fn status(session: Session) -> String {
    routes::status(&session)
}

fn routes(manager: SessionManager) -> Router {
    bare().layer(SessionLayer::new(manager))
}

/// The ROUTES, without the layer.
fn bare() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/read", get(read))
        .route("/write", post(write))
        .route("/write-then-fail", post(write_then_fail))
        .route("/csrf", get(csrf))
        .route("/form/{token}", post(form))
        .route("/login/{user}", post(login))
        .route("/renew", post(renew))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/profile", get(profile))
        .route("/dashboard", get(me))
        .route("/api/me", get(me))
        .route("/twice", get(twice))
        .route("/sessions", get(sessions))
        .route("/status", get(status))
        .route("/maybe-me", get(maybe_me))
        .route("/maybe-profile", get(maybe_profile))
}

async fn oauth_me(session: Session) -> String {
    common::oauth::me(&session)
}

/// The ROUTES, the OAuth routes, `/me` and `/token/{provider}`, inside the layer.
fn oauth_app(manager: SessionManager, oauth: OAuth) -> Router {
    let token = {
        let oauth = oauth.clone();
        move |session: Session, Path(provider): Path<String>| {
            let oauth = oauth.clone();
            async move {
                let (status, body) = common::oauth::token(&oauth, &session, &provider).await;
                (StatusCode::from_u16(status).expect("a status"), body)
            }
        }
    };
    bare()
        .merge(oauth_routes(oauth))
        .route("/me", get(oauth_me))
        .route("/token/{provider}", get(token))
        .layer(SessionLayer::new(manager))
}

async fn whoami(auth: Auth) -> String {
    common::bearer::whoami(&auth)
}

async fn maybe_whoami(auth: Option<Auth>) -> String {
    common::bearer::maybe_whoami(auth.as_ref())
}

async fn whoami_write(auth: Auth, session: Session) -> String {
    common::bearer::whoami_write(&auth, &session)
}

/// The ROUTES and the bearer routes inside the layer, with the app's tokens as an extension.
fn bearer_app(manager: SessionManager, tokens: Option<ApiTokens>) -> Router {
    let app = bare()
        .route("/api/whoami", get(whoami))
        .route("/api/maybe-whoami", get(maybe_whoami))
        .route("/api/whoami-write", post(whoami_write));
    let app = match tokens {
        Some(tokens) => app.layer(Extension(tokens)),
        None => app,
    };
    app.layer(SessionLayer::new(manager))
}

struct AxumDriver;

impl BearerDriver for AxumDriver {
    async fn bearer_app(manager: SessionManager, tokens: Option<ApiTokens>) -> AxumApp {
        AxumApp(bearer_app(manager, tokens))
    }
}

struct AxumApp(Router);

impl Driver for AxumDriver {
    type App = AxumApp;
    const NAME: &'static str = "axum";

    async fn app(manager: SessionManager) -> AxumApp {
        AxumApp(routes(manager))
    }

    async fn app_with_middleware_twice(manager: SessionManager) -> AxumApp {
        AxumApp(routes(manager.clone()).layer(SessionLayer::new(manager)))
    }
}

impl OAuthDriver for AxumDriver {
    async fn oauth_app(manager: SessionManager, oauth: OAuth) -> AxumApp {
        AxumApp(oauth_app(manager, oauth))
    }
}

impl TestApp for AxumApp {
    async fn send(&self, request: TestRequest) -> TestResponse {
        let mut builder = Request::builder().method(request.method).uri(&request.path);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut http_request = builder
            .body(Body::from(request.body))
            .expect("a valid request");
        if let Some(peer) = request.peer {
            // What `into_make_service_with_connect_info::<SocketAddr>()` adds in a real server.
            http_request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = self
            .0
            .clone()
            .oneshot(http_request)
            .await
            .expect("axum routers never fail");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a readable body");
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

common::behaviour_suite!(AxumDriver, tokio::test);
common::oauth::oauth_suite!(AxumDriver, tokio::test);
common::bearer::bearer_suite!(AxumDriver, tokio::test);

/// Outside the shared suite: what only Axum can get wrong.
mod axum_only {
    use super::*;

    fn manager() -> SessionManager {
        let secret = session_adapters::Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        SessionManager::stateful(&secret, session_adapters::MemoryStore::new()).build()
    }

    #[tokio::test]
    async fn extractor_without_the_layer_is_a_500_naming_the_layer() {
        let app = Router::new().route("/read", get(read));
        let response = AxumApp(app).send(TestRequest::get("/read")).await;
        assert_eq!(response.status, 500);
        assert!(response.body.contains("SessionLayer"), "{response:?}");
    }

    #[tokio::test]
    async fn optional_extractors_without_the_layer_are_a_500_too() {
        // `None` would read as "signed out" and hide the setup error.
        let app = Router::new()
            .route("/maybe-me", get(maybe_me))
            .route("/maybe-profile", get(maybe_profile));
        let app = AxumApp(app);
        for path in ["/maybe-me", "/maybe-profile"] {
            let response = app.send(TestRequest::get(path)).await;
            assert_eq!(response.status, 500, "{path}: {response:?}");
            assert!(
                response.body.contains("SessionLayer"),
                "{path}: {response:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_guard_sees_the_path_before_nest_stripped_it() {
        // Under `/api/`, the guard answers 401 even though the nested router sees `/me`.
        let inner = Router::new().route("/me", get(me));
        let app = Router::new()
            .nest("/api", inner)
            .layer(SessionLayer::new(manager()));
        let response = AxumApp(app).send(TestRequest::get("/api/me")).await;
        assert_eq!(response.status, 401, "{response:?}");
    }

    #[tokio::test]
    async fn repeated_cookie_headers_are_joined() {
        let app = AxumApp(routes(manager()));
        let cookie = app
            .send(TestRequest::post("/write"))
            .await
            .only_cookie("write")
            .pair();
        let request = TestRequest::get("/read")
            .header("cookie", "theme=dark")
            .header("cookie", &cookie);
        assert_eq!(app.send(request).await.body, "1");
    }
}
