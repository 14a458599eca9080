//! The zero-server sandbox: the device runs against the cloud role and a message-level broker
//! inside the page ([`World`]), on real time. The device is the same `Device` the WebSocket
//! client runs; only what carries its messages differs.
//!
//! ```text
//!  Timeout ──────┐
//!  ClientHandle ─┴─▶ channel ─▶ run(): world.advance_to(now); handle input
//!                                 └▶ wire / device / cloud events ─▶ UI; arm one timer
//! ```

use super::channel::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_timers::callback::Timeout;
use thingsim_fleet::ThingName;
use thingsim_fleet::device::DeviceOptions;
use thingsim_fleet::model::DeviceModel;
use thingsim_fleet::world::World;
use thingsim_mqtt::Event;

use thingsim_fleet::stack::StackEvent;

use super::client::{ClientEvent, ClientHandle, Input, Status};
use super::clock;

/// How long a dropped sandbox connection stays down before it comes back.
const RECONNECT_MS: u64 = 2_000;

/// Starts a sandbox running `model` as `thing`.
pub fn spawn(
    thing: ThingName,
    model: DeviceModel,
    options: DeviceOptions,
    on_event: impl Fn(ClientEvent) + 'static,
) -> ClientHandle {
    let (tx, rx) = unbounded();
    let handle = ClientHandle { tx: tx.clone() };
    wasm_bindgen_futures::spawn_local(run(thing, model, options, tx, rx, on_event));
    handle
}

async fn run(
    thing: ThingName,
    model: DeviceModel,
    options: DeviceOptions,
    tx: UnboundedSender<Input>,
    mut rx: UnboundedReceiver<Input>,
    on_event: impl Fn(ClientEvent) + 'static,
) {
    let mut world = World::new(clock::epoch());
    world.trace = true;
    on_event(status(Status::Connecting));
    let device = world.add_model(thing.clone(), model, options);
    on_event(status(Status::Connected));
    let mut _timer: Option<Timeout> = None;
    // Dropping a gloo Timeout cancels it.
    let mut _reopen: Option<Timeout> = None;
    let mut online = true;
    let mut last_document = None;

    // The first pass flushes what connecting produced; then one pass per input.
    let mut input = Some(Input::Timer);
    while let Some(next) = input.take() {
        world.advance_to(clock::epoch());
        match next {
            Input::Device(command) => world.command(device, command),
            Input::Operate(operation) => {
                let outcome = world.with_cloud(|cloud, now| cloud.operate(now, operation));
                on_event(ClientEvent::Operated(outcome));
            }
            Input::DropConnection if online => {
                online = false;
                world.disconnect(device);
                on_event(status(Status::Reconnecting {
                    in_ms: RECONNECT_MS,
                    last_error: Some("the connection was dropped by hand".to_owned()),
                }));
                let tx = tx.clone();
                _reopen = Some(Timeout::new(RECONNECT_MS as u32, move || {
                    let _ = tx.unbounded_send(Input::Reopen);
                }));
            }
            Input::Reopen | Input::Resume if !online => {
                _reopen = None;
                online = true;
                world.connect(device);
                on_event(status(Status::Connected));
            }
            Input::Resume => world.command(device, thingsim_fleet::device::UserCommand::Resync),
            Input::Stop => {
                on_event(status(Status::Offline));
                return;
            }
            // No session in the sandbox: raw MQTT commands and socket events do not apply.
            Input::Command(_)
            | Input::Transport(..)
            | Input::DropConnection
            | Input::Reopen
            | Input::HttpAnswer(..)
            | Input::Flush
            | Input::Timer => {}
        }

        for wire in world.take_wire() {
            on_event(ClientEvent::Stack(if wire.outgoing {
                StackEvent::Sent(wire.message)
            } else {
                StackEvent::Mqtt(Event::Received(wire.message))
            }));
        }
        for event in world.take_events(device) {
            on_event(ClientEvent::Stack(StackEvent::Device(event)));
        }
        for event in world.take_cloud_events() {
            on_event(ClientEvent::Cloud(event));
        }
        let document = world.cloud.shadow(&thing).document();
        if last_document.as_ref() != Some(&document) {
            last_document = Some(document.clone());
            on_event(ClientEvent::Stack(StackEvent::Document(document)));
        }

        _timer = world.next_deadline().map(|at| {
            let tx = tx.clone();
            let wait = at.saturating_since(clock::epoch().max(world.now));
            Timeout::new(u32::try_from(wait).unwrap_or(u32::MAX), move || {
                let _ = tx.unbounded_send(Input::Timer);
            })
        });
        input = rx.next().await;
    }
}

fn status(status: Status) -> ClientEvent {
    ClientEvent::Stack(StackEvent::Status(status))
}
