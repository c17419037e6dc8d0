//! The table layouts and their migrations.
//!
//! Each [`Schema`] is a list of migrations and the row of `schema_versions` that records how
//! many have run: `migrations[i]` takes it from version `i` to `i + 1`; version 0 is "not there
//! yet". Append new migrations, never edit old ones. `{schema}` in a migration is replaced by
//! the quoted schema name.
//!
//! Migrations run in one transaction that first takes `pg_advisory_xact_lock` on a key derived
//! from the schema name, so application nodes starting at once run them one after the other:
//! the second finds the version current and does nothing. A schema that is already current is
//! only read (no lock, no write), so a read-only standby can be connected to.

use tokio_postgres::error::Error as PgDriverError;

use crate::error::{pg_error, PostgresOpenError};

/// One versioned set of tables.
#[derive(Debug)]
pub(crate) struct Schema {
    /// The row in `schema_versions`, and the name in errors.
    pub(crate) table: &'static str,
    /// Each entry upgrades the tables by one version.
    migrations: &'static [&'static str],
}

/// The sessions table.
pub(crate) const SESSIONS: Schema = Schema {
    table: "sessions",
    migrations: &[
        // 0 -> 1: the sessions table. `key` is the SHA-256 of the session id (never the id);
        // `record` is `SessionRecord::to_bytes`; the other columns are copies for indexing.
        // No `IF NOT EXISTS`: an unrelated `sessions` table in the schema must fail the
        // connect instead of being used.
        "CREATE TABLE {schema}.sessions (
             key        bytea  NOT NULL PRIMARY KEY,
             user_id    text,
             created_at bigint NOT NULL,
             expires_at bigint NOT NULL,
             version    bigint NOT NULL,
             record     bytea  NOT NULL
         );
         CREATE INDEX sessions_by_user ON {schema}.sessions (user_id, created_at)
             WHERE user_id IS NOT NULL;
         CREATE INDEX sessions_by_expiry ON {schema}.sessions (expires_at);",
    ],
};

/// The provider-token table of [`PostgresTokenStore`](crate::PostgresTokenStore).
#[cfg(feature = "auth")]
pub(crate) const TOKENS: Schema = Schema {
    table: "oauth_tokens",
    migrations: &[
        // 0 -> 1: one row per (owner, provider). Sealed tokens only. `COLLATE "C"` on provider
        // so `list` sorts in byte order, as the other stores do. `owner` is the user id's UTF-8
        // bytes (`bytea`): PostgreSQL's `text` cannot hold U+0000.
        "CREATE TABLE {schema}.oauth_tokens (
             owner         bytea  NOT NULL,
             provider      text   COLLATE \"C\" NOT NULL,
             account       text   NOT NULL,
             access_token  text   NOT NULL,
             refresh_token text,
             expires_at    bigint,
             obtained_at   bigint NOT NULL,
             scope         text,
             state         text   NOT NULL,
             version       bigint NOT NULL,
             PRIMARY KEY (owner, provider)
         );",
    ],
};

/// The API-token table of [`PostgresApiTokenStore`](crate::PostgresApiTokenStore).
#[cfg(feature = "auth")]
pub(crate) const API_TOKENS: Schema = Schema {
    table: "api_tokens",
    migrations: &[
        // 0 -> 1: one row per token, found by `hash` (the keyed hash's hex, unique) or by `id`;
        // the owner index serves `list` and the limit's count. Never the token itself. `owner`
        // and `name` are the UTF-8 bytes (`bytea`): PostgreSQL's `text` cannot hold U+0000.
        "CREATE TABLE {schema}.api_tokens (
             id             text   COLLATE \"C\" NOT NULL PRIMARY KEY,
             owner          bytea  NOT NULL,
             name           bytea  NOT NULL,
             scopes         text   NOT NULL,
             display_prefix text   NOT NULL,
             hash           text   NOT NULL UNIQUE,
             created_at     bigint NOT NULL,
             last_used_at   bigint,
             expires_at     bigint,
             revoked_at     bigint
         );
         CREATE INDEX api_tokens_by_owner ON {schema}.api_tokens (owner, created_at, id);",
    ],
};

impl Schema {
    /// The version this build writes and reads.
    pub(crate) fn current_version(&self) -> i64 {
        self.migrations.len() as i64
    }
}

