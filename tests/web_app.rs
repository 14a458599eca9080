//! The page itself, mounted in headless Chromium: form validation, and a connect through the
//! form to the real mosquitto with a hostile payload rendered as text.

#![cfg(target_arch = "wasm32")]

mod common;

use common::{STRICT_WS_URL, WS_URL, expect, start, start_on, unique, until};
use thingsim::shell::client::ClientEvent;
use thingsim_fleet::stack::StackEvent;
use thingsim_mqtt::{Command, Event, Message, Options, Qos};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Connected and hearing everything: plain "connected" without subscriptions (the sandbox),
/// else "connected · subscribed N/N".
fn healthy(status: &str) -> bool {
    status == "connected"
        || status
            .strip_prefix("connected · subscribed ")
            .and_then(|n| n.split_once('/'))
            .is_some_and(|(a, b)| a == b)
}

/// The app mounted in its own container, removed (and unmounted) on drop.
struct Page {
    root: HtmlElement,
    _mount: thingsim::Mounted,
}

impl Page {
    /// The page as a developer pointing it at a broker opens it.
    fn mount() -> Self {
        Self::mount_at("?mode=broker")
    }

    /// Mounts the app as a page opened at `query` would be, with nothing saved before.
    fn mount_at(query: &str) -> Self {
        let window = web_sys::window().unwrap();
        window.local_storage().unwrap().unwrap().clear().unwrap();
        window
            .history()
            .unwrap()
            .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(query))
            .unwrap();
        let document = window.document().unwrap();
        let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        let mount = thingsim::mount(&thingsim::shell::dom::Node::of(&root));
        Self {
            root,
            _mount: mount,
        }
    }

    fn el(&self, testid: &str) -> HtmlElement {
        self.root
            .query_selector(&format!("[data-testid={testid}]"))
            .unwrap()
            .unwrap_or_else(|| panic!("no element with data-testid={testid}"))
            .unchecked_into()
    }

    fn text(&self, testid: &str) -> String {
        self.el(testid).text_content().unwrap_or_default()
    }

    /// Fills the form for the test broker as `thing`, ticks `checks`, connects, and waits.
    async fn connect_to_broker(&self, thing: &str, checks: &[&str]) {
        self.type_into("broker-url", WS_URL);
        self.type_into("thing-name", thing);
        self.type_into("client-id", &format!("dev-{thing}"));
        for check in checks {
            self.el(check).click();
        }
        self.el("connect-button").click();
        until("connected", || healthy(&self.text("conn-status"))).await;
    }

    /// Whether the element is there, not hidden, and says something (a note that is built
    /// once is hidden while it has nothing to say).
    fn shows(&self, testid: &str) -> bool {
        self.has(testid)
            && !self.el(testid).class_list().contains("hidden")
            && !self.text(testid).is_empty()
    }

    fn has(&self, testid: &str) -> bool {
        self.root
            .query_selector(&format!("[data-testid={testid}]"))
            .ok()
            .flatten()
            .is_some()
    }

    /// Types into an input or a textarea, as a user would (one `input` event).
    fn type_into(&self, testid: &str, value: &str) {
        self.set_value(testid, value, "input");
    }

    /// What a user's release of a slider (or a picked option) does: the value, then `change`.
    fn change_to(&self, testid: &str, value: &str) {
        self.set_value(testid, value, "change");
    }

    fn set_value(&self, testid: &str, value: &str, event: &str) {
        let input = self.el(testid);
        js_sys::Reflect::set(&input, &"value".into(), &value.into()).unwrap();
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        let event = web_sys::Event::new_with_event_init_dict(event, &init).unwrap();
        input.dispatch_event(&event).unwrap();
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.root.remove();
    }
}

