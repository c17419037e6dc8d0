//! # Concurrency
//!
//! Browsers send several requests with the same cookie at once (tabs, `fetch` calls, a page and
//! its assets). This page says what happens when they write the same stateful session.
//!
//! ## Versions, and what a request remembers
//!
//! Every stored record has a `version`. A request remembers the version it loaded and, for each
//! data key it read or wrote, the value that key had when it was loaded. Its commit is
//! `save(record, expected_version)`, which every store implements as one atomic compare-and-set
//! (a sled transaction, `UPDATE ... WHERE version = ?`, a Lua script).
//!
//! ## When another request saved first
//!
//! The store answers `Conflict`. The manager reloads the record the other request saved and
//! compares: did it change any key this request read or wrote (or the user, or the whole data
//! when this request read or replaced it as a whole)?
//!
//! - **No overlap: merge.** This request's writes are applied on top of the other request's
//!   record and saved again. Both requests succeed and nothing is lost:
//!
//!   ```text
//!   loaded {n: 1}     request A: insert("theme", "dark")     request B: insert("cart", 3)
//!   B saves first     -> {n: 1, cart: 3}
//!   A conflicts, merges, saves -> {n: 1, cart: 3, theme: "dark"}     both answer 200
//!   ```
//!
//! - **Bookkeeping only: always merged.** A commit whose only change is a refresh near expiry, a
//!   re-issue under a rotated key or `last_seen_at` never fails a request. If the other request
//!   already refreshed the record as far, nothing is written at all.
//!
//! - **A real overlap: the policy decides.** Under [`ConflictPolicy::Reject`] (the default) the
//!   late request fails with `SessionError::Conflict` (HTTP 409) and changes nothing, so an
//!   acknowledged write is never lost:
//!
//!   ```text
//!   loaded {n: 1}     A: n = get("n") + 1 = 2     B: n = get("n") + 1 = 2
//!   B saves {n: 2};   A read n, which B changed: 409, the stored value stays 2 (one +1 each
//!   acknowledged request)
//!   ```
//!
//!   Under [`ConflictPolicy::LastWriteWins`] the late request's writes are applied per key on top
//!   of the other's record and it never answers 409: in the example above both answer 200 and
//!   `n` is 2 (one increment lost, by choice); a key only the first request wrote is kept.
//!
//! ## One session's commits take turns
//!
//! Within one process, the commits of one session take turns: a fair, first-come first-served
//! lock per session (spread over 64 locks) is held from the first save attempt to the last, and
//! once a session has shown contention it remembers the record this process saved last: a
//! request that loaded an older version merges onto it and saves, instead of failing a save and
//! reloading first. So a hot session (one cookie on many connections) costs each request one
//! store round trip under its turn, instead of every request racing every other one
//! round after round, which under sustained load could go on until the retry bound answered 409
//! even under `LastWriteWins`. The price is that one session's commits run one at a time.
//! Writers in other processes (another server on the same store) still meet the version check,
//! and a merge that loses to one of them retries, up to a bound that only a pathological hot spot
//! reaches. `a_hot_session_costs_each_request_one_save` counts it: 64 requests committing one
//! session at once make 65 save attempts (2012 without the turns).
//!
//! ## Renew, logout and "log out everywhere"
//!
//! Renewing the id (at login, or `renew()`) is one conditional store step, `renew(old_key,
//! expected_version, new_record)`: the old record must still be there at the loaded version. A
//! logout or "log out everywhere" that landed while the request ran wins: the renew finds nothing
//! and the response clears the cookie, so a logged-out session is never brought back under a new
//! id. A concurrent save is merged into the renewed record like any other, or refused as above.
//! A save that finds the record deleted does not re-create it either.
//!
//! ## Stateless sessions
//!
//! In stateless mode the whole session travels in each request's cookie, so there is nothing to
//! merge across requests: every response carries its own token and the browser keeps the last
//! `Set-Cookie` it receives. Parallel requests that write different keys can therefore lose one
//! another's writes; use a stateful store for data that several requests change at once.
//!
//! ## Proof
//!
//! The conformance suite runs on every store (memory, sled, SQLite, Redis): 64 concurrent
//! requests on one session each writing its own key (64 keys kept, no error); 64 concurrent
//! increments under `Reject` (the final value equals the number of successes) and under
//! `LastWriteWins` (no error); 32 concurrent requests in the refresh window (all succeed); and
//! renew racing delete, "log out everywhere" and save, with only serial outcomes allowed.
//!
//! [`ConflictPolicy::Reject`]: crate::config::ConflictPolicy::Reject
//! [`ConflictPolicy::LastWriteWins`]: crate::config::ConflictPolicy::LastWriteWins
