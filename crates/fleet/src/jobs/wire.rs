//! Job documents on the wire (AWS IoT Jobs MQTT API shapes, which the reference adopts for
//! what Fleets leaves open).

use crate::vec_map::VecMap;

use serde::Serialize;

use crate::fields::{Fields, FromJson, deserialize_from_json};
use serde_json::{Map, Value};

use super::JobStatus;
use crate::{Error, Result};

/// `statusDetails`: a string map the device fills (progress, step, reason).
pub type StatusDetails = VecMap<String, String>;

/// The same jobs document without what a device can do without: an execution's `thingName`
/// (the topic names the thing), its timestamps other than the document's own, and empty
/// `statusDetails`. For a broker whose Maximum Packet Size the whole document exceeds;
/// `None` when the payload is not JSON or nothing could be left out.
pub fn compact(payload: &[u8]) -> Option<Vec<u8>> {
    let mut doc = crate::json::value(payload).ok()?;
    let execution = doc.get_mut("execution")?.as_object_mut()?;
    let before = execution.len();
    for key in [
        "thingName",
        "queuedAt",
        "startedAt",
        "lastUpdatedAt",
        "executionNumber",
    ] {
        execution.remove(key);
    }
    if execution
        .get("statusDetails")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        execution.remove("statusDetails");
    }
    (execution.len() < before).then(|| crate::json::text(&doc).into_bytes())
}

fn first_execution() -> u64 {
    1
}

/// One thing's execution of one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobExecution {
    /// The job.
    pub job_id: String,
    /// The thing running it (may be left out: the topic names it, see [`compact`]).
    pub thing_name: String,
    /// The job document (what to do), e.g. `{"action":"updateFirmware","params":{…}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_document: Option<Value>,
    /// Where it stands.
    pub status: JobStatus,
    /// What the device last said about it.
    pub status_details: StatusDetails,
    /// Epoch seconds (may be left out, see [`compact`]).
    pub queued_at: u64,
    /// Epoch seconds; absent until started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Epoch seconds (may be left out, see [`compact`]).
    pub last_updated_at: u64,
    /// Increments on every update; `expectedVersion` is checked against it.
    pub version_number: u64,
    /// Which execution of this job on this thing (CONTINUOUS jobs may run again; may be left
    /// out, see [`compact`]: the first).
    pub execution_number: u64,
    /// Seconds left before the step timer ends the execution (AWS's field), in replies that
    /// hand the device its job; absent when no step timer runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_seconds_before_timed_out: Option<u64>,
}

/// A line of the pending lists in `notify` and `get/accepted`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobExecutionSummary {
    /// The job.
    pub job_id: String,
    /// Epoch seconds.
    pub queued_at: u64,
    /// Epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Epoch seconds.
    pub last_updated_at: u64,
    /// The execution's version.
    pub version_number: u64,
    /// Which execution.
    pub execution_number: u64,
}

impl From<&JobExecution> for JobExecutionSummary {
    fn from(e: &JobExecution) -> Self {
        Self {
            job_id: e.job_id.clone(),
            queued_at: e.queued_at,
            started_at: e.started_at,
            last_updated_at: e.last_updated_at,
            version_number: e.version_number,
            execution_number: e.execution_number,
        }
    }
}

/// `jobs/notify`: the pending lists changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Notify {
    /// Epoch seconds.
    pub timestamp: u64,
    /// `QUEUED` and `IN_PROGRESS` lists.
    pub jobs: VecMap<JobStatus, Vec<JobExecutionSummary>>,
}

/// `jobs/notify-next` and `jobs/start-next/accepted` / `jobs/{id}/get/accepted`: one execution
/// (none when nothing is pending).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionReply {
    /// Epoch seconds.
    pub timestamp: u64,
    /// The execution, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<JobExecution>,
    /// Echo of the request's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// `jobs/get/accepted`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingJobs {
    /// Epoch seconds.
    pub timestamp: u64,
    /// Started, not finished.
    pub in_progress_jobs: Vec<JobExecutionSummary>,
    /// Not started.
    pub queued_jobs: Vec<JobExecutionSummary>,
    /// Echo of the request's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// A request with only a token (`jobs/get`), or `start-next` / `{id}/get` fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRequest {
    /// Matches the reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// start-next: details to record when the execution starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    /// start-next: minutes until the step times out (0 or absent: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_timeout_in_minutes: Option<u64>,
}

