//! The page: one connection form, its status and a message log. State lives here as signals;
//! components only render it and call back.

use leptos::prelude::*;
use thingsim_fleet::config::{ConnectForm, FieldErrors};
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions, UserCommand};
use thingsim_fleet::jobs::agent::JobEvent;
use thingsim_fleet::model::{DeviceModel, Template};
use thingsim_fleet::shadow::state::{self, State};
use thingsim_mqtt::Event;

use crate::components::{
    ConnectionForm, DevicePanel, Direction, JobPanel, JobView, LogLine, MessageLog, StatusLine,
};
use crate::shell::client::{self, ClientEvent, ClientHandle, Status};
use crate::shell::clock;

/// Most recent log lines kept; older ones are dropped (the full log panel is issue #5).
const LOG_CAP: usize = 200;

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    // -- signals --
    let form = RwSignal::new(ConnectForm::default());
    let errors = RwSignal::new(FieldErrors::default());
    let status = RwSignal::new(None::<Status>);
    let log = RwSignal::new(Vec::<LogLine>::new());
    let client = StoredValue::new_local(None::<ClientHandle>);
    let template = RwSignal::new(None::<&'static Template>);
    let device_state = RwSignal::new(State::new());
    let job = RwSignal::new(None::<JobView>);
    let next_seq = StoredValue::new(0u64);

    // -- derived --
    let active = Memo::new(move |_| !matches!(status.get(), None | Some(Status::Offline)));

    // -- callbacks --
    let push_log = move |direction, topic: String, payload: &[u8]| {
        let seq = next_seq.get_value();
        next_seq.set_value(seq + 1);
        let line = LogLine {
            seq,
            direction,
            topic,
            payload: String::from_utf8_lossy(payload).into_owned(),
        };
        log.update(|lines| {
            lines.push(line);
            if lines.len() > LOG_CAP {
                lines.remove(0);
            }
        });
    };
    let on_connect = Callback::new(move |()| {
        let config = match form.get_untracked().validate() {
            Ok(config) => config,
            Err(field_errors) => return errors.set(field_errors),
        };
        errors.set(FieldErrors::default());
        log.set(Vec::new());
        // Randomness is drawn here, in the shell; the core only takes a seed.
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let model = DeviceModel::new(config.template, seed);
        template.set(Some(config.template));
        device_state.set(model.state().clone());
        job.set(None);
        let options = DeviceOptions {
            job_step_ms: 1_000,
            telemetry_ms: Some(5_000),
        };
        let device = Device::new(clock::epoch(), config.thing, model, options);
        let handle = client::spawn(
            config.broker,
            config.options,
            seed,
            Some(device),
            move |event| match event {
                ClientEvent::Status(s) => status.set(Some(s)),
                ClientEvent::Sent(m) => push_log(Direction::Out, m.topic, &m.payload),
                ClientEvent::Mqtt(Event::Received(m)) => {
                    push_log(Direction::In, m.topic, &m.payload)
                }
                ClientEvent::Mqtt(Event::Error(e)) => {
                    push_log(Direction::Note, "error".into(), e.to_string().as_bytes())
                }
                ClientEvent::Mqtt(_) => {}
                ClientEvent::Device(e) => on_device_event(e, device_state, job, push_log),
            },
        );
        client.set_value(Some(handle));
    });
    let on_set = Callback::new(move |(key, value): (String, serde_json::Value)| {
        if let Some(handle) = client.get_value() {
            handle.device(UserCommand::SetProperty { key, value });
        }
    });
    let on_disconnect = Callback::new(move |()| {
        if let Some(handle) = client.get_value() {
            handle.stop();
        }
        client.set_value(None);
    });

    view! {
        <main class="app">
            <header class="app-header">
                <h1>"thingsim"</h1>
                <p class="tagline">"A virtual EMQX Fleets device in your browser"</p>
            </header>
            <section class="panel" aria-labelledby="connection-title">
                <h2 id="connection-title">"Connection"</h2>
                <ConnectionForm
                    form=form
                    errors=Signal::derive(move || errors.get())
                    active=Signal::derive(move || active.get())
                    on_connect=on_connect
                    on_disconnect=on_disconnect
                />
                <StatusLine status=Signal::derive(move || status.get()) />
            </section>
            {move || template.get().map(|t| view! {
                <section class="panel" aria-labelledby="device-title">
                    <h2 id="device-title">"Device"</h2>
                    <DevicePanel template=t state=Signal::derive(move || device_state.get()) on_set=on_set />
                </section>
                <section class="panel" aria-labelledby="jobs-title">
                    <h2 id="jobs-title">"Jobs"</h2>
                    <JobPanel job=Signal::derive(move || job.get()) />
                </section>
            })}
            <section class="panel" aria-labelledby="log-title">
                <h2 id="log-title">"Messages"</h2>
                <MessageLog lines=Signal::derive(move || log.get()) />
            </section>
        </main>
    }
}

/// Folds a device event into the view state. Reports carry the device's actual state, so the
/// controls always show what the device did, not what was asked.
fn on_device_event(
    event: DeviceEvent,
    device_state: RwSignal<State>,
    job: RwSignal<Option<JobView>>,
    push_log: impl Fn(Direction, String, &[u8]),
) {
    match event {
        DeviceEvent::Reported(changed) => device_state.update(|s| {
            state::merge(s, &changed);
        }),
        DeviceEvent::JobProgress {
            job_id,
            percent,
            step,
        } => {
            job.set(Some(JobView {
                job_id,
                percent,
                status: format!("IN_PROGRESS · {step}"),
            }));
        }
        DeviceEvent::Job(JobEvent::Started(e)) => {
            job.set(Some(JobView {
                job_id: e.job_id,
                percent: 0,
                status: "IN_PROGRESS".into(),
            }));
        }
        DeviceEvent::Job(JobEvent::Updated { job_id, state }) if state.status.is_terminal() => {
            job.update(|j| {
                let percent = j
                    .as_ref()
                    .filter(|j| j.job_id == job_id)
                    .map_or(0, |j| j.percent);
                *j = Some(JobView {
                    job_id,
                    percent,
                    status: format!("{:?}", state.status).to_uppercase(),
                });
            });
        }
        DeviceEvent::Refused { source, reason } => {
            push_log(Direction::Note, source, reason.as_bytes())
        }
        DeviceEvent::DeltaApplied { refused, .. } => {
            for (key, why) in refused {
                push_log(Direction::Note, format!("delta {key}"), why.as_bytes());
            }
        }
        _ => {}
    }
}
