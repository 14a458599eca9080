//! The page. State lives here as signals; the pure [`Console`] folds what the device reports
//! into what the panels show; components only render and call back.

use std::rc::Rc;

use serde_json::Value;
use thingsim_console::config::{ConnectForm, FieldErrors, Mode, UrlConfig};
use thingsim_console::embed::{self, HostRequest, Hosts, Panel};
use thingsim_console::panels::{Console, Feed};
use thingsim_fleet::ThingName;
use thingsim_fleet::api::CredentialsAnswer;
use thingsim_fleet::cloud::{CloudEvent, Operation};
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions, UserCommand};
use thingsim_fleet::json::object;
use thingsim_fleet::model::{DeviceModel, Template};
use thingsim_fleet::stack::{DeviceStack, MqttLink, StackEvent};
use thingsim_mqtt::{Event, Qos};
use thingsim_reactive::*;

use crate::components::{self, Direction, LogStore, class, region, text};
use crate::shell::client::{self, ClientEvent, ClientHandle, Listener, Status};
use crate::shell::dom::Node;
use crate::shell::{clock, http, page, sandbox, timers};

/// What is running: the device, where its cloud is.
#[derive(Clone)]
struct Running {
    template: &'static Template,
    thing: ThingName,
    mode: Mode,
    cloud_api: Option<String>,
    /// The `Authorization` value for cloud_api, when credentials were given.
    cloud_auth: Option<String>,
    https: bool,
}

fn qos(q: Qos) -> u8 {
    match q {
        Qos::AtMostOnce => 0,
        Qos::AtLeastOnce => 1,
        Qos::ExactlyOnce => 2,
    }
}

/// Settings: the URL wins over what was saved, which wins over the defaults (the sandbox).
fn initial_form() -> (ConnectForm, UrlConfig) {
    let mut form = page::load_settings()
        .and_then(|s| ConnectForm::from_saved(&s))
        .unwrap_or_default();
    let url = form.apply_query(&page::query());
    (form, url)
}

/// Status in words for the live region.
fn spoken(status: &Status) -> String {
    match status {
        Status::Connecting => "Connecting".into(),
        Status::Connected => "Connected".into(),
        Status::Offline => "Offline".into(),
        Status::Reconnecting { in_ms, .. } => {
            format!(
                "Connection lost; reconnecting in {} seconds",
                in_ms.div_ceil(1000)
            )
        }
    }
}

/// A device that runs elsewhere (one of a fleet's), shown in the full console.
#[derive(Clone)]
pub struct Attached {
    /// Its template.
    pub template: &'static Template,
    /// Its thing.
    pub thing: ThingName,
    /// Sandbox (its cloud is the fleet's world) or local (thingsim-cloud's API).
    pub mode: Mode,
    /// The cloud's management API, in local mode.
    pub cloud_api: Option<String>,
    /// The `Authorization` value for it.
    pub cloud_auth: Option<String>,
    /// Starts the device's news towards the console; the handle takes the console's commands.
    pub attach: Rc<dyn Fn(Listener) -> ClientHandle>,
    /// The console is closing; the device runs on where it is.
    pub detach: Rc<dyn Fn()>,
    /// Back to where it came from.
    pub close: Rc<dyn Fn()>,
}

/// The console, with its own device, in `at` (the page's body, or a test's container), until
/// the returned [`Mounted`] is dropped.
pub fn mount(at: &Node) -> Mounted {
    mount_with(at, |at| device_console(at, None))
}

/// What `build` builds in `at` (a panel, for a test), until the returned [`Mounted`] is
/// dropped.
pub fn mount_with(at: &Node, build: impl FnOnce(&Node)) -> Mounted {
    // A change runs the effects it reaches once, in a microtask: after the event (a frame, a
    // click) that made it, with the rest of that event's changes.
    set_scheduler(|| timers::spawn(async { flush() }));
    let owner = Owner::new();
    // In a slot: dropped, it takes away what it built, not the rest of `at`.
    let at = at.slot();
    owner.with(|| build(&at));
    Mounted { owner, at }
}

