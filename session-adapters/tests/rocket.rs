//! The behaviour suite through Rocket: the ROUTES app (see `common`) with this crate's Rocket
//! request guards, driven with Rocket's untracked asynchronous local client (the scenarios carry
//! cookies themselves).

mod common;

use std::str::FromStr;

use rocket::config::LogLevel;
use rocket::http::{Header, Method, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, post, routes, Build, Config, Rocket, State};
use session_adapters::rocket::{with_oauth, SessionFairing};
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

#[get("/")]
fn index() -> &'static str {
    "ok"
}

#[get("/read")]
fn read(session: Session) -> String {
    routes::read(&session)
}

#[post("/write")]
fn write(session: Session) -> Result<String, Error> {
    Ok(routes::write(&session)?)
}

#[post("/write-then-fail")]
fn write_then_fail(session: Session) -> (Status, &'static str) {
    match routes::write_then_fail(&session) {
        Ok(()) | Err(_) => (Status::InternalServerError, "failed"),
    }
}

#[post("/login/<user>")]
fn login(session: Session, user: &str) -> Result<&'static str, Error> {
    Ok(routes::login(&session, user)?)
}

#[post("/renew")]
fn renew(session: Session) -> &'static str {
    session.renew();
    "ok"
}

#[get("/csrf")]
fn csrf(session: Session) -> Result<String, Error> {
    Ok(routes::csrf(&session)?)
}

#[post("/form/<token>")]
fn form(session: Session, token: &str) -> Result<String, Error> {
    routes::form(&session, token)
}

#[post("/logout")]
fn logout(session: Session) -> &'static str {
    session.destroy();
    "ok"
}

#[post("/logout-everywhere")]
async fn logout_everywhere(session: Session) -> Result<String, Error> {
    Ok(session.log_out_everywhere().await?.to_string())
}

#[get("/profile")]
fn profile(profile: SessionData<Profile>) -> String {
    profile.into_inner().name
}

#[get("/dashboard")]
fn dashboard(auth: SignedIn) -> String {
    auth.user_id().to_string()
}

#[get("/api/me")]
fn me(auth: SignedIn) -> String {
    auth.user_id().to_string()
}

#[get("/twice")]
fn twice(first: Session, second: Session, auth: SignedIn) -> String {
    assert_eq!(counter(&first), counter(&second));
    auth.user_id().to_string()
}

#[get("/maybe-me")]
fn maybe_me(user: Option<SignedIn>) -> String {
    routes::maybe_me(user.as_ref().map(SignedIn::user_id))
}

#[get("/maybe-profile")]
fn maybe_profile(profile: Option<SessionData<Profile>>) -> String {
    routes::maybe_profile(profile.map(SessionData::into_inner))
}

#[get("/sessions")]
async fn sessions(session: Session) -> Result<String, Error> {
    Ok(routes::sessions(&session).await?)
}

#[get("/status")]
fn status(session: Session) -> String {
    routes::status(&session)
}

#[get("/me")]
fn oauth_me(session: Session) -> String {
    common::oauth::me(&session)
}

#[get("/token/<provider>")]
async fn oauth_token(oauth: &State<OAuth>, session: Session, provider: &str) -> (Status, String) {
    let (status, body) = common::oauth::token(oauth, &session, provider).await;
    (Status::from_code(status).expect("a status"), body)
}

/// A quiet Rocket with the ROUTES and no fairing.
fn bare() -> Rocket<Build> {
    let config = Config {
        log_level: LogLevel::Off,
        cli_colors: false,
        ..Config::debug_default()
    };
    rocket::custom(config).mount(
        "/",
        routes![
            index,
            read,
            write,
            write_then_fail,
            csrf,
            form,
            login,
            renew,
            logout,
            logout_everywhere,
            profile,
            dashboard,
            me,
            twice,
            sessions,
            status,
            maybe_me,
            maybe_profile,
        ],
    )
}

struct RocketApp(Client);

impl RocketApp {
    async fn new(rocket: Rocket<Build>) -> Self {
        RocketApp(Client::untracked(rocket).await.expect("a valid Rocket"))
    }
}

struct RocketDriver;

impl Driver for RocketDriver {
    type App = RocketApp;
    const NAME: &'static str = "rocket";

    async fn app(manager: SessionManager) -> RocketApp {
        RocketApp::new(bare().attach(SessionFairing::new(manager))).await
    }

    async fn app_with_middleware_twice(manager: SessionManager) -> RocketApp {
        let twice = bare()
            .attach(SessionFairing::new(manager.clone()))
            .attach(SessionFairing::new(manager));
        RocketApp::new(twice).await
    }
}

