//! [`LazySession`]: a request's session, loaded the first time the request asks for it, so a
//! request whose handler never touches the session decodes nothing and calls no store.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::csrf::{CsrfRefusal, CsrfRequest};
use crate::error::SessionError;
use crate::session::{RequestContext, Session};

use super::{CookieUpdate, SessionManager};

/// A request's session, not loaded yet: what an adapter's middleware hands to the request.
///
/// The middleware makes one per request with [`SessionManager::lazy_from_headers`] (which only
/// finds the cookie's value, nothing more); the first extractor that wants the session awaits
/// [`session`](Self::session), which loads it (decode, store call) once; every later call of the
/// same request gets the same [`Session`]. After the handler the middleware calls
/// [`commit_for_status`](Self::commit_for_status), which commits only a session that was loaded:
/// a request that never asked for its session makes no store call and sends no `Set-Cookie`.
///
/// Cheap to clone (one `Arc`); the clones share the one load.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
/// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
///
/// // A request whose handler never asks: nothing is decoded, nothing is committed.
/// let untouched = manager.lazy_from_headers(["session=whatever"], RequestContext::default());
/// assert_eq!(untouched.commit_for_status(200).await?, CookieUpdate::Unchanged);
///
/// // A request whose handler writes: loaded on first use, committed after.
/// let lazy = manager.lazy_from_headers([], RequestContext::default());
/// lazy.session().await?.insert("visits", 1)?;
/// assert!(matches!(lazy.commit_for_status(200).await?, CookieUpdate::Set(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct LazySession(Arc<Pending>);

struct Pending {
    manager: SessionManager,
    /// The session cookie's value, if the request sent one.
    cookie: Option<String>,
    ctx: RequestContext,
    loaded: OnceCell<Session>,
    /// Set by [`LazySession::detach`]: the request is authenticated by something other than
    /// the session cookie, so nothing is committed.
    detached: AtomicBool,
}

impl SessionManager {
    /// The session of a request with these `Cookie` headers (HTTP/2 may send several; the first
    /// cookie with the policy's name wins), to be loaded on first use.
    ///
    /// Nothing is decoded here: see [`LazySession`].
    pub fn lazy_from_headers<'h>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'h str>,
        ctx: RequestContext,
    ) -> LazySession {
        let cookie = self.0.policy.cookie();
        let value = cookie_headers
            .into_iter()
            .find_map(|header| cookie.find_in_header(header));
        self.lazy(value, ctx)
    }

    /// The session of a request whose session cookie value is `cookie` (`None` if absent), to be
    /// loaded on first use, as [`load`](Self::load) would.
    pub fn lazy(&self, cookie: Option<&str>, ctx: RequestContext) -> LazySession {
        LazySession(Arc::new(Pending {
            manager: self.clone(),
            cookie: cookie.map(str::to_owned),
            ctx,
            loaded: OnceCell::new(),
            detached: AtomicBool::new(false),
        }))
    }
}

impl LazySession {
    /// The request's session, loaded by the first call ([`SessionManager::load`]); later calls
    /// return the same session without loading again.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::load`] (a store that cannot load the session: 503 while it is
    /// down), which also logs the failure. A failed load is not remembered: the next call tries
    /// again.
    pub async fn session(&self) -> Result<Session, SessionError> {
        let pending = &*self.0;
        pending
            .loaded
            .get_or_try_init(|| {
                let cookie = if self.is_detached() {
                    None
                } else {
                    pending.cookie.as_deref()
                };
                pending.manager.load(cookie, pending.ctx.clone())
            })
            .await
            .cloned()
    }

