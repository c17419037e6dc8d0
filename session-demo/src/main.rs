//! The demo app behind `cargo xtask demo`: an Axum app with a login form (users from
//! `users.json`: bcryptjs hashes, upgraded to Argon2id at the first sign-in), the signed-in user's session status, a counter that
//! shows writes, "renew id", logout, "log out everywhere" and the list of active sessions; and
//! "Sign in with GitHub / Vercel" (see `sign_in.rs`: a stand-in provider on loopback unless the
//! real providers' credentials are in the environment), with the provider's profile and a live
//! check that a fresh access token can be had; API tokens (`/tokens`: create, shown once, list,
//! revoke) and `/api/me`, which answers for a session or an `Authorization: Bearer` token.
//!
//! `--store jwt|jwe|memory|sled|sqlite|redis|redis-cluster|postgres` picks the backend
//! (default: an SQLite file in `demo-data/`, nothing to install; `redis` is `REDIS_URL`,
//! `redis-cluster` the nodes in `REDIS_CLUSTER_NODES`, `postgres` the database at
//! `POSTGRES_URL`, in schema `POSTGRES_SCHEMA` if set); `--port N` the port (default 3000). Several demo processes
//! given the same store and `SESSION_SECRET` are one app on several nodes. `hash <password>`
//! prints an Argon2id hash for `users.json`.

mod api_tokens;
mod pages;
mod sign_in;
mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use session_adapters::auth::api_tokens::{ApiTokenStore, ApiTokens, MemoryApiTokenStore};
use session_adapters::auth::tokens::{MemoryTokenStore, TokenStore};
use session_adapters::auth::{Profile, TokenError};
use session_adapters::axum::{oauth_routes, SessionLayer};
use session_adapters::{
    Error, JweCodec, JwtCodec, MemoryStore, PostgresApiTokenStore, PostgresStore,
    PostgresStoreConfig, PostgresTokenStore, RedisApiTokenStore, RedisStore, RedisStoreConfig,
    RedisTokenStore, Secret, Session, SessionManager, SignedIn, SledStore, SledStoreConfig,
    SqliteApiTokenStore, SqliteStore, SqliteStoreConfig, SqliteTokenStore, UserId,
};

use users::Users;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    store: String,
    port: u16,
    data_dir: PathBuf,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        store: "sqlite".to_owned(),
        port: 3000,
        data_dir: PathBuf::from("demo-data"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--store" => options.store = value()?,
            "--port" => options.port = value()?.parse().map_err(|_| "--port takes a number".to_owned())?,
            "--data-dir" => options.data_dir = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other:?} (use --store, --port, --data-dir, or `hash <password>`)")),
        }
    }
    Ok(options)
}

/// `SESSION_SECRET` if set; otherwise a random secret kept in the data directory, so sessions
/// survive restarts of the demo.
fn load_secret(data_dir: &std::path::Path) -> Result<Secret, BoxError> {
    if std::env::var_os(session_core::config::DEFAULT_SECRET_ENV).is_some() {
        return Ok(Secret::from_default_env()?);
    }
    let path = data_dir.join("secret");
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(Secret::from_bytes(bytes)?);
    }
    let mut bytes = vec![0u8; 32];
    for chunk in bytes.chunks_mut(32) {
        chunk.copy_from_slice(session_core::store::SessionId::generate().as_bytes());
    }
    write_private(&path, &bytes)?;
    Ok(Secret::from_bytes(bytes)?)
}

/// Creates `path` readable and writable by its owner only (mode 0600 on Unix): it holds the
/// key that signs every session.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_generated_secret_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "session-demo-secret-{}",
            session_core::store::SessionId::generate().key().to_hex()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if std::env::var_os(session_core::config::DEFAULT_SECRET_ENV).is_none() {
            let first = load_secret(&dir).expect("a new secret");
            let mode = std::fs::metadata(dir.join("secret"))
                .expect("the file exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
            let again = load_secret(&dir).expect("the same secret");
            assert_eq!(first.expose(), again.expose(), "kept across restarts");
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// Every page with a form asks for a CSRF token: every store the demo offers without a
    /// server must give one (the stateless ones once answered 500 `NoCsrfKey`).
    #[tokio::test]
    async fn every_embedded_store_gives_form_tokens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = Secret::from_bytes(vec![5; 32]).expect("32 bytes");
        for store in ["jwt", "jwe", "memory", "sled", "sqlite"] {
            let options = Options {
                store: store.to_owned(),
                port: 0,
                data_dir: dir.path().join(store),
            };
            std::fs::create_dir_all(&options.data_dir).expect("data dir");
            let manager = build_manager(&options, &secret).await.expect(store);
            let session = manager
                .load(None, session_core::RequestContext::default())
                .await
                .expect("a session");
            let token = session
                .csrf_token()
                .unwrap_or_else(|e| panic!("{store}: {e}"));
            assert!(session.verify_csrf_token(&token).is_ok(), "{store}");
        }
    }
}

