//! The Fleets topic grammar: assemble and parse, no JSON and no MQTT
//! (the shape of AWS's embedded `Shadow_AssembleTopicString` / `Shadow_MatchTopicString`).
//!
//! Every system topic starts with `$emqx/` (fleets-protocol.md, "Topics"). Because of the `$`,
//! a `#` subscription never matches them [MQTT-4.7.2-1]; subscribe with explicit filters such
//! as [`Topic::device_subscriptions`].

use core::fmt;

use crate::{Error, Result};

/// Longest thing name accepted, in bytes (the AWS IoT limit; Fleets documents none).
pub const MAX_THING_NAME_LEN: usize = 128;

/// A thing name that is safe to place in a topic level. Deserializing validates it too.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct ThingName(String);

impl TryFrom<String> for ThingName {
    type Error = Error;

    fn try_from(name: String) -> Result<Self> {
        Self::new(&name)
    }
}

impl From<ThingName> for String {
    fn from(name: ThingName) -> Self {
        name.0
    }
}

impl ThingName {
    /// Checks `name`: non-empty, at most [`MAX_THING_NAME_LEN`] bytes, and free of the
    /// characters that would change a topic's meaning (`/` splits levels, `+` and `#` are
    /// wildcards [MQTT-4.7.1]) or that MQTT forbids (NUL, [MQTT-4.7.3-2]).
    pub fn new(name: &str) -> Result<Self> {
        let refuse = |reason| {
            Err(Error::InvalidThingName {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return refuse("it must not be empty");
        }
        if name.len() > MAX_THING_NAME_LEN {
            return refuse("it must be at most 128 bytes long");
        }
        if name.contains(['/', '+', '#']) {
            return refuse("it must not contain /, + or #");
        }
        if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return refuse("it must not contain spaces or control characters");
        }
        // The name is also a URL path segment (HTTP API), where these mean "here" and "up".
        if name == "." || name == ".." {
            return refuse("it must not be . or ..");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as one URL path segment (percent-encoded: `?`, `%` and friends are legal in
    /// a thing name but not in a path).
    pub fn path_segment(&self) -> String {
        path_segment(&self.0)
    }
}

/// Whether `s` can stand as one topic level of its own, as an event type does: non-empty,
/// and no `/` (which would split it) or `+` / `#` (wildcards).
pub fn is_one_level(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '+', '#'])
}

/// The client id a simulated device connects with unless told otherwise: `dev-{thing}`. The
/// sandbox's world, a broker fleet and `thingsim::testing` all use it, and a thing's broker
/// user is bound to it.
pub fn device_client_id(thing: &str) -> String {
    format!("dev-{thing}")
}

/// `s` percent-encoded as one URL path segment (RFC 3986 unreserved characters kept).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl fmt::Display for ThingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which half of a request/reply topic pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The request itself (device → cloud).
    Request,
    /// `/accepted` (cloud → device).
    Accepted,
    /// `/rejected` (cloud → device).
    Rejected,
}

impl Reply {
    fn suffix(self) -> &'static str {
        match self {
            Self::Request => "",
            Self::Accepted => "/accepted",
            Self::Rejected => "/rejected",
        }
    }
}

/// Device shadow topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShadowTopic {
    /// `$emqx/things/{name}/shadow/update`: reported (device) or desired (cloud) state.
    Update,
    /// `$emqx/things/{name}/shadow/update/delta`: desired − reported, cloud → device.
    UpdateDelta,
}

/// Command topics (fleets-protocol.md, "Commands").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandTopic {
    /// `$emqx/commands/things/{name}/executions/{id}/request`.
    Request(String),
    /// `$emqx/commands/things/{name}/executions/{id}/response`.
    Response(String),
}

/// Job topics (fleets-protocol.md, "Jobs").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobsTopic {
    /// `jobs/notify`: the pending list changed.
    Notify,
    /// `jobs/notify-next`: the next pending job changed.
    NotifyNext,
    /// `jobs/get` and its replies: list pending jobs.
    Get(Reply),
    /// `jobs/start-next` and its replies.
    StartNext(Reply),
    /// `jobs/{jobId}/get` and its replies.
    JobGet(String, Reply),
    /// `jobs/{jobId}/update` and its replies.
    JobUpdate(String, Reply),
}

/// Any Fleets system topic of one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// Shadow family.
    Shadow(ShadowTopic),
    /// `$emqx/things/{name}/events/{type}`.
    Event(String),
    /// Command family.
    Command(CommandTopic),
    /// Jobs family.
    Jobs(JobsTopic),
}

