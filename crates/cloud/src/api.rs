//! The HTTP API as a pure function: (method, path, headers, body) in, (status, JSON) out, over
//! the pure [`Cloud`]. The server loop only moves bytes; everything here is testable without
//! sockets.
//!
//! The routes and bodies are typed once in `thingsim_fleet::api` (its table lists them); the
//! page builds its requests from the same types.
//!
//! The jobs endpoints answer exactly what the MQTT `…/accepted` topic would carry; a
//! `…/rejected` answer becomes 400 (InvalidJson, InvalidRequest), 404 (ResourceNotFound) or 409
//! (InvalidStateTransition, VersionMismatch, TerminalStateReached) with the rejection as body.
//!
//! Errors are `{"error": "…"}` with 400, 401, 404, 405, 409 or 413.

use serde::Deserialize;
use serde_json::{Value, json};
use thingsim_fleet::ThingName;
use thingsim_fleet::api::{
    CreateGroup, CreateJob, CreateThing, DeviceEvent, Method, Report, Route, SendCommand, Unrouted,
    Update,
};
use thingsim_fleet::cloud::{Cloud, Presence};
use thingsim_fleet::jobs::cloud::NewJob;
use thingsim_fleet::shadow::cloud::Shadow;
use thingsim_mqtt::Millis;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// An answer: status and JSON body.
pub type Answer = (u16, Value);

/// What the API needs besides the cloud.
#[derive(Debug, Clone, Default)]
pub struct ApiConfig {
    /// `apiKey:apiSecret` for the ThingDatas endpoints; `None` refuses them all (401).
    pub device_credentials: Option<String>,
    /// `key:secret` for the management endpoints; `None` leaves them open (loopback only).
    pub admin_credentials: Option<String>,
}

fn error(status: u16, message: impl Into<String>) -> Answer {
    (status, json!({ "error": message.into() }))
}

