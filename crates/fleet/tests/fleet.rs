//! A fleet in the sandbox's world: names from a pattern, an exact seeded outcome mix, group
//! roll-outs with a rate and an abort rule, and the figures a fleet view shows.

use serde_json::json;
use thingsim_fleet::fleet::{Behaviour, Fleet, FleetSpec, MAX_DEVICES, Mix};
use thingsim_fleet::jobs::cloud::{AbortRule, JobType, Rollout};
use thingsim_fleet::model::{ENVIRONMENT_SENSOR, Generator, SMART_LIGHT, THERMOSTAT};
use thingsim_fleet::shadow::state::State;
use thingsim_mqtt::Millis;

const START: Millis = Millis(1_748_390_400_000);

fn lamps(count: u32, mix: &str) -> FleetSpec {
    FleetSpec {
        count,
        pattern: "lamp-{n}".into(),
        start: 1000,
        seed: 7,
        mix: Mix::parse(mix).unwrap(),
        ..FleetSpec::new(&SMART_LIGHT)
    }
}

fn firmware() -> serde_json::Value {
    json!({"action": "updateFirmware", "params": {"version": "9.9.9"}})
}

fn count(fleet: &Fleet, status: &str) -> usize {
    fleet
        .metrics()
        .job
        .and_then(|j| j.by_status.get(status).copied())
        .unwrap_or(0)
}

#[test]
fn the_mix_is_read_checked_and_assigned_exactly_by_the_seed() {
    let mix = Mix::parse("reject:5, fail:20@3,stall:5,offline:5,cmdreject:5,flap:10@15").unwrap();
    assert_eq!(
        (mix.fail, mix.fail_step, mix.flap, mix.flap_every_s),
        (20, 3, 10, 15)
    );
    for bad in [
        "fail:101",
        "fail:x",
        "boom:5",
        "fail:60,reject:50",
        "fail:5@0",
        "fail",
    ] {
        assert!(Mix::parse(bad).is_err(), "{bad}");
    }
    let assigned = mix.assign(50, 7);
    let n = |b: Behaviour| assigned.iter().filter(|x| **x == b).count();
    assert_eq!(n(Behaviour::FailJobs(3)), 10, "20 % of 50");
    assert_eq!(n(Behaviour::Flap(15)), 5);
    assert_eq!(n(Behaviour::RejectJobs), 3, "5 % of 50 rounds to 3");
    assert_eq!(n(Behaviour::Healthy), 50 - 10 - 5 - 3 * 4);
    assert_eq!(assigned, mix.assign(50, 7), "one seed, one fleet");
    assert_ne!(
        assigned,
        mix.assign(50, 8),
        "another seed, other devices misbehave"
    );
    assert_eq!(
        Mix::parse("").unwrap().assign(3, 1),
        vec![Behaviour::Healthy; 3]
    );
}

/// `key=value&…` as decoded pairs (the page decodes percent escapes first).
fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn a_fleet_is_built_from_the_url_and_bad_parameters_say_why() {
    let mut spec = FleetSpec::new(&THERMOSTAT);
    let errors = spec.apply_query(&pairs(
        "view=fleet&template=smart-light&count=50&pattern=lamp-{n}&start=1000&seed=42&mix=fail:20@2&group=lamps&telemetry=1",
    ));
    assert_eq!(spec.telemetry_ms, Some(1_000));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        (
            spec.template.id,
            spec.count,
            spec.start,
            spec.seed,
            spec.group.as_str()
        ),
        ("smart-light", 50, 1000, 42, "lamps")
    );
    assert_eq!(spec.name(1003).unwrap().as_str(), "lamp-1003");
    let errors = spec.apply_query(&pairs(&format!(
        "template=toaster&count={}&pattern=lamp&mix=boom:1",
        MAX_DEVICES + 1
    )));
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("{n}")));
    // Names nobody chose follow the template; chosen ones stay, before or after it.
    let mut lights = FleetSpec::new(&THERMOSTAT);
    assert!(
        lights
            .apply_query(&pairs("template=smart-light"))
            .is_empty()
    );
    assert_eq!(lights.name(3).unwrap().as_str(), "smart-light-3");
    for query in [
        "pattern=lamp-{n}&template=smart-light",
        "template=smart-light&pattern=lamp-{n}",
    ] {
        let mut chosen = FleetSpec::new(&THERMOSTAT);
        assert!(chosen.apply_query(&pairs(query)).is_empty());
        assert_eq!(chosen.name(3).unwrap().as_str(), "lamp-3", "{query}");
    }
    let mut slash = FleetSpec::new(&THERMOSTAT);
    assert_eq!(
        slash.apply_query(&pairs("pattern=a/{n}")).len(),
        1,
        "a thing name has no /"
    );
}