/// `jobs/{jobId}/update`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobUpdate {
    /// The new status.
    pub status: JobStatus,
    /// Replaces the details when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    /// Rejected unless it equals the execution's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// Restarts the step timer with this many minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_timeout_in_minutes: Option<u64>,
    /// Ask for the job document in the reply.
    pub include_job_document: bool,
    /// Matches the reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// `jobs/{jobId}/update/accepted`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAccepted {
    /// The execution after the update.
    pub execution_state: ExecutionState,
    /// When asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_document: Option<Value>,
    /// Epoch seconds.
    pub timestamp: u64,
    /// Echo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// Status, details and version of an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionState {
    /// Status.
    pub status: JobStatus,
    /// Details.
    pub status_details: StatusDetails,
    /// Version.
    pub version_number: u64,
}

/// Why a jobs request was refused (AWS Jobs error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCode {
    /// The payload is not JSON of the expected shape.
    InvalidJson,
    /// A field is wrong (e.g. a status a device may not set).
    InvalidRequest,
    /// The status change is not legal from the current status.
    InvalidStateTransition,
    /// `expectedVersion` does not match.
    VersionMismatch,
    /// No such job execution for this thing.
    ResourceNotFound,
    /// The execution already ended.
    TerminalStateReached,
}

crate::wire_names::wire_names!(RejectCode {
    InvalidJson => "InvalidJson",
    InvalidRequest => "InvalidRequest",
    InvalidStateTransition => "InvalidStateTransition",
    VersionMismatch => "VersionMismatch",
    ResourceNotFound => "ResourceNotFound",
    TerminalStateReached => "TerminalStateReached",
});

/// `…/rejected`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRejected {
    /// Machine-readable reason.
    pub code: RejectCode,
    /// Human-readable reason.
    pub message: String,
    /// Epoch seconds.
    pub timestamp: u64,
    /// Echo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// The execution as it stands, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_state: Option<ExecutionState>,
}

// What each document reads, as its derive would (crate::fields says why not the derive).

impl FromJson for JobExecution {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct JobExecution")?;
        Ok(Self {
            job_id: f.get("jobId")?,
            thing_name: f.or_default("thingName")?,
            job_document: f.get("jobDocument")?,
            status: f.get("status")?,
            status_details: f.or_default("statusDetails")?,
            queued_at: f.or_default("queuedAt")?,
            started_at: f.get("startedAt")?,
            last_updated_at: f.or_default("lastUpdatedAt")?,
            version_number: f.get("versionNumber")?,
            execution_number: f.or("executionNumber", first_execution)?,
            approximate_seconds_before_timed_out: f.get("approximateSecondsBeforeTimedOut")?,
        })
    }
}

impl FromJson for JobExecutionSummary {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct JobExecutionSummary")?;
        Ok(Self {
            job_id: f.get("jobId")?,
            queued_at: f.get("queuedAt")?,
            started_at: f.get("startedAt")?,
            last_updated_at: f.get("lastUpdatedAt")?,
            version_number: f.get("versionNumber")?,
            execution_number: f.get("executionNumber")?,
        })
    }
}

impl FromJson for Notify {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct Notify")?;
        Ok(Self {
            timestamp: f.get("timestamp")?,
            jobs: f.get("jobs")?,
        })
    }
}

impl FromJson for ExecutionReply {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct ExecutionReply")?;
        Ok(Self {
            timestamp: f.get("timestamp")?,
            execution: f.get("execution")?,
            client_token: f.get("clientToken")?,
        })
    }
}

impl FromJson for PendingJobs {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct PendingJobs")?;
        Ok(Self {
            timestamp: f.get("timestamp")?,
            in_progress_jobs: f.get("inProgressJobs")?,
            queued_jobs: f.get("queuedJobs")?,
            client_token: f.get("clientToken")?,
        })
    }
}

impl FromJson for JobRequest {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct JobRequest")?;
        Ok(Self {
            client_token: f.get("clientToken")?,
            status_details: f.get("statusDetails")?,
            step_timeout_in_minutes: f.get("stepTimeoutInMinutes")?,
        })
    }
}

