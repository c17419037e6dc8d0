//! # Contracts
//!
//! Every guarantee the rustdoc cites by code, in words, with the tests that prove it. `C` codes
//! are the framework's contracts (its design notes); `S-` codes are the requirements of its
//! security and reliability checklist that this release meets. The rustdoc links each code it
//! cites to its entry here.
//!
//! Where the tests live:
//!
//! - `session-core/tests/contracts.rs`: the manager contracts. Most run in both modes, as
//!   `stateless::<name>` (JWT cookie, with a revocation store) and `stateful::<name>` (signed id,
//!   memory store), on a mock clock and a store that counts and fails calls on demand.
//! - `session-core/src/testing/conformance.rs`, `concurrent_requests.rs` and `at_rest.rs`: the
//!   store contracts, one `pub async fn` each, expanded into one named test per store by
//!   `store_conformance!`: for the memory store in `session-core/src/memory_store.rs`, for sled,
//!   SQLite and Redis in `session-store-*/tests/it/conformance.rs`, on the real engines.
//! - `session-adapters/tests/common/scenarios.rs`: the behaviour suite, written once and run
//!   through Axum, Actix-web and Rocket's own test clients (`session-adapters/tests/axum.rs`,
//!   `actix.rs`, `rocket.rs`), against a stateless, a memory and a SQLite backend.
//! - Unit tests next to the code they prove, in `session-core/src`.
//!
//! The [security model](super::security) names the checklist items this release does not cover;
//! they have no entry here.
//!
//! ## Loading and committing
//!
//! <a id="c1"></a>
//! ### C1: no cookie, an empty session
//!
//! A request without a session cookie gets an empty session. Nothing is stored, the store is not
//! even read, and no `Set-Cookie` is sent unless the handler writes to it; the first write
//! creates the session and sets its cookie.
//!
//! - `session-core/tests/contracts.rs`: `c1_no_cookie_is_an_empty_session_and_sends_nothing`,
//!   `c1_first_write_sets_a_cookie_with_secure_defaults` (both modes).
//! - `session-adapters/tests/common/scenarios.rs`: `c1_no_cookie_and_no_write_sends_nothing`,
//!   `c1_new_session_sets_cookie_with_secure_defaults`.
//!
//! <a id="c2"></a>
//! ### C2: an invalid cookie is no session, cleared, and logged without its value
//!
//! A cookie that is malformed, badly signed, signed with an unknown key, expired, idle too long,
//! revoked, unknown to the store, or whose payload fails its schema (including typed data that
//! fails its [`Validate`](crate::Validate) check) gives an empty session, never an error. The
//! response clears the cookie, and one `tracing` event at INFO records the reason
//! ([`RejectReason`](crate::codec::RejectReason)), never the value.
//!
//! This happens when the request loads its session. The adapters load it on first use, so a
//! request whose handler takes no session extractor decodes nothing and leaves the cookie as it
//! is (behaviour suite: `a_handler_that_never_asks_for_the_session_costs_nothing`).
//!
//! - `session-core/tests/contracts.rs`: `c2_invalid_cookies_give_no_session_and_are_cleared`
//!   (both modes: garbage, a tampered cookie, another secret's cookie, an expired one; exactly one
//!   event each, and no event holds the cookie), `c15_typed_data_reads_and_writes` (data that
//!   does not fit the whole-session type ends the session).
//! - `session-core/tests/jwt.rs`: `s17_signed_payloads_of_the_wrong_shape_are_schema_errors`.
//! - `session-adapters/tests/common/scenarios.rs`:
//!   `c2_invalid_cookie_is_no_session_and_is_cleared`,
//!   `a_payload_that_fails_validation_is_no_session`.
//!
//! <a id="c14"></a>
//! ### C14: a store failure is a typed error, 503, and loses nothing
//!
//! A store that is down, slow, read-only or full gives a typed error, never a panic;
//! [`SessionError::status_code`](crate::SessionError::status_code) maps transient failures to
//! 503. The client's cookie is left alone, nothing already stored is lost, and the same cookie
//! works again once the engine is back.
//!
//! - `session-core/tests/contracts.rs`: `c14_store_failure_is_503_and_keeps_the_cookie`.
//! - `session-adapters/tests/common/scenarios.rs`: `c14_store_down_is_503_and_keeps_cookie`,
//!   `handler_store_errors_are_503_and_keep_the_cookie`.
//! - `session-store-redis/tests/it/outage.rs`: `the_same_store_recovers_after_the_server_returns`,
//!   `a_hanging_server_times_out`, `a_full_server_refuses_writes_but_serves_reads`,
//!   `a_read_only_replica_refuses_writes_but_serves_reads`.
//! - `session-store-sqlite/tests/it/faults.rs`:
//!   `a_read_only_database_refuses_writes_serves_reads_and_loses_nothing`,
//!   `a_full_database_is_full_and_keeps_existing_rows`,
//!   `a_held_lock_gives_timeout_after_the_busy_timeout_then_recovers`.
//!
//! <a id="c18"></a>
//! ### C18: a server error commits nothing
//!
//! After a response with a 5xx status, the request's session changes are discarded: a sign-in
//! that failed half-way leaves no session behind, and a change to an existing session is not
//! saved. Other statuses commit as usual. A policy can opt out
//! ([`commit_on_server_error`](crate::config::SessionPolicy::commit_on_server_error)).
//!
//! - `session-core/tests/lifecycle.rs`: `a_server_error_commits_nothing_by_default`,
//!   `a_server_error_commits_when_the_policy_says_so`.
//! - `session-adapters/tests/common/scenarios.rs`: `c18_a_server_error_commits_nothing`.
//!
//! ## Lifetime and refresh
//!
//! <a id="c3"></a>
//! ### C3: sessions expire, and report their lifetime
//!
//! A session ends `max_age` (default 24 hours) after it was created or last refreshed, and
//! optionally after an idle timeout. [`Session::status`](crate::Session::status) reports whether
//! it is expired, the time remaining, `expires_at`, `created_at` and `last_seen_at`.
//!
//! - `session-core/tests/contracts.rs`: `c3_status_reports_the_lifetime`,
//!   `c3_sessions_end_at_max_age` (both modes: alive one second before, gone at `max_age`).
//! - `session-adapters/tests/common/scenarios.rs`: `c3_status_and_expiry`.
//!
//! <a id="c4"></a>
//! ### C4: refresh when less than the threshold remains
//!
//! When less than `refresh_threshold` (default 30 minutes) remains, a request extends the
//! session by a whole lifetime: the stateful record's expiry moves, the stateless cookie is
//! re-issued. `created_at` stays, and an absolute cap is never passed ([S-19](#s-19)).
//!
//! - `session-core/tests/contracts.rs`: `c4_refresh_happens_only_when_due` (both modes).
//! - `session-core/src/testing/concurrent_requests.rs`: `concurrent_refreshes_all_succeed` (every
//!   store).
//! - `session-adapters/tests/common/scenarios.rs`: `c4_refresh_near_expiry_reissues_cookie`.
//!
//! <a id="s-22"></a>
//! ### S-22: refresh only when due, exactly
//!
//! One second outside the threshold nothing is written and no cookie is sent; one second inside
//! it exactly one save (stateful) or one `Set-Cookie` (stateless) carries the new expiry.
//!
//! - `session-core/tests/contracts.rs`: `c4_refresh_happens_only_when_due` (both modes).
//!
//! <a id="s-19"></a>
//! ### S-19: an absolute cap no refresh extends
//!
//! With `absolute_lifetime` set, a session ends at `created_at` plus the cap however often it is
//! refreshed; `status().expires_at` never passes the cap. The cap also applies to records and
//! tokens made before it was configured.
//!
//! - `session-core/tests/contracts.rs`: `s19_refresh_never_passes_the_absolute_cap` (both modes:
//!   refreshed every 10 minutes, dead at the cap exactly).
//! - `session-core/tests/lifecycle.rs`:
//!   `the_absolute_cap_applies_to_sessions_made_before_it_was_configured`,
//!   `the_absolute_cap_applies_to_tokens_that_do_not_carry_it`.
//! - `session-core/src/testing/conformance.rs`: `load_honours_the_absolute_cap` (every store).
//! - `session-core/src/record.rs`: `expiry_uses_the_absolute_cap`.
//!
//! <a id="s-20"></a>
//! ### S-20: an idle timeout, enforced by the server, reset by activity, with few writes
//!
//! With `idle_timeout` set, a session idle that long is gone; activity extends it, but at most
//! one write per half timeout.
//!
//! - `session-core/tests/contracts.rs`: `s20_idle_timeout_is_enforced_and_reset_by_activity`
//!   (both modes: valid at T - 1 s, gone at T + 1 s, activity at T/2 extends to 1.5 T, no write
//!   inside the throttle window).
//!
//! <a id="s-21"></a>
//! ### S-21: the cookie lives as long as the session, no longer
//!
//! Every `Set-Cookie` carries `Max-Age` equal to the time the server will keep the session, so
//! the browser drops the cookie when the server would reject it anyway; the server never relies
//! on it.
//!
//! - `session-core/tests/contracts.rs`: `c1_first_write_sets_a_cookie_with_secure_defaults`
//!   (`Max-Age` is the lifetime), `s19_refresh_never_passes_the_absolute_cap` (`Max-Age` never
//!   passes the cap).
//! - `session-core/tests/lifecycle.rs`: `a_write_under_an_idle_timeout_reissues_the_cookie`.
//!
//! <a id="s-23"></a>
//! ### S-23: clock discipline
//!
//! Every time comes from the manager's [`Clock`](crate::config::Clock), in whole Unix seconds, with
//! saturating arithmetic: a clock that goes backwards never panics and never reports more than
//! one lifetime left; stores check expiry at `load` whatever their engine's TTL did.
//!
//! - `session-core/tests/contracts.rs`: `s23_a_clock_going_backwards_never_panics` (both modes).
//! - `session-core/src/testing/conformance.rs`: `load_honours_expiry` (every store).
//!
//! ## Writes
//!
//! <a id="c5"></a>
//! ### C5: writes only on change
//!
//! A request that neither changes the session nor is due a refresh makes no store write and
//! sends no `Set-Cookie`. Writing the value a key already holds is not a change.
//!
//! - `session-core/tests/contracts.rs`: `c5_reading_makes_no_write_and_no_cookie`,
//!   `c1_no_cookie_is_an_empty_session_and_sends_nothing` (both modes).
//! - `session-adapters/tests/common/scenarios.rs`: `c5_unchanged_session_makes_no_write`.
//!
//! <a id="c6"></a>
//! ### C6: renew gives a new id, and a login renews
//!
//! [`Session::renew`](crate::Session::renew) gives the session a new id with the same data and
//! the old id stops working; [`Session::login`](crate::Session::login) renews by itself. The
//! move is one conditional store step from the loaded version, so a logout that landed meanwhile
//! is never undone under the new id.
//!
//! - `session-core/tests/contracts.rs`: `c6_renew_and_login_issue_a_new_id` (both modes).
//! - `session-core/tests/concurrency.rs`: `a_renew_never_undoes_a_logout_that_landed_meanwhile`,
//!   `a_login_keeps_a_write_that_landed_meanwhile`.
//! - `session-core/src/testing/conformance.rs` (every store):
//!   `renew_moves_the_record_to_a_new_key`,
//!   `renew_from_a_stale_version_conflicts`, `renew_after_delete_creates_nothing`,
//!   `concurrent_renew_and_delete_serialise`.
//! - `session-adapters/tests/common/scenarios.rs`: `c6_renew_on_login_changes_the_id`.
//!
//! <a id="s-06"></a>
//! ### S-06: a login never leaves the pre-login id valid
//!
//! Signing in renews the id ([C6](#c6)). If the store cannot move the session to its new id, the
//! login fails with the store's error (503) and issues no cookie: the old session stays as it
//! was, signed out, and no signed-in session is left behind.
//!
//! - `session-core/tests/contracts.rs`: `s06_a_login_fails_if_the_id_cannot_be_renewed`,
//!   `c6_renew_and_login_issue_a_new_id` (the pre-login cookie is dead).
//!
//! <a id="c7"></a>
//! ### C7: destroy deletes the record and clears the cookie
//!
//! [`Session::destroy`](crate::Session::destroy) deletes the stored record and the response
//! carries a removal cookie with the same name, path and domain, `Max-Age=0` and an expiry in
//! the past. Replaying the old cookie finds nothing.
//!
//! - `session-core/tests/contracts.rs`: `c7_destroy_clears_the_cookie_and_the_session` (both
//!   modes).
//! - `session-core/src/cookie.rs`: `default_cookie_attributes` (the removal cookie's exact form).
//! - `session-adapters/tests/common/scenarios.rs`: `c7_destroy_sends_removal_cookie`.
//!
//! <a id="c8"></a>
//! ### C8: versioned saves; nothing is lost silently
//!
//! Saves, renewals and deletes are conditional on the version a request loaded. A save that lost
//! a race is merged into the other writer's record when the two touched different keys;
//! bookkeeping-only commits (refresh, re-issue, `last_seen_at`) always merge and never fail a
//! request; a real overlap is a conflict (409) under [`ConflictPolicy::Reject`], the default, or
//! resolved per key under [`ConflictPolicy::LastWriteWins`]. The [concurrency](super::concurrency)
//! page tells the whole model.
//!
//! - `session-core/tests/contracts.rs`:
//!   `c8_concurrent_writes_conflict_instead_of_losing_an_update`,
//!   `c8_last_write_wins_when_configured`, `c8_injected_conflict_maps_to_409`.
//! - `session-core/tests/concurrency.rs`: `requests_writing_their_own_keys_keep_every_key`,
//!   `overlapping_writes_are_refused_under_reject`,
//!   `overlapping_writes_resolve_per_key_under_last_write_wins`,
//!   `parallel_reads_in_the_refresh_window_all_get_their_page`.
//! - `session-core/src/testing/concurrent_requests.rs` (every store, 64 concurrent requests):
//!   `concurrent_requests_writing_distinct_keys_all_succeed`,
//!   `concurrent_increments_under_reject_lose_nothing`,
//!   `concurrent_increments_under_last_write_wins_never_fail`.
//! - `session-core/src/testing/conformance.rs` (every store): `save_with_current_version_succeeds`,
//!   `save_with_stale_version_conflicts`, `concurrent_renew_and_save_have_one_winner`,
//!   `concurrent_increments_lose_no_update`.
//! - `session-core/src/merge.rs`: `disjoint_writes_merge_and_keep_both`,
//!   `a_key_read_here_and_written_there_overlaps`,
//!   `reading_the_whole_data_overlaps_with_any_change`.
//! - `session-adapters/tests/common/scenarios.rs`: `c8_conflict_is_409`.
//!
//! <a id="s-32"></a>
//! ### S-32: no lost updates in any store
//!
//! Every store implements `save(record, expected_version)` as one compare-and-set: of many
//! writers saving from the same version, exactly one wins each round and the others get a
//! conflict.
//!
//! - `session-core/src/testing/conformance.rs`: `concurrent_writers_have_one_winner_per_version`
//!   (every store, 64 writers).
//! - `session-store-sqlite/tests/it/faults.rs`:
//!   `two_stores_on_one_file_have_one_winner_per_version`.
//!
//! <a id="s-02"></a>
//! ### S-02: creating an existing id is an error, never an overwrite
//!
//! `create` of a key that is already stored is `StoreError::Collision` and the stored record
//! stays as it was; so is a renewal onto a taken key. Of many concurrent creates of one key,
//! exactly one succeeds.
//!
//! - `session-core/src/testing/conformance.rs` (every store):
//!   `create_collision_keeps_the_original`,
//!   `concurrent_creates_have_one_winner`, `renew_onto_a_taken_key_collides`.
//!
//! <a id="c15"></a>
//! ### C15: typed data
//!
//! [`get::<T>`](crate::Session::get), [`insert`](crate::Session::insert),
//! [`remove`](crate::Session::remove), [`clear`](crate::Session::clear) and a whole-session
//! typed form ([`data_as`](crate::Session::data_as),
//! [`typed_or_invalidate`](crate::Session::typed_or_invalidate)). A value of another shape is a
//! clear [`DataError`](crate::DataError) naming the key, never quoting the value; for the
//! whole-session extractor it is [C2](#c2). The session token's own claim names are refused as
//! keys.
//!
//! - `session-core/tests/contracts.rs`: `c15_typed_data_reads_and_writes` (both modes).
//! - `session-core/tests/lifecycle.rs`: `debug_output_shows_no_cookie_value_and_no_stored_value`
//!   (the error explains the shape without the value).
//! - `session-adapters/tests/common/scenarios.rs`: `c15_typed_extractor`.
//!
//! ## Users
//!
//! <a id="c9"></a>
//! ### C9: log out everywhere
//!
//! Ending every session of a user: stateful, every record of the user is deleted (through the
//! per-user index); stateless, a per-user "not before" time kept in a revocation store refuses
//! every token issued earlier ([S-24](#s-24)), and without a revocation store it is an error
//! ([`SessionError::NoRevocationStore`](crate::SessionError::NoRevocationStore)). Other users'
//! sessions survive, and signing in again afterwards works.
//!
//! - `session-core/tests/contracts.rs`: `c9_log_out_everywhere_ends_every_session_of_the_user`
//!   (both modes), `c9_stateless_log_out_everywhere_needs_a_revocation_store`.
//! - `session-core/tests/concurrency.rs`: `a_renew_racing_log_out_everywhere_leaves_no_session`.
//! - `session-core/src/testing/conformance.rs` (every store):
//!   `delete_for_user_deletes_only_that_user`,
//!   `concurrent_renew_and_delete_for_user_leave_nothing`.
//! - `session-adapters/tests/common/scenarios.rs`: `c9_log_out_everywhere`.
//!
//! <a id="s-08"></a>
//! ### S-08: a user can list and end their sessions
//!
//! [`Session::list_user_sessions`](crate::Session::list_user_sessions) lists the signed-in user's
//! live sessions with when they were created and last seen, the browser and address that made
//! them and how the user signed in, never their ids, keys or data; "log out everywhere"
//! ([C9](#c9)) ends them. Stores list and delete exactly one user's sessions.
//!
//! - `session-core/src/testing/conformance.rs` (every store): `list_for_user_lists_live_sessions`,
//!   `delete_for_user_deletes_only_that_user`, `save_moves_the_record_between_users`.
//! - `session-core/tests/contracts.rs`: `c9_log_out_everywhere_ends_every_session_of_the_user`
//!   (both modes: the listing counts the user's sessions).
//!
//! <a id="s-24"></a>
//! ### S-24: stateless tokens can be revoked
//!
//! With a revocation store, "log out everywhere" records the time of the revocation, and every
//! token issued up to it is refused (reason `revoked`) for as long as such a token could live,
//! "remember me" lifetimes included; a token issued after it, even in the same second, is kept.
//!
//! - `session-core/tests/lifecycle.rs`: `a_revoked_remember_me_token_stays_revoked_past_a_day`,
//!   `a_login_in_the_same_second_as_log_out_everywhere_is_kept`.
//! - `session-core/tests/contracts.rs`: `c9_log_out_everywhere_ends_every_session_of_the_user`
//!   (stateless mode, with a revocation store).
//!
//! ## Cookies
//!
//! <a id="c10"></a>
//! ### C10: secure cookie defaults, and a size limit that fails loudly
//!
//! The cookie is named `session` and is `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, with no
//! `Domain`. The `__Host-` and `__Secure-` prefixes are supported and their rules enforced
//! ([S-25](#s-25)). A cookie over 4096 bytes is an error when it is made, never silently dropped
//! ([S-26](#s-26)).
//!
//! - `session-core/tests/contracts.rs`: `c1_first_write_sets_a_cookie_with_secure_defaults` (both
//!   modes), `c10_a_stateless_session_too_large_for_a_cookie_is_an_error`.
//! - `session-core/src/cookie.rs`: `default_cookie_attributes`, `cookie_prefix_rules_are_enforced`,
//!   `oversized_cookies_are_an_error`.
//! - `session-adapters/tests/common/scenarios.rs`:
//!   `c1_new_session_sets_cookie_with_secure_defaults`.
//!
//! <a id="s-25"></a>
//! ### S-25: cookie rules are checked when the policy is built
//!
//! [`PolicyBuilder::build`](crate::config::PolicyBuilder::build) refuses, with a typed
//! [`ConfigError`](crate::config::ConfigError), a cookie the browser would silently drop: a `__Host-`
//! cookie with a `Domain`, a path other than `/` or without `Secure`; a `__Secure-` cookie
//! without `Secure`; `SameSite=None` without `Secure`; an invalid name. The mistake shows at
//! start-up instead of as an endless logout loop.
//!
//! - `session-core/src/cookie.rs`: `cookie_prefix_rules_are_enforced`.
//!
//! <a id="s-26"></a>
//! ### S-26: a cookie over 4096 bytes is an error
//!
//! A `name=value` over 4096 bytes is
//! [`CookieTooLarge { size, limit }`](crate::config::CookieTooLarge) when the cookie is made, and the
//! commit fails with [`SessionError::CookieTooLarge`](crate::SessionError::CookieTooLarge)
//! (500): never a response without the cookie.
//!
//! - `session-core/src/cookie.rs`: `oversized_cookies_are_an_error` (4096 bytes fit, 4097 do
//!   not).
//! - `session-core/tests/contracts.rs`:
//!   `c10_a_stateless_session_too_large_for_a_cookie_is_an_error`.
//!
//! ## Ids and keys
//!
//! <a id="c13"></a>
//! ### C13: 256-bit ids, stored only as hashes
//!
//! Session ids are 256 bits from the operating system's CSPRNG, as 43 base64url characters.
//! Stores key records by the SHA-256 of the id, so the stored key is not a usable cookie.
//!
//! - `session-core/src/id.rs`: `ids_are_43_base64url_chars_and_round_trip`,
//!   `bit_frequency_is_balanced`, `parse_rejects_everything_but_canonical_ids`.
//! - `session-core/tests/contracts.rs`: `c13_the_stored_key_is_not_a_usable_cookie`.
//! - `session-core/src/testing/conformance.rs`: `stored_key_used_as_an_id_finds_nothing` (every
//!   store).
//!
//! <a id="s-01"></a>
//! ### S-01: id entropy and generator
//!
//! Ids are 32 bytes from `getrandom`, encoded as 43 characters of `[A-Za-z0-9_-]` that decode,
//! strictly, to exactly those 32 bytes.
//!
//! - `session-core/src/id.rs`: `ids_are_43_base64url_chars_and_round_trip`,
//!   `bit_frequency_is_balanced` (a sanity check of the generator, not a proof of randomness).
//!
//! <a id="s-04"></a>
//! ### S-04: ids are hashed at rest
//!
//! The raw id exists only in the cookie and the request's handle; stores see its SHA-256 only. A
//! leaked database or Redis dump holds no usable session id, and presenting a stored key as a
//! cookie finds nothing.
//!
//! - `session-core/src/testing/at_rest.rs`: `no_session_id_at_rest` (every store that gives the
//!   suite raw access to its engine: scans everything stored for the ids).
//! - `session-core/src/testing/conformance.rs`: `stored_key_used_as_an_id_finds_nothing` (every
//!   store).
//! - `session-core/tests/contracts.rs`: `c13_the_stored_key_is_not_a_usable_cookie`.
//! - `session-store-sqlite/tests/it/persistence.rs`, `session-store-sled/tests/it/at_rest.rs`:
//!   `a_closed_database_holds_no_session_id_in_its_files`.
//! - `session-store-redis/tests/it/at_rest.rs`:
//!   `a_signed_in_session_is_one_hash_and_one_index_entry`.
//!
//! <a id="s-05"></a>
//! ### S-05: secrets are compared in constant time
//!
//! The tags of signed-id cookies are a [`Tag`](crate::codec::Tag), whose equality is constant time and
//! which cannot be compared with raw bytes; JWT HMAC signatures are verified by the `hmac` crate
//! in constant time. No codec compares tag or signature bytes with `==`.
//!
//! - `session-core/src/codec/signed_id.rs`: the `compile_fail` doctest on [`Tag`](crate::codec::Tag).
//! - `xtask/src/tidy.rs`: `the_tree_is_tidy` (no `==` on raw bytes in codec modules),
//!   `the_checks_catch_what_they_claim_to`.
//!
//! <a id="c11"></a>
//! ### C11: keys of at least 32 bytes, rotated without logging anyone out
//!
//! A secret comes from an environment variable (`SESSION_SECRET` by default) or bytes; one
//! shorter than 32 bytes is a typed error, never a panic, and a missing variable is an error
//! naming it. A key ring signs with the current key and verifies with the older ones, so keys
//! rotate without logging anyone out; a cookie signed with an older key is re-issued under the
//! current one.
//!
//! - `session-core/tests/contracts.rs`: `c11_key_rotation_keeps_users_signed_in` (both modes).
//! - `session-core/src/secret.rs`: `short_keys_are_refused_with_their_length`,
//!   `missing_env_names_the_variable`.
//!
//! <a id="s-09"></a>
//! ### S-09: keys no shorter than the hash
//!
//! An HMAC key shorter than its hash output (32 bytes for HS256, 48 for HS384, 64 for HS512) is
//! refused with a typed error when the codec is configured.
//!
//! - `session-core/tests/jwt.rs`: `s09_hmac_keys_shorter_than_the_hash_are_refused`.
//! - `session-core/src/secret.rs`: `short_keys_are_refused_with_their_length`.
//!
//! <a id="s-10"></a>
//! ### S-10: a key ring, and rotation
//!
//! The newest key signs; every key of the ring verifies (selected by `kid` for tokens); a value
//! signed with an older key is flagged stale and re-issued under the newest at the next commit.
//! Once the old key leaves the ring, its values are refused.
//!
//! - `session-core/tests/jwt.rs`: `s10_rotation_verifies_old_keys_and_flags_them_stale`,
//!   `app_token_secrets_rotate_without_invalidating_issued_tokens`.
//! - `session-core/src/codec/signed_id.rs`: `rotation_verifies_old_keys_and_flags_them`.
//! - `session-core/tests/contracts.rs`: `c11_key_rotation_keeps_users_signed_in` (both modes).
//!
//! <a id="s-12"></a>
//! ### S-12: one key, one purpose
//!
//! Every key is derived from the secret with HKDF-SHA256 under its own purpose label (session
//! tokens, signed ids, each kind of application token), so a value made for one purpose never
//! verifies as another.
//!
//! - `session-core/src/secret.rs`: `derived_keys_are_pairwise_different`.
//! - `session-core/tests/jwt.rs`: `app_tokens_are_signed_with_their_own_derived_key`,
//!   `no_kind_of_token_is_accepted_by_another_kinds_decoder`.
//!
//! ## Tokens
//!
//! <a id="c12"></a>
//! ### C12: JWT with the algorithm fixed by configuration
//!
//! HS256 by default; HS384, HS512, RS256, ES256 and EdDSA available. The algorithm comes from the
//! configuration, never from the token ([S-13](#s-13)); `exp`, `nbf` and `iat` are checked with a
//! small leeway. Tokens interoperate with the `jose` npm library in both directions.
//!
//! - `session-core/tests/jwt.rs`: `c12_every_algorithm_round_trips`,
//!   `s15_time_claims_are_required_numbers`, `s15_leeway_is_small_and_exact`.
//! - `session-core/tests/jose_interop.rs`:
//!   `a_jose_token_decodes_as_a_session_whose_data_is_its_payload`,
//!   `a_jose_cookie_is_a_session_in_the_manager`, `our_token_verifies_in_jose` (with Node.js).
//!
//! <a id="s-11"></a>
//! ### S-11: `kid` is only a key of the ring
//!
//! A token's `kid` is looked up in the in-memory ring only, never as a path, a query or a URL;
//! it is bounded in length, and headers that embed or point to keys (`jwk`, `jku`, `x5u`) or ask
//! for extensions (`crit`) or compression (`zip`) are refused.
//!
//! - `session-core/tests/jwt.rs`: `s11_kid_is_only_a_key_of_the_ring`,
//!   `kids_are_visible_ascii_of_at_most_128_bytes`.
//! - `session-core/tests/jwe.rs`: `the_header_is_pinned_by_configuration` (the same header
//!   rules for encrypted cookies, `zip` and `crit` included).
//!
//! <a id="s-13"></a>
//! ### S-13: the algorithm comes from configuration only
//!
//! The verifier never reads the algorithm from the token to choose how to verify: `none` in any
//! spelling, another HMAC size or an asymmetric algorithm is refused (reason `wrong_alg`), and an
//! HS256 token signed with an RS256 codec's public key is refused.
//!
//! - `session-core/tests/jwt.rs`: `s13_the_algorithm_comes_from_configuration_only`,
//!   `s13_hs256_signed_with_the_public_key_is_rejected_by_an_rs256_codec`.
//!
//! <a id="s-14"></a>
//! ### S-14: every byte is authenticated, and decoding is strict
//!
//! Every single-bit flip and every truncation of a valid cookie is refused; base64url decoding
//! refuses padding, the standard alphabet and non-zero unused trailing bits.
//!
//! - `session-core/tests/jwt.rs`: `s14_every_bit_flip_and_truncation_is_rejected`.
//! - `session-core/src/codec/signed_id.rs`: `every_bit_flip_and_truncation_is_rejected`.
//! - `session-core/src/b64.rs`: `rejects_non_canonical_trailing_bits`,
//!   `rejects_padding_and_standard_alphabet`.
//!
//! <a id="s-16"></a>
//! ### S-16: explicit token types and audiences
//!
//! Session tokens carry `typ: session+jwt`, and `aud` and `iss` when the codec is configured
//! with them; a token with another type, audience or issuer is refused, and application tokens
//! (their own `typ` and key) are never accepted as sessions, nor sessions as application
//! tokens.
//!
//! - `session-core/tests/jwt.rs`: `s16_type_audience_and_issuer_are_checked`,
//!   `no_kind_of_token_is_accepted_by_another_kinds_decoder`.
//!
//! <a id="s-18"></a>
//! ### S-18: encrypted cookies, a pinned algorithm pair and one failure
//!
//! A [`JweCodec`](crate::JweCodec) is configured with exactly one key management and one
//! content encryption (`dir` + `A256GCM` by default; `dir` + `A256CBC-HS512` for Auth.js;
//! `A256GCMKW` or `ECDH-ES+A256KW` on P-256 only when chosen) and refuses every other pair, a
//! `dir` token given to a key-wrapping codec and the reverse, PBES2, `zip`, `crit` and embedded
//! keys. An `epk` that is not a point on P-256 is refused before any key agreement. Every failure
//! of the decryption itself (tag, padding, key unwrap) is the one reason `bad_signature`; the
//! AES-CBC-HMAC tag is checked, in constant time, before the padding is looked at. IVs and
//! content keys come from the operating system's generator, fresh per token.
//!
//! - `session-core/tests/jwe.rs`: `the_header_is_pinned_by_configuration`,
//!   `a_token_of_one_key_management_is_refused_by_the_others`, `an_epk_off_the_curve_is_malformed`,
//!   `every_bit_flip_of_every_decoded_part_is_rejected`,
//!   `every_single_character_change_and_truncation_is_rejected`,
//!   `another_key_of_the_right_shape_is_one_reason`, `short_or_long_ivs_and_tags_are_rejected`,
//!   `every_token_gets_a_fresh_iv`, `arbitrary_input_is_rejected_without_panicking`,
//!   `every_pair_interoperates_with_jose_both_ways`.
//! - `session-core/src/codec/jwe/content.rs`: `a256cbc_hs512_matches_rfc_7518_appendix_b3`.
//!
//! ## Logs
//!
//! <a id="s-30"></a>
//! ### S-30: logs and `Debug` hold no secrets
//!
//! No event, `Debug` or `Display` output holds a cookie value, an id, a key, a token segment or
//! a data value: ids and keys print redacted, records print data field names only, and errors
//! cut serde's quotes of the value.
//!
//! - `session-core/tests/contracts.rs`: `s30_debug_and_logs_hold_no_secrets` (both modes).
//! - `session-core/tests/lifecycle.rs`: `debug_output_shows_no_cookie_value_and_no_stored_value`.
//! - `session-core/src/id.rs`: `debug_never_shows_the_id_or_the_key`.
//! - `session-core/src/record.rs`: `debug_hides_data_values`.
//! - `session-core/src/events.rs`: `a_failed_load_and_a_failed_commit_each_log_one_warning` (the
//!   failure events hold no part of the cookie).
//!
//! [`ConflictPolicy::Reject`]: crate::config::ConflictPolicy::Reject
//! [`ConflictPolicy::LastWriteWins`]: crate::config::ConflictPolicy::LastWriteWins
