//! The API-token-store conformance suite: one `pub async fn` per contract of
//! [`ApiTokenStore`], each taking a fresh, empty store.
//!
//! Call them through [`api_token_store_conformance!`](crate::api_token_store_conformance),
//! which expands to one named `#[tokio::test]` per function, or by hand:
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use session_auth::api_tokens::MemoryApiTokenStore;
//! use session_auth::testing::api_token_conformance;
//!
//! api_token_conformance::insert_then_find_round_trips_every_field(&MemoryApiTokenStore::new()).await;
//! api_token_conformance::concurrent_inserts_stop_at_the_limit(Arc::new(MemoryApiTokenStore::new())).await;
//! # });
//! ```
//!
//! The concurrent contracts spawn tasks and take an `Arc<dyn ApiTokenStore>`; they need a
//! multi-thread tokio runtime with timers. [`record`] builds rows for stores' own tests.

use std::sync::Arc;

use session_core::store::StoreError;
use session_core::{UnixTime, UserId};
use tokio::sync::Barrier;

use super::token_conformance::{CONCURRENT_TASKS, SCENARIO_TIMEOUT};
use crate::api_tokens::{ApiTokenRecord, ApiTokenStore, Inserted, TokenHash};

/// "Now" in the contracts.
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// A row for `owner` with only the required fields, distinct per `n`: no scopes, never used,
/// no expiry, not revoked, created at [`NOW`] + `n` seconds.
pub fn record(owner: &str, n: u8) -> ApiTokenRecord {
    // FNV-1a of the owner: distinct ids and hashes for the owners the contracts use.
    let fnv = owner.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut hash = [n; 32];
    hash[..8].copy_from_slice(&fnv.to_be_bytes());
    ApiTokenRecord {
        id: format!("{fnv:016x}{n:08x}"),
        owner: UserId::new(owner),
        name: format!("token {n}"),
        scopes: Vec::new(),
        display_prefix: format!("sat_{n:06}"),
        hash: TokenHash::from_bytes(hash),
        created_at: NOW.saturating_add(std::time::Duration::from_secs(n.into())),
        last_used_at: None,
        expires_at: None,
        revoked_at: None,
    }
}

/// A row with every optional field set: unicode name, many scopes, used, expiring, revoked.
pub fn every_field_record(owner: &str) -> ApiTokenRecord {
    ApiTokenRecord {
        name: "déploiement 🚀 \"nightly\"".into(),
        scopes: (0..12).map(|i| format!("scope:{i}/read")).collect(),
        last_used_at: Some(NOW.saturating_add(std::time::Duration::from_secs(5))),
        expires_at: Some(NOW.saturating_add(std::time::Duration::from_secs(86_400))),
        revoked_at: Some(NOW.saturating_add(std::time::Duration::from_secs(60))),
        ..record(owner, 200)
    }
}

async fn stored(store: &dyn ApiTokenStore, record: &ApiTokenRecord) {
    assert_eq!(
        store.insert(record, usize::MAX, NOW).await.expect("insert"),
        Inserted::Stored
    );
}

/// `find` of a hash never stored is `None`.
pub async fn find_of_a_missing_hash_is_none(store: &dyn ApiTokenStore) {
    let found = store
        .find(&TokenHash::from_bytes([7; 32]))
        .await
        .expect("find");
    assert_eq!(found, None);
}

/// A row comes back from `find` exactly as inserted, with every field set and with none.
pub async fn insert_then_find_round_trips_every_field(store: &dyn ApiTokenStore) {
    let full = every_field_record("alice");
    let bare = record("alice", 1);
    stored(store, &full).await;
    stored(store, &bare).await;
    assert_eq!(store.find(&full.hash).await.expect("find"), Some(full));
    assert_eq!(store.find(&bare.hash).await.expect("find"), Some(bare));
}

