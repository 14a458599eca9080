//! An in-memory world: devices, a broker and the cloud, on simulated time, with a small network
//! emulator (delay, duplicate, drop, disconnect) between the devices and the broker — quinn's
//! `Pair` and str0m's `netem`, for Fleets. Scenario tests drive it; the in-page sandbox can run
//! the same broker and cloud with no server.
//!
//! It works at the level of MQTT *messages*: the byte-level session is tested on its own and
//! against a real mosquitto. What matters here is what MQTT promises between them: topic
//! matching with the `$` rule, QoS 1 delivery, and persistent sessions that queue QoS 1 messages
//! for a disconnected client.

use crate::vec_map::{VecMap, VecSet};
use std::collections::VecDeque;

use thingsim_mqtt::{Command, Event, Message, Millis, Qos};

use crate::ThingName;
use crate::cloud::{Cloud, CloudEvent, CloudOutput};
use crate::device::{Device, DeviceEvent, DeviceOptions, DeviceOutput, UserCommand};
use crate::model::{DeviceModel, Template};

/// Whether `filter` matches `topic` [MQTT-4.7]: `+` one level, `#` the rest (including the
/// parent level), and a wildcard first level never matches a topic starting with `$`
/// [MQTT-4.7.2-1].
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[derive(Debug, Default)]
struct Session {
    subscriptions: Vec<(String, Qos)>,
    online: bool,
    persistent: bool,
    queued: VecDeque<Message>,
}

/// A message-level MQTT broker.
#[derive(Debug, Default)]
pub struct Broker {
    sessions: VecMap<String, Session>,
    /// Clients by the thing their filters name (`$emqx/things/{name}/…`,
    /// `$emqx/commands/things/{name}/…`): a publish is matched against those and `wild` only,
    /// not against every session — what lets a thousand devices share one broker.
    by_thing: VecMap<String, VecSet<String>>,
    /// Clients with a filter that names no one thing (the cloud's `+`).
    wild: VecSet<String>,
}

/// The thing a Fleets topic or filter is about, when one level names it literally.
fn thing_level(topic: &str) -> Option<&str> {
    let rest = topic
        .strip_prefix("$emqx/things/")
        .or_else(|| topic.strip_prefix("$emqx/commands/things/"))?;
    let level = rest.split('/').next()?;
    (!level.is_empty() && level != "+" && level != "#").then_some(level)
}

impl Broker {
    /// A client connects; returns whether its session was present. A clean start (or a
    /// non-persistent session) forgets subscriptions and queued messages.
    pub fn connect(&mut self, client: &str, persistent: bool) -> bool {
        let session = self.sessions.entry(client.to_owned()).or_default();
        let present = session.persistent && persistent;
        if !present {
            let old = std::mem::take(session);
            self.drop_index(client, &old.subscriptions);
        }
        let Some(session) = self.sessions.get_mut(client) else {
            return present;
        };
        session.online = true;
        session.persistent = persistent;
        present
    }

    /// A client's connection ended.
    pub fn disconnect(&mut self, client: &str) {
        if let Some(s) = self.sessions.get_mut(client) {
            s.online = false;
            if !s.persistent {
                self.forget(client);
            }
        }
    }

    /// Takes `client`'s `subscriptions` out of the index.
    fn drop_index(&mut self, client: &str, subscriptions: &[(String, Qos)]) {
        for (filter, _) in subscriptions {
            match thing_level(filter) {
                Some(thing) => {
                    if let Some(clients) = self.by_thing.get_mut(thing) {
                        clients.remove(client);
                        if clients.is_empty() {
                            self.by_thing.remove(thing);
                        }
                    }
                }
                None => {
                    self.wild.remove(client);
                }
            }
        }
    }

    /// Forgets a client's session altogether (its device is gone).
    pub fn forget(&mut self, client: &str) {
        if let Some(session) = self.sessions.remove(client) {
            self.drop_index(client, &session.subscriptions);
        }
    }