#[test]
fn a_group_roll_out_with_a_seeded_twenty_percent_failure_mix_ends_with_exactly_those_counts() {
    let mut fleet = Fleet::new(START, lamps(50, "fail:20@2")).unwrap();
    let names: Vec<&str> = fleet.members().iter().map(|m| m.thing.as_str()).collect();
    assert_eq!((names[0], names[49]), ("lamp-1000", "lamp-1049"));
    fleet.advance_to(START + 2_000);
    assert_eq!(fleet.metrics().connected, 50);
    fleet
        .roll_out(firmware(), JobType::Snapshot, None, Rollout::default())
        .unwrap();
    fleet.advance_to(START + 30_000);
    assert_eq!(
        (count(&fleet, "Succeeded"), count(&fleet, "Failed")),
        (40, 10)
    );
    let failed: Vec<String> = fleet
        .cards()
        .into_iter()
        .filter(|c| c.job == Some(thingsim_fleet::jobs::JobStatus::Failed))
        .map(|c| c.thing)
        .collect();
    assert_eq!(failed.len(), 10);
    // The same seed fails the same devices.
    let mut again = Fleet::new(START, lamps(50, "fail:20@2")).unwrap();
    again.advance_to(START + 2_000);
    again
        .roll_out(firmware(), JobType::Snapshot, None, Rollout::default())
        .unwrap();
    again.advance_to(START + 30_000);
    let again_failed: Vec<String> = again
        .cards()
        .into_iter()
        .filter(|c| c.job == Some(thingsim_fleet::jobs::JobStatus::Failed))
        .map(|c| c.thing)
        .collect();
    assert_eq!(failed, again_failed);
    let csv = fleet.to_csv();
    assert_eq!(csv.lines().count(), 51, "a header and a line per device");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("lamp-1000,\"fleet\",true,")
    );
    let doc = fleet.to_json();
    assert_eq!(doc["job"]["byStatus"]["Failed"], json!(10));
    assert_eq!(doc["devicesDetail"].as_array().map(Vec::len), Some(50));
}

#[test]
fn a_roll_out_goes_at_its_rate_and_aborts_past_its_failure_threshold() {
    let mut fleet = Fleet::new(START, lamps(20, "")).unwrap();
    fleet.advance_to(START + 2_000);
    let rate = Rollout {
        max_per_minute: Some(5),
        abort: None,
    };
    fleet
        .roll_out(firmware(), JobType::Snapshot, None, rate)
        .unwrap();
    fleet.advance_to(START + 20_000);
    let m = fleet.metrics().job.unwrap();
    assert_eq!((m.by_status.values().sum::<usize>(), m.waiting), (5, 15));
    fleet.advance_to(START + 250_000);
    assert_eq!(
        count(&fleet, "Succeeded"),
        20,
        "four minutes later, everyone"
    );

    let mut bad = Fleet::new(START, lamps(20, "fail:60@1")).unwrap();
    bad.advance_to(START + 2_000);
    let careful = Rollout {
        max_per_minute: Some(10),
        abort: Some(AbortRule {
            failure_percent: 20,
            min_finished: 5,
        }),
    };
    bad.roll_out(firmware(), JobType::Snapshot, None, careful)
        .unwrap();
    bad.advance_to(START + 200_000);
    let m = bad.metrics().job.unwrap();
    assert!(m.aborted.is_some(), "{m:?}");
    assert_eq!(m.waiting, 0, "the second minute's devices never got it");
    assert!(m.by_status.values().sum::<usize>() <= 10);
}

