use leptos::prelude::*;
use thingsim_console::config::{ConnectForm, FieldErrors, LOCAL_BROKER, LOCAL_CLOUD_API, Mode};
use thingsim_fleet::model::TEMPLATES;

/// The connection form: where the cloud is (sandbox, local, any broker), then the broker URL,
/// client id, thing name, credentials, MQTT options and the device template. Each refused field
/// shows why right beside it.
#[component]
pub fn ConnectionForm(
    /// The form's values; edited in place as the user types.
    form: RwSignal<ConnectForm>,
    /// Per-field validation messages from the last connect attempt.
    errors: ReadSignal<FieldErrors>,
    /// Whether a client is running (shows Disconnect instead of Connect, locks the fields).
    active: Memo<bool>,
    /// Connect was pressed (or the form submitted).
    on_connect: Callback<()>,
    /// Disconnect was pressed.
    on_disconnect: Callback<()>,
) -> impl IntoView {
    let field = |id: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 get: fn(&ConnectForm) -> String,
                 set: fn(&mut ConnectForm, String),
                 error: fn(&FieldErrors) -> Option<String>| {
        let error_id = format!("{id}-error");
        let message = move || error(&errors.get());
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input
                    id=id
                    name=id
                    type=kind
                    autocomplete="off"
                    data-testid=id
                    prop:value=move || get(&form.get())
                    disabled=move || active.get()
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby=error_id.clone()
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
                />
                <p class="field-error" id=error_id data-testid=format!("{id}-error")>
                    {message}
                </p>
            </div>
        }
    };
    let check = |id: &'static str,
                 label: &'static str,
                 get: fn(&ConnectForm) -> bool,
                 set: fn(&mut ConnectForm, bool)| {
        view! {
            <label class="inline check">
                <input type="checkbox" id=id data-testid=id
                    prop:checked=move || get(&form.get())
                    disabled=move || active.get()
                    on:change=move |ev| form.update(|f| set(f, event_target_checked(&ev))) />
                " "{label}
            </label>
        }
    };
    let none = |_: &FieldErrors| None;
    let mode = move || form.with(|f| f.mode);
    let mode_radio = |m: Mode, label: &'static str, hint: &'static str| {
        view! {
            <label class="mode-option">
                <input type="radio" name="mode" value=m.as_str() data-testid=format!("mode-{}", m.as_str())
                    prop:checked=move || mode() == m
                    disabled=move || active.get()
                    on:change=move |_| form.update(|f| {
                        f.mode = m;
                        if m == Mode::Local {
                            LOCAL_BROKER.clone_into(&mut f.broker_url);
                            LOCAL_CLOUD_API.clone_into(&mut f.cloud_api);
                        }
                    }) />
                <span><strong>{label}</strong><br /><span class="muted">{hint}</span></span>
            </label>
        }
    };

    view! {
        <form
            class="connect-form"
            on:submit=move |ev| {
                ev.prevent_default();
                if active.get_untracked() { on_disconnect.run(()) } else { on_connect.run(()) }
            }
        >
            <fieldset class="modes">
                <legend>"Cloud"</legend>
                {mode_radio(Mode::Sandbox, "Sandbox", "in this page, no server")}
                {mode_radio(Mode::Local, "Local", "make demo's broker and thingsim-cloud")}
                {mode_radio(Mode::Broker, "Any broker", "EMQX Fleets or any MQTT over WebSocket")}
            </fieldset>
            <div class="field">
                <label for="template">"Device"</label>
                <select
                    id="template"
                    data-testid="template"
                    disabled=move || active.get()
                    on:change=move |ev| form.update(|f| f.template = event_target_value(&ev))
                >
                    {TEMPLATES.iter().map(|t| view! {
                        <option value=t.id selected=move || form.get().template == t.id>{t.name}</option>
                    }.into_any()).collect_view()}
                </select>
                <p class="field-error" data-testid="template-error">{move || errors.get().template}</p>
            </div>
            {field("thing-name", "Thing name", "text",
                |f| f.thing_name.clone(), |f, v| f.thing_name = v, |e| e.thing_name.clone())}
            <div class="broker-fields" class:hidden=move || mode() == Mode::Sandbox>
                <div class:hidden=move || form.with(|f| f.https)>
                    {field("broker-url", "Broker URL (ws:// or wss://)", "text",
                        |f| f.broker_url.clone(), |f, v| f.broker_url = v, |e| e.broker_url.clone())}
                </div>
                {check("https", "Device talks HTTPS (ThingDatas API) instead of MQTT", |f| f.https, |f, v| f.https = v)}
                <p class="hint muted" data-testid="api-hint" class:hidden=move || mode() != Mode::Broker || form.with(|f| f.https)>
                    "Optional: with the Fleets API URL and a key, the device GETs its shadow when it \
                     connects, so a change made while it was away reaches it. Without them it \
                     relies on the delta the broker queued for its persistent session."
                </p>
                <div>
                    {field("cloud-api", "API URL (thingsim-cloud or Fleets)", "text",
                        |f| f.cloud_api.clone(), |f, v| f.cloud_api = v, |e| e.cloud_api.clone())}
                </div>
                <div class="https-fields">
                    {field("api-key", "API key", "text",
                        |f| f.api_key.clone(), |f, v| f.api_key = v, |e| e.https.clone())}
                    {field("api-secret", "API secret", "password",
                        |f| f.api_secret.clone(), |f, v| f.api_secret = v, none)}
                    <div class:hidden=move || !form.with(|f| f.https)>
                        {field("poll-secs", "Poll every (s)", "text",
                            |f| f.poll_secs.clone(), |f, v| f.poll_secs = v, none)}
                    </div>
                </div>
                <div class="mqtt-fields" class:hidden=move || form.with(|f| f.https)>
                {field("client-id", "Client ID", "text",
                    |f| f.client_id.clone(), |f, v| f.client_id = v, |e| e.client_id.clone())}
                {field("username", "Username (optional)", "text",
                    |f| f.username.clone(), |f, v| f.username = v, none)}
                {field("password", "Password (optional)", "password",
                    |f| f.password.clone(), |f, v| f.password = v, none)}
                {field("keep-alive", "Keep-alive (s)", "text",
                    |f| f.keep_alive.clone(), |f, v| f.keep_alive = v, |e| e.keep_alive.clone())}
                {field("max-packet", "Maximum packet size (bytes)", "text",
                    |f| f.max_packet.clone(), |f, v| f.max_packet = v, |e| e.max_packet.clone())}
                <div class="field">
                    <label for="mqtt-version">"MQTT version"</label>
                    <select
                        id="mqtt-version"
                        data-testid="mqtt-version"
                        disabled=move || active.get()
                        on:change=move |ev| form.update(|f| f.mqtt5 = event_target_value(&ev) != "3.1.1")
                    >
                        <option value="5" selected=move || form.get().mqtt5>"5.0"</option>
                        <option value="3.1.1" selected=move || !form.get().mqtt5>"3.1.1"</option>
                    </select>
                </div>
                {check("persistent", "Persistent session (recommended)", |f| f.persistent, |f, v| f.persistent = v)}
                {check("will", "Last Will: an offline event if the connection dies", |f| f.will, |f, v| f.will = v)}
                </div>
                {check("remember", "Remember the password and API secret on this browser", |f| f.remember, |f, v| f.remember = v)}
            </div>
            <button type="submit" class="primary" data-testid="connect-button">
                {move || if active.get() { "Disconnect" } else { "Connect" }}
            </button>
        </form>
    }
}
