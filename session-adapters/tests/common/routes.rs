//! What the ROUTES handlers do, written once: each driver's handlers only extract with their
//! framework's types and call these, so the three apps cannot drift apart.

use serde::Deserialize;
use session_core::{DataError, Session, SessionError, UserId, Validate};

/// The typed whole-session data of `GET /profile`.
#[derive(Debug, Deserialize)]
pub struct Profile {
    pub name: String,
}

/// Names longer than 16 bytes fail the check (the validated-payload scenario logs in as one).
impl Validate for Profile {
    fn validate(&self) -> Result<(), &'static str> {
        if self.name.len() > 16 {
            return Err("name longer than 16 bytes");
        }
        Ok(())
    }
}

/// The counter `n`, 0 when absent.
pub fn counter(session: &Session) -> Result<u64, DataError> {
    Ok(session.get::<u64>("n")?.unwrap_or(0))
}

/// `GET /read`: `n`, or "none".
pub fn read(session: &Session) -> String {
    match session.get::<u64>("n") {
        Ok(Some(n)) => n.to_string(),
        _ => "none".to_owned(),
    }
}

/// `POST /write`: increments `n` and answers the new value.
pub fn write(session: &Session) -> Result<String, DataError> {
    let n = counter(session)? + 1;
    session.insert("n", n)?;
    Ok(n.to_string())
}

/// `POST /write-then-fail`: increments `n`, then fails; the driver answers 500 "failed".
pub fn write_then_fail(session: &Session) -> Result<(), DataError> {
    write(session)?;
    Ok(())
}

/// `GET /csrf`: the session's form token (starting a session if there is none).
pub fn csrf(session: &Session) -> Result<String, SessionError> {
    session.csrf_token()
}

/// `POST /form/{token}`: checks the form token, then increments `n` like `POST /write`.
pub fn form(session: &Session, token: &str) -> Result<String, session_adapters::Error> {
    session.verify_csrf_token(token)?;
    Ok(write(session)?)
}

/// `POST /login/{user}`: signs `user` in and stores their name.
pub fn login(session: &Session, user: &str) -> Result<&'static str, DataError> {
    session.login(UserId::new(user));
    session.insert("name", user)?;
    Ok("ok")
}

/// `GET /sessions`: the user's sessions as JSON.
pub async fn sessions(session: &Session) -> Result<String, SessionError> {
    let list: Vec<_> = session
        .list_user_sessions()
        .await?
        .into_iter()
        .map(|s| serde_json::json!({"ip": s.ip, "user_agent": s.user_agent, "current": s.is_current}))
        .collect();
    Ok(serde_json::Value::from(list).to_string())
}

/// `GET /status`: seconds remaining, or "none".
pub fn status(session: &Session) -> String {
    match session.status() {
        Some(status) => status.remaining.as_secs().to_string(),
        None => "none".to_owned(),
    }
}

/// `GET /maybe-me`: the user, or "anonymous".
pub fn maybe_me(user: Option<&UserId>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), UserId::to_string)
}

/// `GET /maybe-profile`: the name, or "none".
pub fn maybe_profile(profile: Option<Profile>) -> String {
    profile.map_or_else(|| "none".to_owned(), |p| p.name)
}
