//! The fleet view (`?view=fleet&template=…&count=…&pattern=…&start=…&seed=…&mix=…`): many
//! devices in the page's sandbox, a roll-out to their group, the figures, and the grid. State
//! lives here as signals; the fleet itself runs in `shell::fleet`.

use leptos::prelude::*;
use thingsim_console::config::{LOCAL_BROKER, LOCAL_CLOUD_API};
use thingsim_console::fleet::{Filter, GroupForm, Rates, RollOutForm, parse_target};
use thingsim_fleet::fleet::{Card, FleetSpec, Metrics};
use thingsim_fleet::model::{TEMPLATES, THERMOSTAT};

use std::rc::Rc;

use thingsim_console::config::Mode;

use crate::app::{Attached, Mounted, device_console, mount_with};
use crate::components::{FleetGrid, FleetGroups, FleetMetrics};
use crate::shell::broker_fleet;
use crate::shell::fleet::{self, FleetEvent, FleetHandle};
use crate::shell::page;

/// The root of the fleet view.
#[component]
pub fn FleetApp() -> impl IntoView {
    let mut spec = FleetSpec::new(&THERMOSTAT);
    let pairs = thingsim_console::config::query_pairs(&page::query());
    let errors = spec.apply_query(&pairs);
    let param = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    // `mode=local` (or any `broker=`): every device its own connection to a real broker.
    let on_broker = param("mode").is_some_and(|m| m == "local" || m == "broker");
    let broker_url = RwSignal::new(param("broker").unwrap_or_else(|| LOCAL_BROKER.to_owned()));
    let api_url = RwSignal::new(param("api").unwrap_or_else(|| LOCAL_CLOUD_API.to_owned()));
    let api_key = RwSignal::new(param("apiKey").unwrap_or_default());
    let api_secret = RwSignal::new(String::new());
    let rate = RwSignal::new(
        param("rate").unwrap_or_else(|| thingsim_console::fleet::DEFAULT_CONNECT_RATE.to_string()),
    );
    let metrics = RwSignal::new(None::<Metrics>);
    let window = StoredValue::new(Rates::default());
    let rates = RwSignal::new((0.0, 0.0));
    let cards = RwSignal::new(Vec::<Card>::new());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let filter = RwSignal::new(Filter::All);
    let form = RwSignal::new(RollOutForm::default());
    let step = RwSignal::new("10".to_owned());
    let desired = RwSignal::new(String::new());
    // Which group a roll-out or desired state is for ("" every group), and which one grows.
    let target = RwSignal::new(String::new());
    let grow = RwSignal::new("0".to_owned());
    let group_form = RwSignal::new(GroupForm::default());
    // The device open in the full console, by thing name.
    let open = RwSignal::new(None::<String>);
    let group_names = Memo::new(move |_| {
        metrics.with(|m| {
            m.as_ref()
                .map(|m| m.groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let handle = StoredValue::new_local(None::<FleetHandle>);
    let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    on_cleanup({
        let alive = alive.clone();
        move || alive.store(false, std::sync::atomic::Ordering::Relaxed)
    });

    let on_event = move |event: FleetEvent| {
        if !alive.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        match event {
            FleetEvent::Update {
                metrics: m,
                cards: c,
            } => {
                rates.set(
                    window
                        .write_value()
                        .push(m.at.0, m.messages_in, m.messages_out),
                );
                metrics.set(Some(m));
                cards.set(c);
            }
            FleetEvent::Outcome(result) => outcome.set(Some(result)),
            FleetEvent::Export(name, mime, text) => {
                if let Err(e) = page::download(name, mime, &text) {
                    outcome.set(Some(Err(e)));
                }
            }
        }
    };
    let summary = format!(
        "{} × {} named {} from {} · group {} · seed {} · {}",
        spec.count,
        spec.template.name,
        spec.pattern,
        spec.start,
        spec.group,
        spec.seed,
        if on_broker {
            "on a broker"
        } else {
            "in this page"
        }
    );
    let seed = spec.seed;
    let on_start = {
        let spec = spec.clone();
        let on_event = on_event.clone();
        move |_| {
            if handle.get_value().is_some() {
                return;
            }
            let target = (|| {
                let broker = thingsim_mqtt::BrokerUrl::parse(broker_url.get_untracked().trim())
                    .map_err(|e| e.to_string())?;
                let auth = crate::shell::http::basic_auth(&format!(
                    "{}:{}",
                    api_key.get_untracked().trim(),
                    api_secret.get_untracked()
                ))?;
                let rate = rate
                    .get_untracked()
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|r| (1..=100).contains(r))
                    .ok_or("connections a second: a whole number from 1 to 100")?;
                Ok::<_, String>(broker_fleet::BrokerTarget {
                    broker,
                    api: crate::shell::client::Api {
                        base: api_url
                            .get_untracked()
                            .trim()
                            .trim_end_matches('/')
                            .to_owned(),
                        auth,
                    },
                    rate,
                })
            })();
            match target.and_then(|t| broker_fleet::spawn(spec.clone(), t, on_event.clone())) {
                Ok(h) => {
                    handle.set_value(Some(h));
                    outcome.set(Some(Ok("connecting…".into())));
                }
                Err(e) => outcome.set(Some(Err(e))),
            }
        }
    };
    if !on_broker {
        match fleet::spawn(spec, on_event) {
            Ok(h) => handle.set_value(Some(h)),
            Err(e) => outcome.set(Some(Err(e))),
        }
    }
    on_cleanup(move || {
        if let Some(h) = handle.try_get_value().flatten() {
            h.stop();
        }
    });
    let with_handle = move |f: &dyn Fn(&FleetHandle)| {
        if let Some(h) = handle.get_value() {
            f(&h);
        }
    };
    let count = move || step.get().trim().parse::<usize>().unwrap_or(0);
    let on_roll_out = move |_| match form.get_untracked().validate() {
        Ok((document, job_type, step_timeout, rollout)) => {
            let group = parse_target(&target.get_untracked());
            with_handle(&|h| h.roll_out(group, document.clone(), job_type, step_timeout, rollout));
        }
        Err(e) => outcome.set(Some(Err(e))),
    };
    let on_desired = move |_| match thingsim_fleet::json::value(desired.get_untracked().as_bytes())
    {
        Ok(serde_json::Value::Object(state)) => {
            let group = parse_target(&target.get_untracked());
            with_handle(&|h| h.set_desired(group, state.clone()));
        }
        _ => outcome.set(Some(Err(
            "desired state: a JSON object, like {\"brightness\": 40}".into(),
        ))),
    };
    let on_add_group = move |_| {
        // Each group its own seed, from the fleet's and the group's place.
        let place = group_names.with_untracked(Vec::len) as u64;
        match group_form
            .get_untracked()
            .to_spec(seed ^ place.rotate_left(32))
        {
            Ok(spec) => with_handle(&|h| h.add_group(spec.clone())),
            Err(e) => outcome.set(Some(Err(e))),
        }
    };
    let group_field = move |id, label, get, set| form_field(group_form, id, label, get, set);
    let group_options = move |every: bool| {
        view! {
            {every.then(|| view! { <option value="">"every group"</option> })}
            {move || group_names.get().into_iter().enumerate().map(|(i, name)| view! {
                <option value=i.to_string()>{name}</option>
            }).collect_view()}
        }
    };
    let text_field = move |id, label, get, set| form_field(form, id, label, get, set);
    let signal_field =
        |id: &'static str, label: &'static str, kind: &'static str, value: RwSignal<String>| {
            view! {
                <label class="field" for=id>{label}
                    <input id=id type=kind data-testid=id prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev)) />
                </label>
            }
        };
    let templates = TEMPLATES
        .iter()
        .map(|t| t.id)
        .collect::<Vec<_>>()
        .join(", ");

    let console = move || {
        let thing = open.get()?;
        let name = thingsim_fleet::ThingName::new(&thing).ok()?;
        let h = handle.get_value()?;
        // The card's group names its template.
        let template = cards
            .with_untracked(|c| c.iter().find(|c| c.thing == thing).map(|c| c.group))
            .and_then(|g| {
                metrics.with_untracked(|m| {
                    m.as_ref().and_then(|m| m.groups.get(g).map(|g| g.template))
                })
            })
            .and_then(thingsim_fleet::model::Template::by_id)?;
        let (mode, cloud_api, cloud_auth) = if on_broker {
            let auth = crate::shell::http::basic_auth(&format!(
                "{}:{}",
                api_key.get_untracked().trim(),
                api_secret.get_untracked()
            ))
            .ok();
            (
                Mode::Local,
                Some(
                    api_url
                        .get_untracked()
                        .trim()
                        .trim_end_matches('/')
                        .to_owned(),
                ),
                auth,
            )
        } else {
            (Mode::Sandbox, None, None)
        };
        let attached = Attached {
            template,
            thing: name,
            mode,
            cloud_api,
            cloud_auth,
            attach: Rc::new({
                let (h, thing) = (h.clone(), thing);
                move |events| h.attach(thing.clone(), events)
            }),
            detach: Rc::new(move || h.detach()),
            close: Rc::new(move || open.set(None)),
        };
        Some(attached)
    };
    // The console is built by hand (`shell::dom`) with its own signals (`thingsim-reactive`),
    // in a host of its own (`display: contents`) that this effect fills: a new device, a new
    // console; the old one is dropped first, and goes with its owner.
    let host = NodeRef::<leptos::html::Div>::new();
    let mounted = StoredValue::new_local(None::<Mounted>);
    Effect::new(move |_| {
        let Some(el) = host.get() else { return };
        mounted.set_value(None);
        if let Some(attached) = console() {
            let at = crate::shell::dom::Node::of(&el);
            let console = untrack(|| mount_with(&at, |at| device_console(at, Some(attached))));
            mounted.set_value(Some(console));
        }
    });

    view! {
        <div class="console-host" node_ref=host></div>
        <main class="app fleet-app" style:display=move || if open.get().is_some() { "none" } else { "" }>
            <header class="app-header">
                <h1>"thingsim · fleet"</h1>
                <p class="tagline">{summary}" · "<a href="?">"one device"</a></p>
            </header>
            {(!errors.is_empty()).then(|| view! {
                <ul class="warnings" role="alert" data-testid="fleet-errors">
                    {errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}
                    <li>{format!("templates: {templates}")}</li>
                </ul>
            })}
            {on_broker.then(|| view! {
                <section class="panel" aria-labelledby="fleet-broker-title">
                    <h2 id="fleet-broker-title">"Broker"</h2>
                    <div class="fleet-form">
                        {signal_field("fleet-broker", "Broker URL", "text", broker_url)}
                        {signal_field("fleet-api", "thingsim-cloud API", "text", api_url)}
                        {signal_field("fleet-api-key", "API key", "text", api_key)}
                        {signal_field("fleet-api-secret", "API secret", "password", api_secret)}
                        {signal_field("fleet-rate", "Connections a second", "text", rate)}
                        <button type="button" class="primary" data-testid="fleet-start" on:click=on_start.clone()>"Connect the fleet"</button>
                    </div>
                </section>
            })}
            <section class="panel" aria-labelledby="fleet-figures-title">
                <h2 id="fleet-figures-title">"Fleet"</h2>
                <FleetMetrics metrics=metrics.read_only() rates=rates.read_only() />
                <div class="fleet-controls">
                    <label class="inline">"Devices "
                        <input type="number" min="1" data-testid="fleet-step" class="narrow"
                            prop:value=move || step.get() on:input=move |ev| step.set(event_target_value(&ev)) />
                    </label>
                    <label class="inline">"to "
                        <select data-testid="fleet-add-group" on:change=move |ev| grow.set(event_target_value(&ev))>
                            {group_options(false)}
                        </select>
                    </label>
                    <button type="button" data-testid="fleet-add" on:click=move |_| {
                        let (n, g) = (count(), parse_target(&grow.get_untracked()).unwrap_or(0));
                        with_handle(&|h| h.add(g, n))
                    }>"Add"</button>
                    <button type="button" data-testid="fleet-remove" on:click=move |_| { let n = count(); with_handle(&|h| h.remove(n)) }>"Remove"</button>
                    <button type="button" data-testid="fleet-export-json" on:click=move |_| with_handle(&|h| h.export(false))>"Export JSON"</button>
                    <button type="button" data-testid="fleet-export-csv" on:click=move |_| with_handle(&|h| h.export(true))>"Export CSV"</button>
                </div>
                <p class="field-error" role="status" data-testid="fleet-outcome"
                    class:ok=move || matches!(outcome.get(), Some(Ok(_)))>
                    {move || outcome.get().map(|r| r.unwrap_or_else(|e| e))}
                </p>
            </section>
            <section class="panel" aria-labelledby="fleet-groups-title">
                <h2 id="fleet-groups-title">"Groups"</h2>
                <FleetGroups metrics=metrics.read_only() />
                {(!on_broker).then(|| view! {
                    <details class="fleet-add-group">
                        <summary>"Add a group: its own template, readings, reporting and outcome mix"</summary>
                        <div class="fleet-form">
                            {group_field("fleet-group-name", "Group", |f| f.name.clone(), |f, v| f.name = v)}
                            <label class="field" for="fleet-group-template">"Template"
                                <select id="fleet-group-template" data-testid="fleet-group-template"
                                    on:change=move |ev| group_form.update(|f| f.template = event_target_value(&ev))>
                                    {TEMPLATES.iter().map(|t| view! {
                                        <option value=t.id selected=move || group_form.with(|f| f.template == t.id)>{t.name}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            {group_field("fleet-group-count", "Devices", |f| f.count.clone(), |f, v| f.count = v)}
                            {group_field("fleet-group-pattern", "Names ({n}: number)", |f| f.pattern.clone(), |f, v| f.pattern = v)}
                            {group_field("fleet-group-start", "From", |f| f.start.clone(), |f, v| f.start = v)}
                            {group_field("fleet-group-generator", "Readings (walk, sine@s, step@s, constant)", |f| f.generator.clone(), |f, v| f.generator = v)}
                            {group_field("fleet-group-every", "Report every (s, 0: on change)", |f| f.every.clone(), |f, v| f.every = v)}
                            {group_field("fleet-group-jitter", "Jitter ± %", |f| f.jitter.clone(), |f, v| f.jitter = v)}
                            {group_field("fleet-group-mix", "Outcome mix (fail:10@2,stall:5,…)", |f| f.mix.clone(), |f, v| f.mix = v)}
                            <button type="button" data-testid="fleet-group-add" on:click=on_add_group>"Add group"</button>
                        </div>
                    </details>
                })}
            </section>
            <section class="panel" aria-labelledby="fleet-rollout-title">
                <h2 id="fleet-rollout-title">"Roll-out and desired state"</h2>
                <label class="inline">"For "
                    <select data-testid="fleet-target" on:change=move |ev| target.set(event_target_value(&ev))>
                        {group_options(true)}
                    </select>
                </label>
                <div class="fleet-form">
                    <label class="field wide" for="fleet-document">"Job document (JSON)"
                        <textarea id="fleet-document" data-testid="fleet-document" rows="2"
                            prop:value=move || form.with(|f| f.document.clone())
                            on:input=move |ev| form.update(|f| f.document = event_target_value(&ev))></textarea>
                    </label>
                    {text_field("fleet-per-minute", "New executions a minute (empty: all at once)", |f| f.per_minute.clone(), |f, v| f.per_minute = v)}
                    {text_field("fleet-abort-percent", "Abort above failed % (empty: never)", |f| f.abort_percent.clone(), |f, v| f.abort_percent = v)}
                    {text_field("fleet-abort-after", "…once finished", |f| f.abort_after.clone(), |f, v| f.abort_after = v)}
                    {text_field("fleet-step-timeout", "Step timeout (min, optional)", |f| f.step_timeout.clone(), |f, v| f.step_timeout = v)}
                    <label class="inline check">
                        <input type="checkbox" data-testid="fleet-continuous"
                            prop:checked=move || form.with(|f| f.continuous)
                            on:change=move |ev| form.update(|f| f.continuous = event_target_checked(&ev)) />
                        " Continuous: devices added later get it too"
                    </label>
                    <button type="button" class="primary" data-testid="fleet-roll-out" on:click=on_roll_out>"Roll out"</button>
                </div>
                <div class="fleet-form">
                    <label class="field wide" for="fleet-desired">"Desired state for each device (JSON)"
                        <input id="fleet-desired" type="text" data-testid="fleet-desired" placeholder="{\"brightness\": 40}"
                            prop:value=move || desired.get() on:input=move |ev| desired.set(event_target_value(&ev)) />
                    </label>
                    <button type="button" data-testid="fleet-set-desired" on:click=on_desired>"Set desired"</button>
                </div>
            </section>
            <section class="panel" aria-labelledby="fleet-grid-title">
                <h2 id="fleet-grid-title">"Devices"</h2>
                <label class="inline">"Show "
                    <select data-testid="fleet-filter" on:change=move |ev| filter.set(Filter::parse(&event_target_value(&ev)))>
                        {Filter::ALL.iter().map(|(_, value, words)| view! { <option value=*value>{*words}</option> }).collect_view()}
                    </select>
                </label>
                <FleetGrid cards=cards.read_only() filter=filter.read_only()
                    on_open=Callback::new(move |thing| open.set(Some(thing))) />
            </section>
        </main>
    }
}

/// A labelled text input bound to one field of a form held in `form`.
fn form_field<F: Send + Sync + 'static>(
    form: RwSignal<F>,
    id: &'static str,
    label: &'static str,
    get: fn(&F) -> String,
    set: fn(&mut F, String),
) -> impl IntoView {
    view! {
        <label class="field" for=id>{label}
            <input id=id data-testid=id type="text" prop:value=move || form.with(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev))) />
        </label>
    }
}
