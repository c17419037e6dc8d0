//! Test support: the conformance suites of [`TokenStore`] (provider tokens) and
//! [`ApiTokenStore`] (API bearer tokens).
//!
//! **Not semver-stable.** Enabled by the `testing` feature; meant for dev-dependencies.
//!
//! A store proves itself with one macro call in its tests,
//! [`token_store_conformance!`](crate::token_store_conformance) or
//! [`api_token_store_conformance!`](crate::api_token_store_conformance), each expanding to one
//! named `#[tokio::test]` per contract of [`token_conformance`] or [`api_token_conformance`].
//! The contracts are also plain `pub async fn`s, for a store that wants to run one by hand.

pub mod api_token_conformance;
pub mod token_conformance;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::api_tokens::ApiTokenStore;
use crate::tokens::TokenStore;

/// A fresh, empty store for one conformance test, and whatever must live as long as it does (a
/// temp dir, a server guard).
///
/// Every [`TokenStore`] converts into one, so a factory can return the store itself.
///
/// ```
/// use session_auth::testing::TokenFixture;
/// use session_auth::tokens::MemoryTokenStore;
///
/// let fixture = TokenFixture::new(MemoryTokenStore::new()).keep(String::from("a guard"));
/// # let _ = fixture.store();
/// ```
pub struct TokenFixture {
    store: Arc<dyn TokenStore>,
    _guards: Vec<Box<dyn Any + Send>>,
}

impl TokenFixture {
    /// A fixture around `store`.
    pub fn new(store: impl TokenStore) -> Self {
        TokenFixture {
            store: Arc::new(store),
            _guards: Vec::new(),
        }
    }

    /// Keeps `guard` alive until the test ends (e.g. a `tempfile::TempDir`).
    pub fn keep(mut self, guard: impl Any + Send) -> Self {
        self._guards.push(Box::new(guard));
        self
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn TokenStore> {
        self.store.clone()
    }
}

impl fmt::Debug for TokenFixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFixture")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl<S: TokenStore> From<S> for TokenFixture {
    fn from(store: S) -> Self {
        TokenFixture::new(store)
    }
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per contract of
/// [`token_conformance`](crate::testing::token_conformance), each on a fresh store from
/// `factory`.
///
/// `factory` is a closure (or fn) taking nothing and returning a future of a fresh, empty
/// store: any [`TokenStore`](crate::tokens::TokenStore), or a
/// [`TokenFixture`](crate::testing::TokenFixture) when something must outlive the test with it
/// (`TokenFixture::new(store).keep(temp_dir)`). The calling crate needs `tokio` (features
/// `macros`, `rt-multi-thread`) as a dev-dependency.
///
/// ```
/// # // A doctest's body runs inside `fn main`, so the generated tests are only compiled here;
/// # // `tests/token_store_memory.rs` runs them.
/// use session_auth::tokens::MemoryTokenStore;
///
/// session_auth::token_store_conformance!(|| async { MemoryTokenStore::new() });
/// ```
///
/// A store that needs something alive as long as it is (a temp dir, a server) returns a
/// fixture that keeps it:
///
/// ```
/// use session_auth::{testing::TokenFixture, tokens::MemoryTokenStore};
///
/// session_auth::token_store_conformance!(|| async {
///     let guard = String::from("e.g. a tempfile::TempDir");
///     TokenFixture::new(MemoryTokenStore::new()).keep(guard)
/// });
/// ```
#[macro_export]
macro_rules! token_store_conformance {
    // Contracts that take `&dyn TokenStore`.
    (@by_ref $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::testing::TokenFixture = (($factory)().await).into();
                $crate::testing::token_conformance::$name(&*fixture.store()).await;
            }
        )*
    };
    // Contracts that spawn tasks, and so take an `Arc<dyn TokenStore>`.
    (@shared $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::testing::TokenFixture = (($factory)().await).into();
                $crate::testing::token_conformance::$name(fixture.store()).await;
            }
        )*
    };
    ($factory:expr $(,)?) => {
        $crate::token_store_conformance!(@by_ref $factory;
            get_of_a_missing_row_is_none,
            put_then_get_round_trips_every_field,
            put_counts_versions_and_overwrites_every_field,
            put_and_replace_ignore_the_callers_version,
            replace_with_the_current_version_writes,
            replace_with_a_stale_version_changes_nothing,
            replace_of_a_missing_row_creates_nothing,
            delete_returns_whether_there_was_a_row,
            list_returns_the_owners_rows_in_provider_byte_order,
            pairs_that_concatenate_alike_stay_apart,
        );
        $crate::token_store_conformance!(@shared $factory;
            concurrent_replaces_of_one_version_have_one_winner,
            concurrent_puts_of_distinct_owners_all_land,
        );
    };
}

