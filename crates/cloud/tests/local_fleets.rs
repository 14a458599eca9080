//! The local Fleets stand-in end to end: real mosquitto, the thingsim-cloud binary, and a
//! device running the pure device role over MQTT, driven through the HTTP API.

mod common;

use common::broker::Broker;
use common::{CloudProcess, NativeDevice};
use serde_json::{Value, json};
use std::io::{Read, Write};
use thingsim_cloud::tcp::TcpClient;
use thingsim_fleet::device::{DeviceOptions, UserCommand};

use thingsim_fleet::model::{SMART_LIGHT, THERMOSTAT};
use thingsim_mqtt::{Command, Message, Options, Qos};

fn shadow(cloud: &CloudProcess, thing: &str) -> Value {
    let (status, doc) = cloud.call("GET", &format!("/api/v1/things/{thing}/shadow"), None, None);
    assert_eq!(status, 200, "{doc}");
    doc
}

#[test]
fn shadow_commands_and_jobs_flow_between_the_api_and_a_device_over_real_mqtt() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &["--api-key", "key:secret"]);
    assert_eq!(
        cloud
            .call(
                "POST",
                "/api/v1/things",
                Some(&json!({"thingName": "thermo-1"})),
                None
            )
            .0,
        201
    );
    let options = DeviceOptions {
        job_step_ms: 100,
        telemetry_ms: None,
    };
    let mut dev = NativeDevice::connect(&broker.addr, "thermo-1", &THERMOSTAT, options);
    dev.run_until("the first report", |_| {
        shadow(&cloud, "thermo-1")["reported"]["targetTemperature"] == json!(21.0)
    });

    // Shadow: desired → delta → device applies and reports → converged.
    let (status, _) = cloud.call(
        "PUT",
        "/api/v1/things/thermo-1/shadow/desired",
        Some(&json!({"state": {"desired": {"targetTemperature": 24}}})),
        None,
    );
    assert_eq!(status, 200);
    dev.run_until("convergence", |_| {
        let doc = shadow(&cloud, "thermo-1");
        doc["reported"]["targetTemperature"] == json!(24.0) && doc["delta"] == json!({})
    });

    // Command round trip.
    let (status, e) = cloud.call("POST", "/api/v1/commands", Some(&json!({"thingName": "thermo-1", "action": "setTemperature", "params": {"value": 22.5}})), None);
    assert_eq!(status, 201, "{e}");
    let path = format!(
        "/api/v1/commands/executions/{}",
        e["executionId"].as_str().unwrap()
    );
    dev.run_until("the command answered", |_| {
        cloud.call("GET", &path, None, None).1["status"] == json!("SUCCEEDED")
    });

    // A command nobody answers times out after its TTL.
    dev.device
        .handle_command(common::epoch_now(), UserCommand::SetAutoAnswer(false));
    let (_, e) = cloud.call(
        "POST",
        "/api/v1/commands",
        Some(&json!({"thingName": "thermo-1", "action": "reboot", "ttl": 1})),
        None,
    );
    let path = format!(
        "/api/v1/commands/executions/{}",
        e["executionId"].as_str().unwrap()
    );
    dev.run_until("the command timed out", |_| {
        cloud.call("GET", &path, None, None).1["status"] == json!("TIMED_OUT")
    });

    // A firmware job runs to SUCCEEDED and the new firmware is reported.
    let job = json!({"description": "fw", "targets": {"thingNames": ["thermo-1"]}, "document": {"action": "updateFirmware", "params": {"version": "2.1.5"}}});
    let (status, body) = cloud.call("POST", "/api/v1/jobs", Some(&job), None);
    assert_eq!(status, 201, "{body}");
    let executions = format!(
        "/api/v1/jobs/{}/executions",
        body["jobId"].as_str().unwrap()
    );
    dev.run_until("the job succeeded", |_| {
        cloud.call("GET", &executions, None, None).1["data"][0]["status"] == json!("SUCCEEDED")
    });
    assert_eq!(
        shadow(&cloud, "thermo-1")["reported"]["firmware"],
        json!("2.1.5")
    );

    // A job that fails at step 2.
    dev.device.handle_command(
        common::epoch_now(),
        UserCommand::SetJobBehaviour(thingsim_fleet::device::JobBehaviour::FailAtStep(2)),
    );
    let (_, body) = cloud.call("POST", "/api/v1/jobs", Some(&job), None);
    let executions = format!(
        "/api/v1/jobs/{}/executions",
        body["jobId"].as_str().unwrap()
    );
    dev.run_until("the job failed", |_| {
        cloud.call("GET", &executions, None, None).1["data"][0]["status"] == json!("FAILED")
    });

    // A stalled job is cancelled from the API.
    dev.device.handle_command(
        common::epoch_now(),
        UserCommand::SetJobBehaviour(thingsim_fleet::device::JobBehaviour::Stall),
    );
    let (_, body) = cloud.call("POST", "/api/v1/jobs", Some(&job), None);
    let id = body["jobId"].as_str().unwrap().to_owned();
    let executions = format!("/api/v1/jobs/{id}/executions");
    dev.run_until("the job started", |_| {
        cloud.call("GET", &executions, None, None).1["data"][0]["status"] == json!("IN_PROGRESS")
    });
    assert_eq!(
        cloud
            .call("POST", &format!("/api/v1/jobs/{id}/cancel"), None, None)
            .0,
        200
    );
    dev.run_until("the device let go", |d| d.device.current_job().is_none());
    assert_eq!(
        cloud.call("GET", &executions, None, None).1["data"][0]["status"],
        json!("CANCELED")
    );

    // ThingDatas shadow GET: only with the right key.
    let (status, body) = cloud.call("GET", "/api/v1/thing-datas/thermo-1/shadow", None, None);
    assert_eq!((status, body.get("reported")), (401, None));
    let (status, body) = cloud.call(
        "GET",
        "/api/v1/thing-datas/thermo-1/shadow",
        None,
        Some("Basic a2V5OnNlY3JldA=="),
    );
    assert_eq!(
        (status, body["reported"]["firmware"].clone()),
        (200, json!("2.1.5"))
    );
}

