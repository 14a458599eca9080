use thingsim_console::config::{ConnectForm, FieldErrors, LOCAL_BROKER, LOCAL_CLOUD_API, Mode};
use thingsim_fleet::model::TEMPLATES;
use thingsim_reactive::*;

use crate::shell::dom::Node;

/// The connection form, built into `at`: where the cloud is (sandbox, local, any broker), then
/// the broker URL, client id, thing name, credentials, MQTT options and the device template.
/// Each refused field shows why right beside it. `form` holds the values, edited in place as
/// the user types; `errors`, the per-field messages of the last connect attempt; `active`,
/// whether a client is running (Disconnect instead of Connect, fields locked). `on_connect`
/// runs when Connect is pressed (or the form submitted), `on_disconnect` at Disconnect.
pub fn connection_form(
    at: &Node,
    form: RwSignal<ConnectForm>,
    errors: ReadSignal<FieldErrors>,
    active: impl Fn() -> bool + Copy + 'static,
    on_connect: Callback<()>,
    on_disconnect: Callback<()>,
) {
    let lock = move |n: &Node| {
        super::attr(n, "disabled", move || active().then(String::new));
    };
    let hidden = move |n: &Node, when: fn(&ConnectForm) -> bool| {
        super::class(n, "hidden", move || form.with(when));
    };
    let field = move |at: &Node,
                      id: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      get: fn(&ConnectForm) -> String,
                      set: fn(&mut ConnectForm, String),
                      error: fn(&FieldErrors) -> Option<String>| {
        let error_id = format!("{id}-error");
        let error_id = error_id.as_str();
        let made = at.html(concat!(
            r#"<div class="field"><label></label><input autocomplete="off">"#,
            r#"<p class="field-error"></p></div>"#
        ));
        let name = made.find("label");
        name.attr("for", Some(id));
        name.text(Some(label));
        let input = made.find("input");
        input.attrs(&[
            ("id", id),
            ("name", id),
            ("type", kind),
            ("data-testid", id),
            ("aria-describedby", error_id),
        ]);
        let shown = input.clone();
        effect(move || form.with(|f| shown.set_value(&get(f))));
        lock(&input);
        super::attr(&input, "aria-invalid", move || {
            Some(errors.with(error).is_some().to_string())
        });
        input.on_input(move |v| form.update(|f| set(f, v)));
        let message = made.find("p");
        message.attrs(&[("id", error_id), ("data-testid", error_id)]);
        super::text(&message, move || errors.with(error).unwrap_or_default());
    };
    let check = move |n: Node, get: fn(&ConnectForm) -> bool, set: fn(&mut ConnectForm, bool)| {
        let shown = n.clone();
        effect(move || shown.set_checked(form.with(get)));
        lock(&n);
        n.on_checked(move |on| form.update(|f| set(f, on)));
    };
    let none: fn(&FieldErrors) -> Option<String> = |_| None;
    let mode_radio = move |n: Node, m: Mode| {
        let shown = n.clone();
        effect(move || shown.set_checked(form.with(|f| f.mode) == m));
        lock(&n);
        n.on_checked(move |_| {
            form.update(|f| {
                f.mode = m;
                if m == Mode::Local {
                    LOCAL_BROKER.clone_into(&mut f.broker_url);
                    LOCAL_CLOUD_API.clone_into(&mut f.cloud_api);
                }
            });
        });
    };

    let made = at.html(concat!(
        r#"<form class="connect-form"><fieldset class="modes"><legend>Cloud</legend>"#,
        r#"<label class="mode-option">"#,
        r#"<input type="radio" name="mode" value="sandbox" data-testid="mode-sandbox">"#,
        r#"<span><strong>Sandbox</strong><br>"#,
        r#"<span class="muted">in this page, no server</span></span></label>"#,
        r#"<label class="mode-option">"#,
        r#"<input type="radio" name="mode" value="local" data-testid="mode-local">"#,
        r#"<span><strong>Local</strong><br>"#,
        r#"<span class="muted">make demo's broker and thingsim-cloud</span></span></label>"#,
        r#"<label class="mode-option">"#,
        r#"<input type="radio" name="mode" value="broker" data-testid="mode-broker">"#,
        r#"<span><strong>Any broker</strong><br>"#,
        r#"<span class="muted">EMQX Fleets or any MQTT over WebSocket</span></span></label>"#,
        "</fieldset>",
        r#"<div class="field"><label for="template">Device</label>"#,
        r#"<select id="template" data-testid="template"></select>"#,
        r#"<p class="field-error" data-testid="template-error"></p></div>"#,
        "</form>"
    ));
    let root = made.root();
    root.on_submit(move || {
        if untrack(active) {
            on_disconnect.run(());
        } else {
            on_connect.run(());
        }
    });
    mode_radio(made.part("mode-sandbox"), Mode::Sandbox);
    mode_radio(made.part("mode-local"), Mode::Local);
    mode_radio(made.part("mode-broker"), Mode::Broker);

    let template = made.part("template");
    for t in TEMPLATES {
        if let Some(option) = template.child("option", "") {
            option.attr("value", Some(t.id));
            option.text(Some(t.name));
        }
    }
    let shown = template.clone();
    effect(move || form.with(|f| shown.set_value(&f.template)));
    lock(&template);
    template.on_value(move |v| form.update(|f| f.template = v));
    super::text(&made.part("template-error"), move || {
        errors.with(|e| e.template.clone()).unwrap_or_default()
    });

    field(
        &root,
        "thing-name",
        "Thing name",
        "text",
        |f| f.thing_name.clone(),
        |f, v| f.thing_name = v,
        |e| e.thing_name.clone(),
    );
    let broker = root.html(r#"<div class="broker-fields"></div>"#).root();
    hidden(&broker, |f| f.mode == Mode::Sandbox);
    let url = broker.html("<div></div>").root();
    hidden(&url, |f| f.https);
    field(
        &url,
        "broker-url",
        "Broker URL (ws:// or wss://)",
        "text",
        |f| f.broker_url.clone(),
        |f, v| f.broker_url = v,
        |e| e.broker_url.clone(),
    );
    let https = broker.html(concat!(
        r#"<label class="inline check"><input type="checkbox" id="https" data-testid="https">"#,
        " Device talks HTTPS (ThingDatas API) instead of MQTT</label>",
        r#"<p class="hint muted" data-testid="api-hint">"#,
        "Optional: with the Fleets API URL and a key, the device GETs its shadow when it ",
        "connects, so a change made while it was away reaches it. Without them it relies on ",
        "the delta the broker queued for its persistent session.</p>"
    ));
    check(https.part("https"), |f| f.https, |f, v| f.https = v);
    let hint = https.part("api-hint");
    hidden(&hint, |f| f.mode != Mode::Broker || f.https);
    let api = broker.html("<div></div>").root();
    field(
        &api,
        "cloud-api",
        "API URL (thingsim-cloud or Fleets)",
        "text",
        |f| f.cloud_api.clone(),
        |f, v| f.cloud_api = v,
        |e| e.cloud_api.clone(),
    );
    let keys = broker.html(r#"<div class="https-fields"></div>"#).root();
    field(
        &keys,
        "api-key",
        "API key",
        "text",
        |f| f.api_key.clone(),
        |f, v| f.api_key = v,
        |e| e.https.clone(),
    );
    field(
        &keys,
        "api-secret",
        "API secret",
        "password",
        |f| f.api_secret.clone(),
        |f, v| f.api_secret = v,
        none,
    );
    let poll = keys.html("<div></div>").root();
    hidden(&poll, |f| !f.https);
    field(
        &poll,
        "poll-secs",
        "Poll every (s)",
        "text",
        |f| f.poll_secs.clone(),
        |f, v| f.poll_secs = v,
        none,
    );
    let mqtt = broker.html(r#"<div class="mqtt-fields"></div>"#).root();
    hidden(&mqtt, |f| f.https);
    field(
        &mqtt,
        "client-id",
        "Client ID",
        "text",
        |f| f.client_id.clone(),
        |f, v| f.client_id = v,
        |e| e.client_id.clone(),
    );
    field(
        &mqtt,
        "username",
        "Username (optional)",
        "text",
        |f| f.username.clone(),
        |f, v| f.username = v,
        none,
    );
    field(
        &mqtt,
        "password",
        "Password (optional)",
        "password",
        |f| f.password.clone(),
        |f, v| f.password = v,
        none,
    );
    field(
        &mqtt,
        "keep-alive",
        "Keep-alive (s)",
        "text",
        |f| f.keep_alive.clone(),
        |f, v| f.keep_alive = v,
        |e| e.keep_alive.clone(),
    );
    field(
        &mqtt,
        "max-packet",
        "Maximum packet size (bytes)",
        "text",
        |f| f.max_packet.clone(),
        |f, v| f.max_packet = v,
        |e| e.max_packet.clone(),
    );
    let options = mqtt.html(concat!(
        r#"<div class="field"><label for="mqtt-version">MQTT version</label>"#,
        r#"<select id="mqtt-version" data-testid="mqtt-version">"#,
        r#"<option value="5">5.0</option><option value="3.1.1">3.1.1</option></select></div>"#,
        r#"<label class="inline check">"#,
        r#"<input type="checkbox" id="persistent" data-testid="persistent">"#,
        " Persistent session (recommended)</label>",
        r#"<label class="inline check"><input type="checkbox" id="will" data-testid="will">"#,
        " Last Will: an offline event if the connection dies</label>"
    ));
    let version = options.part("mqtt-version");
    let shown = version.clone();
    effect(move || {
        let mqtt5 = form.with(|f| f.mqtt5);
        shown.set_value(if mqtt5 { "5" } else { "3.1.1" });
    });
    lock(&version);
    version.on_value(move |v| form.update(|f| f.mqtt5 = v != "3.1.1"));
    let persistent = options.part("persistent");
    check(persistent, |f| f.persistent, |f, v| f.persistent = v);
    check(options.part("will"), |f| f.will, |f, v| f.will = v);
    let saved = broker.html(concat!(
        r#"<label class="inline check">"#,
        r#"<input type="checkbox" id="remember" data-testid="remember">"#,
        " Remember the password and API secret on this browser</label>"
    ));
    let remember = saved.part("remember");
    check(remember, |f| f.remember, |f, v| f.remember = v);

    let button = root
        .html(r#"<button type="submit" class="primary" data-testid="connect-button"></button>"#)
        .root();
    super::text(&button, move || {
        let on = active();
        String::from(if on { "Disconnect" } else { "Connect" })
    });
}
