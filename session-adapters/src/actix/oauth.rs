//! The OAuth sign-in routes for Actix-web: [`oauth_routes`]. Every decision is
//! [`OAuth`]'s; the handlers only hand it the request's parts and turn its [`AuthResponse`]
//! into an Actix-web response in [`respond`].

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use session_auth::{AuthResponse, OAuth};

use crate::Session;

/// Registers the sign-in routes of `oauth` under [`oauth.mount()`](OAuth::mount) (`/auth` by
/// default), for [`App::configure`](actix_web::App::configure):
///
/// - `GET {mount}/{provider}/sign-in?next=/path` (and `POST`, for sign-in buttons in forms):
///   303 to the provider, with the flow cookie;
/// - `GET {mount}/{provider}/callback`: the provider's redirect back; signs the session in and
///   answers 303 to `next`;
/// - `POST {mount}/sign-out`: ends the session, 303 to the home page (`GET` is 405: signing out
///   is never a `GET`).
///
/// The routes are resources, not a scope, so they shadow no other route under the mount. Wrap
/// the app in the [`SessionMiddleware`](super::SessionMiddleware), which sets the session
/// cookie as for any other route.
///
/// ```
/// use actix_web::App;
/// use session_adapters::actix::{oauth_routes, SessionMiddleware};
/// use session_adapters::{MemoryStore, OAuth, Provider, Secret, SessionManager};
///
/// let secret = Secret::from_bytes(vec![7u8; 32])?; // use Secret::from_default_env() for real
/// let oauth = OAuth::builder(&secret, "https://app.example")?
///     .provider(Provider::github("client-id", "client-secret"))
///     .build();
/// let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
/// // In `HttpServer::new(move || ...)`, once per worker: `oauth_routes(oauth.clone())`.
/// let app = App::new()
///     .wrap(SessionMiddleware::new(manager))
///     .configure(oauth_routes(oauth));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn oauth_routes(oauth: OAuth) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        // `/` as the mount is "" here, so that no route starts with `//`.
        let mount = oauth.mount().trim_end_matches('/').to_owned();
        let oauth = web::Data::new(oauth);
        config
            .service(
                web::resource(format!("{mount}/{{provider}}/sign-in"))
                    .app_data(oauth.clone())
                    .route(web::get().to(sign_in))
                    .route(web::post().to(sign_in)),
            )
            .service(
                web::resource(format!("{mount}/{{provider}}/callback"))
                    .app_data(oauth.clone())
                    .route(web::get().to(callback)),
            )
            .service(
                web::resource(format!("{mount}/sign-out"))
                    .app_data(oauth)
                    .route(web::post().to(sign_out)),
            );
    }
}

async fn sign_in(
    oauth: web::Data<OAuth>,
    provider: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    respond(oauth.respond_sign_in(&provider, req.query_string()))
}

async fn callback(
    oauth: web::Data<OAuth>,
    provider: web::Path<String>,
    req: HttpRequest,
    session: Session,
) -> HttpResponse {
    let cookies = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok());
    respond(
        oauth
            .respond_callback(&provider, req.query_string(), cookies, &session)
            .await,
    )
}

async fn sign_out(oauth: web::Data<OAuth>, session: Session) -> HttpResponse {
    respond(oauth.sign_out(&session).await)
}

/// The Actix-web response for an [`AuthResponse`]: its status, `Location`, every `Set-Cookie`,
/// and its body as `text/html; charset=utf-8`.
fn respond(response: AuthResponse) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    if let Some(location) = response.location {
        builder.insert_header((header::LOCATION, location));
    }
    for cookie in response.set_cookies {
        builder.append_header((header::SET_COOKIE, cookie));
    }
    // An invalid header value above makes this a 500 (core builds visible ASCII only).
    builder
        .content_type("text/html; charset=utf-8")
        .body(response.body)
}