    /// The cross-site request forgery check ([S-27]) for this request, which adapters run
    /// before the handler: a request without the session cookie passes (nothing ambient to
    /// abuse); one with it is decided by the manager's
    /// [`CsrfProtection`](crate::config::CsrfProtection). A refusal is logged here, once, at
    /// WARN with its reason; the adapter answers 403 without calling the handler.
    ///
    /// ```
    /// use session_core::adapter::{CsrfRefusal, CsrfRequest};
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let forged = CsrfRequest {
    ///     method: "POST",
    ///     host: Some("app.example"),
    ///     origin: Some("https://evil.example"),
    ///     ..CsrfRequest::default()
    /// };
    /// let with_cookie = manager.lazy_from_headers(["session=x.y"], RequestContext::default());
    /// assert_eq!(with_cookie.check_csrf(&forged), Err(CsrfRefusal::ForeignOrigin));
    /// let without = manager.lazy_from_headers([], RequestContext::default());
    /// assert_eq!(without.check_csrf(&forged), Ok(()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`CsrfRefusal`] when the request looks forged.
    ///
    /// [S-27]: crate::manual::security
    pub fn check_csrf(&self, request: &CsrfRequest<'_>) -> Result<(), CsrfRefusal> {
        if self.0.cookie.is_none() {
            return Ok(());
        }
        let checked = self.0.manager.csrf().check(request);
        if let Err(refusal) = checked {
            crate::events::log_csrf_refusal(refusal, request.method);
        }
        checked
    }

    /// The session, if something already loaded it.
    pub fn loaded(&self) -> Option<&Session> {
        self.0.loaded.get()
    }

    /// Marks the request as authenticated by something other than its session cookie (an API
    /// bearer token): from now on its session cookie is neither read nor written.
    ///
    /// A session asked for after this is a new, empty one, and
    /// [`commit_for_status`](Self::commit_for_status) commits nothing (no store write, no
    /// `Set-Cookie`), whatever the handler does with the session, so a bearer-authenticated
    /// request can never create or change a browser's session.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    ///
    /// let lazy = manager.lazy_from_headers([], RequestContext::default());
    /// lazy.detach();
    /// lazy.session().await?.insert("visits", 1)?;
    /// assert_eq!(lazy.commit_for_status(200).await?, CookieUpdate::Unchanged);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn detach(&self) {
        self.0.detached.store(true, Ordering::Release);
    }

    /// Whether [`detach`](Self::detach) was called.
    pub fn is_detached(&self) -> bool {
        self.0.detached.load(Ordering::Acquire)
    }

    /// Commits the session after a response with HTTP `status`, as
    /// [`SessionManager::commit_for_status`] does, if it was loaded; a session nobody asked for
    /// is [`CookieUpdate::Unchanged`] without a store call.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::commit_for_status`].
    pub async fn commit_for_status(&self, status: u16) -> Result<CookieUpdate, SessionError> {
        match self.loaded() {
            Some(session) if !self.is_detached() => {
                self.0.manager.commit_for_status(session, status).await
            }
            _ => Ok(CookieUpdate::Unchanged),
        }
    }
}

