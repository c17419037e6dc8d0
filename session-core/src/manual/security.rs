//! # Security model
//!
//! **A cookie is untrusted input.** Every value is length-checked before decoding, decoded with
//! strict base64url (no padding, no non-canonical trailing bits), and authenticated as a whole:
//! every single-bit flip and every truncation of a valid cookie is rejected ([S-14], tests
//! `s14_every_bit_flip_and_truncation_is_rejected`). A rejected cookie is "no session", the cookie
//! is cleared, and one `tracing` event at INFO records the `reason` (`malformed`,
//! `bad_signature`, `wrong_alg`, `wrong_type`, `unknown_kid`, `expired`, `not_yet_valid`,
//! `schema`, `unknown_id`, `corrupt_record`, `idle_timeout`, `revoked`), never the value.
//!
//! **Stateful cookies** carry `<id>.<tag>`: the tag is an HMAC-SHA256 under a key derived with
//! HKDF for that purpose only, compared in constant time through [`Tag`](crate::codec::Tag). A forged id
//! never reaches the store; a validly signed but unknown id is never adopted (the next write issues
//! a fresh one). Stores see only the SHA-256 of the id.
//!
//! **Stateless cookies** are JWS compact tokens. The verifier never reads the algorithm from the
//! token to decide how to verify: a header naming another algorithm (`none` included) is
//! `wrong_alg`; headers may carry only `alg`, `typ` and `kid` (no `jwk`, `jku`, `x5u`, `crit`,
//! `zip`); `kid` is looked up in the in-memory ring only. `exp`, `nbf` and `iat` must be
//! non-negative integers: a string or float is a schema error, not "absent" (CVE-2026-25537).
//!
//! **Encrypted stateless cookies** are compact JWE tokens whose key management and content
//! encryption are both pinned by configuration (`dir` + `A256GCM` by default); headers may carry
//! only what the pinned algorithm needs, an ECDH `epk` must be a point on P-256, and every
//! failure of the decryption itself is one reason, `bad_signature` ([S-18]). The key-wrapping
//! algorithms (`A256GCMKW`, `ECDH-ES+A256KW`) exist for keys held by another service and are
//! never accepted by a codec configured for `dir`.
//!
//! **Renewal.** `login()` renews the id: the record moves to the new id in one conditional store
//! step, and if the store cannot make it the login fails with the store error and issues no
//! cookie, instead of leaving the pre-login id valid ([S-06]).
//!
//! **Failures.** A store that is down, slow, read-only or full is a transient
//! [`StoreError`](crate::store::StoreError): adapters answer 503 and leave the user's cookie alone, so an
//! outage does not log everyone out. A conflict is 409.
//!
//! **Secrets in logs.** `Debug` of ids, keys, secrets, codecs and records shows no secret bytes
//! (records show data field names, not values); the behaviour suites scan every captured event
//! for the cookie values they issued.
//!
//! **CSRF, bearer tokens, OAuth tokens.** Unsafe requests that carry the session cookie are
//! checked for their origin (`Origin`, then `Sec-Fetch-Site`, then `Referer`) before the
//! handler runs, and forms can carry a session-bound token
//! (`session-core/src/csrf.rs`, S-27); `SameSite=Lax` is defence in depth on top.
//! `session-auth` adds bearer API tokens read from `Authorization: Bearer` only, stored as
//! hashes (S-36), and OAuth access and refresh tokens sealed at rest with a key of their own,
//! bound to their owner and provider (S-34, S-35). The session itself is read from its
//! cookie only, never from the URL or a form (S-28).
//!
//! # What is tested
//!
//! The two tables below map every requirement of the security and reliability checklist
//! (S-01 to S-37) and every store fault case (R1 to R11 for Redis, Q1 to Q10 for SQLite, D1 to
//! D8 for sled, and the clock jumps) to the tests that fail when the behaviour breaks. Names
//! are `crate file: test`; "behaviour suite `x`" is the scenario `x` of
//! `session-adapters/tests/common/`, run through Axum, Actix-web and Rocket on every backend
//! (stateless JWT, JWE, memory, SQLite) unless noted; "bearer suite" and "OAuth suite" are the
//! suites of `bearer.rs` and `oauth.rs` there; "store conformance `x`" is the contract `x` of
//! `session-core/src/testing/`, run by every store (memory, sled, SQLite, Redis, Redis Cluster,
//! PostgreSQL) on its real engine. Tests of `session-core/tests/contracts.rs` run in both modes
//! (`stateless::` and `stateful::`). A row marked **GAP** names what no test checks yet.
//!
//! ## Requirements S-01 to S-37
//!
//! | requirement | what is tested | tests |
//! | --- | --- | --- |
//! | S-01 id entropy | 43 base64url chars decoding strictly to 32 bytes, distinct, balanced bits | session-core src/id.rs: `ids_are_43_base64url_chars_and_round_trip`, `bit_frequency_is_balanced`, `parse_rejects_everything_but_canonical_ids`. GAP: no `clippy.toml` `disallowed-methods` ban on `rand::thread_rng`/`random` in the id module |
//! | S-02 unique at creation | `create` of a taken key is `Collision`, the original stays; one winner of concurrent creates | store conformance `create_collision_keeps_the_original`, `concurrent_creates_have_one_winner`, `renew_onto_a_taken_key_collides` (every store) |
//! | S-03 strict mode | a validly signed but unknown id is never adopted; the write issues a fresh id | session-core tests/contracts.rs: `s03_a_signed_but_unknown_id_is_never_adopted`; behaviour suite `s28_the_session_comes_from_the_cookie_only` (a fresh id, never the presented one). GAP (partial): the signed-unknown-id case itself is not run through the adapters |
//! | S-04 ids hashed at rest | no id in anything stored; the stored key is not a cookie | store conformance `no_session_id_at_rest`, `stored_key_used_as_an_id_finds_nothing` (every store); session-core tests/contracts.rs: `c13_the_stored_key_is_not_a_usable_cookie`; session-core src/codec/signed_id.rs: `a_session_key_presented_as_a_cookie_is_rejected`; session-store-sqlite tests/it/persistence.rs and session-store-sled tests/it/at_rest.rs: `a_closed_database_holds_no_session_id_in_its_files`; session-store-redis tests/it/at_rest.rs: `a_signed_in_session_is_one_hash_and_one_index_entry` |
//! | S-05 constant-time compare | `Tag` equality is constant time and cannot be compared with bytes; no `==` on tag bytes in codecs | session-core src/codec/signed_id.rs: `compile_fail` doctest on `Tag`; xtask src/tidy.rs: `the_tree_is_tidy`, `the_checks_catch_what_they_claim_to` |
//! | S-06 renew on privilege change | login and renew give a new id, the old one is dead; a failed renewal fails the login with no cookie | session-core tests/contracts.rs: `c6_renew_and_login_issue_a_new_id`, `s06_a_login_fails_if_the_id_cannot_be_renewed`; store conformance `renew_moves_the_record_to_a_new_key`, `renew_from_a_stale_version_conflicts`; behaviour suite `c6_renew_on_login_changes_the_id` |
//! | S-07 destroy | record deleted, removal cookie with the same name and path, `Max-Age=0` | session-core tests/contracts.rs: `c7_destroy_clears_the_cookie_and_the_session`; behaviour suite `c7_destroy_sends_removal_cookie`, `s24_a_logged_out_cookie_replayed_is_no_session` |
//! | S-08 log out everywhere, list | one user's sessions listed (no ids or data) and ended, others kept | session-core tests/contracts.rs: `c9_log_out_everywhere_ends_every_session_of_the_user`; store conformance `list_for_user_lists_live_sessions`, `delete_for_user_deletes_only_that_user`, `save_moves_the_record_between_users`; behaviour suite `c9_log_out_everywhere`, `metadata_records_ip_and_user_agent` (stateful backends) |
//! | S-09 key length | keys shorter than the hash are a typed error; a missing variable is named | session-core tests/jwt.rs: `s09_hmac_keys_shorter_than_the_hash_are_refused`; session-core src/secret.rs: `short_keys_are_refused_with_their_length`, `missing_env_names_the_variable` |
//! | S-10 key ring and rotation | old keys verify and are re-issued under the newest; removed keys refuse | session-core tests/jwt.rs: `s10_rotation_verifies_old_keys_and_flags_them_stale`, `app_token_secrets_rotate_without_invalidating_issued_tokens`; session-core tests/contracts.rs: `c11_key_rotation_keeps_users_signed_in`; session-core src/codec/signed_id.rs: `rotation_verifies_old_keys_and_flags_them`; session-core tests/jwe.rs: `an_older_key_decrypts_and_asks_for_reissue_and_an_unknown_key_does_not`; session-core src/seal.rs: `a_rotated_ring_opens_old_values_and_seals_under_the_new_key` (OAuth tokens at rest). GAP (partial): no rotation test for CSRF form tokens |
//! | S-11 `kid` untrusted | kid looked up in the ring only, bounded; `jwk`, `jku`, `x5u` refused | session-core tests/jwt.rs: `s11_kid_is_only_a_key_of_the_ring`, `kids_are_visible_ascii_of_at_most_128_bytes`, `any_kid_string_is_accepted_or_refused_without_panicking`; session-core tests/jwe.rs: `the_header_is_pinned_by_configuration` |
//! | S-12 one key, one purpose | HKDF keys pairwise different; no kind of token accepted as another | session-core src/secret.rs: `derived_keys_are_pairwise_different`; session-core tests/jwt.rs: `app_tokens_are_signed_with_their_own_derived_key`, `no_kind_of_token_is_accepted_by_another_kinds_decoder` |
//! | S-13 algorithm fixed | `none` in any spelling, other HMAC sizes, asymmetric algs: `wrong_alg`; HS256 with the RSA public key refused | session-core tests/jwt.rs: `s13_the_algorithm_comes_from_configuration_only`, `s13_hs256_signed_with_the_public_key_is_rejected_by_an_rs256_codec`; session-core tests/wycheproof.rs: `rfc_jws_examples_through_the_jwt_codec`, `hmac_sha256`, `ecdsa_p256_sha256_p1363`, `ed25519`; behaviour suite `c2_invalid_cookie_is_no_session_and_is_cleared` (stateless: an HS512 token logs `wrong_alg`). GAP (partial): the Wycheproof `json_web_signature_test.json` set is not run |
//! | S-14 every byte authenticated | every bit flip and truncation refused; strict base64url | session-core tests/jwt.rs: `s14_every_bit_flip_and_truncation_is_rejected`; session-core src/codec/signed_id.rs: `every_bit_flip_and_truncation_is_rejected`; session-core tests/jwe.rs: `every_bit_flip_of_every_decoded_part_is_rejected`, `every_single_character_change_and_truncation_is_rejected`; session-core src/b64.rs: `rejects_non_canonical_trailing_bits`, `rejects_padding_and_standard_alphabet`; session-core src/seal.rs: `every_changed_character_and_truncation_fails_to_open` |
//! | S-15 time claims | `exp` required and numeric, strings and floats refused, exact leeway; the crypto provider is set | session-core tests/jwt.rs: `s15_time_claims_are_required_numbers`, `s15_leeway_is_small_and_exact`; session-core tests/jwe.rs: `the_claims_are_checked_like_a_jwt`; session-core tests/crypto_provider.rs: `tokens_sign_and_verify_whatever_default_provider_the_process_installed` |
//! | S-16 type and audience | other `typ`, `aud`, `iss` refused; a session token is no bearer token | session-core tests/jwt.rs: `s16_type_audience_and_issuer_are_checked`, `no_kind_of_token_is_accepted_by_another_kinds_decoder`; bearer suite `bearer_matrix` (case "the session cookie's value as a token", axum, actix, rocket × memory, stateless) |
//! | S-17 payload schema | a signed payload of the wrong shape is `schema`, never a 5xx; unauthenticated suffixes change nothing | session-core tests/jwt.rs: `s17_signed_payloads_of_the_wrong_shape_are_schema_errors`, `suffixes_and_prefixes_are_rejected`, `a_repeated_registered_claim_is_malformed`; session-core src/codec/signed_id.rs: `prefixes_and_suffixes_are_rejected`; behaviour suite `a_payload_that_fails_validation_is_no_session` (exact reason `schema`), `optional_session_data_is_none_for_missing_or_invalid_data` |
//! | S-18 JWE | one pinned pair, PBES2, `zip`, `crit`, off-curve `epk` refused; every decryption failure one reason; fresh IVs | session-core tests/jwe.rs: `the_header_is_pinned_by_configuration`, `a_token_of_one_key_management_is_refused_by_the_others`, `an_epk_off_the_curve_is_malformed`, `another_key_of_the_right_shape_is_one_reason`, `short_or_long_ivs_and_tags_are_rejected`, `every_token_gets_a_fresh_iv`, `every_pair_interoperates_with_jose_both_ways`; session-core src/codec/jwe/content.rs: `a256cbc_hs512_matches_rfc_7518_appendix_b3`; session-core tests/wycheproof.rs: `aes_gcm`, `a256cbc_hs512`, `ecdh_p256_ecpoint` |
//! | S-19 absolute cap | refreshed every 10 minutes, dead at the cap exactly; applies to older sessions | session-core tests/contracts.rs: `s19_refresh_never_passes_the_absolute_cap`; session-core tests/lifecycle.rs: `the_absolute_cap_applies_to_sessions_made_before_it_was_configured`, `the_absolute_cap_applies_to_tokens_that_do_not_carry_it`; store conformance `load_honours_the_absolute_cap`; session-core src/record.rs: `expiry_uses_the_absolute_cap` |
//! | S-20 idle timeout | valid at T - 1 s, gone at T + 1 s, extended by activity, throttled writes | session-core tests/contracts.rs: `s20_idle_timeout_is_enforced_and_reset_by_activity`; session-core tests/lifecycle.rs: `a_write_under_an_idle_timeout_reissues_the_cookie` |
//! | S-21 cookie lifetime | `Max-Age` is the server lifetime and never passes the cap; an expired cookie is no session | session-core tests/contracts.rs: `c1_first_write_sets_a_cookie_with_secure_defaults`, `s19_refresh_never_passes_the_absolute_cap`; behaviour suite `c3_status_and_expiry`, `c4_refresh_near_expiry_reissues_cookie` |
//! | S-22 refresh when due | one second outside the threshold nothing, one second inside exactly one write | session-core tests/contracts.rs: `c4_refresh_happens_only_when_due`, `c3_status_reports_the_lifetime`; behaviour suite `c4_refresh_near_expiry_reissues_cookie` |
//! | S-23 clock discipline | a clock going back never panics or over-reports; stores judge expiry by the caller's `now` | session-core tests/contracts.rs: `s23_a_clock_going_backwards_never_panics`; store conformance `load_honours_expiry`; session-store-redis tests/it/clock_restart.rs: `r5_after_a_persistent_restart_the_callers_clock_governs_expiry` |
//! | S-24 stateless revocation | tokens issued up to "log out everywhere" are `revoked`, later ones kept; the revocation store down is 503 | session-core tests/lifecycle.rs: `a_revoked_remember_me_token_stays_revoked_past_a_day`, `a_login_in_the_same_second_as_log_out_everywhere_is_kept`; session-core tests/contracts.rs: `c9_log_out_everywhere_ends_every_session_of_the_user`, `c9_stateless_log_out_everywhere_needs_a_revocation_store`; behaviour suite `s24_a_logged_out_cookie_replayed_is_no_session`, `c2_invalid_cookie_is_no_session_and_is_cleared` (reason `revoked`), `c14_store_down_is_503_and_keeps_cookie` (stateless: the revocation store) |
//! | S-25 cookie attributes | secure defaults; `__Host-`, `__Secure-`, `SameSite=None` rules are typed errors | session-core src/cookie.rs: `default_cookie_attributes`, `cookie_prefix_rules_are_enforced`; behaviour suite `c1_new_session_sets_cookie_with_secure_defaults` |
//! | S-26 cookie size | 4096 bytes fit, 4097 are `CookieTooLarge`, the commit fails | session-core src/cookie.rs: `oversized_cookies_are_an_error`; session-core tests/contracts.rs: `c10_a_stateless_session_too_large_for_a_cookie_is_an_error` |
//! | S-27 CSRF | cross-site unsafe requests with the cookie are 403 before the handler; strict mode; session-bound form tokens; bearer requests pass | behaviour suite `s27_a_cross_site_post_with_the_cookie_is_refused_before_the_handler`, `s27_strict_mode_refuses_a_post_without_origin_headers`, `s27_form_tokens_are_bound_to_the_session`; session-core src/csrf.rs: `the_decision_table`, `allowed_origins_are_exact_origins`, `tokens_are_bound_to_the_session_key_and_checked_whole` |
//! | S-28 credentials only where we put them | a valid session value in `?session=` (and `session_id`, `sid`, form-encoded `POST`) is no session; an API token in `?access_token=` (and `token`, `api_key`) is 401 | behaviour suite `s28_the_session_comes_from_the_cookie_only`; bearer suite `s28_an_api_token_comes_from_the_authorization_header_only` (axum, actix, rocket × memory, stateless). GAP (partial): the suite's requests carry no body, so a session value in a form body is not sent |
//! | S-29 classified failure | each bad cookie: no session, cleared, exactly one event with its exact reason; a store failure: 503, cookie kept | behaviour suite `c2_invalid_cookie_is_no_session_and_is_cleared` (`malformed`, `bad_signature`, `unknown_kid`, `wrong_alg`, `revoked`, `unknown_id`, and `expired` for tokens; a stateful session past its expiry is `unknown_id`, as the store hides it), `a_payload_that_fails_validation_is_no_session` (`schema`), `c14_store_down_is_503_and_keeps_cookie`, `handler_store_errors_are_503_and_keep_the_cookie`; session-core tests/contracts.rs: `c2_invalid_cookies_give_no_session_and_are_cleared`, `c14_store_failure_is_503_and_keeps_the_cookie`; store conformance `a_corrupt_record_is_a_typed_error`. GAP (partial): `corrupt_record` is not checked through the adapters (the behaviour-suite fixture has no raw access to its stores) |
//! | S-30 no secrets in logs | no event, `Debug` or `Display` holds a cookie, id, key, token or value | session-core tests/contracts.rs: `s30_debug_and_logs_hold_no_secrets`; session-core tests/lifecycle.rs: `debug_output_shows_no_cookie_value_and_no_stored_value`; session-core src/id.rs: `debug_never_shows_the_id_or_the_key`; session-core src/record.rs: `debug_hides_data_values`; session-core src/manager/lazy.rs: `debug_never_shows_the_cookie`; session-auth tests/api_tokens_redaction.rs: `tokens_never_appear_in_debug_errors_or_logs`; session-auth tests/oauth_flow.rs: `no_token_code_state_or_client_secret_reaches_a_log_debug_or_error`; session-auth tests/passwords.rs: `no_password_or_hash_text_in_errors_or_debug`; behaviour suite `c2_invalid_cookie_is_no_session_and_is_cleared` (`assert_never_contains`) |
//! | S-31 parsers bounded | arbitrary input never panics; oversize refused before decoding | session-core tests/jwt.rs: `s31_oversized_tokens_are_rejected_before_decoding`, `arbitrary_input_never_panics`, `structured_garbage_never_panics`; session-core tests/jwe.rs: `oversized_tokens_are_refused_before_decryption`, `arbitrary_input_is_rejected_without_panicking`; session-core src/codec/signed_id.rs: `arbitrary_strings_never_panic`; session-auth src/api_tokens/header.rs: `any_bytes_are_read_without_panic`; fuzz targets `fuzz/fuzz_targets/{jwt,jwe,signed_id,cookie_header,record,bearer,oauth_callback}.rs` (not a CI gate); session-core tests/fuzz_regressions.rs: `jwt_floats_in_session_data_survive_a_roundtrip` |
//! | S-32 no lost updates | one winner per version, `Conflict` for the rest, 409 through the adapters | store conformance `concurrent_writers_have_one_winner_per_version`, `concurrent_increments_lose_no_update`, `save_with_stale_version_conflicts`; session-core tests/contracts.rs: `c8_concurrent_writes_conflict_instead_of_losing_an_update`, `c8_last_write_wins_when_configured`; session-core tests/concurrency.rs: `overlapping_writes_are_refused_under_reject`; behaviour suite `c8_conflict_is_409` (stateful backends); session-store-sqlite tests/it/faults.rs: `two_stores_on_one_file_have_one_winner_per_version`; session-store-postgres tests/it/concurrency.rs: `concurrent_saves_at_one_version_have_exactly_one_winner` |
//! | S-33 concurrent refresh | concurrent refreshes all succeed; parallel reads in the window all served | store conformance `concurrent_refreshes_all_succeed`; session-core tests/concurrency.rs: `parallel_reads_in_the_refresh_window_all_get_their_page`, `a_hot_session_costs_each_request_one_save` |
//! | S-34 OAuth tokens at rest | sealed, bound to owner and provider, another user's row does not open, no plaintext stored | session-auth tests/oauth_flow.rs: `a_tampered_token_row_is_unreadable_and_never_sent_to_the_provider`, `sign_out_destroys_the_session_and_can_revoke_the_token`; session-core src/seal.rs: `nonces_are_fresh_and_the_output_hides_the_value`, `a_rotated_ring_opens_old_values_and_seals_under_the_new_key`; session-auth src/testing/token_conformance.rs: `pairs_that_concatenate_alike_stay_apart` (every token store) |
//! | S-35 refresh single-flight | one refresh for 32 concurrent callers; rotated refresh token kept; `invalid_grant` disconnects | session-auth tests/oauth_flow.rs: `thirty_two_concurrent_callers_on_an_expired_token_make_one_refresh`, `vercel_tokens_are_refreshed_a_minute_before_expiry_and_the_rotated_refresh_token_kept`, `a_refused_refresh_token_disconnects_the_account_and_asks_to_sign_in_again`; session-auth src/testing/token_conformance.rs: `concurrent_replaces_of_one_version_have_one_winner`. GAP (partial): persist-before-respond is not tested by killing the process after the response |
//! | S-36 bearer tokens | header only; hashed; the matrix of cookie × bearer; no fallback to the cookie; 401 with a challenge | bearer suite `bearer_matrix`, `optional_auth_never_falls_back`, `a_bearer_request_never_touches_the_session`, `a_token_store_outage_is_503`, `revocation_takes_effect_at_once`, `s28_an_api_token_comes_from_the_authorization_header_only`; session-auth src/api_tokens/secret.rs: `a_generated_token_checks_and_hashes_alike`, `wrong_shapes_are_refused_by_kind`; session-auth src/testing/api_token_conformance.rs: `a_leaked_row_is_not_a_token` (every token store) |
//! | S-37 passwords | 72-byte limit handled, cost policy and upgrade, typed errors, salted | session-auth tests/passwords.rs: `bcrypt_reads_only_the_first_72_bytes_and_the_upgrade_reads_them_all`, `the_apps_default_bcryptjs_hash_is_2b_cost_10_and_upgrades`, `malformed_and_unsupported_hashes_are_typed_errors`, `costs_4_10_and_12_verify_and_wrong_passwords_fail`, `new_hashes_are_salted_argon2id_and_empty_passwords_are_allowed`; session-core src/password.rs: `every_byte_counts_past_72`, `same_password_twice_gives_different_hashes`, `limits_and_bad_hashes_are_errors` |
//!
//! ## Store fault cases
//!
//! | case | fault | tests |
//! | --- | --- | --- |
//! | R1 | Redis down at startup | session-store-redis tests/it/outage.rs: `a_closed_port_at_startup_is_unavailable_quickly` |
//! | R2 | connection dropped, server back | session-store-redis tests/it/outage.rs: `the_same_store_recovers_after_the_server_returns`; tests/it/tokens.rs and tests/it/api_tokens.rs: `a_killed_server_gives_transient_errors_then_the_store_recovers` |
//! | R3 | server hangs | session-store-redis tests/it/outage.rs: `a_hanging_server_times_out`; tests/it/tokens.rs: `a_hanging_server_times_out_within_the_configured_timeouts` |
//! | R4 | restart without persistence | session-store-redis tests/it/outage.rs: `the_same_store_recovers_after_the_server_returns` (the session is gone: `None`, not an error) |
//! | R5 | restart with persistence, shifted clock | session-store-redis tests/it/clock_restart.rs: `r5_after_a_persistent_restart_the_callers_clock_governs_expiry` (AOF restart; a record past the caller's `now` is `None` while Redis holds its key) |
//! | R6 | memory limit | session-store-redis tests/it/outage.rs: `a_full_server_refuses_writes_but_serves_reads` |
//! | R7 | read-only replica | session-store-redis tests/it/outage.rs: `a_read_only_replica_refuses_writes_but_serves_reads` (writes work again after promotion); tests/it/tokens.rs and tests/it/api_tokens.rs: `a_read_only_replica_refuses_writes_but_serves_reads` |
//! | R8 | concurrent writers | store conformance `concurrent_writers_have_one_winner_per_version`, `concurrent_renew_and_save_have_one_winner` (Redis) |
//! | R9 | stale user-index entries | session-store-redis tests/it/corruption.rs: `stale_index_entries_are_filtered_and_removed`; tests/it/expiry.rs: `a_busy_users_index_holds_only_live_sessions`, `a_user_index_lasts_as_long_as_its_longest_record` |
//! | R10 | corrupted value | store conformance `a_corrupt_record_is_a_typed_error` (Redis); session-store-redis tests/it/corruption.rs: `corrupt_errors_say_why`, `a_key_of_another_type_is_corrupt_and_can_be_deleted`, `a_corrupt_record_logs_one_event_without_key_or_data` |
//! | R11 | wrong password | session-store-redis tests/it/outage.rs: `wrong_credentials_are_a_clear_startup_error_without_the_password` |
//! | Q1 | read-only database | session-store-sqlite tests/it/faults.rs: `a_read_only_database_refuses_writes_serves_reads_and_loses_nothing`; tests/it/open.rs: `a_read_only_store_needs_an_existing_file_with_the_schema` |
//! | Q2 | disk full | session-store-sqlite tests/it/faults.rs: `a_full_database_is_full_and_keeps_existing_rows` |
//! | Q3 | lock contention | session-store-sqlite tests/it/faults.rs: `a_held_lock_gives_timeout_after_the_busy_timeout_then_recovers` |
//! | Q4 | read-then-write race | session-store-sqlite tests/it/faults.rs: `two_stores_on_one_file_have_one_winner_per_version`; store conformance `concurrent_writers_have_one_winner_per_version` (SQLite) |
//! | Q5 | blocking the runtime | session-store-sqlite tests/it/faults.rs: `waiting_on_a_lock_does_not_block_the_executor` |
//! | Q6 | process killed mid-write | session-store-sqlite tests/it/crash.rs: `q6_a_process_killed_mid_write_loses_no_acknowledged_write` (child `q6_child_writes_until_killed`, SIGKILL, `integrity_check` = ok, every acknowledged create and save present; default `synchronous = NORMAL`) |
//! | Q7 | corrupted file | session-store-sqlite tests/it/open.rs: `a_damaged_header_fails_open_and_the_file_is_neither_deleted_nor_recreated`; tests/it/engine_corruption.rs: `a_damaged_database_file_is_an_engine_error_not_a_bad_record`, `a_damaged_database_fails_the_request_with_500_and_writes_nothing` |
//! | Q8 | corrupted row | store conformance `a_corrupt_record_is_a_typed_error` (SQLite); session-store-sqlite tests/it/persistence.rs: `another_record_format_version_is_named_in_the_error` |
//! | Q9 | missing directory, file deleted at runtime | session-store-sqlite tests/it/open.rs: `a_missing_directory_is_a_typed_error_and_is_not_created`. GAP: deleting the file while the store runs is not tested |
//! | Q10 | schema of another version | session-store-sqlite tests/it/open.rs: `a_newer_schema_is_a_typed_open_error_and_the_file_is_untouched`, `an_older_empty_database_is_migrated_and_its_other_tables_kept`, `an_unrelated_sessions_table_is_not_adopted` |
//! | D1 | second open of the same path | session-store-sled tests/it/faults.rs: `a_second_open_of_the_same_path_is_in_use_until_the_first_closes` |
//! | D2 | read-only directory or disk full | session-store-sled tests/it/faults.rs: `a_path_below_a_regular_file_is_an_io_open_error` (open only). GAP: no test of a read-only directory or a full disk under a running sled store (`ReadOnly`/`Full`, 503) |
//! | D3 | crash after write | session-store-sled tests/it/crash.rs: `acknowledged_writes_survive_a_kill` (child `child_writer`); tests/it/reopen.rs: `sessions_and_indexes_survive_close_and_reopen`, `background_flushing_keeps_sessions_across_a_clean_close` |
//! | D4 | corruption detected | session-store-sled tests/it/engine_corruption.rs: `a_damaged_log_page_is_an_engine_error_not_a_bad_record`, `a_damaged_snapshot_fails_open_as_corrupt_and_is_left_untouched`; tests/it/corruption.rs: `a_corrupt_record_carries_its_reason`, `sled_leaves_a_corrupt_record_to_the_caller` |
//! | D5 | concurrent writers | store conformance `concurrent_writers_have_one_winner_per_version`, `concurrent_renew_and_delete_for_user_leave_nothing` (sled); session-store-sled tests/it/indexes.rs: `dangling_index_entries_are_cleaned_and_not_counted` |
//! | D6 | no native TTL | store conformance `load_honours_expiry`, `purge_expired_removes_only_expired` (sled); session-store-sled tests/it/purge.rs: `expired_records_are_purged_in_the_background_and_live_ones_stay`, `a_corrupt_expired_record_does_not_stall_the_purge`; tests/it/sweeper.rs: `the_sweeper_purges_expired_records` |
//! | D7 | on-disk format change | session-store-sled tests/it/corruption.rs: `a_new_database_records_the_store_format`, `an_unknown_store_format_is_a_typed_open_error` |
//! | D8 | blocking I/O | session-store-sled tests/it/blocking.rs: `the_runtime_keeps_answering_during_a_long_purge` |
//! | clock forward | caller's clock past the lifetime | session-core tests/contracts.rs: `c3_sessions_end_at_max_age`, `c3_status_reports_the_lifetime`; store conformance `load_honours_expiry`, `purge_expired_removes_only_expired` (every store); session-store-redis tests/it/clock_restart.rs: `r5_after_a_persistent_restart_the_callers_clock_governs_expiry` (a day past the longest record: nothing loads or lists) |
//! | clock backward | caller's clock a day back | session-core tests/contracts.rs: `s23_a_clock_going_backwards_never_panics`; session-store-redis tests/it/clock_restart.rs: `r5_after_a_persistent_restart_the_callers_clock_governs_expiry` (a deleted record stays deleted, the expiry is unchanged) |
//! | Redis clock ahead | keys vanish early on the server | session-store-redis tests/it/expiry.rs: `keys_expire_at_the_record_expiry` (a vanished key is `None`, not an error). Only the app-side check is testable (the server's clock is not moved) |
//!
//! ## PostgreSQL and Redis Cluster faults
//!
//! | case | fault | tests |
//! | --- | --- | --- |
//! | P restart | PostgreSQL restarts under load | session-store-postgres tests/it/restart.rs: `the_store_rides_out_a_server_restart_and_loses_no_acknowledged_write` |
//! | P down at connect | no server, or a silent one | session-store-postgres tests/it/faults.rs: `a_server_down_at_connect_is_unavailable_and_names_the_host_without_the_password`, `a_silent_server_at_connect_times_out_after_the_connect_timeout` |
//! | P read-only | read-only database | session-store-postgres tests/it/faults.rs: `a_read_only_database_refuses_writes_and_serves_reads` |
//! | P locks, pool | a held row lock; an exhausted pool | session-store-postgres tests/it/faults.rs: `a_held_row_lock_gives_timeout_after_the_statement_timeout`, `an_exhausted_pool_gives_a_typed_transient_error_after_the_pool_timeout` |
//! | P disk full | the tablespace's disk is full | session-store-postgres tests/it/disk_full.rs: `a_full_disk_gives_full_and_reads_go_on` |
//! | C failover | a primary is killed, its replica takes over | session-store-redis tests/it/cluster_faults.rs: `a_killed_primary_is_replaced_by_its_replica_and_the_store_follows` |
//! | C slot down | a slot has no primary | session-store-redis tests/it/cluster_faults.rs: `a_slot_without_a_primary_is_unavailable_until_its_node_returns` |
//!
//! [S-14]: crate::manual::contracts#s-14
//! [S-06]: crate::manual::contracts#s-06
//! [S-18]: crate::manual::contracts#s-18