async fn build_manager(options: &Options, secret: &Secret) -> Result<SessionManager, BoxError> {
    let dir = &options.data_dir;
    let builder = match options.store.as_str() {
        "jwt" => SessionManager::stateless(JwtCodec::hs256(secret)?)
            .revocation_store(MemoryStore::new()),
        "jwe" => SessionManager::stateless(JweCodec::a256gcm(secret)?)
            .revocation_store(MemoryStore::new()),
        "memory" => SessionManager::stateful(secret, MemoryStore::new()),
        "sled" => SessionManager::stateful(
            secret,
            SledStore::open(SledStoreConfig::new(dir.join("sessions.sled")))?,
        ),
        "sqlite" => SessionManager::stateful(
            secret,
            SqliteStore::open(SqliteStoreConfig::new(dir.join("sessions.sqlite3")))?,
        ),
        "redis" | "redis-cluster" => SessionManager::stateful(
            secret,
            RedisStore::connect(redis_config(&options.store)?).await?,
        ),
        "postgres" => SessionManager::stateful(
            secret,
            PostgresStore::connect(postgres_config()).await?,
        ),
        other => return Err(format!(
            "unknown store {other:?}: use jwt, jwe, memory, sled, sqlite, redis, redis-cluster or postgres"
        )
        .into()),
    };
    Ok(builder.build())
}

/// `REDIS_URL` for `redis`; the nodes in `REDIS_CLUSTER_NODES` for `redis-cluster`; keys under
/// `REDIS_KEY_PREFIX` when it is set.
fn redis_config(store: &str) -> Result<RedisStoreConfig, BoxError> {
    let config = if store == "redis-cluster" {
        RedisStoreConfig::cluster_from_env()
            .ok_or("--store redis-cluster needs REDIS_CLUSTER_NODES (comma-separated node URLs)")?
    } else {
        RedisStoreConfig::from_env()
    };
    Ok(match std::env::var("REDIS_KEY_PREFIX") {
        Ok(prefix) => config.key_prefix(prefix),
        Err(_) => config,
    })
}

/// `POSTGRES_URL`, in the schema `POSTGRES_SCHEMA` when it is set.
fn postgres_config() -> PostgresStoreConfig {
    let config = PostgresStoreConfig::from_env();
    match std::env::var("POSTGRES_SCHEMA") {
        Ok(schema) => config.schema(schema),
        Err(_) => config,
    }
}

/// Where the OAuth tokens are kept: beside the sessions for SQLite, Redis and PostgreSQL, in
/// memory for the others.
async fn token_store(options: &Options) -> Result<Arc<dyn TokenStore>, BoxError> {
    Ok(match options.store.as_str() {
        "sqlite" => Arc::new(SqliteTokenStore::open(SqliteStoreConfig::new(
            options.data_dir.join("sessions.sqlite3"),
        ))?),
        "redis" | "redis-cluster" => {
            Arc::new(RedisTokenStore::connect(redis_config(&options.store)?).await?)
        }
        "postgres" => Arc::new(PostgresTokenStore::connect(postgres_config()).await?),
        _ => Arc::new(MemoryTokenStore::new()),
    })
}