    /// Adds (or replaces) subscriptions.
    pub fn subscribe(&mut self, client: &str, filters: &[(String, Qos)]) {
        let s = self.sessions.entry(client.to_owned()).or_default();
        for (filter, qos) in filters {
            s.subscriptions.retain(|(f, _)| f != filter);
            s.subscriptions.push((filter.clone(), *qos));
            match thing_level(filter) {
                Some(thing) => {
                    self.by_thing
                        .entry(thing.to_owned())
                        .or_default()
                        .insert(client.to_owned());
                }
                None => {
                    self.wild.insert(client.to_owned());
                }
            }
        }
    }

    /// Routes a publish: returns deliveries to online subscribers (one per client, at the
    /// lower of publish and subscription QoS); queues QoS 1 for offline persistent ones.
    pub fn publish(&mut self, message: &Message) -> Vec<(String, Message)> {
        self.publish_from(None, message)
    }

    /// [`Broker::publish`] from `publisher`, which is not sent its own message: MQTT 5 No
    /// Local, which the world's parties all ask for, as thingsim's device stack and
    /// thingsim-cloud do on MQTT 5 (docs/protocol.md, "Echo of our own publishes").
    pub fn publish_from(
        &mut self,
        publisher: Option<&str>,
        message: &Message,
    ) -> Vec<(String, Message)> {
        // The sessions that can match, in client order (as a scan of them all would give).
        let candidates: Vec<String> = match thing_level(&message.topic) {
            Some(thing) => {
                let named = self.by_thing.get(thing).into_iter().flatten();
                named
                    .chain(self.wild.iter())
                    .collect::<VecSet<_>>()
                    .into_iter()
                    .cloned()
                    .collect()
            }
            None => self.sessions.keys().cloned().collect(),
        };
        let mut out = Vec::new();
        for client in candidates {
            if publisher == Some(client.as_str()) {
                continue;
            }
            let Some(s) = self.sessions.get_mut(&client) else {
                continue;
            };
            let Some(granted) = s
                .subscriptions
                .iter()
                .filter(|(f, _)| topic_matches(f, &message.topic))
                .map(|(_, q)| *q)
                .max()
            else {
                continue;
            };
            let delivered = Message {
                qos: message.qos.min(granted),
                ..message.clone()
            };
            if s.online {
                out.push((client.clone(), delivered));
            } else if s.persistent && delivered.qos > Qos::AtMostOnce {
                s.queued.push_back(delivered);
            }
        }
        out
    }

    /// Messages kept for `client` while it was offline, oldest first.
    pub fn take_queued(&mut self, client: &str) -> Vec<Message> {
        self.sessions
            .get_mut(client)
            .map(|s| s.queued.drain(..).collect())
            .unwrap_or_default()
    }

    /// A message that could not reach an online client (its link dropped mid-flight): QoS 1 is
    /// kept for redelivery, as an unacknowledged PUBLISH would be.
    pub fn requeue(&mut self, client: &str, message: Message) {
        if let Some(s) = self.sessions.get_mut(client)
            && s.persistent
            && message.qos > Qos::AtMostOnce
        {
            s.queued.push_back(message);
        }
    }
}

/// The network between devices and the broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Netem {
    /// One-way delay in milliseconds.
    pub delay_ms: u64,
    /// Deliver every n-th message sent twice, the copy a millisecond later (a QoS 1
    /// redelivery); `Some(0)` never.
    pub duplicate_every: Option<u64>,
    /// Lose every n-th message sent when it is QoS 0 (QoS 1 is never lost on a live
    /// connection); `Some(0)` never.
    pub drop_qos0_every: Option<u64>,
}

#[derive(Debug)]
enum Hop {
    ToBroker { from: usize, message: Message },
    ToDevice { to: usize, message: Message },
}

/// A device in the world.
#[derive(Debug)]
pub struct Node {
    /// The device.
    pub device: Device,
    /// Its MQTT client id.
    pub client_id: String,
    /// Whether its connection is up.
    pub online: bool,
    /// Persistent session (Fleets' recommendation).
    pub persistent: bool,
    /// Everything it reported, in order.
    pub events: Vec<DeviceEvent>,
    outbox: VecDeque<Message>,
    deadline: Option<Millis>,
}