#[test]
fn a_continuous_roll_out_reaches_devices_added_later_and_removed_devices_are_gone() {
    let mut fleet = Fleet::new(START, lamps(10, "")).unwrap();
    fleet.advance_to(START + 2_000);
    fleet
        .roll_out(firmware(), JobType::Continuous, None, Rollout::default())
        .unwrap();
    fleet.advance_to(START + 20_000);
    fleet.add(5).unwrap();
    fleet.advance_to(START + 40_000);
    assert_eq!(count(&fleet, "Succeeded"), 15);
    assert_eq!(
        fleet.members().last().map(|m| m.thing.as_str()),
        Some("lamp-1014")
    );
    fleet.remove(12);
    assert_eq!((fleet.members().len(), fleet.world.nodes.len()), (3, 3));
    assert_eq!(
        fleet.world.cloud.groups().next().map(|(_, m)| m.len()),
        Some(3)
    );
    fleet.advance_to(START + 50_000);
    assert_eq!(fleet.metrics().connected, 3);
    fleet.add(2).unwrap();
    assert_eq!(
        fleet.members().last().map(|m| m.thing.as_str()),
        Some("lamp-1004"),
        "numbers go on from the last kept"
    );
    assert!(fleet.add(MAX_DEVICES as usize).is_err());
}

#[test]
fn stalled_and_dropped_devices_time_out_commands_are_refused_and_flappers_come_back() {
    let mut fleet = Fleet::new(
        START,
        lamps(20, "stall:10,offline:10,cmdreject:10,flap:10@10"),
    )
    .unwrap();
    fleet.advance_to(START + 2_000);
    fleet
        .roll_out(firmware(), JobType::Snapshot, Some(1), Rollout::default())
        .unwrap();
    fleet.advance_to(START + 150_000);
    assert_eq!(
        count(&fleet, "TimedOut"),
        4,
        "two stalled, two dropped off (step timeout 1 min): {:?}",
        fleet.metrics().job
    );
    let offline = fleet
        .members()
        .iter()
        .filter(|m| m.behaviour == Behaviour::OfflineMidJob)
        .count();
    assert_eq!(offline, 2);
    let refusing = fleet
        .members()
        .iter()
        .find(|m| m.behaviour == Behaviour::RejectCommands)
        .map(|m| m.thing.clone())
        .unwrap();
    let id = fleet
        .world
        .with_cloud(|c, now| c.send_command(now, &refusing, "blink", serde_json::Map::new(), 30));
    fleet.advance_to(START + 152_000);
    let status = fleet
        .world
        .cloud
        .execution(&id)
        .map(|e| format!("{:?}", e.status));
    assert_eq!(status.as_deref(), Some("Rejected"));
    // Flappers drop every 10 s and are back 2 s later.
    let mut lowest = usize::MAX;
    for t in 0..30 {
        fleet.advance_to(START + 152_000 + t * 500);
        lowest = lowest.min(fleet.metrics().connected);
    }
    assert!(lowest < 20 - 2, "flappers were seen away: {lowest}");
    fleet.advance_to(START + 600_000);
    assert!(
        fleet.metrics().connected >= 18,
        "the dropped ones came back after 5 minutes"
    );
}

#[test]
fn desired_state_for_the_whole_fleet_converges_and_the_time_it_took_is_measured() {
    let mut fleet = Fleet::new(START, lamps(30, "")).unwrap();
    fleet.advance_to(START + 2_000);
    let desired = json!({"brightness": 33}).as_object().cloned().unwrap();
    fleet.set_desired(&desired).unwrap();
    assert_eq!(fleet.metrics().delta_pending, 30);
    fleet.advance_to(START + 5_000);
    let m = fleet.metrics();
    assert_eq!(m.delta_pending, 0);
    assert_eq!(m.converged, 30);
    let (p50, p95) = m.convergence_ms.unwrap();
    assert!(p50 <= p95 && p95 <= 3_000, "{p50} {p95}");
    assert!(m.messages_in > 60 && m.messages_out > 30, "{m:?}");
}

