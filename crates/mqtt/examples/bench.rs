//! Throughput of the session's two hot paths, printed for `make bench` next to mqtt.js's
//! parser and generator (bench/mqttjs.mjs) on the same workload: decode N MQTT 5 PUBLISH
//! packets (QoS 0 and QoS 1, which also builds the PUBACK) fed in 16 KiB chunks, and encode
//! N publishes. Prints one `name msgs/s` line per case; nothing is asserted.

use std::hint::black_box;
use std::time::Instant;

use thingsim_mqtt::{
    Command, Event, Message, Millis, Options, Output, ProtocolVersion, Qos, Session,
};

const N: usize = 200_000;
const PAYLOAD: &[u8] =
    br#"{"state":{"reported":{"temperature":21.5,"humidity":40}},"clientToken":"t-1"}"#;
const TOPIC: &str = "$emqx/things/thermostat-001/shadow/update";

fn connected() -> Session {
    let options = Options {
        version: ProtocolVersion::V5,
        ..Options::new("bench")
    };
    let mut s = Session::new(options);
    s.handle_transport_opened(Millis(0));
    s.handle_input(Millis(0), &[0x20, 0x03, 0x00, 0x00, 0x00]);
    drain(&mut s);
    s
}

fn drain(s: &mut Session) -> (usize, usize) {
    let (mut received, mut sent) = (0, 0);
    loop {
        match s.poll_output() {
            Output::Transmit(bytes) => sent += black_box(bytes).len(),
            Output::Event(Event::Received(m)) => {
                black_box(m);
                received += 1;
            }
            Output::Idle { .. } => return (received, sent),
            _ => {}
        }
    }
}

/// The wire bytes of `N` PUBLISH packets as a broker would send them (MQTT 5, no properties).
fn stream(qos: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..N {
        let mut body = Vec::new();
        body.extend_from_slice(&(TOPIC.len() as u16).to_be_bytes());
        body.extend_from_slice(TOPIC.as_bytes());
        if qos > 0 {
            body.extend_from_slice(&((i % 65_535 + 1) as u16).to_be_bytes());
        }
        body.push(0); // property length
        body.extend_from_slice(PAYLOAD);
        out.push(0x30 | (qos << 1));
        let mut len = body.len();
        loop {
            let mut b = (len % 128) as u8;
            len /= 128;
            if len > 0 {
                b |= 0x80;
            }
            out.push(b);
            if len == 0 {
                break;
            }
        }
        out.extend_from_slice(&body);
    }
    out
}

fn main() {
    for qos in [0u8, 1] {
        let bytes = stream(qos);
        let mut s = connected();
        let start = Instant::now();
        let mut received = 0;
        for chunk in bytes.chunks(16 * 1024) {
            s.handle_input(Millis(1), chunk);
            received += drain(&mut s).0;
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(received, N, "every publish decoded");
        println!("thingsim decode qos{qos} {:.0}", N as f64 / secs);
    }
    let mut s = connected();
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..N {
        s.handle_command(
            Millis(1),
            Command::Publish(Message::new(TOPIC, PAYLOAD, Qos::AtMostOnce)),
        );
        bytes += drain(&mut s).1;
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(bytes);
    println!("thingsim encode qos0 {:.0}", N as f64 / secs);
}