#[wasm_bindgen_test]
async fn a_second_connect_builds_the_device_controls_for_the_new_template_and_they_work() {
    let page = Page::mount_at("?");
    until("the sandbox connects", || {
        healthy(&page.text("conn-status"))
    })
    .await;
    until("the thermostat's controls", || {
        page.has("prop-targetTemperature")
    })
    .await;
    page.el("connect-button").click();
    until("disconnected", || page.text("conn-status") == "offline").await;
    page.change_to("template", "smart-light");
    page.el("connect-button").click();
    until("the light's controls, and only those", || {
        page.has("prop-brightness") && !page.has("prop-targetTemperature")
    })
    .await;
    until("connected again", || healthy(&page.text("conn-status"))).await;

    // The controls built for this connection report, and follow the cloud.
    page.change_to("prop-brightness", "40");
    until("the brightness is reported", || {
        page.text("shadow-reported").contains("\"brightness\": 40")
    })
    .await;
    until("the cloud panel", || page.has("cloud-desired")).await;
    page.type_into("cloud-desired", r#"{"brightness": 70}"#);
    page.el("cloud-set-desired").click();
    until("the slider follows the desired value", || {
        page.el("prop-brightness")
            .unchecked_into::<HtmlInputElement>()
            .value()
            == "70"
    })
    .await;
}

#[wasm_bindgen_test]
async fn invalid_fields_are_refused_with_a_message_beside_each() {
    let page = Page::mount();
    page.type_into("broker-url", "http://127.0.0.1:8083/mqtt");
    page.type_into("thing-name", "room/+/lamp");
    page.type_into("client-id", "");
    page.el("connect-button").click();
    until("the errors show", || {
        !page.text("thing-name-error").is_empty()
    })
    .await;
    assert!(
        page.text("broker-url-error").contains("ws:// or wss://"),
        "{}",
        page.text("broker-url-error")
    );
    assert!(page.text("thing-name-error").contains("/, + or #"));
    assert!(page.text("client-id-error").contains("client id"));
    assert_eq!(page.text("conn-status"), "not connected");
    assert_eq!(
        page.el("thing-name")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );

    // Fixing the fields clears the messages on the next attempt.
    page.type_into("broker-url", "ws://127.0.0.1:65534/mqtt");
    page.type_into("thing-name", "lamp-1");
    page.type_into("client-id", "lamp-1");
    page.el("connect-button").click();
    until("the errors clear", || {
        page.text("thing-name-error").is_empty()
    })
    .await;
    assert!(page.text("broker-url-error").is_empty());
    page.el("connect-button").click(); // now "Disconnect"
}

#[wasm_bindgen_test]
async fn connecting_through_the_form_shows_connected_and_renders_payloads_as_text() {
    let page = Page::mount();
    let thing = unique("form-lamp");
    page.connect_to_broker(&thing, &[]).await;
    assert_eq!(page.text("connect-button"), "Disconnect");

    // A second client sends the device a hostile delta; it must show as text, not markup.
    let (peer, mut peer_rx) = start(Options::new(format!("peer-{thing}")));
    expect(&mut peer_rx, "the peer's CONNACK", |e| {
        matches!(
            e,
            ClientEvent::Stack(StackEvent::Mqtt(Event::Connected { .. }))
        )
        .then_some(())
    })
    .await;
    let hostile = r#"{"version":1,"state":{"name":"<img src=x onerror=alert(1)>"}}"#;
    let topic = format!("$emqx/things/{thing}/shadow/update/delta");
    peer.command(Command::Publish(Message::new(
        &topic,
        hostile,
        Qos::AtLeastOnce,
    )));
    until("the delta is logged", || {
        page.text("message-log").contains("onerror")
    })
    .await;
    assert!(page.text("message-log").contains(hostile));
    assert!(
        page.el("message-log")
            .query_selector("img")
            .unwrap()
            .is_none(),
        "payload became markup"
    );
    peer.stop();

    page.el("connect-button").click();
    until("offline", || page.text("conn-status") == "offline").await;
    assert_eq!(page.text("connect-button"), "Connect");
}

#[wasm_bindgen_test]
async fn the_page_runs_a_thermostat_that_applies_a_delta_and_reports_its_actual_state() {
    let page = Page::mount();
    let thing = unique("page-thermostat");
    page.connect_to_broker(&thing, &[]).await;
    until("the device panel", || {
        page.root
            .query_selector("[data-testid=prop-targetTemperature]")
            .ok()
            .flatten()
            .is_some()
    })
    .await;

    // The cloud side: watch reports, send a delta beyond the hardware limit.
    let (peer, mut peer_rx) = start(Options::new(format!("peer-{thing}")));
    let update = format!("$emqx/things/{thing}/shadow/update");
    peer.command(Command::Subscribe(vec![(update.clone(), Qos::AtLeastOnce)]));
    expect(&mut peer_rx, "the peer's SUBACK", |e| {
        matches!(
            e,
            ClientEvent::Stack(StackEvent::Mqtt(Event::Subscribed { .. }))
        )
        .then_some(())
    })
    .await;
    let delta = r#"{"version":7,"timestamp":1,"state":{"targetTemperature":40,"mode":"heat"}}"#;
    peer.command(Command::Publish(Message::new(
        format!("$emqx/things/{thing}/shadow/update/delta"),
        delta,
        Qos::AtLeastOnce,
    )));

    let report = expect(&mut peer_rx, "the device's report", |e| match e {
        ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m)))
            if m.topic == update
                && String::from_utf8_lossy(&m.payload).contains("targetTemperature") =>
        {
            Some(m)
        }
        _ => None,
    })
    .await;
    let report = String::from_utf8_lossy(&report.payload).into_owned();
    assert!(
        report.contains(r#""targetTemperature":35.0"#),
        "clamped to the limit: {report}"
    );
    assert!(report.contains(r#""mode":"heat""#), "{report}");
    let slider: HtmlInputElement = page.el("prop-targetTemperature").unchecked_into();
    until("the slider shows the actual value", || {
        slider.value() == "35"
    })
    .await;
    let mode: web_sys::HtmlSelectElement = page.el("prop-mode").unchecked_into();
    assert_eq!(mode.value(), "heat");
    peer.stop();
    page.el("connect-button").click();
    until("offline", || page.text("conn-status") == "offline").await;
}

#[wasm_bindgen_test]
async fn the_sandbox_starts_by_itself_and_converges_on_desired_state_from_the_cloud_panel() {
    let page = Page::mount_at("?");
    until("the sandbox connects with nothing configured", || {
        healthy(&page.text("conn-status"))
    })
    .await;
    until("the cloud panel", || page.has("cloud-desired")).await;
    page.type_into("cloud-desired", r#"{"targetTemperature": 26}"#);
    page.el("cloud-set-desired").click();
    until("the slider follows the desired value", || {
        page.has("prop-targetTemperature")
            && page
                .el("prop-targetTemperature")
                .unchecked_into::<HtmlInputElement>()
                .value()
                == "26"
    })
    .await;
    until("the delta empties", || {
        page.text("shadow-delta").trim() == "{}"
    })
    .await;
    assert!(
        page.text("shadow-reported")
            .contains("\"targetTemperature\": 26")
    );
    assert!(page.text("cloud-outcome").contains("desired state set"));
    until("the delta is in the log", || {
        page.text("message-log").contains("shadow/update/delta")
    })
    .await;

    // The device's own slider: the value the browser reads from it is applied and reported
    // (and then undone by the cloud's delta, since desired still says 26).
    page.change_to("prop-targetTemperature", "23.5");
    until("the slider's value is reported", || {
        page.text("message-log")
            .contains(r#""targetTemperature":23.5"#)
    })
    .await;

    // Bad operator input is refused beside the form, and nothing is sent.
    page.type_into("cloud-desired", "{not json");
    page.el("cloud-set-desired").click();
    until("the error shows", || {
        page.text("cloud-error").contains("not JSON")
    })
    .await;
    // Not beside the last request's answer, which would read as this one's.
    assert_eq!(page.text("cloud-outcome"), "");
    page.el("connect-button").click();
    until("offline", || page.text("conn-status") == "offline").await;
}

#[wasm_bindgen_test]
async fn a_command_answered_by_hand_reaches_the_cloud_with_that_status() {
    let page = Page::mount_at("?mode=sandbox&template=smart-light&thing=lamp-1");
    until("connected", || healthy(&page.text("conn-status"))).await;
    until("the commands panel", || page.has("auto-answer")).await;
    page.el("auto-answer").click(); // off: answer by hand
    page.type_into("cloud-action", "reboot");
    page.type_into("cloud-params", "{}");
    page.el("cloud-send-command").click();
    until("the request waits for an answer", || {
        page.has("answer-rejected")
    })
    .await;
    assert!(
        page.text("command-state").contains("s left"),
        "{}",
        page.text("command-state")
    );
    page.el("answer-rejected").click();
    until("answered", || page.text("command-state") == "REJECTED").await;
    until("the answer went out", || {
        page.text("message-log").contains("REJECTED")
    })
    .await;
    page.el("connect-button").click();
    until("offline", || page.text("conn-status") == "offline").await;
}

#[wasm_bindgen_test]
async fn a_password_in_the_page_url_is_ignored_with_a_visible_warning() {
    let page = Page::mount_at("?mode=broker&thing=from-url&password=hunter2");
    assert!(
        page.text("url-warnings")
            .contains("password in the page URL ignored")
    );
    let password: HtmlInputElement = page.el("password").unchecked_into();
    assert_eq!(password.value(), "");
    let thing: HtmlInputElement = page.el("thing-name").unchecked_into();
    until("the thing name from the URL", || {
        thing.value() == "from-url"
    })
    .await;
    assert_eq!(
        page.text("conn-status"),
        "not connected",
        "broker mode waits for Connect"
    );
}

#[wasm_bindgen_test]
async fn a_dropped_connection_publishes_the_last_will_and_the_device_comes_back() {
    let page = Page::mount();
    let thing = unique("will-lamp");
    page.connect_to_broker(&thing, &["will"]).await;

    let (peer, mut peer_rx) = start(Options::new(format!("peer-{thing}")));
    let offline = format!("$emqx/things/{thing}/events/offline");
    peer.command(Command::Subscribe(vec![(
        offline.clone(),
        Qos::AtLeastOnce,
    )]));
    expect(&mut peer_rx, "the peer's SUBACK", |e| {
        matches!(
            e,
            ClientEvent::Stack(StackEvent::Mqtt(Event::Subscribed { .. }))
        )
        .then_some(())
    })
    .await;
    until("the jobs panel", || page.has("drop-connection")).await;
    page.el("drop-connection").click();
    let will = expect(&mut peer_rx, "the Last Will", |e| match e {
        ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m))) if m.topic == offline => Some(m),
        _ => None,
    })
    .await;
    assert!(String::from_utf8_lossy(&will.payload).contains("connection was lost"));
    until("reconnecting shows why", || {
        page.text("conn-status").contains("dropped by hand")
    })
    .await;
    until("back", || healthy(&page.text("conn-status"))).await;
    peer.stop();
    page.el("connect-button").click();
    until("offline", || page.text("conn-status") == "offline").await;
}

#[wasm_bindgen_test]
async fn on_a_strict_broker_the_device_subscribes_within_its_limits_and_still_converges_and_answers()
 {
    let page = Page::mount();
    let thing = unique("strict");
    page.type_into("broker-url", STRICT_WS_URL);
    page.type_into("thing-name", &thing);
    page.type_into("client-id", &format!("dev-{thing}"));
    page.el("connect-button").click();
    // 13 filters do not fit one 256-byte SUBSCRIBE: all granted means they were split.
    until("all 13 subscriptions granted", || {
        page.text("conn-status") == "connected · subscribed 13/13"
    })
    .await;
    let limits = page.text("broker-limits");
    for expected in [
        "max packet 256 B",
        "receive max 2",
        "no retain",
        "keep-alive 10 s",
    ] {
        assert!(limits.contains(expected), "{expected} in {limits}");
    }
    for note in ["shadow-deaf", "commands-deaf", "jobs-deaf"] {
        assert!(!page.shows(note), "{note}: {}", page.text(note));
    }

    let (peer, mut peer_rx) = start_on(STRICT_WS_URL, Options::new(format!("peer-{thing}")));
    let update = format!("$emqx/things/{thing}/shadow/update");
    let response = format!("$emqx/commands/things/{thing}/executions/e1/response");
    peer.command(Command::Subscribe(vec![
        (update.clone(), Qos::AtLeastOnce),
        (response.clone(), Qos::AtLeastOnce),
    ]));
    expect(&mut peer_rx, "the peer's SUBACK", |e| {
        matches!(
            e,
            ClientEvent::Stack(StackEvent::Mqtt(Event::Subscribed { .. }))
        )
        .then_some(())
    })
    .await;

    // A delta is applied and reported.
    peer.command(Command::Publish(Message::new(
        format!("$emqx/things/{thing}/shadow/update/delta"),
        r#"{"version":9,"timestamp":1,"state":{"targetTemperature":24}}"#,
        Qos::AtLeastOnce,
    )));
    let report = expect(&mut peer_rx, "the device's report", |e| match e {
        ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m)))
            if m.topic == update
                && String::from_utf8_lossy(&m.payload).contains(r#""targetTemperature":24"#) =>
        {
            Some(m)
        }
        _ => None,
    })
    .await;
    assert!(report.payload.len() < 256);

    // A command is answered.
    let now = (js_sys::Date::now() / 1000.0) as u64;
    peer.command(Command::Publish(Message::new(
        format!("$emqx/commands/things/{thing}/executions/e1/request"),
        format!(
            r#"{{"commandId":"c1","action":"setTemperature","params":{{"value":22}},"timestamp":{now},"ttl":30}}"#
        ),
        Qos::AtLeastOnce,
    )));
    let answer = expect(&mut peer_rx, "the command's response", |e| match e {
        ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m))) if m.topic == response => Some(m),
        _ => None,
    })
    .await;
    let answer = String::from_utf8_lossy(&answer.payload).into_owned();
    assert!(answer.contains("SUCCEEDED"), "{answer}");
    peer.stop();
    page.el("connect-button").click();
    until("offline", || page.text("conn-status") == "offline").await;
}

