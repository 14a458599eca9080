use leptos::prelude::*;
use thingsim_fleet::config::{ConnectForm, FieldErrors};
use thingsim_fleet::model::TEMPLATES;
use thingsim_mqtt::ProtocolVersion;

/// The connection form: broker URL, client id, thing name, credentials, MQTT version.
/// Each refused field shows why right beside it.
#[component]
pub fn ConnectionForm(
    /// The form's values; edited in place as the user types.
    form: RwSignal<ConnectForm>,
    /// Per-field validation messages from the last connect attempt.
    #[prop(into)]
    errors: Signal<FieldErrors>,
    /// Whether a client is running (shows Disconnect instead of Connect, locks the fields).
    #[prop(into)]
    active: Signal<bool>,
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
    let none = |_: &FieldErrors| None;

    view! {
        <form
            class="connect-form"
            on:submit=move |ev| {
                ev.prevent_default();
                if active.get_untracked() { on_disconnect.run(()) } else { on_connect.run(()) }
            }
        >
            {field("broker-url", "Broker URL (ws:// or wss://)", "text",
                |f| f.broker_url.clone(), |f, v| f.broker_url = v, |e| e.broker_url.clone())}
            {field("client-id", "Client ID", "text",
                |f| f.client_id.clone(), |f, v| f.client_id = v, |e| e.client_id.clone())}
            {field("thing-name", "Thing name", "text",
                |f| f.thing_name.clone(), |f, v| f.thing_name = v, |e| e.thing_name.clone())}
            {field("username", "Username (optional)", "text",
                |f| f.username.clone(), |f, v| f.username = v, none)}
            {field("password", "Password (optional, kept in memory only)", "password",
                |f| f.password.clone(), |f, v| f.password = v, none)}
            <div class="field">
                <label for="mqtt-version">"MQTT version"</label>
                <select
                    id="mqtt-version"
                    data-testid="mqtt-version"
                    disabled=move || active.get()
                    on:change=move |ev| {
                        let version = match event_target_value(&ev).as_str() {
                            "3.1.1" => ProtocolVersion::V3_1_1,
                            _ => ProtocolVersion::V5,
                        };
                        form.update(|f| f.version = version);
                    }
                >
                    <option value="5" selected=move || form.get().version == ProtocolVersion::V5>"5.0"</option>
                    <option value="3.1.1" selected=move || form.get().version == ProtocolVersion::V3_1_1>"3.1.1"</option>
                </select>
            </div>
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
                    }).collect_view()}
                </select>
                <p class="field-error" data-testid="template-error">{move || errors.get().template}</p>
            </div>
            <button type="submit" class="primary" data-testid="connect-button">
                {move || if active.get() { "Disconnect" } else { "Connect" }}
            </button>
        </form>
    }
}
