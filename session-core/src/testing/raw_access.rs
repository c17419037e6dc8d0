//! [`RawAccess`]: the hook through which the conformance suite looks at, and damages, what a
//! store's engine holds behind the store's back.

use std::fmt;

use async_trait::async_trait;

use crate::id::SessionKey;
use crate::store::BoxError;

/// Raw access to the engine under a store, given by the store's tests so the conformance suite
/// can check what is at rest.
///
/// Two contracts need it, and `store_conformance!(factory, raw_access)` runs them (see
/// [`store_conformance!`](crate::store_conformance)):
/// [`no_session_id_at_rest`](crate::testing::conformance::no_session_id_at_rest) scans
/// [`stored_bytes`](RawAccess::stored_bytes) for the session ids it used, and
/// [`a_corrupt_record_is_a_typed_error`](crate::testing::conformance::a_corrupt_record_is_a_typed_error)
/// damages records with [`overwrite_record`](RawAccess::overwrite_record). A store that keeps
/// typed values in memory ([`MemoryStore`](crate::MemoryStore)) holds no bytes and gives no hook.
///
/// The hook talks to the engine directly (a second connection, a clone of the database handle),
/// never through the store, and only sees the data of the store under test (its key prefix, its
/// trees, its file).
///
/// # Examples
///
/// A hook over a key-value engine where `s:<key hex>` holds a record's bytes and `u:<user>` a
/// user's index; the factory hands it to the suite with
/// `Fixture::new(store).raw_access(EngineAccess(engine))`. The custom store that opens the docs
/// of the store module (`session-core/src/store.rs`) shows the whole wiring.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::{Arc, Mutex};
///
/// use session_core::testing::RawAccess;
/// use session_core::store::{BoxError, SessionKey};
///
/// /// The engine, shared by the store and the hook.
/// type Engine = Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>;
///
/// #[derive(Debug)]
/// struct EngineAccess(Engine);
///
/// #[async_trait::async_trait]
/// impl RawAccess for EngineAccess {
///     async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
///         let engine = self.0.lock().map_err(|_| "engine lock poisoned")?;
///         Ok(engine
///             .iter()
///             .flat_map(|(key, value)| [key.clone(), value.clone()])
///             .collect())
///     }
///
///     async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
///         let mut engine = self.0.lock().map_err(|_| "engine lock poisoned")?;
///         let stored = engine
///             .get_mut(format!("s:{}", key.to_hex()).as_bytes())
///             .ok_or("no record under this key")?;
///         *stored = bytes.to_vec();
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait RawAccess: Send + Sync + fmt::Debug + 'static {
    /// Every byte string the engine holds for the store under test: keys and values of every
    /// record and index entry (hash fields, columns, tree entries), and the engine's files if it
    /// has any. Order and grouping do not matter; the suite searches each string.
    ///
    /// The suite also checks that what it gets back names the records it stored (their keys, in
    /// raw or hex form), so a hook that sees nothing fails instead of passing.
    ///
    /// # Errors
    ///
    /// Whatever the engine reports; the test fails with it.
    async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError>;

    /// Replaces the serialised record stored under `key` with `bytes`, exactly as given, where
    /// the store keeps the output of [`SessionRecord::to_bytes`](crate::store::SessionRecord::to_bytes);
    /// everything else (user and expiry indexes, version columns, TTLs) stays as it is, as if
    /// the disk or another program had damaged that one value.
    ///
    /// # Errors
    ///
    /// Whatever the engine reports, and an error when no record is stored under `key` (the hook
    /// would be writing somewhere the store does not read).
    async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError>;
}
