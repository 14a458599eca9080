//! The HTTPS path (ThingDatas, fleets-protocol.md): the same [`Device`](crate::device::Device),
//! its MQTT publishes turned into HTTP requests and the answers turned back into the messages
//! an MQTT device would have received. What HTTPS cannot carry (commands: nothing can reach the
//! device) simply never arrives; what it must poll for (desired state, jobs) is polled.
//!
//! Sans-I/O: the shell feeds it the device's MQTT commands ([`HttpsLink::handle_device_command`]),
//! HTTP answers ([`HttpsLink::handle_response`]) and timeouts, and drains
//! [`HttpsLink::poll_output`] for requests to send, messages and shadow documents to hand to
//! the device, and events for the UI. One request is in flight at a time, so reports and job
//! updates reach the cloud in the order the device made them.
//!
//! | device publishes on | request |
//! |---|---|
//! | `shadow/update` (reported) | `POST /api/v1/thing-datas/shadow/reported` |
//! | `events/{type}` | `POST /api/v1/thing-datas/events` |
//! | `jobs/get`, `jobs/start-next` | `POST /api/v1/thing-datas/jobs/get`, `…/jobs/start-next` |
//! | `jobs/{id}/get`, `jobs/{id}/update` | `POST /api/v1/thing-datas/jobs/{id}/get`, `…/update` |
//! | (poll) | `GET /api/v1/thing-datas/{name}/shadow` |

use std::collections::VecDeque;

use crate::fields::{Fields, FromJson, deserialize_from_json};
use serde_json::{Map, Value};
use thingsim_mqtt::{Backoff, Command, Event, Message, Millis, Qos};

use crate::api::Route;
use crate::shadow::Update;
use crate::shadow::cloud::ShadowDocument;
use crate::shadow::state::State;
use crate::topics::{JobsTopic, Reply, ShadowTopic};
use crate::{ThingName, Topic};

/// The longest wait between polls while the API fails.
pub const MAX_POLL_BACKOFF_MS: u64 = 60_000;

/// One HTTP request for the shell to send (JSON body, Basic auth added by the shell).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Matches the answer to the request.
    pub id: u64,
    /// GET or POST.
    pub method: &'static str,
    /// Path under the API base, e.g. `/api/v1/thing-datas/events`.
    pub path: String,
    /// JSON body (POST only).
    pub body: Option<Value>,
}

/// What happened on the link, for the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// The API answered (again): the device is online.
    Online,
    /// A request failed; the link counts as offline and polls again after `retry_in_ms`.
    Offline {
        /// Why, for a person.
        reason: String,
        /// When the next poll goes out.
        retry_in_ms: u64,
    },
    /// A change the cloud refused (the device keeps running; nothing is retried).
    Refused {
        /// The request.
        request: String,
        /// Why.
        reason: String,
    },
    /// The shadow was polled.
    Polled {
        /// When.
        at: Millis,
    },
}

/// What the shell has to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkOutput {
    /// Send this request.
    Request(HttpRequest),
    /// Hand this to the device as if the session had reported it.
    Deliver(Event),
    /// Hand this shadow document to the device (`Device::handle_shadow_document`).
    Document(ShadowDocument),
    /// Ask the device's jobs agent what is pending (`UserCommand::CheckJobs`).
    CheckJobs,
    /// Tell the UI.
    Event(LinkEvent),
    /// Nothing more until input or `deadline`.
    Idle {
        /// When to call [`HttpsLink::handle_timeout`].
        deadline: Option<Millis>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Poll,
    Report,
    Event,
    Jobs(JobsTopic),
}

#[derive(Debug, Clone, PartialEq)]
struct Queued {
    kind: Kind,
    method: &'static str,
    path: String,
    body: Option<Value>,
}

/// The shadow document as the ThingDatas GET renders it (`updatedAt` is RFC 3339 there).
#[derive(Debug)]
struct PolledShadow {
    desired: State,
    reported: State,
    delta: State,
    version: u64,
}

impl FromJson for PolledShadow {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct PolledShadow")?;
        Ok(Self {
            desired: f.or_default("desired")?,
            reported: f.or_default("reported")?,
            delta: f.or_default("delta")?,
            version: f.get("version")?,
        })
    }
}

