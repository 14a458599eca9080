//! Shadow documents: updates and deltas, decoded and applied by both roles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thingsim_fleet::shadow::cloud::Shadow;
use thingsim_fleet::shadow::device::DeviceShadow;
use thingsim_fleet::shadow::{Delta, Update};

fuzz_target!(|data: &[u8]| {
    let mut shadow = Shadow::default();
    let _ = shadow.apply_payload(1, data);
    let _ = shadow.apply_payload(2, data);
    let _ = shadow.document();
    if let Ok(update) = Update::from_slice(data) {
        assert_eq!(Update::from_slice(&update.to_vec()).ok(), Some(update));
    }
    if let Ok(delta) = Delta::from_slice(data) {
        let _ = DeviceShadow::default().handle_delta(&delta);
    }
});
