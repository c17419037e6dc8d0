//! Regression tests for what `cargo xtask fuzz` found, one test per crash, each named after its
//! target. The inputs are the minimised artifacts, written out as the values they decode to.

use session_core::codec::SessionCodec;
use session_core::store::{SessionId, SessionRecord};
use session_core::{JwtCodec, Secret, UnixTime};

/// A float that serde_json's default (not correctly rounded) parser reads back one ULP off
/// from its own shortest output: `3.400000001e54` parsed as `3.4000000009999994e54`.
const DRIFTING_FLOAT: f64 = 3.400000001e54;

fn record_with(value: f64) -> SessionRecord {
    let now = UnixTime::from_secs(1_700_000_000);
    let mut record = SessionRecord::new(
        SessionId::from_bytes([9; 32]).key(),
        now,
        UnixTime::from_secs(1_700_003_600),
    );
    record.data.insert("n".into(), value.into());
    record
}

/// Fuzz target `jwt` (crash-0569bdbf…): a number in the session data changed when the token
/// was decoded, so every re-issued cookie could carry a different value.
#[test]
fn jwt_floats_in_session_data_survive_a_roundtrip() {
    let codec = JwtCodec::hs256(&Secret::from_bytes(vec![7u8; 32]).unwrap()).unwrap();
    let now = UnixTime::from_secs(1_700_000_000);
    let record = record_with(DRIFTING_FLOAT);
    let token = codec.encode(&record, now).unwrap();
    let back = codec.decode(&token, now).unwrap().payload;
    assert_eq!(back.data["n"].as_f64(), Some(DRIFTING_FLOAT));
    assert!(back == record);
}

/// The same drift in the stored record format: what a store hands back must be what was saved.
#[test]
fn record_floats_survive_to_bytes_and_back() {
    let record = record_with(DRIFTING_FLOAT);
    let back = SessionRecord::from_bytes(&record.to_bytes()).unwrap();
    assert_eq!(back.data["n"].as_f64(), Some(DRIFTING_FLOAT));
    assert!(back == record);
}
