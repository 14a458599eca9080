//! The MQTT input path: any bytes, split anywhere, after CONNECT, at both protocol levels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thingsim_mqtt::{Millis, Options, Output, ProtocolVersion, Session};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let version = if first & 1 == 0 { ProtocolVersion::V5 } else { ProtocolVersion::V3_1_1 };
    let mut s = Session::new(Options { version, ..Options::new("fuzz") });
    s.handle_transport_opened(Millis(0));
    // The first byte also picks the chunk size, so packets straddle inputs.
    for (i, chunk) in rest.chunks(usize::from(first >> 1).max(1)).enumerate() {
        s.handle_input(Millis(i as u64), chunk);
        while !matches!(s.poll_output(), Output::Idle { .. }) {}
    }
    s.handle_timeout(Millis(u64::MAX / 2));
    while !matches!(s.poll_output(), Output::Idle { .. }) {}
});
