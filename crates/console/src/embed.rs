//! A docs page's view of the console: which panels an embed shows (`panels=face,shadow`), its
//! theme (`theme=light|dark`), and the host page's API over `postMessage` — what a host may
//! ask, from which origins (`hosts=`), and what the console tells it back.
//!
//! Every message is a JSON object with a `type` that starts with `thingsim:`:
//!
//! | from the host | fields | what happens |
//! |---|---|---|
//! | `thingsim:setDesired` | `state` (object; `null` deletes a key) | the cloud sets desired state |
//! | `thingsim:sendCommand` | `action`, `params`?, `ttl`? (s, default 30) | the cloud sends a command |
//! | `thingsim:createJob` | `document` (object with `action`), `stepTimeoutInMinutes`? | the cloud creates a job |
//! | `thingsim:subscribe` | `state`?, `messages`? (booleans, default true) | the console posts what is asked, from now on |
//!
//! | to the host | fields |
//! |---|---|
//! | `thingsim:ready` | `thing`, `template`, `mode` (once, to each allowed origin, when the console starts) |
//! | `thingsim:state` | `reported`, `desired`, `delta`, `version` (when the shadow changes) |
//! | `thingsim:message` | `direction` (`in`, `out`, `note`), `topic`, `payload` (text) |
//! | `thingsim:result` | `id` (the request's, if it had one), `ok`, `text` |
//!
//! A message from an origin not in `hosts=`, or not shaped as above, is answered with nothing:
//! a page the docs writer did not name cannot drive the device.

use serde_json::{Map, Value};

/// A panel of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Panel {
    /// The connection form and status.
    Connection,
    /// The device's face, drawn from its reported state.
    Face,
    /// The device's form controls.
    Device,
    /// The cloud's controls: desired state, commands, jobs.
    Cloud,
    /// Desired, reported and delta.
    Shadow,
    /// Incoming commands.
    Commands,
    /// The current job.
    Jobs,
    /// Readings and events.
    Telemetry,
    /// The message log.
    Log,
}

impl Panel {
    /// Every panel, in page order.
    pub const ALL: [Self; 9] = [
        Self::Connection,
        Self::Face,
        Self::Device,
        Self::Cloud,
        Self::Shadow,
        Self::Commands,
        Self::Jobs,
        Self::Telemetry,
        Self::Log,
    ];

    /// Its name in `panels=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Face => "face",
            Self::Device => "device",
            Self::Cloud => "cloud",
            Self::Shadow => "shadow",
            Self::Commands => "commands",
            Self::Jobs => "jobs",
            Self::Telemetry => "telemetry",
            Self::Log => "log",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Which panels show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panels(Vec<Panel>);

impl Default for Panels {
    /// The whole console.
    fn default() -> Self {
        Self(Panel::ALL.to_vec())
    }
}

impl Panels {
    /// A compact embed's (`embed=1` without `panels=`): the device and what it does, no log,
    /// no telemetry.
    pub fn embed() -> Self {
        Self(vec![
            Panel::Connection,
            Panel::Face,
            Panel::Device,
            Panel::Cloud,
            Panel::Shadow,
            Panel::Commands,
            Panel::Jobs,
        ])
    }

    /// `panels=face,shadow`: the named ones, or why not (an unknown name, or none at all).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut panels = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let panel = Panel::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Panel::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "panels: no panel {}; use {}",
                    thingsim_mqtt::quoted(name),
                    known.join(", ")
                )
            })?;
            if !panels.contains(&panel) {
                panels.push(panel);
            }
        }
        if panels.is_empty() {
            return Err("panels: name at least one panel".to_owned());
        }
        Ok(Self(panels))
    }

    /// Whether `panel` shows.
    pub fn shows(&self, panel: Panel) -> bool {
        self.0.contains(&panel)
    }
}

/// The colours: the system's, or a fixed one (a docs site with its own theme).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// `theme=light|dark|system`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "light" => Ok(Self::Light),
            "dark" => Ok(Self::Dark),
            "system" | "" => Ok(Self::System),
            other => Err(format!("theme={other} ignored: use light, dark or system")),
        }
    }

    /// The value of the page's `data-theme`, if any.
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Self::System => None,
            Self::Light => Some("light"),
            Self::Dark => Some("dark"),
        }
    }
}

