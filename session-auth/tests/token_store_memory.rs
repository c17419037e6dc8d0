//! The token-store conformance suite on [`MemoryTokenStore`], the reference implementation.

use session_auth::tokens::MemoryTokenStore;

session_auth::token_store_conformance!(|| async { MemoryTokenStore::new() });
