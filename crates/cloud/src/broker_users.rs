//! Per-thing broker credentials, made through mosquitto's dynamic-security plugin.
//!
//! When thingsim-cloud runs with `--broker-users dynsec` it is the plugin's administrator: a
//! thing registered through the API gets a broker user of its own, named after the thing,
//! whose role lets it publish only the device side of its own topics and subscribe only to its
//! own topics. So a thing cannot speak for another, nor as the cloud (no `shadow/update/delta`,
//! no `jobs/notify`, no command request), and the broker itself refuses anyone unregistered.
//!
//! The commands and the rights are pure ([`issue`], [`thing_acls`], [`check`]); [`BrokerUsers`]
//! sends them on a connection of its own and waits for the plugin's answer.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use thingsim_fleet::ThingName;
use thingsim_mqtt::{Command, Event, Message, Options, Qos};

use crate::tcp::TcpClient;

/// Where the plugin takes commands.
pub const CONTROL_TOPIC: &str = "$CONTROL/dynamic-security/v1";
/// Where it answers.
pub const RESPONSE_TOPIC: &str = "$CONTROL/dynamic-security/v1/response";

/// What a thing is given: its broker user and the password, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The broker user: the thing's name.
    pub username: String,
    /// A fresh password; only the plugin's salted hash of it is kept.
    pub password: String,
    /// The one client id it may connect with, when one was registered.
    pub client_id: Option<String>,
}

impl Credentials {
    /// As the API answers them.
    pub fn to_json(&self) -> Value {
        json!({ "username": self.username, "password": self.password, "clientId": self.client_id })
    }
}

/// The role that carries a thing's rights.
pub fn role(thing: &ThingName) -> String {
    format!("thing:{thing}")
}

/// What a thing may do, as `(acltype, topic)`: publish what a device publishes on its own
/// topics (fleets-protocol.md: shadow update and get, events, the jobs requests, command
/// responses) and subscribe to its own topics. Everything else is the plugin's default: no
/// publish, no subscribe.
pub fn thing_acls(thing: &ThingName) -> Vec<(&'static str, String)> {
    let t = format!("$emqx/things/{thing}");
    let send = [
        format!("{t}/shadow/update"),
        format!("{t}/shadow/get"),
        format!("{t}/events/+"),
        format!("{t}/jobs/get"),
        format!("{t}/jobs/start-next"),
        format!("{t}/jobs/+/get"),
        format!("{t}/jobs/+/update"),
        format!("$emqx/commands/things/{thing}/executions/+/response"),
    ];
    let subscribe = [
        format!("{t}/#"),
        format!("$emqx/commands/things/{thing}/executions/+/request"),
    ];
    send.into_iter()
        .map(|topic| ("publishClientSend", topic))
        .chain(
            subscribe
                .into_iter()
                .map(|topic| ("subscribePattern", topic)),
        )
        .collect()
}

/// The commands that give `thing` a broker user with `password`: its role and rights, then the
/// user. Each is answered in order; "already exists" is no failure (the thing had credentials
/// before, and [`set_password`] follows).
pub fn issue(thing: &ThingName, client_id: Option<&str>, password: &str) -> Value {
    let role = role(thing);
    // The rights inside createRole: the plugin rewrites its whole file after each command, so
    // two commands a thing instead of one per right (12) keep registering quick at thousands.
    let acls: Vec<Value> = thing_acls(thing)
        .into_iter()
        .map(|(acltype, topic)| json!({ "acltype": acltype, "topic": topic, "allow": true }))
        .collect();
    let mut commands = vec![json!({ "command": "createRole", "rolename": role, "acls": acls })];
    let mut client = json!({
        "command": "createClient",
        "username": thing.as_str(),
        "password": password,
        "textname": format!("thing {thing}, made by thingsim-cloud"),
        "roles": [{ "rolename": role }],
    });
    if let Some(id) = client_id {
        client["clientid"] = json!(id);
    }
    commands.push(client);
    json!({ "commands": commands })
}

/// The commands that give an existing user a new password (and client id). The plugin
/// disconnects whoever is connected as that user: the old password is over.
pub fn set_password(thing: &ThingName, client_id: Option<&str>, password: &str) -> Value {
    json!({ "commands": [{
        "command": "modifyClient",
        "username": thing.as_str(),
        "password": password,
        "clientid": client_id.unwrap_or_default(),
        "roles": [{ "rolename": role(thing) }],
    }] })
}

/// What the plugin answered: for each command, its error if it failed.
pub fn check(response: &[u8]) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let value: Value =
        serde_json::from_slice(response).context("the plugin's answer is not JSON")?;
    let responses = value["responses"]
        .as_array()
        .context("the plugin's answer has no responses")?;
    Ok(responses
        .iter()
        .map(|r| {
            (
                r["command"].as_str().unwrap_or_default().to_owned(),
                r["error"].as_str().map(str::to_owned),
            )
        })
        .collect())
}

/// Whether a failure only says the thing is there already.
fn exists(error: &str) -> bool {
    error.to_ascii_lowercase().contains("already exists")
}

/// A password: 24 hex digits from the operating system's randomness.
fn fresh_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for a password")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The administrator's connection to the plugin.
pub struct BrokerUsers {
    addr: String,
    options: Options,
    client: Option<TcpClient>,
    /// The cloud's own user, which no thing may take.
    reserved: Option<String>,
}

/// How long the plugin may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

