//! How long storing one report takes with N things in the cloud (what a device waits for
//! before the cloud acknowledges): `cargo run --release -p thingsim-cloud --example store_pace
//! -- 100 10000`. Prints write latency p50/p99 over 200 reports each, on a temporary folder.

use std::time::Instant;

use thingsim_cloud::store::Store;
use thingsim_fleet::cloud::{Cloud, CloudOutput};
use thingsim_mqtt::{Message, Millis, Qos};

fn main() -> anyhow::Result<()> {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    for n in if counts.is_empty() {
        vec![100, 10_000]
    } else {
        counts
    } {
        let dir =
            std::env::temp_dir().join(format!("thingsim-store-pace-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = Store::open(&dir)?;
        let mut cloud = Cloud::restore(store.load()?);
        let now = Millis(1_748_390_400_000);
        let report = |i: usize, v: usize| {
            Message::new(
                format!("$emqx/things/thing-{i}/shadow/update"),
                format!(
                    r#"{{"state":{{"reported":{{"temperature":{v},"humidity":45,"co2":650,"firmware":"5.0.1"}}}}}}"#
                ),
                Qos::AtLeastOnce,
            )
        };
        for i in 0..n {
            cloud.handle_message(now, &report(i, 20));
        }
        while !matches!(cloud.poll_output(), CloudOutput::Idle { .. }) {}
        store.save(&cloud)?;
        let mut times = Vec::new();
        for k in 0..200 {
            cloud.handle_message(now, &report((k * 7919) % n, k));
            while !matches!(cloud.poll_output(), CloudOutput::Idle { .. }) {}
            let t0 = Instant::now();
            store.save(&cloud)?;
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let p = |q: usize| times[(times.len() * q / 100).min(times.len() - 1)];
        println!(
            "{n} things: one report stored in p50 {:.2} ms, p99 {:.2} ms (only the rows that changed, one transaction, synchronous=FULL)",
            p(50),
            p(99)
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
