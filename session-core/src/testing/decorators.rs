//! Store decorators for tests: [`SpyStore`] counts calls, [`FaultyStore`] fails chosen calls.
//!
//! Both carry `#[deny(clippy::missing_trait_methods)]`, so a method added to `SessionStore` later
//! cannot silently bypass the inner store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::id::{SessionKey, UserId};
use crate::record::SessionRecord;
use crate::store::{SessionStore, StoreCaps, StoreError};
use crate::time::UnixTime;

/// One `SessionStore` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// `load`
    Load,
    /// `create`
    Create,
    /// `save`
    Save,
    /// `renew`
    Renew,
    /// `delete`
    Delete,
    /// `delete_for_user`
    DeleteForUser,
    /// `list_for_user`
    ListForUser,
    /// `purge_expired`
    PurgeExpired,
}

/// Call counts of a [`SpyStore`].
#[derive(Debug, Default)]
pub struct SpyCounts([AtomicU64; 8]);

impl SpyCounts {
    /// How many times `op` was called.
    pub fn get(&self, op: StoreOp) -> u64 {
        self.0[op as usize].load(Ordering::SeqCst)
    }

    /// Calls that write: create, save, renew, delete, delete_for_user, purge_expired.
    pub fn writes(&self) -> u64 {
        [
            StoreOp::Create,
            StoreOp::Save,
            StoreOp::Renew,
            StoreOp::Delete,
            StoreOp::DeleteForUser,
            StoreOp::PurgeExpired,
        ]
        .into_iter()
        .map(|op| self.get(op))
        .sum()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for c in &self.0 {
            c.store(0, Ordering::SeqCst);
        }
    }

    fn hit(&self, op: StoreOp) {
        self.0[op as usize].fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts every call to the store it wraps (C5's "zero writes", "decoded once per request").
///
/// ```
/// use session_core::{MemoryStore, testing::{SpyStore, StoreOp}};
/// let spy = SpyStore::new(MemoryStore::new());
/// let counts = spy.counts();
/// assert_eq!(counts.get(StoreOp::Load), 0);
/// ```
#[derive(Debug)]
pub struct SpyStore<S> {
    inner: S,
    counts: Arc<SpyCounts>,
}

impl<S: SessionStore> SpyStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        SpyStore {
            inner,
            counts: Arc::default(),
        }
    }

    /// A handle to the counts that stays valid after the store moves into a manager.
    pub fn counts(&self) -> Arc<SpyCounts> {
        self.counts.clone()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<S: SessionStore> SessionStore for SpyStore<S> {
    fn caps(&self) -> StoreCaps {
        self.inner.caps()
    }
    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.counts.hit(StoreOp::Load);
        self.inner.load(key, now).await
    }
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.counts.hit(StoreOp::Create);
        self.inner.create(record).await
    }
    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        self.counts.hit(StoreOp::Save);
        self.inner.save(record, expected_version).await
    }
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.counts.hit(StoreOp::Renew);
        self.inner.renew(old, expected_version, record).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.counts.hit(StoreOp::Delete);
        self.inner.delete(key).await
    }
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        self.counts.hit(StoreOp::DeleteForUser);
        self.inner.delete_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.counts.hit(StoreOp::ListForUser);
        self.inner.list_for_user(user, now).await
    }
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.counts.hit(StoreOp::PurgeExpired);
        self.inner.purge_expired(now).await
    }
}

/// Fails the chosen operations with `StoreError::Unavailable` (C14, S-06's "delete(old) fails").
///
/// ```
/// use session_core::{MemoryStore, testing::{FaultyStore, StoreOp}};
/// let faulty = FaultyStore::new(MemoryStore::new());
/// let switch = faulty.switch();
/// switch.fail(StoreOp::Delete);   // from now on delete fails
/// switch.heal();                  // and now nothing fails
/// ```
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    switch: FaultSwitch,
}

/// The error a [`FaultyStore`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `StoreError::Unavailable`: the engine is gone.
    Unavailable,
    /// `StoreError::Conflict`: another request saved first.
    Conflict,
    /// `StoreError::Corrupt`: the bytes stored under the key are not a record (of this build).
    Corrupt,
}

/// Chooses which operations a [`FaultyStore`] fails; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch(Arc<Mutex<HashMap<StoreOp, FaultKind>>>);

impl FaultSwitch {
    /// Makes `op` fail with `Unavailable` from now on.
    pub fn fail(&self, op: StoreOp) {
        self.fail_with(op, FaultKind::Unavailable);
    }

    /// Makes `op` fail with `kind` from now on.
    pub fn fail_with(&self, op: StoreOp, kind: FaultKind) {
        self.ops().insert(op, kind);
    }

    /// Makes every operation fail (the engine is gone).
    pub fn fail_all(&self) {
        let mut ops = self.ops();
        for op in [
            StoreOp::Load,
            StoreOp::Create,
            StoreOp::Save,
            StoreOp::Renew,
            StoreOp::Delete,
            StoreOp::DeleteForUser,
            StoreOp::ListForUser,
            StoreOp::PurgeExpired,
        ] {
            ops.insert(op, FaultKind::Unavailable);
        }
    }

    /// Stops failing anything (the engine is back).
    pub fn heal(&self) {
        self.ops().clear();
    }

    fn ops(&self) -> std::sync::MutexGuard<'_, HashMap<StoreOp, FaultKind>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self, op: StoreOp) -> Result<(), StoreError> {
        match self.ops().get(&op) {
            None => Ok(()),
            Some(FaultKind::Unavailable) => Err(StoreError::unavailable(InjectedFault(op))),
            Some(FaultKind::Conflict) => Err(StoreError::Conflict),
            Some(FaultKind::Corrupt) => Err(StoreError::corrupt(InjectedFault(op))),
        }
    }
}

/// The source of errors a [`FaultyStore`] injects.
#[derive(Debug, thiserror::Error)]
#[error("injected fault in {0:?}")]
pub struct InjectedFault(pub StoreOp);

impl<S: SessionStore> FaultyStore<S> {
    /// Wraps `inner`; nothing fails until the switch says so.
    pub fn new(inner: S) -> Self {
        FaultyStore {
            inner,
            switch: FaultSwitch::default(),
        }
    }

    /// The switch that chooses the failing operations.
    pub fn switch(&self) -> FaultSwitch {
        self.switch.clone()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<S: SessionStore> SessionStore for FaultyStore<S> {
    fn caps(&self) -> StoreCaps {
        self.inner.caps()
    }
    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.switch.check(StoreOp::Load)?;
        self.inner.load(key, now).await
    }
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.switch.check(StoreOp::Create)?;
        self.inner.create(record).await
    }
    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        self.switch.check(StoreOp::Save)?;
        self.inner.save(record, expected_version).await
    }
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.switch.check(StoreOp::Renew)?;
        self.inner.renew(old, expected_version, record).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.switch.check(StoreOp::Delete)?;
        self.inner.delete(key).await
    }
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        self.switch.check(StoreOp::DeleteForUser)?;
        self.inner.delete_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.switch.check(StoreOp::ListForUser)?;
        self.inner.list_for_user(user, now).await
    }
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.switch.check(StoreOp::PurgeExpired)?;
        self.inner.purge_expired(now).await
    }
}