impl BrokerUsers {
    /// Connects lazily, with `options` (the cloud's user), to the broker at `addr`.
    pub fn new(addr: &str, mut options: Options) -> Self {
        options.client_id = format!("{}-users", options.client_id);
        options.clean_start = true;
        options.session_expiry_secs = 0;
        options.manual_ack = false;
        Self {
            addr: addr.to_owned(),
            reserved: options.username.clone(),
            options,
            client: None,
        }
    }

    /// Gives `thing` broker credentials: made when it has none, a new password when it has.
    pub fn issue(
        &mut self,
        thing: &ThingName,
        client_id: Option<&str>,
    ) -> anyhow::Result<Credentials> {
        if self.reserved.as_deref() == Some(thing.as_str()) {
            bail!("{thing} is the cloud's own broker user; a thing cannot have that name");
        }
        let password = fresh_password()?;
        let answers = self.call(&issue(thing, client_id, &password))?;
        let mut made = false;
        for (command, error) in &answers {
            match (command.as_str(), error) {
                ("createClient", None) => made = true,
                (_, Some(e)) if exists(e) => {}
                (_, Some(e)) => bail!("the broker refused {command}: {e}"),
                _ => {}
            }
        }
        if !made {
            for (command, error) in self.call(&set_password(thing, client_id, &password))? {
                if let Some(e) = error {
                    bail!("the broker refused {command}: {e}");
                }
            }
        }
        Ok(Credentials {
            username: thing.to_string(),
            password,
            client_id: client_id.map(str::to_owned),
        })
    }

    /// Sends `commands` and waits for their answers; one new connection if the last one broke.
    fn call(&mut self, commands: &Value) -> anyhow::Result<Vec<(String, Option<String>)>> {
        match self.try_call(commands) {
            Ok(answers) => Ok(answers),
            Err(first) => {
                self.client = None;
                self.try_call(commands)
                    .with_context(|| format!("after {first:#}"))
            }
        }
    }

    fn try_call(&mut self, commands: &Value) -> anyhow::Result<Vec<(String, Option<String>)>> {
        let client = match &mut self.client {
            Some(c) => c,
            None => {
                let mut c = TcpClient::connect(&self.addr, self.options.clone(), ANSWER_WITHIN)?;
                c.command(Command::Subscribe(vec![(
                    RESPONSE_TOPIC.to_owned(),
                    Qos::AtLeastOnce,
                )]))?;
                self.client.insert(c)
            }
        };
        let expected = commands["commands"].as_array().map_or(0, Vec::len);
        client.command(Command::Publish(Message::new(
            CONTROL_TOPIC,
            commands.to_string(),
            Qos::AtLeastOnce,
        )))?;
        let give_up = Instant::now() + ANSWER_WITHIN;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            match client.next_event(left)? {
                Some(Event::Received(m)) if m.topic == RESPONSE_TOPIC => {
                    let answers = check(&m.payload)?;
                    // One connection, one call at a time: an answer of another length is a
                    // late one to an earlier call that gave up.
                    if answers.len() == expected {
                        return Ok(answers);
                    }
                }
                Some(_) => {}
                None => bail!(
                    "the broker's dynamic-security plugin did not answer within {ANSWER_WITHIN:?}"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thing(name: &str) -> ThingName {
        ThingName::new(name).unwrap()
    }

    #[test]
    fn a_thing_may_publish_only_the_device_side_of_its_own_topics() {
        let acls = thing_acls(&thing("lamp-1"));
        let send: Vec<&str> = acls
            .iter()
            .filter(|(kind, _)| *kind == "publishClientSend")
            .map(|(_, t)| t.as_str())
            .collect();
        assert!(send.iter().all(|t| t.contains("/lamp-1/")));
        for cloud_side in ["delta", "notify", "accepted", "rejected", "request"] {
            assert!(
                !send.iter().any(|t| t.contains(cloud_side)),
                "{cloud_side} is the cloud's to publish"
            );
        }
        assert!(send.contains(&"$emqx/commands/things/lamp-1/executions/+/response"));
        let subscribe: Vec<&str> = acls
            .iter()
            .filter(|(kind, _)| *kind == "subscribePattern")
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(
            subscribe,
            [
                "$emqx/things/lamp-1/#",
                "$emqx/commands/things/lamp-1/executions/+/request"
            ]
        );
    }

    #[test]
    fn issuing_makes_the_role_then_the_user_with_the_client_id() {
        let c = issue(&thing("lamp-1"), Some("dev-lamp-1"), "pw");
        let commands = c["commands"].as_array().unwrap();
        assert_eq!(commands[0]["command"], "createRole");
        assert_eq!(
            commands[0]["acls"].as_array().map(Vec::len),
            Some(thing_acls(&thing("lamp-1")).len())
        );
        let last = commands.last().unwrap();
        assert_eq!(last["command"], "createClient");
        assert_eq!(last["username"], "lamp-1");
        assert_eq!(last["clientid"], "dev-lamp-1");
        assert_eq!(last["roles"][0]["rolename"], "thing:lamp-1");
        assert_eq!(commands.len(), 2);
    }

    #[test]
    fn answers_name_each_failure() {
        let answers = check(br#"{"responses":[{"command":"createRole","error":"Role already exists"},{"command":"createClient"}]}"#).unwrap();
        assert_eq!(
            answers,
            [
                ("createRole".into(), Some("Role already exists".into())),
                ("createClient".into(), None)
            ]
        );
        assert!(exists("Role already exists"));
        assert!(check(b"nope").is_err());
    }
}