/// A mounted console (or panel): dropped, it is taken away, and its device stops.
pub struct Mounted {
    owner: Owner,
    at: Node,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.owner.dispose();
        self.at.remove_slot();
    }
}

/// The single-device console, built into `at`: of its own device (made from the connection
/// form; `attached` is `None`), or of one that runs elsewhere.
pub fn device_console(at: &Node, attached: Option<Attached>) {
    let (initial, url_config) = initial_form();
    // -- signals --
    let form = RwSignal::new(initial);
    let errors = RwSignal::new(FieldErrors::default());
    let status = RwSignal::new(None::<Status>);
    let log = LogStore::new();
    let client = StoredValue::new(None::<ClientHandle>);
    let running = RwSignal::new(None::<Running>);
    let console = RwSignal::new(Console::default());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let polling = RwSignal::new(None::<(u64, thingsim_mqtt::Millis)>);
    let notice = RwSignal::new(None::<String>);
    let now = RwSignal::new(clock::epoch());
    let announcement = RwSignal::new(String::new());
    let pending_announcement = StoredValue::new(None::<String>);
    // A fleet's device: the URL is the fleet's, not the console's.
    let warnings = if attached.is_some() {
        Vec::new()
    } else {
        url_config.warnings.clone()
    };
    let embed = url_config.embed;
    let panels = StoredValue::new(url_config.panels.clone());
    let shows = move |p: Panel| panels.with_value(|ps| ps.shows(p));
    page::set_root_attribute("data-theme", url_config.theme.attribute());
    // The host page's API (`hosts=`): who may drive the console, who asked for what, and
    // where each operation's result goes (the sandbox answers operations in order).
    let hosts = StoredValue::new(url_config.hosts.clone());
    let subscribers = StoredValue::new(Vec::<(String, bool, bool)>::new());
    let replies = StoredValue::new(std::collections::VecDeque::<Option<Reply>>::new());
    // The message is built only when some host wants it: every message in and out passes here.
    let tell = move |wants: fn(&(String, bool, bool)) -> bool, message: &dyn Fn() -> Value| {
        subscribers.with_value(|subs| {
            let mut wanting = subs.iter().filter(|s| wants(s)).peekable();
            if wanting.peek().is_some() {
                let message = message();
                wanting.for_each(|sub| page::post_to_parent(&sub.0, &message));
            }
        });
    };
    let close = attached.as_ref().map(|a| a.close.clone());
    let title = attached.as_ref().map_or_else(
        || "thingsim".to_owned(),
        |a| format!("thingsim · {}", a.thing),
    );

    // One tick a second: countdowns, and the live region (throttled: screen readers get the
    // latest status at most once a second, not every flap).
    let ticker = timers::every(1_000, move || {
        now.set(clock::epoch());
        if let Some(text) = pending_announcement
            .try_update_value(Option::take)
            .flatten()
        {
            announcement.set(text);
        }
    });
    // Disposed (and so cancelled) with the app.
    let _ticker = StoredValue::new(ticker);
    // Clients and fetches outlive an unmounted app by a moment; after that they must not touch
    // its signals.
    let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    on_cleanup({
        let alive = alive.clone();
        move || alive.store(false, std::sync::atomic::Ordering::Relaxed)
    });

    // -- derived --
    // Closures, not `Memo<bool>`s: each memo type brings its own code (its compute, compare, reads).
    let active = move || !matches!(status.get(), None | Some(Status::Offline));
    let shadow = Memo::new(move |_| console.with(|c| c.shadow.clone()));
    let reported = Memo::new(move |_| console.with(|c| c.device.clone()));
    let commands = Memo::new(move |_| console.with(|c| c.commands.clone()));
    let jobs = Memo::new(move |_| console.with(|c| c.jobs.clone()));
    let series = Memo::new(move |_| console.with(|c| c.series.clone()));
    // Read where it is shown, not a memo of its own type (code of its own): its one text is
    // written only when it changed (`components::text`).
    let events = move || {
        console.with(|c| {
            c.events
                .first()
                .map(|(kind, _)| (c.events.len(), kind.clone()))
        })
    };
    let link = Memo::new(move |_| console.with(|c| c.link.clone()));
    // The device's news is folded into the console at once, and the panels hear of it in a
    // task of their own after the inputs already queued: a burst of a thousand events redraws
    // once, not a thousand times. The device's own news redraws at most ten times a second
    // under a stream of it (a thousand round trips a second): each redraw is most of a frame,
    // and a delta that arrives during one waits for it. The first change after a quiet
    // 100 ms, and the connection's news, redraw at once. (Just before the next frame was
    // tried too: a lower median round trip, but a longer frame task and a worse p99.)
    //
    // Under such a stream the faces snap instead of animating (`data-streaming` on the root,
    // for the CSS): a 0.6 s transition restarted every 100 ms never shows the value the device
    // reported, and it repaints every frame (every panel, 3,000 rounds: the round trip's p90
    // 1.2-1.4 -> 0.8-0.9 ms). A stream is a device redraw one throttle period after the
    // device's previous one. Each redraw decides for the changes it shows: a change on its own
    // (a click, a poll) animates, whatever the mark said before it.
    let redraw_armed = StoredValue::new(false);
    let link_redraw_armed = StoredValue::new(false);
    let last_redraw = StoredValue::new(thingsim_mqtt::Millis(0));
    let last_device_redraw = StoredValue::new(thingsim_mqtt::Millis(0));
    let streaming = StoredValue::new(false);
    let mark_stream = move |stream: bool| {
        if streaming.get_value() != stream {
            streaming.set_value(stream);
            page::set_root_attribute("data-streaming", stream.then_some(""));
        }
    };
    // A console closed mid-stream (the fleet's) must not leave the next one without transitions
    // (cleared here, and when it goes: below, with the client).
    page::set_root_attribute("data-streaming", None);
    let fold = move |link_news: bool, apply: &dyn Fn(&mut Console)| {
        console.update_untracked(|c| apply(c));
        let armed = if link_news {
            link_redraw_armed
        } else {
            redraw_armed
        };
        if armed.get_value() {
            return;
        }
        armed.set_value(true);
        let wait = if link_news {
            0
        } else {
            let since = clock::now().saturating_since(last_redraw.get_value());
            100u64.saturating_sub(since) as u32
        };
        timers::after(wait, move || {
            // The console may be gone by now (an unmounted page).
            if armed.try_set_value(false).is_none() {
                let now = clock::now();
                if !link_news {
                    let previous = last_device_redraw.get_value();
                    last_device_redraw.set_value(now);
                    mark_stream(previous.0 > 0 && now.saturating_since(previous) < 200);
                }
                last_redraw.set_value(now);
                console.notify();
            }
        });
    };

    // -- callbacks --
    let on_event = move |event: ClientEvent| {
        if !alive.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let at = clock::epoch();
        match event {
            ClientEvent::Stack(StackEvent::Status(s)) => {
                pending_announcement.set_value(Some(spoken(&s)));
                status.set(Some(s));
            }
            ClientEvent::Stack(StackEvent::Sent(m)) => {
                tell(|s| s.2, &|| host_message("out", &m.topic, &m.payload));
                log.push(at.0, Direction::Out, m.topic, qos(m.qos), &m.payload);
            }
            ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m))) => {
                tell(|s| s.2, &|| host_message("in", &m.topic, &m.payload));
                log.push(at.0, Direction::In, m.topic, qos(m.qos), &m.payload);
            }
            ClientEvent::Stack(StackEvent::Mqtt(Event::Error(e))) => {
                log.push(
                    at.0,
                    Direction::Note,
                    "error".into(),
                    0,
                    e.to_string().as_bytes(),
                );
            }
            ClientEvent::Stack(StackEvent::Mqtt(
                e @ (Event::Limits(_) | Event::Subscriptions(_)),
            )) => {
                if let Event::Limits(limits) = &e
                    && !limits.is_default()
                {
                    let text = format!("the broker's limits: {limits}");
                    log.push(at.0, Direction::Note, "connack".into(), 0, text.as_bytes());
                }
                fold(true, &|c| c.link.handle_mqtt_event(&e));
            }
            ClientEvent::Stack(StackEvent::Mqtt(_)) => {}
            ClientEvent::Stack(StackEvent::Device(e)) => {
                match &e {
                    DeviceEvent::Refused { source, reason } => {
                        log.push(at.0, Direction::Note, source.clone(), 0, reason.as_bytes());
                    }
                    DeviceEvent::DeltaApplied { refused, .. } => {
                        for (key, why) in refused {
                            log.push(
                                at.0,
                                Direction::Note,
                                format!("delta {key}"),
                                0,
                                why.as_bytes(),
                            );
                        }
                    }
                    _ => {}
                }
                fold(false, &|c| c.handle_device_event(at, &e));
            }
            ClientEvent::Operated(result) => {
                if let Some(Some(reply)) = replies.try_update_value(|r| r.pop_front()).flatten() {
                    page::post_to_parent(&reply.0, &embed::result(reply.1, &result));
                }
                outcome.set(Some(result));
            }
            ClientEvent::Stack(StackEvent::Document(d)) => fold(false, &|c| c.handle_document(&d)),
            ClientEvent::Cloud(CloudEvent::Refused { topic, reason }) => {
                log.push(
                    at.0,
                    Direction::Note,
                    format!("cloud refused {topic}"),
                    0,
                    reason.as_bytes(),
                );
            }
            ClientEvent::Cloud(CloudEvent::ShadowRejected { rejection, .. }) => {
                log.push(
                    at.0,
                    Direction::Note,
                    "cloud rejected a shadow update".into(),
                    0,
                    rejection.to_string().as_bytes(),
                );
            }
            ClientEvent::Cloud(_) => {}
            ClientEvent::Stack(StackEvent::Http(x)) => {
                let direction = if x.outgoing {
                    Direction::Out
                } else {
                    Direction::In
                };
                log.push(at.0, direction, x.line, 0, x.body.as_bytes());
            }
            ClientEvent::Stack(StackEvent::Polled { at, poll_ms }) => {
                polling.set(Some((poll_ms, at)))
            }
            ClientEvent::Stack(StackEvent::Refused { source, reason }) => {
                log.push(at.0, Direction::Note, source.clone(), 0, reason.as_bytes());
                notice.set(Some(format!("{source}: {reason}")));
            }
            ClientEvent::Stack(StackEvent::Note { source, text }) => {
                log.push(at.0, Direction::Note, source, 0, text.as_bytes());
            }
        }
    };
    let attached_events = on_event.clone();
    let on_connect = Callback::new(move |()| {
        let current = form.get_untracked();
        let config = match current.validate() {
            Ok(config) => config,
            Err(field_errors) => return errors.set(field_errors),
        };
        errors.set(FieldErrors::default());
        page::save_settings(&current.to_saved());
        // Randomness is drawn here, in the shell; the core only takes a seed.
        let seed = timers::random_seed();
        let model = DeviceModel::new(config.template, seed);
        console.set(Console::new(clock::epoch(), model.state()));
        outcome.set(None);
        polling.set(None);
        notice.set(None);
        let cloud_auth = config
            .cloud_auth
            .as_deref()
            .and_then(|c| http::basic_auth(c).ok());
        running.set(Some(Running {
            template: config.template,
            thing: config.thing.clone(),
            mode: current.mode,
            cloud_api: config.cloud_api.clone(),
            cloud_auth: cloud_auth.clone(),
            https: config.https.is_some(),
        }));
        let options = DeviceOptions {
            job_step_ms: 1_000,
            telemetry_ms: Some(5_000),
        };
        // The device's API credentials go into an Authorization value here and stay in memory.
        let api = match config.api.as_ref().map(|a| {
            http::basic_auth(&a.credentials()).map(|auth| client::Api {
                base: a.base.clone(),
                auth,
            })
        }) {
            Some(Err(e)) => return notice.set(Some(format!("API: {e}"))),
            Some(Ok(api)) => Some(api),
            None => None,
        };
        let (now, epoch) = (clock::now(), clock::epoch());
        let handle = match (config.broker, config.https) {
            (_, Some(poll_ms)) => {
                let device = Device::new(epoch, config.thing, model, options);
                let stack = DeviceStack::https(now, epoch, device, poll_ms, seed);
                client::spawn(stack, None, api, on_event.clone())
            }
            (None, None) => sandbox::spawn(config.thing, model, options, on_event.clone()),
            (Some(broker), None) => {
                let device = Device::new(epoch, config.thing, model, options);
                let mut link = MqttLink {
                    options: config.options,
                    api: api.is_some(),
                };
                // Local mode on the demo's broker: no anonymous clients there, so the thing's
                // own broker user comes from thingsim-cloud first (unless the form names one).
                let Some((base, auth)) = config
                    .cloud_api
                    .zip(cloud_auth)
                    .filter(|_| current.mode == Mode::Local && link.options.username.is_none())
                else {
                    let stack = DeviceStack::mqtt(now, epoch, Some(device), link, seed);
                    client.set_value(Some(client::spawn(
                        stack,
                        Some(broker),
                        api,
                        on_event.clone(),
                    )));
                    return;
                };
                status.set(Some(Status::Connecting));
                let on_event = on_event.clone();
                timers::spawn(async move {
                    let thing = device.thing().to_string();
                    let answer =
                        http::broker_credentials(&base, &auth, &thing, &link.options.client_id)
                            .await;
                    let note = match answer {
                        CredentialsAnswer::Issued(c) => {
                            let note = format!(
                                "broker user {} with a fresh password from thingsim-cloud (kept in memory only)",
                                c.username
                            );
                            link.options.username = Some(c.username);
                            link.options.password = Some(c.password);
                            note
                        }
                        CredentialsAnswer::NotManaged => "thingsim-cloud does not manage this broker's users: connecting without a user".to_owned(),
                        CredentialsAnswer::Failed(why) => {
                            notice.try_set(Some(format!("broker credentials for {thing}: {why}")));
                            status.try_set(Some(Status::Offline));
                            return;
                        }
                    };
                    log.push(
                        clock::epoch().0,
                        Direction::Note,
                        "credentials".into(),
                        0,
                        note.as_bytes(),
                    );
                    // The console may have closed, or another Connect started, meanwhile.
                    if running
                        .try_with_untracked(|r| r.as_ref().map(|r| r.thing.to_string()))
                        .flatten()
                        .as_deref()
                        != Some(thing.as_str())
                    {
                        return;
                    }
                    let stack =
                        DeviceStack::mqtt(clock::now(), clock::epoch(), Some(device), link, seed);
                    let handle = client::spawn(stack, Some(broker), api, on_event);
                    if client.try_set_value(Some(handle.clone())).is_some() {
                        handle.stop();
                    }
                });
                return;
            }
        };
        client.set_value(Some(handle));
    });
    let detach = StoredValue::new(attached.as_ref().map(|a| a.detach.clone()));
    on_cleanup(move || {
        page::set_root_attribute("data-streaming", None);
        match detach.try_get_value().flatten() {
            // A fleet's device runs on when its console closes.
            Some(detach) => detach(),
            None => {
                if let Some(handle) = client.try_get_value().flatten() {
                    handle.stop();
                }
            }
        }
    });
    let on_disconnect = Callback::new(move |()| {
        if let Some(handle) = client.get_value() {
            handle.stop();
        }
        client.set_value(None);
    });
    let on_user = Callback::new(move |command: UserCommand| {
        if let Some(handle) = client.get_value() {
            handle.device(command);
        }
    });
    let on_set = Callback::new(move |(key, value): (String, Value)| {
        on_user.run(UserCommand::SetProperty { key, value });
    });
    let on_drop = Callback::new(move |()| {
        if let Some(handle) = client.get_value() {
            handle.drop_connection();
        }
    });
    let operate = move |operation: Operation, reply: Option<Reply>| {
        let Some(run) = running.get_untracked() else {
            if let Some((origin, id)) = reply {
                let not_yet = Err("the device is not running yet".to_owned());
                page::post_to_parent(&origin, &embed::result(id, &not_yet));
            }
            return;
        };
        match (run.mode, run.cloud_api) {
            (Mode::Local, Some(api)) => {
                outcome.set(Some(Ok("sending…".into())));
                let auth = run.cloud_auth;
                timers::spawn(async move {
                    let result = http::operate(&api, auth.as_deref(), &operation).await;
                    if let Some((origin, id)) = reply {
                        page::post_to_parent(&origin, &embed::result(id, &result));
                    }
                    outcome.try_set(Some(result));
                });
            }
            _ => {
                if let Some(handle) = client.get_value() {
                    replies.update_value(|r| r.push_back(reply));
                    handle.operate(operation);
                }
            }
        }
    };
    let on_operate = Callback::new(move |operation: Operation| operate(operation, None));
    if !hosts.with_value(Hosts::is_empty) {
        let thing = form.with_untracked(|f| f.thing_name.clone());
        let from_host = move |origin: &str| hosts.with_value(|h| h.allows(origin));
        page::on_message(from_host, move |origin, message| {
            let Some((id, request)) = embed::parse_request(&message) else {
                return;
            };
            let reply = |outcome: Result<String, String>| {
                page::post_to_parent(origin, &embed::result(id.clone(), &outcome));
            };
            let thing = match running.get_untracked() {
                Some(run) => run.thing,
                None => return reply(Err("the device is not running yet".to_owned())),
            };
            let operation = match request {
                Err(why) => return reply(Err(why)),
                Ok(HostRequest::Subscribe { state, messages }) => {
                    subscribers.update_value(|subs| {
                        subs.retain(|s| s.0 != origin);
                        subs.push((origin.to_owned(), state, messages));
                    });
                    reply(Ok(format!(
                        "subscribed: state {state}, messages {messages}"
                    )));
                    if state {
                        page::post_to_parent(origin, &host_state(&shadow.get_untracked()));
                    }
                    return;
                }
                Ok(HostRequest::PublishEvent { kind, payload }) => {
                    on_user.run(UserCommand::PublishEvent { kind, payload });
                    return reply(Ok("handed to the device".to_owned()));
                }
                Ok(HostRequest::SetDesired(desired)) => Operation::SetDesired { thing, desired },
                Ok(HostRequest::SendCommand {
                    action,
                    params,
                    ttl,
                }) => Operation::SendCommand {
                    thing,
                    action,
                    params,
                    ttl,
                },
                Ok(HostRequest::CreateJob {
                    document,
                    step_timeout_minutes,
                }) => Operation::CreateJob {
                    thing,
                    document,
                    step_timeout_minutes,
                },
            };
            operate(operation, Some((origin.to_owned(), id)));
        });
        let ready = object([
            ("type", "thingsim:ready".into()),
            ("thing", thing.into()),
            (
                "template",
                form.with_untracked(|f| f.template.clone()).into(),
            ),
            ("mode", form.with_untracked(|f| f.mode.as_str()).into()),
        ]);
        hosts.with_value(|h| {
            for origin in h.origins() {
                page::post_to_parent(origin, &ready);
            }
        });
        effect(move || {
            shadow.track();
            tell(|s| s.1, &|| host_state(&shadow.get_untracked()));
        });
    }
    let on_export = Callback::new(move |json: String| {
        if let Err(e) = page::download("thingsim-messages.json", "application/json", &json) {
            log.push(
                clock::epoch().0,
                Direction::Note,
                "export".into(),
                0,
                e.as_bytes(),
            );
        }
    });
    // Unticking "Remember" forgets the saved secrets at once, not at the next Connect.
    // It reads the whole form, so it acts only when the box changed, not at each keystroke.
    let remembered = StoredValue::new(true);
    effect(move || {
        let remember = form.with(|f| f.remember);
        if remembered.get_value() == remember {
            return;
        }
        remembered.set_value(remember);
        if !remember
            && let Some(mut saved) = page::load_settings().and_then(|s| ConnectForm::from_saved(&s))
        {
            saved.remember = false;
            page::save_settings(&saved.to_saved());
        }
    });
    page::on_visible(move || {
        if let Some(handle) = client.try_get_value().flatten() {
            handle.resume();
        }
    });
    // The sandbox needs nothing from anyone, so it starts at once: a newcomer (or a docs page
    // embedding it) sees a device working without pressing anything. `?connect=0` opts out.
    let is_attached = attached.is_some();
    if let Some(a) = attached {
        console.set(Console::new(
            clock::epoch(),
            &thingsim_fleet::shadow::state::State::new(),
        ));
        running.set(Some(Running {
            template: a.template,
            thing: a.thing.clone(),
            mode: a.mode,
            cloud_api: a.cloud_api.clone(),
            cloud_auth: a.cloud_auth.clone(),
            https: false,
        }));
        let handle = (a.attach)(Rc::new(attached_events));
        client.set_value(Some(handle));
    } else if url_config
        .autoconnect
        .unwrap_or_else(|| form.get_untracked().mode == Mode::Sandbox)
    {
        on_connect.run(());
    }

    // The first-visit guide: the sandbox only, never in an embed or a fleet's device, until
    // dismissed. Its steps tick themselves off as the device sees them.
    let guide = !embed
        && !is_attached
        && form.with_untracked(|f| f.mode == Mode::Sandbox)
        && !page::guide_dismissed();

    let page = at.html(concat!(
        r#"<main class="app"><header class="app-header"><h1></h1></header>"#,
        r#"<p class="visually-hidden" aria-live="polite" data-testid="announcer"></p></main>"#
    ));
    let main = page.root();
    main.toggle("embed", embed);
    page.find("h1").text(Some(&title));
    let header = page.find("header");
    match close {
        None => {
            header.html(concat!(
                r#"<p class="tagline">A virtual EMQX Fleets device in your browser · "#,
                r#"<a href="?view=fleet" data-testid="fleet-link">a fleet of them</a></p>"#
            ));
        }
        Some(close) => header
            .html(concat!(
                r#"<p class="tagline">One device of the fleet, in full · "#,
                r#"<button type="button" data-testid="console-back">Back to the fleet</button></p>"#
            ))
            .part("console-back")
            .on_click(move || close()),
    }
    text(&page.part("announcer"), move || announcement.get());
    if !warnings.is_empty() {
        let list = main
            .html(r#"<ul class="warnings" data-testid="url-warnings" role="alert"></ul>"#)
            .root();
        for w in &warnings {
            if let Some(item) = list.child("li", "") {
                item.text(Some(w));
            }
        }
    }
    if guide {
        let open = RwSignal::new(true);
        region(&main, move |at| {
            if !open.get() {
                return;
            }
            let made = at.html(GUIDE);
            for i in 0..3 {
                // Three cheap checks a redraw, not a memo of its own type (code of its own).
                let step = made.part(&format!("guide-step-{}", i + 1));
                class(&step, "done", move || {
                    console.with(thingsim_console::panels::guide_steps)[i]
                });
            }
            made.part("guide-dismiss").on_click(move || {
                page::dismiss_guide();
                open.set(false);
            });
        });
    }
    let status_line = move |at: &Node| {
        components::status_line(at, status.read_only(), link);
        let note = at
            .html(r#"<p class="field-error" role="alert" data-testid="notice"></p>"#)
            .root();
        text(&note, move || notice.get().unwrap_or_default());
    };
    if shows(Panel::Connection) {
        let section = panel(&main, "connection", "Connection");
        if !is_attached {
            components::connection_form(
                &section,
                form,
                errors.read_only(),
                active,
                on_connect,
                on_disconnect,
            );
        }
        status_line(&section);
    } else {
        // An embed without the form still says whether the device is connected.
        status_line(&main.html(r#"<div class="status-only"></div>"#).root());
    }
    let controls_open = StoredValue::new(shows(Panel::Device));
    region(&main, move |at| {
        let Some(run) = running.get() else { return };
        // Only `running` rebuilds the panels; each panel follows the rest itself.
        untrack(|| {
            let panels = at.html(r#"<div class="panels"></div>"#).root();
            // The face, and the form's controls one click away (open where they are asked
            // for: the whole console, `panels=device`).
            if shows(Panel::Face) || shows(Panel::Device) {
                let section = panel(&panels, "device", "Device");
                if shows(Panel::Face) {
                    components::device_face(&section, run.template, reported, on_set);
                }
                let controls = section
                    .html(r#"<details class="controls"><summary>Controls</summary></details>"#)
                    .root();
                // Opened or closed by the user, the controls stay so at the next Connect.
                if controls_open.get_value() {
                    controls.attr("open", Some(""));
                }
                let toggled = controls.clone();
                controls.on("toggle", move |_| {
                    controls_open.set_value(toggled.has("open"))
                });
                components::device_panel(&controls, run.template, reported, on_set);
            }
            if run.mode != Mode::Broker && shows(Panel::Cloud) {
                components::cloud_panel(
                    &panel(&panels, "cloud", "Cloud"),
                    run.template,
                    run.thing.clone(),
                    outcome.read_only(),
                    on_operate,
                );
            }
            if shows(Panel::Shadow) {
                let section = panel(&panels, "shadow", "Shadow");
                components::deaf_note(&section, link, Feed::Shadow, "shadow-deaf");
                components::shadow_panel(&section, shadow, polling.read_only());
            }
            if shows(Panel::Commands) {
                let section = panel(&panels, "commands", "Commands");
                components::deaf_note(&section, link, Feed::Commands, "commands-deaf");
                components::commands_panel(
                    &section,
                    commands,
                    now.read_only(),
                    !run.https,
                    on_user,
                );
            }
            if shows(Panel::Jobs) {
                let section = panel(&panels, "jobs", "Jobs");
                components::deaf_note(&section, link, Feed::Jobs, "jobs-deaf");
                components::job_panel(&section, jobs, now.read_only(), on_user, on_drop);
            }
            if shows(Panel::Telemetry) {
                components::telemetry_panel(
                    &panel(&panels, "telemetry", "Events & telemetry"),
                    series,
                    events,
                    on_user,
                    run.template,
                );
            }
        });
    });
    if shows(Panel::Log) {
        components::message_log(&panel(&main, "log", "Messages"), log, on_export);
    }
}

/// The first-visit guide's markup.
const GUIDE: &str = concat!(
    r#"<aside class="guide" aria-label="Getting started" data-testid="guide">"#,
    r#"<p><strong>New here?</strong> The device below runs in this page, with its own cloud. Three things to try:</p><ol>"#,
    r#"<li data-testid="guide-step-1"><strong>Set desired state:</strong> in Cloud, change the JSON and press "Set desired"; the device applies it and reports.</li>"#,
    r#"<li data-testid="guide-step-2"><strong>Send a command:</strong> in Cloud, pick an action and press "Send command"; Commands shows it and the answer.</li>"#,
    r#"<li data-testid="guide-step-3"><strong>Run a job:</strong> in Cloud, press "Create job"; Jobs shows it step by step.</li>"#,
    r#"</ol><button type="button" data-testid="guide-dismiss">Got it, hide this</button></aside>"#
);

/// A panel of the console: a section titled `title`, `panel-{id}`, into which its content goes.
fn panel(at: &Node, id: &str, title: &str) -> Node {
    let made = at.html("<section><h2></h2></section>");
    let section = made.root();
    section.attrs(&[
        ("class", &format!("panel panel-{id}")),
        ("aria-labelledby", &format!("{id}-title")),
    ]);
    let heading = made.find("h2");
    heading.attrs(&[("id", &format!("{id}-title"))]);
    heading.text(Some(title));
    section
}

/// Where a host request's result goes: the host's origin and the request's id.
type Reply = (String, Option<Value>);

/// `thingsim:message` for the host page.
fn host_message(direction: &str, topic: &str, payload: &[u8]) -> Value {
    object([
        ("type", "thingsim:message".into()),
        ("direction", direction.into()),
        ("topic", topic.into()),
        ("payload", String::from_utf8_lossy(payload).into()),
    ])
}

/// `thingsim:state` for the host page.
fn host_state(shadow: &thingsim_console::panels::ShadowView) -> Value {
    object([
        ("type", "thingsim:state".into()),
        ("reported", Value::Object(shadow.reported.clone())),
        ("desired", Value::Object(shadow.desired.clone())),
        ("delta", Value::Object(shadow.delta())),
        ("version", shadow.version.into()),
    ])
}