#[test]
fn only_the_refusing_devices_refuse_and_the_cards_show_deltas_and_progress() {
    let mut fleet = Fleet::new(START, lamps(10, "cmdreject:10")).unwrap();
    fleet.advance_to(START + 2_000);
    let healthy = fleet
        .members()
        .iter()
        .find(|m| m.behaviour == Behaviour::Healthy)
        .map(|m| m.thing.clone())
        .unwrap();
    let id = fleet
        .world
        .with_cloud(|c, now| c.send_command(now, &healthy, "blink", serde_json::Map::new(), 30));
    fleet.advance_to(START + 3_000);
    let status = fleet
        .world
        .cloud
        .execution(&id)
        .map(|e| format!("{:?}", e.status));
    assert_eq!(status.as_deref(), Some("Succeeded"));

    // Desired state set: every card says a delta is pending until the devices report.
    let desired = json!({"brightness": 12}).as_object().cloned().unwrap();
    fleet.set_desired(&desired).unwrap();
    assert!(fleet.cards().iter().all(|c| c.delta_pending));
    fleet.advance_to(START + 5_000);
    assert!(fleet.cards().iter().all(|c| !c.delta_pending));

    // A job runs: cards show its progress while in progress, none once done.
    fleet
        .roll_out(firmware(), JobType::Snapshot, None, Rollout::default())
        .unwrap();
    fleet.advance_to(START + 7_500);
    let progress: Vec<Option<u32>> = fleet.cards().iter().map(|c| c.progress).collect();
    assert!(
        progress.iter().all(|p| p.is_some_and(|p| p > 0 && p < 100)),
        "{progress:?}"
    );
    fleet.advance_to(START + 30_000);
    assert!(fleet.cards().iter().all(|c| c.progress.is_none()));
}