/// A second row with a taken id or a taken hash is [`StoreError::Collision`], and the first
/// row is unchanged.
pub async fn a_taken_id_or_hash_is_a_collision(store: &dyn ApiTokenStore) {
    let first = record("alice", 1);
    stored(store, &first).await;
    let same_id = ApiTokenRecord {
        hash: TokenHash::from_bytes([0xee; 32]),
        ..record("bob", 2)
    };
    let same_id = ApiTokenRecord {
        id: first.id.clone(),
        ..same_id
    };
    let same_hash = ApiTokenRecord {
        hash: first.hash,
        ..record("bob", 3)
    };
    for duplicate in [same_id, same_hash] {
        let result = store.insert(&duplicate, usize::MAX, NOW).await;
        assert!(
            matches!(result, Err(StoreError::Collision)),
            "a duplicate is a collision, got {result:?}"
        );
    }
    assert_eq!(store.find(&first.hash).await.expect("find"), Some(first));
    assert!(store
        .list(&UserId::new("bob"))
        .await
        .expect("list")
        .is_empty());
}

/// `list` gives the owner's rows only, oldest first, then by id.
pub async fn list_returns_the_owners_rows_oldest_first(store: &dyn ApiTokenStore) {
    let rows = [
        record("alice", 3),
        record("alice", 1),
        record("bob", 2),
        record("alice", 2),
    ];
    for row in &rows {
        stored(store, row).await;
    }
    let tie = ApiTokenRecord {
        id: "0".repeat(24),
        hash: TokenHash::from_bytes([0xab; 32]),
        ..record("alice", 2)
    };
    stored(store, &tie).await;
    let listed: Vec<String> = store
        .list(&UserId::new("alice"))
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    let expected = vec![
        rows[1].id.clone(),
        tie.id,
        rows[3].id.clone(),
        rows[0].id.clone(),
    ];
    assert_eq!(listed, expected);
    assert!(store
        .list(&UserId::new("carol"))
        .await
        .expect("list")
        .is_empty());
}

/// The limit counts the owner's active rows only (revoked and expired ones do not count, other
/// owners' do not count), and a refused insert stores nothing.
pub async fn insert_stops_at_the_limit_of_active_rows(store: &dyn ApiTokenStore) {
    let revoked = ApiTokenRecord {
        revoked_at: Some(NOW),
        ..record("alice", 1)
    };
    let expired = ApiTokenRecord {
        expires_at: Some(NOW),
        ..record("alice", 2)
    };
    let expiring_later = ApiTokenRecord {
        expires_at: Some(NOW.saturating_add(std::time::Duration::from_secs(1))),
        ..record("alice", 3)
    };
    for row in [&revoked, &expired, &expiring_later, &record("bob", 4)] {
        stored(store, row).await;
    }
    let next = record("alice", 5);
    assert_eq!(
        store.insert(&next, 2, NOW).await.expect("insert"),
        Inserted::Stored
    );
    let over = record("alice", 6);
    assert_eq!(
        store.insert(&over, 2, NOW).await.expect("insert"),
        Inserted::LimitReached
    );
    assert_eq!(store.find(&over.hash).await.expect("find"), None);
    assert_eq!(
        store
            .insert(&record("carol", 7), 0, NOW)
            .await
            .expect("insert"),
        Inserted::LimitReached,
        "a limit of 0 refuses every token"
    );
}

/// `touch` moves `last_used_at` forward, never back, touches nothing else, and a missing id is
/// not an error.
pub async fn touch_moves_last_used_forward_only(store: &dyn ApiTokenStore) {
    let row = record("alice", 1);
    stored(store, &row).await;
    let later = NOW.saturating_add(std::time::Duration::from_secs(100));
    store.touch(&row.id, later).await.expect("touch");
    store.touch(&row.id, NOW).await.expect("touch back");
    let found = store.find(&row.hash).await.expect("find").expect("row");
    assert_eq!(
        found,
        ApiTokenRecord {
            last_used_at: Some(later),
            ..row
        }
    );
    store
        .touch(&"f".repeat(24), later)
        .await
        .expect("a missing id is fine");
}