/// The origins a host page may be (`hosts=https://docs.example.com,http://localhost:3000`):
/// scheme, host and port, exactly as a browser sends `MessageEvent.origin`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hosts(Vec<String>);

impl Hosts {
    /// Parses the list; an entry that is not an `http(s)://host[:port]` origin is refused (a
    /// path, a wildcard, `null`): only origins named exactly are trusted.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut hosts = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && r.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                    })
            });
            if !ok {
                return Err(format!(
                    "hosts: {} is not an origin (scheme://host[:port], no path, no wildcard)",
                    thingsim_mqtt::quoted(origin)
                ));
            }
            hosts.push(origin.to_owned());
        }
        Ok(Self(hosts))
    }

    /// Whether a message from `origin` is to be heard.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|h| h == origin)
    }

    /// The allowed origins (where the console posts).
    pub fn origins(&self) -> &[String] {
        &self.0
    }

    /// Whether any host is allowed (otherwise the API is off).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the host asks.
#[derive(Debug, Clone, PartialEq)]
pub enum HostRequest {
    /// Set desired state.
    SetDesired(Map<String, Value>),
    /// Send a command.
    SendCommand {
        /// The action.
        action: String,
        /// Its parameters.
        params: Map<String, Value>,
        /// Seconds to wait for the answer.
        ttl: u64,
    },
    /// Create a job.
    CreateJob {
        /// The job document.
        document: Value,
        /// Minutes a step may take.
        step_timeout_minutes: Option<u64>,
    },
    /// The device publishes an event (`$emqx/things/{thing}/events/{kind}`, QoS 1), as its
    /// telemetry panel's "Publish event" does.
    PublishEvent {
        /// The event type: one topic level.
        kind: String,
        /// The event's data.
        payload: Value,
    },
    /// Post state and/or messages from now on.
    Subscribe {
        /// Shadow changes.
        state: bool,
        /// Every message in and out.
        messages: bool,
    },
}

/// A host's message: its id (echoed in the result) and what it asks, or why it cannot be done.
/// `None`: not a thingsim message at all (another script's), to be ignored silently.
pub fn parse_request(message: &Value) -> Option<(Option<Value>, Result<HostRequest, String>)> {
    let kind = message.get("type")?.as_str()?.strip_prefix("thingsim:")?;
    let id = message.get("id").cloned();
    let object = |key: &str| message.get(key).and_then(Value::as_object).cloned();
    let request = match kind {
        "setDesired" => object("state")
            .map(HostRequest::SetDesired)
            .ok_or_else(|| "setDesired needs state, an object".to_owned()),
        "sendCommand" => match message.get("action").and_then(Value::as_str) {
            Some(action) if !action.trim().is_empty() => {
                let ttl = message.get("ttl").and_then(Value::as_u64).unwrap_or(30);
                if (1..=3600).contains(&ttl) {
                    Ok(HostRequest::SendCommand {
                        action: action.to_owned(),
                        params: object("params").unwrap_or_default(),
                        ttl,
                    })
                } else {
                    Err("sendCommand: ttl must be 1 to 3600 seconds".to_owned())
                }
            }
            _ => Err("sendCommand needs action, a non-empty string".to_owned()),
        },
        "createJob" => match message.get("document") {
            Some(document) if document.get("action").and_then(Value::as_str).is_some() => {
                Ok(HostRequest::CreateJob {
                    document: document.clone(),
                    step_timeout_minutes: message
                        .get("stepTimeoutInMinutes")
                        .and_then(Value::as_u64),
                })
            }
            _ => Err("createJob needs document, an object with an action".to_owned()),
        },
        "publishEvent" => match message.get("kind").and_then(Value::as_str) {
            Some(kind) if thingsim_fleet::topics::is_one_level(kind) => {
                Ok(HostRequest::PublishEvent {
                    kind: kind.to_owned(),
                    payload: message.get("payload").cloned().unwrap_or(Value::Null),
                })
            }
            _ => Err("publishEvent needs kind, one topic level without /, + or #".to_owned()),
        },
        "subscribe" => {
            let flag = |key: &str| message.get(key).and_then(Value::as_bool).unwrap_or(true);
            Ok(HostRequest::Subscribe {
                state: flag("state"),
                messages: flag("messages"),
            })
        }
        other => Err(format!("no request thingsim:{other}")),
    };
    Some((id, request))
}