/// The shadow timeline under a stream: the rows show the newest fifty changes, newest first in
/// the document as on screen; a change that comes keeps the rows already drawn (the same
/// elements) and the rows that go come back on top for the new ones, so a redraw creates
/// nothing it need not.
#[wasm_bindgen_test]
async fn the_shadow_timeline_follows_a_stream_and_keeps_the_rows_it_drew() {
    use gloo_timers::future::TimeoutFuture;
    use thingsim::reactive::*;
    use thingsim_console::panels::{Console, ShadowView, TIMELINE_CAP};
    use thingsim_fleet::device::DeviceEvent;
    use thingsim_mqtt::Millis;

    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let shadow = RwSignal::new(ShadowView::default());
    let _mount = thingsim::mount_with(&thingsim::shell::dom::Node::of(&root), |at| {
        thingsim::components::shadow_panel(
            at,
            Memo::new(move |_| shadow.get()),
            RwSignal::new(None).read_only(),
        )
    });
    // `n` reports, one a second, each of its own value, shown in one redraw.
    let report = async |console: &mut Console, n: u64| {
        for _ in 0..n {
            let at = console.shadow.changes;
            let serde_json::Value::Object(state) = serde_json::json!({ "target": at }) else {
                unreachable!()
            };
            console.handle_device_event(Millis(1_000 * at), &DeviceEvent::Reported(state));
        }
        shadow.set(console.shadow.clone());
        TimeoutFuture::new(0).await;
    };
    let mut console = Console::default();
    let rows = || -> Vec<web_sys::Element> {
        let list = root
            .query_selector("[data-testid=shadow-timeline]")
            .unwrap()
            .unwrap();
        let all = list.children();
        (0..all.length()).filter_map(|i| all.item(i)).collect()
    };
    // What the rows say, by the time in their first cell: the seconds since the first change.
    let seconds = |rows: &[web_sys::Element]| -> Vec<u64> {
        rows.iter()
            .map(|li| {
                let text = li.first_element_child().unwrap().text_content().unwrap();
                let (m, s) = text.rsplit_once(':').unwrap();
                let m = m.rsplit_once(':').map_or(m, |(_, m)| m);
                m.parse::<u64>().unwrap() * 60 + s.parse::<u64>().unwrap()
            })
            .collect()
    };

    report(&mut console, 3).await;
    let drawn = rows();
    assert_eq!(seconds(&drawn), [2, 1, 0], "newest first");
    assert!(drawn.iter().all(|li| li.class_name() == "tl-report"));
    assert_eq!(drawn[0].text_content().unwrap(), "00:00:02reportedtarget");

    report(&mut console, 1).await;
    let now = rows();
    assert_eq!(seconds(&now), [3, 2, 1, 0]);
    assert!(now[1..] == drawn[..], "the rows already drawn stay");

    // A stream: far more changes than the timeline keeps, in one redraw, then two more.
    report(&mut console, 120).await;
    let drawn = rows();
    let newest = console.shadow.changes - 1;
    let expected: Vec<u64> = (0..TIMELINE_CAP as u64).map(|k| newest - k).collect();
    assert_eq!(seconds(&drawn), expected);
    report(&mut console, 2).await;
    let now = rows();
    assert_eq!(now.len(), TIMELINE_CAP);
    assert_eq!(seconds(&now[..2]), [newest + 2, newest + 1]);
    assert!(
        now[2..] == drawn[..TIMELINE_CAP - 2],
        "the rows already drawn stay"
    );
    assert!(
        now[0] == drawn[TIMELINE_CAP - 1] && now[1] == drawn[TIMELINE_CAP - 2],
        "the two rows that went came back on top"
    );

    // A console that starts again (a new connection) is drawn afresh.
    report(&mut Console::default(), 1).await;
    assert_eq!(seconds(&rows()), [0]);
    root.remove();
}