/// `revoke` revokes the owner's active token once: not another owner's, not twice; the row stays
/// findable with `revoked_at` set.
pub async fn revoke_only_the_owners_active_token(store: &dyn ApiTokenStore) {
    let row = record("alice", 1);
    stored(store, &row).await;
    let at = NOW.saturating_add(std::time::Duration::from_secs(30));
    let bob = UserId::new("bob");
    assert!(
        !store.revoke(&bob, &row.id, at).await.expect("revoke"),
        "not bob's"
    );
    let alice = UserId::new("alice");
    assert!(store.revoke(&alice, &row.id, at).await.expect("revoke"));
    let later = at.saturating_add(std::time::Duration::from_secs(30));
    assert!(
        !store.revoke(&alice, &row.id, later).await.expect("revoke"),
        "already revoked"
    );
    assert!(
        !store
            .revoke(&alice, &"f".repeat(24), at)
            .await
            .expect("revoke"),
        "missing"
    );
    let found = store.find(&row.hash).await.expect("find").expect("row");
    assert_eq!(
        found.revoked_at,
        Some(at),
        "the first revocation's time stays"
    );
}

/// `revoke_all` revokes the owner's unrevoked tokens and counts them; other owners keep theirs.
pub async fn revoke_all_counts_and_leaves_other_owners(store: &dyn ApiTokenStore) {
    let already = ApiTokenRecord {
        revoked_at: Some(NOW),
        ..record("alice", 1)
    };
    for row in [
        &already,
        &record("alice", 2),
        &record("alice", 3),
        &record("bob", 4),
    ] {
        stored(store, row).await;
    }
    let at = NOW.saturating_add(std::time::Duration::from_secs(10));
    assert_eq!(
        store
            .revoke_all(&UserId::new("alice"), at)
            .await
            .expect("revoke_all"),
        2
    );
    let alice = store.list(&UserId::new("alice")).await.expect("list");
    assert!(alice.iter().all(|r| r.revoked_at.is_some()));
    assert_eq!(
        alice[0].revoked_at,
        Some(NOW),
        "an earlier revocation keeps its time"
    );
    let bob = store.list(&UserId::new("bob")).await.expect("list");
    assert_eq!(bob[0].revoked_at, None);
    assert_eq!(
        store
            .revoke_all(&UserId::new("carol"), at)
            .await
            .expect("revoke_all"),
        0
    );
}

/// Owners that share a prefix or contain separators keep their rows apart.
pub async fn owners_that_look_alike_stay_apart(store: &dyn ApiTokenStore) {
    let owners = ["a", "a:b", "a:", ":b", "a b", "a\u{0}b", "ä"];
    for (n, owner) in owners.iter().enumerate() {
        stored(store, &record(owner, n as u8)).await;
    }
    for owner in owners {
        let listed = store.list(&UserId::new(owner)).await.expect("list");
        assert_eq!(listed.len(), 1, "{owner:?}");
        assert_eq!(listed[0].owner.as_str(), owner);
    }
    assert_eq!(
        store
            .revoke_all(&UserId::new("a"), NOW)
            .await
            .expect("revoke_all"),
        1
    );
}

/// [`CONCURRENT_TASKS`] inserts for one owner at once, with a limit of 5: exactly 5 land.
pub async fn concurrent_inserts_stop_at_the_limit(store: Arc<dyn ApiTokenStore>) {
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|n| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.insert(&record("alice", n as u8), 5, NOW).await
            })
        })
        .collect();
    let outcomes = tokio::time::timeout(SCENARIO_TIMEOUT, async {
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task").expect("insert"));
        }
        outcomes
    })
    .await
    .expect("the inserts finish");
    let stored = outcomes.iter().filter(|o| **o == Inserted::Stored).count();
    assert_eq!(stored, 5, "{outcomes:?}");
    assert_eq!(
        store.list(&UserId::new("alice")).await.expect("list").len(),
        5
    );
}