/// `"name"`: the schema name quoted for SQL (it was checked to be a plain identifier).
pub(crate) fn quoted(schema: &str) -> String {
    format!("\"{schema}\"")
}

/// The advisory-lock key of migrations in `schema`: FNV-1a of a fixed prefix and the name, so
/// every node computes the same key and unrelated locks are unlikely to collide.
pub(crate) fn lock_key(scope: &str, name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"session-store-postgres/"
        .iter()
        .chain(scope.as_bytes())
        .chain(b"/")
        .chain(name.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// The version recorded for `table` in `schema`, 0 when there is no `schema_versions` table or
/// no row.
async fn read_version(
    client: &tokio_postgres::Transaction<'_>,
    schema: &str,
    table: &str,
) -> Result<i64, PgDriverError> {
    let has_table = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
                            WHERE schemaname = $1 AND tablename = 'schema_versions')",
            &[&schema],
        )
        .await?
        .try_get::<_, bool>(0)?;
    if !has_table {
        return Ok(0);
    }
    let row = client
        .query_opt(
            &format!(
                "SELECT version FROM {}.schema_versions WHERE name = $1",
                quoted(schema)
            ),
            &[&table],
        )
        .await?;
    row.map(|r| r.try_get::<_, i64>(0))
        .transpose()
        .map(|v| v.unwrap_or(0))
}

/// Brings `schema`'s tables up to their current version (see the module docs). A newer version
/// is [`PostgresOpenError::NewerSchema`] and nothing is changed.
pub(crate) async fn migrate(
    client: &mut deadpool_postgres::Object,
    schema_name: &str,
    schema: &Schema,
    target: &str,
) -> Result<(), PostgresOpenError> {
    let fail = |context: &'static str| {
        move |e: PgDriverError| {
            PostgresOpenError::from_store(
                context,
                target,
                Default::default(),
                pg_error("migrate", &e),
            )
        }
    };
    let supported = schema.current_version();
    let check = |found: i64| {
        if found > supported || found < 0 {
            Err(PostgresOpenError::NewerSchema {
                table: schema.table,
                found,
                supported,
            })
        } else {
            Ok(found)
        }
    };
    // Read first: a current schema needs no lock and no write.
    let tx = client
        .transaction()
        .await
        .map_err(fail("cannot start the migration"))?;
    let found = read_version(&tx, schema_name, schema.table)
        .await
        .map_err(fail("cannot read the schema version"))?;
    let checked = check(found);
    if matches!(checked, Ok(found) if found == supported) {
        return tx
            .commit()
            .await
            .map_err(fail("cannot read the schema version"));
    }
    tx.rollback()
        .await
        .map_err(fail("cannot read the schema version"))?;
    checked?;

    let quoted_schema = quoted(schema_name);
    let tx = client
        .transaction()
        .await
        .map_err(fail("cannot start the migration"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key("migrate", schema_name)],
    )
    .await
    .map_err(fail("cannot take the migration lock"))?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted_schema};
         CREATE TABLE IF NOT EXISTS {quoted_schema}.schema_versions (
             name    text   NOT NULL PRIMARY KEY,
             version bigint NOT NULL
         );"
    ))
    .await
    .map_err(fail("cannot create the schema"))?;
    // Again under the lock: another node may have migrated meanwhile.
    let found = match check(
        read_version(&tx, schema_name, schema.table)
            .await
            .map_err(fail("cannot read the schema version"))?,
    ) {
        Ok(found) => found,
        Err(err) => {
            // Rolled back explicitly, so the schema created above is gone before the error
            // is returned.
            let _ = tx.rollback().await;
            return Err(err);
        }
    };
    for (from, sql) in schema.migrations.iter().enumerate().skip(found as usize) {
        tracing::info!(
            table = schema.table,
            schema = schema_name,
            from,
            to = from + 1,
            "migrating the PostgreSQL schema"
        );
        tx.batch_execute(&sql.replace("{schema}", &quoted_schema))
            .await
            .map_err(fail("cannot migrate the tables"))?;
    }
    tx.execute(
        &format!(
            "INSERT INTO {quoted_schema}.schema_versions (name, version) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version"
        ),
        &[&schema.table, &supported],
    )
    .await
    .map_err(fail("cannot record the schema version"))?;
    tx.commit()
        .await
        .map_err(fail("cannot commit the migration"))
}
