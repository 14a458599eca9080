//! A fleet on a real broker: every device its own `DeviceStack` with its own WebSocket and
//! client id, run by `client::spawn`, connected at a set pace; the group and the roll-out go
//! through thingsim-cloud's management API. The page gets the same `FleetEvent`s as from the
//! sandbox's fleet.

use std::collections::VecDeque;

use super::channel::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_timers::callback::Interval;
use serde_json::{Value, json};

use thingsim_console::fleet::{Convergence, Link, MemberView, check_broker_count, link_counts};
use thingsim_fleet::api::{self, Method, Route};
use thingsim_fleet::device::{Device, DeviceEvent};
use thingsim_fleet::fleet::{
    Behaviour, FleetSpec, GroupFigures, JobFigures, Metrics, cards_csv, cards_json,
};
use thingsim_fleet::model::DeviceModel;
use thingsim_fleet::stack::{DeviceStack, MqttLink, StackEvent, Status};
use thingsim_fleet::topics::device_client_id;
use thingsim_mqtt::{BrokerUrl, Options};

use super::client::{self, Api, ClientEvent, ClientHandle, Listener};
use super::fleet::{FleetEvent, FleetHandle, Input};
use super::{clock, http};

/// Where the fleet connects.
#[derive(Debug, Clone)]
pub struct BrokerTarget {
    /// The broker's WebSocket URL.
    pub broker: BrokerUrl,
    /// thingsim-cloud's API (ThingDatas for the startup GET, management for the group and jobs).
    pub api: Api,
    /// New connections a second.
    pub rate: u32,
}

struct Member {
    view: MemberView,
    /// Its model until it connects (its first state is already in the view).
    model: Option<DeviceModel>,
    handle: Option<ClientHandle>,
    dropped_for_job: bool,
}

/// Starts the fleet `spec` on `target`; `Err` says why it cannot.
pub fn spawn(
    spec: FleetSpec,
    target: BrokerTarget,
    on_event: impl Fn(FleetEvent) + 'static,
) -> Result<FleetHandle, String> {
    check_broker_count(spec.count as usize)?;
    spec.name(spec.start)?;
    let (tx, rx) = unbounded();
    let handle = FleetHandle { tx: tx.clone() };
    wasm_bindgen_futures::spawn_local(run(spec, target, tx, rx, on_event));
    Ok(handle)
}

/// One management call in the background; its answer comes back as `done(result)`.
fn call(
    api: &Api,
    method: Method,
    route: Route,
    body: Option<Value>,
    done: impl FnOnce(Result<(u16, Value), String>) + 'static,
) {
    let api = api.clone();
    wasm_bindgen_futures::spawn_local(async move {
        done(http::call_json(&api.base, &api.auth, method, &route.path(), body.as_ref()).await);
    });
}

