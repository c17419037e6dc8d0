//! The behaviour suite through Actix-web: the ROUTES app (see `common`) with this crate's Actix
//! extractors, driven with `actix_web::test::{init_service, call_service}`.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use session_adapters::actix::{oauth_routes, SessionMiddleware};
use session_adapters::{
    ApiTokens, Auth, Error, OAuth, Session, SessionData, SessionManager, SignedIn,
};

use common::bearer::BearerDriver;
use common::oauth::OAuthDriver;
use common::routes::Profile;
use common::{routes, Driver, TestApp, TestRequest, TestResponse};

fn counter(session: &Session) -> u64 {
    routes::counter(session).expect("n is a number")
}

async fn index() -> &'static str {
    "ok"
}

async fn read(session: Session) -> String {
    routes::read(&session)
}

async fn write(session: Session) -> Result<String, Error> {
    Ok(routes::write(&session)?)
}

async fn write_then_fail(session: Session) -> HttpResponse {
    match routes::write_then_fail(&session) {
        Ok(()) | Err(_) => HttpResponse::InternalServerError().body("failed"),
    }
}

async fn csrf(session: Session) -> Result<String, Error> {
    Ok(routes::csrf(&session)?)
}

async fn form(session: Session, token: web::Path<String>) -> Result<String, Error> {
    routes::form(&session, &token)
}

async fn login(session: Session, user: web::Path<String>) -> Result<&'static str, Error> {
    Ok(routes::login(&session, &user.into_inner())?)
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

/// The ROUTES, without the middleware.
fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/read", web::get().to(read))
        .route("/write", web::post().to(write))
        .route("/write-then-fail", web::post().to(write_then_fail))
        .route("/csrf", web::get().to(csrf))
        .route("/form/{token}", web::post().to(form))
        .route("/login/{user}", web::post().to(login))
        .route("/renew", web::post().to(renew))
        .route("/logout", web::post().to(logout))
        .route("/logout-everywhere", web::post().to(logout_everywhere))
        .route("/profile", web::get().to(profile))
        .route("/dashboard", web::get().to(me))
        .route("/api/me", web::get().to(me))
        .route("/twice", web::get().to(twice))
        .route("/sessions", web::get().to(sessions))
        .route("/status", web::get().to(status))
        .route("/maybe-me", web::get().to(maybe_me))
        .route("/maybe-profile", web::get().to(maybe_profile));
}

async fn oauth_me(session: Session) -> String {
    common::oauth::me(&session)
}

async fn oauth_token(
    oauth: web::Data<OAuth>,
    session: Session,
    provider: web::Path<String>,
) -> HttpResponse {
    let (status, body) = common::oauth::token(&oauth, &session, &provider).await;
    HttpResponse::build(StatusCode::from_u16(status).expect("a status")).body(body)
}

/// An initialised Actix service behind a boxed closure (its type cannot be named).
struct ActixApp(Box<dyn Fn(TestRequest) -> ResponseFuture>);

type ResponseFuture = Pin<Box<dyn Future<Output = TestResponse>>>;

/// `ActixApp` around `init_service(app)`: a macro because the service's request type
/// (`actix_http::Request`) is not nameable through `actix_web`.
macro_rules! actix_app {
    ($app:expr) => {{
        let service = Rc::new(test::init_service($app).await);
        ActixApp(Box::new(move |request: TestRequest| {
            let service = Rc::clone(&service);
            Box::pin(async move {
                let request = to_actix(request).to_request();
                from_actix(test::call_service(&*service, request).await).await
            })
        }))
    }};
}

fn to_actix(request: TestRequest) -> test::TestRequest {
    let method = Method::from_bytes(request.method.as_bytes()).expect("a valid method");
    let mut builder = test::TestRequest::default()
        .method(method)
        .uri(&request.path);
    for (name, value) in &request.headers {
        builder = builder.append_header((name.as_str(), value.as_str()));
    }
    if let Some(peer) = request.peer {
        builder = builder.peer_addr(peer);
    }
    builder.set_payload(request.body)
}

