//! The composed device ([`DeviceStack`]) as the browser runs it, natively: two devices and the
//! cloud, each its own stack, over an in-memory byte pipe to a small MQTT broker written here,
//! on simulated time. Every byte goes through the real session codec; the runner below only
//! moves bytes, answers and timers, exactly as `src/shell/client.rs` does.

use serde_json::{Value, json};
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::{Cloud, CloudOutput};
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions};
use thingsim_fleet::model::{DeviceModel, SMART_LIGHT, THERMOSTAT};
use thingsim_fleet::stack::{DeviceStack, HttpAnswer, MqttLink, StackEvent, StackOutput, Status};
use thingsim_fleet::world::topic_matches;
use thingsim_mqtt::{Command, Event, Millis, Options, ProtocolVersion};

/// The wall clock when the monotonic clock reads 0.
const EPOCH: Millis = Millis(1_748_390_400_000);
/// One way, client ⇄ broker.
const LATENCY: u64 = 5;

// ---------------------------------------------------------------------------------------------
// A broker that speaks just enough MQTT 3.1.1 and 5 for the stack: CONNECT, SUBSCRIBE (with No
// Local), PUBLISH QoS 0/1 with PUBACK, PINGREQ, DISCONNECT. No sessions survive a connection.

#[derive(Debug, Default)]
struct Conn {
    endpoint: usize,
    generation: u32,
    v5: bool,
    buffer: Vec<u8>,
    /// (filter, granted QoS, No Local)
    subscriptions: Vec<(String, u8, bool)>,
    next_pid: u16,
}

#[derive(Debug, Default)]
struct Broker {
    conns: Vec<Conn>,
    /// Swallow PINGREQs (a half-dead connection).
    deaf_to_pings: bool,
    /// Every PUBLISH delivered: (endpoint, topic).
    delivered: Vec<(usize, String)>,
}

