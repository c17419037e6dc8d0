//! The token-store conformance suite: one `pub async fn` per contract of [`TokenStore`], each
//! taking a fresh, empty store.
//!
//! Call them through [`token_store_conformance!`](crate::token_store_conformance), which expands
//! to one named `#[tokio::test]` per function, so a failure names the contract that broke; or by
//! hand:
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use session_auth::testing::token_conformance;
//! use session_auth::tokens::MemoryTokenStore;
//!
//! token_conformance::put_then_get_round_trips_every_field(&MemoryTokenStore::new()).await;
//! token_conformance::concurrent_replaces_of_one_version_have_one_winner(Arc::new(
//!     MemoryTokenStore::new(),
//! ))
//! .await;
//! # });
//! ```
//!
//! Most contracts take `&dyn TokenStore`; the two concurrent ones spawn tasks on the runtime's
//! threads and so take an `Arc<dyn TokenStore>`. They need a tokio runtime with timers (they
//! are bounded by [`SCENARIO_TIMEOUT`]), and a multi-thread one to test anything (the macro's
//! tests have two worker threads). The builders [`grant`] and
//! [`every_field_grant`] are public for stores' own tests.

use std::sync::Arc;
use std::time::Duration;

use session_core::store::StoreError;
use session_core::{UnixTime, UserId};
use tokio::sync::Barrier;

use crate::tokens::{GrantState, SealedToken, StoredGrant, TokenStore};

/// How many tasks the concurrent contracts run at once.
pub const CONCURRENT_TASKS: usize = 32;

/// The longest a concurrent contract may run before it fails (a store that deadlocks fails the
/// test instead of hanging it).
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// A grant with only the required fields: `account`, a short sealed access token, no refresh
/// token, no expiry, no scope, active. Its `version` is 0 (stores ignore it).
pub fn grant(account: &str) -> StoredGrant {
    StoredGrant {
        account: account.to_owned(),
        access_token: SealedToken::new(format!("v1.kid.nonce.access-of-{account}")),
        refresh_token: None,
        expires_at: None,
        obtained_at: UnixTime::from_secs(1_700_000_000),
        scope: None,
        state: GrantState::Active,
        version: 0,
    }
}

/// A grant with every optional field set: 4 KiB sealed tokens, an expiry, a unicode scope,
/// disconnected.
pub fn every_field_grant(account: &str) -> StoredGrant {
    StoredGrant {
        account: account.to_owned(),
        access_token: SealedToken::new(sealed(4096, 'a')),
        refresh_token: Some(SealedToken::new(sealed(4096, 'r'))),
        expires_at: Some(UnixTime::from_secs(1_700_003_600)),
        obtained_at: UnixTime::from_secs(1_700_000_000),
        scope: Some("read:user repo 読み取り ✓ \"quoted\" \t tab".to_owned()),
        state: GrantState::Disconnected,
        version: 0,
    }
}

/// Sealed-looking text of exactly `len` bytes (base64url characters after a `v1.` header),
/// different for each `seed`.
fn sealed(len: usize, seed: char) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = format!("v1.{seed}.");
    let mut i = seed as usize;
    while text.len() < len {
        text.push(char::from(ALPHABET[i % ALPHABET.len()]));
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    text
}

/// `grant` as the store must give it back after it stored it as `version`.
fn stored(grant: &StoredGrant, version: u64) -> StoredGrant {
    StoredGrant {
        version,
        ..grant.clone()
    }
}

async fn must_get(store: &dyn TokenStore, owner: &UserId, provider: &str) -> Option<StoredGrant> {
    store
        .get(owner, provider)
        .await
        .unwrap_or_else(|e| panic!("get({owner:?}, {provider:?}) must succeed: {e:?}"))
}

async fn must_put(
    store: &dyn TokenStore,
    owner: &UserId,
    provider: &str,
    grant: &StoredGrant,
) -> u64 {
    store
        .put(owner, provider, grant)
        .await
        .unwrap_or_else(|e| panic!("put({owner:?}, {provider:?}) must succeed: {e:?}"))
}

async fn must_replace(
    store: &dyn TokenStore,
    owner: &UserId,
    provider: &str,
    expected: u64,
    grant: &StoredGrant,
) -> Option<u64> {
    store
        .replace(owner, provider, expected, grant)
        .await
        .unwrap_or_else(|e| {
            panic!("replace({owner:?}, {provider:?}, {expected}) must succeed: {e:?}")
        })
}

