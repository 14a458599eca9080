//! The JSON reader every peer's document goes through, against serde_json. Into a value:
//! both refuse the same bytes or read them to the same value (floats to the bit, through
//! serde_json's writer), and so does the reader building the value itself (`json::value`,
//! what the documents are read through), with the same words when it refuses. Into a struct: what ours reads, serde_json reads the same; what ours
//! refuses, serde_json refuses too, but for the differences `json.rs` states (a struct written
//! as an array; an unknown field that serde_json itself would not read as a value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Loose {
    a: Option<u64>,
    b: Option<Value>,
    #[serde(default)]
    c: Vec<f64>,
    d: Option<String>,
    e: Option<Box<Loose>>,
}

fuzz_target!(|data: &[u8]| {
    let ours = thingsim_fleet::json::read::<Value>("fuzz", data);
    let theirs = serde_json::from_slice::<Value>(data);
    let value_ok = theirs.is_ok();
    let built = thingsim_fleet::json::value(data);
    match (&ours, &built) {
        (Ok(a), Ok(b)) => assert_eq!(a.to_string(), b.to_string()),
        (Err(thingsim_fleet::Error::Malformed { reason, .. }), Err(b)) => assert_eq!(reason, b),
        (a, b) => panic!(
            "{:?}: read {a:?}, value {b:?}",
            String::from_utf8_lossy(data)
        ),
    }
    match (ours, theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a.to_string(), b.to_string()),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "{:?}: ours {a:?}, serde_json {b:?}",
            String::from_utf8_lossy(data)
        ),
    }

    let ours = thingsim_fleet::json::read::<Loose>("fuzz", data);
    let theirs = serde_json::from_slice::<Loose>(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(_), Err(_)) => {}
        (Err(_), Ok(_)) => {
            let array = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
            assert!(
                array || !value_ok,
                "{:?}: ours {ours:?}, serde_json {theirs:?}",
                String::from_utf8_lossy(data)
            );
        }
        (Ok(_), Err(_)) => panic!(
            "{:?}: ours {ours:?}, serde_json {theirs:?}",
            String::from_utf8_lossy(data)
        ),
    }
});
