//! The in-memory API-token store passes the exported conformance suite.

use session_auth::api_tokens::MemoryApiTokenStore;

session_auth::api_token_store_conformance!(|| async { MemoryApiTokenStore::new() });