impl OAuthDriver for RocketDriver {
    async fn oauth_app(manager: SessionManager, oauth: OAuth) -> RocketApp {
        let rocket = with_oauth(bare(), oauth)
            .mount("/", routes![oauth_me, oauth_token])
            .attach(SessionFairing::new(manager));
        RocketApp::new(rocket).await
    }
}

#[get("/api/whoami")]
fn whoami(auth: Auth) -> String {
    common::bearer::whoami(&auth)
}

#[get("/api/maybe-whoami")]
fn maybe_whoami(auth: Option<Auth>) -> String {
    common::bearer::maybe_whoami(auth.as_ref())
}

#[post("/api/whoami-write")]
fn whoami_write(auth: Auth, session: Session) -> String {
    common::bearer::whoami_write(&auth, &session)
}

impl BearerDriver for RocketDriver {
    async fn bearer_app(manager: SessionManager, tokens: Option<ApiTokens>) -> RocketApp {
        let mut rocket = bare()
            .mount("/", routes![whoami, maybe_whoami, whoami_write])
            .attach(SessionFairing::new(manager));
        if let Some(tokens) = tokens {
            rocket = rocket.manage(tokens);
        }
        RocketApp::new(rocket).await
    }
}

impl TestApp for RocketApp {
    async fn send(&self, request: TestRequest) -> TestResponse {
        let method = Method::from_str(request.method).expect("a valid method");
        let mut local = self.0.req(method, request.path.clone());
        for (name, value) in request.headers {
            local = local.header(Header::new(name, value));
        }
        if let Some(peer) = request.peer {
            local = local.remote(peer);
        }
        let response = local.body(request.body).dispatch().await;
        let status = response.status().code;
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_ascii_lowercase(), h.value().to_owned()))
            .collect();
        let body = response.into_string().await.unwrap_or_default();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

common::behaviour_suite!(RocketDriver, tokio::test);
common::oauth::oauth_suite!(RocketDriver, tokio::test);
common::bearer::bearer_suite!(RocketDriver, tokio::test);

/// Outside the shared suite: what only Rocket can get wrong.
mod rocket_only {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use rocket::State;
    use session_adapters::core::testing::{FaultyStore, SpyStore, StoreOp};
    use session_adapters::SessionRejection;
    use session_adapters::{MemoryStore, Secret};

    use super::*;

    fn manager() -> SessionManager {
        let secret = Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        SessionManager::stateful(&secret, MemoryStore::new()).build()
    }

    #[get("/guarded")]
    fn guarded(auth: Result<SignedIn, SessionRejection>) -> Result<String, SessionRejection> {
        Ok(auth?.user_id().to_string())
    }