async fn must_list(store: &dyn TokenStore, owner: &UserId) -> Vec<(String, StoredGrant)> {
    store
        .list(owner)
        .await
        .unwrap_or_else(|e| panic!("list({owner:?}) must succeed: {e:?}"))
}

fn no_rows() -> Vec<(String, StoredGrant)> {
    Vec::new()
}

fn providers(rows: &[(String, StoredGrant)]) -> Vec<&str> {
    rows.iter().map(|(provider, _)| provider.as_str()).collect()
}

/// `get` of a row nobody wrote is `Ok(None)`, not an error, and `list` of its owner is empty.
pub async fn get_of_a_missing_row_is_none(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    assert_eq!(
        must_get(store, &owner, "github").await,
        None,
        "get of a row nobody wrote must be None"
    );
    assert_eq!(
        must_list(store, &owner).await,
        no_rows(),
        "list of an owner without rows must be empty"
    );
}

/// `put` then `get` gives back every field exactly: `None` and `Some` of every optional field,
/// 4 KiB sealed tokens, a unicode scope, both states, the epoch and the largest time a signed
/// 64-bit column holds, and the version `put` returned.
pub async fn put_then_get_round_trips_every_field(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    let minimal = grant("583231");
    let full = every_field_grant("ünïcode-account ✓");
    let extremes = StoredGrant {
        expires_at: Some(UnixTime::from_secs(i64::MAX as u64)),
        obtained_at: UnixTime::EPOCH,
        scope: Some(String::new()),
        refresh_token: Some(SealedToken::new("")),
        access_token: SealedToken::new(""),
        ..grant("")
    };
    let cases = [
        ("minimal", &minimal),
        ("every-field", &full),
        ("extremes", &extremes),
    ];
    for (provider, grant) in cases {
        let version = must_put(store, &owner, provider, grant).await;
        assert_eq!(version, 1, "put of the new row {provider:?} must return 1");
    }
    for (provider, grant) in cases {
        assert_eq!(
            must_get(store, &owner, provider).await,
            Some(stored(grant, 1)),
            "get of {provider:?} must give back exactly what put stored, with version 1"
        );
    }
}

/// `put` returns 1 for a new row and one more on every overwrite; `get` shows that version and
/// only the last grant's fields (an optional field set before and `None` now is gone).
pub async fn put_counts_versions_and_overwrites_every_field(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    let first = every_field_grant("first");
    let second = grant("second");
    assert_eq!(
        must_put(store, &owner, "github", &first).await,
        1,
        "the first put of a row must return version 1"
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        Some(stored(&first, 1)),
        "get after the first put must show it with version 1"
    );
    assert_eq!(
        must_put(store, &owner, "github", &second).await,
        2,
        "a put over an existing row must return its version + 1"
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        Some(stored(&second, 2)),
        "get after the overwrite must show only the second grant (no optional field of the \
         first left over), with version 2"
    );
    assert_eq!(
        must_put(store, &owner, "github", &first).await,
        3,
        "a third put must return version 3"
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        Some(stored(&first, 3)),
        "get after the third put must show the first grant again, with version 3"
    );
}

/// The version is the store's: what the caller wrote in `grant.version` changes nothing.
pub async fn put_and_replace_ignore_the_callers_version(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    let claims_77 = StoredGrant {
        version: 77,
        ..grant("583231")
    };
    assert_eq!(
        must_put(store, &owner, "github", &claims_77).await,
        1,
        "put of a new row must return 1 whatever grant.version says (77)"
    );
    assert_eq!(
        must_get(store, &owner, "github").await.map(|g| g.version),
        Some(1),
        "the stored version must be 1, not the caller's 77"
    );
    let claims_max = StoredGrant {
        version: u64::MAX,
        ..grant("583231")
    };
    assert_eq!(
        must_replace(store, &owner, "github", 1, &claims_max).await,
        Some(2),
        "replace from version 1 must return Some(2) whatever grant.version says (u64::MAX)"
    );
    assert_eq!(
        must_get(store, &owner, "github").await.map(|g| g.version),
        Some(2),
        "the stored version must be 2, not the caller's u64::MAX"
    );
    assert_eq!(
        must_put(store, &owner, "github", &claims_77).await,
        3,
        "put over version 2 must return 3 whatever grant.version says (77)"
    );
}

