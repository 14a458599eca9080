//! Job requests to the cloud role, replies to the device agent, and job documents to models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thingsim_fleet::jobs::agent::JobsAgent;
use thingsim_fleet::jobs::cloud::{JobType, JobsCloud};
use thingsim_fleet::model::{DeviceModel, TEMPLATES};
use thingsim_fleet::topics::{JobsTopic, Reply};
use thingsim_fleet::ThingName;

fuzz_target!(|data: &[u8]| {
    let thing = ThingName::new("t").expect("valid");
    let mut cloud = JobsCloud::default();
    let doc = serde_json::json!({"action": "reboot"});
    let _ = cloud.create_job(0, "fuzz", doc, std::slice::from_ref(&thing), JobType::Snapshot, Some(1));
    let mut agent = JobsAgent::default();
    for topic in [
        JobsTopic::Get(Reply::Request),
        JobsTopic::StartNext(Reply::Request),
        JobsTopic::JobGet("job-1".into(), Reply::Request),
        JobsTopic::JobUpdate("job-1".into(), Reply::Request),
        JobsTopic::Notify,
        JobsTopic::NotifyNext,
        JobsTopic::StartNext(Reply::Accepted),
        JobsTopic::JobUpdate("job-1".into(), Reply::Accepted),
        JobsTopic::JobUpdate("job-1".into(), Reply::Rejected),
    ] {
        let _ = cloud.handle_request(1, &thing, &topic, data);
        agent.handle_message(&topic, data);
        while agent.poll_output().is_some() {}
    }
    let _ = cloud.handle_timeout(1_000);
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) {
        for template in TEMPLATES {
            let mut model = DeviceModel::new(template, 1);
            if model.check_job(&document).is_ok() {
                for step in 1..=5 {
                    let _ = model.job_step(&document, step);
                }
            }
        }
    }
});