/// A message that crossed a device's link, for the message log.
#[derive(Debug, Clone, PartialEq)]
pub struct Wire {
    /// When.
    pub at: Millis,
    /// Which device's link.
    pub device: usize,
    /// From the device (true) or to it.
    pub outgoing: bool,
    /// The message.
    pub message: Message,
}

/// Devices, broker and cloud on simulated time.
#[derive(Debug)]
pub struct World {
    /// Simulated now.
    pub now: Millis,
    /// The broker.
    pub broker: Broker,
    /// The cloud role.
    pub cloud: Cloud,
    /// Everything the cloud reported.
    pub cloud_events: Vec<CloudEvent>,
    /// The devices.
    pub nodes: Vec<Node>,
    /// The network between devices and broker.
    pub netem: Netem,
    /// Record every message crossing a device link in [`World::take_wire`] (off by default;
    /// the in-page sandbox turns it on for its message log).
    pub trace: bool,
    /// Messages devices published that reached the broker, since the start.
    pub from_devices: u64,
    /// Messages the broker delivered to devices, since the start.
    pub to_devices: u64,
    wire: Vec<Wire>,
    /// Hops on the wire, in the order they were sent.
    in_flight: Vec<(Millis, Hop)>,
    sent: u64,
    cloud_deadline: Option<Millis>,
}

const CLOUD_CLIENT: &str = "thingsim-cloud";

/// Steps at one instant after which the world counts as stuck.
const STALL_LIMIT: u32 = 100_000;

/// Counts the steps taken without time moving on.
#[derive(Debug, Default)]
struct Stall {
    steps: u32,
}

impl Stall {
    /// A step for a timer due `at`, the world being at `now`.
    fn step(&mut self, at: Millis, now: Millis) {
        if at <= now {
            self.steps += 1;
            assert!(
                self.steps < STALL_LIMIT,
                "the world is stuck at {} ms: a timer fires without time moving on",
                now.0
            );
        } else {
            self.steps = 0;
        }
    }
}

impl World {
    /// An empty world at `now` with the cloud connected.
    pub fn new(now: Millis) -> Self {
        let mut broker = Broker::default();
        broker.connect(CLOUD_CLIENT, true);
        broker.subscribe(CLOUD_CLIENT, &Cloud::subscriptions());
        Self {
            now,
            broker,
            cloud: Cloud::default(),
            cloud_events: Vec::new(),
            nodes: Vec::new(),
            netem: Netem::default(),
            trace: false,
            from_devices: 0,
            to_devices: 0,
            wire: Vec::new(),
            in_flight: Vec::new(),
            sent: 0,
            cloud_deadline: None,
        }
    }

    /// Adds a device of `template` for `thing` and connects it; returns its index.
    pub fn add_device(
        &mut self,
        thing: &str,
        template: &'static Template,
        options: DeviceOptions,
    ) -> usize {
        let thing = ThingName::new(thing).unwrap_or_else(|e| panic!("test thing name: {e}"));
        // Its index is its seed: the same world gives the same readings.
        let model = DeviceModel::new(template, self.nodes.len() as u64);
        self.add_model(thing, model, options)
    }

    /// Adds a device running `model` as `thing` and connects it; returns its index.
    pub fn add_model(
        &mut self,
        thing: ThingName,
        model: DeviceModel,
        options: DeviceOptions,
    ) -> usize {
        let device = Device::new(self.now, thing.clone(), model, options);
        self.nodes.push(Node {
            device,
            client_id: crate::topics::device_client_id(thing.as_str()),
            online: false,
            persistent: true,
            events: Vec::new(),
            outbox: VecDeque::new(),
            deadline: None,
        });
        let idx = self.nodes.len() - 1;
        self.connect(idx);
        idx
    }