/// A fresh, empty [`ApiTokenStore`] for one conformance test, and whatever must live as long as
/// it does. Every `ApiTokenStore` converts into one.
///
/// ```
/// use session_auth::api_tokens::MemoryApiTokenStore;
/// use session_auth::testing::ApiTokenFixture;
///
/// let fixture = ApiTokenFixture::new(MemoryApiTokenStore::new()).keep(String::from("a guard"));
/// # let _ = fixture.store();
/// ```
pub struct ApiTokenFixture {
    store: Arc<dyn ApiTokenStore>,
    _guards: Vec<Box<dyn Any + Send>>,
}

impl ApiTokenFixture {
    /// A fixture around `store`.
    pub fn new(store: impl ApiTokenStore) -> Self {
        ApiTokenFixture {
            store: Arc::new(store),
            _guards: Vec::new(),
        }
    }

    /// Keeps `guard` alive until the test ends.
    pub fn keep(mut self, guard: impl Any + Send) -> Self {
        self._guards.push(Box::new(guard));
        self
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn ApiTokenStore> {
        self.store.clone()
    }
}

impl fmt::Debug for ApiTokenFixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokenFixture")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl<S: ApiTokenStore> From<S> for ApiTokenFixture {
    fn from(store: S) -> Self {
        ApiTokenFixture::new(store)
    }
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per contract of
/// [`api_token_conformance`](crate::testing::api_token_conformance), each on a fresh store from
/// `factory` (a closure returning a future of an [`ApiTokenStore`] or an [`ApiTokenFixture`]).
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a
/// dev-dependency.
///
/// ```
/// # // The generated tests are only compiled here; `tests/api_token_store_memory.rs` runs them.
/// use session_auth::api_tokens::MemoryApiTokenStore;
///
/// session_auth::api_token_store_conformance!(|| async { MemoryApiTokenStore::new() });
/// ```
#[macro_export]
macro_rules! api_token_store_conformance {
    (@by_ref $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::testing::ApiTokenFixture = (($factory)().await).into();
                $crate::testing::api_token_conformance::$name(&*fixture.store()).await;
            }
        )*
    };
    (@shared $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::testing::ApiTokenFixture = (($factory)().await).into();
                $crate::testing::api_token_conformance::$name(fixture.store()).await;
            }
        )*
    };
    ($factory:expr $(,)?) => {
        $crate::api_token_store_conformance!(@by_ref $factory;
            find_of_a_missing_hash_is_none,
            insert_then_find_round_trips_every_field,
            a_taken_id_or_hash_is_a_collision,
            list_returns_the_owners_rows_oldest_first,
            insert_stops_at_the_limit_of_active_rows,
            touch_moves_last_used_forward_only,
            revoke_only_the_owners_active_token,
            revoke_all_counts_and_leaves_other_owners,
            owners_that_look_alike_stay_apart,
        );
        $crate::api_token_store_conformance!(@shared $factory;
            concurrent_inserts_stop_at_the_limit,
            concurrent_touches_keep_the_latest,
            tokens_made_through_api_tokens_authenticate_until_revoked,
            a_leaked_row_is_not_a_token,
        );
    };
}