impl Topic {
    /// The topic string for `thing`. Ids and event types inside `self` must be single topic
    /// levels; those that come from [`Topic::parse`] always are.
    pub fn assemble(&self, thing: &ThingName) -> String {
        let things = format!("$emqx/things/{thing}");
        match self {
            Self::Shadow(ShadowTopic::Update) => format!("{things}/shadow/update"),
            Self::Shadow(ShadowTopic::UpdateDelta) => format!("{things}/shadow/update/delta"),
            Self::Event(kind) => format!("{things}/events/{kind}"),
            Self::Command(CommandTopic::Request(id)) => {
                format!("$emqx/commands/things/{thing}/executions/{id}/request")
            }
            Self::Command(CommandTopic::Response(id)) => {
                format!("$emqx/commands/things/{thing}/executions/{id}/response")
            }
            Self::Jobs(JobsTopic::Notify) => format!("{things}/jobs/notify"),
            Self::Jobs(JobsTopic::NotifyNext) => format!("{things}/jobs/notify-next"),
            Self::Jobs(JobsTopic::Get(r)) => format!("{things}/jobs/get{}", r.suffix()),
            Self::Jobs(JobsTopic::StartNext(r)) => {
                format!("{things}/jobs/start-next{}", r.suffix())
            }
            Self::Jobs(JobsTopic::JobGet(job, r)) => {
                format!("{things}/jobs/{job}/get{}", r.suffix())
            }
            Self::Jobs(JobsTopic::JobUpdate(job, r)) => {
                format!("{things}/jobs/{job}/update{}", r.suffix())
            }
        }
    }

    /// Recognises a Fleets topic, returning the thing name it belongs to; `None` for any
    /// other topic.
    pub fn parse(topic: &str) -> Option<(ThingName, Self)> {
        let levels: Vec<&str> = topic.split('/').collect();
        let (thing, parsed) = match levels.as_slice() {
            ["$emqx", "commands", "things", thing, "executions", id, kind] => {
                let id = level(id)?;
                let cmd = match *kind {
                    "request" => CommandTopic::Request(id),
                    "response" => CommandTopic::Response(id),
                    _ => return None,
                };
                (thing, Self::Command(cmd))
            }
            ["$emqx", "things", thing, rest @ ..] => (thing, Self::parse_thing_rest(rest)?),
            _ => return None,
        };
        Some((ThingName::new(thing).ok()?, parsed))
    }

    fn parse_thing_rest(rest: &[&str]) -> Option<Self> {
        use JobsTopic as J;
        let reply = |r: &[&str]| match r {
            [] => Some(Reply::Request),
            ["accepted"] => Some(Reply::Accepted),
            ["rejected"] => Some(Reply::Rejected),
            _ => None,
        };
        Some(match rest {
            ["shadow", "update"] => Self::Shadow(ShadowTopic::Update),
            ["shadow", "update", "delta"] => Self::Shadow(ShadowTopic::UpdateDelta),
            ["events", kind] => Self::Event(level(kind)?),
            ["jobs", "notify"] => Self::Jobs(J::Notify),
            ["jobs", "notify-next"] => Self::Jobs(J::NotifyNext),
            ["jobs", "get", r @ ..] => Self::Jobs(J::Get(reply(r)?)),
            ["jobs", "start-next", r @ ..] => Self::Jobs(J::StartNext(reply(r)?)),
            ["jobs", job, "get", r @ ..] => Self::Jobs(J::JobGet(level(job)?, reply(r)?)),
            ["jobs", job, "update", r @ ..] => Self::Jobs(J::JobUpdate(level(job)?, reply(r)?)),
            _ => return None,
        })
    }

    /// The filters a device subscribes to after connecting (fleets-protocol.md, "Device
    /// subscriptions after connecting"), in that order.
    pub fn device_subscriptions(thing: &ThingName) -> Vec<String> {
        let t = format!("$emqx/things/{thing}");
        let mut filters = vec![
            format!("{t}/shadow/update/delta"),
            format!("{t}/shadow/update"),
            format!("{t}/jobs/notify"),
            format!("{t}/jobs/notify-next"),
        ];
        for op in ["get", "start-next", "+/get", "+/update"] {
            filters.push(format!("{t}/jobs/{op}/accepted"));
            filters.push(format!("{t}/jobs/{op}/rejected"));
        }
        filters.push(format!(
            "$emqx/commands/things/{thing}/executions/+/request"
        ));
        filters
    }
}

