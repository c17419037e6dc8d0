//! # Defaults, and why
//!
//! | setting | default | why |
//! |---|---|---|
//! | cookie name | `session` | predictable; use `__Host-session` on HTTPS-only sites (the `__Host-` rules are enforced when the policy is built) |
//! | `HttpOnly` | on | page scripts never see the session (NIST SP 800-63B-4 §5.1.1; OWASP Session Management "Cookies") |
//! | `Secure` | on | the cookie never travels in clear; `danger_insecure_cookie()` exists for plain-HTTP development hosts only |
//! | `SameSite` | `Lax` | defence in depth against CSRF while keeping top-level navigation logged in (RFC 6265bis §5.6.7.1) |
//! | `Path` / `Domain` | `/` / none | host-only cookies are the narrowest scope |
//! | `max_age` | 24 h, sliding | NIST AAL2's overall limit; `Policy::builder().max_age(7 * 24 h)` is the one-line change to the Next.js apps' 7 days (AAL1 territory) |
//! | absolute cap | none | set `absolute_lifetime` to bound sessions however active they are ([S-19]) |
//! | idle timeout | none | set `idle_timeout`; activity extends it, with at most one write per half timeout |
//! | refresh threshold | 30 min | a session with less left is extended (stateful) or re-issued (stateless); otherwise nothing is written ([C5]) |
//! | cookie `Max-Age` | the server-side time left | the browser drops the cookie when the server would reject it anyway ([S-21]) |
//! | conflicts | rejected (409) | a lost update is silent data loss; `ConflictPolicy::LastWriteWins` opts out |
//! | ids | 256 bits from the OS CSPRNG | OWASP asks for at least 128 bits; 256 costs nothing |
//! | ids at rest | SHA-256 of the id | a leaked database or Redis dump holds no usable session ([S-04], Rack CVE-2019-16782) |
//! | JWT | HS256, `typ: session+jwt`, 15 s leeway | the algorithm comes from configuration only; `exp`, `nbf` and `iat` are required numbers (RFC 8725) |
//! | keys | at least 32 bytes | RFC 7518 §3.2; shorter keys are a typed error, never a panic |
//!
//! ```
//! use session_core::{config::SessionPolicy, Policy};
//! let p = Policy::default();
//! assert_eq!(p.max_age().as_secs(), 24 * 3600);
//! assert_eq!(p.refresh_threshold().as_secs(), 30 * 60);
//! assert_eq!(p.cookie().name(), "session");
//! ```
//!
//! [S-19]: crate::manual::contracts#s-19
//! [C5]: crate::manual::contracts#c5
//! [S-21]: crate::manual::contracts#s-21
//! [S-04]: crate::manual::contracts#s-04
