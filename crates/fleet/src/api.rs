//! The local cloud's HTTP API, typed once: its routes, request bodies and what an operation's
//! answer means. thingsim-cloud routes requests with it, the page builds its requests with it
//! (the cloud panel in local mode, the HTTPS device, the startup GET), and the sandbox's cloud
//! says what an operation did in the same words.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/api/v1/things` | | `{"data":[{"thingName","version","updatedAt","deltaPending","connection","lastSeen","offlineReason"}]}` |
//! | POST | `/api/v1/things` | [`CreateThing`] | 201 `{"thingName","credentials"?}`; 409 exists |
//! | POST | `/api/v1/things/{name}/credentials` | [`CreateThing`]'s `clientId` | `{"thingName","credentials":{"username","password","clientId"}}`, registering it if new (201) |
//! | GET | `/api/v1/things/{name}/shadow` | | shadow document |
//! | PUT | `/api/v1/things/{name}/shadow/desired` | [`Update`] with `state.desired` | `{"version"}`; 409 conflict |
//! | POST | `/api/v1/commands` | [`SendCommand`] | 201 execution |
//! | GET | `/api/v1/commands/executions/{id}` | | execution |
//! | POST | `/api/v1/jobs` | [`CreateJob`] (things and/or groups, optional `rollout`) | 201 `{"jobId"}` |
//! | GET | `/api/v1/thing-groups` | | `{"data":[{"groupName","things":[…]}]}` |
//! | POST | `/api/v1/thing-groups` | [`CreateGroup`] | 201 `{"groupName"}`; 409 exists |
//! | POST | `/api/v1/thing-groups/{group}/things` | [`CreateThing`] | 200 `{"groupName","thingName"}` |
//! | DELETE | `/api/v1/thing-groups/{group}/things/{name}` | | 200; 404 not a member |
//! | GET | `/api/v1/jobs` | | `{"data":[job]}` |
//! | GET | `/api/v1/jobs/{id}` | | job |
//! | GET | `/api/v1/jobs/{id}/executions` | | `{"data":[execution]}` |
//! | POST | `/api/v1/jobs/{id}/cancel` | | job |
//! | GET | `/api/v1/thing-datas/{name}/shadow` | device key | shadow document (ThingDatas) |
//! | POST | `/api/v1/thing-datas/shadow/reported` | device key; [`Report`] | `{"version","clientToken"?}` |
//! | POST | `/api/v1/thing-datas/events` | device key; [`DeviceEvent`] | `{"accepted":true}` |
//! | POST | `/api/v1/thing-datas/jobs/get`, `…/start-next`, `…/{jobId}/get`, `…/{jobId}/update` | device key; the MQTT request's body with `thingName` | the `…/accepted` body |

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jobs::cloud::{JobType, Rollout};
use crate::shadow::UpdateState;
use crate::topics::{JobsTopic, Reply, path_segment};

pub use crate::shadow::Update;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Read.
    Get,
    /// Create or act.
    Post,
    /// Replace.
    Put,
    /// Remove.
    Delete,
}

impl Method {
    /// As on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// Where a request goes. Names and ids are as given (percent-decoding is the server's job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/api/v1/things`: GET lists, POST registers.
    Things,
    /// `/api/v1/things/{name}/shadow`: GET.
    Shadow(String),
    /// `/api/v1/things/{name}/credentials`: POST registers the thing if new and gives it a
    /// fresh broker password.
    Credentials(String),
    /// `/api/v1/things/{name}/shadow/desired`: PUT.
    Desired(String),
    /// `/api/v1/commands`: POST sends.
    Commands,
    /// `/api/v1/commands/executions/{id}`: GET.
    Execution(String),
    /// `/api/v1/jobs`: GET lists, POST creates.
    Jobs,
    /// `/api/v1/jobs/{id}`: GET.
    Job(String),
    /// `/api/v1/jobs/{id}/executions`: GET.
    JobExecutions(String),
    /// `/api/v1/jobs/{id}/cancel`: POST.
    JobCancel(String),
    /// `/api/v1/thing-groups`: GET lists, POST creates.
    Groups,
    /// `/api/v1/thing-groups/{group}/things`: POST adds a thing.
    GroupThings(String),
    /// `/api/v1/thing-groups/{group}/things/{name}`: DELETE takes it out.
    GroupThing(String, String),
    /// `/api/v1/thing-datas/{name}/shadow`: GET, with the device key.
    DeviceShadow(String),
    /// `/api/v1/thing-datas/shadow/reported`: POST, with the device key.
    DeviceReported,
    /// `/api/v1/thing-datas/events`: POST, with the device key.
    DeviceEvents,
    /// `/api/v1/thing-datas/jobs/…`: POST, with the device key; the MQTT jobs request it stands
    /// for.
    DeviceJobs(JobsTopic),
}

