//! Jobs for fleets: thing groups as targets, CONTINUOUS jobs reaching later members, UUID job
//! ids, and the roll-out controls beyond the Fleets docs (a rate, an abort rule).

use serde_json::json;
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::Cloud;
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::jobs::cloud::{AbortRule, JobState, JobType, JobsCloud, NewJob, Rollout};
use thingsim_fleet::topics::{JobsTopic, Reply};
use thingsim_mqtt::Millis;

fn things(prefix: &str, n: usize) -> Vec<ThingName> {
    (1..=n)
        .map(|i| ThingName::new(&format!("{prefix}-{i}")).unwrap())
        .collect()
}

fn job(rollout: Rollout) -> NewJob {
    NewJob {
        description: "firmware".into(),
        document: json!({"action": "updateFirmware", "params": {"version": "2"}}),
        rollout,
        ..NewJob::default()
    }
}

/// The device's side of one execution: start it, then end it as `status`.
fn finish(cloud: &mut JobsCloud, now: u64, thing: &ThingName, job_id: &str, status: &str) {
    cloud.handle_request(now, thing, &JobsTopic::StartNext(Reply::Request), b"{}");
    let update = format!(r#"{{"status":"{status}"}}"#);
    let topic = JobsTopic::JobUpdate(job_id.to_owned(), Reply::Request);
    cloud.handle_request(now, thing, &topic, update.as_bytes());
}

fn status(cloud: &JobsCloud, thing: &ThingName, job_id: &str) -> Option<JobStatus> {
    cloud.execution(thing, job_id).map(|e| e.status)
}

#[test]
fn job_ids_are_uuids_drawn_from_the_seed_and_jobs_list_in_creation_order() {
    let targets = things("t", 1);
    let ids = |seed| {
        let mut cloud = JobsCloud::default();
        cloud.seed_ids(seed);
        (0..3)
            .map(|_| {
                cloud
                    .create(1, job(Rollout::default()), &targets)
                    .unwrap()
                    .0
            })
            .collect::<Vec<_>>()
    };
    let first = ids(7);
    for id in &first {
        let hex = |s: &str, n| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 5, "{id}");
        assert!(
            hex(parts[0], 8)
                && hex(parts[1], 4)
                && hex(parts[2], 4)
                && hex(parts[3], 4)
                && hex(parts[4], 12),
            "{id}"
        );
        assert!(parts[2].starts_with('4'), "version 4: {id}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "variant: {id}"
        );
    }
    assert_eq!(first, ids(7), "one seed, one set of ids");
    assert!(
        first.iter().all(|id| !ids(8).contains(id)),
        "another seed, other ids"
    );
    assert_ne!(first[0], first[1]);
    // A seed with every bit set (a backend's time-derived seed has many) still gives each job
    // its own id.
    let all_bits = ids(u64::MAX);
    assert!(
        all_bits[0] != all_bits[1] && all_bits[1] != all_bits[2],
        "{all_bits:?}"
    );
    let mut cloud = JobsCloud::default();
    let made: Vec<String> = (0..12)
        .map(|_| {
            cloud
                .create(1, job(Rollout::default()), &targets)
                .unwrap()
                .0
        })
        .collect();
    let listed: Vec<String> = cloud.jobs().map(|j| j.job_id.clone()).collect();
    assert_eq!(listed, made, "oldest first, not by id");
}