enum BrokerOut {
    Bytes(usize, u32, Vec<u8>),
    Closed(usize, u32),
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn read_varint(b: &[u8]) -> Option<(usize, usize)> {
    let (mut n, mut mul) = (0usize, 1usize);
    for (i, byte) in b.iter().enumerate().take(4) {
        n += usize::from(byte & 0x7F) * mul;
        if byte & 0x80 == 0 {
            return Some((n, i + 1));
        }
        mul *= 128;
    }
    None
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

fn string_at(b: &[u8], at: usize) -> (String, usize) {
    let len = usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    (
        String::from_utf8_lossy(&b[at + 2..at + 2 + len]).into_owned(),
        at + 2 + len,
    )
}

impl Broker {
    fn accept(&mut self, endpoint: usize, generation: u32) {
        self.drop_conn(endpoint);
        self.conns.push(Conn {
            endpoint,
            generation,
            next_pid: 1,
            ..Conn::default()
        });
    }

    fn drop_conn(&mut self, endpoint: usize) {
        self.conns.retain(|c| c.endpoint != endpoint);
    }

    fn input(&mut self, endpoint: usize, generation: u32, bytes: &[u8]) -> Vec<BrokerOut> {
        let mut out = Vec::new();
        let Some(idx) = self
            .conns
            .iter()
            .position(|c| c.endpoint == endpoint && c.generation == generation)
        else {
            return out;
        };
        self.conns[idx].buffer.extend_from_slice(bytes);
        loop {
            let buffer = &self.conns[idx].buffer;
            if buffer.len() < 2 {
                break;
            }
            let Some((len, n)) = read_varint(&buffer[1..]) else {
                break;
            };
            if buffer.len() < 1 + n + len {
                break;
            }
            let first = buffer[0];
            let body = buffer[1 + n..1 + n + len].to_vec();
            self.conns[idx].buffer.drain(..1 + n + len);
            if !self.packet(idx, first, &body, &mut out) {
                let conn = self.conns.remove(idx);
                out.push(BrokerOut::Closed(conn.endpoint, conn.generation));
                break;
            }
        }
        out
    }

    /// One whole packet; false closes the connection.
    fn packet(&mut self, idx: usize, first: u8, body: &[u8], out: &mut Vec<BrokerOut>) -> bool {
        let (endpoint, generation) = (self.conns[idx].endpoint, self.conns[idx].generation);
        let v5 = self.conns[idx].v5;
        let props_len = |at: usize| {
            if v5 {
                read_varint(&body[at..]).map_or(0, |(len, n)| len + n)
            } else {
                0
            }
        };
        match first >> 4 {
            1 => {
                let (_, at) = string_at(body, 0);
                self.conns[idx].v5 = body[at] == 5;
                let connack = if self.conns[idx].v5 {
                    packet(0x20, &[0, 0, 0])
                } else {
                    packet(0x20, &[0, 0])
                };
                out.push(BrokerOut::Bytes(endpoint, generation, connack));
            }
            8 => {
                let pid = [body[0], body[1]];
                let mut at = 2 + props_len(2);
                let mut codes = pid.to_vec();
                if v5 {
                    codes.push(0);
                }
                while at < body.len() {
                    let (filter, next) = string_at(body, at);
                    let options = body[next];
                    let granted = (options & 3).min(1);
                    self.conns[idx]
                        .subscriptions
                        .push((filter, granted, options & 4 != 0));
                    codes.push(granted);
                    at = next + 1;
                }
                out.push(BrokerOut::Bytes(endpoint, generation, packet(0x90, &codes)));
            }
            3 => {
                let qos = (first >> 1) & 3;
                let (topic, mut at) = string_at(body, 0);
                if qos > 0 {
                    let ack = packet(0x40, &[body[at], body[at + 1]]);
                    out.push(BrokerOut::Bytes(endpoint, generation, ack));
                    at += 2;
                }
                at += props_len(at);
                self.route(idx, &topic, qos, &body[at..], out);
            }
            4 => {} // PUBACK for what we delivered
            12 if !self.deaf_to_pings => {
                out.push(BrokerOut::Bytes(endpoint, generation, vec![0xD0, 0]));
            }
            12 => {}
            14 => return false,
            other => panic!("the test broker does not speak packet type {other}"),
        }
        true
    }

    fn route(
        &mut self,
        from: usize,
        topic: &str,
        qos: u8,
        payload: &[u8],
        out: &mut Vec<BrokerOut>,
    ) {
        for (idx, conn) in self.conns.iter_mut().enumerate() {
            let Some(granted) = conn
                .subscriptions
                .iter()
                .filter(|(f, _, no_local)| topic_matches(f, topic) && !(*no_local && idx == from))
                .map(|(_, g, _)| *g)
                .max()
            else {
                continue;
            };
            let qos = qos.min(granted);
            let mut body = Vec::new();
            body.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
            body.extend_from_slice(topic.as_bytes());
            if qos > 0 {
                body.extend_from_slice(&conn.next_pid.to_be_bytes());
                conn.next_pid = conn.next_pid.wrapping_add(1).max(1);
            }
            if conn.v5 {
                body.push(0);
            }
            body.extend_from_slice(payload);
            self.delivered.push((conn.endpoint, topic.to_owned()));
            out.push(BrokerOut::Bytes(
                conn.endpoint,
                conn.generation,
                packet(0x30 | (qos << 1), &body),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The runner: what the browser shell does, on simulated time.

enum Hop {
    Opened(usize, u32),
    ToBroker(usize, u32, Vec<u8>),
    ToClient(usize, u32, Vec<u8>),
    Closed(usize, u32),
    Answer(usize, u64, HttpAnswer),
}

struct Endpoint {
    stack: DeviceStack,
    generation: u32,
    deadline: Option<Millis>,
    events: Vec<StackEvent>,
    stopped: bool,
    /// The id of every request it made.
    request_ids: Vec<u64>,
}

struct Net {
    now: Millis,
    broker: Broker,
    endpoints: Vec<Endpoint>,
    cloud: Cloud,
    /// The endpoint whose MQTT client the cloud uses.
    cloud_at: usize,
    cloud_deadline: Option<Millis>,
    in_flight: Vec<(Millis, Hop)>,
    /// Refuse the startup GET (the API is down).
    api_down: bool,
    /// Answer the startup GET with this status instead.
    api_status: Option<u16>,
}

fn device_options(client_id: &str, clean_start: bool) -> Options {
    Options {
        keep_alive_secs: 10,
        clean_start,
        ..Options::new(client_id)
    }
}

impl Net {
    fn new() -> Self {
        let options = Options {
            no_local: true,
            ..Options::new("thingsim-cloud")
        };
        let mut net = Self {
            now: Millis(0),
            broker: Broker::default(),
            endpoints: Vec::new(),
            cloud: Cloud::default(),
            cloud_at: 0,
            cloud_deadline: None,
            in_flight: Vec::new(),
            api_down: false,
            api_status: None,
        };
        let link = MqttLink {
            options,
            api: false,
        };
        net.cloud_at = net.add(DeviceStack::mqtt(Millis(0), EPOCH, None, link, 7));
        let now = net.now;
        let subscribe = Command::Subscribe(Cloud::subscriptions());
        net.endpoints[net.cloud_at]
            .stack
            .handle_mqtt_command(now, subscribe);
        net.drain(net.cloud_at);
        net.run_for(100);
        net
    }

    fn add(&mut self, stack: DeviceStack) -> usize {
        self.endpoints.push(Endpoint {
            stack,
            generation: 0,
            deadline: None,
            events: Vec::new(),
            stopped: false,
            request_ids: Vec::new(),
        });
        let idx = self.endpoints.len() - 1;
        self.drain(idx);
        idx
    }

    fn add_device(
        &mut self,
        thing: &str,
        version: ProtocolVersion,
        api: bool,
        clean: bool,
    ) -> usize {
        let thing = ThingName::new(thing).unwrap();
        let template = if thing.as_str().starts_with("light") {
            &SMART_LIGHT
        } else {
            &THERMOSTAT
        };
        let model = DeviceModel::new(template, self.endpoints.len() as u64);
        let options = DeviceOptions {
            job_step_ms: 1_000,
            telemetry_ms: None,
        };
        let epoch = Millis(EPOCH.0 + self.now.0);
        let device = Device::new(epoch, thing.clone(), model, options);
        let link = MqttLink {
            options: Options {
                version,
                ..device_options(&format!("client-{thing}"), clean)
            },
            api,
        };
        let stack = DeviceStack::mqtt(self.now, epoch, Some(device), link, 42);
        self.add(stack)
    }

    fn wall(&self) -> Millis {
        Millis(EPOCH.0 + self.now.0)
    }

    fn send(&mut self, hop: Hop) {
        self.in_flight.push((Millis(self.now.0 + LATENCY), hop));
    }

    /// Drains endpoint `idx`, as the browser runner does after every input.
    fn drain(&mut self, idx: usize) {
        loop {
            let output = self.endpoints[idx].stack.poll_output();
            let generation = self.endpoints[idx].generation;
            match output {
                StackOutput::Open => {
                    let g = generation + 1;
                    self.endpoints[idx].generation = g;
                    self.broker.accept(idx, g);
                    self.send(Hop::Opened(idx, g));
                }
                StackOutput::Transmit(bytes) => self.send(Hop::ToBroker(idx, generation, bytes)),
                StackOutput::Close => {
                    self.broker.drop_conn(idx);
                    self.endpoints[idx].generation += 1;
                }
                StackOutput::Request(request) => {
                    self.endpoints[idx].request_ids.push(request.id);
                    let answer = self.api(request.method, &request.path);
                    self.send(Hop::Answer(idx, request.id, answer));
                }
                StackOutput::Event(event) => {
                    if idx == self.cloud_at
                        && let StackEvent::Mqtt(Event::Received(message)) = &event
                    {
                        let wall = self.wall();
                        self.cloud.handle_message(wall, message);
                    }
                    self.endpoints[idx].events.push(event);
                }
                StackOutput::Stopped => self.endpoints[idx].stopped = true,
                StackOutput::Idle { deadline } => {
                    self.endpoints[idx].deadline = deadline;
                    if idx != self.cloud_at || !self.drain_cloud() {
                        break;
                    }
                }
            }
        }
    }

    /// Hands what the cloud publishes to its MQTT client; true when there was something.
    fn drain_cloud(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.cloud.poll_output() {
                CloudOutput::Publish(message) => {
                    any = true;
                    let now = self.now;
                    self.endpoints[self.cloud_at]
                        .stack
                        .handle_mqtt_command(now, Command::Publish(message));
                }
                CloudOutput::Event(_) => {}
                CloudOutput::Idle { deadline } => {
                    self.cloud_deadline = deadline.map(|at| Millis(at.0 - EPOCH.0));
                    return any;
                }
            }
        }
    }

    /// The ThingDatas shadow GET, answered from the cloud.
    fn api(&self, method: &str, path: &str) -> HttpAnswer {
        if self.api_down {
            return Err("connection refused".to_owned());
        }
        if let Some(status) = self.api_status {
            return Ok((status, b"{}".to_vec()));
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["api", "v1", "thing-datas", name, "shadow"]) => {
                let thing = ThingName::new(name).unwrap();
                if !self.cloud.has_thing(&thing) {
                    return Ok((404, b"{}".to_vec()));
                }
                let s = self.cloud.shadow(&thing);
                let body = json!({
                    "desired": s.desired, "reported": s.reported, "delta": s.delta(),
                    "version": s.version,
                });
                Ok((200, body.to_string().into_bytes()))
            }
            _ => Ok((404, b"{}".to_vec())),
        }
    }

    fn run_for(&mut self, ms: u64) {
        let end = Millis(self.now.0 + ms);
        for _ in 0..1_000_000 {
            let next = self
                .in_flight
                .iter()
                .map(|(at, _)| *at)
                .chain(self.endpoints.iter().filter_map(|e| e.deadline))
                .chain(self.cloud_deadline)
                .min();
            let Some(next) = next.filter(|at| *at <= end) else {
                self.now = end;
                return;
            };
            self.now = self.now.max(next);
            self.step();
        }
        panic!("the network never went quiet");
    }

    fn step(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.in_flight = later;
        for (_, hop) in due {
            match hop {
                Hop::Opened(idx, g) if self.endpoints[idx].generation == g => {
                    self.endpoints[idx].stack.handle_transport_opened(now);
                    self.drain(idx);
                }
                Hop::ToBroker(idx, g, bytes) => {
                    for out in self.broker.input(idx, g, &bytes) {
                        match out {
                            BrokerOut::Bytes(to, g, bytes) => {
                                self.send(Hop::ToClient(to, g, bytes))
                            }
                            BrokerOut::Closed(to, g) => self.send(Hop::Closed(to, g)),
                        }
                    }
                }
                Hop::ToClient(idx, g, bytes) if self.endpoints[idx].generation == g => {
                    self.endpoints[idx].stack.handle_transport_data(now, &bytes);
                    self.drain(idx);
                }
                Hop::Closed(idx, g) if self.endpoints[idx].generation == g => {
                    let why = Some("the broker closed the connection".to_owned());
                    self.endpoints[idx].stack.handle_transport_closed(now, why);
                    self.drain(idx);
                }
                Hop::Answer(idx, id, answer) => {
                    self.endpoints[idx].stack.handle_response(now, id, answer);
                    self.drain(idx);
                }
                Hop::Opened(..) | Hop::ToClient(..) | Hop::Closed(..) => {}
            }
        }
        for idx in 0..self.endpoints.len() {
            if self.endpoints[idx].deadline.is_some_and(|d| d <= now) {
                self.endpoints[idx].deadline = None;
                self.endpoints[idx].stack.handle_timeout(now);
                self.drain(idx);
            }
        }
        if self.cloud_deadline.is_some_and(|d| d <= now) {
            self.cloud_deadline = None;
            let wall = self.wall();
            self.cloud.handle_timeout(wall);
            self.drain(self.cloud_at);
        }
    }

    /// The broker drops endpoint `idx`'s connection (a restart, a kick).
    fn kill(&mut self, idx: usize) {
        self.broker.drop_conn(idx);
        let generation = self.endpoints[idx].generation;
        self.send(Hop::Closed(idx, generation));
    }

    /// What endpoint `idx` asked of its API, in order: (request id, path).
    fn requests(&self, idx: usize) -> Vec<String> {
        self.endpoints[idx]
            .events
            .iter()
            .filter_map(|e| match e {
                StackEvent::Http(x) if x.outgoing => Some(x.line.clone()),
                _ => None,
            })
            .collect()
    }

    fn notes(&self, idx: usize) -> usize {
        self.endpoints[idx]
            .events
            .iter()
            .filter(|e| matches!(e, StackEvent::Note { source, .. } if source == "startup"))
            .count()
    }

    fn operate(&mut self, f: impl FnOnce(&mut Cloud, Millis)) {
        let wall = self.wall();
        f(&mut self.cloud, wall);
        self.drain(self.cloud_at);
    }

    fn statuses(&self, idx: usize) -> Vec<Status> {
        self.endpoints[idx]
            .events
            .iter()
            .filter_map(|e| match e {
                StackEvent::Status(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    fn device_events(&self, idx: usize) -> Vec<&DeviceEvent> {
        self.endpoints[idx]
            .events
            .iter()
            .filter_map(|e| match e {
                StackEvent::Device(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    fn reported(&self, idx: usize, key: &str) -> Option<f64> {
        let device = self.endpoints[idx].stack.device()?;
        device.model().state().get(key).and_then(Value::as_f64)
    }

    fn thing(&self, idx: usize) -> ThingName {
        self.endpoints[idx].stack.device().unwrap().thing().clone()
    }

    fn deltas_delivered_to(&self, idx: usize) -> usize {
        self.broker
            .delivered
            .iter()
            .filter(|(to, topic)| *to == idx && topic.ends_with("/shadow/update/delta"))
            .count()
    }
}

fn desired(value: Value) -> thingsim_fleet::shadow::state::State {
    value.as_object().cloned().unwrap()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn two_devices_and_the_cloud_sync_through_the_composed_stack() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    let thermo = net.add_device("thermo-1", ProtocolVersion::V3_1_1, false, false);
    net.run_for(1_000);
    for idx in [light, thermo] {
        assert_eq!(net.statuses(idx), [Status::Connecting, Status::Connected]);
    }
    let (light_thing, thermo_thing) = (net.thing(light), net.thing(thermo));
    assert!(
        net.cloud.has_thing(&light_thing),
        "the first report registers the thing"
    );

    net.operate(|c, now| {
        c.set_desired(
            now,
            &light_thing,
            desired(json!({"on": true, "brightness": 40})),
        )
        .unwrap();
    });
    net.run_for(1_000);
    assert_eq!(net.reported(light, "brightness"), Some(40.0));
    assert_eq!(
        net.cloud.shadow(&light_thing).reported["brightness"].as_f64(),
        Some(40.0)
    );
    assert!(
        net.cloud.shadow(&light_thing).delta().is_empty(),
        "the report empties the delta"
    );
    assert_ne!(net.reported(thermo, "brightness"), Some(40.0));
    assert_eq!(
        net.deltas_delivered_to(thermo),
        0,
        "one thing's delta reaches no other"
    );

    let mut id = String::new();
    net.operate(|c, now| {
        id = c.send_command(now, &thermo_thing, "reboot", serde_json::Map::new(), 30);
    });
    net.run_for(1_000);
    let execution = net.cloud.execution(&id).unwrap();
    assert!(
        format!("{:?}", execution.status).contains("Succeeded"),
        "the thermostat answered: {execution:?}"
    );
}

#[test]
fn a_broker_deaf_to_pings_is_noticed_and_the_stack_reconnects_with_backoff() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    net.broker.deaf_to_pings = true;
    // Keep-alive 10 s: the ping goes at 10 s, and no answer by 1.5 × keep-alive ends it.
    net.run_for(30_000);
    let statuses = net.statuses(light);
    let Some(Status::Reconnecting { in_ms, last_error }) = statuses.get(2) else {
        panic!("no reconnect after a deaf broker: {statuses:?}");
    };
    assert!(
        (500..=1_000).contains(in_ms),
        "first delay within [base/2, base]: {in_ms}"
    );
    assert!(last_error.is_some(), "the status says why");
    net.broker.deaf_to_pings = false;
    net.run_for(60_000);
    assert_eq!(
        net.statuses(light).last(),
        Some(&Status::Connected),
        "{:?}",
        net.statuses(light)
    );
    // Connected again, it hears the cloud again.
    let thing = net.thing(light);
    net.operate(|c, now| {
        c.set_desired(now, &thing, desired(json!({"brightness": 7})))
            .unwrap();
    });
    net.run_for(1_000);
    assert_eq!(net.reported(light, "brightness"), Some(7.0));
}

#[test]
fn with_an_api_the_device_applies_what_was_set_while_it_was_away_without_a_delta() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, true, true);
    net.run_for(1_000);
    let thing = net.thing(light);
    net.endpoints[light].stack.handle_stop(net.now);
    net.drain(light);
    net.run_for(1_000);
    assert!(net.endpoints[light].stopped);
    assert_eq!(net.statuses(light).last(), Some(&Status::Offline));

    // Set while the device is away, on a clean session: the broker keeps nothing for it.
    net.operate(|c, now| {
        c.set_desired(now, &thing, desired(json!({"brightness": 55})))
            .unwrap();
    });
    net.run_for(1_000);
    let version = net.cloud.shadow(&thing).version;

    let again = net.add_device("light-1", ProtocolVersion::V5, true, true);
    net.run_for(1_000);
    assert_eq!(
        net.deltas_delivered_to(again),
        0,
        "no delta was published to it"
    );
    assert_eq!(net.reported(again, "brightness"), Some(55.0));
    assert!(net.cloud.shadow(&thing).delta().is_empty());
    assert!(
        net.device_events(again)
            .iter()
            .any(|e| matches!(e, DeviceEvent::DeltaApplied { version: v, .. } if *v == version)),
        "applied at the document's version {version}"
    );
    // The GET went out after the subscriptions were granted, and it is in the log.
    let events = &net.endpoints[again].events;
    let subscribed = events
        .iter()
        .rposition(|e| matches!(e, StackEvent::Mqtt(Event::Subscriptions(s)) if s.iter().all(|s| matches!(s.state, thingsim_mqtt::SubscriptionState::Granted(_)))))
        .expect("subscriptions granted");
    let get = events
        .iter()
        .position(|e| matches!(e, StackEvent::Http(x) if x.outgoing && x.line.starts_with("GET /api/v1/thing-datas/light-1/shadow")))
        .expect("the startup GET");
    assert!(subscribed < get, "subscribe, then GET");
}

#[test]
fn without_an_api_the_same_change_waits_and_the_page_is_told_why() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, true);
    net.run_for(1_000);
    let thing = net.thing(light);
    net.endpoints[light].stack.handle_stop(net.now);
    net.drain(light);
    net.run_for(1_000);
    net.operate(|c, now| {
        c.set_desired(now, &thing, desired(json!({"brightness": 55})))
            .unwrap();
    });
    let again = net.add_device("light-1", ProtocolVersion::V5, false, true);
    net.run_for(1_000);
    assert_ne!(net.reported(again, "brightness"), Some(55.0));
    assert!(
        !net.cloud.shadow(&thing).delta().is_empty(),
        "the delta still waits"
    );
    assert!(net.endpoints[again].events.iter().any(|e| matches!(
        e,
        StackEvent::Note { text, .. } if text.contains("clean session")
    )));
    assert!(
        !net.endpoints[again]
            .events
            .iter()
            .any(|e| matches!(e, StackEvent::Http(_))),
        "no API, no request"
    );
}

#[test]
fn an_unreachable_api_is_reported_and_the_device_keeps_running_over_mqtt() {
    let mut net = Net::new();
    net.api_down = true;
    let light = net.add_device("light-1", ProtocolVersion::V5, true, false);
    net.run_for(1_000);
    assert!(net.endpoints[light].events.iter().any(|e| matches!(
        e,
        StackEvent::Refused { source, reason } if source.contains("startup") && reason.contains("refused")
    )));
    let thing = net.thing(light);
    net.operate(|c, now| {
        c.set_desired(now, &thing, desired(json!({"brightness": 9})))
            .unwrap();
    });
    net.run_for(1_000);
    assert_eq!(net.reported(light, "brightness"), Some(9.0));
}

#[test]
fn dropping_the_connection_by_hand_reconnects_and_resume_skips_the_wait() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    net.endpoints[light].stack.handle_drop(net.now);
    net.drain(light);
    let statuses = net.statuses(light);
    assert!(matches!(
        statuses.last(),
        Some(Status::Reconnecting { last_error: Some(e), .. }) if e.contains("by hand")
    ));
    // The page became visible: reconnect now, not after the backoff.
    net.endpoints[light].stack.handle_resume(net.now);
    net.drain(light);
    net.run_for(100);
    assert_eq!(net.statuses(light).last(), Some(&Status::Connected));
}

#[test]
fn the_stack_wakes_for_the_devices_own_timers_on_the_monotonic_clock() {
    let mut net = Net::new();
    let thing = ThingName::new("thermo-9").unwrap();
    let model = DeviceModel::new(&THERMOSTAT, 3);
    let options = DeviceOptions {
        job_step_ms: 1_000,
        telemetry_ms: Some(5_000),
    };
    let device = Device::new(net.wall(), thing, model, options);
    let link = MqttLink {
        options: device_options("client-thermo-9", false),
        api: false,
    };
    let idx = net.add(DeviceStack::mqtt(
        net.now,
        net.wall(),
        Some(device),
        link,
        1,
    ));
    net.run_for(1_000);
    let reports = |net: &Net| {
        net.device_events(idx)
            .iter()
            .filter(|e| matches!(e, DeviceEvent::Reported(_)))
            .count()
    };
    let before = reports(&net);
    net.run_for(20_000);
    let after = reports(&net);
    assert!(
        (4..=5).contains(&(after - before)),
        "telemetry every 5 s over 20 s: {before} → {after}"
    );
    // The wall clock jumps an hour ahead (a sleep): the deadlines follow the new offset.
    let wall = Millis(net.wall().0 + 3_600_000);
    net.endpoints[idx].stack.handle_wall_clock(net.now, wall);
    assert_eq!(net.endpoints[idx].stack.epoch(net.now), wall);
}

#[test]
fn stopping_sends_disconnect_and_ends_offline() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    let before = net.broker.conns.len();
    net.endpoints[light].stack.handle_stop(net.now);
    net.drain(light);
    assert!(net.endpoints[light].stopped);
    assert_eq!(net.statuses(light).last(), Some(&Status::Offline));
    net.run_for(100);
    assert_eq!(
        net.broker.conns.len(),
        before - 1,
        "the broker saw the connection end"
    );
    assert_eq!(
        net.endpoints[light].deadline, None,
        "a stopped stack arms no timer"
    );
}

#[test]
fn answers_nobody_asked_for_change_nothing() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    let before = net.endpoints[light].events.len();
    net.endpoints[light]
        .stack
        .handle_response(net.now, 99, Ok((200, b"{\"version\":1}".to_vec())));
    net.drain(light);
    assert_eq!(net.endpoints[light].events.len(), before);
}

#[test]
fn a_device_is_not_sent_back_its_own_reports_on_mqtt5() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    let thermo = net.add_device("thermo-1", ProtocolVersion::V3_1_1, false, false);
    net.run_for(1_000);
    for (idx, key) in [(light, "brightness"), (thermo, "targetTemperature")] {
        let command = thingsim_fleet::device::UserCommand::SetProperty {
            key: key.into(),
            value: json!(21),
        };
        net.endpoints[idx].stack.handle_user(net.now, command);
    }
    net.run_for(1_000);
    let echoes = |idx: usize| {
        net.broker
            .delivered
            .iter()
            .filter(|(to, topic)| *to == idx && topic.ends_with("/shadow/update"))
            .count()
    };
    assert_eq!(
        echoes(light),
        0,
        "No Local: the MQTT 5 device hears no report of its own"
    );
    assert!(
        echoes(thermo) >= 1,
        "3.1.1 has no No Local, so the broker echoes: {}",
        echoes(thermo)
    );
    let thing = net.thing(light);
    assert!(
        net.cloud.has_thing(&thing),
        "its reports still reach the cloud"
    );
}

#[test]
fn a_change_made_on_the_device_goes_on_the_wire_in_the_same_turn() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    let command = thingsim_fleet::device::UserCommand::SetProperty {
        key: "brightness".into(),
        value: json!(12),
    };
    net.endpoints[light].stack.handle_user(net.now, command);
    net.drain(light);
    assert!(
        net.in_flight
            .iter()
            .any(|(_, hop)| matches!(hop, Hop::ToBroker(i, ..) if *i == light)),
        "the report's bytes leave before any other input"
    );
    net.run_for(100);
    let thing = net.thing(light);
    assert_eq!(
        net.cloud.shadow(&thing).reported["brightness"].as_f64(),
        Some(12.0)
    );
}

#[test]
fn a_connection_the_broker_drops_is_reconnected_with_the_reason_and_a_stale_close_changes_nothing()
{
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    net.kill(light);
    net.run_for(LATENCY);
    assert!(
        matches!(
            net.statuses(light).last(),
            Some(Status::Reconnecting { last_error: Some(e), .. }) if e == "the broker closed the connection"
        ),
        "{:?}",
        net.statuses(light)
    );
    net.run_for(2_000);
    assert_eq!(net.statuses(light).last(), Some(&Status::Connected));

    // A failed send names the cause; the close that follows does not replace it.
    net.endpoints[light]
        .stack
        .handle_transport_error(net.now, "send failed: buffer full".into());
    net.drain(light);
    net.kill(light);
    net.run_for(LATENCY);
    assert!(
        matches!(
            net.statuses(light).last(),
            Some(Status::Reconnecting { last_error: Some(e), .. }) if e == "send failed: buffer full"
        ),
        "{:?}",
        net.statuses(light)
    );

    // Dropped by hand, then the old socket's close arrives late: nothing more happens.
    net.run_for(2_000);
    net.endpoints[light].stack.handle_drop(net.now);
    net.drain(light);
    let before = net.endpoints[light].events.len();
    net.endpoints[light]
        .stack
        .handle_transport_closed(net.now, Some("late".into()));
    net.drain(light);
    assert_eq!(
        net.endpoints[light].events.len(),
        before,
        "a stale close is no news"
    );
}

#[test]
fn a_refused_key_is_said_and_resume_gets_the_shadow_again_without_reconnecting() {
    let mut net = Net::new();
    net.api_status = Some(401);
    let light = net.add_device("light-1", ProtocolVersion::V5, true, false);
    net.run_for(1_000);
    assert!(net.endpoints[light].events.iter().any(|e| matches!(
        e,
        StackEvent::Refused { reason, .. } if reason.starts_with("401") && reason.contains("refused")
    )));
    net.api_status = Some(500);
    let statuses = net.statuses(light).len();
    let reports = net.device_events(light).len();
    net.endpoints[light].stack.handle_resume(net.now);
    net.drain(light);
    net.run_for(100);
    assert_eq!(
        net.statuses(light).len(),
        statuses,
        "connected: no new connection"
    );
    let gets = net.requests(light);
    assert_eq!(gets.len(), 2, "the startup GET and one on resume: {gets:?}");
    assert!(
        net.device_events(light).len() > reports,
        "resume re-syncs the device"
    );
    assert!(net.endpoints[light].events.iter().any(|e| matches!(
        e,
        StackEvent::Refused { reason, .. } if reason == "500 {}"
    )));
    // Each request has its own id, and both were answered.
    let ids = &net.endpoints[light].request_ids;
    assert!(ids.len() == 2 && ids[0] != ids[1], "{ids:?}");
    let answered = net.endpoints[light]
        .events
        .iter()
        .filter(|e| matches!(e, StackEvent::Http(x) if !x.outgoing))
        .count();
    assert_eq!(answered, 2);
}

#[test]
fn without_an_api_resume_asks_nothing_and_the_page_is_told_once() {
    let mut net = Net::new();
    let light = net.add_device("light-1", ProtocolVersion::V5, false, false);
    net.run_for(1_000);
    net.endpoints[light].stack.handle_resume(net.now);
    net.drain(light);
    net.kill(light);
    net.run_for(3_000);
    assert_eq!(net.statuses(light).last(), Some(&Status::Connected));
    assert!(net.requests(light).is_empty());
    assert_eq!(net.notes(light), 1, "said once, not on every reconnect");
    let with_api = net.add_device("light-2", ProtocolVersion::V5, true, false);
    net.run_for(1_000);
    assert_eq!(net.notes(with_api), 0);
    assert_eq!(net.notes(net.cloud_at), 0, "a bare client syncs no shadow");
    assert!(
        net.endpoints[light]
            .stack
            .session()
            .is_some_and(|s| s.state() == thingsim_mqtt::State::Connected)
    );
}

/// An HTTPS stack with scripted answers: the runner's part is only to carry them.
#[test]
fn an_https_stack_polls_applies_the_document_reports_and_goes_online() {
    let thing = ThingName::new("plug-1").unwrap();
    let model = DeviceModel::new(&thingsim_fleet::model::SMART_PLUG, 1);
    let options = DeviceOptions {
        job_step_ms: 1_000,
        telemetry_ms: None,
    };
    let device = Device::new(EPOCH, thing, model, options);
    let mut stack = DeviceStack::https(Millis(0), EPOCH, device, 1_000, 3);
    assert!(stack.session().is_none());
    let drain = |stack: &mut DeviceStack| {
        let mut out = Vec::new();
        loop {
            match stack.poll_output() {
                StackOutput::Idle { deadline } => return (out, deadline),
                other => out.push(other),
            }
        }
    };
    let (out, _) = drain(&mut stack);
    let first = out
        .iter()
        .find_map(|o| match o {
            StackOutput::Request(r) => Some(r.clone()),
            _ => None,
        })
        .expect("the first poll");
    assert_eq!(first.path, "/api/v1/thing-datas/plug-1/shadow");
    assert!(out.contains(&StackOutput::Event(StackEvent::Status(Status::Connecting))));
    let document =
        json!({"desired": {"on": false}, "reported": {}, "delta": {"on": false}, "version": 4});
    stack.handle_response(
        Millis(30),
        first.id,
        Ok((200, document.to_string().into_bytes())),
    );
    let (out, deadline) = drain(&mut stack);
    assert!(out.contains(&StackOutput::Event(StackEvent::Status(Status::Connected))));
    assert!(
        out.iter()
            .any(|o| matches!(o, StackOutput::Event(StackEvent::Document(d)) if d.version == 4))
    );
    assert!(out.iter().any(|o| matches!(
        o,
        StackOutput::Event(StackEvent::Http(x)) if x.line == "200 GET /api/v1/thing-datas/plug-1/shadow in 30 ms"
    )));
    assert_eq!(
        stack.device().unwrap().model().state()["on"],
        json!(false),
        "the delta applied"
    );
    let report = out.iter().find_map(|o| match o {
        StackOutput::Request(r) if r.path.ends_with("/shadow/reported") => Some(r.clone()),
        _ => None,
    });
    assert!(report.is_some(), "the report went out: {out:?}");
    // The next poll is due within the interval, on the monotonic clock.
    assert!(
        deadline.is_some_and(|d| d > Millis(30) && d <= Millis(1_030)),
        "{deadline:?}"
    );
    stack.handle_stop(Millis(40));
    let (out, deadline) = drain(&mut stack);
    assert_eq!(
        out,
        vec![
            StackOutput::Event(StackEvent::Status(Status::Offline)),
            StackOutput::Stopped
        ]
    );
    assert_eq!(deadline, None);
}
