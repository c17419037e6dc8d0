//! What a request read and wrote, so a save that lost a race can be merged instead of refused
//! ([C8], the concurrency page of the manual).
//!
//! The handle records, for every data key it touched, the value the key had when the session was
//! loaded. When the store says another request saved first, the manager reloads the record and
//! asks [`Access::overlaps`]: if none of the keys this request read or wrote changed meanwhile,
//! [`Access::apply`] re-applies this request's writes on top of the other writer's record and the
//! manager saves again. Nothing is lost, and nothing is refused that need not be.
//!
//! [C8]: crate::manual::contracts#c8

use serde_json::Value;

use crate::id::UserId;
use crate::record::{SessionData, SessionMetadata, SessionRecord};

/// One data key a request touched.
#[derive(Debug)]
struct KeyAccess {
    key: String,
    /// The value when the session was loaded (`None`: absent).
    original: Option<Value>,
    written: bool,
}

/// The keys a request read and wrote, with their values as loaded.
#[derive(Debug, Default)]
pub(crate) struct Access {
    keys: Vec<KeyAccess>,
    /// The whole data as loaded, once the request read or replaced it as a whole.
    whole: Option<SessionData>,
    whole_written: bool,
    /// The user and metadata as loaded, once the request changed them (login, "remember me").
    identity: Option<(Option<UserId>, SessionMetadata)>,
}

impl Access {
    /// Records that `key` of `data` (the loaded record's, before any change) is read or written.
    pub(crate) fn touch(&mut self, key: &str, data: &SessionData, written: bool) {
        match self.keys.iter_mut().find(|k| k.key == key) {
            Some(k) => k.written |= written,
            None => self.keys.push(KeyAccess {
                key: key.to_owned(),
                original: data.get(key).cloned(),
                written,
            }),
        }
    }

    /// Records that the whole of `data` (as it is now) is read or replaced.
    pub(crate) fn touch_all(&mut self, data: &SessionData, written: bool) {
        if self.whole.is_none() {
            // `data` already carries this request's earlier writes: put the loaded values back.
            let mut original = data.clone();
            for k in self.keys.iter().filter(|k| k.written) {
                match &k.original {
                    Some(v) => original.insert(k.key.clone(), v.clone()),
                    None => original.remove(&k.key),
                };
            }
            self.whole = Some(original);
        }
        self.whole_written |= written;
    }

    /// Records that the user or metadata of `record` (before the change) are being changed.
    pub(crate) fn touch_identity(&mut self, record: &SessionRecord) {
        if self.identity.is_none() {
            self.identity = Some((record.user_id.clone(), record.metadata.clone()));
        }
    }

    /// Whether the request changed the user or metadata (signed in, "remember me").
    pub(crate) fn changed_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// Whether `current` (saved by another request since this one loaded) changed anything this
    /// request read or wrote.
    pub(crate) fn overlaps(&self, current: &SessionRecord) -> bool {
        let key_changed = self
            .keys
            .iter()
            .any(|k| current.data.get(&k.key) != k.original.as_ref());
        let whole_changed = self.whole.as_ref().is_some_and(|w| *w != current.data);
        let identity_changed = self
            .identity
            .as_ref()
            .is_some_and(|(user, meta)| current.user_id != *user || current.metadata != *meta);
        key_changed || whole_changed || identity_changed
    }

    /// `current` with this request's writes (taken from `ours`) applied on top: per key, this
    /// request's value wins; keys it did not write keep the other writer's values. Bookkeeping
    /// takes the later of the two.
    pub(crate) fn apply(&self, ours: &SessionRecord, current: &SessionRecord) -> SessionRecord {
        let mut merged = current.clone();
        if self.whole_written {
            merged.data = ours.data.clone();
        } else {
            for k in self.keys.iter().filter(|k| k.written) {
                match ours.data.get(&k.key) {
                    Some(v) => merged.data.insert(k.key.clone(), v.clone()),
                    None => merged.data.remove(&k.key),
                };
            }
        }
        if self.identity.is_some() {
            merged.user_id = ours.user_id.clone();
            merged.metadata = ours.metadata.clone();
            // A new lifetime ("remember me") sets the expiry, shorter or not.
            merged.expires_at = ours.expires_at;
        } else {
            merged.expires_at = merged.expires_at.max(ours.expires_at);
        }
        merged.last_seen_at = merged.last_seen_at.max(ours.last_seen_at);
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use crate::time::UnixTime;
    use serde_json::json;

    fn loaded() -> SessionRecord {
        let mut r = SessionRecord::new(
            SessionId::generate().key(),
            UnixTime::from_secs(100),
            UnixTime::from_secs(1_000),
        );
        r.data.insert("a".into(), json!(1));
        r.data.insert("b".into(), json!(2));
        r
    }

    #[test]
    fn disjoint_writes_merge_and_keep_both() {
        let base = loaded();
        let mut access = Access::default();
        access.touch("a", &base.data, true);
        let mut ours = base.clone();
        ours.data.insert("a".into(), json!(10));
        let mut theirs = base.clone();
        theirs.data.insert("b".into(), json!(20));
        theirs.version = 2;
        assert!(!access.overlaps(&theirs));
        let merged = access.apply(&ours, &theirs);
        assert_eq!(merged.data["a"], json!(10));
        assert_eq!(merged.data["b"], json!(20));
        assert_eq!(
            merged.version, 2,
            "the merge starts from the other writer's version"
        );
    }

    #[test]
    fn a_key_read_here_and_written_there_overlaps() {
        let base = loaded();
        let mut access = Access::default();
        access.touch("b", &base.data, false);
        let mut theirs = base.clone();
        theirs.data.insert("b".into(), json!(3));
        assert!(access.overlaps(&theirs));
    }

    #[test]
    fn a_removal_is_re_applied() {
        let base = loaded();
        let mut access = Access::default();
        access.touch("a", &base.data, true);
        let mut ours = base.clone();
        ours.data.remove("a");
        let mut theirs = base.clone();
        theirs.data.insert("c".into(), json!(3));
        let merged = access.apply(&ours, &theirs);
        assert!(!merged.data.contains_key("a"));
        assert_eq!(merged.data["c"], json!(3));
    }

    #[test]
    fn reading_the_whole_data_overlaps_with_any_change() {
        let base = loaded();
        let mut access = Access::default();
        access.touch("a", &base.data, true);
        let mut ours = base.data.clone();
        ours.insert("a".into(), json!(10));
        access.touch_all(&ours, false);
        let mut theirs = base.clone();
        assert!(
            !access.overlaps(&theirs),
            "our own write is not their change"
        );
        theirs.data.insert("z".into(), json!(0));
        assert!(access.overlaps(&theirs));
    }

    #[test]
    fn bookkeeping_takes_the_later_times() {
        let base = loaded();
        let access = Access::default();
        let mut ours = base.clone();
        ours.expires_at = UnixTime::from_secs(2_000);
        ours.last_seen_at = UnixTime::from_secs(150);
        let mut theirs = base.clone();
        theirs.last_seen_at = UnixTime::from_secs(160);
        let merged = access.apply(&ours, &theirs);
        assert_eq!(merged.expires_at, UnixTime::from_secs(2_000));
        assert_eq!(merged.last_seen_at, UnixTime::from_secs(160));
    }
}