#[test]
fn a_group_job_reaches_the_members_and_a_continuous_one_also_later_members() {
    let mut cloud = Cloud::default();
    let now = Millis(1_000_000);
    assert_eq!(cloud.create_group("lamps").ok(), Some(true));
    assert_eq!(cloud.create_group("lamps").ok(), Some(false), "exists");
    assert!(cloud.create_group("").is_err() && cloud.create_group("a\nb").is_err());
    let lamps = things("lamp", 4);
    for lamp in &lamps[..3] {
        cloud.add_to_group(now, "lamps", lamp).unwrap();
    }
    assert!(
        cloud.has_thing(&lamps[0]),
        "joining a group registers the thing"
    );
    let snapshot = cloud
        .create_fleet_job(
            now,
            NewJob {
                target_groups: vec!["lamps".into()],
                ..job(Rollout::default())
            },
            &lamps[..1], // named and in the group: one execution
        )
        .unwrap();
    let continuous = cloud
        .create_fleet_job(
            now,
            NewJob {
                target_groups: vec!["lamps".into()],
                job_type: JobType::Continuous,
                ..job(Rollout::default())
            },
            &[],
        )
        .unwrap();
    assert_eq!(cloud.job_executions(&snapshot).len(), 3);
    cloud.add_to_group(now, "lamps", &lamps[3]).unwrap();
    assert!(
        cloud.job_execution(&lamps[3], &snapshot).is_none(),
        "a snapshot is a snapshot"
    );
    assert_eq!(
        cloud
            .job_execution(&lamps[3], &continuous)
            .map(|e| e.status),
        Some(JobStatus::Queued),
        "a continuous job reaches a new member"
    );
    cloud.add_to_group(now, "lamps", &lamps[3]).unwrap();
    assert_eq!(
        cloud.job_executions(&continuous).len(),
        4,
        "joining twice is joining once"
    );
    assert_eq!(cloud.remove_from_group("lamps", &lamps[0]).ok(), Some(true));
    assert_eq!(cloud.groups().next().map(|(_, m)| m.len()), Some(3));
    let unknown = NewJob {
        target_groups: vec!["ghosts".into()],
        ..job(Rollout::default())
    };
    assert!(cloud.create_fleet_job(now, unknown, &[]).is_err());
    assert_eq!(cloud.jobs().count(), 2, "an unknown group creates nothing");
    assert!(cloud.add_to_group(now, "ghosts", &lamps[0]).is_err());
    // A continuous job over a group stays open for members to come.
    assert_eq!(
        cloud.job(&continuous).map(|j| j.state),
        Some(JobState::InProgress)
    );
}

#[test]
fn a_rate_limited_roll_out_starts_so_many_a_minute_and_asks_to_be_woken_for_the_next() {
    let mut cloud = JobsCloud::default();
    let fleet = things("m", 7);
    let rollout = Rollout {
        max_per_minute: Some(3),
        abort: None,
    };
    let (id, out) = cloud.create(100, job(rollout), &fleet).unwrap();
    let started = |c: &JobsCloud| fleet.iter().filter(|t| status(c, t, &id).is_some()).count();
    assert_eq!(started(&cloud), 3);
    assert_eq!(out.len(), 6, "notify and notify-next for the three reached");
    assert_eq!(cloud.poll_timeout(), Some(160), "woken for the next minute");
    assert!(cloud.handle_timeout(159).is_empty());
    assert_eq!(started(&cloud), 3);
    cloud.handle_timeout(160);
    assert_eq!(started(&cloud), 6);
    assert_eq!(cloud.job(&id).map(|j| j.waiting.len()), Some(1));
    cloud.handle_timeout(220);
    assert_eq!(started(&cloud), 7);
    assert_eq!(cloud.poll_timeout(), None, "nothing waits");
    for t in &fleet {
        finish(&mut cloud, 230, t, &id, "SUCCEEDED");
    }
    assert_eq!(cloud.job(&id).map(|j| j.state), Some(JobState::Completed));
    for bad in [
        Rollout {
            max_per_minute: Some(0),
            abort: None,
        },
        Rollout {
            max_per_minute: None,
            abort: Some(AbortRule {
                failure_percent: 101,
                min_finished: 1,
            }),
        },
    ] {
        assert!(cloud.create(1, job(bad), &fleet).is_err(), "{bad:?}");
    }
}

