//! # Deployment: several app nodes, key rotation, and picking a store
//!
//! ## Several app nodes
//!
//! An application outgrows one process when it runs several copies behind a load balancer,
//! restarts one at a time, or moves to more machines. Its nodes are one application when they
//! share two things:
//!
//! - **The secret** (`SESSION_SECRET`, or whatever the manager is built from): a cookie signed
//!   or encrypted on one node must verify on every other. Rotate it as below, never node by node
//!   without the two-phase steps.
//! - **The store** (stateful mode), or the revocation store (stateless mode, if "log out
//!   everywhere" and logout replay protection are wanted). A stateless session without one needs
//!   nothing shared but the secret.
//!
//! No sticky sessions are needed: any node loads any session. What holds across nodes, and is
//! tested with two processes of the demo app on one store (`session-demo/tests/multi_node.rs`:
//! SQLite, Redis, Redis Cluster, PostgreSQL):
//!
//! - a session made on node A is used on node B, and a write on B is seen by A's next load;
//! - "log out everywhere" on A ends the user's sessions everywhere (the store deletes them; in
//!   stateless mode, the "not before" marker in the shared revocation store refuses older tokens
//!   on every node);
//! - concurrent writers on A and B follow the [conflict model](super::concurrency): every save
//!   is a compare-and-set on the record's version in the store, so a write is never lost
//!   silently. Non-overlapping writes are merged; an overlapping one is refused with 409 under
//!   `ConflictPolicy::Reject` (the demo's concurrent counter test: every acknowledged increment
//!   is counted, no other). Within one process the commits of one session also take turns; across
//!   processes only the store's version check orders them, so a hot session written by many
//!   nodes at once sees more 409s than one written by one node.
//!
//! Which stores several processes can share:
//!
//! | store | several processes | several machines | notes |
//! |---|---|---|---|
//! | `MemoryStore` | no | no | one process's memory: every restart logs everyone out |
//! | `SledStore` | no | no | sled locks its directory for one process |
//! | `SqliteStore` | yes, on one file | no | WAL mode, one writer at a time (`BEGIN IMMEDIATE`); a network file system is not safe for SQLite |
//! | `RedisStore` | yes | yes | one server or a replicated primary; Lua scripts keep every write atomic |
//! | `RedisStore` on a Redis Cluster | yes | yes | feature `cluster`; one-key scripts in an order that keeps the user index right (see `session-store-redis`) |
//! | `PostgresStore` | yes | yes | migrations are safe to run from every node at once (an advisory lock) |
//!
//! ## Failures on shared stores
//!
//! A store that is down, restarting, failing over or read-only answers transient errors, which
//! the adapters turn into 503 without touching the cookie, so nobody is logged out by an
//! outage, and every store reconnects by itself: no node needs a restart afterwards. Measured in
//! the fault tests: a PostgreSQL restart under load (only `Unavailable` while it was down, every
//! acknowledged write there afterwards); a Redis Cluster primary killed (only `Unavailable`
//! until its replica was promoted, about 2.4 s with a 1 s node timeout); a slot with no primary
//! at all (`Unavailable` until its node came back). Redis replication is asynchronous: a write
//! acknowledged just before its primary dies can be lost in a failover, so a user may find an
//! older session, or none. PostgreSQL with synchronous replication does not have that window.
//!
//! ## Rotating the secret across nodes
//!
//! A node that has not yet learnt the new secret refuses cookies signed with it, so a rolling
//! deploy rotates in two phases:
//!
//! 1. **Verify both, sign with the old.** Deploy every node with the new secret as an extra
//!    verifier: stateful, `SignedIdCodec::new(&old).with_previous(&new)` through
//!    [`SessionManagerBuilder::signed_ids`](crate::adapter::SessionManagerBuilder::signed_ids);
//!    stateless, a [`JwtCodec`](crate::JwtCodec) builder whose first key is the old one and whose
//!    next is the new one (likewise the [`JweCodec`](crate::JweCodec) builder).
//! 2. **Sign with the new, verify both.** Once every node runs phase 1, deploy
//!    `SignedIdCodec::new(&new).with_previous(&old)` (the new key first in the JWT/JWE ring).
//!    A cookie signed with the old key still works, and is re-issued under the new key at its
//!    next commit.
//! 3. **Drop the old key** after the longest session lifetime (absolute lifetime, or
//!    "remember me"), when no cookie signed with it can still be valid.
//!
//! Form tokens ([`Session::csrf_token`](crate::Session::csrf_token)) are derived from the same
//! keys (the stateful secrets, or the stateless ring's keys) and rotate with them: a form
//! rendered before phase 2 and submitted after it is accepted while the old key is in the ring,
//! and new forms get tokens under the new key. Provider tokens sealed at rest
//! (`session-auth`'s vault) have their own `kid` ring and rotate the same way.
//!
//! ## Picking a store
//!
//! - **One process, no server to run:** `SqliteStore` (the demo's default). Sessions survive
//!   restarts; several processes on one machine can share the file.
//! - **Many nodes, already running Redis:** `RedisStore`. Records expire by Redis' own TTL; a
//!   load is one `HGET`. Use `noeviction`, and persistence (AOF) if a Redis restart must not log
//!   everyone out. On a Redis Cluster when one server's memory or throughput is not enough.
//! - **Many nodes, already running PostgreSQL:** `PostgresStore`. Durable, transactional, and
//!   inspectable with SQL; each load is one indexed `SELECT`, each save one statement, and a
//!   background purge removes expired rows in batches.
//! - **No store at all:** stateless sessions ([`JwtCodec`](crate::JwtCodec) signed,
//!   [`JweCodec`](crate::JweCodec) encrypted). The cookie carries the record (keep it small:
//!   4096 bytes at most); a revocation store adds "log out everywhere" and logout replay
//!   protection at one store read per request.
//! - **Tests and prototypes:** `MemoryStore`.
