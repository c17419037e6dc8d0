//! A visit counter on Rocket with stateful in-memory sessions.
//!
//! ```sh
//! SESSION_SECRET=$(openssl rand -base64 48) \
//!     cargo run -p session-adapters --features rocket --example rocket
//! curl -i -c jar -b jar http://127.0.0.1:3000/
//! ```
//!
//! The cookie is `Secure`, so browsers keep it on `https` (or `localhost`) origins only.

use rocket::{get, routes};
use session_adapters::rocket::SessionFairing;
use session_adapters::{Error, MemoryStore, Secret, Session, SessionManager};

#[get("/")]
fn count(session: Session) -> Result<String, Error> {
    let n: u64 = session.get("visits")?.unwrap_or(0);
    session.insert("visits", n + 1)?;
    Ok(format!("visits: {}\n", n + 1))
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::from_env("SESSION_SECRET")?;
    let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
    let config = rocket::Config::figment()
        .merge(("address", "127.0.0.1"))
        .merge(("port", 3000));
    rocket::custom(config)
        .attach(SessionFairing::new(manager))
        .mount("/", routes![count])
        .launch()
        .await?;
    Ok(())
}
