//! The server child of the HTTP part:
//! `session-bench serve <framework> <backend|anchor> <port> [reject|last-write-wins]`.
//!
//! Each framework runs on one worker thread (the parent pins the whole process to one CPU) and
//! serves `GET /plain` ("ok", never touching a session) and `GET /echo-cookie` ("ok" with a
//! `Set-Cookie` echoing the request's `Cookie`, shaped like the core's: the cost of the header
//! bytes without any session code). With a session backend the app is
//! wrapped in the framework's session binding and also serves `GET /counter` (reads and
//! increments `n`) and `GET /seed` (logs in and stores the typical data, so the load
//! generator's replayed cookie carries a typical session). The optional last argument is the
//! conflict policy of this framework's own backends (default: the core's, `reject`). An anchor
//! name instead of a backend serves the same `/counter` and `/seed` through an established
//! session crate ([`crate::anchors`]).
//!
//! The parent passes `SESSION_BENCH_DIR` (sled and SQLite files) and `SESSION_BENCH_REDIS_PREFIX`
//! in the environment. The child exits when its stdin closes, so a dying parent never leaves a
//! server behind.

use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use session_adapters::{
    JweCodec, JwtCodec, MemoryStore, RedisStore, RedisStoreConfig, Secret, SessionManager,
    SledStore, SledStoreConfig, SqliteStore, SqliteStoreConfig, UserId,
};
use session_core::config::{ConflictPolicy, Policy};

use crate::anchors::{self, Anchor};
use crate::codec::{secret, typical_data, TYPICAL_USER};
use crate::stores::redis_url;
use crate::{context, fail, BoxError};

/// The web frameworks under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framework {
    Axum,
    Actix,
    Rocket,
}

impl Framework {
    pub(crate) const ALL: [Framework; 3] = [Framework::Axum, Framework::Actix, Framework::Rocket];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Framework::Axum => "axum",
            Framework::Actix => "actix",
            Framework::Rocket => "rocket",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Framework::Axum => "Axum",
            Framework::Actix => "Actix-web",
            Framework::Rocket => "Rocket",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// What the server keeps sessions in (`Plain`: no session binding at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Plain,
    Jwt,
    /// Encrypted stateless cookies: `JweCodec::a256gcm` (`dir` + `A256GCM`).
    Jwe,
    Memory,
    /// [`SledStore`] with its default configuration (every write flushed before it returns).
    Sled,
    Sqlite,
    Redis,
}

impl Backend {
    /// The backends of the main HTTP table.
    pub(crate) const MEASURED: [Backend; 7] = [
        Backend::Plain,
        Backend::Jwt,
        Backend::Jwe,
        Backend::Memory,
        Backend::Sled,
        Backend::Sqlite,
        Backend::Redis,
    ];
    const ALL: [Backend; 7] = Backend::MEASURED;

    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Plain => "plain",
            Backend::Jwt => "jwt",
            Backend::Jwe => "jwe",
            Backend::Memory => "memory",
            Backend::Sled => "sled",
            Backend::Sqlite => "sqlite",
            Backend::Redis => "redis",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Backend::Plain => "none (plain handler)",
            Backend::Jwt => "stateless JWT",
            Backend::Jwe => "stateless JWE",
            Backend::Memory => "MemoryStore",
            Backend::Sled => "SledStore",
            Backend::Sqlite => "SqliteStore",
            Backend::Redis => "RedisStore",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s)
    }

    /// Whether sessions live in a store, where the conflict policy decides overlapping saves
    /// (stateless cookies have no shared state to conflict on).
    pub(crate) fn is_stateful(self) -> bool {
        matches!(
            self,
            Backend::Memory | Backend::Sled | Backend::Sqlite | Backend::Redis
        )
    }
}

/// What a server child runs: one of the framework's own backends, or an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// This framework's own session binding with `Backend` (or the plain server).
    Own(Backend),
    /// An established session crate ([`crate::anchors`]).
    Anchor(Anchor),
}

impl Subject {
    /// The name on the `serve` command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Subject::Own(backend) => backend.name(),
            Subject::Anchor(anchor) => anchor.name(),
        }
    }

    /// The name in the report.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Subject::Own(backend) => backend.label(),
            Subject::Anchor(anchor) => anchor.label(),
        }
    }

    /// Whether the sessions live in the Redis server (whose own CPU the report adds).
    pub(crate) fn uses_redis(self) -> bool {
        match self {
            Subject::Own(backend) => backend == Backend::Redis,
            Subject::Anchor(anchor) => anchor.uses_redis(),
        }
    }

    /// The backend or anchor named `s` on the command line.
    fn parse(s: &str) -> Option<Self> {
        Backend::parse(s)
            .map(Subject::Own)
            .or_else(|| Anchor::parse(s).map(Subject::Anchor))
    }
}

