//! Helpers shared by the tests that run a world.

use serde_json::json;
use thingsim_fleet::ThingName;
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::jobs::cloud::JobType;
use thingsim_fleet::world::World;

/// Creates a snapshot firmware job (`updateFirmware` to 2.1.5) for thing `name`; its id.
pub(crate) fn firmware_job(w: &mut World, name: &str, step_timeout: Option<u64>) -> String {
    let name = ThingName::new(name).unwrap();
    w.with_cloud(|c, now| {
        c.create_job(
            now,
            "firmware 2.1.5",
            json!({"action": "updateFirmware", "params": {"version": "2.1.5"}}),
            &[name],
            JobType::Snapshot,
            step_timeout,
        )
    })
    .unwrap()
}

/// Where thing `name`'s execution of `job` stands in the cloud.
pub(crate) fn job_status(w: &World, name: &str, job: &str) -> JobStatus {
    w.cloud
        .job_execution(&ThingName::new(name).unwrap(), job)
        .map(|e| e.status)
        .unwrap()
}