/// `replace` with the row's version writes the new grant and returns `Some(version + 1)`, which
/// is what `get` shows; the next `replace` must use that new version.
pub async fn replace_with_the_current_version_writes(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    let old = grant("583231");
    let new = every_field_grant("583231");
    let v1 = must_put(store, &owner, "github", &old).await;
    assert_eq!(
        must_replace(store, &owner, "github", v1, &new).await,
        Some(v1 + 1),
        "replace with the current version {v1} must write and return Some({})",
        v1 + 1
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        Some(stored(&new, v1 + 1)),
        "get after the replace must show the new grant with version {}",
        v1 + 1
    );
    assert_eq!(
        must_replace(store, &owner, "github", v1 + 1, &old).await,
        Some(v1 + 2),
        "a second replace from the version the first returned must write and return Some({})",
        v1 + 2
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        Some(stored(&old, v1 + 2)),
        "get after the second replace must show the old grant again (its optional fields \
         cleared) with version {}",
        v1 + 2
    );
}

/// `replace` with another version than the row's (older or newer) returns `None` and leaves
/// the row exactly as it was.
pub async fn replace_with_a_stale_version_changes_nothing(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    let current = every_field_grant("583231");
    must_put(store, &owner, "github", &grant("583231")).await;
    let v2 = must_put(store, &owner, "github", &current).await;
    assert_eq!(v2, 2, "the second put must return 2");
    let intruder = grant("intruder");
    for expected in [1, 3, 0, u64::MAX] {
        assert_eq!(
            must_replace(store, &owner, "github", expected, &intruder).await,
            None,
            "replace expecting version {expected} of a row at version 2 must return None"
        );
        assert_eq!(
            must_get(store, &owner, "github").await,
            Some(stored(&current, 2)),
            "a replace expecting version {expected} must leave the row (version 2) unchanged"
        );
    }
}

/// `replace` of a row that does not exist returns `None` and creates nothing, whatever version
/// it expects.
pub async fn replace_of_a_missing_row_creates_nothing(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    for expected in [0, 1, 2] {
        assert_eq!(
            must_replace(store, &owner, "github", expected, &grant("583231")).await,
            None,
            "replace (expecting version {expected}) of a missing row must return None"
        );
    }
    assert_eq!(
        must_get(store, &owner, "github").await,
        None,
        "replace of a missing row must not create it"
    );
    assert_eq!(
        must_list(store, &owner).await,
        no_rows(),
        "replace of a missing row must not add it to its owner's list"
    );

    // Nor after a delete: the row stays gone.
    let v1 = must_put(store, &owner, "github", &grant("583231")).await;
    assert!(
        store.delete(&owner, "github").await.expect("delete"),
        "delete of the row just put must return true"
    );
    assert_eq!(
        must_replace(store, &owner, "github", v1, &grant("583231")).await,
        None,
        "replace with the version of a deleted row must return None"
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        None,
        "replace after delete must not re-create the row"
    );
}

/// `delete` returns `true` for a row and `false` once it is gone; the row is gone from `get`
/// and `list`, and the owner's other rows stay.
pub async fn delete_returns_whether_there_was_a_row(store: &dyn TokenStore) {
    let owner = UserId::new("alice");
    let other = grant("kept");
    must_put(store, &owner, "github", &grant("583231")).await;
    let v_other = must_put(store, &owner, "vercel", &other).await;
    assert!(
        store
            .delete(&owner, "github")
            .await
            .expect("delete must succeed"),
        "delete of an existing row must return true"
    );
    assert_eq!(
        must_get(store, &owner, "github").await,
        None,
        "get after delete must be None"
    );
    assert!(
        !store
            .delete(&owner, "github")
            .await
            .expect("a second delete must succeed"),
        "delete of a row already deleted must return false"
    );
    assert!(
        !store
            .delete(&owner, "never-written")
            .await
            .expect("delete of a row never written must succeed"),
        "delete of a row never written must return false"
    );
    assert_eq!(
        must_list(store, &owner).await,
        [("vercel".to_owned(), stored(&other, v_other))],
        "after deleting github, list must show only the owner's other row"
    );
    assert_eq!(
        must_put(store, &owner, "github", &grant("again")).await,
        1,
        "a put after delete starts a new row at version 1"
    );
}