#[allow(
    clippy::too_many_lines,
    reason = "one input loop: every arm is a line or two of moving things along"
)]
async fn run(
    spec: FleetSpec,
    target: BrokerTarget,
    tx: UnboundedSender<Input>,
    mut rx: UnboundedReceiver<Input>,
    on_event: impl Fn(FleetEvent) + 'static,
) {
    let mut members: Vec<Member> = Vec::new();
    let mut waiting: VecDeque<usize> = VecDeque::new();
    let mut next_number = spec.start;
    let mut job: Option<String> = None;
    let mut figures: Option<JobFigures> = None;
    let group = spec.group.clone();

    // The group first (409: it is there already).
    call(
        &target.api,
        Method::Post,
        Route::Groups,
        Some(json!({ "groupName": group })),
        |_| {},
    );
    let enlist =
        |members: &mut Vec<Member>, waiting: &mut VecDeque<usize>, next: &mut u64, n: usize| {
            let total = members.len() + n;
            check_broker_count(total)?;
            let behaviours = spec.mix.assign(total, spec.seed);
            for behaviour in behaviours.into_iter().skip(members.len()) {
                let thing = spec.name(*next)?;
                let model = spec.model(*next);
                *next += 1;
                waiting.push_back(members.len());
                members.push(Member {
                    view: MemberView::new(thing.to_string(), behaviour, model.state().clone()),
                    model: Some(model),
                    handle: None,
                    dropped_for_job: false,
                });
            }
            Ok::<(), String>(())
        };
    if let Err(e) = enlist(
        &mut members,
        &mut waiting,
        &mut next_number,
        spec.count as usize,
    ) {
        on_event(FleetEvent::Outcome(Err(e)));
    }
    let pace = 1_000 / target.rate.max(1);
    let _connect = {
        let tx = tx.clone();
        Interval::new(pace, move || {
            let _ = tx.unbounded_send(Input::Timer);
        })
    };
    let _flaps = (spec.mix.flap > 0).then(|| {
        let tx = tx.clone();
        let every = u32::try_from(spec.mix.flap_every_s * 1000).unwrap_or(u32::MAX);
        Interval::new(every, move || {
            let _ = tx.unbounded_send(Input::Flap);
        })
    });
    let mut _poll: Option<Interval> = None;
    let mut last_update = 0u64;
    let mut last_connect = 0u64;
    // The device shown in the full console: its place and where its news goes.
    let mut console: Option<(usize, Listener)> = None;
    let mut convergence = Convergence::default();
    // Which devices have a delta: only the cloud knows (a device cannot know what it has not
    // heard), so its thing list is read every 2 s.
    let _deltas = {
        let (tx, api) = (tx.clone(), target.api.clone());
        Interval::new(2_000, move || {
            let tx = tx.clone();
            call(&api, Method::Get, Route::Things, None, move |r| {
                let Ok((200, v)) = r else { return };
                let pending = v["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| t["deltaPending"] == Value::Bool(true))
                    .filter_map(|t| t["thingName"].as_str().map(str::to_owned))
                    .collect();
                let _ = tx.unbounded_send(Input::Deltas(pending));
            });
        })
    };

    while let Some(input) = rx.next().await {
        let now = clock::epoch();
        match input {
            Input::Timer => {
                // Registered first, as Fleets has it (the operator registers things, then they
                // connect): its startup GET then finds the thing.
                if now.0.saturating_sub(last_connect) >= u64::from(pace)
                    && let Some(i) = waiting.pop_front()
                {
                    last_connect = now.0;
                    let thing = members[i].view.thing.clone();
                    let body = json!({ "thingName": thing });
                    let tx = tx.clone();
                    let api = target.api.clone();
                    call(
                        &target.api,
                        Method::Post,
                        Route::GroupThings(group.clone()),
                        Some(body),
                        move |r| {
                            if let Ok((200, _)) = r {
                                // Then its own broker user (the demo's broker takes no
                                // anonymous clients), for the client id it connects with.
                                wasm_bindgen_futures::spawn_local(async move {
                                    let answer = http::broker_credentials(
                                        &api.base,
                                        &api.auth,
                                        &thing,
                                        &device_client_id(&thing),
                                    )
                                    .await;
                                    let _ = tx.unbounded_send(match answer {
                                        api::CredentialsAnswer::Issued(c) => {
                                            Input::Connect(i, Some(c))
                                        }
                                        api::CredentialsAnswer::NotManaged => {
                                            Input::Connect(i, None)
                                        }
                                        api::CredentialsAnswer::Failed(why) => Input::Failed(
                                            format!("broker credentials for {thing}: {why}"),
                                        ),
                                    });
                                });
                            } else {
                                let why = match r {
                                    Ok((status, v)) => format!(
                                        "{status} {}",
                                        v["error"].as_str().unwrap_or_default()
                                    ),
                                    Err(e) => e,
                                };
                                let _ = tx.unbounded_send(Input::Failed(format!(
                                    "registering a device: {why}"
                                )));
                            }
                        },
                    );
                }
            }
            Input::Connect(i, credentials) => {
                let Some(m) = members.get_mut(i) else {
                    continue;
                };
                let Ok(thing) = thingsim_fleet::ThingName::new(&m.view.thing) else {
                    continue;
                };
                let options = spec.options();
                let Some(model) = m.model.take() else {
                    continue;
                };
                let device = Device::new(now, thing.clone(), model, options);
                let (username, password) = credentials.map(|c| (c.username, c.password)).unzip();
                let link = MqttLink {
                    options: Options {
                        username,
                        password,
                        ..Options::new(device_client_id(thing.as_str()))
                    },
                    api: true,
                };
                let stack =
                    DeviceStack::mqtt(clock::now(), now, Some(device), link, spec.seed ^ i as u64);
                let tx = tx.clone();
                let handle = client::spawn(
                    stack,
                    Some(target.broker.clone()),
                    Some(target.api.clone()),
                    move |e| {
                        if let ClientEvent::Stack(e) = e {
                            let _ = tx.unbounded_send(Input::Member(i, e));
                        }
                    },
                );
                if let Some(command) = m.view.behaviour.setup() {
                    handle.device(command);
                }
                m.handle = Some(handle);
            }
            Input::Member(i, event) => {
                let Some(m) = members.get_mut(i) else {
                    continue;
                };
                if let Some((_, events)) = console.as_ref().filter(|(c, _)| *c == i) {
                    events(ClientEvent::Stack(event.clone()));
                }
                if let StackEvent::Device(e) = &event {
                    convergence.handle(&m.view.thing, e, now.0);
                }
                m.view.handle(&event);
                match &event {
                    StackEvent::Device(DeviceEvent::JobProgress { .. })
                        if m.view.behaviour == Behaviour::OfflineMidJob && !m.dropped_for_job =>
                    {
                        m.dropped_for_job = true;
                        if let Some(h) = &m.handle {
                            h.drop_connection();
                        }
                    }
                    StackEvent::Device(device_event) => {
                        if let (Some(h), Some(command)) =
                            (&m.handle, m.view.behaviour.answer(device_event))
                        {
                            h.device(command);
                        }
                    }
                    _ => {}
                }
            }
            // One group on a broker: every device there is a WebSocket of the browser's 255.
            Input::AddGroup(_) => on_event(FleetEvent::Outcome(Err(
                "on a broker the fleet is one group: add devices to it (more groups are a \
                 sandbox feature, since every device here holds one of the browser's \
                 WebSockets)"
                    .into(),
            ))),
            Input::Add { n, .. } => {
                let result = enlist(&mut members, &mut waiting, &mut next_number, n).map(|()| {
                    format!(
                        "{n} devices added; {} in all, connecting {} a second",
                        members.len(),
                        target.rate
                    )
                });
                on_event(FleetEvent::Outcome(result));
            }
            Input::Remove(n) => {
                let keep = members.len().saturating_sub(n);
                for m in members.drain(keep..) {
                    convergence.forget(&m.view.thing);
                    if let Some(h) = m.handle {
                        h.stop();
                    }
                    let route = Route::GroupThing(group.clone(), m.view.thing.clone());
                    call(&target.api, Method::Delete, route, None, |_| {});
                }
                waiting.retain(|i| *i < keep);
                if let Some((_, events)) = console.as_ref().filter(|(i, _)| *i >= keep) {
                    events(ClientEvent::Stack(StackEvent::Note {
                        source: "fleet".into(),
                        text: "this device was removed from the fleet".into(),
                    }));
                    events(ClientEvent::Stack(StackEvent::Status(Status::Offline)));
                    console = None;
                }
                next_number = spec.start + keep as u64;
                on_event(FleetEvent::Outcome(Ok(format!(
                    "removed; {} left",
                    members.len()
                ))));
            }
            Input::RollOut {
                group: _,
                document,
                job_type,
                step_timeout_minutes,
                rollout,
            } => {
                let body = api::CreateJob {
                    description: format!("roll-out to {group}"),
                    targets: api::Targets {
                        thing_names: Vec::new(),
                        thing_group_names: vec![group.clone()],
                    },
                    document,
                    job_type,
                    step_timeout_in_minutes: step_timeout_minutes,
                    rollout,
                };
                let tx = tx.clone();
                call(
                    &target.api,
                    Method::Post,
                    Route::Jobs,
                    serde_json::to_value(body).ok(),
                    move |r| {
                        let created = match r {
                            Ok((201, v)) => v["jobId"]
                                .as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| "no jobId in the answer".to_owned()),
                            Ok((status, v)) => Err(format!(
                                "{status}: {}",
                                v["error"].as_str().unwrap_or_default()
                            )),
                            Err(e) => Err(e),
                        };
                        let _ = tx.unbounded_send(Input::JobCreated(created));
                    },
                );
            }
            Input::JobCreated(Ok(id)) => {
                on_event(FleetEvent::Outcome(Ok(format!(
                    "job {id} rolling out to group {group}"
                ))));
                job = Some(id.clone());
                figures = None;
                let (tx, api) = (tx.clone(), target.api.clone());
                _poll = Some(Interval::new(1_000, move || {
                    let (tx, id) = (tx.clone(), id.clone());
                    call(
                        &api,
                        Method::Get,
                        Route::JobExecutions(id.clone()),
                        None,
                        move |r| {
                            let Ok((200, v)) = r else { return };
                            let mut figures = JobFigures {
                                job_id: id,
                                ..JobFigures::default()
                            };
                            for e in v["data"].as_array().into_iter().flatten() {
                                let status = e["status"]
                                    .as_str()
                                    .and_then(thingsim_fleet::jobs::JobStatus::from_name)
                                    .map_or_else(|| "?".to_owned(), |s| format!("{s:?}"));
                                *figures.by_status.entry(status).or_insert(0) += 1;
                            }
                            let _ = tx.unbounded_send(Input::JobFigures(figures));
                        },
                    );
                }));
            }
            Input::JobCreated(Err(e)) | Input::Failed(e) => on_event(FleetEvent::Outcome(Err(e))),
            Input::JobFigures(f) => figures = Some(f),
            Input::Deltas(pending) => {
                for m in &mut members {
                    m.view.delta_pending = pending.contains(&m.view.thing);
                }
            }
            Input::SetDesired(_, state) => {
                for m in &members {
                    convergence.start(&m.view.thing, now.0);
                    let body = json!({ "state": { "desired": state } });
                    call(
                        &target.api,
                        Method::Put,
                        Route::Desired(m.view.thing.clone()),
                        Some(body),
                        |_| {},
                    );
                }
                on_event(FleetEvent::Outcome(Ok(format!(
                    "desired state sent for {} devices",
                    members.len()
                ))));
            }
            Input::Export { csv } => {
                let cards: Vec<_> = members.iter().map(|m| m.view.card(spec.template)).collect();
                if csv {
                    on_event(FleetEvent::Export(
                        "thingsim-fleet.csv",
                        "text/csv",
                        cards_csv(&cards, &[spec.group.as_str()]),
                    ));
                } else {
                    let doc = json!({ "job": job, "jobCounts": figures.as_ref().map(|f| f.by_status.clone()), "devicesDetail": cards_json(&cards, &[spec.group.as_str()]) });
                    on_event(FleetEvent::Export(
                        "thingsim-fleet.json",
                        "application/json",
                        thingsim_fleet::json::text(&doc),
                    ));
                }
            }
            Input::Flap => {
                for m in members
                    .iter()
                    .filter(|m| matches!(m.view.behaviour, Behaviour::Flap(_)))
                {
                    if let Some(h) = &m.handle {
                        h.drop_connection();
                    }
                }
            }
            Input::Attach { thing, events } => {
                match members.iter().position(|m| m.view.thing == thing) {
                    Some(i) => {
                        let m = &members[i];
                        let status = match m.view.link {
                            Link::Connected => Status::Connected,
                            Link::Connecting | Link::Waiting => Status::Connecting,
                            Link::Failed => Status::Reconnecting {
                                in_ms: 0,
                                last_error: Some("its connection is down".into()),
                            },
                            Link::Offline => Status::Offline,
                        };
                        events(ClientEvent::Stack(StackEvent::Status(status)));
                        events(ClientEvent::Stack(StackEvent::Device(
                            DeviceEvent::Reported(m.view.state.clone()),
                        )));
                        console = Some((i, events));
                    }
                    None => {
                        events(ClientEvent::Stack(StackEvent::Refused {
                            source: "fleet".into(),
                            reason: format!("{thing} is not in the fleet"),
                        }));
                        events(ClientEvent::Stack(StackEvent::Status(Status::Offline)));
                    }
                }
            }
            Input::Detach => console = None,
            // The console's commands go to the device's own stack; its closing is a detach.
            Input::Client(client::Input::Stop) => {}
            Input::Client(input) => {
                if let Some(h) = console
                    .as_ref()
                    .and_then(|(i, _)| members.get(*i))
                    .and_then(|m| m.handle.as_ref())
                {
                    let _ = h.tx.unbounded_send(input);
                }
            }
            Input::Stop => {
                for m in &members {
                    if let Some(h) = &m.handle {
                        h.stop();
                    }
                }
                return;
            }
        }
        if now.0.saturating_sub(last_update) >= 250 {
            last_update = now.0;
            let [_, connecting, connected, failed] = link_counts(members.iter().map(|m| &m.view));
            let delta_pending = members.iter().filter(|m| m.view.delta_pending).count();
            let (convergence_ms, converged) = convergence.figures();
            let metrics = Metrics {
                at: now,
                devices: members.len(),
                connected,
                connecting,
                failed,
                messages_in: members.iter().map(|m| m.view.sent).sum(),
                messages_out: members.iter().map(|m| m.view.received).sum(),
                job: figures.clone().filter(|_| job.is_some()),
                delta_pending,
                convergence_ms,
                converged,
                groups: vec![GroupFigures {
                    name: spec.group.clone(),
                    about: spec.about(),
                    template: spec.template.id,
                    devices: members.len(),
                    connected,
                    delta_pending,
                    convergence_ms,
                    job: figures
                        .as_ref()
                        .filter(|_| job.is_some())
                        .map(|f| f.by_status.clone())
                        .unwrap_or_default(),
                }],
            };
            on_event(FleetEvent::Update {
                metrics,
                cards: members.iter().map(|m| m.view.card(spec.template)).collect(),
            });
        }
    }
}