/// Why a request has no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unrouted {
    /// No such path.
    NotFound,
    /// The path is the API's, the method is not (405).
    MethodNotAllowed,
}

impl Route {
    /// The route at `path` (no query), whatever the method.
    pub fn parse(path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let own = |s: &&str| (*s).to_owned();
        Some(match segments.as_slice() {
            ["api", "v1", "things"] => Self::Things,
            ["api", "v1", "things", name, "shadow"] => Self::Shadow(own(name)),
            ["api", "v1", "things", name, "credentials"] => Self::Credentials(own(name)),
            ["api", "v1", "things", name, "shadow", "desired"] => Self::Desired(own(name)),
            ["api", "v1", "commands"] => Self::Commands,
            ["api", "v1", "commands", "executions", id] => Self::Execution(own(id)),
            ["api", "v1", "jobs"] => Self::Jobs,
            ["api", "v1", "jobs", id] => Self::Job(own(id)),
            ["api", "v1", "jobs", id, "executions"] => Self::JobExecutions(own(id)),
            ["api", "v1", "jobs", id, "cancel"] => Self::JobCancel(own(id)),
            ["api", "v1", "thing-groups"] => Self::Groups,
            ["api", "v1", "thing-groups", group, "things"] => Self::GroupThings(own(group)),
            ["api", "v1", "thing-groups", group, "things", name] => {
                Self::GroupThing(own(group), own(name))
            }
            ["api", "v1", "thing-datas", "shadow", "reported"] => Self::DeviceReported,
            ["api", "v1", "thing-datas", "events"] => Self::DeviceEvents,
            ["api", "v1", "thing-datas", "jobs", "get"] => {
                Self::DeviceJobs(JobsTopic::Get(Reply::Request))
            }
            ["api", "v1", "thing-datas", "jobs", "start-next"] => {
                Self::DeviceJobs(JobsTopic::StartNext(Reply::Request))
            }
            ["api", "v1", "thing-datas", "jobs", id, "get"] => {
                Self::DeviceJobs(JobsTopic::JobGet(own(id), Reply::Request))
            }
            ["api", "v1", "thing-datas", "jobs", id, "update"] => {
                Self::DeviceJobs(JobsTopic::JobUpdate(own(id), Reply::Request))
            }
            ["api", "v1", "thing-datas", name, "shadow"] => Self::DeviceShadow(own(name)),
            _ => return None,
        })
    }

    /// The route for `method` at `path`, or why there is none.
    pub fn resolve(method: &str, path: &str) -> Result<(Method, Self), Unrouted> {
        let path = path.split('?').next().unwrap_or_default();
        let route = Self::parse(path).ok_or_else(|| {
            if path.trim_start_matches('/').starts_with("api/v1/") {
                Unrouted::MethodNotAllowed
            } else {
                Unrouted::NotFound
            }
        })?;
        route
            .methods()
            .iter()
            .copied()
            .find(|m| m.as_str() == method)
            .map(|m| (m, route))
            .ok_or(Unrouted::MethodNotAllowed)
    }