/// `thingsim:result`.
pub fn result(id: Option<Value>, outcome: &Result<String, String>) -> Value {
    let (ok, text) = match outcome {
        Ok(t) => (true, t),
        Err(t) => (false, t),
    };
    thingsim_fleet::json::object([
        ("type", "thingsim:result".into()),
        ("id", id.unwrap_or(Value::Null)),
        ("ok", ok.into()),
        ("text", text.as_str().into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn panels_are_named_and_unknown_ones_refused() {
        let p = Panels::parse("face, shadow,face").unwrap();
        assert!(p.shows(Panel::Face) && p.shows(Panel::Shadow));
        assert!(!p.shows(Panel::Log) && !p.shows(Panel::Connection));
        assert!(Panels::parse("face,gauges").unwrap_err().contains("gauges"));
        assert!(Panels::parse(",").is_err());
        assert!(Panels::default().shows(Panel::Log));
        assert!(!Panels::embed().shows(Panel::Log));
    }

    #[test]
    fn themes() {
        assert_eq!(Theme::parse("dark").unwrap().attribute(), Some("dark"));
        assert_eq!(Theme::parse("system").unwrap().attribute(), None);
        assert!(Theme::parse("pink").is_err());
    }

    #[test]
    fn only_exact_origins_are_hosts() {
        let hosts = Hosts::parse("https://docs.example.com,http://127.0.0.1:3000").unwrap();
        assert!(hosts.allows("https://docs.example.com"));
        assert!(hosts.allows("http://127.0.0.1:3000"));
        assert!(!hosts.allows("https://docs.example.com.evil.io"));
        assert!(!hosts.allows("http://docs.example.com"));
        assert!(!hosts.allows("null"));
        for bad in [
            "*",
            "https://a.com/path",
            "null",
            "docs.example.com",
            "https://",
        ] {
            assert!(Hosts::parse(bad).is_err(), "{bad}");
        }
        assert!(Hosts::default().is_empty());
    }

    #[test]
    fn requests_are_read_or_refused_with_a_reason() {
        let (id, r) =
            parse_request(&json!({"type": "thingsim:setDesired", "id": 7, "state": {"on": true}}))
                .unwrap();
        assert_eq!(id, Some(json!(7)));
        assert_eq!(
            r.unwrap(),
            HostRequest::SetDesired(json!({"on": true}).as_object().unwrap().clone())
        );
        let (_, r) =
            parse_request(&json!({"type": "thingsim:sendCommand", "action": "reboot"})).unwrap();
        assert!(matches!(
            r.unwrap(),
            HostRequest::SendCommand { ttl: 30, .. }
        ));
        let (_, r) =
            parse_request(&json!({"type": "thingsim:sendCommand", "action": "x", "ttl": 0}))
                .unwrap();
        assert!(r.unwrap_err().contains("ttl"));
        let (_, r) =
            parse_request(&json!({"type": "thingsim:createJob", "document": {"steps": 3}}))
                .unwrap();
        assert!(r.unwrap_err().contains("action"));
        let (_, r) =
            parse_request(&json!({"type": "thingsim:subscribe", "messages": false})).unwrap();
        assert_eq!(
            r.unwrap(),
            HostRequest::Subscribe {
                state: true,
                messages: false
            }
        );
        let (_, r) = parse_request(
            &json!({"type": "thingsim:publishEvent", "kind": "door", "payload": {"open": true}}),
        )
        .unwrap();
        assert_eq!(
            r.unwrap(),
            HostRequest::PublishEvent {
                kind: "door".into(),
                payload: json!({"open": true})
            }
        );
        for kind in [json!("a/b"), json!("#"), json!(""), json!(3)] {
            let (_, r) =
                parse_request(&json!({"type": "thingsim:publishEvent", "kind": kind})).unwrap();
            assert!(r.unwrap_err().contains("one topic level"), "{kind}");
        }
        let (_, r) = parse_request(&json!({"type": "thingsim:explode"})).unwrap();
        assert!(r.is_err());
        assert!(parse_request(&json!({"type": "react-devtools"})).is_none());
        assert!(parse_request(&json!("thingsim:setDesired")).is_none());
        let done = result(Some(json!(7)), &Ok("desired set".into()));
        assert_eq!(done["ok"], true);
        assert_eq!(done["id"], 7);
    }
}