/// One non-empty topic level with no wildcard, as an owned id.
fn level(s: &str) -> Option<String> {
    (!s.is_empty() && !s.contains(['+', '#'])).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thing(name: &str) -> ThingName {
        ThingName::new(name).unwrap()
    }

    fn every_topic() -> Vec<Topic> {
        use JobsTopic as J;
        let mut all = vec![
            Topic::Shadow(ShadowTopic::Update),
            Topic::Shadow(ShadowTopic::UpdateDelta),
            Topic::Event("alarm".into()),
            Topic::Command(CommandTopic::Request("exec-1".into())),
            Topic::Command(CommandTopic::Response("exec-1".into())),
            Topic::Jobs(J::Notify),
            Topic::Jobs(J::NotifyNext),
        ];
        for r in [Reply::Request, Reply::Accepted, Reply::Rejected] {
            all.push(Topic::Jobs(J::Get(r)));
            all.push(Topic::Jobs(J::StartNext(r)));
            all.push(Topic::Jobs(J::JobGet("job-7".into(), r)));
            all.push(Topic::Jobs(J::JobUpdate("job-7".into(), r)));
        }
        all
    }

    #[test]
    fn every_topic_assembles_to_the_reference_string_and_parses_back() {
        let t = thing("thermostat-001");
        assert_eq!(
            Topic::Shadow(ShadowTopic::UpdateDelta).assemble(&t),
            "$emqx/things/thermostat-001/shadow/update/delta"
        );
        assert_eq!(
            Topic::Command(CommandTopic::Response("e1".into())).assemble(&t),
            "$emqx/commands/things/thermostat-001/executions/e1/response"
        );
        assert_eq!(
            Topic::Jobs(JobsTopic::JobUpdate("j1".into(), Reply::Rejected)).assemble(&t),
            "$emqx/things/thermostat-001/jobs/j1/update/rejected"
        );
        for topic in every_topic() {
            let s = topic.assemble(&t);
            assert_eq!(Topic::parse(&s), Some((t.clone(), topic)), "{s}");
        }
    }

    #[test]
    fn one_level_means_non_empty_without_slash_or_wildcards() {
        assert!(is_one_level("alarm") && is_one_level("door-open"));
        for bad in ["", "a/b", "+", "a#", "/"] {
            assert!(!is_one_level(bad), "{bad:?}");
        }
    }

    #[test]
    fn other_topics_and_broken_levels_do_not_parse() {
        for s in [
            "",
            "$emqx/things",
            "$emqx/things/t1",
            "$emqx/things/t1/shadow",
            "$emqx/things/t1/shadow/update/delta/x",
            "$emqx/things//shadow/update",
            "$emqx/things/t1/jobs/get/maybe",
            "$emqx/things/t1/jobs//update",
            "$emqx/things/t1/events/",
            "$emqx/things/t+/shadow/update",
            "$emqx/commands/things/t1/executions/e1/other",
            "$aws/things/t1/shadow/update",
            "things/t1/shadow/update",
        ] {
            assert_eq!(Topic::parse(s), None, "{s}");
        }
    }

    #[test]
    fn thing_names_that_would_break_topics_are_refused_with_a_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("a/b", "/, + or #"),
            ("a+", "/, + or #"),
            ("#", "/, + or #"),
            ("a b", "spaces"),
            ("a\0b", "control"),
        ] {
            match ThingName::new(bad) {
                Err(Error::InvalidThingName { reason, .. }) => {
                    assert!(reason.contains(why), "{bad}")
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(ThingName::new(&"x".repeat(129)).is_err());
        assert!(ThingName::new(&"x".repeat(128)).is_ok());
        assert!(ThingName::new("thermostat-001").is_ok());
    }

    #[test]
    fn device_subscriptions_cover_every_cloud_to_device_topic() {
        let t = thing("t1");
        let filters = Topic::device_subscriptions(&t);
        assert_eq!(filters.len(), 13);
        let matches = |filter: &str, topic: &str| {
            let (f, n): (Vec<_>, Vec<_>) =
                (filter.split('/').collect(), topic.split('/').collect());
            f.len() == n.len() && f.iter().zip(&n).all(|(f, n)| f == &"+" || f == n)
        };
        let cloud_to_device = every_topic().into_iter().filter(|topic| {
            matches!(
                topic,
                Topic::Shadow(_)
                    | Topic::Command(CommandTopic::Request(_))
                    | Topic::Jobs(JobsTopic::Notify | JobsTopic::NotifyNext)
            ) || matches!(
                topic,
                Topic::Jobs(
                    JobsTopic::Get(r) | JobsTopic::StartNext(r) | JobsTopic::JobGet(_, r)
                        | JobsTopic::JobUpdate(_, r)
                ) if *r != Reply::Request
            )
        });
        for topic in cloud_to_device {
            let s = topic.assemble(&t);
            assert!(filters.iter().any(|f| matches(f, &s)), "{s} not covered");
        }
    }
}
