//! The demo app behind `cargo xtask demo`: an Axum app with a login form (users from
//! `users.json`, Argon2id password hashes), the signed-in user's session status, a counter that
//! shows writes, "renew id", logout, "log out everywhere" and the list of active sessions.
//!
//! `--store jwt|jwe|memory|sled|sqlite|redis` picks the backend (default: an SQLite file in
//! `demo-data/`, nothing to install); `--port N` the port (default 3000). `hash <password>`
//! prints an Argon2id hash for `users.json`.

mod pages;
mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use session_adapters::axum::SessionLayer;
use session_adapters::{
    Error, JweCodec, JwtCodec, MemoryStore, RedisStore, RedisStoreConfig, Secret, Session,
    SessionManager, SignedIn, SledStore, SledStoreConfig, SqliteStore, SqliteStoreConfig, UserId,
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
}

async fn build_manager(options: &Options, secret: &Secret) -> Result<SessionManager, BoxError> {
    let dir = &options.data_dir;
    let builder = match options.store.as_str() {
        "jwt" => {
            SessionManager::stateless(JwtCodec::hs256(secret)?).revocation_store(MemoryStore::new())
        }
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
        "redis" => SessionManager::stateful(
            secret,
            RedisStore::connect(RedisStoreConfig::from_env()).await?,
        ),
        other => {
            return Err(format!(
                "unknown store {other:?}: use jwt, jwe, memory, sled, sqlite or redis"
            )
            .into())
        }
    };
    Ok(builder.build())
}

#[derive(Clone)]
struct App {
    users: Arc<Users>,
    store_name: Arc<str>,
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
        println!("{}", session_core::password::hash(password)?);
        return Ok(());
    }
    let options = parse_args()?;
    std::fs::create_dir_all(&options.data_dir)?;
    let secret = load_secret(&options.data_dir)?;
    let manager = build_manager(&options, &secret).await?;
    let users = Users::load(concat!(env!("CARGO_MANIFEST_DIR"), "/users.json"))?;
    let app = App {
        users: Arc::new(users),
        store_name: options.store.clone().into(),
    };
    let router = Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/count", post(count))
        .route("/renew", post(renew))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
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

async fn home(State(app): State<App>, user: SignedIn) -> Result<Html<String>, Error> {
    let count: u64 = user.get("count")?.unwrap_or(0);
    let sessions = user.list_user_sessions().await?;
    Ok(Html(pages::dashboard(
        &app.store_name,
        user.user_id(),
        &user,
        count,
        &sessions,
    )))
}

async fn login_form(session: Session) -> Response {
    if session.user_id().is_some() {
        return Redirect::to("/").into_response();
    }
    Html(pages::login(None)).into_response()
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    ConnectInfo(_peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Response {
    let users = app.users.clone();
    let username = form.username.clone();
    let ok = tokio::task::spawn_blocking(move || users.verify(&username, &form.password))
        .await
        .unwrap_or(false);
    if !ok {
        let page = pages::login(Some("Unknown user or wrong password."));
        return (axum::http::StatusCode::UNAUTHORIZED, Html(page)).into_response();
    }
    session.login_with(UserId::new(form.username), Some("password"));
    Redirect::to("/").into_response()
}

async fn count(user: SignedIn) -> Result<Redirect, Error> {
    let n: u64 = user.get("count")?.unwrap_or(0);
    user.insert("count", n + 1)?;
    Ok(Redirect::to("/"))
}

async fn renew(user: SignedIn) -> Redirect {
    user.renew();
    Redirect::to("/")
}

async fn logout(session: Session) -> Redirect {
    session.destroy();
    Redirect::to("/login")
}

async fn logout_everywhere(user: SignedIn) -> Result<Redirect, Error> {
    user.log_out_everywhere().await?;
    Ok(Redirect::to("/login"))
}