    /// The methods it answers.
    pub fn methods(&self) -> &'static [Method] {
        match self {
            Self::Things | Self::Jobs | Self::Groups => &[Method::Get, Method::Post],
            Self::GroupThings(_) => &[Method::Post],
            Self::GroupThing(..) => &[Method::Delete],
            Self::Shadow(_)
            | Self::Execution(_)
            | Self::Job(_)
            | Self::JobExecutions(_)
            | Self::DeviceShadow(_) => &[Method::Get],
            Self::Desired(_) => &[Method::Put],
            Self::Commands
            | Self::Credentials(_)
            | Self::JobCancel(_)
            | Self::DeviceReported
            | Self::DeviceEvents
            | Self::DeviceJobs(_) => &[Method::Post],
        }
    }

    /// Its path, each name or id percent-encoded as one segment.
    pub fn path(&self) -> String {
        let seg = |s: &str| path_segment(s);
        match self {
            Self::Things => "/api/v1/things".to_owned(),
            Self::Shadow(name) => format!("/api/v1/things/{}/shadow", seg(name)),
            Self::Credentials(name) => format!("/api/v1/things/{}/credentials", seg(name)),
            Self::Desired(name) => format!("/api/v1/things/{}/shadow/desired", seg(name)),
            Self::Commands => "/api/v1/commands".to_owned(),
            Self::Execution(id) => format!("/api/v1/commands/executions/{}", seg(id)),
            Self::Jobs => "/api/v1/jobs".to_owned(),
            Self::Job(id) => format!("/api/v1/jobs/{}", seg(id)),
            Self::JobExecutions(id) => format!("/api/v1/jobs/{}/executions", seg(id)),
            Self::JobCancel(id) => format!("/api/v1/jobs/{}/cancel", seg(id)),
            Self::Groups => "/api/v1/thing-groups".to_owned(),
            Self::GroupThings(group) => format!("/api/v1/thing-groups/{}/things", seg(group)),
            Self::GroupThing(group, name) => {
                format!("/api/v1/thing-groups/{}/things/{}", seg(group), seg(name))
            }
            Self::DeviceShadow(name) => format!("/api/v1/thing-datas/{}/shadow", seg(name)),
            Self::DeviceReported => "/api/v1/thing-datas/shadow/reported".to_owned(),
            Self::DeviceEvents => "/api/v1/thing-datas/events".to_owned(),
            Self::DeviceJobs(topic) => match topic {
                JobsTopic::Get(_) => "/api/v1/thing-datas/jobs/get".to_owned(),
                JobsTopic::StartNext(_) => "/api/v1/thing-datas/jobs/start-next".to_owned(),
                JobsTopic::JobGet(id, _) => format!("/api/v1/thing-datas/jobs/{}/get", seg(id)),
                JobsTopic::JobUpdate(id, _) => {
                    format!("/api/v1/thing-datas/jobs/{}/update", seg(id))
                }
                JobsTopic::Notify | JobsTopic::NotifyNext => {
                    "/api/v1/thing-datas/jobs/get".to_owned()
                }
            },
        }
    }

    /// A ThingDatas route: the device's key, not the operator's, opens it.
    pub fn is_device(&self) -> bool {
        matches!(
            self,
            Self::DeviceShadow(_) | Self::DeviceReported | Self::DeviceEvents | Self::DeviceJobs(_)
        )
    }
}

/// `POST /api/v1/things`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateThing {
    /// The thing to register (taken from the path for `…/credentials`).
    #[serde(default)]
    pub thing_name: String,
    /// The one MQTT client id its broker user may connect with; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The default command TTL, in seconds.
pub const DEFAULT_TTL_SECS: u64 = 30;

fn default_ttl() -> u64 {
    DEFAULT_TTL_SECS
}

/// `POST /api/v1/commands`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendCommand {
    /// To whom.
    pub thing_name: String,
    /// What to do.
    pub action: String,
    /// Its arguments.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Seconds to wait for the answer (1–3600).
    #[serde(default = "default_ttl")]
    pub ttl: u64,
}

/// `POST /api/v1/thing-groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGroup {
    /// The group.
    pub group_name: String,
}

/// A job's targets: things by name, and thing groups (the Fleets create-job request).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    /// Things by name.
    #[serde(default)]
    pub thing_names: Vec<String>,
    /// Thing groups by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thing_group_names: Vec<String>,
}

/// `POST /api/v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateJob {
    /// For people.
    #[serde(default)]
    pub description: String,
    /// Who runs it.
    pub targets: Targets,
    /// The job document.
    pub document: Value,
    /// Snapshot (default) or continuous.
    #[serde(default, rename = "type")]
    pub job_type: JobType,
    /// Minutes each step may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_timeout_in_minutes: Option<u64>,
    /// Beyond the Fleets docs: at most so many new executions a minute, and an abort rule.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rollout: Rollout,
}

fn is_default(rollout: &Rollout) -> bool {
    *rollout == Rollout::default()
}

/// `POST /api/v1/thing-datas/shadow/reported`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Whose.
    pub thing_name: String,
    /// `{"reported": {…}}`.
    pub state: UpdateState,
    /// Echoed in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// Optimistic locking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// `POST /api/v1/thing-datas/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceEvent {
    /// Whose.
    pub thing_name: String,
    /// One topic level.
    pub event_type: String,
    /// Anything.
    #[serde(default)]
    pub payload: Value,
}

