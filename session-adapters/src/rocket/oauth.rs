//! The OAuth sign-in routes for Rocket: [`oauth_routes`] and [`with_oauth`]. Every decision
//! is [`OAuth`]'s; the handlers only hand it the request's parts and turn its
//! [`AuthResponse`] into a Rocket response in [`respond`].

use std::convert::Infallible;
use std::io::Cursor;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{get, post, routes, Build, Rocket, Route, State};
use session_auth::{AuthResponse, OAuth};

use crate::Session;

/// The sign-in routes, to mount at [`oauth.mount()`](OAuth::mount) with the [`OAuth`] as
/// managed state ([`with_oauth`] does both):
///
/// - `GET {mount}/<provider>/sign-in?next=/path` (and `POST`, for sign-in buttons in forms):
///   303 to the provider, with the flow cookie;
/// - `GET {mount}/<provider>/callback`: the provider's redirect back; signs the session in and
///   answers 303 to `next`;
/// - `POST {mount}/sign-out`: ends the session, 303 to the home page (`GET` is 405: signing out
///   is never a `GET`).
///
/// Attach the [`SessionFairing`](super::SessionFairing), which sets the session cookie as for
/// any other route.
///
/// ```
/// use session_adapters::rocket::{oauth_routes, SessionFairing};
/// use session_adapters::{MemoryStore, OAuth, Provider, Secret, SessionManager};
///
/// let secret = Secret::from_bytes(vec![7u8; 32])?; // use Secret::from_default_env() for real
/// let oauth = OAuth::builder(&secret, "https://app.example")?
///     .provider(Provider::github("client-id", "client-secret"))
///     .build();
/// let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
/// let rocket = rocket::build()
///     .attach(SessionFairing::new(manager))
///     .mount(oauth.mount().to_owned(), oauth_routes())
///     .manage(oauth);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn oauth_routes() -> Vec<Route> {
    routes![sign_in, sign_in_form, callback, sign_out, sign_out_get]
}

/// `rocket` with the sign-in routes of `oauth` mounted at [`oauth.mount()`](OAuth::mount) and
/// `oauth` managed: [`oauth_routes`] in one call.
///
/// ```
/// use session_adapters::rocket::{with_oauth, SessionFairing};
/// use session_adapters::{MemoryStore, OAuth, Provider, Secret, SessionManager};
///
/// let secret = Secret::from_bytes(vec![7u8; 32])?; // use Secret::from_default_env() for real
/// let oauth = OAuth::builder(&secret, "https://app.example")?
///     .provider(Provider::github("client-id", "client-secret"))
///     .build();
/// let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
/// let rocket = with_oauth(rocket::build(), oauth).attach(SessionFairing::new(manager));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn with_oauth(rocket: Rocket<Build>, oauth: OAuth) -> Rocket<Build> {
    let mount = oauth.mount().to_owned();
    rocket.mount(mount, oauth_routes()).manage(oauth)
}

/// What the core reads of a request: the raw query and the `Cookie` headers.
struct Raw {
    query: String,
    cookies: Vec<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Raw {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let query = req.uri().query().map_or("", |q| q.as_str()).to_owned();
        let mut cookies: Vec<String> = req.headers().get("Cookie").map(str::to_owned).collect();
        if cookies.is_empty() {
            // Local test clients can carry cookies in the jar rather than as a header (as the
            // fairing reads the session cookie).
            cookies = req
                .cookies()
                .iter()
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect();
        }
        Outcome::Success(Raw { query, cookies })
    }
}

#[get("/<provider>/sign-in")]
fn sign_in(oauth: &State<OAuth>, provider: &str, raw: Raw) -> Reply {
    Reply(oauth.respond_sign_in(provider, &raw.query))
}

#[post("/<provider>/sign-in")]
fn sign_in_form(oauth: &State<OAuth>, provider: &str, raw: Raw) -> Reply {
    sign_in(oauth, provider, raw)
}

#[get("/<provider>/callback")]
async fn callback(oauth: &State<OAuth>, provider: &str, raw: Raw, session: Session) -> Reply {
    let cookies = raw.cookies.iter().map(String::as_str);
    Reply(
        oauth
            .respond_callback(provider, &raw.query, cookies, &session)
            .await,
    )
}

#[post("/sign-out")]
async fn sign_out(oauth: &State<OAuth>, session: Session) -> Reply {
    Reply(oauth.sign_out(&session).await)
}

/// Rocket answers a method without a route 404; this one is 405, as in the other frameworks.
#[get("/sign-out")]
fn sign_out_get() -> MethodNotAllowed {
    MethodNotAllowed
}

/// The responder of the OAuth routes.
struct Reply(AuthResponse);

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(respond(self.0))
    }
}

/// The Rocket response for an [`AuthResponse`]: its status, `Location`, every `Set-Cookie`, and
/// its body as `text/html; charset=utf-8`.
fn respond(response: AuthResponse) -> Response<'static> {
    let status = Status::from_code(response.status).unwrap_or(Status::InternalServerError);
    let mut builder = Response::build();
    builder.status(status).header(ContentType::HTML);
    if let Some(location) = response.location {
        builder.header(Header::new("Location", location));
    }
    for cookie in response.set_cookies {
        builder.header_adjoin(Header::new("Set-Cookie", cookie));
    }
    let body = response.body;
    builder.sized_body(body.len(), Cursor::new(body)).finalize()
}

/// `405 Method Not Allowed` with `Allow: POST`.
struct MethodNotAllowed;

impl<'r> Responder<'r, 'static> for MethodNotAllowed {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        Ok(Response::build()
            .status(Status::MethodNotAllowed)
            .header(Header::new("Allow", "POST"))
            .finalize())
    }
}
