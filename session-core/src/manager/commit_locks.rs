//! [`CommitLocks`]: the commits of one session in one process take turns.
//!
//! Without them, N requests committing one hot session at once race on the store's version
//! check: each round one save wins and the others reload, merge and try again, while new requests
//! keep joining. A request can lose that race many times in a row. Taking turns (a fair,
//! first-come first-served lock per session) bounds each commit to at most one lost race against
//! this process: the writers of other processes are still handled by the store's version check
//! and the merge.

use tokio::sync::{Mutex, MutexGuard};

use crate::id::SessionKey;
use crate::record::SessionRecord;

/// What a stripe remembers of a hot session: the record this process saved last, kept only by a
/// commit that met contention (a cold session copies nothing). A commit that loaded an older
/// version of that session merges onto it and saves at once: one round trip under the turn
/// instead of a failing save, a reload and a save. The store's version check stays the judge: if
/// another process wrote meanwhile, the save fails and the commit reloads as usual.
pub(super) type LastSaved = Option<SessionRecord>;

/// How many locks sessions are spread over. Two sessions that share one only take turns
/// needlessly; with 64 that is rare, and a commit holds its lock for one store round trip.
const STRIPES: usize = 64;

/// One fair lock per stripe of session keys.
pub(super) struct CommitLocks([Mutex<LastSaved>; STRIPES]);

impl CommitLocks {
    pub(super) fn new() -> Self {
        CommitLocks(std::array::from_fn(|_| Mutex::new(None)))
    }

    /// Waits for this session's turn to commit; the turn ends when the guard drops. The guard
    /// holds the stripe's [`LastSaved`], for the commit to read and update.
    pub(super) async fn turn(&self, key: &SessionKey) -> MutexGuard<'_, LastSaved> {
        // Keys are SHA-256 outputs, so any byte spreads them evenly.
        let stripe = usize::from(key.as_bytes()[0]) % STRIPES;
        self.0[stripe].lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_session_takes_turns_and_others_do_not_wait() {
        let locks = CommitLocks::new();
        let a = SessionKey::from_bytes([1; 32]);
        let b = SessionKey::from_bytes([2; 32]);
        let turn = locks.turn(&a).await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), locks.turn(&a))
                .await
                .is_err(),
            "a second commit of the session waits"
        );
        drop(locks.turn(&b).await); // another stripe: no wait
        drop(turn);
        drop(locks.turn(&a).await);
    }
}
