//! [`SessionManager`]: the framework-agnostic engine. Adapters hand each request a
//! [`LazySession`] made from its `Cookie` headers ([`SessionManager::lazy_from_headers`]), which
//! loads on first use, and call [`LazySession::commit_for_status`] after the handler, writing the
//! returned [`CookieUpdate`]. Everything else is decided here.
//!
//! By concern: `lazy.rs` (the request's session, loaded on first use), `load.rs` (cookie to
//! session), `commit.rs` (session to store and `Set-Cookie`, with the conflict model),
//! `commit_locks.rs` (one session's commits take turns), `users.rs`
//! (a user's sessions: listing, "log out everywhere" and the stateless revocation markers).

mod commit;
mod commit_locks;
mod lazy;
mod load;
mod users;

use std::fmt;
use std::sync::Arc;

#[cfg(doc)]
use crate::codec::JwtCodec;
use crate::codec::{SessionCodec, SignedIdCodec};
use crate::csrf::{CsrfProtection, CsrfTokenKey};
use crate::guard::AccessGuard;
use crate::id::SessionId;
use crate::policy::{Policy, SessionPolicy};
use crate::record::SessionRecord;
use crate::secret::{KeyPurpose, Secret};
use crate::session::RequestContext;
use crate::store::SessionStore;
use crate::time::{Clock, SystemClock, UnixTime};
use commit_locks::CommitLocks;

pub use commit::CookieUpdate;
pub use lazy::LazySession;

/// How many times a create is retried on an id collision (astronomically unlikely with 256-bit
/// ids), or a revocation marker on a race, before giving up.
const MAX_ATTEMPTS: usize = 3;
/// How many times a save or renew that lost a race reloads, merges and tries again ([C8]). The
/// commits of one session in this process take turns (`commit_locks.rs`), so a race is only ever
/// lost to a writer in another process; the bound only stops a pathological hot spot.
///
/// [C8]: crate::manual::contracts#c8
const MAX_MERGE_ATTEMPTS: usize = 256;

enum Mode {
    Stateless {
        codec: Arc<dyn SessionCodec<Payload = SessionRecord>>,
        revocations: Option<Arc<dyn SessionStore>>,
    },
    Stateful {
        codec: Arc<dyn SessionCodec<Payload = SessionId>>,
        store: Arc<dyn SessionStore>,
    },
}

struct Inner {
    mode: Mode,
    policy: Arc<dyn SessionPolicy>,
    clock: Arc<dyn Clock>,
    guard: AccessGuard,
    /// Stateful commits of one session take turns (see `commit_locks.rs`).
    commit_locks: CommitLocks,
    csrf: CsrfProtection,
    /// The key of form tokens, if the manager has one.
    csrf_key: Option<CsrfTokenKey>,
}

/// Loads and commits sessions; one per application, cheap to clone.
///
/// Stateless or stateful is one line:
///
/// ```
/// use session_core::{JwtCodec, MemoryStore, Secret, SessionManager};
/// let secret = Secret::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec())?;
/// let stateless = SessionManager::stateless(JwtCodec::hs256(&secret)?).build();
/// let stateful = SessionManager::stateful(&secret, MemoryStore::new()).build();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A request's life, as an adapter drives it:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use session_core::{CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
/// let secret = Secret::from_bytes(vec![7u8; 32])?;
/// let manager = SessionManager::stateful(&secret, MemoryStore::new()).build();
///
/// let session = manager.load(None, RequestContext::default()).await?;   // no cookie
/// session.insert("visits", 1)?;                                           // the handler
/// let CookieUpdate::Set(set_cookie) = manager.commit(&session).await? else { panic!() };
///
/// let cookie = set_cookie.split(';').next().unwrap();                    // the browser
/// let session = manager.load_from_header(Some(cookie), RequestContext::default()).await?;
/// assert_eq!(session.get::<u32>("visits")?, Some(1));
/// assert_eq!(manager.commit(&session).await?, CookieUpdate::Unchanged); // nothing changed
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct SessionManager(Arc<Inner>);

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.0.mode {
            Mode::Stateless { codec, .. } => format!("stateless({codec:?})"),
            Mode::Stateful { store, .. } => format!("stateful({store:?})"),
        };
        f.debug_struct("SessionManager")
            .field("mode", &mode)
            .field("policy", &self.0.policy)
            .finish()
    }
}