/// A thing's broker user, as `POST /api/v1/things/{name}/credentials` gives it.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerCredentials {
    /// The broker user (the thing's name).
    pub username: String,
    /// Its password: kept in memory only.
    pub password: String,
}

impl core::fmt::Debug for BrokerCredentials {
    // Never the password, not even in a debug log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BrokerCredentials({}, ***)", self.username)
    }
}

/// What asking for a thing's broker credentials came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsAnswer {
    /// A user and a fresh password.
    Issued(BrokerCredentials),
    /// The cloud does not manage the broker's users (501): connect as the broker allows.
    NotManaged,
    /// Refused or failed, in words.
    Failed(String),
}

/// The request for `thing`'s broker credentials, for `client_id` (the one id its user may
/// connect with): method, path and body.
pub fn credentials_request(thing: &str, client_id: &str) -> (Method, String, Value) {
    (
        Method::Post,
        Route::Credentials(thing.to_owned()).path(),
        serde_json::json!({ "clientId": client_id }),
    )
}

/// Reads the answer to [`credentials_request`].
pub fn credentials_answer(status: u16, body: &Value) -> CredentialsAnswer {
    let text = |key: &str| body["credentials"][key].as_str().map(str::to_owned);
    match (status, text("username"), text("password")) {
        (200..=299, Some(username), Some(password)) => {
            CredentialsAnswer::Issued(BrokerCredentials { username, password })
        }
        (501, ..) => CredentialsAnswer::NotManaged,
        (status, ..) => CredentialsAnswer::Failed(format!(
            "{status}: {}",
            body["error"]
                .as_str()
                .unwrap_or("no credentials in the answer")
        )),
    }
}

