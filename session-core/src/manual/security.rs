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
//! **Not covered here:** CSRF tokens and Origin checks (S-27), bearer API tokens (S-36) and OAuth
//! token storage (S-34/S-35) are not part of this release; `SameSite=Lax` is the only CSRF
//! defence until then.
//!
//! [S-14]: crate::manual::contracts#s-14
//! [S-06]: crate::manual::contracts#s-06
//! [S-18]: crate::manual::contracts#s-18