/// Concurrent touches of one token leave the latest time.
pub async fn concurrent_touches_keep_the_latest(store: Arc<dyn ApiTokenStore>) {
    let row = record("alice", 1);
    stored(&*store, &row).await;
    let barrier = Arc::new(Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|n| {
            let (store, barrier, id) = (store.clone(), barrier.clone(), row.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let at = NOW.saturating_add(std::time::Duration::from_secs(n as u64));
                store.touch(&id, at).await
            })
        })
        .collect();
    tokio::time::timeout(SCENARIO_TIMEOUT, async {
        for task in tasks {
            task.await.expect("task").expect("touch");
        }
    })
    .await
    .expect("the touches finish");
    let found = store.find(&row.hash).await.expect("find").expect("row");
    let latest = NOW.saturating_add(std::time::Duration::from_secs(CONCURRENT_TASKS as u64 - 1));
    assert_eq!(found.last_used_at, Some(latest));
}

/// The store behind [`ApiTokens`](crate::api_tokens::ApiTokens): a created token
/// authenticates (and its use is recorded), is listed, and after `revoke` is refused as
/// revoked; `revoke_all` takes the rest.
pub async fn tokens_made_through_api_tokens_authenticate_until_revoked(
    store: Arc<dyn ApiTokenStore>,
) {
    use crate::api_tokens::{BearerError, NewApiToken};
    let tokens = api_tokens(store);
    let alice = UserId::new("alice");
    let created = tokens
        .create(&alice, NewApiToken::named("CI deploy").scopes(["deploy"]))
        .await
        .expect("create");
    let other = tokens
        .create(&alice, NewApiToken::named("nightly"))
        .await
        .expect("create");
    let bearer = tokens
        .authenticate(created.secret.expose())
        .await
        .expect("a new token authenticates");
    assert_eq!(bearer.owner, alice);
    assert_eq!(bearer.id, created.token.id);
    assert!(bearer.allows("deploy"));

    let listed = tokens.list(&alice).await.expect("list");
    assert_eq!(listed.len(), 2);
    let used = listed
        .iter()
        .find(|t| t.id == created.token.id)
        .expect("listed");
    assert!(used.last_used_at.is_some(), "the use was recorded");

    assert!(tokens
        .revoke(&alice, &created.token.id)
        .await
        .expect("revoke"));
    assert!(matches!(
        tokens.authenticate(created.secret.expose()).await,
        Err(BearerError::Revoked)
    ));
    assert!(tokens.authenticate(other.secret.expose()).await.is_ok());
    assert_eq!(tokens.revoke_all(&alice).await.expect("revoke_all"), 1);
    assert!(matches!(
        tokens.authenticate(other.secret.expose()).await,
        Err(BearerError::Revoked)
    ));
}

/// What the store keeps of a token is no token: its hash (bare, behind the prefix, or cut to a
/// token's length) and its display prefix are refused; the token still works.
pub async fn a_leaked_row_is_not_a_token(store: Arc<dyn ApiTokenStore>) {
    use crate::api_tokens::{BearerError, NewApiToken};
    let tokens = api_tokens(store.clone());
    let alice = UserId::new("alice");
    let created = tokens
        .create(&alice, NewApiToken::named("CI deploy"))
        .await
        .expect("create");
    let rows = store.list(&alice).await.expect("list");
    let [row] = &rows[..] else {
        panic!("one row: {rows:?}")
    };
    let hash = row.hash.to_hex();
    assert_eq!(row.display_prefix, created.token.display_prefix);
    for leaked in [
        hash.clone(),
        format!("sat_{hash}"),
        row.display_prefix.clone(),
        format!("sat_{}", &hash[..43]),
    ] {
        let refused = tokens.authenticate(&leaked).await;
        assert!(
            matches!(
                refused,
                Err(BearerError::Malformed(_) | BearerError::Unknown)
            ),
            "{leaked}: got {refused:?}"
        );
    }
    assert!(tokens.authenticate(created.secret.expose()).await.is_ok());
}

/// `ApiTokens` on `store`, under a fixed test secret.
fn api_tokens(store: Arc<dyn ApiTokenStore>) -> crate::api_tokens::ApiTokens {
    // Invariant: 32 bytes is a valid secret.
    let secret = session_core::Secret::from_bytes(vec![0x5a; 32]).expect("32 bytes");
    crate::api_tokens::ApiTokens::builder(&secret, store).build()
}
