//! Commands (fleets-protocol.md, "Commands"): a real-time request → response with one online
//! device. The cloud publishes a request on `…/executions/{id}/request`; the device answers on
//! `…/executions/{id}/response`; without an answer within `ttl` seconds the execution times out.
//!
//! ```text
//!   cloud: SENT ──response──▶ SUCCEEDED | FAILED | REJECTED
//!           │ └──ttl passed──▶ TIMED_OUT      (a late response changes nothing)
//!           └────cancel─────▶ CANCELED
//! ```
//! Times here are epoch seconds, as in the documents; the caller passes them in.

use crate::vec_map::VecMap;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::fields::{Fields, FromJson, deserialize_from_json};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Execution status (fleets-protocol.md, "Execution status").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    /// Published; no answer yet.
    Sent,
    /// The device ran it.
    Succeeded,
    /// The device tried and failed.
    Failed,
    /// The device refused it (unknown action, bad parameters).
    Rejected,
    /// No answer within the TTL.
    TimedOut,
    /// Cancelled by the cloud before an answer.
    Canceled,
}

crate::wire_names::wire_names!(CommandStatus {
    Sent => "SENT",
    Succeeded => "SUCCEEDED",
    Failed => "FAILED",
    Rejected => "REJECTED",
    TimedOut => "TIMED_OUT",
    Canceled => "CANCELED",
});

impl CommandStatus {
    /// Whether no further change can happen.
    pub fn is_terminal(self) -> bool {
        self != Self::Sent
    }
}

/// The request document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandRequest {
    /// The command's id (one command may have several executions).
    pub command_id: String,
    /// What to do, e.g. `setTemperature`.
    pub action: String,
    /// Arguments of the action.
    pub params: Map<String, Value>,
    /// When the cloud sent it, epoch seconds.
    pub timestamp: u64,
    /// Seconds the cloud waits for the answer.
    pub ttl: u64,
}

fn default_ttl() -> u64 {
    30
}

/// The response document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandResponse {
    /// SUCCEEDED, FAILED or REJECTED.
    pub status: CommandStatus,
    /// What happened, or why not.
    pub result: Map<String, Value>,
}

// What each document reads, as its derive would (crate::fields says why not the derive).

impl FromJson for CommandRequest {
    fn from_json(value: Value) -> core::result::Result<Self, String> {
        let mut f = Fields::of(value, "struct CommandRequest")?;
        Ok(Self {
            command_id: f.get("commandId")?,
            action: f.get("action")?,
            params: f.or_default("params")?,
            timestamp: f.or_default("timestamp")?,
            ttl: f.or("ttl", default_ttl)?,
        })
    }
}

impl FromJson for CommandResponse {
    fn from_json(value: Value) -> core::result::Result<Self, String> {
        let mut f = Fields::of(value, "struct CommandResponse")?;
        Ok(Self {
            status: f.get("status")?,
            result: f.or_default("result")?,
        })
    }
}

deserialize_from_json!(CommandRequest, CommandResponse);

impl CommandResponse {
    /// A response with `result` `{"error": message}`.
    pub fn error(status: CommandStatus, message: impl Into<String>) -> Self {
        let mut result = Map::new();
        result.insert("error".into(), Value::String(message.into()));
        Self { status, result }
    }

    /// The JSON payload.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What the device should do with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestVerdict {
    /// Run it, then call [`CommandAgent::respond`].
    Execute(CommandRequest),
    /// Answer at once with this (a malformed request is REJECTED with the reason).
    Respond(CommandResponse),
    /// Already answered: send the same answer again (the cloud may have missed it).
    Duplicate(CommandResponse),
    /// Already being handled (e.g. waiting for a manual answer): ignore.
    InProgress,
    /// Its TTL passed before it arrived: not executed, not answered (the cloud has timed it out).
    Expired {
        /// The request.
        request: CommandRequest,
    },
}

/// How many answered executions the device remembers for deduplication.
const REMEMBERED: usize = 256;