    /// The device's connection comes up: broker session, queued messages, startup shadow GET.
    pub fn connect(&mut self, idx: usize) {
        let node = &mut self.nodes[idx];
        let session_present = self.broker.connect(&node.client_id, node.persistent);
        node.online = true;
        // The session (thingsim-mqtt) restores subscriptions when the broker lost them; here
        // the device's first output carries them, so replay them on a fresh session.
        if !session_present {
            let filters: Vec<(String, Qos)> =
                crate::Topic::device_subscriptions(node.device.thing())
                    .into_iter()
                    .map(|f| (f, Qos::AtLeastOnce))
                    .collect();
            self.broker.subscribe(&node.client_id, &filters);
        }
        let now = self.now;
        node.device
            .handle_mqtt_event(now, &Event::Connected { session_present });
        // Fleets startup flow: fetch the shadow (HTTP GET) and apply its delta.
        let document = self.cloud.shadow(node.device.thing()).document();
        node.device.handle_shadow_document(&document);
        for message in self.broker.take_queued(&self.nodes[idx].client_id) {
            self.send(Hop::ToDevice { to: idx, message });
        }
        let outbox: Vec<Message> = self.nodes[idx].outbox.drain(..).collect();
        for message in outbox {
            self.send(Hop::ToBroker { from: idx, message });
        }
        self.pump();
    }

    /// The device's connection drops (messages in flight to it are lost or requeued by QoS).
    pub fn disconnect(&mut self, idx: usize) {
        let node = &mut self.nodes[idx];
        node.online = false;
        self.broker.disconnect(&node.client_id);
        let now = self.now;
        node.device.handle_mqtt_event(now, &Event::Disconnected);
        self.pump();
    }

    /// Removes the last `n` devices (the newest): their sessions end at the broker, what is on
    /// the wire to or from them is dropped, and their memory is freed. Indices of the others
    /// do not change.
    pub fn remove_last(&mut self, n: usize) {
        let keep = self.nodes.len().saturating_sub(n);
        for node in &self.nodes[keep..] {
            self.broker.disconnect(&node.client_id);
            self.broker.forget(&node.client_id);
        }
        self.in_flight.retain(|(_, hop)| match hop {
            Hop::ToBroker { from, .. } => *from < keep,
            Hop::ToDevice { to, .. } => *to < keep,
        });
        self.nodes.truncate(keep);
        self.nodes.shrink_to_fit();
        // A thousand devices' traffic leaves queues as long as their busiest instant.
        self.in_flight.shrink_to_fit();
        self.wire.shrink_to_fit();
        self.cloud_events.shrink_to_fit();
    }

    /// User intent on a device.
    pub fn command(&mut self, idx: usize, command: UserCommand) {
        let now = self.now;
        self.nodes[idx].device.handle_command(now, command);
        self.pump();
    }

    /// Runs operator intent on the cloud, then lets its output flow.
    pub fn with_cloud<T>(&mut self, f: impl FnOnce(&mut Cloud, Millis) -> T) -> T {
        let out = f(&mut self.cloud, self.now);
        self.pump();
        out
    }

    /// Delivers a raw message to a device now, bypassing the broker (out-of-order and
    /// hostile-input scenarios).
    pub fn inject(&mut self, idx: usize, message: Message) {
        let now = self.now;
        self.nodes[idx]
            .device
            .handle_mqtt_event(now, &Event::Received(message));
        self.pump();
    }

    /// Publishes a raw message from a device's connection (hostile-input scenarios).
    pub fn publish_from(&mut self, idx: usize, message: Message) {
        self.send(Hop::ToBroker { from: idx, message });
        self.pump();
    }

