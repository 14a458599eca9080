//! How fast the sandbox's world runs a fleet natively: N devices reporting every second, for
//! a simulated minute. Prints figures; `make bench` runs it.
//!   cargo run --release -p thingsim-fleet --example fleet_pace -- 1000

use std::time::Instant;

use thingsim_fleet::fleet::{Fleet, FleetSpec};
use thingsim_fleet::model::ENVIRONMENT_SENSOR;
use thingsim_mqtt::Millis;

fn main() {
    let count: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let start = Millis(1_748_390_400_000);
    let spec = FleetSpec {
        count,
        telemetry_ms: Some(1_000),
        ..FleetSpec::new(&ENVIRONMENT_SENSOR)
    };
    let built = Instant::now();
    let mut fleet = Fleet::new(start, spec).unwrap_or_else(|e| panic!("{e}"));
    fleet.advance_to(start + 2_000);
    println!(
        "{count} devices built and connected in {:?}",
        built.elapsed()
    );
    let ran = Instant::now();
    let seconds = 60;
    for s in 1..=seconds {
        fleet.advance_to(start + 2_000 + s * 1_000);
    }
    let took = ran.elapsed();
    let m = fleet.metrics();
    println!(
        "{seconds} simulated s in {took:?} ({:.1} × real time); {} messages in, {} out",
        seconds as f64 / took.as_secs_f64(),
        m.messages_in,
        m.messages_out
    );
}