/// The device role: dedupes by execution id, honours the TTL, remembers answers.
#[derive(Debug, Default)]
pub struct CommandAgent {
    pending: VecMap<String, CommandRequest>,
    answered: VecDeque<(String, CommandResponse)>,
}

impl CommandAgent {
    /// A request payload arrived for `execution_id` at `now` (epoch seconds).
    pub fn handle_request(
        &mut self,
        now: u64,
        execution_id: &str,
        payload: &[u8],
    ) -> RequestVerdict {
        if let Some((_, answer)) = self.answered.iter().find(|(id, _)| id == execution_id) {
            return RequestVerdict::Duplicate(answer.clone());
        }
        if self.pending.contains_key(execution_id) {
            return RequestVerdict::InProgress;
        }
        let request: CommandRequest = match crate::json::document("command request", payload) {
            Ok(request) => request,
            Err(e) => {
                let answer = CommandResponse::error(CommandStatus::Rejected, e.to_string());
                self.remember(execution_id, answer.clone());
                return RequestVerdict::Respond(answer);
            }
        };
        // A zero timestamp means the sender did not say when; then only the TTL countdown
        // from arrival applies (the UI shows it).
        if request.timestamp != 0 && now > request.timestamp.saturating_add(request.ttl) {
            return RequestVerdict::Expired { request };
        }
        self.pending
            .insert(execution_id.to_owned(), request.clone());
        RequestVerdict::Execute(request)
    }

    /// Requests waiting for an answer, by execution id.
    pub fn pending(&self) -> &VecMap<String, CommandRequest> {
        &self.pending
    }

    /// Answers a pending execution; returns the payload to publish on its response topic.
    pub fn respond(&mut self, execution_id: &str, response: CommandResponse) -> Result<Vec<u8>> {
        if self.pending.remove(execution_id).is_none() {
            return Err(Error::Unknown {
                what: "command execution",
                id: execution_id.to_owned(),
            });
        }
        let payload = response.to_vec();
        self.remember(execution_id, response);
        Ok(payload)
    }

    /// Forgets a pending execution without answering (to show a timeout on purpose).
    pub fn drop_pending(&mut self, execution_id: &str) -> bool {
        self.pending.remove(execution_id).is_some()
    }

    fn remember(&mut self, execution_id: &str, response: CommandResponse) {
        if self.answered.len() == REMEMBERED {
            self.answered.pop_front();
        }
        self.answered.push_back((execution_id.to_owned(), response));
    }
}

/// One execution as the cloud tracks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Execution id (a topic level).
    pub execution_id: String,
    /// Target thing.
    pub thing_name: String,
    /// The request as sent.
    pub request: CommandRequest,
    /// Where it stands.
    pub status: CommandStatus,
    /// The device's result, once answered.
    #[serde(default)]
    pub result: Map<String, Value>,
    /// Epoch seconds of the last status change.
    pub updated_at: u64,
}

/// The cloud role: sends commands and tracks their executions to a terminal status.
/// Serializable, so a backend can persist it and pick up where it stopped.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandTracker {
    next_id: u64,
    executions: VecMap<String, Execution>,
    /// Drawn once per process ([`CommandTracker::seed_ids`]), not stored.
    #[serde(skip)]
    id_seed: u64,
}

/// Executions kept: past this the oldest finished ones are forgotten, so a cloud left running
/// with devices that take commands does not grow without end.
pub const MAX_EXECUTIONS: usize = 10_000;

/// Keeps command ids apart from job ids drawn from the same seed and counter.
const COMMAND_IDS: u64 = 0x636f_6d6d_616e_6473;

impl CommandTracker {
    /// Records a new execution and returns it; publish `request` to its request topic.
    pub fn send(
        &mut self,
        now: u64,
        thing_name: &str,
        action: &str,
        params: Map<String, Value>,
        ttl: u64,
    ) -> &Execution {
        self.prune(MAX_EXECUTIONS - 1);
        let execution_id = self.new_execution_id();
        let request = CommandRequest {
            command_id: format!("cmd-{}", self.next_id),
            action: action.to_owned(),
            params,
            timestamp: now,
            ttl,
        };
        let execution = Execution {
            execution_id: execution_id.clone(),
            thing_name: thing_name.to_owned(),
            request,
            status: CommandStatus::Sent,
            result: Map::new(),
            updated_at: now,
        };
        self.executions.entry(execution_id).or_insert(execution)
    }