    /// Runs the world for `ms` of simulated time.
    ///
    /// # Panics
    /// When a timer keeps firing at one instant without time moving on: a device or the cloud
    /// that asks to be woken now, again and again, would otherwise hang the world (and the
    /// page running the sandbox) for good.
    pub fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        let mut stall = Stall::default();
        loop {
            self.pump();
            match self.next_deadline() {
                Some(at) if at <= end => {
                    stall.step(at, self.now);
                    self.now = self.now.max(at);
                    self.step();
                }
                _ => {
                    self.now = end;
                    self.pump();
                    return;
                }
            }
        }
    }

    /// The earliest moment something is due (a message in flight, a device or cloud timer).
    pub fn next_deadline(&self) -> Option<Millis> {
        self.in_flight
            .iter()
            .map(|(at, _)| *at)
            .chain(self.nodes.iter().filter_map(|n| n.deadline))
            .chain(self.cloud_deadline)
            .min()
    }

    /// Runs the world up to `now` (a shell on real time calls this from its timer).
    pub fn advance_to(&mut self, now: Millis) {
        self.run_for(now.saturating_since(self.now));
    }

    /// What device `idx` reported since the last call.
    pub fn take_events(&mut self, idx: usize) -> Vec<DeviceEvent> {
        std::mem::take(&mut self.nodes[idx].events)
    }

    /// What the cloud reported since the last call.
    pub fn take_cloud_events(&mut self) -> Vec<CloudEvent> {
        std::mem::take(&mut self.cloud_events)
    }

    /// Messages that crossed device links since the last call (with [`World::trace`] on).
    pub fn take_wire(&mut self) -> Vec<Wire> {
        std::mem::take(&mut self.wire)
    }

    fn record(&mut self, device: usize, outgoing: bool, message: &Message) {
        if self.trace {
            self.wire.push(Wire {
                at: self.now,
                device,
                outgoing,
                message: message.clone(),
            });
        }
    }

    fn step(&mut self) {
        let now = self.now;
        let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.in_flight = later;
        // Stable: what was sent first at one instant arrives first.
        due.sort_by_key(|(at, _)| *at);
        for (_, hop) in due {
            match hop {
                Hop::ToBroker { from, message } => {
                    if self.nodes[from].online {
                        self.from_devices += 1;
                        self.record(from, true, &message);
                        self.route(Some(from), message);
                    } else {
                        self.nodes[from].outbox.push_back(message); // the session resends it
                    }
                }
                Hop::ToDevice { to, message } => {
                    if self.nodes[to].online {
                        self.to_devices += 1;
                        self.record(to, false, &message);
                        self.nodes[to]
                            .device
                            .handle_mqtt_event(now, &Event::Received(message));
                    } else {
                        let client = self.nodes[to].client_id.clone();
                        self.broker.requeue(&client, message);
                    }
                }
            }
        }
        for node in &mut self.nodes {
            if node.deadline.is_some_and(|d| d <= now) {
                node.deadline = None;
                node.device.handle_timeout(now);
            }
        }
        if self.cloud_deadline.is_some_and(|d| d <= now) {
            self.cloud_deadline = None;
            self.cloud.handle_timeout(now);
        }
    }

    /// Drains every party's outputs until all are idle. One pass is enough: what a device
    /// publishes goes onto the wire (delivered by a later step), and what the cloud publishes
    /// reaches the cloud itself at once, inside its own drain loop.
    fn pump(&mut self) {
        for idx in 0..self.nodes.len() {
            loop {
                match self.nodes[idx].device.poll_output() {
                    DeviceOutput::Mqtt(Command::Publish(message)) => {
                        if self.nodes[idx].online {
                            self.send(Hop::ToBroker { from: idx, message });
                        } else {
                            self.nodes[idx].outbox.push_back(message);
                        }
                    }
                    DeviceOutput::Mqtt(Command::Subscribe(filters)) => {
                        let client = self.nodes[idx].client_id.clone();
                        self.broker.subscribe(&client, &filters);
                    }
                    DeviceOutput::Mqtt(Command::Disconnect | Command::Acknowledge(_)) => {}
                    DeviceOutput::Event(e) => self.nodes[idx].events.push(e),
                    DeviceOutput::Idle { deadline } => {
                        self.nodes[idx].deadline = deadline;
                        break;
                    }
                }
            }
        }
        loop {
            match self.cloud.poll_output() {
                CloudOutput::Publish(message) => self.route(None, message),
                CloudOutput::Event(e) => self.cloud_events.push(e),
                CloudOutput::Idle { deadline } => {
                    self.cloud_deadline = deadline;
                    break;
                }
            }
        }
    }

    /// The broker routes a message: to the cloud at once (a backend on the broker's LAN), to
    /// devices over the emulated network.
    /// `from` is the device that published it, or `None` for the cloud; neither is sent its own.
    fn route(&mut self, from: Option<usize>, message: Message) {
        let publisher = from.map_or(CLOUD_CLIENT, |i| self.nodes[i].client_id.as_str());
        for (client, delivered) in self.broker.publish_from(Some(publisher), &message) {
            if client == CLOUD_CLIENT {
                let now = self.now;
                self.cloud.handle_message(now, &delivered);
            } else if let Some(to) = self.nodes.iter().position(|n| n.client_id == client) {
                self.send(Hop::ToDevice {
                    to,
                    message: delivered,
                });
            }
        }
    }

    fn send(&mut self, hop: Hop) {
        self.sent += 1;
        let qos = match &hop {
            Hop::ToBroker { message, .. } | Hop::ToDevice { message, .. } => message.qos,
        };
        if qos == Qos::AtMostOnce
            && self
                .netem
                .drop_qos0_every
                .is_some_and(|n| self.sent.is_multiple_of(n))
        {
            return;
        }
        let at = self.now + self.netem.delay_ms;
        let duplicate = self
            .netem
            .duplicate_every
            .is_some_and(|n| self.sent.is_multiple_of(n));
        if duplicate {
            let copy = match &hop {
                Hop::ToBroker { from, message } => Hop::ToBroker {
                    from: *from,
                    message: message.clone(),
                },
                Hop::ToDevice { to, message } => Hop::ToDevice {
                    to: *to,
                    message: message.clone(),
                },
            };
            self.in_flight.push((at + 1, copy));
        }
        self.in_flight.push((at, hop));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_indexes_a_topic_by_the_thing_it_names() {
        assert_eq!(thing_level("$emqx/things/t1/shadow/update"), Some("t1"));
        assert_eq!(
            thing_level("$emqx/commands/things/t2/executions/e/request"),
            Some("t2")
        );
        assert_eq!(thing_level("$emqx/things/+/shadow/update"), None);
        assert_eq!(thing_level("$emqx/things/#"), None);
        assert_eq!(thing_level("$emqx/things//x"), None);
        assert_eq!(thing_level("a/b"), None);
    }

    #[test]
    fn a_forgotten_client_has_nothing_kept_for_it() {
        let mut broker = Broker::default();
        let filter = "$emqx/things/t1/shadow/update/delta".to_owned();
        broker.connect("c1", true);
        broker.subscribe("c1", &[(filter.clone(), Qos::AtLeastOnce)]);
        broker.disconnect("c1");
        let message = Message::new(&filter, "{}", Qos::AtLeastOnce);
        broker.publish(&message);
        assert_eq!(broker.take_queued("c1").len(), 1, "queued while away");
        broker.publish(&message);
        broker.forget("c1");
        broker.publish(&message);
        assert!(
            broker.take_queued("c1").is_empty(),
            "forgotten: nothing queued"
        );
        assert!(broker.publish(&message).is_empty());
    }

    #[test]
    fn topic_matching_follows_the_wildcard_and_dollar_rules() {
        for (filter, topic, expected) in [
            ("a/b", "a/b", true),
            ("a/+", "a/b", true),
            ("a/+", "a/b/c", false),
            ("a/b", "a/c", false),
            ("a/+/c", "a/b/d", false),
            (
                "$emqx/things/t/shadow/update",
                "$emqx/things/u/shadow/update",
                false,
            ),
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("#", "a/b", true),
            ("#", "$emqx/things/t/shadow/update", false),
            (
                "+/things/t/shadow/update",
                "$emqx/things/t/shadow/update",
                false,
            ),
            (
                "$emqx/things/+/shadow/update",
                "$emqx/things/t/shadow/update",
                true,
            ),
            (
                "$emqx/things/+/jobs/+/update",
                "$emqx/things/t/jobs/j1/update",
                true,
            ),
            (
                "$emqx/things/+/jobs/+/update",
                "$emqx/things/t/jobs/j1/update/accepted",
                false,
            ),
        ] {
            assert_eq!(
                topic_matches(filter, topic),
                expected,
                "{filter} vs {topic}"
            );
        }
    }

    #[test]
    fn a_persistent_session_queues_qos1_while_offline_and_a_clean_one_does_not() {
        let mut b = Broker::default();
        for (client, persistent) in [("p", true), ("c", false)] {
            b.connect(client, persistent);
            b.subscribe(client, &[("t/#".into(), Qos::AtLeastOnce)]);
            b.disconnect(client);
        }
        assert!(
            b.publish(&Message::new("t/1", "x", Qos::AtLeastOnce))
                .is_empty()
        );
        b.publish(&Message::new("t/2", "y", Qos::AtMostOnce));
        assert!(b.connect("p", true), "session present");
        let queued: Vec<String> = b.take_queued("p").into_iter().map(|m| m.topic).collect();
        assert_eq!(queued, vec!["t/1"], "QoS 1 only");
        assert!(!b.connect("c", false));
        assert!(b.take_queued("c").is_empty());
    }

    #[test]
    fn a_publisher_is_not_sent_its_own_message_but_everyone_else_is() {
        let mut b = Broker::default();
        for client in ["dev", "cloud"] {
            b.connect(client, false);
            b.subscribe(client, &[("t/#".into(), Qos::AtLeastOnce)]);
        }
        let to = |out: Vec<(String, Message)>| out.into_iter().map(|(c, _)| c).collect::<Vec<_>>();
        let m = Message::new("t/1", "x", Qos::AtLeastOnce);
        assert_eq!(to(b.publish_from(Some("dev"), &m)), vec!["cloud"]);
        assert_eq!(to(b.publish(&m)), vec!["cloud", "dev"]);
    }

    #[test]
    fn a_clean_start_forgets_a_persistent_session() {
        let mut b = Broker::default();
        b.connect("p", true);
        b.subscribe("p", &[("t/#".into(), Qos::AtLeastOnce)]);
        b.disconnect("p");
        b.publish(&Message::new("t/1", "x", Qos::AtLeastOnce));
        assert!(
            !b.connect("p", false),
            "no session present on a clean start"
        );
        assert!(b.take_queued("p").is_empty());
        assert!(
            b.publish(&Message::new("t/2", "x", Qos::AtLeastOnce))
                .is_empty(),
            "its subscriptions went too"
        );
    }

    #[test]
    fn delivery_is_at_the_lower_of_publish_and_subscription_qos() {
        let mut b = Broker::default();
        b.connect("low", true);
        b.subscribe("low", &[("t/#".into(), Qos::AtMostOnce)]);
        let out = b.publish(&Message::new("t/1", "x", Qos::AtLeastOnce));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.qos, Qos::AtMostOnce);
        // Offline, a QoS 0 subscription queues nothing, even for a QoS 1 publish.
        b.disconnect("low");
        b.publish(&Message::new("t/2", "x", Qos::AtLeastOnce));
        b.connect("low", true);
        assert!(b.take_queued("low").is_empty());
    }

    #[test]
    fn a_message_lost_on_a_dropped_link_is_requeued_only_when_qos1_on_a_persistent_session() {
        let mut b = Broker::default();
        b.connect("p", true);
        b.connect("c", false);
        for client in ["p", "c"] {
            b.requeue(client, Message::new("t/1", "x", Qos::AtLeastOnce));
            b.requeue(client, Message::new("t/0", "x", Qos::AtMostOnce));
        }
        let queued: Vec<String> = b.take_queued("p").into_iter().map(|m| m.topic).collect();
        assert_eq!(queued, vec!["t/1"]);
        assert!(b.take_queued("c").is_empty());
    }

    #[test]
    fn a_timer_that_fires_without_time_moving_on_is_caught() {
        let stuck = std::panic::catch_unwind(|| {
            let mut stall = Stall::default();
            for _ in 0..STALL_LIMIT {
                stall.step(Millis(5), Millis(5));
            }
        });
        assert!(stuck.is_err());
        // Time moving on starts the count again.
        let mut stall = Stall::default();
        for round in 0..3 {
            for _ in 1..STALL_LIMIT {
                stall.step(Millis(round), Millis(round));
            }
            stall.step(Millis(round + 1), Millis(round));
        }
    }
}
