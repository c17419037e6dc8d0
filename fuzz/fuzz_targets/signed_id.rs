//! Fuzz target: the stateful session cookie, [`SignedIdCodec::decode`] (`<id>.<tag>`), and
//! [`SessionId::parse`] behind it. A value that decodes with the current key is exactly what
//! `encode` issues for its id (one spelling per id), and every parsed id roundtrips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::codec::SessionCodec;
use session_core::store::SessionId;
use session_fuzz::{signed_id_codec, NOW};
use std::sync::OnceLock;

fuzz_target!(|bytes: &[u8]| {
    static CODEC: OnceLock<session_core::codec::SignedIdCodec> = OnceLock::new();
    let codec = CODEC.get_or_init(signed_id_codec);
    let Ok(value) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(decoded) = codec.decode(value, NOW) {
        let issued = codec
            .encode(&decoded.payload, NOW)
            .expect("encoding an id cannot fail");
        if !decoded.stale_key {
            assert_eq!(issued, value, "a valid signed id has another spelling");
        }
        let again = codec
            .decode(&issued, NOW)
            .expect("a freshly issued id decodes");
        assert!(again.payload == decoded.payload && !again.stale_key);
    }
    // The id half on its own, as the codec parses it.
    let id_text = value.split('.').next().unwrap_or_default();
    if let Some(id) = SessionId::parse(id_text) {
        assert_eq!(id.expose(), id_text, "a session id has one spelling");
        let issued = codec.encode(&id, NOW).expect("encoding an id cannot fail");
        assert!(
            codec
                .decode(&issued, NOW)
                .expect("issued ids decode")
                .payload
                == id
        );
    }
});
