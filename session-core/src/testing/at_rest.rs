//! The contracts about what is at rest, run only for stores that give a [`RawAccess`] hook:
//! nothing stored reveals a session id (S-04), and a damaged record is a typed error (R10, D4).

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use super::conformance::{record, record_for, renewed, unique_user};
use super::RawAccess;
use crate::id::{SessionId, SessionKey};
use crate::record::SessionRecord;
use crate::store::{SessionStore, StoreError};
use crate::time::UnixTime;

/// A marker the damaged records carry, which no error may quote.
const SECRET: &str = "s3cret-data";

/// The forms a session id could take if a store leaked it, with a name for each: its cookie text
/// (unpadded base64url), its 32 raw bytes, its hex (lower and upper case) and standard base64.
pub fn session_id_forms(id: &SessionId) -> Vec<(&'static str, Vec<u8>)> {
    let hex = SessionKey::from_bytes(*id.as_bytes()).to_hex();
    vec![
        ("its cookie text", id.expose().as_bytes().to_vec()),
        ("its raw bytes", id.as_bytes().to_vec()),
        ("its hex", hex.clone().into_bytes()),
        ("its upper-case hex", hex.to_ascii_uppercase().into_bytes()),
        (
            "its standard base64",
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(id.as_bytes())
                .into_bytes(),
        ),
    ]
}

