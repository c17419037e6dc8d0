//! The stores part's PostgreSQL row: `PostgresStore` on the database `POSTGRES_URL` names
//! (`cargo xtask bench` finds or starts one), in a schema of its own, against raw prepared
//! statements on one `tokio-postgres` connection to the same server (`SELECT record ... WHERE
//! key = $1`, `UPDATE ... SET version, record WHERE key = $1`), and the target that the store
//! stays within 1.5x of them.

use std::time::Instant;

use session_adapters::{PostgresStore, PostgresStoreConfig};
use session_core::UnixTime;
use tokio_postgres::{Client, NoTls};

use super::{create, loads, saves, Counts, Measured};
use crate::codec::typical_record;
use crate::timing::Samples;
use crate::{context, fail, BoxError, Target};

/// The server's URL, from `POSTGRES_URL`.
pub(super) fn url() -> Result<String, BoxError> {
    std::env::var("POSTGRES_URL").map_err(|_| {
        fail(
            "POSTGRES_URL is not set: run the stores part through `cargo xtask bench`, which \
             finds or starts PostgreSQL",
        )
    })
}

/// Measures the store and its floor in the schema `schema`, dropped afterwards.
pub(super) async fn part(
    url: &str,
    schema: &str,
    c: Counts,
    reps: usize,
) -> Result<Measured, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(context("connect to PostgreSQL at POSTGRES_URL"))?;
    let driver = tokio::spawn(connection);
    let measured = measure(url, schema, &client, c, reps).await;
    let dropped = client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await;
    drop(client);
    let _ = driver.await;
    let measured = measured?;
    dropped.map_err(context("dropping the bench's schema"))?;
    Ok(measured)
}

async fn measure(
    url: &str,
    schema: &str,
    client: &Client,
    c: Counts,
    reps: usize,
) -> Result<Measured, BoxError> {
    let store = PostgresStore::connect(PostgresStoreConfig::new(url).schema(schema))
        .await
        .map_err(context("connect PostgresStore"))?;
    client
        .batch_execute(&format!(
            "CREATE TABLE {schema}.floor (key bytea PRIMARY KEY, version bigint NOT NULL, \
             record bytea NOT NULL)"
        ))
        .await?;
    let mut m = Measured::new(
        "PostgresStore (pool of 16)",
        Some(("prepared SELECT", "prepared UPDATE")),
    );
    let mut record = typical_record(UnixTime::now());
    create(&store, &record).await?;
    let key = record.key.as_bytes().to_vec();
    let value = record.to_bytes();
    client
        .execute(
            &format!("INSERT INTO {schema}.floor (key, version, record) VALUES ($1, 1, $2)"),
            &[&key, &value],
        )
        .await?;
    let select = client
        .prepare(&format!("SELECT record FROM {schema}.floor WHERE key = $1"))
        .await?;
    let update = client
        .prepare(&format!(
            "UPDATE {schema}.floor SET version = $2, record = $3 WHERE key = $1"
        ))
        .await?;
    let mut version = 1i64;
    for _ in 0..reps {
        m.load.add(&loads(&store, &record.key, c.loads).await?);
        let mut s = Samples::with_capacity(c.loads);
        for _ in 0..c.loads {
            let start = Instant::now();
            let row = client.query_opt(&select, &[&key]).await?;
            s.push(start.elapsed());
            if row.is_none() {
                return Err(fail("PostgreSQL floor: row missing"));
            }
        }
        m.floor_load.add(&s);
        m.save.add(&saves(&store, &mut record, c.saves).await?);
        let mut s = Samples::with_capacity(c.saves);
        for _ in 0..c.saves {
            version += 1;
            let start = Instant::now();
            let updated = client.execute(&update, &[&key, &version, &value]).await?;
            s.push(start.elapsed());
            if updated != 1 {
                return Err(fail("PostgreSQL floor: row missing"));
            }
        }
        m.floor_save.add(&s);
    }
    Ok(m)
}

/// The store against its raw prepared statements: at most 1.5x.
pub(super) fn target(m: &Measured) -> Target {
    let (load, floor_load) = (m.load.median(), m.floor_load.median());
    let (save, floor_save) = (m.save.median(), m.floor_save.median());
    let load_x = load.ratio_of_medians(&floor_load);
    let save_x = save.ratio_of_medians(&floor_save);
    Target {
        name: "PostgresStore load and save <= 1.5x raw prepared statements".into(),
        met: load_x <= 1.5 && save_x <= 1.5,
        figure: format!(
            "load {load_x:.2}x ({:.1} us against {:.1} us), save {save_x:.2}x ({:.1} us against \
             {:.1} us), medians.",
            load.median, floor_load.median, save.median, floor_save.median
        ),
        detail: vec![
            "The store's save is one statement (a CTE that locks the row and updates it only at \
             the expected version) against the floor's unconditional UPDATE; both commit one \
             row per call (autocommit, the server's default synchronous_commit). A load also \
             decodes the record, which the floor does not."
                .into(),
        ],
    }
}
