//! The on-disk key layout of the user and expiry index trees (a stability boundary, like the
//! record format; the table is in the crate docs' *Layout* section).
//!
//! The user id is length-prefixed, so the entries of user `"a"` never share a prefix with those
//! of user `"ab"` (a plain separator byte could appear inside a user id). Big-endian numbers sort
//! like the numbers themselves, so the expiry tree is ordered by expiry and a purge reads only the
//! expired front of it.

use session_core::{store::SessionKey, UnixTime, UserId};

const KEY_LEN: usize = 32;
const TIME_LEN: usize = 8;
const USER_LEN_PREFIX: usize = 8;

/// The length of every expiry index entry.
pub(crate) const EXPIRY_ENTRY_LEN: usize = TIME_LEN + KEY_LEN;

/// The prefix shared by every user index entry of `user`.
pub(crate) fn user_prefix(user: &UserId) -> Vec<u8> {
    let name = user.as_str().as_bytes();
    let mut prefix = Vec::with_capacity(USER_LEN_PREFIX + name.len() + KEY_LEN);
    prefix.extend_from_slice(&(name.len() as u64).to_be_bytes());
    prefix.extend_from_slice(name);
    prefix
}

/// The user index entry saying that `key` belongs to `user`.
pub(crate) fn user_entry(user: &UserId, key: &SessionKey) -> Vec<u8> {
    let mut entry = user_prefix(user);
    entry.extend_from_slice(key.as_bytes());
    entry
}

/// The session key at the end of a user index entry, if the entry is long enough to hold one
/// after `prefix_len` bytes of user prefix.
pub(crate) fn key_of_user_entry(entry: &[u8], prefix_len: usize) -> Option<SessionKey> {
    if entry.len() != prefix_len + KEY_LEN {
        return None;
    }
    session_key(&entry[prefix_len..])
}

/// The expiry index entry of `key` expiring at `at`.
pub(crate) fn expiry_entry(at: UnixTime, key: &SessionKey) -> [u8; EXPIRY_ENTRY_LEN] {
    let mut entry = [0u8; EXPIRY_ENTRY_LEN];
    entry[..TIME_LEN].copy_from_slice(&at.as_secs().to_be_bytes());
    entry[TIME_LEN..].copy_from_slice(key.as_bytes());
    entry
}

/// The expiry time and session key of an expiry index entry.
pub(crate) fn parse_expiry_entry(entry: &[u8]) -> Option<(UnixTime, SessionKey)> {
    if entry.len() != EXPIRY_ENTRY_LEN {
        return None;
    }
    let secs = u64::from_be_bytes(entry[..TIME_LEN].try_into().ok()?);
    Some((UnixTime::from_secs(secs), session_key(&entry[TIME_LEN..])?))
}

/// A session key from exactly 32 bytes.
pub(crate) fn session_key(bytes: &[u8]) -> Option<SessionKey> {
    let bytes: [u8; KEY_LEN] = bytes.try_into().ok()?;
    Some(SessionKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_id_that_prefixes_another_shares_no_prefix() {
        let key = SessionKey::from_bytes([7; 32]);
        let long = user_entry(&UserId::new("ab"), &key);
        assert!(!long.starts_with(&user_prefix(&UserId::new("a"))));
        let nul = user_entry(&UserId::new("a\0"), &key);
        assert!(!nul.starts_with(&user_prefix(&UserId::new("a"))));
    }

    #[test]
    fn user_entries_round_trip_the_key() {
        let user = UserId::new("alice");
        let key = SessionKey::from_bytes([9; 32]);
        let prefix_len = user_prefix(&user).len();
        let entry = user_entry(&user, &key);
        assert_eq!(key_of_user_entry(&entry, prefix_len), Some(key));
        assert_eq!(key_of_user_entry(&entry[1..], prefix_len), None);
    }

    #[test]
    fn expiry_entries_sort_by_time_and_round_trip() {
        let key = SessionKey::from_bytes([1; 32]);
        let early = expiry_entry(UnixTime::from_secs(255), &key);
        let late = expiry_entry(UnixTime::from_secs(256), &key);
        assert!(early < late);
        assert_eq!(
            parse_expiry_entry(&late),
            Some((UnixTime::from_secs(256), key))
        );
        assert_eq!(parse_expiry_entry(&late[1..]), None);
    }
}
