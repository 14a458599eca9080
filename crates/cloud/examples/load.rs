//! Load on thingsim-cloud through a real broker: N native devices (the project's own session
//! over TCP, one thread each), each registered through the API with a broker user of its own,
//! reporting once a second (spread over the second) for S seconds. Prints the reports
//! acknowledged a second, the broker's PUBACK time p50/p99, and how far the cloud kept up: the
//! reports it had applied when the devices stopped, and how long it took to apply the rest.
//!
//! `cargo run --release -p thingsim-cloud --example load -- BROKER API ADMIN_KEY:SECRET N S`
//! (`scripts/bench` starts the broker and the cloud and runs it).

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use thingsim_cloud::tcp::TcpClient;
use thingsim_fleet::topics::device_client_id;
use thingsim_mqtt::{Command, Event, Message, Options, Qos};

#[path = "../tests/common/http_client.rs"]
mod http_client;

/// One HTTP/1.1 request with Basic auth; the status and the JSON answer (Null when not JSON).
fn call(
    api: &str,
    auth: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let host = api.trim_start_matches("http://").trim_end_matches('/');
    let basic = format!("Basic {}", base64(auth.as_bytes()));
    let (status, text) =
        http_client::request(host, method, path, Some(&body.to_string()), Some(&basic))
            .with_context(|| format!("{method} {path} to {host}"))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The reports the cloud has applied: the sum of the load things' shadow versions.
fn applied(api: &str, auth: &str) -> anyhow::Result<u64> {
    let (_, list) = call(api, auth, "GET", "/api/v1/things", &Value::Null)?;
    Ok(list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["thingName"]
                .as_str()
                .is_some_and(|n| n.starts_with("load-"))
        })
        .filter_map(|t| t["version"].as_u64())
        .sum())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [broker, api, auth, n, secs] = args.as_slice() else {
        bail!("usage: load BROKER_HOST:PORT API_URL KEY:SECRET DEVICES SECONDS");
    };
    let (n, secs): (usize, u64) = (n.parse()?, secs.parse()?);

    // Registered first, as an operator would: each thing its broker user.
    let t0 = Instant::now();
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let thing = format!("load-{i}");
        let (status, answer) = call(
            api,
            auth,
            "POST",
            &format!("/api/v1/things/{thing}/credentials"),
            &json!({ "clientId": device_client_id(&thing) }),
        )?;
        let c = &answer["credentials"];
        match (status, c["username"].as_str(), c["password"].as_str()) {
            (200 | 201, Some(u), Some(p)) => users.push((thing, u.to_owned(), p.to_owned())),
            (501, ..) => users.push((thing, String::new(), String::new())),
            _ => bail!("registering {thing}: {status} {answer}"),
        }
    }
    println!(
        "{n} things registered with their broker users in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let before = applied(api, auth)?;

    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Arc::new(Barrier::new(n + 1));
    let mut threads = Vec::with_capacity(n);
    for (i, (thing, username, password)) in users.into_iter().enumerate() {
        let (broker, latencies, failures, start) = (
            broker.clone(),
            latencies.clone(),
            failures.clone(),
            start.clone(),
        );
        threads.push(
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let options = Options {
                        username: (!username.is_empty()).then_some(username),
                        password: (!password.is_empty()).then_some(password),
                        ..Options::new(device_client_id(&thing))
                    };
                    let client = TcpClient::connect(&broker, options, Duration::from_secs(30));
                    start.wait();
                    let mut client = match client {
                        Ok(c) => c,
                        Err(e) => return failures.lock().unwrap().push(format!("{thing}: {e:#}")),
                    };
                    // Spread over the second, so the load is steady rather than one burst a second.
                    let offset = Duration::from_millis((i as u64 * 1000) / n as u64);
                    let begin = Instant::now() + offset;
                    let mut mine = Vec::with_capacity(secs as usize);
                    for round in 0..secs {
                        let due = begin + Duration::from_secs(round);
                        while Instant::now() < due {
                            let _ =
                                client.next_event(due.saturating_duration_since(Instant::now()));
                        }
                        let sent = Instant::now();
                        let report =
                            format!(r#"{{"state":{{"reported":{{"power":{round},"on":true}}}}}}"#);
                        if let Err(e) = client.command(Command::Publish(Message::new(
                            format!("$emqx/things/{thing}/shadow/update"),
                            report,
                            Qos::AtLeastOnce,
                        ))) {
                            return failures.lock().unwrap().push(format!("{thing}: {e:#}"));
                        }
                        loop {
                            match client.next_event(Duration::from_secs(5)) {
                                Ok(Some(Event::Acknowledged { .. })) => {
                                    mine.push(sent.elapsed().as_secs_f64() * 1000.0);
                                    break;
                                }
                                Ok(Some(Event::Error(e))) => {
                                    failures.lock().unwrap().push(format!("{thing}: {e}"));
                                    break;
                                }
                                Ok(Some(_)) => {}
                                Ok(None) | Err(_) => {
                                    failures
                                        .lock()
                                        .unwrap()
                                        .push(format!("{thing}: no PUBACK in 5 s"));
                                    break;
                                }
                            }
                        }
                    }
                    latencies.lock().unwrap().extend(mine);
                    let _ = client.command(Command::Disconnect);
                })?,
        );
    }
    start.wait();
    let t1 = Instant::now();
    for t in threads {
        let _ = t.join();
    }
    let ran = t1.elapsed().as_secs_f64();
    let at_end = applied(api, auth)? - before;
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let acked = lat.len() as u64;
    // How long the cloud takes to apply what was acknowledged but not yet applied.
    let t2 = Instant::now();
    let mut now_applied = at_end;
    while now_applied < acked && t2.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
        now_applied = applied(api, auth)? - before;
    }
    let failures = failures.lock().unwrap();
    println!(
        "{n} devices × 1 report/s for {secs} s: {acked} reports acknowledged by the broker ({:.0}/s), PUBACK p50 {:.2} ms, p99 {:.2} ms; thingsim-cloud had applied {at_end} when they stopped and all {now_applied} {:.1} s later ({:.0} reports/s sustained){}",
        acked as f64 / ran,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        t2.elapsed().as_secs_f64(),
        now_applied as f64 / (ran + t2.elapsed().as_secs_f64()),
        if failures.is_empty() {
            String::new()
        } else {
            format!("; {} failures, first: {}", failures.len(), failures[0])
        }
    );
    if now_applied < acked {
        bail!("the cloud applied {now_applied} of {acked} acknowledged reports");
    }
    Ok(())
}
