//! Against a real mosquitto (started here on free ports): the native session connects with
//! both protocol levels, and thingsim-cloud logs device reports and survives garbage.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use thingsim_cloud::tcp::TcpClient;
use thingsim_fleet::{ThingName, Topic, shadow::Update, topics::ShadowTopic};
use thingsim_mqtt::{Command, Event, Message, Options, ProtocolVersion, Qos};

/// A mosquitto process on a free loopback port, killed on drop (also when a test fails).
struct Broker {
    child: Child,
    addr: String,
    _dir: PathBuf,
}

impl Broker {
    fn start() -> Self {
        // Tests run in parallel: two of them may be handed the same just-freed port. Start one
        // broker at a time, and only trust a port once our own mosquitto is alive on it.
        static START: Mutex<()> = Mutex::new(());
        let _one_at_a_time = START.lock().unwrap_or_else(|e| e.into_inner());
        for _attempt in 0..5 {
            if let Some(broker) = Self::try_start() {
                return broker;
            }
        }
        panic!("could not start mosquitto on a free port");
    }

    fn try_start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("thingsim-broker-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let mut child = Process::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto must be installed (scripts/setup installs it)");
        let addr = format!("127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            if child.try_wait().ok().flatten().is_some() {
                return None; // it could not bind: someone else has the port
            }
            if TcpStream::connect(&addr).is_ok() {
                // Connected, but to whom? Give a failed bind time to show, then check again.
                std::thread::sleep(Duration::from_millis(50));
                if child.try_wait().ok().flatten().is_none() {
                    return Some(Self {
                        child,
                        addr,
                        _dir: dir,
                    });
                }
                return None;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(client: &mut TcpClient, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let give_up = Instant::now() + Duration::from_secs(10);
    while Instant::now() < give_up {
        if let Some(e) = client.next_event(Duration::from_millis(200)).unwrap()
            && pred(&e)
        {
            return e;
        }
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn native_session_subscribes_publishes_and_receives_its_own_message_at_both_levels() {
    let broker = Broker::start();
    for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let options = Options {
            version,
            keep_alive_secs: 5,
            ..Options::new(format!("it-{version:?}"))
        };
        let mut c = TcpClient::connect(&broker.addr, options, Duration::from_secs(5)).unwrap();
        let topic = format!("$emqx/things/t-{version:?}/shadow/update/delta");
        c.command(Command::Subscribe(vec![(topic.clone(), Qos::AtLeastOnce)]))
            .unwrap();
        wait_for(&mut c, "SUBACK", |e| matches!(e, Event::Subscribed { .. }));
        c.command(Command::Publish(Message::new(
            &topic,
            r#"{"version":1,"state":{}}"#,
            Qos::AtLeastOnce,
        )))
        .unwrap();
        // PUBACK and our own message may come in either order.
        let (mut acked, mut received) = (false, None);
        while !acked || received.is_none() {
            match wait_for(&mut c, "PUBACK and the message", |e| {
                matches!(e, Event::Acknowledged { .. } | Event::Received(_))
            }) {
                Event::Received(m) => received = Some(m),
                _ => acked = true,
            }
        }
        assert_eq!(
            received,
            Some(Message::new(
                &topic,
                r#"{"version":1,"state":{}}"#,
                Qos::AtLeastOnce
            ))
        );
    }
}

#[test]
fn cloud_logs_reports_rejects_garbage_and_keeps_running() {
    let broker = Broker::start();
    let mut cloud = Process::new(env!("CARGO_BIN_EXE_thingsim-cloud"))
        .args(["--broker", &broker.addr])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = cloud.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let expect_line = |needle: &str| {
        let give_up = Instant::now() + Duration::from_secs(10);
        while let Ok(line) = lines.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("thingsim-cloud never printed {needle:?}");
    };
    expect_line("subscribed $emqx/things/+/shadow/update");

    let thing = ThingName::new("lamp-7").unwrap();
    let topic = Topic::Shadow(ShadowTopic::Update).assemble(&thing);
    let mut device =
        TcpClient::connect(&broker.addr, Options::new("lamp-7"), Duration::from_secs(5)).unwrap();
    device
        .command(Command::Publish(Message::new(
            &topic,
            "{not json",
            Qos::AtLeastOnce,
        )))
        .unwrap();
    expect_line("thing=lamp-7 rejected: malformed shadow update");

    let mut state = serde_json::Map::new();
    state.insert("on".into(), serde_json::Value::Bool(true));
    let report = Update::reported(state).to_vec();
    device
        .command(Command::Publish(Message::new(
            &topic,
            report,
            Qos::AtLeastOnce,
        )))
        .unwrap();
    let line = expect_line("thing=lamp-7 update=");
    assert!(
        line.ends_with(r#"update={"state":{"reported":{"on":true}}}"#),
        "{line}"
    );

    let _ = cloud.kill();
    let _ = cloud.wait();
}