/// Asserts that `stored` contains none of `ids` in any of their [`session_id_forms`]; `what`
/// names `stored` in the failure ("a tree value", "the WAL file").
pub fn assert_no_session_id(stored: &[u8], ids: &[SessionId], what: &str) {
    for id in ids {
        for (form, needle) in session_id_forms(id) {
            assert!(
                !contains(stored, &needle),
                "{what} holds a session id ({form}); stores may only see its SHA-256"
            );
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// S-04: six sessions with data and metadata (five of one user, one anonymous) are created and
/// saved, then two are renewed to new ids and two deleted; afterwards no byte string the engine
/// holds contains any of their session ids, old or new, in any of the [`session_id_forms`].
/// Stores see only [`SessionKey`]s.
///
/// To prove the hook sees the store's data, every live record's key must appear in what
/// [`RawAccess::stored_bytes`] returns (raw or hex), and so must the user's id.
pub async fn no_session_id_at_rest(store: Arc<dyn SessionStore>, raw: Arc<dyn RawAccess>) {
    let t0 = UnixTime::now();
    let user = unique_user("at-rest");
    let mut ids = Vec::new();
    let mut live = Vec::new();
    for i in 0..6 {
        let id = SessionId::generate();
        let mut r = if i == 4 {
            record(t0)
        } else {
            record_for(&user, t0)
        };
        r.key = id.key();
        store.create(&r).await.expect("create");
        let mut saved = r.clone();
        saved.version = 2;
        saved.data.insert("n".into(), json!(i));
        store.save(&saved, 1).await.expect("save");
        ids.push(id);
        match i % 3 {
            0 => {
                let new_id = SessionId::generate();
                let mut new = renewed(&saved);
                new.key = new_id.key();
                store.renew(&saved.key, 2, &new).await.expect("renew");
                ids.push(new_id);
                live.push(new);
            }
            1 => live.push(saved),
            _ => store.delete(&saved.key).await.expect("delete"),
        }
    }

    let stored = raw.stored_bytes().await.expect("RawAccess::stored_bytes");
    for r in &live {
        let hex = r.key.to_hex();
        assert!(
            stored
                .iter()
                .any(|b| contains(b, r.key.as_bytes()) || contains(b, hex.as_bytes())),
            "no stored byte string names a live record's key: RawAccess::stored_bytes must return \
             everything the engine holds for this store"
        );
    }
    assert!(
        stored.iter().any(|b| contains(b, user.as_str().as_bytes())),
        "no stored byte string names the user: RawAccess::stored_bytes must return everything \
         the engine holds for this store"
    );
    for bytes in &stored {
        assert_no_session_id(bytes, &ids, "a stored byte string");
    }
}

/// R10/D4: a record whose stored bytes are damaged (garbage, another format version, a poisoned
/// field, another session's record) is [`StoreError::Corrupt`], and the store stays usable.
///
/// For each kind of damage, on a user with one damaged and one intact session:
/// - `load` is `Corrupt`, not transient, and its message and sources show neither the key nor
///   the stored bytes;
/// - the store does not delete the record by itself (`create` on its key is `Collision`);
/// - the intact session loads, and `list_for_user` gives exactly the intact one;
/// - a purge past its expiry succeeds (removing it or leaving it for the caller) and keeps the
///   intact session;
/// - `save` and `renew` over the damaged record either replace it completely (`Ok`) or are
///   `Corrupt` and change nothing;
/// - `delete` removes it (the key is free again), and `delete_for_user` ends both sessions.
///
/// The checks are on types and behaviour only: what the error's message says about the damage
/// (a format version, a parse position) is each store's own business.
pub async fn a_corrupt_record_is_a_typed_error(
    store: Arc<dyn SessionStore>,
    raw: Arc<dyn RawAccess>,
) {
    let t0 = UnixTime::now();
    let intact_example = record(t0);
    for (kind, damage) in damages(&intact_example) {
        let case = Case::new(&*store, &*raw, t0, kind).await;
        let bytes = damage(&case.damaged);
        case.overwrite(&bytes).await;
        case.load_is_corrupt().await;
        case.others_are_unaffected().await;
        case.is_kept().await;
        case.purge_passes_it().await;
        case.delete_removes_it().await;

        let case = Case::new(&*store, &*raw, t0, kind).await;
        case.overwrite(&damage(&case.damaged)).await;
        case.save_replaces_it_or_is_corrupt().await;

        let case = Case::new(&*store, &*raw, t0, kind).await;
        case.overwrite(&damage(&case.damaged)).await;
        case.renew_replaces_it_or_is_corrupt().await;

        let case = Case::new(&*store, &*raw, t0, kind).await;
        case.overwrite(&damage(&case.damaged)).await;
        case.delete_for_user_ends_both().await;
    }
}

type Damage = Box<dyn Fn(&SessionRecord) -> Vec<u8> + Send + Sync>;

/// The kinds of damage, each turning the damaged record into the bytes to store instead.
fn damages(other: &SessionRecord) -> Vec<(&'static str, Damage)> {
    let text = |r: &SessionRecord| String::from_utf8(r.to_bytes()).expect("records are JSON");
    let other = other.to_bytes();
    vec![
        (
            "garbage bytes",
            Box::new(|_: &SessionRecord| {
                let mut bytes = vec![0xff, 0x00];
                bytes.extend_from_slice(format!(" {SECRET} garbage").as_bytes());
                bytes
            }),
        ),
        ("no bytes", Box::new(|_: &SessionRecord| Vec::new())),
        (
            "an empty object",
            Box::new(|_: &SessionRecord| b"{}".to_vec()),
        ),
        (
            "a JSON array",
            Box::new(|_: &SessionRecord| b"[1,2,3]".to_vec()),
        ),
        (
            "a version tag alone",
            Box::new(|_: &SessionRecord| b"{\"fmt\":1}".to_vec()),
        ),
        (
            "a key that is no key",
            Box::new(|_: &SessionRecord| {
                format!("{{\"fmt\":1,\"key\":\"{SECRET}\"}}").into_bytes()
            }),
        ),
        (
            "a version that is no number",
            Box::new(|_: &SessionRecord| {
                format!("{{\"fmt\":1,\"version\":\"{SECRET}\"}}").into_bytes()
            }),
        ),
        (
            "another format version",
            Box::new(move |r: &SessionRecord| {
                let v1 = text(r);
                assert!(v1.contains("\"fmt\":1"), "records start with their version");
                v1.replacen("\"fmt\":1", "\"fmt\":2", 1).into_bytes()
            }),
        ),
        (
            "a field of the wrong type",
            Box::new(move |r: &SessionRecord| {
                let created = format!("\"created_at\":{}", r.created_at.as_secs());
                let v1 = text(r);
                assert!(v1.contains(&created), "records hold created_at");
                v1.replacen(&created, &format!("\"created_at\":\"{SECRET}\""), 1)
                    .into_bytes()
            }),
        ),
        (
            "data that is no map",
            Box::new(move |r: &SessionRecord| {
                text(r)
                    .replacen("\"data\":{", &format!("\"data\":\"{SECRET}\",\"x\":{{"), 1)
                    .into_bytes()
            }),
        ),
        (
            "another session's record",
            Box::new(move |_: &SessionRecord| other.clone()),
        ),
    ]
}

/// One damaged and one intact session of a fresh user.
struct Case<'a> {
    store: &'a dyn SessionStore,
    raw: &'a dyn RawAccess,
    t0: UnixTime,
    kind: &'static str,
    damaged: SessionRecord,
    intact: SessionRecord,
}

impl<'a> Case<'a> {
    async fn new(
        store: &'a dyn SessionStore,
        raw: &'a dyn RawAccess,
        t0: UnixTime,
        kind: &'static str,
    ) -> Self {
        let user = unique_user("corrupt");
        let mut damaged = record_for(&user, t0);
        damaged
            .data
            .insert("password_hint".into(), json!(format!("{SECRET}-hint")));
        let mut intact = record_for(&user, t0);
        intact.expires_at = t0 + Duration::from_secs(7200);
        store.create(&damaged).await.expect("create");
        store.create(&intact).await.expect("create");
        Case {
            store,
            raw,
            t0,
            kind,
            damaged,
            intact,
        }
    }

    async fn overwrite(&self, bytes: &[u8]) {
        self.raw
            .overwrite_record(&self.damaged.key, bytes)
            .await
            .unwrap_or_else(|e| panic!("RawAccess::overwrite_record failed: {e}"));
    }

    /// Asserts `err` is `Corrupt`, not transient, and shows no key and no stored bytes.
    fn assert_corrupt(&self, err: &StoreError, op: &str) {
        let kind = self.kind;
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "{kind}: {op} must be StoreError::Corrupt, got {err:?}"
        );
        assert!(!err.is_transient(), "{kind}: a damaged record is no 503");
        let shown = error_chain(err);
        assert!(
            !shown.contains(&self.damaged.key.to_hex()),
            "{kind}: the {op} error shows the key: {shown}"
        );
        assert!(
            !shown.contains(SECRET),
            "{kind}: the {op} error quotes the stored bytes: {shown}"
        );
    }

    async fn load_is_corrupt(&self) {
        match self.store.load(&self.damaged.key, self.t0).await {
            Err(err) => self.assert_corrupt(&err, "load"),
            Ok(found) => panic!(
                "{}: a damaged record must not load: got {:?}",
                self.kind,
                found.map(|r| r.key)
            ),
        }
    }

    async fn others_are_unaffected(&self) {
        let kind = self.kind;
        assert_eq!(
            self.store
                .load(&self.intact.key, self.t0)
                .await
                .expect("load of the intact record"),
            Some(self.intact.clone()),
            "{kind}: the user's other session"
        );
        let user = self.intact.user_id.as_ref().expect("a user's record");
        let listed = self
            .store
            .list_for_user(user, self.t0)
            .await
            .unwrap_or_else(|e| panic!("{kind}: list_for_user with a damaged record: {e:?}"));
        assert_eq!(
            listed.iter().map(|r| r.key).collect::<Vec<_>>(),
            vec![self.intact.key],
            "{kind}: list_for_user gives the intact session and skips the damaged one"
        );
    }

    async fn is_kept(&self) {
        match self.store.create(&self.damaged).await {
            Err(StoreError::Collision) => {}
            other => panic!(
                "{}: the store must keep the damaged record for the caller to delete \
                 (create on its key must be Collision), got {other:?}",
                self.kind
            ),
        }
    }

    /// A purge that meets the damaged record expired succeeds (removing it or leaving it for the
    /// caller) and keeps the intact one, which lives longer.
    async fn purge_passes_it(&self) {
        let kind = self.kind;
        let later = self.damaged.expires_at + Duration::from_secs(1);
        assert!(later < self.intact.expires_at);
        self.store
            .purge_expired(later)
            .await
            .unwrap_or_else(|e| panic!("{kind}: purge_expired over a damaged record: {e:?}"));
        self.others_are_unaffected().await;
    }

    async fn delete_removes_it(&self) {
        let kind = self.kind;
        self.store
            .delete(&self.damaged.key)
            .await
            .unwrap_or_else(|e| panic!("{kind}: delete of a damaged record: {e:?}"));
        assert_eq!(
            self.store
                .load(&self.damaged.key, self.t0)
                .await
                .expect("load after delete"),
            None,
            "{kind}: deleted"
        );
        self.store
            .create(&self.damaged)
            .await
            .unwrap_or_else(|e| panic!("{kind}: the key is free after the delete: {e:?}"));
        self.cleanup().await;
    }

    async fn save_replaces_it_or_is_corrupt(&self) {
        let mut next = self.damaged.clone();
        next.version = 2;
        next.data.insert("n".into(), json!(1));
        match self.store.save(&next, 1).await {
            Ok(()) => assert_eq!(
                self.store.load(&next.key, self.t0).await.expect("load"),
                Some(next),
                "{}: a save that succeeds replaces the damaged record",
                self.kind
            ),
            Err(err) => {
                self.assert_corrupt(&err, "save");
                self.load_is_corrupt().await;
            }
        }
        self.others_are_unaffected_but_maybe_repaired().await;
        self.cleanup().await;
    }

    async fn renew_replaces_it_or_is_corrupt(&self) {
        let new = renewed(&self.damaged);
        match self.store.renew(&self.damaged.key, 1, &new).await {
            Ok(()) => {
                assert_eq!(
                    self.store.load(&new.key, self.t0).await.expect("load"),
                    Some(new.clone()),
                    "{}: a renew that succeeds stores the new record",
                    self.kind
                );
                assert_eq!(
                    self.store
                        .load(&self.damaged.key, self.t0)
                        .await
                        .expect("load"),
                    None,
                    "{}: a renew that succeeds removes the damaged record",
                    self.kind
                );
            }
            Err(err) => {
                self.assert_corrupt(&err, "renew");
                assert_eq!(
                    self.store.load(&new.key, self.t0).await.expect("load"),
                    None,
                    "{}: a failed renew creates nothing",
                    self.kind
                );
                self.load_is_corrupt().await;
            }
        }
        self.store.delete(&new.key).await.expect("delete");
        self.cleanup().await;
    }

    async fn delete_for_user_ends_both(&self) {
        let kind = self.kind;
        let user = self.intact.user_id.as_ref().expect("a user's record");
        let ended = self
            .store
            .delete_for_user(user)
            .await
            .unwrap_or_else(|e| panic!("{kind}: delete_for_user with a damaged record: {e:?}"));
        assert_eq!(ended, 2, "{kind}: both of the user's sessions ended");
        for key in [&self.intact.key, &self.damaged.key] {
            assert_eq!(
                self.store.load(key, self.t0).await.expect("load"),
                None,
                "{kind}: logged out everywhere"
            );
        }
        assert!(self
            .store
            .list_for_user(user, self.t0)
            .await
            .expect("list")
            .is_empty());
    }

    /// After a save or renew: the intact session is still there and listed, next to whatever
    /// became of the damaged one.
    async fn others_are_unaffected_but_maybe_repaired(&self) {
        let kind = self.kind;
        assert_eq!(
            self.store
                .load(&self.intact.key, self.t0)
                .await
                .expect("load of the intact record"),
            Some(self.intact.clone()),
            "{kind}: the user's other session"
        );
        let user = self.intact.user_id.as_ref().expect("a user's record");
        let listed = self
            .store
            .list_for_user(user, self.t0)
            .await
            .unwrap_or_else(|e| panic!("{kind}: list_for_user: {e:?}"));
        assert!(
            listed.iter().any(|r| r.key == self.intact.key),
            "{kind}: list_for_user gives the intact session"
        );
    }

    async fn cleanup(&self) {
        self.store.delete(&self.damaged.key).await.expect("delete");
        self.store.delete(&self.intact.key).await.expect("delete");
    }
}

/// An error's message and all its sources, `Display` and `Debug`, as a log would show them.
fn error_chain(err: &StoreError) -> String {
    let mut text = format!("{err} / {err:?}");
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(&format!(": {inner} / {inner:?}"));
        source = inner.source();
    }
    text
}