/// A root `div` in the page, with the app's style sheet (sizes and places come from it).
fn styled_root() -> (HtmlElement, web_sys::Element) {
    let document = web_sys::window().unwrap().document().unwrap();
    let style = document.create_element("style").unwrap();
    // The page's rules and the fleet view's own, as loader.js links them for ?view=fleet.
    style.set_text_content(Some(concat!(
        include_str!("../style/main.css"),
        include_str!("../style/thingsim-fleet.css")
    )));
    document.head().unwrap().append_child(&style).unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    (root, style)
}

#[wasm_bindgen_test]
async fn the_fleet_grid_draws_the_cards_in_view_and_rewrites_only_those_that_change() {
    use leptos::prelude::*;
    use thingsim::components::FleetGrid;
    use thingsim_console::fleet::Filter;
    use thingsim_fleet::fleet::{Behaviour, Card};

    let card = |i: usize| Card {
        thing: format!("lamp-{i}"),
        online: true,
        reading: format!("On {i}"),
        delta_pending: false,
        job: None,
        progress: None,
        behaviour: Behaviour::Healthy,
        group: 0,
    };
    let (root, style) = styled_root();
    let (cards, set_cards) = signal((0..500).map(card).collect::<Vec<_>>());
    let (filter, _) = signal(Filter::All);
    let opened = RwSignal::new(None::<String>);
    let mount = mount_to(root.clone(), move || {
        view! { <FleetGrid cards filter on_open=Callback::new(move |t| opened.set(Some(t))) /> }
    });
    let places = || {
        let all = root
            .query_selector(".fleet-spacer")
            .unwrap()
            .unwrap()
            .children();
        (0..all.length())
            .filter_map(|i| all.item(i))
            .collect::<Vec<_>>()
    };
    let reading =
        |li: &web_sys::Element| li.query_selector(".fleet-card-reading").unwrap().unwrap();
    // A reading's text node: a card written again has a new one.
    let written = |li: &web_sys::Element| reading(li).first_child().unwrap();
    let name = |li: &web_sys::Element| -> HtmlElement {
        li.query_selector(".fleet-card-name")
            .unwrap()
            .unwrap()
            .unchecked_into()
    };

    until("the cards in view", || !places().is_empty()).await;
    let drawn = places();
    assert!(
        drawn.len() < 100,
        "only the cards in view exist: {}",
        drawn.len()
    );
    assert_eq!(reading(&drawn[7]).text_content().unwrap(), "On 7");
    let readings: Vec<_> = drawn.iter().map(written).collect();

    // One card changes: it is written again in place (its focused name stays focused), every
    // other card is left as it was.
    let focused = name(&drawn[3]);
    focused.focus().unwrap();
    set_cards.update(|c| {
        c[3].reading = "Off".to_owned();
        c[3].delta_pending = true;
        c[3].job = Some(thingsim_fleet::jobs::JobStatus::InProgress);
        c[3].progress = Some(40);
    });
    until("the changed card", || {
        reading(&places()[3]).text_content().unwrap() == "Off"
    })
    .await;
    let now = places();
    assert_eq!(now.len(), drawn.len());
    for (i, (li, before)) in now.iter().zip(&drawn).enumerate() {
        assert!(li == before, "card {i} is in the place that showed it");
        if i != 3 {
            assert!(written(li) == readings[i], "card {i} was not written again");
        }
    }
    let document = web_sys::window().unwrap().document().unwrap();
    assert!(
        document.active_element() == Some(focused.into()),
        "the changed card's name keeps the focus"
    );
    assert!(now[3].query_selector(".badge").unwrap().is_some());
    let progress = now[3]
        .query_selector(".fleet-card-job > progress:first-child")
        .unwrap();
    assert_eq!(
        progress.unwrap().get_attribute("value").as_deref(),
        Some("40")
    );
    assert_eq!(
        now[3]
            .query_selector("[data-testid=fleet-card-status]")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "InProgress"
    );

    assert!(
        now[3]
            .get_attribute("aria-label")
            .unwrap()
            .contains("delta pending")
    );
    set_cards.update(|c| {
        c[3].delta_pending = false;
        c[3].progress = None;
    });
    until("the badge and the bar gone", || {
        places()[3]
            .query_selector(".badge, progress")
            .unwrap()
            .is_none()
    })
    .await;

    // Four rows down: the cards still in view keep their elements and are not written again.
    let shown = |name: &str| {
        places().into_iter().find(|li| {
            li.query_selector(".fleet-card-name")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap()
                == name
        })
    };
    let (li20, reading20) = (
        shown("lamp-20").unwrap(),
        written(&shown("lamp-20").unwrap()),
    );
    let grid: HtmlElement = root
        .query_selector(".fleet-grid")
        .unwrap()
        .unwrap()
        .unchecked_into();
    grid.set_scroll_top(4 * 84);
    until("the cards four rows down", || shown("lamp-60").is_some()).await;
    assert!(shown("lamp-0").is_none(), "a card scrolled out goes");
    let kept = shown("lamp-20").unwrap();
    assert!(kept == li20, "a card still in view keeps its element");
    assert!(written(&kept) == reading20, "and is not written again");
    let numbers: Vec<usize> = places()
        .iter()
        .map(|li| {
            let name = li
                .query_selector(".fleet-card-name")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap();
            name.trim_start_matches("lamp-").parse().unwrap()
        })
        .collect();
    assert!(
        numbers.is_sorted(),
        "the cards in the list's order: {numbers:?}"
    );
    grid.set_scroll_top(0);
    until("back at the top", || shown("lamp-0").is_some()).await;

    // Fewer cards than places: the places left over go.
    set_cards.set((0..3).map(card).collect());
    until("three cards", || places().len() == 3).await;

    // A card's name opens that device.
    places()[1]
        .query_selector("[data-testid=fleet-card-open]")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    until("lamp-1 opened", || {
        opened.get_untracked().as_deref() == Some("lamp-1")
    })
    .await;
    drop(mount);
    root.remove();
    style.remove();
}