#[test]
fn garbage_on_every_subscribed_topic_and_bad_requests_leave_the_cloud_serving() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "t1"})),
        None,
    );
    let mut raw = TcpClient::connect(
        &broker.addr,
        Options::new("hostile"),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    for topic in [
        "$emqx/things/t1/shadow/update",
        "$emqx/things/t1/events/alarm",
        "$emqx/commands/things/t1/executions/exec-9/response",
        "$emqx/things/t1/jobs/get",
        "$emqx/things/t1/jobs/start-next",
        "$emqx/things/t1/jobs/job-9/get",
        "$emqx/things/t1/jobs/job-9/update",
    ] {
        raw.command(Command::Publish(Message::new(
            topic,
            "\u{0}{garbage",
            Qos::AtLeastOnce,
        )))
        .unwrap();
    }
    cloud.wait_line("shadow update rejected thing=t1 code=400 reason=malformed shadow update");
    cloud.wait_line("refused topic=\"$emqx/things/t1/events/alarm\" reason=malformed event");
    cloud.wait_line("refused topic=\"$emqx/commands/things/t1/executions/exec-9/response\"");
    let (status, body) = cloud.call("POST", "/api/v1/jobs", Some(&json!({"targets": 1})), None);
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("malformed JSON body")
    );
    assert_eq!(
        cloud.call("GET", "/api/v1/things", None, None).1["data"][0]["thingName"],
        json!("t1"),
        "still serving"
    );
    assert_eq!(shadow(&cloud, "t1")["version"], json!(0), "nothing changed");
}

