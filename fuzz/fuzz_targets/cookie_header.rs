//! Fuzz target: a request's `Cookie` headers, as the manager reads them: one header per line,
//! through [`CookieOptions::find_in_header`], [`SessionManager::lazy_from_headers`] (what the
//! adapters call) and [`SessionManager::load_from_header`], against a stateful manager (signed
//! id + memory store) and a stateless one (JWT, fixed clock).
//!
//! Properties: the value found is a slice of the header holding no `;`; loading never fails
//! (the memory store cannot) and a stateful session can only exist for a stored id.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use session_core::config::CookieOptions;
use session_core::{MemoryStore, RequestContext, SessionManager};
use session_fuzz::{jwt_codec, lines, runtime, secret, FixedClock, SECRET};

struct Managers {
    stateful: SessionManager,
    stateless: SessionManager,
}

fuzz_target!(|bytes: &[u8]| {
    static MANAGERS: OnceLock<Managers> = OnceLock::new();
    let managers = MANAGERS.get_or_init(|| Managers {
        stateful: SessionManager::stateful(&secret(SECRET), MemoryStore::new())
            .clock(FixedClock)
            .build(),
        stateless: SessionManager::stateless(jwt_codec())
            .clock(FixedClock)
            .build(),
    });
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let headers = lines(text);
    let options = CookieOptions::default();
    for header in &headers {
        if let Some(value) = options.find_in_header(header) {
            let range = header.as_bytes().as_ptr_range();
            assert!(range.contains(&value.as_ptr()) || value.is_empty());
            assert!(
                !value.contains(';'),
                "a cookie value runs into the next pair"
            );
        }
    }
    runtime().block_on(async {
        let lazy = managers
            .stateful
            .lazy_from_headers(headers.iter().copied(), RequestContext::default());
        let session = lazy.session().await.expect("the memory store never fails");
        assert!(!session.exists(), "a session exists in an empty store");
        for manager in [&managers.stateful, &managers.stateless] {
            let header = headers.first().copied();
            manager
                .load_from_header(header, RequestContext::default())
                .await
                .expect("loading a cookie never fails without a failing store");
        }
    });
});