/// The conflict policy's name on the `serve` command line.
pub(crate) fn policy_name(policy: ConflictPolicy) -> &'static str {
    match policy {
        ConflictPolicy::LastWriteWins => "last-write-wins",
        _ => "reject",
    }
}

/// The conflict policy named `s` on the command line.
fn parse_policy(s: &str) -> Option<ConflictPolicy> {
    [ConflictPolicy::Reject, ConflictPolicy::LastWriteWins]
        .into_iter()
        .find(|p| policy_name(*p) == s)
}

/// Environment variable naming the directory for sled and SQLite files.
pub(crate) const DIR_ENV: &str = "SESSION_BENCH_DIR";
/// Environment variable carrying the Redis key prefix.
pub(crate) const PREFIX_ENV: &str = "SESSION_BENCH_REDIS_PREFIX";

/// The `serve` command line.
const SERVE_USAGE: &str = "usage: session-bench serve <axum|actix|rocket> \
    <plain|jwt|jwe|memory|sled|sqlite|redis|tower-memory|tower-redis|actix-cookie|actix-redis|\
    rocket-private> <port> [reject|last-write-wins]";

/// `serve <framework> <backend|anchor> <port> [policy]`: runs until killed or until stdin closes.
pub(crate) fn serve(args: &[String]) -> Result<(), BoxError> {
    let (framework, subject, port, policy) = match args {
        [f, s, p] => (f, s, p, None),
        [f, s, p, policy] => (f, s, p, Some(policy)),
        _ => return Err(fail(SERVE_USAGE)),
    };
    let framework = Framework::parse(framework)
        .ok_or_else(|| fail(format!("unknown framework {framework:?}")))?;
    let subject =
        Subject::parse(subject).ok_or_else(|| fail(format!("unknown backend {subject:?}")))?;
    let port: u16 = port
        .parse()
        .map_err(context(format!("invalid port {port:?}")))?;
    let policy = match policy {
        None => ConflictPolicy::default(),
        Some(p) => parse_policy(p).ok_or_else(|| fail(format!("unknown policy {p:?}")))?,
    };
    std::thread::spawn(|| {
        // Blocks until the parent closes our stdin (or dies): then stop at once.
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        std::process::exit(0);
    });
    match (framework, subject) {
        (_, Subject::Anchor(anchor)) if anchor.framework() != framework => Err(fail(format!(
            "{} is an anchor for {}, not {}",
            anchor.name(),
            anchor.framework().label(),
            framework.label()
        ))),
        (_, Subject::Anchor(anchor)) => anchors::serve(anchor, port),
        (Framework::Axum, Subject::Own(backend)) => axum_app::serve(backend, policy, port),
        (Framework::Actix, Subject::Own(backend)) => actix_app::serve(backend, policy, port),
        (Framework::Rocket, Subject::Own(backend)) => rocket_app::serve(backend, policy, port),
    }
}

/// The Tokio runtime of the Axum and Rocket servers: one worker thread.
pub(crate) fn one_worker_runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))
}

/// The configuration of every Rocket server: one worker, logging off, and a fixed secret key
/// (the bench enables Rocket's `secrets` feature for the private-cookie anchor, and Rocket then
/// refuses to launch in release mode without a key).
pub(crate) fn rocket_config(port: u16) -> Result<rocket::Config, BoxError> {
    Ok(rocket::Config {
        address: LOCALHOST,
        port,
        workers: 1,
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        secret_key: rocket::config::SecretKey::derive_from(secret()?.expose()),
        ..rocket::Config::release_default()
    })
}

fn data_dir() -> Result<PathBuf, BoxError> {
    std::env::var_os(DIR_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| fail(format!("{DIR_ENV} is not set")))
}