async fn from_actix<B: MessageBody>(response: ServiceResponse<B>) -> TestResponse {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = test::read_body(response).await;
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

struct ActixDriver;

impl Driver for ActixDriver {
    type App = ActixApp;
    const NAME: &'static str = "actix";

    async fn app(manager: SessionManager) -> ActixApp {
        let app = App::new()
            .wrap(SessionMiddleware::new(manager))
            .configure(routes);
        actix_app!(app)
    }

    async fn app_with_middleware_twice(manager: SessionManager) -> ActixApp {
        let app = App::new()
            .wrap(SessionMiddleware::new(manager.clone()))
            .wrap(SessionMiddleware::new(manager))
            .configure(routes);
        actix_app!(app)
    }
}

impl OAuthDriver for ActixDriver {
    async fn oauth_app(manager: SessionManager, oauth: OAuth) -> ActixApp {
        let app = App::new()
            .wrap(SessionMiddleware::new(manager))
            .configure(routes)
            .configure(oauth_routes(oauth.clone()))
            .app_data(web::Data::new(oauth))
            .route("/me", web::get().to(oauth_me))
            .route("/token/{provider}", web::get().to(oauth_token));
        actix_app!(app)
    }
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

impl BearerDriver for ActixDriver {
    async fn bearer_app(manager: SessionManager, tokens: Option<ApiTokens>) -> ActixApp {
        let mut app = App::new();
        if let Some(tokens) = tokens {
            app = app.app_data(tokens);
        }
        let app = app
            .wrap(SessionMiddleware::new(manager))
            .configure(routes)
            .route("/api/whoami", web::get().to(whoami))
            .route("/api/maybe-whoami", web::get().to(maybe_whoami))
            .route("/api/whoami-write", web::post().to(whoami_write));
        actix_app!(app)
    }
}

impl TestApp for ActixApp {
    fn send(&self, request: TestRequest) -> impl Future<Output = TestResponse> {
        (self.0)(request)
    }
}

common::behaviour_suite!(ActixDriver, actix_web::test);
common::oauth::oauth_suite!(ActixDriver, actix_web::test);
common::bearer::bearer_suite!(ActixDriver, actix_web::test);

/// Outside the shared suite: what only Actix-web can get wrong.
mod actix_only {
    use std::cell::Cell;

    use session_adapters::core::testing::{FaultyStore, SpyStore, StoreOp};
    use session_adapters::{MemoryStore, Secret};

    use super::*;

    fn manager() -> SessionManager {
        let secret = Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        SessionManager::stateful(&secret, MemoryStore::new()).build()
    }

    #[actix_web::test]
    async fn extractor_without_the_middleware_is_a_500_naming_it() {
        let app = actix_app!(App::new().configure(routes));
        let response = app.send(TestRequest::get("/read")).await;
        assert_eq!(response.status, 500);
        assert!(response.body.contains("SessionMiddleware"), "{response:?}");
    }

    #[actix_web::test]
    async fn the_guard_sees_the_full_path_inside_a_scope() {
        // Under `/api/`, the guard answers 401 even though the scope matches `/me`.
        let app = App::new()
            .wrap(SessionMiddleware::new(manager()))
            .service(web::scope("/api").route("/me", web::get().to(me)));
        let app = actix_app!(app);
        let response = app.send(TestRequest::get("/api/me")).await;
        assert_eq!(response.status, 401, "{response:?}");
    }

    #[actix_web::test]
    async fn repeated_cookie_headers_are_joined() {
        let app = App::new()
            .wrap(SessionMiddleware::new(manager()))
            .configure(routes);
        let app = actix_app!(app);
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

    #[actix_web::test]
    async fn wrapping_twice_loads_and_commits_once() {
        let store = SpyStore::new(MemoryStore::new());
        let calls = store.counts();
        let secret = Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        let manager = SessionManager::stateful(&secret, store).build();
        let app = App::new()
            .wrap(SessionMiddleware::new(manager.clone()))
            .service(
                web::scope("")
                    .wrap(SessionMiddleware::new(manager))
                    .configure(routes),
            );
        let app = actix_app!(app);
        let cookie = app
            .send(TestRequest::post("/write"))
            .await
            .only_cookie("write")
            .pair();
        calls.reset();
        let response = app
            .send(TestRequest::post("/write").cookie(Some(&cookie)))
            .await;
        assert_eq!((response.status, response.body.as_str()), (200, "2"));
        assert_eq!(calls.get(StoreOp::Load), 1, "store loads");
        assert_eq!(calls.writes(), 1, "store writes");
    }

    /// Lazy loading: a failed load rejects the handler that asks for the session (it does not
    /// run) and leaves the handlers that do not ask alone.
    #[actix_web::test]
    async fn a_failed_load_stops_only_the_handlers_that_ask_for_the_session() {
        let store = FaultyStore::new(MemoryStore::new());
        let faults = store.switch();
        let secret = Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        let manager = SessionManager::stateful(&secret, store).build();
        let calls = Rc::new(Cell::new(0u32));
        let (asking, not_asking) = (Rc::clone(&calls), Rc::clone(&calls));
        let app = App::new()
            .wrap(SessionMiddleware::new(manager))
            .configure(routes)
            .route(
                "/asks",
                web::get().to(move |_session: Session| {
                    asking.set(asking.get() + 1);
                    async { "ran" }
                }),
            )
            .route(
                "/does-not-ask",
                web::get().to(move || {
                    not_asking.set(not_asking.get() + 10);
                    async { "ran" }
                }),
            );
        let app = actix_app!(app);
        let cookie = app
            .send(TestRequest::post("/write"))
            .await
            .only_cookie("write")
            .pair();
        faults.fail(StoreOp::Load);
        let response = app
            .send(TestRequest::get("/asks").cookie(Some(&cookie)))
            .await;
        assert_eq!(response.status, 503, "{response:?}");
        assert!(response.set_cookies().is_empty(), "{response:?}");
        assert_eq!(calls.get(), 0, "the handler that asks must not run");
        let response = app
            .send(TestRequest::get("/does-not-ask").cookie(Some(&cookie)))
            .await;
        assert_eq!((response.status, response.body.as_str()), (200, "ran"));
        assert!(response.set_cookies().is_empty(), "{response:?}");
        assert_eq!(calls.get(), 10, "the handler that does not ask runs");
    }
}
