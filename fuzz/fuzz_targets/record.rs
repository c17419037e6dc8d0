//! Fuzz target: the stored record format, [`SessionRecord::from_bytes`], which reads what a
//! store hands back (and a damaged or hostile engine could hand back anything). Bytes that
//! decode must serialise with `to_bytes` to bytes that decode to an equal record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::store::SessionRecord;

fuzz_target!(|bytes: &[u8]| {
    let Ok(record) = SessionRecord::from_bytes(bytes) else {
        return;
    };
    let stored = record.to_bytes();
    let again = match SessionRecord::from_bytes(&stored) {
        Ok(again) => again,
        Err(error) => panic!("to_bytes of a decoded record does not decode: {error}"),
    };
    assert!(
        again == record,
        "to_bytes/from_bytes changed the record:\n{record:?}\n{again:?}"
    );
    assert_eq!(again.to_bytes(), stored, "to_bytes is not stable");
});
