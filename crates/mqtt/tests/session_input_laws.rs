//! Laws of the session's input path, for any bytes and any framing.

use proptest::prelude::*;
use thingsim_mqtt::{Millis, Options, Output, ProtocolVersion, Session, State};

fn drain(s: &mut Session) -> Vec<Output> {
    let mut out = Vec::new();
    loop {
        match s.poll_output() {
            Output::Idle { .. } => return out,
            other => out.push(other),
        }
    }
}

fn opened(version: ProtocolVersion) -> Session {
    let mut s = Session::new(Options {
        version,
        ..Options::new("prop")
    });
    s.handle_transport_opened(Millis(0));
    drain(&mut s);
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Garbage never panics; the session ends connected-looking or asking to close, never stuck.
    #[test]
    fn any_bytes_in_any_chunks_never_panic(
        v5 in any::<bool>(),
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let mut s = opened(if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V3_1_1 });
        for (i, chunk) in chunks.iter().enumerate() {
            s.handle_input(Millis(i as u64), chunk);
            drain(&mut s);
        }
        s.handle_timeout(Millis(1_000_000));
        drain(&mut s);
        prop_assert!(matches!(s.state(), State::AwaitingConnAck | State::Connected | State::AwaitingClose));
    }

    /// A valid stream split anywhere decodes to the same events as in one piece.
    #[test]
    fn framing_does_not_change_what_is_decoded(cuts in prop::collection::vec(0usize..40, 0..6)) {
        // CONNACK (v3.1.1), then PUBLISH QoS 0 "a/b" "hello", then PUBLISH "c" "!".
        let stream: Vec<u8> = [
            &[0x20, 0x02, 0x00, 0x00][..],
            &[0x30, 0x0A, 0x00, 0x03, b'a', b'/', b'b', b'h', b'e', b'l', b'l', b'o'][..],
            &[0x30, 0x04, 0x00, 0x01, b'c', b'!'][..],
        ].concat();
        let events = |pieces: Vec<&[u8]>| {
            let mut s = opened(ProtocolVersion::V3_1_1);
            let mut events = Vec::new();
            for p in pieces {
                s.handle_input(Millis(1), p);
                events.extend(drain(&mut s).into_iter().filter(|o| matches!(o, Output::Event(_))));
            }
            events
        };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut at = 0;
        for c in cuts {
            pieces.push(&stream[at..c]);
            at = c;
        }
        pieces.push(&stream[at..]);
        let whole = events(vec![&stream[..]]);
        prop_assert_eq!(whole.len(), 4, "limits, connected, two messages");
        prop_assert_eq!(events(pieces), whole);
    }
}