/// Where the API tokens are kept: beside the sessions for SQLite, Redis and PostgreSQL, in
/// memory for the others.
async fn api_token_store(options: &Options) -> Result<Arc<dyn ApiTokenStore>, BoxError> {
    Ok(match options.store.as_str() {
        "sqlite" => Arc::new(SqliteApiTokenStore::open(SqliteStoreConfig::new(
            options.data_dir.join("sessions.sqlite3"),
        ))?),
        "redis" | "redis-cluster" => {
            Arc::new(RedisApiTokenStore::connect(redis_config(&options.store)?).await?)
        }
        "postgres" => Arc::new(PostgresApiTokenStore::connect(postgres_config()).await?),
        _ => Arc::new(MemoryApiTokenStore::new()),
    })
}

#[derive(Clone)]
struct App {
    users: Arc<Users>,
    store_name: Arc<str>,
    sign_in: Arc<sign_in::SignIn>,
    api_tokens: ApiTokens,
    /// Where the demo is served, for the `curl` line of a new token.
    base_url: Arc<str>,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("hash") {
        let password = args.get(2).ok_or("usage: session-demo hash <password>")?;
        println!("{}", session_adapters::auth::password::hash(password)?);
        return Ok(());
    }
    let options = parse_args()?;
    std::fs::create_dir_all(&options.data_dir)?;
    let secret = load_secret(&options.data_dir)?;
    let manager = build_manager(&options, &secret).await?;
    let seed = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/users.json"));
    let users = Users::load(seed, &options.data_dir)?;
    let tokens = token_store(&options).await?;
    let sign_in = sign_in::configure(&secret, options.port, tokens).await?;
    let oauth = sign_in.oauth.clone();
    let api_tokens = ApiTokens::builder(&secret, api_token_store(&options).await?).build();
    let app = App {
        users: Arc::new(users),
        store_name: options.store.clone().into(),
        sign_in: Arc::new(sign_in),
        api_tokens: api_tokens.clone(),
        base_url: std::env::var("PUBLIC_URL")
            .unwrap_or_else(|_| format!("http://127.0.0.1:{}", options.port))
            .into(),
    };
    let router = Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/count", post(count))
        .route("/renew", post(renew))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/dev/advance-provider-clock", post(advance_provider_clock))
        .route("/tokens", get(api_tokens::list).post(api_tokens::create))
        .route("/tokens/{id}/revoke", post(api_tokens::revoke))
        .route("/api/me", get(api_tokens::me))
        .merge(oauth_routes(oauth))
        .layer(Extension(api_tokens))
        .layer(SessionLayer::new(manager))
        .with_state(app);
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "session demo on http://{addr} (store: {}); sign in as alice / wonderland or bob / builder",
        options.store
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// The CSRF token of a POST form ([`pages::with_csrf`] puts it in every form); the handler checks
/// it with `verify_csrf_token` before doing anything. The session layer's origin check refuses
/// cross-site POSTs before any handler runs; this is the second line, for browsers that send no
/// origin headers.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

async fn home(State(app): State<App>, user: SignedIn) -> Result<Html<String>, Error> {
    let count: u64 = user.get("count")?.unwrap_or(0);
    let sessions = user.list_user_sessions().await?;
    let provider = match Profile::of(&user) {
        Some(profile) => Some(provider_view(&app, user.user_id(), profile).await),
        None => None,
    };
    let password = app.users.scheme(user.user_id().as_str()).map(|scheme| {
        let note: Option<String> = user.get(PASSWORD_NOTE).ok().flatten();
        (scheme, note)
    });
    Ok(Html(pages::with_csrf(
        pages::dashboard(
            &app.store_name,
            user.user_id(),
            &user,
            count,
            &sessions,
            provider.as_ref(),
            password.as_ref(),
        ),
        &user.csrf_token()?,
    )))
}

/// The provider part of the dashboard: the profile, the stored grant, and whether a fresh access
/// token can be had (asked for, refreshed if due, and tried on the provider's user endpoint).
async fn provider_view(app: &App, user: &UserId, profile: Profile) -> pages::ProviderView {
    let oauth = &app.sign_in.oauth;
    let token = match oauth.access_token(user, &profile.provider).await {
        Ok(token) => match oauth.fetch_user(&profile.provider, &token).await {
            Ok(who) => Ok(format!(
                "the provider's user endpoint accepts it (it answers for {})",
                who.username.as_deref().unwrap_or(&who.account)
            )),
            Err(e) => Err(format!("the provider refused it: {e}")),
        },
        Err(TokenError::SignInAgain(why)) => Err(format!("sign in again: {why}")),
        Err(e) => Err(e.to_string()),
    };
    // Read after asking for the token, so a refresh it made shows.
    let grant = oauth
        .vault()
        .info(user, &profile.provider)
        .await
        .ok()
        .flatten();
    pages::ProviderView {
        simulated: app.sign_in.simulated.contains(&profile.provider.as_str()),
        now: oauth.token_now(),
        profile,
        grant,
        token,
    }
}

async fn login_form(State(app): State<App>, session: Session) -> Response {
    if session.user_id().is_some() {
        return Redirect::to("/").into_response();
    }
    match session.csrf_token() {
        Ok(token) => Html(pages::with_csrf(
            pages::login(None, &app.sign_in.simulated),
            &token,
        ))
        .into_response(),
        Err(e) => Error::from(e).into_response(),
    }
}

/// Moves the stand-in provider's clock an hour on (the dashboard's "let the access token
/// expire"); nothing when the providers are real.
async fn advance_provider_clock(
    State(app): State<App>,
    user: SignedIn,
    Form(form): Form<CsrfField>,
) -> Result<Redirect, Error> {
    user.verify_csrf_token(&form.csrf)?;
    if let Some(standin) = &app.sign_in.standin {
        standin.advance(std::time::Duration::from_secs(3600));
    }
    Ok(Redirect::to("/"))
}

/// Session key of the dashboard's note that the password hash was just upgraded.
const PASSWORD_NOTE: &str = "password_note";

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(app): State<App>,
    ConnectInfo(_peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Response {
    if let Err(e) = session.verify_csrf_token(&form.csrf) {
        return Error::from(e).into_response();
    }
    let users = app.users.clone();
    let username = form.username.clone();
    let before = app.users.scheme(&form.username);
    let outcome = tokio::task::spawn_blocking(move || users.sign_in(&username, &form.password))
        .await
        .unwrap_or(users::SignIn::Refused);
    if matches!(outcome, users::SignIn::Refused) {
        let page = pages::with_csrf(
            pages::login(
                Some("Unknown user or wrong password."),
                &app.sign_in.simulated,
            ),
            &form.csrf,
        );
        return (axum::http::StatusCode::UNAUTHORIZED, Html(page)).into_response();
    }
    if let (users::SignIn::Upgraded, Some(before)) = (outcome, before) {
        let note = format!("upgraded from {before} to Argon2id at this sign-in");
        if let Err(e) = session.insert(PASSWORD_NOTE, note) {
            return Error::from(e).into_response();
        }
    }
    session.login_with(UserId::new(form.username), Some("password"));
    Redirect::to("/").into_response()
}

async fn count(user: SignedIn, Form(form): Form<CsrfField>) -> Result<Redirect, Error> {
    user.verify_csrf_token(&form.csrf)?;
    let n: u64 = user.get("count")?.unwrap_or(0);
    user.insert("count", n + 1)?;
    Ok(Redirect::to("/"))
}

async fn renew(user: SignedIn, Form(form): Form<CsrfField>) -> Result<Redirect, Error> {
    user.verify_csrf_token(&form.csrf)?;
    user.renew();
    Ok(Redirect::to("/"))
}

async fn logout(session: Session, Form(form): Form<CsrfField>) -> Result<Redirect, Error> {
    session.verify_csrf_token(&form.csrf)?;
    session.destroy();
    Ok(Redirect::to("/login"))
}

#[derive(Deserialize)]
struct Everywhere {
    /// Also revoke the user's API tokens.
    #[serde(default)]
    revoke_tokens: Option<String>,
    #[serde(default)]
    csrf: String,
}

async fn logout_everywhere(
    State(app): State<App>,
    user: SignedIn,
    Form(form): Form<Everywhere>,
) -> Result<Response, Error> {
    user.verify_csrf_token(&form.csrf)?;
    if form.revoke_tokens.is_some() {
        if let Err(e) = app.api_tokens.revoke_all(user.user_id()).await {
            let status = axum::http::StatusCode::from_u16(e.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            return Ok((status, e.to_string()).into_response());
        }
    }
    user.log_out_everywhere().await?;
    Ok(Redirect::to("/login").into_response())
}