/// A message log mounted in this page with the app's style sheet (its rows' height and the
/// view's scrolling come from it): the root, the style element, the log's store, and the mount.
fn mount_message_log() -> (
    HtmlElement,
    web_sys::Element,
    thingsim::components::LogStore,
    impl Sized,
) {
    use thingsim::components::LogStore;
    use thingsim::reactive::*;

    let (root, style) = styled_root();
    let store = LogStore::new();
    let mount = thingsim::mount_with(&thingsim::shell::dom::Node::of(&root), |at| {
        thingsim::components::message_log(at, store, Callback::new(|_: String| ()))
    });
    (root, style, store, mount)
}

/// Lines `t/N`, QoS 1, payload `{}`, at N ms, for each N in `range`.
fn push_lines(store: thingsim::components::LogStore, range: std::ops::Range<u64>) {
    for i in range {
        store.push(
            i,
            thingsim::components::Direction::In,
            format!("t/{i}"),
            1,
            b"{}",
        );
    }
}

/// The log's rows, top first.
fn log_rows(root: &HtmlElement) -> Vec<web_sys::Element> {
    let all = root
        .query_selector(".log-spacer")
        .unwrap()
        .unwrap()
        .children();
    (0..all.length()).filter_map(|i| all.item(i)).collect()
}