    #[get("/counted")]
    fn counted(calls: &State<Arc<AtomicU32>>) -> &'static str {
        calls.fetch_add(1, Ordering::SeqCst);
        "ran"
    }

    #[get("/counted-with-session")]
    fn counted_with_session(_session: Session, calls: &State<Arc<AtomicU32>>) -> &'static str {
        calls.fetch_add(1, Ordering::SeqCst);
        "ran"
    }

    #[get("/optional")]
    fn optional(auth: Option<SignedIn>) -> Result<String, Status> {
        auth.map(|a| a.user_id().to_string())
            .ok_or(Status::Unauthorized)
    }

    #[tokio::test]
    async fn a_handler_that_answers_401_itself_after_an_optional_guard_keeps_its_401() {
        let rocket = bare()
            .mount("/", routes![optional])
            .attach(SessionFairing::new(manager()));
        let app = RocketApp::new(rocket).await;
        let response = app.send(TestRequest::get("/optional")).await;
        assert_eq!(response.status, 401, "{response:?}");
        assert_eq!(response.header("location"), None, "{response:?}");
    }

    #[tokio::test]
    async fn guard_without_the_fairing_is_a_500() {
        let app = RocketApp::new(bare()).await;
        assert_eq!(app.send(TestRequest::get("/read")).await.status, 500);
    }

    #[tokio::test]
    async fn rejection_as_a_responder_names_the_missing_fairing() {
        let app = RocketApp::new(bare().mount("/", routes![guarded])).await;
        let response = app.send(TestRequest::get("/guarded")).await;
        assert_eq!(response.status, 500);
        assert!(response.body.contains("SessionFairing"), "{response:?}");
    }

    #[tokio::test]
    async fn rejection_as_a_responder_gives_the_guard_answer() {
        let rocket = bare()
            .mount("/", routes![guarded])
            .attach(SessionFairing::new(manager()));
        let app = RocketApp::new(rocket).await;
        let response = app.send(TestRequest::get("/guarded")).await;
        assert_eq!(response.status, 303, "{response:?}");
        assert_eq!(response.header("location"), Some("/login"));
        let response = app
            .send(TestRequest::get("/guarded").header("accept", "application/json"))
            .await;
        assert_eq!(response.status, 401, "{response:?}");
    }

    #[tokio::test]
    async fn a_guard_redirect_is_empty_and_keeps_shield_headers() {
        let app = RocketApp::new(bare().attach(SessionFairing::new(manager()))).await;
        let response = app.send(TestRequest::get("/dashboard")).await;
        assert_eq!(response.status, 303, "{response:?}");
        assert_eq!(response.header("location"), Some("/login"));
        assert_eq!(response.body, "", "not the 401 catcher's page");
        assert_eq!(response.header("content-type"), None, "{response:?}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }

    #[tokio::test]
    async fn the_guard_sees_the_full_path_under_a_mount_point() {
        let rocket = bare()
            .mount("/api/v2", routes![guarded])
            .attach(SessionFairing::new(manager()));
        let app = RocketApp::new(rocket).await;
        let response = app.send(TestRequest::get("/api/v2/guarded")).await;
        assert_eq!(response.status, 401, "{response:?}");
    }

    #[tokio::test]
    async fn repeated_cookie_headers_are_joined() {
        let app = RocketApp::new(bare().attach(SessionFairing::new(manager()))).await;
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

    #[tokio::test]
    async fn a_tracked_client_carries_the_cookie_in_its_jar() {
        let rocket = bare().attach(SessionFairing::new(manager()));
        let client = Client::tracked(rocket).await.expect("a valid Rocket");
        assert_eq!(
            client.post("/write").dispatch().await.into_string().await,
            Some("1".into())
        );
        let response = client.get("/read").dispatch().await;
        assert_eq!(response.into_string().await, Some("1".into()));
    }

    /// A tracked client keeps the flow cookie in its jar and sends no `Cookie` header: the
    /// callback finds it there, as the fairing finds the session cookie.
    #[tokio::test]
    async fn a_tracked_client_carries_the_flow_cookie_in_its_jar() {
        let (_standin, oauth, _clock) = common::oauth::standin_oauth(|b| b).await;
        let rocket = with_oauth(bare(), oauth)
            .mount("/", routes![oauth_me])
            .attach(SessionFairing::new(manager()));
        let client = Client::tracked(rocket).await.expect("a valid Rocket");
        let response = client
            .get("/auth/github/sign-in?next=/dashboard")
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::SeeOther);
        let authorize = response
            .headers()
            .get_one("Location")
            .expect("a Location")
            .to_owned();
        let callback = common::oauth::follow_authorize(&authorize).await;
        let response = client.get(callback).dispatch().await;
        assert_eq!(response.status(), Status::SeeOther);
        assert_eq!(response.headers().get_one("Location"), Some("/dashboard"));
        let me = client.get("/me").dispatch().await.into_string().await;
        assert!(
            me.as_deref().is_some_and(|me| me.contains("github:583231")),
            "{me:?}"
        );
    }

    #[tokio::test]
    async fn attaching_twice_loads_and_commits_once() {
        let store = SpyStore::new(MemoryStore::new());
        let calls = store.counts();
        let secret = Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        let manager = SessionManager::stateful(&secret, store).build();
        let rocket = bare()
            .attach(SessionFairing::new(manager.clone()))
            .attach(SessionFairing::new(manager));
        let app = RocketApp::new(rocket).await;
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

    /// Lazy loading, as in Axum and Actix-web: a failed load fails the guard that asks for the
    /// session (its handler does not run) and leaves handlers without a session guard alone.
    #[tokio::test]
    async fn a_failed_load_stops_only_the_handlers_that_ask_for_the_session() {
        let store = FaultyStore::new(MemoryStore::new());
        let faults = store.switch();
        let secret = Secret::from_bytes(vec![1; 32]).expect("32 bytes");
        let manager = SessionManager::stateful(&secret, store).build();
        let calls = Arc::new(AtomicU32::new(0));
        let rocket = bare()
            .mount("/", routes![counted, counted_with_session])
            .manage(Arc::clone(&calls))
            .attach(SessionFairing::new(manager));
        let app = RocketApp::new(rocket).await;
        let cookie = app
            .send(TestRequest::post("/write"))
            .await
            .only_cookie("write")
            .pair();
        faults.fail(StoreOp::Load);

        let response = app
            .send(TestRequest::get("/counted-with-session").cookie(Some(&cookie)))
            .await;
        assert_eq!(response.status, 503, "{response:?}");
        assert!(response.set_cookies().is_empty(), "{response:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "a guarded handler must not run"
        );

        let response = app
            .send(TestRequest::get("/counted").cookie(Some(&cookie)))
            .await;
        assert_eq!(response.status, 200, "{response:?}");
        assert!(response.set_cookies().is_empty(), "{response:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "an unguarded handler never loads the session, so it runs and answers"
        );
    }
}