/// Never shows the cookie's value.
impl fmt::Debug for LazySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazySession")
            .field("has_cookie", &self.0.cookie.is_some())
            .field("loaded", &self.loaded().is_some())
            .field("detached", &self.is_detached())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FaultyStore, SpyStore, StoreOp};
    use crate::{MemoryStore, Secret};

    fn secret() -> Secret {
        Secret::from_bytes(vec![7u8; 32]).expect("32 bytes")
    }

    /// A session cookie pair stored in `manager`'s store.
    async fn stored_cookie(manager: &SessionManager) -> String {
        let session = manager
            .load(None, RequestContext::default())
            .await
            .expect("load");
        session.insert("n", 1).expect("insert");
        let CookieUpdate::Set(set_cookie) = manager.commit(&session).await.expect("commit") else {
            panic!("a new session sets a cookie");
        };
        set_cookie.split(';').next().expect("pair").to_owned()
    }

    #[tokio::test]
    async fn a_session_nobody_asks_for_is_neither_loaded_nor_committed() {
        let store = SpyStore::new(MemoryStore::new());
        let calls = store.counts();
        let manager = SessionManager::stateful(&secret(), store).build();
        let cookie = stored_cookie(&manager).await;
        calls.reset();

        let lazy = manager.lazy_from_headers(["theme=dark", &cookie], RequestContext::default());
        assert!(lazy.loaded().is_none());
        assert_eq!(
            lazy.commit_for_status(200).await.expect("commit"),
            CookieUpdate::Unchanged
        );
        assert_eq!(calls.get(StoreOp::Load), 0, "no load");
        assert_eq!(calls.writes(), 0, "no write");
    }

    #[tokio::test]
    async fn the_first_call_loads_and_later_calls_share_the_session() {
        let store = SpyStore::new(MemoryStore::new());
        let calls = store.counts();
        let manager = SessionManager::stateful(&secret(), store).build();
        let cookie = stored_cookie(&manager).await;
        calls.reset();

        let lazy = manager.lazy_from_headers([cookie.as_str()], RequestContext::default());
        let first = lazy.session().await.expect("load");
        let second = lazy.clone().session().await.expect("load");
        assert_eq!(first.get::<u64>("n").expect("n"), Some(1));
        second.insert("n", 2).expect("insert");
        assert_eq!(first.get::<u64>("n").expect("n"), Some(2), "one session");
        assert_eq!(calls.get(StoreOp::Load), 1, "one load");
        assert_eq!(
            lazy.commit_for_status(200).await.expect("commit"),
            CookieUpdate::Unchanged,
            "a stored session keeps its cookie"
        );
        assert_eq!(calls.writes(), 1, "the change is saved");
    }

    #[tokio::test]
    async fn the_first_cookie_of_the_name_wins_across_headers() {
        let manager = SessionManager::stateful(&secret(), MemoryStore::new()).build();
        let cookie = stored_cookie(&manager).await;
        let lazy = manager.lazy_from_headers(
            ["a=1", &format!("b=2; {cookie}"), "session=forged"],
            RequestContext::default(),
        );
        let session = lazy.session().await.expect("load");
        assert_eq!(session.get::<u64>("n").expect("n"), Some(1));
    }

    #[tokio::test]
    async fn a_failed_load_is_an_error_and_the_next_call_tries_again() {
        let store = FaultyStore::new(MemoryStore::new());
        let switch = store.switch();
        let manager = SessionManager::stateful(&secret(), store).build();
        let cookie = stored_cookie(&manager).await;
        let lazy = manager.lazy_from_headers([cookie.as_str()], RequestContext::default());

        switch.fail(StoreOp::Load);
        let error = lazy.session().await.expect_err("the store is down");
        assert_eq!(error.status_code(), 503);
        assert_eq!(
            lazy.commit_for_status(200)
                .await
                .expect("nothing to commit"),
            CookieUpdate::Unchanged
        );
        switch.heal();
        let session = lazy.session().await.expect("the store is back");
        assert_eq!(session.get::<u64>("n").expect("n"), Some(1));
    }

    #[tokio::test]
    async fn a_detached_request_neither_reads_nor_writes_its_cookie() {
        let store = SpyStore::new(MemoryStore::new());
        let calls = store.counts();
        let manager = SessionManager::stateful(&secret(), store).build();
        let cookie = stored_cookie(&manager).await;
        calls.reset();

        // Detached before the first use: the cookie's session is not read.
        let lazy = manager.lazy_from_headers([cookie.as_str()], RequestContext::default());
        lazy.detach();
        let session = lazy.session().await.expect("load");
        assert_eq!(
            session.get::<u64>("n").expect("n"),
            None,
            "a new, empty session"
        );
        session.insert("n", 5).expect("insert");
        assert_eq!(
            lazy.commit_for_status(200).await.expect("commit"),
            CookieUpdate::Unchanged
        );
        assert_eq!(
            calls.get(StoreOp::Load),
            0,
            "the cookie's session was not loaded"
        );
        assert_eq!(calls.writes(), 0, "nothing written");

        // Detached after a load: the change is not committed either.
        let lazy = manager.lazy_from_headers([cookie.as_str()], RequestContext::default());
        lazy.session()
            .await
            .expect("load")
            .insert("n", 9)
            .expect("insert");
        lazy.detach();
        assert_eq!(
            lazy.commit_for_status(200).await.expect("commit"),
            CookieUpdate::Unchanged
        );
        assert_eq!(calls.writes(), 0, "nothing written");
        let fresh = manager.lazy_from_headers([cookie.as_str()], RequestContext::default());
        let kept = fresh.session().await.expect("load");
        assert_eq!(
            kept.get::<u64>("n").expect("n"),
            Some(1),
            "the stored session is as it was"
        );
    }

    #[test]
    fn debug_never_shows_the_cookie() {
        let manager = SessionManager::stateful(&secret(), MemoryStore::new()).build();
        let lazy = manager.lazy(Some("secret-cookie-value"), RequestContext::default());
        let shown = format!("{lazy:?}");
        assert!(!shown.contains("secret-cookie-value"), "{shown}");
        assert!(shown.contains("has_cookie: true"), "{shown}");
    }
}