/// `list` gives every row of that owner and no other, sorted by provider in byte order (so
/// `"Z" < "a" < "a b" < "a:b" < "ab" < "é"`), and nothing for an unknown owner or an owner whose
/// id is a prefix of another's.
pub async fn list_returns_the_owners_rows_in_provider_byte_order(store: &dyn TokenStore) {
    let alice = UserId::new("alice");
    let al = UserId::new("al");
    // Written out of order; sorted by bytes: uppercase before lowercase, ' ' before ':' before
    // letters, and multi-byte UTF-8 after ASCII.
    let written = ["é", "ab", "a:b", "Zeta", "a", "a b", "github", "", "~"];
    let mut sorted = written.to_vec();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["", "Zeta", "a", "a b", "a:b", "ab", "github", "~", "é"],
        "the suite's own expectation of byte order"
    );
    for (i, provider) in written.iter().enumerate() {
        must_put(store, &alice, provider, &grant(&format!("alice-{i}"))).await;
    }
    must_put(store, &al, "github", &grant("al")).await;
    must_put(store, &UserId::new("alicex"), "vercel", &grant("alicex")).await;
    must_put(store, &UserId::new("bob"), "github", &grant("bob")).await;

    let listed = must_list(store, &alice).await;
    assert_eq!(
        providers(&listed),
        sorted,
        "list must give exactly alice's providers, in byte order"
    );
    for (provider, got) in &listed {
        let i = written
            .iter()
            .position(|p| p == provider)
            .expect("a written provider");
        assert_eq!(
            got,
            &stored(&grant(&format!("alice-{i}")), 1),
            "list must give the row stored for alice / {provider:?}"
        );
    }
    assert_eq!(
        must_list(store, &al).await,
        [("github".to_owned(), stored(&grant("al"), 1))],
        "list of \"al\" must give its one row, none of \"alice\"'s"
    );
    assert_eq!(
        must_list(store, &UserId::new("carol")).await,
        no_rows(),
        "list of an unknown owner must be empty"
    );
    assert_eq!(
        must_list(store, &UserId::new("ali")).await,
        no_rows(),
        "list of an owner that is only a prefix of others must be empty"
    );
}

/// Owners and providers are any text: pairs that would share a key under naive concatenation
/// (`"a:b"`/`"c"` and `"a"`/`"b:c"`), braces (Redis hash tags), slashes, control characters,
/// spaces, unicode and empty strings all stay separate rows, and each owner lists only its own.
pub async fn pairs_that_concatenate_alike_stay_apart(store: &dyn TokenStore) {
    let pairs: &[(&str, &str)] = &[
        ("a:b", "c"),
        ("a", "b:c"),
        ("a", "b"),
        ("a:b", ""),
        ("a", ":b:c"),
        ("a", ""),
        ("", "a"),
        ("", ""),
        ("a/b", "c"),
        ("a", "b/c"),
        ("a\\b", "c"),
        ("{a}", "b"),
        ("{a", "}b"),
        ("a}", "{b"),
        ("{}", "{}"),
        ("61", "62"),
        ("a b", "c d"),
        ("a\tb\nc\r\u{1b}\u{7f}", "\u{1}\u{1f}"),
        ("ünï 😀", "プロバイダ"),
        ("a%3Ab", "c"),
        ("a\"'b", "`c`"),
    ];
    for (i, (owner, provider)) in pairs.iter().enumerate() {
        let version = must_put(
            store,
            &UserId::new(*owner),
            provider,
            &grant(&i.to_string()),
        )
        .await;
        assert_eq!(
            version, 1,
            "({owner:?}, {provider:?}) is a new row: put must return 1, not overwrite another pair"
        );
    }
    for (i, (owner, provider)) in pairs.iter().enumerate() {
        assert_eq!(
            must_get(store, &UserId::new(*owner), provider).await,
            Some(stored(&grant(&i.to_string()), 1)),
            "get({owner:?}, {provider:?}) must give that pair's own row"
        );
    }
    let mut owners: Vec<&str> = pairs.iter().map(|(owner, _)| *owner).collect();
    owners.sort_unstable();
    owners.dedup();
    for owner in owners {
        let mut expected: Vec<(String, StoredGrant)> = pairs
            .iter()
            .enumerate()
            .filter(|(_, (o, _))| *o == owner)
            .map(|(i, (_, p))| ((*p).to_owned(), stored(&grant(&i.to_string()), 1)))
            .collect();
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            must_list(store, &UserId::new(owner)).await,
            expected,
            "list({owner:?}) must give exactly that owner's rows"
        );
    }
    // Deleting one pair leaves the pair that concatenates alike.
    assert!(
        store
            .delete(&UserId::new("a:b"), "c")
            .await
            .expect("delete"),
        "delete of (\"a:b\", \"c\") must return true"
    );
    assert_eq!(
        must_get(store, &UserId::new("a"), "b:c").await,
        Some(stored(&grant("1"), 1)),
        "deleting (\"a:b\", \"c\") must leave (\"a\", \"b:c\")"
    );
}

