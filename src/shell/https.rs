//! The HTTPS device: the same `Device`, its traffic carried by fetch to the ThingDatas API
//! through the pure `HttpsLink`. One task owns both; fetch answers come back on the channel.
//!
//! ```text
//!  fetch answers ─┐
//!  Timeout ───────┼─▶ channel ─▶ run(): device ⇄ HttpsLink ─▶ fetch / UI; arm one timer
//!  ClientHandle ──┘
//! ```

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_net::http::{Method, RequestBuilder};
use gloo_timers::callback::Timeout;
use thingsim_fleet::config::HttpsConfig;
use thingsim_fleet::device::{Device, DeviceOutput, UserCommand};
use thingsim_fleet::https::{HttpRequest, HttpsLink, LinkEvent, LinkOutput};

use super::client::{ClientEvent, ClientHandle, HttpExchange, Input, Status};
use super::clock;

/// How long a request may take before it counts as failed.
const REQUEST_TIMEOUT_MS: u32 = 10_000;

/// Starts an HTTPS device.
pub fn spawn(
    config: HttpsConfig,
    device: Device,
    seed: u64,
    on_event: impl Fn(ClientEvent) + 'static,
) -> ClientHandle {
    let (tx, rx) = unbounded();
    let handle = ClientHandle { tx: tx.clone() };
    wasm_bindgen_futures::spawn_local(run(config, device, seed, tx, rx, on_event));
    handle
}

async fn send(base: &str, auth: &str, request: &HttpRequest) -> Result<(u16, Vec<u8>), String> {
    let url = format!("{base}{}", request.path);
    let builder = RequestBuilder::new(&url)
        .method(if request.method == "GET" {
            Method::GET
        } else {
            Method::POST
        })
        .header("Authorization", auth);
    let controller = web_sys::AbortController::new().map_err(|_| "no AbortController")?;
    let builder = builder.abort_signal(Some(&controller.signal()));
    let request = match &request.body {
        Some(body) => builder
            .header("Content-Type", "application/json")
            .body(body.to_string()),
        None => builder.build(),
    }
    .map_err(|e| format!("could not build the request: {e}"))?;
    let _deadline = Timeout::new(REQUEST_TIMEOUT_MS, move || controller.abort());
    let response = request.send().await.map_err(|e| {
        format!(
            "no answer ({e}): the API is unreachable, refused the origin (CORS), or took over {} s",
            REQUEST_TIMEOUT_MS / 1000
        )
    })?;
    let status = response.status();
    let body = response.binary().await.unwrap_or_default();
    Ok((status, body))
}

async fn run(
    config: HttpsConfig,
    mut device: Device,
    seed: u64,
    tx: UnboundedSender<Input>,
    mut rx: UnboundedReceiver<Input>,
    on_event: impl Fn(ClientEvent) + 'static,
) {
    let auth = match super::http::basic_auth(&format!("{}:{}", config.key, config.secret)) {
        Ok(auth) => auth,
        Err(e) => {
            // Validation refuses such keys; should one get here, say why and stop cleanly.
            on_event(ClientEvent::Refused {
                source: "HTTPS".to_owned(),
                reason: e,
            });
            on_event(ClientEvent::Status(Status::Offline));
            return;
        }
    };
    on_event(ClientEvent::Status(Status::Connecting));
    let mut link = HttpsLink::new(clock::epoch(), device.thing().clone(), config.poll_ms, seed);
    let mut _timer: Option<Timeout> = None;
    let mut input = Some(Input::Timer);
    while let Some(next) = input.take() {
        let now = clock::epoch();
        match next {
            Input::Device(command) => device.handle_command(now, command),
            Input::HttpAnswer(request, answer, ms) => {
                on_event(ClientEvent::Http(HttpExchange::response(
                    &request, &answer, ms,
                )));
                link.handle_response(now, request.id, answer);
            }
            Input::Resume => link.poll_now(now),
            Input::Timer => {
                device.handle_timeout(now);
                link.handle_timeout(now);
            }
            Input::Operate(_) => on_event(ClientEvent::Operated(Err(
                "this device talks HTTPS; use the API or local mode's cloud panel".to_owned(),
            ))),
            Input::Stop => {
                on_event(ClientEvent::Status(Status::Offline));
                return;
            }
            Input::Document(document) => device.handle_shadow_document(&document),
            Input::DropConnection | Input::Command(_) | Input::Transport(..) | Input::Reopen => {}
        }
        // Drain both until neither has anything to say.
        let (device_deadline, link_deadline) = loop {
            let mut busy = false;
            let device_deadline = loop {
                match device.poll_output() {
                    DeviceOutput::Mqtt(command) => {
                        busy = true;
                        link.handle_device_command(command);
                    }
                    DeviceOutput::Event(e) => on_event(ClientEvent::Device(e)),
                    DeviceOutput::Idle { deadline } => break deadline,
                }
            };
            let link_deadline = loop {
                match link.poll_output() {
                    LinkOutput::Request(request) => {
                        on_event(ClientEvent::Http(HttpExchange::request(&request)));
                        let (tx, base, auth) = (tx.clone(), config.base.clone(), auth.clone());
                        wasm_bindgen_futures::spawn_local(async move {
                            let started = clock::epoch();
                            let answer = send(&base, &auth, &request).await;
                            let ms = clock::epoch().saturating_since(started);
                            let _ = tx.unbounded_send(Input::HttpAnswer(request, answer, ms));
                        });
                    }
                    LinkOutput::Deliver(event) => {
                        busy = true;
                        device.handle_mqtt_event(now, &event);
                    }
                    LinkOutput::Document(document) => {
                        busy = true;
                        device.handle_shadow_document(&document);
                        on_event(ClientEvent::Document(document));
                    }
                    LinkOutput::CheckJobs => {
                        busy = true;
                        device.handle_command(now, UserCommand::CheckJobs);
                    }
                    LinkOutput::Event(event) => on_event(link_event(event, link.poll_ms())),
                    LinkOutput::Idle { deadline } => break deadline,
                }
            };
            if !busy {
                break (device_deadline, link_deadline);
            }
        };
        let deadline = [device_deadline, link_deadline].into_iter().flatten().min();
        _timer = deadline.map(|at| {
            let tx = tx.clone();
            let wait = at.saturating_since(clock::epoch());
            Timeout::new(u32::try_from(wait).unwrap_or(u32::MAX), move || {
                let _ = tx.unbounded_send(Input::Timer);
            })
        });
        input = rx.next().await;
    }
}

fn link_event(event: LinkEvent, poll_ms: u64) -> ClientEvent {
    match event {
        LinkEvent::Online => ClientEvent::Status(Status::Connected),
        LinkEvent::Offline {
            reason,
            retry_in_ms,
        } => ClientEvent::Status(Status::Reconnecting {
            in_ms: retry_in_ms,
            last_error: Some(reason),
        }),
        LinkEvent::Polled { at } => ClientEvent::Polled { at, poll_ms },
        LinkEvent::Refused { request, reason } => ClientEvent::Refused {
            source: request,
            reason,
        },
    }
}