    /// Forgets the oldest finished executions until at most `keep` remain (pending ones stay:
    /// their TTL ends them).
    fn prune(&mut self, keep: usize) {
        let over = self.executions.len().saturating_sub(keep);
        if over == 0 {
            return;
        }
        let mut finished: Vec<(u64, String)> = self
            .executions
            .values()
            .filter(|e| e.status.is_terminal())
            .map(|e| (e.updated_at, e.execution_id.clone()))
            .collect();
        finished.sort_unstable();
        for (_, id) in finished.into_iter().take(over) {
            self.executions.remove(&id);
        }
    }

    /// Execution ids are UUIDs (version 4 layout) drawn from `seed` and a counter: a stranger
    /// on the broker cannot guess the topic of a pending execution to forge its response. The
    /// same seed gives the same ids (a seeded sandbox); a backend seeds it once per process.
    pub fn seed_ids(&mut self, seed: u64) {
        self.id_seed = seed;
    }

    fn new_execution_id(&mut self) -> String {
        let executions = &self.executions;
        crate::jobs::cloud::draw_id(self.id_seed ^ COMMAND_IDS, &mut self.next_id, |id| {
            executions.contains_key(id)
        })
    }

    /// A response arrived. Terminal executions do not change (a late answer after TIMED_OUT
    /// stays TIMED_OUT); a malformed response is an error and changes nothing.
    pub fn handle_response(
        &mut self,
        now: u64,
        execution_id: &str,
        payload: &[u8],
    ) -> Result<&Execution> {
        let execution = self.execution_mut(execution_id)?;
        let response: CommandResponse = crate::json::document("command response", payload)?;
        if !matches!(
            response.status,
            CommandStatus::Succeeded | CommandStatus::Failed | CommandStatus::Rejected
        ) {
            return Err(Error::Malformed {
                document: "command response",
                reason: format!(
                    "a device answers SUCCEEDED, FAILED or REJECTED, not {}",
                    response.status.as_str()
                ),
            });
        }
        if execution.status == CommandStatus::Sent {
            execution.status = response.status;
            execution.result = response.result;
            execution.updated_at = now;
        }
        Ok(execution)
    }

    /// Times out executions whose TTL passed; returns their ids.
    pub fn handle_timeout(&mut self, now: u64) -> Vec<String> {
        let mut timed_out = Vec::new();
        for execution in self.executions.values_mut() {
            let due = execution
                .request
                .timestamp
                .saturating_add(execution.request.ttl);
            if execution.status == CommandStatus::Sent && now >= due {
                execution.status = CommandStatus::TimedOut;
                execution.updated_at = now;
                timed_out.push(execution.execution_id.clone());
            }
        }
        timed_out
    }