impl FromJson for JobUpdate {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct JobUpdate")?;
        Ok(Self {
            status: f.get("status")?,
            status_details: f.get("statusDetails")?,
            expected_version: f.get("expectedVersion")?,
            step_timeout_in_minutes: f.get("stepTimeoutInMinutes")?,
            include_job_document: f.or_default("includeJobDocument")?,
            client_token: f.get("clientToken")?,
        })
    }
}

impl FromJson for UpdateAccepted {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct UpdateAccepted")?;
        Ok(Self {
            execution_state: f.get("executionState")?,
            job_document: f.get("jobDocument")?,
            timestamp: f.get("timestamp")?,
            client_token: f.get("clientToken")?,
        })
    }
}

impl FromJson for ExecutionState {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct ExecutionState")?;
        Ok(Self {
            status: f.get("status")?,
            status_details: f.or_default("statusDetails")?,
            version_number: f.get("versionNumber")?,
        })
    }
}

impl FromJson for JobRejected {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut f = Fields::of(value, "struct JobRejected")?;
        Ok(Self {
            code: f.get("code")?,
            message: f.get("message")?,
            timestamp: f.get("timestamp")?,
            client_token: f.get("clientToken")?,
            execution_state: f.get("executionState")?,
        })
    }
}

deserialize_from_json!(
    JobExecution,
    JobExecutionSummary,
    Notify,
    ExecutionReply,
    PendingJobs,
    JobRequest,
    JobUpdate,
    UpdateAccepted,
    ExecutionState,
    JobRejected,
);

/// Encodes any of these documents.
pub fn encode<T: Serialize>(doc: &T) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap_or_default()
}

/// Decodes any of these documents, naming `document` in the error. An empty payload counts as
/// `{}` (AWS allows an empty `get`).
pub(crate) fn decode<T: FromJson>(document: &'static str, payload: &[u8]) -> Result<T> {
    let payload: &[u8] = if payload.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        payload
    };
    crate::json::document(document, payload)
}

/// A job document is a JSON object with a string `action` (fleets-protocol.md example:
/// `{"action":"updateFirmware","params":{…}}`); `params`, when present, is an object.
pub fn validate_job_document(document: &Value) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::Malformed {
            document: "job document",
            reason: reason.to_owned(),
        })
    };
    let Some(object) = document.as_object() else {
        return bad("it must be a JSON object");
    };
    match object.get("action") {
        Some(Value::String(action)) if !action.trim().is_empty() => {}
        Some(_) => return bad("\"action\" must be a non-empty string"),
        None => return bad("it needs an \"action\""),
    }
    if object.get("params").is_some_and(|p| !p.is_object()) {
        return bad("\"params\" must be an object");
    }
    Ok(())
}

/// The `params` object of a valid job document (empty when absent).
pub fn job_params(document: &Value) -> Map<String, Value> {
    document
        .get("params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compact_execution_still_reads_as_the_same_job() {
        let full = serde_json::json!({
            "timestamp": 1_700_000_000u64,
            "execution": {
                "jobId": "job-1", "thingName": "t1", "jobDocument": {"action": "reboot"},
                "status": "QUEUED", "statusDetails": {}, "queuedAt": 1_700_000_000u64,
                "lastUpdatedAt": 1_700_000_000u64, "versionNumber": 1, "executionNumber": 1
            }
        });
        let bytes = full.to_string().into_bytes();
        let small = compact(&bytes).expect("something to leave out");
        assert!(
            small.len() < bytes.len() - 60,
            "{}",
            String::from_utf8_lossy(&small)
        );
        let doc: Value = serde_json::from_slice(&small).unwrap();
        let execution: JobExecution = serde_json::from_value(doc["execution"].clone()).unwrap();
        assert_eq!(execution.job_id, "job-1");
        assert_eq!(execution.status, JobStatus::Queued);
        assert_eq!(
            execution.job_document,
            Some(serde_json::json!({"action": "reboot"}))
        );
        assert_eq!(execution.version_number, 1);
        assert!(
            !doc["execution"]
                .as_object()
                .unwrap()
                .contains_key("executionNumber")
        );
        assert_eq!(execution.execution_number, 1, "left out, read as the first");
        assert_eq!(compact(&small), None, "nothing more to leave out");
        assert_eq!(compact(b"not json"), None);
    }
}