/// Builds a [`SessionManager`].
pub struct SessionManagerBuilder {
    mode: Mode,
    policy: Arc<dyn SessionPolicy>,
    clock: Arc<dyn Clock>,
    guard: AccessGuard,
    csrf: CsrfProtection,
    csrf_key: Option<CsrfTokenKey>,
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SessionManagerBuilder {
    /// The lifetime, cookie and conflict policy (default [`Policy::default`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{config::SessionPolicy, MemoryStore, Policy, Secret, SessionManager};
    /// use std::time::Duration;
    /// let week = Duration::from_secs(7 * 24 * 3600);
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new())
    ///     .policy(Policy::builder().max_age(week).cookie_name("__Host-session").build()?)
    ///     .build();
    /// assert_eq!(manager.policy().max_age(), week);
    /// assert_eq!(manager.policy().cookie().name(), "__Host-session");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(mut self, policy: impl SessionPolicy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Where "now" comes from (default the system clock; tests inject a mock). Nothing in the
    /// manager reads any other clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{testing::MockClock, MemoryStore, Secret, SessionManager};
    /// use std::time::Duration;
    /// let clock = MockClock::at(1_000);
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new())
    ///     .clock(clock.clone())
    ///     .build();
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(manager.now().as_secs(), 1_060);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Stateless mode: keep per-user "not before" times in `store`, so "log out everywhere"
    /// revokes tokens already issued ([C9], [S-24]), and the tokens of destroyed sessions
    /// (`destroy()`, a logout), so a logged-out cookie replayed is no session. Costs one store
    /// read per request with a token, and a second one when it names a user. Without it,
    /// stateless tokens live until they expire, logged out or not. Ignored in stateful mode,
    /// where the store itself ends sessions.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, JwtCodec, MemoryStore, RequestContext, Secret, SessionManager, UserId};
    /// let secret = Secret::from_bytes(vec![7u8; 32])?;
    /// let manager = SessionManager::stateless(JwtCodec::hs256(&secret)?)
    ///     .revocation_store(MemoryStore::new())
    ///     .build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.login(UserId::new("alice"));
    /// let CookieUpdate::Set(cookie) = manager.commit(&session).await? else { panic!() };
    /// let cookie = cookie.split(';').next().unwrap();
    ///
    /// manager.log_out_everywhere(&UserId::new("alice")).await?;
    /// let session = manager.load_from_header(Some(cookie), RequestContext::default()).await?;
    /// assert!(!session.exists(), "the token issued before is refused (reason `revoked`)");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// [C9]: crate::manual::contracts#c9
    /// [S-24]: crate::manual::contracts#s-24
    pub fn revocation_store(mut self, store: impl SessionStore) -> Self {
        if let Mode::Stateless { revocations, .. } = &mut self.mode {
            *revocations = Some(Arc::new(store));
        }
        self
    }

    /// Stateful mode: replace the signed-id codec, e.g. one that still verifies ids signed with
    /// the previous secret while the new one signs ([C11]). Ignored in stateless mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use session_core::{codec::SignedIdCodec, CookieUpdate, MemoryStore, RequestContext, Secret, SessionManager};
    /// let store = Arc::new(MemoryStore::new());
    /// let old = Secret::from_bytes(vec![1u8; 32])?;
    /// let before = SessionManager::stateful(&old, store.clone()).build();
    /// let session = before.load(None, RequestContext::default()).await?;
    /// session.insert("cart", 3)?;
    /// let CookieUpdate::Set(cookie) = before.commit(&session).await? else { panic!() };
    /// let cookie = cookie.split(';').next().unwrap();
    ///
    /// let new = Secret::from_bytes(vec![2u8; 32])?;
    /// let after = SessionManager::stateful(&new, store)
    ///     .signed_ids(SignedIdCodec::new(&new).with_previous(&old))
    ///     .build();
    /// let session = after.load_from_header(Some(cookie), RequestContext::default()).await?;
    /// assert_eq!(session.get::<u32>("cart")?, Some(3), "signed with the old secret: still valid");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// [C11]: crate::manual::contracts#c11
    pub fn signed_ids(mut self, signed_ids: SignedIdCodec) -> Self {
        if let Mode::Stateful { codec, .. } = &mut self.mode {
            *codec = Arc::new(signed_ids);
        }
        self
    }

    /// Where the session guard sends signed-out page requests, and which paths are APIs that get
    /// 401 instead (see [`AccessGuard`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{adapter::AccessGuard, MemoryStore, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new())
    ///     .guard(AccessGuard::new("/signin").api_prefix("/v1/"))
    ///     .build();
    /// assert_eq!(manager.guard().login_path(), "/signin");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn guard(mut self, guard: AccessGuard) -> Self {
        self.guard = guard;
        self
    }

    /// The cross-site request forgery check adapters run before every handler (default
    /// [`CsrfProtection::new`]: on, this site's origin, requests without origin headers allowed).
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::config::{CsrfProtection, WithoutOrigin};
    /// use session_core::{MemoryStore, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new())
    ///     .csrf(CsrfProtection::new().allow_origin("https://www.example")?.without_origin(WithoutOrigin::Refuse))
    ///     .build();
    /// assert!(manager.csrf().is_enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn csrf(mut self, csrf: CsrfProtection) -> Self {
        self.csrf = csrf;
        self
    }

    /// The secret form tokens ([`Session::csrf_token`](crate::Session::csrf_token)) are derived
    /// from (HKDF label `csrf form token`), instead of the default: the keys of the manager's
    /// codec ([`SessionCodec::derive_keys`]), that is the stateful manager's secret (and the
    /// previous ones its [`signed_ids`](Self::signed_ids) codec still verifies), or the stateless
    /// codec's signing or encrypting key (and its older keys). Only a stateless manager whose
    /// codec holds no secret (a verify-only ring) needs this to offer form tokens.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{JwtCodec, RequestContext, Secret, SessionManager};
    /// let secret = Secret::from_bytes(vec![7u8; 32])?;
    /// let manager = SessionManager::stateless(JwtCodec::hs256(&secret)?)
    ///     .csrf_token_secret(&secret)
    ///     .build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// let token = session.csrf_token()?;
    /// assert!(session.verify_csrf_token(&token).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn csrf_token_secret(mut self, secret: &Secret) -> Self {
        self.csrf_key = Some(CsrfTokenKey::new(secret));
        self
    }

    /// The manager. Building checks nothing: the policy was checked when it was built
    /// ([`PolicyBuilder::build`](crate::config::PolicyBuilder::build)), the secret when it was made.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{MemoryStore, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// let for_another_thread = manager.clone(); // cheap: one `Arc`
    /// # let _ = for_another_thread;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> SessionManager {
        let csrf_key = self.csrf_key.or_else(|| {
            let keys = match &self.mode {
                Mode::Stateless { codec, .. } => codec.derive_keys(KeyPurpose::CsrfToken),
                Mode::Stateful { codec, .. } => codec.derive_keys(KeyPurpose::CsrfToken),
            };
            CsrfTokenKey::from_derived(&keys)
        });
        SessionManager(Arc::new(Inner {
            mode: self.mode,
            policy: self.policy,
            clock: self.clock,
            guard: self.guard,
            commit_locks: CommitLocks::new(),
            csrf: self.csrf,
            csrf_key,
        }))
    }
}