/// Compare-and-set under contention: [`CONCURRENT_TASKS`] tasks replace one row from the same
/// version at once; exactly one gets `Some(version + 1)`, every other `None`, and the row holds
/// the winner's grant.
pub async fn concurrent_replaces_of_one_version_have_one_winner(store: Arc<dyn TokenStore>) {
    let owner = UserId::new("alice");
    let v1 = must_put(&*store, &owner, "github", &grant("start")).await;
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, owner, barrier) = (store.clone(), owner.clone(), barrier.clone());
            tokio::spawn(async move {
                let mine = grant(&format!("writer-{i}"));
                barrier.wait().await;
                (i, store.replace(&owner, "github", v1, &mine).await)
            })
        })
        .collect();
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, async {
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.expect("a replace task must not panic") {
                (i, Ok(Some(version))) => {
                    assert_eq!(
                        version,
                        v1 + 1,
                        "the winning replace must return Some({})",
                        v1 + 1
                    );
                    winners.push(i);
                }
                (_, Ok(None)) => {}
                (i, Err(e)) => panic!("replace of writer {i} failed instead of losing: {e:?}"),
            }
        }
        winners
    })
    .await;
    let winners = outcome.unwrap_or_else(|_| {
        panic!("{CONCURRENT_TASKS} concurrent replaces did not finish within {SCENARIO_TIMEOUT:?}")
    });
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {CONCURRENT_TASKS} replaces from version {v1} may win, got {winners:?}"
    );
    assert_eq!(
        must_get(&*store, &owner, "github").await,
        Some(stored(&grant(&format!("writer-{}", winners[0])), v1 + 1)),
        "the row must hold the winner's grant at version {}",
        v1 + 1
    );
}

/// [`CONCURRENT_TASKS`] tasks each `put` a row for a different owner at once: every put returns
/// 1 and every row is there afterwards, alone in its owner's list.
pub async fn concurrent_puts_of_distinct_owners_all_land(store: Arc<dyn TokenStore>) {
    let owner = |i: usize| UserId::new(format!("owner-{i}"));
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier, owner) = (store.clone(), barrier.clone(), owner(i));
            tokio::spawn(async move {
                let mine = grant(&format!("account-{i}"));
                barrier.wait().await;
                store.put(&owner, "github", &mine).await
            })
        })
        .collect();
    let finished = tokio::time::timeout(SCENARIO_TIMEOUT, async {
        for (i, task) in tasks.into_iter().enumerate() {
            let put: Result<u64, StoreError> = task.await.expect("a put task must not panic");
            match put {
                Ok(version) => assert_eq!(version, 1, "put of owner-{i}'s new row must return 1"),
                Err(e) => panic!("put of owner-{i} failed: {e:?}"),
            }
        }
    })
    .await;
    finished.unwrap_or_else(|_| {
        panic!("{CONCURRENT_TASKS} concurrent puts did not finish within {SCENARIO_TIMEOUT:?}")
    });
    for i in 0..CONCURRENT_TASKS {
        assert_eq!(
            must_list(&*store, &owner(i)).await,
            [(
                "github".to_owned(),
                stored(&grant(&format!("account-{i}")), 1)
            )],
            "owner-{i}'s row must have landed, alone in its list"
        );
    }
}
