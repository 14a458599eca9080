//! Helpers for the integration tests: a broker, the thingsim-cloud process, an HTTP client and
//! a native device (the pure device role over TCP).

#![allow(dead_code, reason = "each test file uses a different subset")]

pub(crate) mod broker;
pub(crate) mod http_client;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use thingsim_cloud::tcp::TcpClient;
use thingsim_fleet::ThingName;
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions, DeviceOutput};
use thingsim_fleet::model::{DeviceModel, Template};
use thingsim_mqtt::{Event, Millis, Options};

/// The thingsim-cloud binary, killed on drop; its output lines are kept.
pub(crate) struct CloudProcess {
    child: Child,
    pub(crate) http: String,
    pub(crate) lines: Arc<Mutex<Vec<String>>>,
}

impl CloudProcess {
    pub(crate) fn start(broker: &str, extra: &[&str]) -> Self {
        Self::start_with_env(broker, extra, &[])
    }

    /// The same, with environment variables (the broker user's credentials go that way).
    pub(crate) fn start_with_env(broker: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let http = format!("127.0.0.1:{port}");
        // Each process gets its own data folder unless the test names one (restart tests).
        let data =
            std::env::temp_dir().join(format!("thingsim-cloud-{}-{port}", std::process::id()));
        let data = data.to_string_lossy().into_owned();
        let own_data: &[&str] = if extra.contains(&"--data") {
            &[]
        } else {
            &["--data", &data]
        };
        let mut child = Process::new(env!("CARGO_BIN_EXE_thingsim-cloud"))
            .args(["--broker", broker, "--http", &http])
            .args(own_data)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let cloud = Self { child, http, lines };
        cloud.wait_line("subscribed filter=$emqx/things/+/jobs/+/update");
        cloud
    }

    pub(crate) fn wait_line(&self, needle: &str) -> String {
        let give_up = Instant::now() + Duration::from_secs(10);
        while Instant::now() < give_up {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "thingsim-cloud never printed {needle:?}; it printed {:?}",
            self.lines.lock().unwrap()
        );
    }

    /// One HTTP/1.1 request; returns status and JSON body (Null when empty).
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        auth: Option<&str>,
    ) -> (u16, Value) {
        let body = body.map(Value::to_string);
        let (status, text) =
            http_client::request(&self.http, method, path, body.as_deref(), auth).unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, json)
    }
}

impl CloudProcess {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, at most `timeout`.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let give_up = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < give_up, "thingsim-cloud did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for CloudProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn epoch_now() -> Millis {
    Millis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

/// The pure device role on a real MQTT connection: the native twin of the browser app.
pub(crate) struct NativeDevice {
    pub(crate) device: Device,
    client: TcpClient,
    deadline: Option<Millis>,
    pub(crate) events: Vec<DeviceEvent>,
    /// What the session reported as errors, in words.
    pub(crate) errors: Vec<String>,
}

impl NativeDevice {
    pub(crate) fn connect(
        broker: &str,
        thing: &str,
        template: &'static Template,
        options: DeviceOptions,
    ) -> Self {
        Self::connect_with(
            broker,
            thing,
            template,
            options,
            Options::new(format!("dev-{thing}")),
        )
    }

    /// The same, with the session's own options.
    pub(crate) fn connect_with(
        broker: &str,
        thing: &str,
        template: &'static Template,
        options: DeviceOptions,
        mqtt: Options,
    ) -> Self {
        let now = epoch_now();
        let thing_name = ThingName::new(thing).unwrap();
        let mut device = Device::new(now, thing_name, DeviceModel::new(template, 1), options);
        let client = TcpClient::connect(broker, mqtt, Duration::from_secs(5)).unwrap();
        // TcpClient::connect consumed CONNACK; tell the device.
        device.handle_mqtt_event(
            now,
            &Event::Connected {
                session_present: false,
            },
        );
        let mut d = Self {
            device,
            client,
            deadline: None,
            events: Vec::new(),
            errors: Vec::new(),
        };
        d.pump();
        d
    }

    fn pump(&mut self) {
        loop {
            match self.device.poll_output() {
                DeviceOutput::Mqtt(command) => self.client.command(command).unwrap(),
                DeviceOutput::Event(e) => self.events.push(e),
                DeviceOutput::Idle { deadline } => {
                    self.deadline = deadline;
                    return;
                }
            }
        }
    }

    /// Runs the device for about `ms`.
    pub(crate) fn run_for(&mut self, ms: u64) {
        let end = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < end {
            if let Some(event) = self.client.next_event(Duration::from_millis(10)).unwrap() {
                if let Event::Error(e) = &event {
                    self.errors.push(e.to_string());
                }
                self.device.handle_mqtt_event(epoch_now(), &event);
            }
            if self.deadline.is_some_and(|d| d <= epoch_now()) {
                self.device.handle_timeout(epoch_now());
            }
            self.pump();
        }
    }

    /// The MQTT client under the device.
    pub(crate) fn client(&self) -> &TcpClient {
        &self.client
    }

    /// Runs the device until `cond` holds (checked every 50 ms), at most 15 s.
    pub(crate) fn run_until(&mut self, what: &str, mut cond: impl FnMut(&mut Self) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(15);
        while !cond(self) {
            assert!(
                Instant::now() < give_up,
                "timed out waiting until {what}; the session said {:?}",
                self.errors
            );
            self.run_for(50);
        }
    }
}