#[test]
fn flappers_drop_on_their_period_and_are_back_two_seconds_later_and_readings_differ() {
    let mut fleet = Fleet::new(START, lamps(10, "flap:10@10")).unwrap();
    let flapper = fleet
        .members()
        .iter()
        .position(|m| matches!(m.behaviour, Behaviour::Flap(10)))
        .unwrap();
    let online = |f: &Fleet| f.world.nodes[f.members()[flapper].idx].online;
    fleet.advance_to(START + 9_900);
    assert!(online(&fleet), "not before 10 s");
    fleet.advance_to(START + 10_100);
    assert!(!online(&fleet), "away at 10 s");
    fleet.advance_to(START + 11_900);
    assert!(!online(&fleet), "still away before 2 s passed");
    fleet.advance_to(START + 12_100);
    assert!(online(&fleet), "back 2 s later");

    let mut sensors = Fleet::new(
        START,
        FleetSpec {
            count: 4,
            telemetry_ms: Some(1_000),
            ..FleetSpec::new(&ENVIRONMENT_SENSOR)
        },
    )
    .unwrap();
    sensors.advance_to(START + 20_000);
    let readings: Vec<String> = sensors
        .world
        .nodes
        .iter()
        .map(|n| serde_json::to_string(n.device.model().state()).unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<&String> = readings.iter().collect();
    assert_eq!(
        distinct.len(),
        4,
        "each device wanders its own way: {readings:?}"
    );
}

#[test]
fn the_largest_fleet_is_allowed_and_one_more_is_not() {
    let mut spec = FleetSpec::new(&THERMOSTAT);
    assert!(
        spec.apply_query(&pairs(&format!("count={MAX_DEVICES}")))
            .is_empty()
    );
    assert_eq!(spec.count, MAX_DEVICES);
    assert!(spec.apply_query(&pairs("group=")).is_empty());
    assert_eq!(spec.group, "fleet", "an empty group name keeps the default");
}

#[test]
fn groups_have_their_own_template_mix_generator_and_figures_and_a_roll_out_can_target_one() {
    let mut fleet = Fleet::new(START, lamps(20, "fail:50@2")).unwrap();
    let sensors = FleetSpec {
        count: 10,
        pattern: "sensor-{n}".into(),
        group: "sensors".into(),
        seed: 3,
        generator: Generator::Constant,
        telemetry_ms: Some(1_000),
        jitter_percent: 20,
        ..FleetSpec::new(&ENVIRONMENT_SENSOR)
    };
    let g = fleet.add_group(sensors.clone()).unwrap();
    assert_eq!(g, 1);
    // A second group with the same name, or names already in the fleet, is refused whole.
    assert!(
        fleet
            .add_group(sensors.clone())
            .unwrap_err()
            .contains("already")
    );
    let clash = FleetSpec {
        group: "other".into(),
        ..sensors
    };
    assert!(fleet.add_group(clash).unwrap_err().contains("sensor-1"));
    assert_eq!(fleet.members().len(), 30);
    assert_eq!(fleet.groups().count(), 2);
    assert!(!fleet.world.cloud.groups().any(|(name, _)| name == "other"));

    fleet.advance_to(START + 3_000);
    // A constant generator: the sensors' readings never move, so after the first report
    // they send nothing more however often they tick.
    let sensor_state = fleet.world.nodes[fleet.members()[25].idx]
        .device
        .model()
        .state()
        .clone();
    fleet.advance_to(START + 13_000);
    assert_eq!(
        fleet.world.nodes[fleet.members()[25].idx]
            .device
            .model()
            .state(),
        &sensor_state
    );

    let job = fleet
        .roll_out_to(
            Some(0),
            firmware(),
            JobType::Snapshot,
            None,
            Rollout::default(),
        )
        .unwrap();
    fleet.advance_to(START + 40_000);
    assert_eq!(
        fleet.world.cloud.job_executions(&job).len(),
        20,
        "the lamps only"
    );
    let mut desired = State::new();
    desired.insert("reportInterval".into(), json!(20));
    assert_eq!(fleet.set_desired_in(Some(1), &desired).unwrap(), 10);
    fleet.advance_to(START + 45_000);

    let m = fleet.metrics();
    let (lamps_fig, sensor_fig) = (&m.groups[0], &m.groups[1]);
    assert_eq!((lamps_fig.name.as_str(), lamps_fig.devices), ("fleet", 20));
    assert_eq!(
        (lamps_fig.job.get("Failed"), lamps_fig.job.get("Succeeded")),
        (Some(&10), Some(&10))
    );
    assert_eq!(
        (
            sensor_fig.name.as_str(),
            sensor_fig.devices,
            sensor_fig.connected
        ),
        ("sensors", 10, 10)
    );
    assert!(
        sensor_fig.job.is_empty(),
        "the roll-out skipped the sensors"
    );
    assert!(sensor_fig.convergence_ms.is_some());
    assert!(
        lamps_fig.convergence_ms.is_none(),
        "nothing was asked of the lamps"
    );
    assert_eq!(
        sensor_fig.about,
        "Environment sensor · constant · every 1 s ± 20 %"
    );
    let doc = fleet.to_json();
    assert_eq!(doc["groups"][1]["group"], json!("sensors"));
    assert_eq!(doc["devicesDetail"][25]["group"], json!("sensors"));

    // Removal takes the newest: the sensors go first, and their numbers start over.
    fleet.remove(15);
    assert_eq!(fleet.metrics().groups[1].devices, 0);
    assert_eq!(fleet.metrics().groups[0].devices, 15);
    fleet.add_to(1, 2).unwrap();
    let last = fleet.members().last().unwrap().thing.to_string();
    assert_eq!(last, "sensor-2");
}

#[test]
fn one_device_is_watched_in_full_while_the_rest_stay_quiet() {
    use thingsim_fleet::cloud::CloudEvent;
    use thingsim_fleet::device::DeviceEvent;
    let mut fleet = Fleet::new(START, lamps(10, "")).unwrap();
    fleet.advance_to(START + 1_000);
    assert!(fleet.take_watched().is_none());
    assert!(
        fleet
            .watch(Some("lamp-2000"))
            .unwrap_err()
            .contains("not in the fleet")
    );
    fleet.watch(Some("lamp-1003")).unwrap();
    let thing = fleet.members()[3].thing.clone();
    let mut desired = State::new();
    desired.insert("on".into(), json!(true));
    // Every lamp gets a delta; only lamp-1003's news is kept.
    fleet.set_desired(&desired).unwrap();
    fleet.advance_to(START + 2_000);
    let w = fleet.take_watched().unwrap();
    assert_eq!(w.thing, thing);
    assert!(
        w.events
            .iter()
            .any(|e| matches!(e, DeviceEvent::DeltaApplied { .. })),
        "{:?}",
        w.events
    );
    let idx = fleet.device("lamp-1003").unwrap();
    assert!(!w.wire.is_empty() && w.wire.iter().all(|m| m.device == idx));
    assert!(
        w.wire
            .iter()
            .any(|m| !m.outgoing && m.message.topic.ends_with("update/delta"))
    );
    assert!(!w.cloud.is_empty());
    assert!(w.cloud.iter().all(|e| match e {
        CloudEvent::ShadowUpdated { thing: t, .. } => t == &thing,
        _ => true,
    }));
    // Taken once.
    assert!(fleet.take_watched().unwrap().events.is_empty());

    fleet.drop_link("lamp-1003", 2_000);
    assert!(!fleet.world.nodes[idx].online);
    fleet.advance_to(START + 4_500);
    assert!(fleet.world.nodes[idx].online, "back after the pause");

    // Removed, it is no longer watched, and the world stops recording.
    fleet.remove(7);
    assert!(fleet.take_watched().is_none());
    assert!(!fleet.world.trace);
}