deserialize_from_json!(PolledShadow);

/// A shadow document as thingsim-cloud's and ThingDatas' GET render it (`updatedAt` as RFC
/// 3339, which the device does not need: `now` stands in for it).
pub fn parse_shadow(body: &[u8], now: Millis) -> Result<ShadowDocument, String> {
    let doc: PolledShadow = crate::json::document("shadow document", body)
        .map_err(|e| format!("the shadow document could not be read: {e}"))?;
    Ok(ShadowDocument {
        desired: doc.desired,
        reported: doc.reported,
        delta: doc.delta,
        version: doc.version,
        updated_at: now.0 / 1000,
    })
}

/// One device's HTTPS link.
#[derive(Debug)]
pub struct HttpsLink {
    thing: ThingName,
    poll_ms: u64,
    next_poll: Option<Millis>,
    backoff: Backoff,
    online: bool,
    queue: VecDeque<Queued>,
    in_flight: Option<(u64, Queued)>,
    next_id: u64,
    outputs: VecDeque<LinkOutput>,
}

impl HttpsLink {
    /// A link for `thing` polling every `poll_ms`; the first poll goes out at once. `seed`
    /// feeds the backoff jitter.
    pub fn new(now: Millis, thing: ThingName, poll_ms: u64, seed: u64) -> Self {
        Self {
            thing,
            poll_ms: poll_ms.max(1_000),
            next_poll: Some(now),
            backoff: Backoff::new(poll_ms.max(1_000), MAX_POLL_BACKOFF_MS, seed),
            online: false,
            queue: VecDeque::new(),
            in_flight: None,
            next_id: 0,
            outputs: VecDeque::new(),
        }
    }

    /// How often the shadow and jobs are polled while all is well.
    pub fn poll_ms(&self) -> u64 {
        self.poll_ms
    }

    /// Whether the last request got an answer.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// A command the device handed to its "session": publishes become requests.
    pub fn handle_device_command(&mut self, command: Command) {
        let Command::Publish(message) = command else {
            return; // subscriptions and disconnects mean nothing over HTTPS
        };
        match self.translate(&message) {
            Ok(Some(q)) => self.queue.push_back(q),
            Ok(None) => {}
            Err(reason) => self.event(LinkEvent::Refused {
                request: message.topic,
                reason,
            }),
        }
        self.pump();
    }

    /// Poll now (the page became visible again).
    pub fn poll_now(&mut self, now: Millis) {
        self.next_poll = Some(now);
        self.handle_timeout(now);
    }

