//! A visit counter on Axum with stateful sessions in memory.
//!
//! ```text
//! SESSION_SECRET=$(head -c 32 /dev/urandom | base64) cargo run -p session-adapters --example axum --features axum
//! curl -c jar -b jar http://127.0.0.1:3000/   # 1, 2, 3, ...
//! ```
//! (The cookie is `Secure`: browsers keep it on `http://127.0.0.1` and `http://localhost`.)

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::Router;
use session_adapters::axum::SessionLayer;
use session_adapters::{Error, MemoryStore, Secret, Session, SessionManager};

async fn count(session: Session) -> Result<String, Error> {
    let n: u64 = session.get("visits")?.unwrap_or(0);
    session.insert("visits", n + 1)?;
    Ok(format!("visits: {}\n", n + 1))
}

async fn reset(session: Session) -> &'static str {
    session.destroy();
    "reset\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::from_default_env()?;
    let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
    let app = Router::new()
        .route("/", get(count))
        .route("/reset", post(reset))
        .layer(SessionLayer::new(manager));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    // `with_connect_info` lets sessions record the client's IP.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
