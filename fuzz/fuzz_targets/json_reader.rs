//! The JSON reader every peer's document goes through, against serde_json: both refuse the
//! same bytes or read them to the same value (floats to the bit, through serde_json's writer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let ours = thingsim_fleet::json::read::<Value>("fuzz", data);
    let theirs = serde_json::from_slice::<Value>(data);
    match (ours, theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a.to_string(), b.to_string()),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("{:?}: ours {a:?}, serde_json {b:?}", String::from_utf8_lossy(data)),
    }
});