    /// A deadline from [`LinkOutput::Idle`] passed.
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.next_poll.is_some_and(|at| at <= now) {
            // Polled again when this poll is answered (or fails).
            self.next_poll = None;
            let path = Route::DeviceShadow(self.thing.as_str().to_owned()).path();
            self.queue.push_back(Queued {
                kind: Kind::Poll,
                method: "GET",
                path,
                body: None,
            });
            self.pump();
        }
    }

    /// The answer to request `id`: `Ok((status, body))`, or `Err(reason)` when none came
    /// (network failure, timeout, CORS).
    pub fn handle_response(
        &mut self,
        now: Millis,
        id: u64,
        answer: Result<(u16, Vec<u8>), String>,
    ) {
        // An answer to anything but the request in flight is not ours to act on.
        if self.in_flight.as_ref().is_none_or(|(i, _)| *i != id) {
            return;
        }
        let Some((_, request)) = self.in_flight.take() else {
            return;
        };
        let label = format!("{} {}", request.method, request.path);
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(reason) => return self.fail(now, format!("{label}: {reason}")),
        };
        let json = crate::json::value(&body).unwrap_or(Value::Null);
        let why = json.get("error").and_then(Value::as_str).map_or_else(
            || String::from_utf8_lossy(&body).into_owned(),
            str::to_owned,
        );
        match (status, &request.kind) {
            (401 | 403, _) => {
                return self.fail(
                    now,
                    format!("{status}: the API key and secret were refused ({why})"),
                );
            }
            (404, kind) if !matches!(kind, Kind::Jobs(_)) || json.get("code").is_none() => {
                return self.fail(
                    now,
                    format!(
                        "404: the cloud does not know thing {} — register it first ({why})",
                        self.thing
                    ),
                );
            }
            (500..=599, _) | (0..=199, _) => {
                return self.fail(now, format!("{label}: {status} {why}"));
            }
            _ => {}
        }
        if !self.online {
            self.online = true;
            self.backoff.reset();
            // Back: poll at once, as an MQTT device re-syncs on reconnect (a poll answering
            // schedules the next one itself, below).
            if !matches!(request.kind, Kind::Poll) {
                self.next_poll = Some(now);
            }
            self.event(LinkEvent::Online);
            // The device re-syncs as after a reconnect: full report, jobs get / start-next.
            self.outputs
                .push_back(LinkOutput::Deliver(Event::Connected {
                    session_present: true,
                }));
        }
        let ok = (200..300).contains(&status);
        let polled = matches!(request.kind, Kind::Poll);
        match request.kind {
            Kind::Poll if ok => match parse_shadow(&body, now) {
                Ok(doc) => {
                    self.outputs.push_back(LinkOutput::Document(doc));
                    self.outputs.push_back(LinkOutput::CheckJobs);
                    self.event(LinkEvent::Polled { at: now });
                }
                Err(reason) => self.event(LinkEvent::Refused {
                    request: label,
                    reason,
                }),
            },
            Kind::Jobs(topic) => {
                // 2xx is the `/accepted` document, 4xx the `/rejected` one, as over MQTT.
                let reply = match (ok, topic) {
                    (true, JobsTopic::Get(_)) => JobsTopic::Get(Reply::Accepted),
                    (false, JobsTopic::Get(_)) => JobsTopic::Get(Reply::Rejected),
                    (true, JobsTopic::StartNext(_)) => JobsTopic::StartNext(Reply::Accepted),
                    (false, JobsTopic::StartNext(_)) => JobsTopic::StartNext(Reply::Rejected),
                    (true, JobsTopic::JobGet(id, _)) => JobsTopic::JobGet(id, Reply::Accepted),
                    (false, JobsTopic::JobGet(id, _)) => JobsTopic::JobGet(id, Reply::Rejected),
                    (true, JobsTopic::JobUpdate(id, _)) => {
                        JobsTopic::JobUpdate(id, Reply::Accepted)
                    }
                    (false, JobsTopic::JobUpdate(id, _)) => {
                        JobsTopic::JobUpdate(id, Reply::Rejected)
                    }
                    (_, other) => other,
                };
                let topic = Topic::Jobs(reply).assemble(&self.thing);
                self.outputs
                    .push_back(LinkOutput::Deliver(Event::Received(Message::new(
                        topic,
                        body,
                        Qos::AtLeastOnce,
                    ))));
            }
            _ if ok => {}
            _ => self.event(LinkEvent::Refused {
                request: label,
                reason: format!("{status}: {why}"),
            }),
        }
        if polled {
            self.next_poll = Some(now + self.poll_ms);
        }
        self.pump();
    }

    /// The next output; drain until `Idle`.
    #[must_use]
    pub fn poll_output(&mut self) -> LinkOutput {
        self.outputs.pop_front().unwrap_or(LinkOutput::Idle {
            deadline: self.next_poll,
        })
    }

    fn fail(&mut self, now: Millis, reason: String) {
        let retry_in_ms = self.backoff.next_delay();
        if self.online {
            self.online = false;
            self.outputs
                .push_back(LinkOutput::Deliver(Event::Disconnected));
        }
        // Changes made meanwhile are not lost: the device reports its whole state and asks
        // for its jobs again when the link is back (the Connected above). Waiting requests
        // would only fail the same way.
        self.queue.clear();
        // Never later than already planned: failing reports must not keep pushing the poll
        // back (the poll is what notices the API is back).
        let retry_at = now + retry_in_ms;
        self.next_poll = Some(self.next_poll.map_or(retry_at, |at| at.min(retry_at)));
        self.event(LinkEvent::Offline {
            reason,
            retry_in_ms,
        });
    }

    fn translate(&self, message: &Message) -> Result<Option<Queued>, String> {
        let Some((thing, topic)) = Topic::parse(&message.topic) else {
            return Ok(None);
        };
        let body_with_thing = |payload: &[u8]| -> Result<Value, String> {
            let mut map: Map<String, Value> = match crate::json::document("payload", payload) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err("the payload is not a JSON object".into()),
                Err(e) => return Err(format!("the payload is not JSON: {e}")),
            };
            map.insert("thingName".into(), Value::String(thing.as_str().to_owned()));
            Ok(Value::Object(map))
        };
        let post = |kind, path: String, body| {
            Ok(Some(Queued {
                kind,
                method: "POST",
                path,
                body: Some(body),
            }))
        };
        match topic {
            Topic::Shadow(ShadowTopic::Update) => {
                // Only a well-formed update goes out; the body is the update plus thingName.
                Update::from_slice(&message.payload).map_err(|e| e.to_string())?;
                post(
                    Kind::Report,
                    Route::DeviceReported.path(),
                    body_with_thing(&message.payload)?,
                )
            }
            Topic::Event(kind) => {
                let payload = crate::json::value(&message.payload).unwrap_or(Value::Null);
                // `api::DeviceEvent`'s fields, as values: exactly what the payload held.
                let body = crate::json::object([
                    ("thingName", thing.as_str().into()),
                    ("eventType", kind.into()),
                    ("payload", payload),
                ]);
                post(Kind::Event, Route::DeviceEvents.path(), body)
            }
            Topic::Jobs(jobs) => {
                let path = match &jobs {
                    JobsTopic::Get(Reply::Request)
                    | JobsTopic::StartNext(Reply::Request)
                    | JobsTopic::JobGet(_, Reply::Request)
                    | JobsTopic::JobUpdate(_, Reply::Request) => {
                        Route::DeviceJobs(jobs.clone()).path()
                    }
                    _ => return Ok(None),
                };
                post(Kind::Jobs(jobs), path, body_with_thing(&message.payload)?)
            }
            // Command answers: no request ever reaches an HTTPS device, so none are made.
            Topic::Shadow(ShadowTopic::UpdateDelta) | Topic::Command(_) => Ok(None),
        }
    }

    fn pump(&mut self) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some(q) = self.queue.pop_front() {
            self.next_id += 1;
            self.outputs.push_back(LinkOutput::Request(HttpRequest {
                id: self.next_id,
                method: q.method,
                path: q.path.clone(),
                body: q.body.clone(),
            }));
            self.in_flight = Some((self.next_id, q));
        }
    }

    fn event(&mut self, event: LinkEvent) {
        self.outputs.push_back(LinkOutput::Event(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &[u8] = br#"{"desired":{},"reported":{},"delta":{},"version":1}"#;

    fn drain(link: &mut HttpsLink) -> (Vec<HttpRequest>, Vec<LinkEvent>, Option<Millis>) {
        let (mut requests, mut events) = (Vec::new(), Vec::new());
        loop {
            match link.poll_output() {
                LinkOutput::Request(r) => requests.push(r),
                LinkOutput::Event(e) => events.push(e),
                LinkOutput::Idle { deadline } => return (requests, events, deadline),
                _ => {}
            }
        }
    }

    fn report(link: &mut HttpsLink) {
        let update = Update::reported(State::new());
        link.handle_device_command(Command::Publish(Message::new(
            "$emqx/things/t/shadow/update",
            serde_json::to_vec(&update).unwrap_or_default(),
            Qos::AtLeastOnce,
        )));
    }

    #[test]
    fn failing_reports_never_push_the_poll_back_and_a_recovery_polls_at_once() {
        let thing = ThingName::new("t").unwrap_or_else(|e| panic!("{e}"));
        let mut link = HttpsLink::new(Millis(0), thing, 5_000, 1);
        link.handle_timeout(Millis(0));
        let (poll, _, _) = drain(&mut link);
        link.handle_response(Millis(10), poll[0].id, Ok((200, DOC.to_vec())));
        let (_, events, next) = drain(&mut link);
        assert!(events.contains(&LinkEvent::Online));
        assert_eq!(next, Some(Millis(5_010)));

        // Reports fail again and again: the poll is never planned later than it was.
        let mut planned = next;
        for t in [1_000, 2_000, 3_000] {
            report(&mut link);
            let (sent, _, _) = drain(&mut link);
            link.handle_response(Millis(t), sent[0].id, Err("offline".into()));
            let (_, events, next) = drain(&mut link);
            assert!(matches!(events[0], LinkEvent::Offline { .. }));
            assert!(next <= planned, "{next:?} after {planned:?}");
            planned = next;
        }
        // A report gets through: online again, and the poll goes out now, not in a minute.
        report(&mut link);
        let (sent, _, _) = drain(&mut link);
        // An answer for some other id changes nothing.
        link.handle_response(Millis(3_500), sent[0].id + 7, Ok((200, b"{}".to_vec())));
        assert!(!link.is_online());
        link.handle_response(Millis(3_500), sent[0].id, Ok((200, b"{}".to_vec())));
        let (_, events, next) = drain(&mut link);
        assert!(events.contains(&LinkEvent::Online));
        assert_eq!(next, Some(Millis(3_500)));
    }

    fn link() -> HttpsLink {
        let thing = ThingName::new("t").unwrap_or_else(|e| panic!("{e}"));
        HttpsLink::new(Millis(0), thing, 5_000, 1)
    }

    fn publish(link: &mut HttpsLink, topic: &str, payload: &str) {
        link.handle_device_command(Command::Publish(Message::new(
            format!("$emqx/things/t/{topic}"),
            payload,
            Qos::AtLeastOnce,
        )));
    }

    /// Answers the request in flight and returns everything the link gave back.
    fn answer(link: &mut HttpsLink, now: u64, status: u16, body: &str) -> Vec<LinkOutput> {
        let id = link.in_flight.as_ref().map(|(id, _)| *id).unwrap_or(0);
        link.handle_response(Millis(now), id, Ok((status, body.as_bytes().to_vec())));
        let mut out = Vec::new();
        loop {
            match link.poll_output() {
                LinkOutput::Idle { .. } => return out,
                o => out.push(o),
            }
        }
    }

    fn offline_reason(out: &[LinkOutput]) -> Option<&str> {
        out.iter().find_map(|o| match o {
            LinkOutput::Event(LinkEvent::Offline { reason, .. }) => Some(reason.as_str()),
            _ => None,
        })
    }

    #[test]
    fn the_poll_interval_is_at_least_a_second_and_poll_now_skips_the_wait() {
        let thing = ThingName::new("t").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(HttpsLink::new(Millis(0), thing, 10, 1).poll_ms(), 1_000);
        let mut link = link();
        assert_eq!(link.poll_ms(), 5_000);
        link.handle_timeout(Millis(0));
        answer(
            &mut link,
            10,
            200,
            std::str::from_utf8(DOC).unwrap_or_default(),
        );
        assert!(link.is_online());
        link.poll_now(Millis(20));
        let (requests, _, _) = drain(&mut link);
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, "GET");
        assert_eq!(requests[0].path, "/api/v1/thing-datas/t/shadow");
    }

    #[test]
    fn the_polled_document_carries_the_time_it_was_read() {
        let doc = parse_shadow(DOC, Millis(5_999)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.updated_at, 5);
        assert_eq!(doc.version, 1);
    }

    #[test]
    fn each_device_publish_becomes_its_request_with_its_own_id() {
        let mut link = link();
        let token = r#"{"clientToken":"c1"}"#;
        publish(&mut link, "jobs/get", token);
        publish(&mut link, "jobs/start-next", token);
        publish(&mut link, "jobs/j%2F1/get", token);
        publish(&mut link, "jobs/j1/update", r#"{"status":"IN_PROGRESS"}"#);
        let mut paths = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..4 {
            let (requests, _, _) = drain(&mut link);
            let r = &requests[0];
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.body.as_ref().and_then(|b| b.get("thingName")),
                Some(&json!("t"))
            );
            paths.push(r.path.clone());
            ids.push(r.id);
            link.handle_response(Millis(1), r.id, Ok((200, b"{}".to_vec())));
        }
        assert_eq!(
            paths,
            vec![
                "/api/v1/thing-datas/jobs/get",
                "/api/v1/thing-datas/jobs/start-next",
                // The id is one path segment: its own `%` is encoded.
                "/api/v1/thing-datas/jobs/j%252F1/get",
                "/api/v1/thing-datas/jobs/j1/update",
            ]
        );
        assert_eq!(ids, vec![1, 2, 3, 4]);
    }

    #[test]
    fn job_answers_come_back_as_the_accepted_or_rejected_message() {
        let mut link = link();
        publish(&mut link, "jobs/get", "{}");
        let out = answer(
            &mut link,
            1,
            200,
            r#"{"inProgressJobs":[],"queuedJobs":[]}"#,
        );
        let delivered: Vec<&str> = out
            .iter()
            .filter_map(|o| match o {
                LinkOutput::Deliver(Event::Received(m)) => Some(m.topic.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(delivered, vec!["$emqx/things/t/jobs/get/accepted"]);
        // A 404 with a jobs error code is the rejection of that request, not a lost thing.
        publish(&mut link, "jobs/j1/update", r#"{"status":"SUCCEEDED"}"#);
        let out = answer(
            &mut link,
            2,
            404,
            r#"{"code":"ResourceNotFound","message":"no"}"#,
        );
        assert!(offline_reason(&out).is_none(), "{out:?}");
        assert!(out.iter().any(|o| matches!(
            o,
            LinkOutput::Deliver(Event::Received(m)) if m.topic == "$emqx/things/t/jobs/j1/update/rejected"
        )));
    }

    #[test]
    fn refused_keys_unknown_things_and_server_errors_take_the_link_offline() {
        for (status, body, why) in [
            (401, "{}", "API key and secret were refused"),
            (403, "{}", "API key and secret were refused"),
            (404, r#"{"code":"NotFound"}"#, "register it first"),
            (503, "busy", "503 busy"),
            (199, "", "199"),
        ] {
            let mut link = link();
            link.handle_timeout(Millis(0));
            let out = answer(&mut link, 1, status, body);
            let reason = offline_reason(&out).unwrap_or_else(|| panic!("{status}: {out:?}"));
            assert!(reason.contains(why), "{status}: {reason}");
            assert!(!out.iter().any(|o| matches!(o, LinkOutput::Document(_))));
        }
        // A jobs request on a thing the cloud does not know (no jobs error code).
        let mut link = link();
        publish(&mut link, "jobs/get", "{}");
        let out = answer(&mut link, 1, 404, "{}");
        assert!(
            offline_reason(&out).is_some_and(|r| r.contains("register it first")),
            "{out:?}"
        );
    }

    #[test]
    fn a_refused_poll_or_report_is_shown_and_an_accepted_one_is_not() {
        let mut link = link();
        link.handle_timeout(Millis(0));
        let out = answer(&mut link, 1, 400, r#"{"error":"bad"}"#);
        assert!(out.iter().any(|o| matches!(
            o,
            LinkOutput::Event(LinkEvent::Refused { reason, .. }) if reason == "400: bad"
        )));
        assert!(!out.iter().any(|o| matches!(o, LinkOutput::Document(_))));
        link.handle_timeout(Millis(5_001));
        let out = answer(
            &mut link,
            5_002,
            200,
            std::str::from_utf8(DOC).unwrap_or_default(),
        );
        assert!(out.iter().any(|o| matches!(o, LinkOutput::Document(_))));
        assert!(out.contains(&LinkOutput::CheckJobs));
        report(&mut link);
        let out = answer(&mut link, 5_003, 200, "{}");
        assert!(
            !out.iter()
                .any(|o| matches!(o, LinkOutput::Event(LinkEvent::Refused { .. }))),
            "{out:?}"
        );
        report(&mut link);
        let out = answer(&mut link, 5_004, 409, r#"{"error":"version"}"#);
        assert!(out.iter().any(|o| matches!(
            o,
            LinkOutput::Event(LinkEvent::Refused { reason, .. }) if reason == "409: version"
        )));
    }
}
