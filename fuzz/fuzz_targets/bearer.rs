//! Fuzz target: API bearer tokens. The `Authorization` header values (one per line, any bytes)
//! go through [`presented`] and [`ApiTokens::authenticate_headers`] (the token format's parse,
//! then the store, here an empty memory store), and each line through
//! [`ApiTokens::authenticate`], with seed-app tokens accepted so the legacy parse runs too.
//!
//! Properties: a token presented is a non-empty RFC 6750 `b64token` from one of the values;
//! nothing authenticates against an empty store; every refusal is a 4xx or a 503.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use session_auth::api_tokens::{presented, ApiTokens, MemoryApiTokenStore, Presented};
use session_fuzz::{runtime, secret, SECRET};

fuzz_target!(|bytes: &[u8]| {
    static TOKENS: OnceLock<ApiTokens> = OnceLock::new();
    let tokens = TOKENS.get_or_init(|| {
        ApiTokens::builder(&secret(SECRET), MemoryApiTokenStore::new())
            .accept_seed_tokens(true)
            .build()
    });
    let values: Vec<&[u8]> = if bytes.is_empty() {
        Vec::new()
    } else {
        bytes.split(|&b| b == b'\n').collect()
    };
    if let Presented::Bearer(token) = presented(values.iter().copied()) {
        assert!(!token.is_empty());
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
        assert!(
            values.len() == 1
                && values[0]
                    .windows(token.len())
                    .any(|w| w == token.as_bytes())
        );
    }
    runtime().block_on(async {
        match tokens.authenticate_headers(values.iter().copied()).await {
            Ok(None) => assert!(values.is_empty(), "a header was ignored"),
            Ok(Some(_)) => panic!("a token authenticated against an empty store"),
            Err(error) => assert!(matches!(error.status_code(), 400..=499 | 503)),
        }
        for value in &values {
            let text = String::from_utf8_lossy(value);
            match tokens.authenticate(&text).await {
                Ok(_) => panic!("a token authenticated against an empty store"),
                Err(error) => assert!(matches!(error.status_code(), 400..=499 | 503)),
            }
        }
    });
});