    /// When the next execution would time out.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.executions
            .values()
            .filter(|e| e.status == CommandStatus::Sent)
            .map(|e| e.request.timestamp.saturating_add(e.request.ttl))
            .min()
    }

    /// Cancels an execution still waiting for its answer.
    pub fn cancel(&mut self, now: u64, execution_id: &str) -> Result<&Execution> {
        let execution = self.execution_mut(execution_id)?;
        if execution.status == CommandStatus::Sent {
            execution.status = CommandStatus::Canceled;
            execution.updated_at = now;
        }
        Ok(execution)
    }

    fn execution_mut(&mut self, execution_id: &str) -> Result<&mut Execution> {
        self.executions
            .get_mut(execution_id)
            .ok_or_else(|| Error::Unknown {
                what: "command execution",
                id: execution_id.to_owned(),
            })
    }

    /// Back from stored executions and the id counter ([`CommandTracker::next_id`]).
    pub fn restore(next_id: u64, executions: Vec<Execution>) -> Self {
        Self {
            next_id,
            executions: executions
                .into_iter()
                .map(|e| (e.execution_id.clone(), e))
                .collect(),
            // Seeded again by the process that restores it.
            id_seed: 0,
        }
    }

    /// The execution id counter, for persistence.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Every execution, by id.
    pub fn executions(&self) -> impl Iterator<Item = &Execution> {
        self.executions.values()
    }

    /// One execution.
    pub fn get(&self, execution_id: &str) -> Option<&Execution> {
        self.executions.get(execution_id)
    }

    /// Drops every execution sent to `thing`.
    pub fn forget_thing(&mut self, thing: &str) {
        self.executions.retain(|_, e| e.thing_name != thing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_status_reads_as_the_wire_names_it() {
        use CommandStatus::*;
        for status in [Sent, Succeeded, Failed, Rejected, TimedOut, Canceled] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }

    #[test]
    fn the_reference_request_and_response_round_trip() {
        let payload = br#"{"commandId":"c1","action":"setTemperature","params":{"value":24},"timestamp":1748390400,"ttl":30}"#;
        let mut agent = CommandAgent::default();
        let RequestVerdict::Execute(request) = agent.handle_request(1_748_390_401, "e1", payload)
        else {
            panic!("expected Execute");
        };
        assert_eq!(request.action, "setTemperature");
        assert_eq!(request.params, params(json!({"value": 24})));
        let answer = CommandResponse {
            status: CommandStatus::Succeeded,
            result: params(json!({"currentTemperature": 24})),
        };
        let bytes = agent.respond("e1", answer).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            json!({"status": "SUCCEEDED", "result": {"currentTemperature": 24}})
        );
    }

    #[test]
    fn duplicates_get_the_same_answer_and_are_not_run_twice() {
        let mut agent = CommandAgent::default();
        let req = br#"{"commandId":"c1","action":"reboot","timestamp":100,"ttl":30}"#;
        assert!(matches!(
            agent.handle_request(101, "e1", req),
            RequestVerdict::Execute(_)
        ));
        assert_eq!(
            agent.handle_request(101, "e1", req),
            RequestVerdict::InProgress
        );
        agent
            .respond("e1", CommandResponse::error(CommandStatus::Failed, "busy"))
            .unwrap();
        assert_eq!(
            agent.handle_request(102, "e1", req),
            RequestVerdict::Duplicate(CommandResponse::error(CommandStatus::Failed, "busy"))
        );
        assert!(
            agent
                .respond("e1", CommandResponse::error(CommandStatus::Failed, "x"))
                .is_err()
        );
    }

    #[test]
    fn an_expired_request_is_not_executed() {
        let mut agent = CommandAgent::default();
        let req = br#"{"commandId":"c1","action":"reboot","timestamp":100,"ttl":30}"#;
        assert!(matches!(
            agent.handle_request(131, "e1", req),
            RequestVerdict::Expired { .. }
        ));
        assert!(agent.pending().is_empty());
    }

    #[test]
    fn a_malformed_request_is_rejected_with_the_reason() {
        let mut agent = CommandAgent::default();
        match agent.handle_request(1, "e9", b"{\"action\": 5}") {
            RequestVerdict::Respond(r) => {
                assert_eq!(r.status, CommandStatus::Rejected);
                let why = r.result["error"].as_str().unwrap_or_default();
                assert!(why.contains("malformed command request"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_cloud_tracks_sent_to_answered_timed_out_and_canceled() {
        let mut cloud = CommandTracker::default();
        let id1 = cloud
            .send(100, "t1", "reboot", Map::new(), 30)
            .execution_id
            .clone();
        let id2 = cloud
            .send(100, "t1", "blink", Map::new(), 10)
            .execution_id
            .clone();
        let id3 = cloud
            .send(100, "t1", "blink", Map::new(), 60)
            .execution_id
            .clone();
        assert_eq!(cloud.poll_timeout(), Some(110));
        assert_eq!(cloud.handle_timeout(109), Vec::<String>::new());
        assert_eq!(cloud.handle_timeout(110), vec![id2.clone()]);
        // A late answer does not revive a timed-out execution.
        let late = cloud
            .handle_response(111, &id2, br#"{"status":"SUCCEEDED"}"#)
            .unwrap();
        assert_eq!(late.status, CommandStatus::TimedOut);
        let ok = cloud
            .handle_response(112, &id1, br#"{"status":"SUCCEEDED","result":{"up":true}}"#)
            .unwrap();
        assert_eq!(ok.status, CommandStatus::Succeeded);
        assert_eq!(
            cloud.cancel(113, &id3).unwrap().status,
            CommandStatus::Canceled
        );
        assert_eq!(cloud.poll_timeout(), None);
    }

    #[test]
    fn the_cloud_refuses_malformed_or_impossible_responses_and_keeps_the_status() {
        let mut cloud = CommandTracker::default();
        let id = cloud
            .send(100, "t1", "reboot", Map::new(), 30)
            .execution_id
            .clone();
        assert!(matches!(
            cloud.handle_response(101, &id, b"nope"),
            Err(Error::Malformed { .. })
        ));
        assert!(
            cloud
                .handle_response(101, &id, br#"{"status":"TIMED_OUT"}"#)
                .is_err()
        );
        assert!(matches!(
            cloud.handle_response(101, "exec-404", b"{}"),
            Err(Error::Unknown { .. })
        ));
        assert_eq!(cloud.get(&id).unwrap().status, CommandStatus::Sent);
    }

    // -- rules pinned down for the mutation score (issue 20) --

    #[test]
    fn only_sent_is_open_every_other_status_is_terminal() {
        // fleets-protocol.md: "starts SENT; ends SUCCEEDED, FAILED, REJECTED, TIMED_OUT or
        // CANCELED".
        assert!(!CommandStatus::Sent.is_terminal());
        for status in [
            CommandStatus::Succeeded,
            CommandStatus::Failed,
            CommandStatus::Rejected,
            CommandStatus::TimedOut,
            CommandStatus::Canceled,
        ] {
            assert!(status.is_terminal(), "{status:?}");
        }
    }

    #[test]
    fn a_request_is_live_up_to_and_including_its_last_ttl_second() {
        // Expired only when `timestamp + ttl < now` (docs/protocol.md, "Command TTL").
        let payload = br#"{"commandId":"c1","action":"reboot","timestamp":100,"ttl":30}"#;
        let mut agent = CommandAgent::default();
        assert!(matches!(
            agent.handle_request(130, "e1", payload),
            RequestVerdict::Execute(_)
        ));
        assert!(matches!(
            agent.handle_request(131, "e2", payload),
            RequestVerdict::Expired { .. }
        ));
    }

    #[test]
    fn a_request_without_ttl_gets_the_default_of_30_seconds() {
        let payload = br#"{"commandId":"c1","action":"reboot","timestamp":100}"#;
        let mut agent = CommandAgent::default();
        let RequestVerdict::Execute(request) = agent.handle_request(100, "e1", payload) else {
            panic!("executed");
        };
        assert_eq!(request.ttl, 30);
        assert!(matches!(
            agent.handle_request(131, "e2", payload),
            RequestVerdict::Expired { .. }
        ));
    }

    #[test]
    fn every_remembered_answer_is_resent_for_its_own_duplicate() {
        let mut agent = CommandAgent::default();
        let payload = br#"{"commandId":"c","action":"reboot"}"#;
        for (id, status) in [
            ("e1", CommandStatus::Succeeded),
            ("e2", CommandStatus::Failed),
        ] {
            assert!(matches!(
                agent.handle_request(1, id, payload),
                RequestVerdict::Execute(_)
            ));
            agent
                .respond(id, CommandResponse::error(status, id))
                .unwrap();
        }
        let RequestVerdict::Duplicate(first) = agent.handle_request(2, "e1", payload) else {
            panic!("the first answer is still remembered");
        };
        assert_eq!(first.status, CommandStatus::Succeeded);
        let RequestVerdict::Duplicate(second) = agent.handle_request(2, "e2", payload) else {
            panic!("the second answer is remembered");
        };
        assert_eq!(second.status, CommandStatus::Failed);
    }

    #[test]
    fn a_tracker_restored_from_what_it_persisted_goes_on_without_reusing_an_id() {
        // thingsim-cloud stores next_id and the executions; after a restart an execution id
        // must never be handed out twice.
        let mut tracker = CommandTracker::default();
        tracker.send(1, "t1", "reboot", Map::new(), 30);
        tracker.send(2, "t1", "reboot", Map::new(), 30);
        assert_eq!(tracker.next_id(), 2);
        let mut restored =
            CommandTracker::restore(tracker.next_id(), tracker.executions().cloned().collect());
        assert_eq!(restored, tracker);
        assert_eq!(restored.executions().count(), 2);
        let ids: Vec<String> = tracker
            .executions()
            .map(|e| e.execution_id.clone())
            .collect();
        let third = restored
            .send(3, "t1", "reboot", Map::new(), 30)
            .execution_id
            .clone();
        assert!(!ids.contains(&third), "{third} was handed out before");
        assert_eq!(restored.next_id(), 3);
    }

    #[test]
    fn past_the_cap_the_oldest_finished_executions_are_forgotten_and_pending_ones_kept() {
        let mut t = CommandTracker::default();
        let pending = t
            .send(0, "t1", "reboot", Map::new(), 3_600)
            .execution_id
            .clone();
        let mut first_done = String::new();
        for i in 1..MAX_EXECUTIONS as u64 + 50 {
            let id = t
                .send(i, "t1", "reboot", Map::new(), 30)
                .execution_id
                .clone();
            let response = br#"{"status":"SUCCEEDED"}"#;
            t.handle_response(i, &id, response).unwrap();
            if i == 1 {
                first_done = id;
            }
        }
        assert_eq!(t.executions().count(), MAX_EXECUTIONS);
        assert!(t.get(&pending).is_some(), "a pending one is kept");
        assert!(
            t.get(&first_done).is_none(),
            "the oldest finished one is gone"
        );
    }

    #[test]
    fn execution_ids_are_uuids_from_the_seed_and_differ_across_seeds_and_from_job_ids() {
        let ids = |seed: u64| {
            let mut t = CommandTracker::default();
            t.seed_ids(seed);
            (0..3)
                .map(|_| {
                    t.send(1, "t1", "reboot", Map::new(), 30)
                        .execution_id
                        .clone()
                })
                .collect::<Vec<_>>()
        };
        let a = ids(7);
        assert_eq!(a, ids(7), "the same seed, the same ids");
        assert!(
            a.iter()
                .all(|id| id.len() == 36 && id.as_bytes()[14] == b'4'),
            "{a:?}"
        );
        assert!(ids(8).iter().all(|id| !a.contains(id)));
        let mut jobs = crate::jobs::cloud::JobsCloud::default();
        jobs.seed_ids(7);
        let job = jobs
            .create_job(
                1,
                "j",
                serde_json::json!({"action": "reboot"}),
                &[crate::ThingName::new("t1").unwrap()],
                crate::jobs::cloud::JobType::Snapshot,
                None,
            )
            .map(|(id, _)| id);
        assert!(job.is_ok_and(|id| !a.contains(&id)));
    }

    #[test]
    fn dropping_says_whether_there_was_a_pending_request_to_drop() {
        let mut agent = CommandAgent::default();
        let payload = br#"{"commandId":"c","action":"reboot"}"#;
        agent.handle_request(1, "e1", payload);
        assert!(agent.drop_pending("e1"));
        assert!(!agent.drop_pending("e1"), "already dropped");
        assert!(!agent.drop_pending("e2"), "never pending");
        assert!(agent.pending().is_empty());
    }
}