/// The session manager for `backend` with the conflict policy `on_conflict` (the core's
/// defaults otherwise), or `None` for the plain server.
async fn manager(
    backend: Backend,
    on_conflict: ConflictPolicy,
) -> Result<Option<SessionManager>, BoxError> {
    let secret = secret()?;
    let builder = match backend {
        Backend::Plain => return Ok(None),
        Backend::Jwt => {
            SessionManager::stateless(JwtCodec::hs256(&secret).map_err(context("JwtCodec"))?)
        }
        Backend::Jwe => {
            let key = Secret::from_bytes(secret.expose()[..32].to_vec()).map_err(context("key"))?;
            SessionManager::stateless(JweCodec::a256gcm(&key).map_err(context("JweCodec"))?)
        }
        Backend::Memory => SessionManager::stateful(&secret, MemoryStore::new()),
        Backend::Sled => SessionManager::stateful(
            &secret,
            SledStore::open(SledStoreConfig::new(data_dir()?.join("sled")))
                .map_err(context("open SledStore"))?,
        ),
        Backend::Sqlite => SessionManager::stateful(
            &secret,
            SqliteStore::open(SqliteStoreConfig::new(data_dir()?.join("sessions.db")))
                .map_err(context("open SqliteStore"))?,
        ),
        Backend::Redis => {
            let prefix =
                std::env::var(PREFIX_ENV).map_err(context(format!("{PREFIX_ENV} is not set")))?;
            let config = RedisStoreConfig::new(redis_url()).key_prefix(prefix);
            SessionManager::stateful(
                &secret,
                RedisStore::connect(config)
                    .await
                    .map_err(context("connect RedisStore"))?,
            )
        }
    };
    let policy = Policy::builder()
        .on_conflict(on_conflict)
        .build()
        .map_err(context("session policy"))?;
    Ok(Some(builder.policy(policy).build()))
}

/// `GET /counter`: read `n`, write `n + 1`.
fn counter(session: &session_core::Session) -> Result<String, String> {
    let n = session
        .get::<u64>("n")
        .map_err(|e| e.to_string())?
        .unwrap_or(0)
        + 1;
    session.insert("n", n).map_err(|e| e.to_string())?;
    Ok(n.to_string())
}

/// `GET /seed`: a signed-in session with the typical data and `n = 0`.
fn seed(session: &session_core::Session) -> Result<String, String> {
    session.login(UserId::new(TYPICAL_USER));
    for (key, value) in typical_data() {
        session.insert(key, value).map_err(|e| e.to_string())?;
    }
    session.insert("n", 0u64).map_err(|e| e.to_string())?;
    Ok("seeded".to_owned())
}

/// `GET /echo-cookie`: a `Set-Cookie` as large as the session cookie the request carried, with
/// the attributes the core writes.
fn echo_set_cookie(cookie: Option<&str>) -> String {
    format!(
        "{}; Max-Age=86400; Path=/; Secure; HttpOnly; SameSite=Lax",
        cookie.unwrap_or("session=")
    )
}

/// The address every server listens on.
pub(crate) const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

mod axum_app {
    //! Axum 0.8 on a one-worker Tokio runtime.

    use super::*;
    use axum::http::header::{COOKIE, SET_COOKIE};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use session_adapters::axum::SessionLayer;
    use session_adapters::Session;

    async fn plain() -> &'static str {
        "ok"
    }

    async fn echo_cookie(
        headers: HeaderMap,
    ) -> ([(axum::http::HeaderName, String); 1], &'static str) {
        let cookie = headers.get(COOKIE).and_then(|v| v.to_str().ok());
        ([(SET_COOKIE, echo_set_cookie(cookie))], "ok")
    }

    async fn counter(session: Session) -> Result<String, (StatusCode, String)> {
        super::counter(&session).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))
    }

    async fn seed(session: Session) -> Result<String, (StatusCode, String)> {
        super::seed(&session).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))
    }

    /// Serves `backend` on `port` until the process ends.
    pub(super) fn serve(
        backend: Backend,
        policy: ConflictPolicy,
        port: u16,
    ) -> Result<(), BoxError> {
        one_worker_runtime()?.block_on(async move {
            let manager = manager(backend, policy).await?;
            let mut app = Router::new()
                .route("/plain", get(plain))
                .route("/echo-cookie", get(echo_cookie));
            if let Some(manager) = manager {
                app = app
                    .route("/counter", get(counter))
                    .route("/seed", get(seed))
                    .layer(SessionLayer::new(manager));
            }
            let listener = tokio::net::TcpListener::bind((LOCALHOST, port))
                .await
                .map_err(context(format!("bind 127.0.0.1:{port}")))?;
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .map_err(context("axum::serve"))
        })
    }
}

