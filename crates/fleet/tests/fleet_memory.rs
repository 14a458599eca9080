//! "Remove them; memory returns": the heap a fleet holds goes back near where it started once
//! its devices are removed, after they reported, converged and ran a roll-out. One test in its
//! own binary, because the counting allocator counts every thread of the binary.

use cap::Cap;
use serde_json::json;
use thingsim_fleet::fleet::{Fleet, FleetSpec, Mix};
use thingsim_fleet::jobs::cloud::{JobType, Rollout};
use thingsim_fleet::model::ENVIRONMENT_SENSOR;
use thingsim_fleet::shadow::state::State;
use thingsim_mqtt::Millis;

#[global_allocator]
static HEAP: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

#[test]
fn removing_a_thousand_devices_gives_their_heap_back() {
    let mut now = Millis(1_748_390_400_000);
    let spec = FleetSpec {
        count: 20,
        seed: 5,
        mix: Mix::parse("fail:10@2,stall:5,cmdreject:5").unwrap(),
        telemetry_ms: Some(1_000),
        ..FleetSpec::new(&ENVIRONMENT_SENSOR)
    };
    let mut fleet = Fleet::new(now, spec).unwrap();
    now = now + 5_000;
    fleet.advance_to(now);
    let before = HEAP.allocated();

    fleet.add(1_000).unwrap();
    let mut desired = State::new();
    desired.insert("reportInterval".into(), json!(30));
    fleet.set_desired(&desired).unwrap();
    fleet
        .roll_out(
            json!({"action": "updateFirmware", "params": {"version": "2.0.0"}}),
            JobType::Snapshot,
            Some(1),
            Rollout::default(),
        )
        .unwrap();
    for _ in 0..90 {
        now = now + 1_000;
        fleet.advance_to(now);
    }
    let peak = HEAP.allocated();
    let last = fleet.members().last().unwrap().thing.clone();
    let job = fleet.metrics().job.unwrap().job_id;
    assert!(fleet.world.cloud.job_execution(&last, &job).is_some());
    fleet.remove(1_000);
    assert!(!fleet.world.cloud.has_thing(&last), "its thing is deleted");
    assert!(fleet.world.cloud.job_execution(&last, &job).is_none());
    assert_eq!(fleet.world.cloud.job_executions(&job).len(), 20);
    now = now + 5_000;
    fleet.advance_to(now);
    let after = HEAP.allocated();

    let grown = peak.saturating_sub(before);
    let kept = after.saturating_sub(before);
    eprintln!(
        "heap: {before} B with 20 devices, {peak} B with 1,020, {after} B after removing 1,000"
    );
    assert!(
        grown > 1_000_000,
        "a thousand devices hold memory: {grown} B"
    );
    assert!(
        kept * 50 < grown,
        "{kept} B of the {grown} B the thousand devices took stayed after they were removed"
    );
}