/// Routes one request. `authorization` is the raw `Authorization` header, if any.
pub fn handle(
    cloud: &mut Cloud,
    config: &ApiConfig,
    now: Millis,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> Answer {
    if body.len() > MAX_BODY {
        return error(
            413,
            format!(
                "the body is {} bytes; at most {MAX_BODY} are accepted",
                body.len()
            ),
        );
    }
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // Every ThingDatas path, known or not, needs the device key: 401 comes before 404, so an
    // unauthenticated caller learns nothing about what exists.
    let credentials = if segments.starts_with(&["api", "v1", "thing-datas"]) {
        Some(config.device_credentials.as_deref())
    } else if segments.starts_with(&["api", "v1"]) {
        config.admin_credentials.as_deref().map(Some)
    } else {
        None
    };
    if let Some(expected) = credentials
        && let Err(denied) = authorize(expected, authorization)
    {
        return denied;
    }
    let (method, route) = match Route::resolve(method, path) {
        Ok(found) => found,
        Err(Unrouted::MethodNotAllowed) => {
            return error(405, format!("{method} {path} is not part of the API"));
        }
        Err(Unrouted::NotFound) => return error(404, format!("nothing at {path}")),
    };
    match (method, route) {
        (Method::Get, Route::Things) => {
            let data: Vec<Value> = cloud
                .things()
                .map(|t| {
                    let s = cloud.shadow(t);
                    let presence = cloud.presence(now, t);
                    let (last_seen, why) = match presence {
                        Presence::Unknown => (None, None),
                        Presence::Online { last_seen } => (Some(last_seen), None),
                        Presence::Offline { last_seen, why } => (Some(last_seen), Some(why)),
                    };
                    json!({"thingName": t.as_str(), "version": s.version, "updatedAt": rfc3339(s.updated_at), "deltaPending": !s.delta().is_empty(),
                        "connection": presence.as_str(), "lastSeen": last_seen.map(|m| rfc3339(m.0 / 1000)), "offlineReason": why})
                })
                .collect();
            (200, json!({ "data": data }))
        }
        (_, Route::Things) => {
            let body: CreateThing = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            if let Some(why) = client_id_error(body.client_id.as_deref()) {
                return error(400, why);
            }
            match ThingName::new(&body.thing_name) {
                Err(e) => error(400, e.to_string()),
                Ok(thing) if !cloud.has_room_for(&thing) => full(),
                Ok(thing) if cloud.create_thing(&thing) => (
                    201,
                    json!({ "thingName": thing.as_str(), "clientId": body.client_id }),
                ),
                Ok(thing) => error(409, format!("thing {thing} already exists")),
            }
        }
        (_, Route::Credentials(name)) => {
            // The body may be empty: `{}`, or only a client id.
            let body: CreateThing = if body.iter().all(u8::is_ascii_whitespace) {
                CreateThing::default()
            } else {
                match parse(body) {
                    Ok(b) => b,
                    Err(e) => return e,
                }
            };
            if let Some(why) = client_id_error(body.client_id.as_deref()) {
                return error(400, why);
            }
            let thing = match ThingName::new(&name) {
                Ok(t) => t,
                Err(e) => return error(400, e.to_string()),
            };
            let status = if cloud.has_thing(&thing) {
                200
            } else if !cloud.has_room_for(&thing) {
                return full();
            } else {
                cloud.create_thing(&thing);
                201
            };
            // The credentials themselves come from the broker (thingsim-cloud's main adds them
            // once this is stored): this function only registers.
            (
                status,
                json!({ "thingName": thing.as_str(), "clientId": body.client_id }),
            )
        }
        (_, Route::Shadow(name)) => match known(cloud, &name) {
            Ok(thing) => (200, document(&cloud.shadow(&thing))),
            Err(e) => e,
        },
        (_, Route::Desired(name)) => {
            let thing = match known(cloud, &name) {
                Ok(t) => t,
                Err(e) => return e,
            };
            let update = match Update::from_slice(body) {
                Ok(u) => u,
                Err(e) => return error(400, e.to_string()),
            };
            let Some(desired) = update.state.desired else {
                return error(
                    400,
                    "state.desired is required; reported state belongs to the device",
                );
            };
            match cloud.set_desired_at_version(now, &thing, desired, update.version) {
                Ok(accepted) => (200, json!({ "version": accepted.version })),
                Err(rejection) => error(rejection.code, rejection.message),
            }
        }
        (_, Route::Commands) => {
            let body: SendCommand = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let thing = match known(cloud, &body.thing_name) {
                Ok(t) => t,
                Err(e) => return e,
            };
            if body.action.trim().is_empty() || !(1..=3600).contains(&body.ttl) {
                return error(
                    400,
                    "action must be non-empty and ttl between 1 and 3600 seconds",
                );
            }
            let id = cloud.send_command(now, &thing, &body.action, body.params, body.ttl);
            (201, to_json(cloud.execution(&id)))
        }
        (_, Route::Execution(id)) => match cloud.execution(&id) {
            Some(e) => (200, to_json(Some(e))),
            None => error(404, format!("no command execution {id}")),
        },
        (Method::Get, Route::Jobs) => {
            let data: Vec<Value> = cloud.jobs().map(|j| to_json(Some(j))).collect();
            (200, json!({ "data": data }))
        }
        (_, Route::Jobs) => {
            let body: CreateJob = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let mut things = Vec::new();
            for name in &body.targets.thing_names {
                match known(cloud, name) {
                    Ok(t) => things.push(t),
                    Err(e) => return e,
                }
            }
            if let Some(group) = body
                .targets
                .thing_group_names
                .iter()
                .find(|g| !cloud.groups().any(|(name, _)| name == *g))
            {
                return error(404, format!("no thing group {group}"));
            }
            let job = NewJob {
                description: body.description,
                document: body.document,
                job_type: body.job_type,
                step_timeout_minutes: body.step_timeout_in_minutes,
                target_groups: body.targets.thing_group_names,
                rollout: body.rollout,
            };
            match cloud.create_fleet_job(now, job, &things) {
                Ok(job_id) => (201, json!({ "jobId": job_id })),
                Err(e) => error(400, e.to_string()),
            }
        }
        (Method::Get, Route::Groups) => {
            let data: Vec<Value> = cloud
                .groups()
                .map(|(name, members)| {
                    let things: Vec<&str> = members.iter().map(ThingName::as_str).collect();
                    json!({ "groupName": name, "things": things })
                })
                .collect();
            (200, json!({ "data": data }))
        }
        (_, Route::Groups) => {
            let body: CreateGroup = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            match cloud.create_group(&body.group_name) {
                Ok(true) => (201, json!({ "groupName": body.group_name })),
                Ok(false) => error(
                    409,
                    format!("thing group {} already exists", body.group_name),
                ),
                Err(e) => error(400, e.to_string()),
            }
        }
        (_, Route::GroupThings(group)) => {
            let body: CreateThing = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let thing = match ThingName::new(&body.thing_name) {
                Ok(t) => t,
                Err(e) => return error(400, e.to_string()),
            };
            match cloud.add_to_group(now, &group, &thing) {
                Ok(()) => (
                    200,
                    json!({ "groupName": group, "thingName": thing.as_str() }),
                ),
                Err(e) => error(404, e.to_string()),
            }
        }
        (_, Route::GroupThing(group, name)) => {
            let thing = match ThingName::new(&name) {
                Ok(t) => t,
                Err(e) => return error(400, e.to_string()),
            };
            match cloud.remove_from_group(&group, &thing) {
                Ok(true) => (
                    200,
                    json!({ "groupName": group, "thingName": thing.as_str() }),
                ),
                Ok(false) => error(404, format!("{thing} is not in {group}")),
                Err(e) => error(404, e.to_string()),
            }
        }
        (_, Route::Job(id)) => match cloud.job(&id) {
            Some(j) => (200, to_json(Some(j))),
            None => error(404, format!("no job {id}")),
        },
        (_, Route::JobExecutions(id)) => match cloud.job(&id) {
            Some(_) => {
                let data: Vec<Value> = cloud
                    .job_executions(&id)
                    .into_iter()
                    .map(|e| to_json(Some(e)))
                    .collect();
                (200, json!({ "data": data }))
            }
            None => error(404, format!("no job {id}")),
        },
        (_, Route::JobCancel(id)) => match cloud.cancel_job(now, &id) {
            Ok(()) => (200, to_json(cloud.job(&id))),
            Err(e) => error(404, e.to_string()),
        },
        (_, Route::DeviceShadow(name)) => match known(cloud, &name) {
            Ok(thing) => (200, document(&cloud.shadow(&thing))),
            Err(e) => e,
        },
        (_, Route::DeviceReported) => {
            let body: Report = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let thing = match known(cloud, &body.thing_name) {
                Ok(t) => t,
                Err(e) => return e,
            };
            let Some(reported) = body.state.reported.filter(|_| body.state.desired.is_none())
            else {
                return error(
                    400,
                    "state.reported is required, and only it: desired state belongs to the cloud",
                );
            };
            let update = Update {
                client_token: body.client_token,
                version: body.version,
                ..Update::reported(reported)
            };
            match cloud.report(now, &thing, &update) {
                Ok(accepted) => (
                    200,
                    json!({ "version": accepted.version, "clientToken": accepted.client_token }),
                ),
                Err(rejection) => error(rejection.code, rejection.message),
            }
        }
        (_, Route::DeviceEvents) => {
            let body: DeviceEvent = match parse(body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let thing = match known(cloud, &body.thing_name) {
                Ok(t) => t,
                Err(e) => return e,
            };
            if !thingsim_fleet::topics::is_one_level(&body.event_type) {
                return error(
                    400,
                    "eventType must be one topic level: non-empty, no /, + or #",
                );
            }
            cloud.device_event(&thing, &body.event_type, body.payload);
            (200, json!({ "accepted": true }))
        }
        (_, Route::DeviceJobs(topic)) => {
            let request: Value = match parse(body) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let Some(name) = request.get("thingName").and_then(Value::as_str) else {
                return error(400, "thingName is required");
            };
            let thing = match known(cloud, name) {
                Ok(t) => t,
                Err(e) => return e,
            };
            match cloud.jobs_request(now, &thing, &topic, body) {
                Ok(reply) => (200, serde_json::from_slice(&reply).unwrap_or(Value::Null)),
                Err(reply) => {
                    let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
                    let status = match reply.get("code").and_then(Value::as_str) {
                        Some("ResourceNotFound") => 404,
                        Some(
                            "InvalidStateTransition" | "VersionMismatch" | "TerminalStateReached",
                        ) => 409,
                        _ => 400,
                    };
                    (status, reply)
                }
            }
        }
    }
}

/// Protected endpoints need `Authorization: Basic base64(key:secret)`.
fn authorize(expected: Option<&str>, authorization: Option<&str>) -> Result<(), Answer> {
    let denied = || {
        error(
            401,
            "this endpoint needs Authorization: Basic base64(apiKey:apiSecret)",
        )
    };
    let Some(expected) = expected else {
        return Err(denied());
    };
    let given = authorization
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b64| base64_decode(b64.trim()))
        .ok_or_else(denied)?;
    // Compare in constant time: the length is not secret, the contents are.
    let same = given.len() == expected.len()
        && given
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same { Ok(()) } else { Err(denied()) }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in bytes {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn known(cloud: &Cloud, name: &str) -> Result<ThingName, Answer> {
    let thing = ThingName::new(name).map_err(|e| error(400, e.to_string()))?;
    if cloud.has_thing(&thing) {
        Ok(thing)
    } else {
        Err(error(404, format!("no thing {thing}")))
    }
}

fn parse<T: for<'a> Deserialize<'a>>(body: &[u8]) -> Result<T, Answer> {
    // The same reader as the device's, so both ends refuse the same documents.
    thingsim_fleet::json::read("JSON body", body).map_err(|e| error(400, e.to_string()))
}

fn to_json<T: serde::Serialize>(value: Option<T>) -> Value {
    value.map_or(Value::Null, |v| {
        serde_json::to_value(v).unwrap_or(Value::Null)
    })
}

/// The GET shadow document of the reference: `updatedAt` as RFC 3339.
fn document(shadow: &Shadow) -> Value {
    let d = shadow.document();
    json!({
        "reported": d.reported,
        "desired": d.desired,
        "delta": d.delta,
        "version": d.version,
        "updatedAt": rfc3339(d.updated_at),
    })
}

/// 507: no room for another thing.
fn full() -> Answer {
    error(
        507,
        format!(
            "the cloud holds {} things already; delete some first",
            thingsim_fleet::cloud::MAX_THINGS
        ),
    )
}

/// Why `client_id` cannot be a broker user's client id, if it cannot: MQTT allows any UTF-8,
/// but an id a person cannot read or type helps nobody.
fn client_id_error(client_id: Option<&str>) -> Option<String> {
    let id = client_id?;
    (id.is_empty() || id.len() > 128 || id.chars().any(char::is_control))
        .then(|| "clientId must be 1 to 128 bytes with no control characters".to_owned())
}

/// Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil-from-days).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_748_390_400_000);

    fn call(cloud: &mut Cloud, method: &str, path: &str, body: Value) -> Answer {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        handle(cloud, &ApiConfig::default(), NOW, method, path, None, &body)
    }

    /// `POST /api/v1/things` with `{"thingName": name}`.
    fn register(cloud: &mut Cloud, name: &str) -> Answer {
        call(
            cloud,
            "POST",
            "/api/v1/things",
            json!({ "thingName": name }),
        )
    }

    /// A cloud with thing `t1` registered.
    fn cloud_with_t1() -> Cloud {
        let mut cloud = Cloud::default();
        register(&mut cloud, "t1");
        cloud
    }

    #[test]
    fn a_full_cloud_answers_507_to_a_new_thing_and_201_after_a_deletion_makes_room() {
        let mut cloud = Cloud::default();
        for i in 0..thingsim_fleet::cloud::MAX_THINGS {
            cloud.create_thing(&ThingName::new(&format!("t{i}")).unwrap());
        }
        let (status, body) = register(&mut cloud, "new");
        assert_eq!(status, 507, "{body}");
        assert_eq!(
            register(&mut cloud, "t1").0,
            409,
            "a known one is still a conflict"
        );
        cloud.delete_thing(&ThingName::new("t1").unwrap());
        assert_eq!(register(&mut cloud, "new").0, 201);
    }

    #[test]
    fn the_thing_list_says_which_things_have_a_delta() {
        let mut cloud = cloud_with_t1();
        register(&mut cloud, "t2");
        let listed = |cloud: &mut Cloud| {
            let (status, body) = call(cloud, "GET", "/api/v1/things", Value::Null);
            assert_eq!(status, 200);
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["thingName"].as_str().unwrap().to_owned(),
                        t["deltaPending"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            listed(&mut cloud),
            [("t1".into(), json!(false)), ("t2".into(), json!(false))]
        );
        let (status, _) = call(
            &mut cloud,
            "PUT",
            "/api/v1/things/t2/shadow/desired",
            json!({"state": {"desired": {"on": true}}}),
        );
        assert_eq!(status, 200);
        assert_eq!(
            listed(&mut cloud),
            [("t1".into(), json!(false)), ("t2".into(), json!(true))]
        );
    }

    /// The page's cloud panel in local mode (Operation::http, then Operation::outcome on the
    /// answer) and the sandbox's in-page cloud (Cloud::operate) say the same thing for the same
    /// operation: the API is defined once.
    #[test]
    fn an_operation_reads_the_same_through_the_api_and_in_the_sandbox() {
        use thingsim_fleet::cloud::Operation;
        let t1 = ThingName::new("t1").unwrap();
        let operations = [
            Operation::SetDesired {
                thing: t1.clone(),
                desired: json!({"on": true}).as_object().cloned().unwrap(),
            },
            Operation::SendCommand {
                thing: t1.clone(),
                action: "reboot".into(),
                params: serde_json::Map::new(),
                ttl: 30,
            },
            Operation::CreateJob {
                thing: t1,
                document: json!({"action": "reboot"}),
                step_timeout_minutes: Some(2),
            },
        ];
        let (mut served, mut sandbox) = (cloud_with_t1(), cloud_with_t1());
        let mut job_id = String::new();
        for operation in operations {
            let (method, path, body) = operation.http();
            let (status, answer) = call(&mut served, method.as_str(), &path, body);
            assert!(
                (200..300).contains(&status),
                "{operation:?}: {status} {answer}"
            );
            let words = operation.outcome(&answer).to_string();
            assert_eq!(
                Ok(words.clone()),
                sandbox.operate(NOW, operation),
                "{answer}"
            );
            if let Some(id) = answer.get("jobId").and_then(Value::as_str) {
                job_id = id.to_owned();
            }
        }
        let cancel = Operation::CancelJob { job_id };
        let (method, path, body) = cancel.http();
        let (status, answer) = call(&mut served, method.as_str(), &path, body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            Ok(cancel.outcome(&answer).to_string()),
            sandbox.operate(NOW, cancel)
        );
    }

    #[test]
    fn thing_groups_are_made_filled_and_targeted_by_a_rate_limited_job() {
        let mut cloud = cloud_with_t1();
        let groups = "/api/v1/thing-groups";
        assert_eq!(
            call(&mut cloud, "POST", groups, json!({"groupName": "lamps"})).0,
            201
        );
        assert_eq!(
            call(&mut cloud, "POST", groups, json!({"groupName": "lamps"})).0,
            409
        );
        assert_eq!(
            call(&mut cloud, "POST", groups, json!({"groupName": ""})).0,
            400
        );
        let members = "/api/v1/thing-groups/lamps/things";
        for name in ["lamp-1", "lamp-2", "lamp-3"] {
            let (status, body) = call(&mut cloud, "POST", members, json!({"thingName": name}));
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(
            call(&mut cloud, "POST", members, json!({"thingName": "a/b"})).0,
            400
        );
        let nowhere = "/api/v1/thing-groups/ghosts/things";
        assert_eq!(
            call(&mut cloud, "POST", nowhere, json!({"thingName": "x"})).0,
            404
        );
        let (status, list) = call(&mut cloud, "GET", groups, Value::Null);
        assert_eq!(status, 200);
        assert_eq!(
            list["data"][0]["things"],
            json!(["lamp-1", "lamp-2", "lamp-3"])
        );
        let one = "/api/v1/thing-groups/lamps/things/lamp-3";
        assert_eq!(call(&mut cloud, "DELETE", one, Value::Null).0, 200);
        assert_eq!(
            call(&mut cloud, "DELETE", one, Value::Null).0,
            404,
            "not a member now"
        );

        let job = json!({
            "targets": {"thingGroupNames": ["lamps"], "thingNames": ["t1"]},
            "document": {"action": "reboot"},
            "rollout": {"maxPerMinute": 2, "abort": {"failurePercent": 20, "minFinished": 5}},
        });
        let (status, created) = call(&mut cloud, "POST", "/api/v1/jobs", job);
        assert_eq!(status, 201, "{created}");
        let id = created["jobId"].as_str().unwrap().to_owned();
        let (_, executions) = call(
            &mut cloud,
            "GET",
            &format!("/api/v1/jobs/{id}/executions"),
            Value::Null,
        );
        assert_eq!(
            executions["data"].as_array().map(Vec::len),
            Some(2),
            "two a minute"
        );
        let (_, job) = call(
            &mut cloud,
            "GET",
            &format!("/api/v1/jobs/{id}"),
            Value::Null,
        );
        assert_eq!(job["waiting"].as_array().map(Vec::len), Some(1), "{job}");
        assert_eq!(job["rollout"]["maxPerMinute"], json!(2));
        let ghost =
            json!({"targets": {"thingGroupNames": ["ghosts"]}, "document": {"action": "reboot"}});
        assert_eq!(call(&mut cloud, "POST", "/api/v1/jobs", ghost).0, 404);
        let bad = json!({"targets": {"thingNames": ["t1"]}, "document": {"action": "reboot"}, "rollout": {"maxPerMinute": 0}});
        assert_eq!(call(&mut cloud, "POST", "/api/v1/jobs", bad).0, 400);
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_748_390_400), "2025-05-28T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn things_shadows_and_desired_state() {
        let mut cloud = Cloud::default();
        assert_eq!(register(&mut cloud, "t1").0, 201);
        assert_eq!(register(&mut cloud, "t1").0, 409);
        assert_eq!(register(&mut cloud, "a/+").0, 400);
        let (status, body) = call(
            &mut cloud,
            "PUT",
            "/api/v1/things/t1/shadow/desired",
            json!({"state": {"desired": {"on": true}}}),
        );
        assert_eq!((status, body["version"].clone()), (200, json!(1)));
        let (_, doc) = call(&mut cloud, "GET", "/api/v1/things/t1/shadow", Value::Null);
        assert_eq!(doc["delta"], json!({"on": true}));
        assert_eq!(doc["updatedAt"], json!("2025-05-28T00:00:00Z"));
        let (status, body) = call(
            &mut cloud,
            "PUT",
            "/api/v1/things/t1/shadow/desired",
            json!({"state": {"desired": {"on": false}}, "version": 7}),
        );
        assert_eq!(status, 409, "{body}");
        assert_eq!(
            call(
                &mut cloud,
                "PUT",
                "/api/v1/things/t1/shadow/desired",
                json!({"state": {"reported": {"on": 1}}})
            )
            .0,
            400
        );
        assert_eq!(
            call(&mut cloud, "GET", "/api/v1/things/nope/shadow", Value::Null).0,
            404
        );
    }

    #[test]
    fn commands_and_jobs_validate_and_answer() {
        let mut cloud = cloud_with_t1();
        let (status, e) = call(
            &mut cloud,
            "POST",
            "/api/v1/commands",
            json!({"thingName": "t1", "action": "reboot", "ttl": 5}),
        );
        assert_eq!((status, e["status"].clone()), (201, json!("SENT")));
        let id = e["executionId"].as_str().unwrap().to_owned();
        assert_eq!(
            call(
                &mut cloud,
                "GET",
                &format!("/api/v1/commands/executions/{id}"),
                Value::Null
            )
            .0,
            200
        );
        assert_eq!(
            call(
                &mut cloud,
                "POST",
                "/api/v1/commands",
                json!({"thingName": "ghost", "action": "x"})
            )
            .0,
            404
        );
        assert_eq!(
            call(
                &mut cloud,
                "POST",
                "/api/v1/commands",
                json!({"thingName": "t1", "action": "x", "ttl": 0})
            )
            .0,
            400
        );

        let job = json!({"targets": {"thingNames": ["t1"]}, "document": {"action": "reboot"}});
        let (status, body) = call(&mut cloud, "POST", "/api/v1/jobs", job);
        assert_eq!(status, 201);
        let job_id = body["jobId"].as_str().unwrap().to_owned();
        let (_, execs) = call(
            &mut cloud,
            "GET",
            &format!("/api/v1/jobs/{job_id}/executions"),
            Value::Null,
        );
        assert_eq!(execs["data"][0]["status"], json!("QUEUED"));
        let (_, cancelled) = call(
            &mut cloud,
            "POST",
            &format!("/api/v1/jobs/{job_id}/cancel"),
            Value::Null,
        );
        assert_eq!(cancelled["state"], json!("CANCELED"));
        let bad = json!({"targets": {"thingNames": ["t1"]}, "document": {"params": {}}});
        assert_eq!(call(&mut cloud, "POST", "/api/v1/jobs", bad).0, 400);
    }

    #[test]
    fn hostile_requests_get_a_json_error_and_change_nothing() {
        let mut cloud = Cloud::default();
        for (method, path, body) in [
            ("POST", "/api/v1/things", &b"{not json"[..]),
            ("POST", "/api/v1/commands", b"[]"),
            ("POST", "/api/v1/jobs", b"{\"targets\":5}"),
            ("DELETE", "/api/v1/things", b""),
            ("GET", "/../../etc/passwd", b""),
        ] {
            let (status, answer) = handle(
                &mut cloud,
                &ApiConfig::default(),
                NOW,
                method,
                path,
                None,
                body,
            );
            assert!((400..500).contains(&status), "{method} {path}: {status}");
            assert!(answer["error"].is_string(), "{answer}");
        }
        let huge = vec![b' '; MAX_BODY + 1];
        assert_eq!(
            handle(
                &mut cloud,
                &ApiConfig::default(),
                NOW,
                "POST",
                "/api/v1/things",
                None,
                &huge
            )
            .0,
            413
        );
        assert_eq!(cloud.things().count(), 0);
    }

    #[test]
    fn thing_datas_report_updates_the_shadow_and_echoes_the_token() {
        let mut cloud = Cloud::default();
        cloud.create_thing(&ThingName::new("thermostat-001").unwrap());
        let config = ApiConfig {
            device_credentials: Some("key:secret".into()),
            admin_credentials: None,
        };
        let auth = Some("Basic a2V5OnNlY3JldA==");
        let post = |cloud: &mut Cloud, body: Value| {
            handle(
                cloud,
                &config,
                NOW,
                "POST",
                "/api/v1/thing-datas/shadow/reported",
                auth,
                body.to_string().as_bytes(),
            )
        };
        let (status, body) = post(
            &mut cloud,
            json!({"thingName": "thermostat-001", "state": {"reported": {"temperature": 21.5}}, "clientToken": "tok-001", "version": 0}),
        );
        assert_eq!(
            (status, body),
            (200, json!({"version": 1, "clientToken": "tok-001"}))
        );
        assert_eq!(
            cloud
                .shadow(&ThingName::new("thermostat-001").unwrap())
                .reported["temperature"],
            json!(21.5)
        );
        assert_eq!(post(&mut cloud, json!({"thingName": "thermostat-001", "state": {"reported": {"t": 1}}, "version": 9})).0, 409);
        assert_eq!(
            post(
                &mut cloud,
                json!({"thingName": "thermostat-001", "state": {"desired": {"t": 1}}})
            )
            .0,
            400
        );
        assert_eq!(
            post(
                &mut cloud,
                json!({"thingName": "nobody", "state": {"reported": {"t": 1}}})
            )
            .0,
            404
        );
        let unauthorized = handle(
            &mut cloud,
            &config,
            NOW,
            "POST",
            "/api/v1/thing-datas/shadow/reported",
            None,
            b"{}",
        );
        assert_eq!(unauthorized.0, 401);
    }

    #[test]
    fn an_https_device_runs_a_job_and_posts_events_through_thing_datas() {
        let mut cloud = Cloud::default();
        let t = ThingName::new("meter-1").unwrap();
        cloud.create_thing(&t);
        let config = ApiConfig {
            device_credentials: Some("key:secret".into()),
            admin_credentials: None,
        };
        let auth = Some("Basic a2V5OnNlY3JldA==");
        let post = |cloud: &mut Cloud, path: &str, body: Value| {
            handle(
                cloud,
                &config,
                NOW,
                "POST",
                path,
                auth,
                body.to_string().as_bytes(),
            )
        };
        let job = json!({"targets": {"thingNames": ["meter-1"]}, "document": {"action": "reboot"}});
        let (_, created) = call(&mut cloud, "POST", "/api/v1/jobs", job);
        let job_id = created["jobId"].as_str().unwrap().to_owned();

        let (status, pending) = post(
            &mut cloud,
            "/api/v1/thing-datas/jobs/get",
            json!({"thingName": "meter-1", "clientToken": "c1"}),
        );
        assert_eq!(
            (
                status,
                pending["queuedJobs"][0]["jobId"].clone(),
                pending["clientToken"].clone()
            ),
            (200, json!(job_id), json!("c1"))
        );
        let (status, started) = post(
            &mut cloud,
            "/api/v1/thing-datas/jobs/start-next",
            json!({"thingName": "meter-1"}),
        );
        assert_eq!(
            (status, started["execution"]["status"].clone()),
            (200, json!("IN_PROGRESS"))
        );
        assert_eq!(
            started["execution"]["jobDocument"],
            json!({"action": "reboot"})
        );
        let update = format!("/api/v1/thing-datas/jobs/{job_id}/update");
        let (status, stale) = post(
            &mut cloud,
            &update,
            json!({"thingName": "meter-1", "status": "SUCCEEDED", "expectedVersion": 1}),
        );
        assert_eq!(
            (status, stale["code"].clone()),
            (409, json!("VersionMismatch"))
        );
        let (status, done) = post(
            &mut cloud,
            &update,
            json!({"thingName": "meter-1", "status": "SUCCEEDED", "expectedVersion": 2}),
        );
        assert_eq!(
            (status, done["executionState"]["status"].clone()),
            (200, json!("SUCCEEDED"))
        );
        let (status, again) = post(
            &mut cloud,
            &update,
            json!({"thingName": "meter-1", "status": "FAILED"}),
        );
        assert_eq!(
            (status, again["code"].clone()),
            (409, json!("TerminalStateReached"))
        );
        let (status, missing) = post(
            &mut cloud,
            "/api/v1/thing-datas/jobs/job-404/get",
            json!({"thingName": "meter-1"}),
        );
        assert_eq!(
            (status, missing["code"].clone()),
            (404, json!("ResourceNotFound"))
        );

        assert_eq!(
            post(
                &mut cloud,
                "/api/v1/thing-datas/events",
                json!({"thingName": "meter-1", "eventType": "overload", "payload": {"w": 9000}})
            )
            .0,
            200
        );
        assert_eq!(
            post(
                &mut cloud,
                "/api/v1/thing-datas/events",
                json!({"thingName": "meter-1", "eventType": "a/b"})
            )
            .0,
            400
        );
        assert_eq!(
            handle(
                &mut cloud,
                &config,
                NOW,
                "POST",
                "/api/v1/thing-datas/jobs/get",
                None,
                b"{}"
            )
            .0,
            401
        );
    }

    #[test]
    fn every_endpoint_answers_garbage_with_a_json_4xx() {
        let mut cloud = Cloud::default();
        cloud.create_thing(&ThingName::new("t1").unwrap());
        let config = ApiConfig {
            device_credentials: Some("key:secret".into()),
            admin_credentials: None,
        };
        let auth = Some("Basic a2V5OnNlY3JldA==");
        for (method, path) in [
            ("POST", "/api/v1/things"),
            ("PUT", "/api/v1/things/t1/shadow/desired"),
            ("POST", "/api/v1/commands"),
            ("POST", "/api/v1/jobs"),
            ("POST", "/api/v1/thing-datas/shadow/reported"),
            ("POST", "/api/v1/thing-datas/events"),
            ("POST", "/api/v1/thing-datas/jobs/get"),
            ("POST", "/api/v1/thing-datas/jobs/start-next"),
            ("POST", "/api/v1/thing-datas/jobs/job-1/get"),
            ("POST", "/api/v1/thing-datas/jobs/job-1/update"),
        ] {
            for body in [
                &b"\xff\xfe"[..],
                b"{",
                b"[1]",
                b"null",
                b"{\"thingName\": 5}",
            ] {
                let (status, answer) = handle(&mut cloud, &config, NOW, method, path, auth, body);
                assert!(
                    (400..500).contains(&status),
                    "{method} {path} {body:?}: {status} {answer}"
                );
                assert!(answer.is_object(), "{method} {path}: {answer}");
            }
        }
        assert_eq!(
            cloud.shadow(&ThingName::new("t1").unwrap()).version,
            0,
            "nothing changed"
        );
    }

    #[test]
    fn thing_datas_needs_the_right_basic_credentials() {
        let mut cloud = Cloud::default();
        cloud.create_thing(&ThingName::new("t1").unwrap());
        let config = ApiConfig {
            device_credentials: Some("key:secret".into()),
            admin_credentials: None,
        };
        let get = |cloud: &mut Cloud, auth: Option<&str>| {
            handle(
                cloud,
                &config,
                NOW,
                "GET",
                "/api/v1/thing-datas/t1/shadow",
                auth,
                b"",
            )
        };
        assert_eq!(get(&mut cloud, Some("Basic a2V5OnNlY3JldA==")).0, 200); // key:secret
        for auth in [
            None,
            Some("Basic a2V5Ondyb25n"),
            Some("Bearer x"),
            Some("Basic !!!"),
        ] {
            let (status, body) = get(&mut cloud, auth);
            assert_eq!(status, 401, "{auth:?}");
            assert!(body.get("reported").is_none(), "no data on 401");
        }
    }

    #[test]
    fn with_an_admin_key_the_management_api_needs_it_too() {
        let mut cloud = Cloud::default();
        let config = ApiConfig {
            device_credentials: Some("key:secret".into()),
            admin_credentials: Some("admin:pw".into()),
        };
        let get = |cloud: &mut Cloud, auth: Option<&str>| {
            handle(cloud, &config, NOW, "GET", "/api/v1/things", auth, b"").0
        };
        assert_eq!(get(&mut cloud, None), 401);
        assert_eq!(
            get(&mut cloud, Some("Basic a2V5OnNlY3JldA==")),
            401,
            "the device key is not enough"
        );
        assert_eq!(get(&mut cloud, Some("Basic YWRtaW46cHc=")), 200); // admin:pw
        let open = ApiConfig::default();
        assert_eq!(
            handle(&mut cloud, &open, NOW, "GET", "/api/v1/things", None, b"").0,
            200
        );
    }

    #[test]
    fn rfc3339_turns_years_months_and_leap_days_over_correctly() {
        for (secs, text) in [
            (68_169_600, "1972-02-29T00:00:00Z"),
            (946_684_799, "1999-12-31T23:59:59Z"),
            (1_735_689_599, "2024-12-31T23:59:59Z"),
            (1_748_435_696, "2025-05-28T12:34:56Z"),
            (2_147_483_647, "2038-01-19T03:14:07Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (13_569_465_599, "2399-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(secs), text, "{secs}");
        }
    }

    #[test]
    fn basic_auth_decodes_standard_base64() {
        // RFC 4648 §10, and the two characters beyond letters and digits.
        for (encoded, decoded) in [
            ("", &b""[..]),
            ("Zg==", b"f"),
            ("Zm8=", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYg==", b"foob"),
            ("Zm9vYmE=", b"fooba"),
            ("Zm9vYmFy", b"foobar"),
            ("MTIzNDU2Nzg5MA==", b"1234567890"),
            ("QUJDWFla", b"ABCXYZ"),
            ("+/8=", &[0xfb, 0xff][..]),
        ] {
            assert_eq!(
                base64_decode(encoded).as_deref(),
                Some(decoded),
                "{encoded}"
            );
        }
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn a_credential_must_match_exactly_neither_a_prefix_nor_longer() {
        let expected = Some("key:secret");
        assert!(authorize(expected, Some("Basic a2V5OnNlY3JldA==")).is_ok());
        for (wrong, header) in [
            ("key:secreT", "Basic a2V5OnNlY3JlVA=="),
            ("key:secre", "Basic a2V5OnNlY3Jl"),
            ("key:secrets", "Basic a2V5OnNlY3JldHM="),
            ("kez:secret", "Basic a2V6OnNlY3JldA=="),
            // Two bytes off by the same bit: differences must add up, not cancel out.
            ("jdy:secret", "Basic amR5OnNlY3JldA=="),
            ("", "Basic "),
            ("not Basic", "Bearer a2V5OnNlY3JldA=="),
        ] {
            let denied = authorize(expected, Some(header));
            assert_eq!(denied.map_err(|(status, _)| status), Err(401), "{wrong}");
        }
        assert!(authorize(None, Some("Basic a2V5OnNlY3JldA==")).is_err());
    }

    #[test]
    fn the_body_limit_is_inclusive_and_commands_keep_their_ttl_range() {
        let mut cloud = cloud_with_t1();
        // 64 KB (65,536 bytes), as the README promises: read (and refused as JSON), then 413.
        for (size, status) in [(65_536, 400), (65_537, 413)] {
            let body = vec![b' '; size];
            let config = ApiConfig::default();
            let answer = handle(
                &mut cloud,
                &config,
                NOW,
                "POST",
                "/api/v1/things",
                None,
                &body,
            );
            assert_eq!(answer.0, status, "{size} bytes: {}", answer.1);
        }
        for (ttl, status) in [(0, 400), (1, 201), (3_600, 201), (3_601, 400)] {
            let (got, body) = call(
                &mut cloud,
                "POST",
                "/api/v1/commands",
                json!({"thingName": "t1", "action": "reboot", "ttl": ttl}),
            );
            assert_eq!(got, status, "ttl {ttl}: {body}");
        }
        let (status, _) = call(
            &mut cloud,
            "POST",
            "/api/v1/commands",
            json!({"thingName": "t1", "action": " ", "ttl": 5}),
        );
        assert_eq!(status, 400);
    }

    #[test]
    fn jobs_are_listed_and_read_and_a_wrong_method_is_405() {
        let mut cloud = cloud_with_t1();
        let (_, created) = call(
            &mut cloud,
            "POST",
            "/api/v1/jobs",
            json!({"targets": {"thingNames": ["t1"]}, "document": {"action": "reboot"}}),
        );
        let id = created["jobId"].as_str().unwrap_or_default().to_owned();
        let (status, list) = call(&mut cloud, "GET", "/api/v1/jobs", Value::Null);
        assert_eq!(status, 200);
        assert_eq!(list["data"][0]["jobId"], json!(id), "{list}");
        let (status, job) = call(
            &mut cloud,
            "GET",
            &format!("/api/v1/jobs/{id}"),
            Value::Null,
        );
        assert_eq!((status, job["jobId"].clone()), (200, json!(id)));
        assert_eq!(
            call(&mut cloud, "GET", "/api/v1/jobs/nope", Value::Null).0,
            404
        );
        // A known path with a method it does not take is 405, not 404.
        assert_eq!(
            call(&mut cloud, "DELETE", "/api/v1/things", Value::Null).0,
            405
        );
        assert_eq!(call(&mut cloud, "GET", "/elsewhere", Value::Null).0, 404);
    }

    #[test]
    fn a_command_without_a_ttl_gets_thirty_seconds() {
        let mut cloud = cloud_with_t1();
        let (status, e) = call(
            &mut cloud,
            "POST",
            "/api/v1/commands",
            json!({"thingName": "t1", "action": "reboot"}),
        );
        assert_eq!(
            (status, e["request"]["ttl"].clone()),
            (201, json!(30)),
            "{e}"
        );
    }
}