impl SessionManager {
    fn builder_for(mode: Mode) -> SessionManagerBuilder {
        SessionManagerBuilder {
            mode,
            policy: Arc::new(Policy::default()),
            clock: Arc::new(SystemClock),
            guard: AccessGuard::default(),
            csrf: CsrfProtection::new(),
            csrf_key: None,
        }
    }

    /// Stateless sessions: the whole record travels in the cookie, signed by `codec`
    /// ([`JwtCodec`], or any codec carrying whole records). No store is involved unless a
    /// [`revocation_store`](SessionManagerBuilder::revocation_store) is set.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use session_core::{CookieUpdate, JwtCodec, RequestContext, Secret, SessionManager};
    /// let manager = SessionManager::stateless(JwtCodec::hs256(&Secret::from_bytes(vec![7u8; 32])?)?).build();
    /// assert!(manager.store().is_none());
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("theme", "dark")?;
    /// let CookieUpdate::Set(cookie) = manager.commit(&session).await? else { panic!() };
    /// assert_eq!(cookie.split(';').next().unwrap().matches('.').count(), 2, "a JWS compact token");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn stateless(codec: impl SessionCodec<Payload = SessionRecord>) -> SessionManagerBuilder {
        Self::builder_for(Mode::Stateless {
            codec: Arc::new(codec),
            revocations: None,
        })
    }

    /// Stateful sessions: a signed id in the cookie (tag key derived from `secret`), the record in
    /// `store`. To share the store with other code (an admin page, a test), pass an `Arc` of it:
    /// `Arc<S>` and `Arc<dyn SessionStore>` are stores too.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use session_core::{MemoryStore, RequestContext, Secret, SessionManager};
    /// let store = Arc::new(MemoryStore::new());
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, store.clone()).build();
    /// let session = manager.load(None, RequestContext::default()).await?;
    /// session.insert("theme", "dark")?;
    /// manager.commit(&session).await?;
    /// assert_eq!(store.len(), 1, "the record is in the shared store");
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn stateful(secret: &Secret, store: impl SessionStore) -> SessionManagerBuilder {
        Self::builder_for(Mode::Stateful {
            codec: Arc::new(SignedIdCodec::new(secret)),
            store: Arc::new(store),
        })
    }

    /// The policy in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{config::{DEFAULT_MAX_AGE, SessionPolicy}, MemoryStore, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// assert_eq!(manager.policy().max_age(), DEFAULT_MAX_AGE);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(&self) -> &dyn SessionPolicy {
        &*self.0.policy
    }

    /// The cross-site request forgery check in force ([`SessionManagerBuilder::csrf`]).
    pub fn csrf(&self) -> &CsrfProtection {
        &self.0.csrf
    }

    /// The key of form tokens, if there is one.
    pub(crate) fn csrf_key(&self) -> Option<&CsrfTokenKey> {
        self.0.csrf_key.as_ref()
    }

    /// The session guard's configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{adapter::Denial, MemoryStore, Secret, SessionManager};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new()).build();
    /// assert_eq!(manager.guard().deny("/account", None), Denial::Redirect("/login".into()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn guard(&self) -> &AccessGuard {
        &self.0.guard
    }

    /// The current time from the manager's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{testing::MockClock, MemoryStore, Secret, SessionManager, UnixTime};
    /// let manager = SessionManager::stateful(&Secret::from_bytes(vec![7u8; 32])?, MemoryStore::new())
    ///     .clock(MockClock::at(1_000))
    ///     .build();
    /// assert_eq!(manager.now(), UnixTime::from_secs(1_000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn now(&self) -> UnixTime {
        self.0.clock.now()
    }

    /// The store, in stateful mode (`None` in stateless mode, even with a revocation store).
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{JwtCodec, MemoryStore, Secret, SessionManager};
    /// let secret = Secret::from_bytes(vec![7u8; 32])?;
    /// assert!(SessionManager::stateful(&secret, MemoryStore::new()).build().store().is_some());
    /// assert!(SessionManager::stateless(JwtCodec::hs256(&secret)?).build().store().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store(&self) -> Option<&Arc<dyn SessionStore>> {
        match &self.0.mode {
            Mode::Stateful { store, .. } => Some(store),
            Mode::Stateless { .. } => None,
        }
    }

    /// A new, empty record for a request at `now`, with its id.
    ///
    /// A stored session records the client's IP and `User-Agent`, shown when the user lists
    /// their sessions. A stateless one does not: its sessions cannot be listed, and the cookie
    /// would carry them back and forth on every request for nothing.
    pub(crate) fn new_record(
        &self,
        now: UnixTime,
        ctx: &RequestContext,
    ) -> (SessionId, SessionRecord) {
        let id = SessionId::generate();
        let policy = &self.0.policy;
        let mut record = SessionRecord::new(id.key(), now, now);
        record.absolute_expires_at = policy.absolute_lifetime().map(|cap| now + cap);
        record.expires_at = policy.expiry_from(&record, now);
        if let Mode::Stateful { .. } = self.0.mode {
            record.metadata.ip = ctx.ip.clone();
            record.metadata.user_agent = ctx.user_agent.clone();
        }
        (id, record)
    }
}