/// What the rows' topic cells say, top first.
fn log_topics(rows: &[web_sys::Element]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.query_selector(".log-topic")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap()
        })
        .collect()
}

fn topics_of(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| format!("t/{i}")).collect()
}

/// The message log under a stream, with the app's style sheet: the rows in view follow the
/// newest line; a line still in view after more come keeps its row (the same element); a
/// click on a row opens that line; a filter shows only the lines it matches, and clearing it
/// at the top of the log brings back the first lines.
#[wasm_bindgen_test]
async fn the_message_log_follows_a_stream_and_keeps_the_rows_it_drew() {
    use gloo_timers::future::TimeoutFuture;

    let (root, style, store, _mount) = mount_message_log();
    let rows = || log_rows(&root);
    let topics = || log_topics(&rows());
    let newest = |topic: &str| topics().last().map(String::as_str) == Some(topic);

    push_lines(store, 0..5);
    until("five rows", || topics() == topics_of(0..5)).await;
    assert!(rows().iter().all(|r| r.class_name() == "log-line log-in"));
    assert_eq!(
        rows()[0]
            .query_selector(".log-meta")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "q1 2B"
    );

    // Far more than the view holds: the rows end at the newest line, and the spacer's padding
    // puts them where they are in the list.
    push_lines(store, 5..200);
    until("the newest line in view", || newest("t/199")).await;
    let drawn = rows();
    assert!(
        drawn.len() < 40,
        "only the rows in view exist: {}",
        drawn.len()
    );
    let first = 200 - drawn.len() as u64;
    assert_eq!(log_topics(&drawn), topics_of(first..200));
    let spacer = root.query_selector(".log-spacer").unwrap().unwrap();
    let placed = spacer.get_attribute("style").unwrap_or_default();
    assert!(
        placed.contains(&format!("padding-top: {}px", first * 22)),
        "{placed}"
    );

    // Three more: every line still in view is in the row that showed it.
    push_lines(store, 200..203);
    until("the three new lines", || newest("t/202")).await;
    let now = rows();
    let mut kept = 0;
    for (row, topic) in now.iter().zip(log_topics(&now)) {
        if let Some(before) = log_topics(&drawn).iter().position(|t| *t == topic) {
            assert!(*row == drawn[before], "{topic} kept its row");
            kept += 1;
        }
    }
    assert!(
        kept + 3 >= now.len(),
        "the lines still in view: {kept} of {}",
        now.len()
    );

    // A click on a row's cell opens that row's line; one beside the rows (the spacer itself)
    // opens nothing new.
    let detail = || {
        root.query_selector("[data-testid=log-detail]")
            .unwrap()
            .map(|d| d.text_content().unwrap())
    };
    now[now.len() - 2]
        .query_selector(".log-payload")
        .unwrap()
        .unwrap()
        .unchecked_ref::<HtmlElement>()
        .click();
    until("the line's detail", || {
        detail().is_some_and(|d| d.contains("t/201"))
    })
    .await;
    spacer.unchecked_ref::<HtmlElement>().click();
    TimeoutFuture::new(50).await;
    assert!(detail().is_some_and(|d| d.contains("t/201")));

    // Back to the top by hand: the first lines, and the view stops following.
    let view: HtmlElement = root
        .query_selector("[data-testid=message-log]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    view.set_scroll_top(0);
    until("the first lines", || {
        topics().first().map(String::as_str) == Some("t/0")
    })
    .await;

    // A filter shows the lines it matches, from the top of what it leaves.
    let filter: HtmlInputElement = root
        .query_selector("[data-testid=log-filter]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let type_filter = |text: &str| {
        filter.set_value(text);
        filter
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    };
    type_filter("t/19");
    let mut matching = topics_of(19..20);
    matching.extend(topics_of(190..200));
    until("the filtered lines", || topics() == matching).await;

    // Cleared, at the top: the eleven rows become the first thirty lines. Line 19, on the top
    // row, belongs further down than there are rows to move (this took the page down once).
    type_filter("");
    until("the first thirty lines again", || {
        topics() == topics_of(0..30)
    })
    .await;
    root.remove();
    style.remove();
}

/// A log at its cap that matches every line has the same line numbers after each message (the
/// oldest go as the newest come): the rows still follow the newest.
#[wasm_bindgen_test]
async fn a_full_log_still_shows_the_newest_lines() {
    use thingsim_console::log::LOG_CAP;

    let (root, style, store, _mount) = mount_message_log();
    let cap = LOG_CAP as u64;
    let newest = |n: u64| log_topics(&log_rows(&root)).last() == Some(&format!("t/{n}"));
    push_lines(store, 0..cap);
    until("the last line of a full log", || newest(cap - 1)).await;
    push_lines(store, cap..cap + 3);
    until("the newest line", || newest(cap + 2)).await;
    let count = root
        .query_selector("[data-testid=log-count]")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(count, format!("{LOG_CAP} of {LOG_CAP} messages"));
    root.remove();
    style.remove();
}

/// A mount dropped takes away all it put in its host, its slot's two comments too, and
/// leaves what was there before: the fleet view mounts a console into the same host each
/// time a device is opened.
#[wasm_bindgen_test]
fn a_dropped_mount_leaves_its_host_as_it_found_it() {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    host.append_child(&document.create_element("span").unwrap())
        .unwrap();
    let at = thingsim::shell::dom::Node::of(&host);
    for _ in 0..3 {
        let mount = thingsim::mount_with(&at, |at| {
            at.html("<p>mounted</p>");
        });
        assert!(host.child_nodes().length() > 1);
        drop(mount);
        assert_eq!(host.child_nodes().length(), 1, "{}", host.inner_html());
        assert_eq!(host.inner_html(), "<span></span>");
    }
}
