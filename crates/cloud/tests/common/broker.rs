//! A mosquitto of our own on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A mosquitto process on a free loopback port, killed on drop (also when a test fails).
pub(crate) struct Broker {
    child: Child,
    pub(crate) addr: String,
    dir: PathBuf,
}

impl Broker {
    pub(crate) fn start() -> Self {
        Self::start_with("")
    }

    /// A broker with `extra` lines added to its configuration (limits, for example).
    pub(crate) fn start_with(extra: &str) -> Self {
        // Tests run in parallel: two of them may be handed the same just-freed port. Start one
        // broker at a time, and only trust a port once our own mosquitto is alive on it.
        static START: Mutex<()> = Mutex::new(());
        let _one_at_a_time = START.lock().unwrap_or_else(|e| e.into_inner());
        for _attempt in 0..5 {
            if let Some(broker) = Self::try_start(extra) {
                return broker;
            }
        }
        panic!("could not start mosquitto on a free port");
    }

    fn try_start(extra: &str) -> Option<Self> {
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
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}\n"
            ),
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
                    return Some(Self { child, addr, dir });
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

impl Broker {
    /// Stops mosquitto (a broker going away under its clients).
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts mosquitto again on the same port, as after a restart.
    pub(crate) fn start_again(&mut self) {
        self.child = Process::new("mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let give_up = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&self.addr).is_err() {
            assert!(Instant::now() < give_up, "mosquitto did not come back");
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

/// The demo's broker exactly as `make demo` starts it (`scripts/broker start`: authentication
/// through the dynamic-security plugin), on free loopback ports; stopped on drop.
pub(crate) struct DemoBroker {
    run_dir: PathBuf,
    pub(crate) addr: String,
    /// The password of thingsim-cloud's broker user.
    pub(crate) cloud_password: String,
}

impl DemoBroker {
    pub(crate) fn start() -> Self {
        static START: Mutex<()> = Mutex::new(());
        let _one_at_a_time = START.lock().unwrap_or_else(|e| e.into_inner());
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (tcp, ws) = (free(), free());
        let run_dir =
            std::env::temp_dir().join(format!("thingsim-demo-broker-{}-{tcp}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run_dir);
        let status = Process::new(broker_script())
            .arg("start")
            .arg(&run_dir)
            .args([tcp.to_string(), ws.to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("scripts/broker runs");
        assert!(status.success(), "scripts/broker start failed");
        let cloud_password = std::fs::read_to_string(run_dir.join("broker-cloud.secret"))
            .unwrap()
            .trim()
            .to_owned();
        Self {
            run_dir,
            addr: format!("127.0.0.1:{tcp}"),
            cloud_password,
        }
    }
}

/// The project's `scripts/broker`, found from the directory cargo runs the test for: the
/// target dir is shared between clones (`scripts/env.sh`), and cargo does not rebuild a test
/// when only the clone's path changed, so a path compiled in can be another clone's, gone.
fn broker_script() -> PathBuf {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from);
    crate_dir.join("../../scripts/broker")
}

impl Drop for DemoBroker {
    fn drop(&mut self) {
        let _ = Process::new(broker_script())
            .arg("stop")
            .arg(&self.run_dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}
