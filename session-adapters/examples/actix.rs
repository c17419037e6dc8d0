//! A visit counter on Actix-web with stateful in-memory sessions.
//!
//! ```sh
//! SESSION_SECRET=$(openssl rand -base64 48) \
//!     cargo run -p session-adapters --features actix --example actix
//! curl -i -c jar -b jar http://127.0.0.1:3000/
//! ```
//!
//! The cookie is `Secure`, so browsers keep it on `https` (or `localhost`) origins only.

use actix_web::{web, App, HttpServer};
use session_adapters::actix::SessionMiddleware;
use session_adapters::{Error, MemoryStore, Secret, Session, SessionManager};

async fn count(session: Session) -> Result<String, Error> {
    let n: u64 = session.get("visits")?.unwrap_or(0);
    session.insert("visits", n + 1)?;
    Ok(format!("visits: {}\n", n + 1))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::from_env("SESSION_SECRET")?;
    let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
    println!("listening on http://127.0.0.1:3000");
    HttpServer::new(move || {
        App::new()
            .wrap(SessionMiddleware::new(manager.clone()))
            .route("/", web::get().to(count))
    })
    .bind(("127.0.0.1", 3000))?
    .run()
    .await?;
    Ok(())
}
