//! The HTTPS device path end to end, natively: the pure device role behind `HttpsLink`, its
//! requests sent to the real thingsim-cloud binary's ThingDatas API, its answers fed back.

mod common;

use std::time::{Duration, Instant};

use common::broker::Broker;
use common::{CloudProcess, epoch_now};
use serde_json::{Value, json};
use thingsim_fleet::ThingName;
use thingsim_fleet::device::{Device, DeviceOptions, UserCommand};
use thingsim_fleet::model::{DeviceModel, THERMOSTAT};
use thingsim_fleet::stack::{DeviceStack, StackEvent, StackOutput, Status};
use thingsim_mqtt::Millis;

const GOOD: &str = "Basic a2V5OnNlY3JldA=="; // key:secret
const BAD: &str = "Basic a2V5Ondyb25n"; // key:wrong

/// A device whose only way to the cloud is HTTP: the pure stack, with this runner doing what
/// the browser's does (send each request, hand back the answer, fire the timer).
struct HttpsDevice<'a> {
    stack: DeviceStack,
    cloud: &'a CloudProcess,
    auth: &'static str,
    started: Instant,
    deadline: Option<Millis>,
    events: Vec<StackEvent>,
    requests: Vec<String>,
}

impl<'a> HttpsDevice<'a> {
    fn new(cloud: &'a CloudProcess, thing: &str, auth: &'static str) -> Self {
        let epoch = epoch_now();
        let name = ThingName::new(thing).unwrap();
        let options = DeviceOptions {
            job_step_ms: 100,
            telemetry_ms: None,
        };
        let device = Device::new(epoch, name, DeviceModel::new(&THERMOSTAT, 1), options);
        let mut d = Self {
            stack: DeviceStack::https(Millis(0), epoch, device, 1_000, 7),
            cloud,
            auth,
            started: Instant::now(),
            deadline: None,
            events: Vec::new(),
            requests: Vec::new(),
        };
        d.pump();
        d
    }

    /// Monotonic milliseconds since the device started.
    fn now(&self) -> Millis {
        Millis(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn pump(&mut self) {
        loop {
            match self.stack.poll_output() {
                StackOutput::Request(r) => {
                    self.requests.push(format!("{} {}", r.method, r.path));
                    let (status, body) =
                        self.cloud
                            .call(r.method, &r.path, r.body.as_ref(), Some(self.auth));
                    let body = if body.is_null() {
                        Vec::new()
                    } else {
                        body.to_string().into_bytes()
                    };
                    let now = self.now();
                    self.stack.handle_response(now, r.id, Ok((status, body)));
                }
                StackOutput::Event(e) => self.events.push(e),
                StackOutput::Idle { deadline } => {
                    self.deadline = deadline;
                    return;
                }
                other => panic!("an HTTPS device asked for {other:?}"),
            }
        }
    }

    fn user(&mut self, command: UserCommand) {
        let now = self.now();
        self.stack.handle_user(now, command);
        self.pump();
    }

    fn offline_because(&self, why: &[&str]) -> bool {
        self.events.iter().any(|e| {
            matches!(e, StackEvent::Status(Status::Reconnecting { last_error: Some(reason), .. })
                if why.iter().all(|w| reason.contains(w)))
        })
    }

    fn online(&self) -> bool {
        let last = self.events.iter().rev().find_map(|e| match e {
            StackEvent::Status(s) => Some(s),
            _ => None,
        });
        last == Some(&Status::Connected)
    }

    fn run_until(&mut self, what: &str, mut cond: impl FnMut(&mut Self) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(20);
        while !cond(self) {
            assert!(
                Instant::now() < give_up,
                "timed out waiting until {what}; the stack said {:?}",
                self.events
            );
            std::thread::sleep(Duration::from_millis(20));
            let now = self.now();
            if self.deadline.is_some_and(|d| d <= now) {
                self.stack.handle_timeout(now);
            }
            self.pump();
        }
    }
}

fn shadow(cloud: &CloudProcess, thing: &str) -> Value {
    cloud
        .call("GET", &format!("/api/v1/things/{thing}/shadow"), None, None)
        .1
}

#[test]
fn an_https_device_reports_polls_desired_state_posts_events_and_runs_a_job() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &["--api-key", "key:secret"]);
    let thing = "https-thermo";
    let created = cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": thing})),
        None,
    );
    assert_eq!(created.0, 201);
    let mut dev = HttpsDevice::new(&cloud, thing, GOOD);

    // The first poll answers, the device counts as online and reports its whole state.
    dev.run_until("the report reaches the shadow", |d| {
        shadow(d.cloud, thing)["reported"]["targetTemperature"] == json!(21.0)
    });
    assert!(dev.online());

    // Desired state set on the cloud is picked up by the next poll and converges.
    let (status, _) = cloud.call(
        "PUT",
        &format!("/api/v1/things/{thing}/shadow/desired"),
        Some(&json!({"state": {"desired": {"targetTemperature": 23}}})),
        None,
    );
    assert_eq!(status, 200);
    dev.run_until("convergence through polling", |d| {
        let doc = shadow(d.cloud, thing);
        doc["reported"]["targetTemperature"] == json!(23.0) && doc["delta"] == json!({})
    });

    // An event is posted.
    dev.user(UserCommand::PublishEvent {
        kind: "alarm".into(),
        payload: json!({"level": "high"}),
    });
    cloud.wait_line("device event thing=https-thermo kind=alarm");

    // A job, found by polling, runs to SUCCEEDED through the ThingDatas job endpoints.
    let (status, job) = cloud.call(
        "POST",
        "/api/v1/jobs",
        Some(&json!({"targets": {"thingNames": [thing]}, "document": {"action": "updateFirmware", "params": {"version": "3.0.0"}}})),
        None,
    );
    assert_eq!(status, 201, "{job}");
    let path = format!("/api/v1/jobs/{}/executions", job["jobId"].as_str().unwrap());
    dev.run_until("the job succeeds", |d| {
        d.cloud.call("GET", &path, None, None).1["data"][0]["status"] == json!("SUCCEEDED")
    });
    assert_eq!(
        shadow(&cloud, thing)["reported"]["firmware"],
        json!("3.0.0")
    );
    for used in [
        "GET /api/v1/thing-datas/https-thermo/shadow",
        "POST /api/v1/thing-datas/shadow/reported",
        "POST /api/v1/thing-datas/events",
        "POST /api/v1/thing-datas/jobs/get",
        "POST /api/v1/thing-datas/jobs/start-next",
    ] {
        assert!(dev.requests.iter().any(|r| r == used), "{used} never sent");
    }
    assert!(
        dev.requests
            .iter()
            .any(|r| r.starts_with("POST /api/v1/thing-datas/jobs/") && r.ends_with("/update"))
    );
}

#[test]
fn wrong_credentials_or_an_unknown_thing_say_why_and_the_device_keeps_running() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &["--api-key", "key:secret"]);
    let mut dev = HttpsDevice::new(&cloud, "nobody", BAD);
    dev.run_until("the refusal is reported", |d| {
        d.offline_because(&["401", "refused"])
    });
    assert!(!dev.online());

    let mut unknown = HttpsDevice::new(&cloud, "nobody", GOOD);
    unknown.run_until("404 is explained", |d| {
        d.offline_because(&["register it first"])
    });
    // Registering the thing is enough: the next poll (backed off) succeeds.
    cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "nobody"})),
        None,
    );
    unknown.run_until("back online", |d| d.online());
    unknown.run_until("its report arrives", |d| {
        shadow(d.cloud, "nobody")["reported"]["targetTemperature"] == json!(21.0)
    });
}