#[test]
fn sigterm_and_sigint_stop_the_cloud_cleanly() {
    let broker = Broker::start();
    for signal in ["-TERM", "-INT"] {
        let mut cloud = CloudProcess::start(&broker.addr, &[]);
        let pid = cloud.pid().to_string();
        assert!(
            std::process::Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = cloud.wait_exit(std::time::Duration::from_secs(5));
        assert_eq!(status.code(), Some(0), "{signal}: {status:?}");
        cloud.wait_line("stopped");
    }
}

#[test]
fn a_restart_in_the_middle_of_a_job_loses_nothing_that_was_acknowledged() {
    let broker = Broker::start();
    let data = std::env::temp_dir().join(format!("thingsim-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let data_arg = data.to_string_lossy().into_owned();
    let first = CloudProcess::start(&broker.addr, &["--data", &data_arg]);
    first.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "thermo-9"})),
        None,
    );
    let options = DeviceOptions {
        job_step_ms: 300,
        telemetry_ms: None,
    };
    let mut dev = NativeDevice::connect(&broker.addr, "thermo-9", &THERMOSTAT, options);
    first.call(
        "PUT",
        "/api/v1/things/thermo-9/shadow/desired",
        Some(&json!({"state": {"desired": {"mode": "heat"}}})),
        None,
    );
    let (_, e) = first.call(
        "POST",
        "/api/v1/commands",
        Some(&json!({"thingName": "thermo-9", "action": "reboot"})),
        None,
    );
    let execution = format!(
        "/api/v1/commands/executions/{}",
        e["executionId"].as_str().unwrap()
    );
    let job = json!({"targets": {"thingNames": ["thermo-9"]}, "document": {"action": "updateFirmware", "params": {"version": "9.9.9"}}});
    let (_, body) = first.call("POST", "/api/v1/jobs", Some(&job), None);
    let executions = format!(
        "/api/v1/jobs/{}/executions",
        body["jobId"].as_str().unwrap()
    );
    dev.run_until("the job is under way", |_| {
        first.call("GET", &executions, None, None).1["data"][0]["status"] == json!("IN_PROGRESS")
    });
    let version_before = shadow(&first, "thermo-9")["version"].as_u64().unwrap();

    drop(first); // SIGKILL: no goodbye, no chance to flush anything
    dev.run_for(1_000); // the device keeps reporting; the broker keeps it for the cloud's session

    let second = CloudProcess::start(&broker.addr, &["--data", &data_arg]);
    second.wait_line("things=1 jobs=1");
    dev.run_until("the job finished after the restart", |_| {
        second.call("GET", &executions, None, None).1["data"][0]["status"] == json!("SUCCEEDED")
    });
    let doc = shadow(&second, "thermo-9");
    assert_eq!(doc["reported"]["mode"], json!("heat"));
    assert_eq!(doc["reported"]["firmware"], json!("9.9.9"));
    assert!(
        doc["version"].as_u64().unwrap() > version_before,
        "versions go on from where they were"
    );
    assert_eq!(
        second.call("GET", &execution, None, None).1["status"],
        json!("SUCCEEDED")
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_broker_url_with_the_mqtt_scheme_works_and_unsupported_ones_are_refused_clearly() {
    let broker = Broker::start();
    let url = format!("mqtt://{}", broker.addr);
    let cloud = CloudProcess::start(&url, &[]);
    assert_eq!(cloud.call("GET", "/api/v1/things", None, None).0, 200);
    for (bad, why) in [
        ("mqtts://127.0.0.1:8883", "not supported yet"),
        ("http://x:1", "unknown scheme"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_thingsim-cloud"))
            .args(["--broker", bad, "--http", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thingsim-cloud"))
        .args(["--http", "0.0.0.0:8081"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
}

#[test]
fn the_cloud_rides_out_a_broker_restart_and_keeps_serving_its_api() {
    let mut broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    broker.stop();
    cloud.wait_line("lost the broker");
    // The API still answers while the broker is away; the change is kept.
    let registered = cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "lamp-9"})),
        None,
    );
    assert_eq!(registered.0, 201);
    let (status, _) = cloud.call(
        "PUT",
        "/api/v1/things/lamp-9/shadow/desired",
        Some(&json!({"state": {"desired": {"on": false}}})),
        None,
    );
    assert_eq!(status, 200);
    broker.start_again();
    cloud.wait_line("reconnected");

    // Over the new connection, both ways: the device's report reaches the cloud, and a new
    // desired value reaches the device as a delta.
    let options = DeviceOptions {
        job_step_ms: 100,
        telemetry_ms: None,
    };
    let mut dev = NativeDevice::connect(&broker.addr, "lamp-9", &SMART_LIGHT, options);
    dev.run_until("the report arrives", |_| {
        shadow(&cloud, "lamp-9")["reported"]["on"].is_boolean()
    });
    let (status, _) = cloud.call(
        "PUT",
        "/api/v1/things/lamp-9/shadow/desired",
        Some(&json!({"state": {"desired": {"brightness": 12}}})),
        None,
    );
    assert_eq!(status, 200);
    dev.run_until("the delta is applied", |_| {
        shadow(&cloud, "lamp-9")["reported"]["brightness"] == json!(12.0)
    });
}

#[test]
fn a_change_that_does_not_say_it_is_json_is_refused_so_other_sites_cannot_forge_one() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    // What a form or a `text/plain` fetch from another site would send, with no preflight.
    let mut s = std::net::TcpStream::connect(&cloud.http).unwrap();
    let body = r#"{"thingName":"victim"}"#;
    write!(
        s,
        "POST /api/v1/things HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        cloud.http,
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 415"), "{raw}");
    assert_eq!(
        cloud.call("GET", "/api/v1/things", None, None).1["data"],
        json!([])
    );
}
