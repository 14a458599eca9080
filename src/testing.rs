//! A virtual device for other projects' browser tests: start one inside your
//! wasm-bindgen-test, against your broker, drive your own system, and wait until the device's
//! state shows that it worked. The device is thingsim's own (the same model, Fleets protocol
//! and MQTT session as the page), without any page around it.
//!
//! ```ignore
//! use thingsim::testing::{Setup, VirtualDevice};
//!
//! let lamp = VirtualDevice::start(
//!     Setup::new("ws://127.0.0.1:8083/mqtt", "lamp-1", "smart-light").credentials("lamp-1", password),
//! )?;
//! lamp.connected(10_000).await?;
//! // … your backend sets desired state {"on": true} for lamp-1 …
//! let state = lamp.wait_for("the lamp on", 10_000, |s| s["on"] == true).await?;
//! lamp.stop();
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;
use thingsim_fleet::ThingName;
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions, UserCommand};
use thingsim_fleet::model::{DeviceModel, TEMPLATES, Template};
use thingsim_fleet::shadow::state::State;
use thingsim_fleet::stack::{DeviceStack, MqttLink, StackEvent, Status};
use thingsim_fleet::topics::device_client_id;
use thingsim_mqtt::{BrokerUrl, Event, Options, SubscriptionState};

use crate::shell::client::{self, ClientEvent, ClientHandle};
use crate::shell::{clock, timers};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The broker URL is not a `ws://` or `wss://` URL.
    #[error("broker URL: {0}")]
    Broker(String),
    /// The thing name is empty or holds `/`, `+` or `#`.
    #[error("thing name: {0}")]
    Thing(String),
    /// No template by that id.
    #[error("no template {}; there are {}", thingsim_mqtt::quoted(.0), .1)]
    Template(String, String),
    /// The state did not come in time.
    #[error("waited {ms} ms for {what}; the device is {status}, its state {state}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        ms: u32,
        /// Where the connection stood.
        status: String,
        /// The device's state then, as JSON.
        state: String,
    },
}

/// How to start a device.
#[derive(Debug, Clone)]
pub struct Setup {
    broker: String,
    thing: String,
    template: String,
    client_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    seed: u64,
}

impl Setup {
    /// A device `thing` of `template` (`thermostat`, `smart-light`, `door-lock`,
    /// `energy-meter`, `environment-sensor`, `smart-plug`) on the broker at `broker`
    /// (`ws://…/mqtt`). Its client id is `dev-{thing}` unless [`Setup::client_id`] says otherwise.
    pub fn new(broker: &str, thing: &str, template: &str) -> Self {
        Self {
            broker: broker.to_owned(),
            thing: thing.to_owned(),
            template: template.to_owned(),
            client_id: None,
            username: None,
            password: None,
            seed: 1,
        }
    }

    /// Connect with this user (a broker that authenticates, such as thingsim's demo broker).
    #[must_use]
    pub fn credentials(mut self, username: &str, password: &str) -> Self {
        self.username = Some(username.to_owned());
        self.password = Some(password.to_owned());
        self
    }

    /// Connect with this client id.
    #[must_use]
    pub fn client_id(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }

    /// The seed of the model's readings (the same seed, the same readings).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

#[derive(Default)]
struct Seen {
    state: State,
    status: Option<Status>,
    /// Every subscription granted (none pending, none refused).
    subscribed: bool,
}

/// A running virtual device; [`VirtualDevice::stop`] disconnects it.
pub struct VirtualDevice {
    handle: ClientHandle,
    seen: Rc<RefCell<Seen>>,
}

impl VirtualDevice {
    /// Starts the device: it connects, subscribes, reports its state and answers the cloud,
    /// as in the page.
    pub fn start(setup: Setup) -> Result<Self, Error> {
        let url = BrokerUrl::parse(&setup.broker).map_err(|e| Error::Broker(e.to_string()))?;
        let thing = ThingName::new(&setup.thing).map_err(|e| Error::Thing(e.to_string()))?;
        let template = Template::by_id(&setup.template).ok_or_else(|| {
            let ids: Vec<&str> = TEMPLATES.iter().map(|t| t.id).collect();
            Error::Template(setup.template.clone(), ids.join(", "))
        })?;
        let model = DeviceModel::new(template, setup.seed);
        let seen = Rc::new(RefCell::new(Seen {
            state: model.state().clone(),
            status: None,
            subscribed: false,
        }));
        let options = DeviceOptions {
            job_step_ms: 1_000,
            telemetry_ms: None,
        };
        let (now, epoch) = (clock::now(), clock::epoch());
        let device = Device::new(epoch, thing.clone(), model, options);
        let link = MqttLink {
            options: Options {
                username: setup.username,
                password: setup.password,
                ..Options::new(
                    setup
                        .client_id
                        .unwrap_or_else(|| device_client_id(thing.as_str())),
                )
            },
            api: false,
        };
        let stack = DeviceStack::mqtt(now, epoch, Some(device), link, setup.seed);
        let sink = Rc::clone(&seen);
        let handle = client::spawn(stack, Some(url), None, move |event| {
            let mut seen = sink.borrow_mut();
            match event {
                ClientEvent::Stack(StackEvent::Status(s)) => seen.status = Some(s),
                ClientEvent::Stack(StackEvent::Mqtt(Event::Subscriptions(subs))) => {
                    seen.subscribed = !subs.is_empty()
                        && subs
                            .iter()
                            .all(|s| matches!(s.state, SubscriptionState::Granted(_)));
                }
                ClientEvent::Stack(StackEvent::Device(DeviceEvent::Reported(changed))) => {
                    seen.state.extend(changed);
                }
                _ => {}
            }
        });
        Ok(Self { handle, seen })
    }

    /// What the device reports now.
    pub fn state(&self) -> State {
        self.seen.borrow().state.clone()
    }

    /// Whether it is connected with every subscription granted: from then on it hears what
    /// the cloud sends it.
    pub fn is_connected(&self) -> bool {
        let seen = self.seen.borrow();
        matches!(seen.status, Some(Status::Connected)) && seen.subscribed
    }

    /// Sets a property as a person would at the device (it reports the change).
    pub fn set(&self, key: &str, value: Value) {
        self.handle.device(UserCommand::SetProperty {
            key: key.to_owned(),
            value,
        });
    }

    /// Waits at most `ms` until it is connected.
    pub async fn connected(&self, ms: u32) -> Result<(), Error> {
        self.until("a connection", ms, |d| d.is_connected()).await
    }

    /// Waits at most `ms` until `holds(state)`; returns that state.
    pub async fn wait_for(
        &self,
        what: &str,
        ms: u32,
        holds: impl Fn(&State) -> bool,
    ) -> Result<State, Error> {
        self.until(what, ms, |d| holds(&d.seen.borrow().state))
            .await?;
        Ok(self.state())
    }

    async fn until(&self, what: &str, ms: u32, done: impl Fn(&Self) -> bool) -> Result<(), Error> {
        let start = clock::now();
        loop {
            if done(self) {
                return Ok(());
            }
            if clock::now().saturating_since(start) >= u64::from(ms) {
                let seen = self.seen.borrow();
                return Err(Error::Timeout {
                    what: what.to_owned(),
                    ms,
                    status: seen
                        .status
                        .as_ref()
                        .map_or_else(|| "not started".to_owned(), |s| format!("{s:?}")),
                    state: thingsim_fleet::json::text(&Value::Object(seen.state.clone())),
                });
            }
            timers::sleep(20).await;
        }
    }

    /// Disconnects it.
    pub fn stop(self) {
        self.handle.stop();
    }
}
