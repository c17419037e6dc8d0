//! Helpers shared by the integration tests: the server's URL, a random schema per test (dropped
//! afterwards), raw connections (also the conformance suite's [`RawAccess`] hook), sample
//! records.
#![allow(dead_code)] // each test module uses a different subset

use async_trait::async_trait;
use session_core::store::{BoxError, SessionId, SessionKey, SessionRecord, StoreError};
use session_core::testing::RawAccess;
use session_store_postgres::{PostgresStore, PostgresStoreConfig};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

/// The machine's PostgreSQL: `POSTGRES_URL`, or the local server's `test` database.
pub(crate) fn pg_url() -> String {
    std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema name: `t_` and 16 random hex digits.
pub(crate) fn random_schema() -> String {
    format!("t_{}", &SessionId::generate().key().to_hex()[..16])
}

/// A schema of one test; dropped (best effort) when the guard goes.
#[derive(Debug)]
pub(crate) struct TestSchema {
    pub(crate) url: String,
    pub(crate) name: String,
}

impl TestSchema {
    pub(crate) fn new() -> Self {
        Self::on(pg_url())
    }

    pub(crate) fn on(url: String) -> Self {
        TestSchema {
            url,
            name: random_schema(),
        }
    }

    /// A config for this schema, background purge off (tests purge themselves).
    pub(crate) fn config(&self) -> PostgresStoreConfig {
        PostgresStoreConfig::new(&self.url)
            .schema(&self.name)
            .background_purge(None)
    }

    pub(crate) async fn store(&self) -> PostgresStore {
        PostgresStore::connect(self.config())
            .await
            .expect("connect the store")
    }

    /// `"schema".table`.
    pub(crate) fn table(&self, table: &str) -> String {
        format!("\"{}\".{table}", self.name)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A thread of its own: drop may run inside a runtime. Waited for at most 10 s, so a
        // test on a current-thread runtime (whose connections cannot make progress while this
        // blocks) never hangs here.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let _done = done;
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(client) = try_raw(&url).await {
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                        .await;
                }
            });
        });
        let _ = finished.recv_timeout(std::time::Duration::from_secs(10));
    }
}

async fn try_raw(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A connection that bypasses the store.
pub(crate) async fn raw(url: &str) -> Client {
    try_raw(url).await.expect("raw connection")
}

/// A record like the conformance suite's (random key, data, metadata, an hour to live).
pub(crate) fn record() -> SessionRecord {
    session_core::testing::conformance::record(now())
}

/// These tests' "now": the real time when the first test asked, fixed for the run.
pub(crate) fn now() -> session_core::UnixTime {
    static T0: std::sync::OnceLock<session_core::UnixTime> = std::sync::OnceLock::new();
    *T0.get_or_init(session_core::UnixTime::now)
}

/// The whole error chain as text (Display and Debug of every level), to check that nothing
/// secret is in it.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = format!("{err} / {err:?}");
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(&format!(" / {e} / {e:?}"));
        source = e.source();
    }
    text
}

/// The kind of a store error, for assertions and reports.
pub(crate) fn kind(err: &StoreError) -> &'static str {
    match err {
        StoreError::Collision => "Collision",
        StoreError::Conflict => "Conflict",
        StoreError::NotFound => "NotFound",
        StoreError::Unavailable { .. } => "Unavailable",
        StoreError::Timeout { .. } => "Timeout",
        StoreError::ReadOnly { .. } => "ReadOnly",
        StoreError::Full { .. } => "Full",
        StoreError::Corrupt { .. } => "Corrupt",
        StoreError::EngineCorrupt { .. } => "EngineCorrupt",
        StoreError::Backend { .. } => "Backend",
        _ => "other",
    }
}

/// Every value of every table of a schema, read through a connection of its own: bytea as
/// bytes, text as its UTF-8, integers and booleans as text.
pub(crate) async fn schema_values(url: &str, schema: &str) -> Result<Vec<Vec<u8>>, BoxError> {
    let client = try_raw(url).await?;
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
            &[&schema],
        )
        .await?;
    let mut all = Vec::new();
    for table in tables {
        let table: String = table.try_get(0)?;
        let rows = client
            .query(&format!("SELECT * FROM \"{schema}\".\"{table}\""), &[])
            .await?;
        for row in rows {
            for (i, column) in row.columns().iter().enumerate() {
                let value: Option<Vec<u8>> = match *column.type_() {
                    Type::BYTEA => row.try_get(i)?,
                    Type::TEXT | Type::VARCHAR | Type::NAME => {
                        row.try_get::<_, Option<String>>(i)?.map(String::into_bytes)
                    }
                    Type::INT8 => row
                        .try_get::<_, Option<i64>>(i)?
                        .map(|n| n.to_string().into_bytes()),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(i)?
                        .map(|n| n.to_string().into_bytes()),
                    Type::BOOL => row
                        .try_get::<_, Option<bool>>(i)?
                        .map(|b| b.to_string().into_bytes()),
                    ref other => return Err(format!("unexpected column type {other}").into()),
                };
                all.push(value.unwrap_or_default());
            }
        }
    }
    Ok(all)
}

/// The conformance suite's raw access to a store's schema.
#[derive(Debug)]
pub(crate) struct PgRaw {
    pub(crate) url: String,
    pub(crate) schema: String,
}

#[async_trait]
impl RawAccess for PgRaw {
    async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
        schema_values(&self.url, &self.schema).await
    }

    async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
        let client = try_raw(&self.url).await?;
        let changed = client
            .execute(
                &format!(
                    "UPDATE \"{}\".sessions SET record = $1 WHERE key = $2",
                    self.schema
                ),
                &[&bytes, &&key.as_bytes()[..]],
            )
            .await?;
        if changed != 1 {
            return Err("no record under this key".into());
        }
        Ok(())
    }
}