mod actix_app {
    //! Actix-web 4 with one worker.

    use super::*;
    use actix_web::http::header;
    use actix_web::{error, web, App, HttpRequest, HttpResponse, HttpServer};
    use session_adapters::actix::SessionMiddleware;
    use session_adapters::Session;

    async fn plain() -> &'static str {
        "ok"
    }

    async fn echo_cookie(req: HttpRequest) -> HttpResponse {
        let cookie = req
            .headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok());
        HttpResponse::Ok()
            .insert_header((header::SET_COOKIE, echo_set_cookie(cookie)))
            .body("ok")
    }

    async fn counter(session: Session) -> actix_web::Result<String> {
        super::counter(&session).map_err(error::ErrorInternalServerError)
    }

    async fn seed(session: Session) -> actix_web::Result<String> {
        super::seed(&session).map_err(error::ErrorInternalServerError)
    }

    /// Serves `backend` on `port` until the process ends.
    pub(super) fn serve(
        backend: Backend,
        policy: ConflictPolicy,
        port: u16,
    ) -> Result<(), BoxError> {
        actix_web::rt::System::new().block_on(async move {
            let server = match manager(backend, policy).await? {
                Some(manager) => HttpServer::new(move || {
                    App::new()
                        .wrap(SessionMiddleware::new(manager.clone()))
                        .route("/plain", web::get().to(plain))
                        .route("/echo-cookie", web::get().to(echo_cookie))
                        .route("/counter", web::get().to(counter))
                        .route("/seed", web::get().to(seed))
                })
                .workers(1)
                .bind((LOCALHOST, port))
                .map_err(context(format!("bind 127.0.0.1:{port}")))?
                .run(),
                None => HttpServer::new(|| {
                    App::new()
                        .route("/plain", web::get().to(plain))
                        .route("/echo-cookie", web::get().to(echo_cookie))
                })
                .workers(1)
                .bind((LOCALHOST, port))
                .map_err(context(format!("bind 127.0.0.1:{port}")))?
                .run(),
            };
            server.await.map_err(context("actix server"))
        })
    }
}

mod rocket_app {
    //! Rocket 0.5 with one worker, logging off.

    use super::*;
    use rocket::http::{Header, Status};
    use rocket::request::{FromRequest, Outcome, Request};
    use rocket::{get, routes, Responder};
    use session_adapters::rocket::SessionFairing;
    use session_adapters::Session;

    #[get("/plain")]
    fn plain() -> &'static str {
        "ok"
    }

    /// The request's `Cookie` header, as it came.
    struct CookieHeader(Option<String>);

    #[rocket::async_trait]
    impl<'r> FromRequest<'r> for CookieHeader {
        type Error = std::convert::Infallible;

        async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
            Outcome::Success(CookieHeader(
                req.headers().get_one("Cookie").map(str::to_owned),
            ))
        }
    }

    #[derive(Responder)]
    struct WithSetCookie {
        body: &'static str,
        set_cookie: Header<'static>,
    }

    #[get("/echo-cookie")]
    fn echo_cookie(cookie: CookieHeader) -> WithSetCookie {
        WithSetCookie {
            body: "ok",
            set_cookie: Header::new("Set-Cookie", echo_set_cookie(cookie.0.as_deref())),
        }
    }

    #[get("/counter")]
    fn counter(session: Session) -> Result<String, (Status, String)> {
        super::counter(&session).map_err(|e| (Status::InternalServerError, e))
    }

    #[get("/seed")]
    fn seed(session: Session) -> Result<String, (Status, String)> {
        super::seed(&session).map_err(|e| (Status::InternalServerError, e))
    }

    /// Serves `backend` on `port` until the process ends.
    pub(super) fn serve(
        backend: Backend,
        policy: ConflictPolicy,
        port: u16,
    ) -> Result<(), BoxError> {
        one_worker_runtime()?.block_on(async move {
            let mut app =
                rocket::custom(rocket_config(port)?).mount("/", routes![plain, echo_cookie]);
            if let Some(manager) = manager(backend, policy).await? {
                app = app
                    .attach(SessionFairing::new(manager))
                    .mount("/", routes![counter, seed]);
            }
            // `to_string` inspects the error, which Rocket requires before it is dropped.
            app.launch()
                .await
                .map(|_| ())
                .map_err(|e| fail(format!("rocket: {e}")))
        })
    }
}