/// What an operator's operation did, in the words every console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Desired state set.
    DesiredSet {
        /// The shadow's new version.
        version: u64,
    },
    /// A command sent.
    CommandSent {
        /// Its action.
        action: String,
        /// Its execution.
        execution_id: String,
    },
    /// A job created.
    JobCreated {
        /// Its id.
        job_id: String,
    },
    /// A job canceled.
    JobCanceled {
        /// Its id.
        job_id: String,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DesiredSet { version } => {
                write!(f, "desired state set; shadow version {version}")
            }
            Self::CommandSent {
                action,
                execution_id,
            } => write!(f, "command {action} sent (execution {execution_id})"),
            Self::JobCreated { job_id } => write!(f, "job {job_id} created"),
            Self::JobCanceled { job_id } => write!(f, "job {job_id} canceled"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_route() -> Vec<Route> {
        let jobs = |t| Route::DeviceJobs(t);
        vec![
            Route::Things,
            Route::Shadow("lamp 1".into()),
            Route::Desired("lamp/1".into()),
            Route::Commands,
            Route::Execution("e-1".into()),
            Route::Jobs,
            Route::Job("j%1".into()),
            Route::JobExecutions("j1".into()),
            Route::JobCancel("j1".into()),
            Route::Groups,
            Route::GroupThings("lamps".into()),
            Route::GroupThing("lamps".into(), "lamp-1".into()),
            Route::DeviceShadow("shadow".into()),
            Route::DeviceReported,
            Route::DeviceEvents,
            jobs(JobsTopic::Get(Reply::Request)),
            jobs(JobsTopic::StartNext(Reply::Request)),
            jobs(JobsTopic::JobGet("get".into(), Reply::Request)),
            jobs(JobsTopic::JobUpdate("j1".into(), Reply::Request)),
        ]
    }

    #[test]
    fn every_route_parses_back_from_its_path_and_answers_its_methods_only() {
        for route in every_route() {
            let path = route.path();
            // Names and ids travel percent-encoded; the server sees them as sent.
            let encoded = |s: &str| path_segment(s);
            let expected = match &route {
                Route::Shadow(n) => Route::Shadow(encoded(n)),
                Route::Desired(n) => Route::Desired(encoded(n)),
                Route::Job(n) => Route::Job(encoded(n)),
                other => other.clone(),
            };
            assert_eq!(Route::parse(&path), Some(expected.clone()), "{path}");
            for method in [Method::Get, Method::Post, Method::Put, Method::Delete] {
                let resolved = Route::resolve(method.as_str(), &format!("{path}?x=1"));
                if route.methods().contains(&method) {
                    assert_eq!(resolved, Ok((method, expected.clone())), "{path}");
                } else {
                    assert_eq!(
                        resolved,
                        Err(Unrouted::MethodNotAllowed),
                        "{method:?} {path}"
                    );
                }
            }
            assert_eq!(
                route.is_device(),
                path.starts_with("/api/v1/thing-datas/"),
                "{path}"
            );
        }
    }

    #[test]
    fn each_route_answers_the_methods_of_the_table() {
        use Method::{Delete, Get, Post, Put};
        let table: [(&[Method], Route); 8] = [
            (&[Get, Post], Route::Groups),
            (&[Delete], Route::GroupThing("g".into(), "t".into())),
            (&[Get, Post], Route::Things),
            (&[Get, Post], Route::Jobs),
            (&[Get], Route::Shadow("t".into())),
            (&[Put], Route::Desired("t".into())),
            (&[Post], Route::JobCancel("j".into())),
            (&[Get], Route::DeviceShadow("t".into())),
        ];
        for (methods, route) in table {
            assert_eq!(route.methods(), methods, "{route:?}");
        }
    }

    #[test]
    fn paths_outside_the_routes_are_405_under_the_api_and_404_elsewhere() {
        for path in [
            "/api/v1/nope",
            "/api/v1/thing-datas/jobs/a/b/c",
            "/api/v1/things/a/b",
        ] {
            assert_eq!(
                Route::resolve("GET", path),
                Err(Unrouted::MethodNotAllowed),
                "{path}"
            );
        }
        for path in ["/", "/elsewhere", "/api/v2/things", "/apiv1/things"] {
            assert_eq!(
                Route::resolve("GET", path),
                Err(Unrouted::NotFound),
                "{path}"
            );
        }
        assert_eq!(
            Route::resolve("DELETE", "/api/v1/things"),
            Err(Unrouted::MethodNotAllowed)
        );
        assert_eq!(
            Route::resolve("get", "/api/v1/things"),
            Err(Unrouted::MethodNotAllowed)
        );
    }

    #[test]
    fn bodies_take_their_defaults_and_outcomes_read_as_sentences() {
        let command: SendCommand =
            serde_json::from_str(r#"{"thingName":"t","action":"reboot"}"#).unwrap();
        assert_eq!((command.ttl, command.params.len()), (DEFAULT_TTL_SECS, 0));
        let job: CreateJob =
            serde_json::from_str(r#"{"targets":{},"document":{"action":"reboot"}}"#).unwrap();
        assert_eq!(
            (
                job.job_type,
                job.targets.thing_names.len(),
                job.step_timeout_in_minutes
            ),
            (JobType::Snapshot, 0, None)
        );
        let sentences = [
            (
                Outcome::DesiredSet { version: 3 },
                "desired state set; shadow version 3",
            ),
            (
                Outcome::CommandSent {
                    action: "reboot".into(),
                    execution_id: "e-1".into(),
                },
                "command reboot sent (execution e-1)",
            ),
            (Outcome::JobCreated { job_id: "j".into() }, "job j created"),
            (
                Outcome::JobCanceled { job_id: "j".into() },
                "job j canceled",
            ),
        ];
        for (outcome, words) in sentences {
            assert_eq!(outcome.to_string(), words);
        }
    }

    #[test]
    fn credentials_are_asked_for_by_path_and_read_back_or_refused() {
        let (method, path, body) = credentials_request("lamp 1", "dev-lamp");
        assert_eq!(method, Method::Post);
        assert_eq!(path, "/api/v1/things/lamp%201/credentials");
        assert_eq!(body["clientId"], "dev-lamp");
        let issued = serde_json::json!({"credentials": {"username": "lamp 1", "password": "pw"}});
        assert_eq!(
            credentials_answer(201, &issued),
            CredentialsAnswer::Issued(BrokerCredentials {
                username: "lamp 1".into(),
                password: "pw".into()
            })
        );
        assert!(!format!("{:?}", credentials_answer(200, &issued)).contains("pw"));
        assert_eq!(
            credentials_answer(501, &serde_json::json!({"error": "no"})),
            CredentialsAnswer::NotManaged
        );
        assert_eq!(
            credentials_answer(502, &serde_json::json!({"error": "broker down"})),
            CredentialsAnswer::Failed("502: broker down".into())
        );
        assert!(matches!(
            credentials_answer(200, &serde_json::json!({})),
            CredentialsAnswer::Failed(_)
        ));
    }
}
