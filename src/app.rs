//! The page: one connection form, its status and a message log. State lives here as signals;
//! components only render it and call back.

use leptos::prelude::*;
use thingsim_fleet::Topic;
use thingsim_fleet::config::{ConnectForm, FieldErrors};
use thingsim_mqtt::{Command, Event, Qos};

use crate::components::{ConnectionForm, Direction, LogLine, MessageLog, StatusLine};
use crate::shell::client::{self, ClientEvent, ClientHandle, Status};

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
        let handle = client::spawn(
            config.broker,
            config.options,
            seed,
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
            },
        );
        let filters = Topic::device_subscriptions(&config.thing)
            .into_iter()
            .map(|f| (f, Qos::AtLeastOnce))
            .collect();
        handle.command(Command::Subscribe(filters));
        client.set_value(Some(handle));
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
            <section class="panel" aria-labelledby="log-title">
                <h2 id="log-title">"Messages"</h2>
                <MessageLog lines=Signal::derive(move || log.get()) />
            </section>
        </main>
    }
}
