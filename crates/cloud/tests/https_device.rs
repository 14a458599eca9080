//! The HTTPS device path end to end, natively: the pure device role behind `HttpsLink`, its
//! requests sent to the real thingsim-cloud binary's ThingDatas API, its answers fed back.

mod common;

use std::time::{Duration, Instant};

use common::broker::Broker;
use common::{CloudProcess, epoch_now};
use serde_json::{Value, json};
use thingsim_fleet::ThingName;
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions, DeviceOutput, UserCommand};
use thingsim_fleet::https::{HttpsLink, LinkEvent, LinkOutput};
use thingsim_fleet::model::{DeviceModel, THERMOSTAT};

const GOOD: &str = "Basic a2V5OnNlY3JldA=="; // key:secret
const BAD: &str = "Basic a2V5Ondyb25n"; // key:wrong

/// A device whose only way to the cloud is HTTP, as the browser shell runs it.
struct HttpsDevice<'a> {
    device: Device,
    link: HttpsLink,
    cloud: &'a CloudProcess,
    auth: &'static str,
    device_deadline: Option<thingsim_mqtt::Millis>,
    link_deadline: Option<thingsim_mqtt::Millis>,
    events: Vec<DeviceEvent>,
    link_events: Vec<LinkEvent>,
    requests: Vec<String>,
}

impl<'a> HttpsDevice<'a> {
    fn new(cloud: &'a CloudProcess, thing: &str, auth: &'static str) -> Self {
        let now = epoch_now();
        let name = ThingName::new(thing).unwrap();
        let options = DeviceOptions {
            job_step_ms: 100,
            telemetry_ms: None,
        };
        let device = Device::new(now, name.clone(), DeviceModel::new(&THERMOSTAT, 1), options);
        let mut d = Self {
            device,
            link: HttpsLink::new(now, name, 1_000, 7),
            cloud,
            auth,
            device_deadline: None,
            link_deadline: None,
            events: Vec::new(),
            link_events: Vec::new(),
            requests: Vec::new(),
        };
        d.pump();
        d
    }

    fn pump(&mut self) {
        loop {
            let mut busy = false;
            loop {
                match self.device.poll_output() {
                    DeviceOutput::Mqtt(c) => {
                        busy = true;
                        self.link.handle_device_command(c);
                    }
                    DeviceOutput::Event(e) => self.events.push(e),
                    DeviceOutput::Idle { deadline } => {
                        self.device_deadline = deadline;
                        break;
                    }
                }
            }
            loop {
                match self.link.poll_output() {
                    LinkOutput::Request(r) => {
                        busy = true;
                        self.requests.push(format!("{} {}", r.method, r.path));
                        let (status, body) =
                            self.cloud
                                .call(r.method, &r.path, r.body.as_ref(), Some(self.auth));
                        let body = if body.is_null() {
                            Vec::new()
                        } else {
                            body.to_string().into_bytes()
                        };
                        self.link
                            .handle_response(epoch_now(), r.id, Ok((status, body)));
                    }
                    LinkOutput::Deliver(e) => {
                        busy = true;
                        self.device.handle_mqtt_event(epoch_now(), &e);
                    }
                    LinkOutput::Document(doc) => {
                        busy = true;
                        self.device.handle_shadow_document(&doc);
                    }
                    LinkOutput::CheckJobs => {
                        busy = true;
                        self.device
                            .handle_command(epoch_now(), UserCommand::CheckJobs);
                    }
                    LinkOutput::Event(e) => self.link_events.push(e),
                    LinkOutput::Idle { deadline } => {
                        self.link_deadline = deadline;
                        break;
                    }
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn run_until(&mut self, what: &str, mut cond: impl FnMut(&mut Self) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(20);
        while !cond(self) {
            assert!(
                Instant::now() < give_up,
                "timed out waiting until {what}; link said {:?}",
                self.link_events
            );
            std::thread::sleep(Duration::from_millis(20));
            let now = epoch_now();
            if self.device_deadline.is_some_and(|d| d <= now) {
                self.device.handle_timeout(now);
            }
            if self.link_deadline.is_some_and(|d| d <= now) {
                self.link.handle_timeout(now);
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
    assert!(dev.link_events.contains(&LinkEvent::Online));

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
    dev.device.handle_command(
        epoch_now(),
        UserCommand::PublishEvent {
            kind: "alarm".into(),
            payload: json!({"level": "high"}),
        },
    );
    dev.pump();
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
        d.link_events.iter().any(|e| matches!(e, LinkEvent::Offline { reason, .. } if reason.contains("401") && reason.contains("refused")))
    });
    assert!(!dev.link.is_online());

    let mut unknown = HttpsDevice::new(&cloud, "nobody", GOOD);
    unknown.run_until("404 is explained", |d| {
        d.link_events.iter().any(|e| matches!(e, LinkEvent::Offline { reason, .. } if reason.contains("register it first")))
    });
    // Registering the thing is enough: the next poll (backed off) succeeds.
    cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "nobody"})),
        None,
    );
    unknown.run_until("back online", |d| d.link.is_online());
    unknown.run_until("its report arrives", |d| {
        shadow(d.cloud, "nobody")["reported"]["targetTemperature"] == json!(21.0)
    });
}