#[test]
fn too_many_failures_abort_the_roll_out_and_what_had_not_run_is_canceled() {
    let mut cloud = JobsCloud::default();
    let fleet = things("d", 10);
    let rollout = Rollout {
        max_per_minute: Some(6),
        abort: Some(AbortRule {
            failure_percent: 50,
            min_finished: 4,
        }),
    };
    let (id, _) = cloud.create(0, job(rollout), &fleet).unwrap();
    finish(&mut cloud, 1, &fleet[0], &id, "FAILED");
    finish(&mut cloud, 2, &fleet[1], &id, "REJECTED");
    finish(&mut cloud, 3, &fleet[2], &id, "SUCCEEDED");
    assert_eq!(
        cloud.job(&id).map(|j| j.state),
        Some(JobState::InProgress),
        "3 finished < 4"
    );
    finish(&mut cloud, 4, &fleet[3], &id, "SUCCEEDED");
    assert_eq!(
        cloud.job(&id).map(|j| j.state),
        Some(JobState::InProgress),
        "2 of 4 is not over 50 %"
    );
    finish(&mut cloud, 5, &fleet[4], &id, "FAILED");
    let job = cloud.job(&id).unwrap();
    assert_eq!(job.state, JobState::Canceled, "3 of 5 failed");
    assert!(
        job.abort_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("3 of 5")),
        "{job:?}"
    );
    assert!(
        job.waiting.is_empty(),
        "the targets still waiting are dropped"
    );
    assert_eq!(status(&cloud, &fleet[5], &id), Some(JobStatus::Canceled));
    assert_eq!(
        status(&cloud, &fleet[0], &id),
        Some(JobStatus::Failed),
        "finished ones stay"
    );
    assert_eq!(status(&cloud, &fleet[9], &id), None, "never reached");
    cloud.handle_timeout(120);
    assert_eq!(
        status(&cloud, &fleet[9], &id),
        None,
        "an aborted roll-out releases no more"
    );
}

#[test]
fn a_job_keeps_what_it_was_created_with_and_says_how_long_a_step_may_take() {
    let mut cloud = JobsCloud::default();
    let fleet = things("k", 2);
    let (id, _) = cloud
        .create_job(
            0,
            "nightly",
            json!({"action": "reboot"}),
            &fleet,
            JobType::Continuous,
            Some(3),
        )
        .unwrap();
    let made = cloud.job(&id).unwrap();
    assert_eq!(
        (
            made.description.as_str(),
            made.job_type,
            made.step_timeout_minutes
        ),
        ("nightly", JobType::Continuous, Some(3))
    );
    let out = cloud.handle_request(10, &fleet[0], &JobsTopic::StartNext(Reply::Request), b"{}");
    let accepted: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
    assert_eq!(
        accepted["execution"]["approximateSecondsBeforeTimedOut"],
        json!(180)
    );
    // Without groups a continuous job completes when its executions do; with a group it stays
    // open for members to come.
    for t in &fleet {
        finish(&mut cloud, 20, t, &id, "SUCCEEDED");
    }
    assert_eq!(cloud.job(&id).map(|j| j.state), Some(JobState::Completed));
    let grouped = NewJob {
        job_type: JobType::Continuous,
        target_groups: vec!["g".into()],
        ..job(Rollout::default())
    };
    let (open, _) = cloud.create(30, grouped, &fleet[..1]).unwrap();
    finish(&mut cloud, 31, &fleet[0], &open, "SUCCEEDED");
    assert_eq!(
        cloud.job(&open).map(|j| j.state),
        Some(JobState::InProgress)
    );
    let snapshot = NewJob {
        target_groups: vec!["g".into()],
        ..job(Rollout::default())
    };
    let (closed, _) = cloud.create(40, snapshot, &fleet[1..]).unwrap();
    finish(&mut cloud, 41, &fleet[1], &closed, "SUCCEEDED");
    assert_eq!(
        cloud.job(&closed).map(|j| j.state),
        Some(JobState::Completed)
    );
    // An abort threshold of exactly 100 % is allowed (it never fires).
    let never = Rollout {
        max_per_minute: None,
        abort: Some(AbortRule {
            failure_percent: 100,
            min_finished: 1,
        }),
    };
    assert!(cloud.create(50, job(never), &fleet).is_ok());
}
