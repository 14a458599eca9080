//! `thingsim::testing` as another project would use it in its own wasm-bindgen-test: start a
//! virtual device against the project's broker, make its backend act (here: a plain MQTT client
//! publishing a shadow delta), and wait for the device's state.

#![cfg(target_arch = "wasm32")]

mod common;

use common::{WS_URL, start, unique};
use serde_json::{Value, json};
use thingsim::testing::{Error, Setup, VirtualDevice};
use thingsim_mqtt::{Command, Message, Options, Qos};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_virtual_lamp_applies_what_the_backend_sends_and_says_so() {
    let thing = unique("api-lamp");
    let lamp = VirtualDevice::start(Setup::new(WS_URL, &thing, "smart-light").seed(3))
        .expect("a valid setup");
    lamp.connected(10_000)
        .await
        .expect("connected and subscribed");

    // "The backend": a delta for the lamp, as a cloud would publish it.
    let (backend, _events) = start(Options::new(format!("backend-{thing}")));
    backend.command(Command::Publish(Message::new(
        format!("$emqx/things/{thing}/shadow/update/delta"),
        json!({ "version": 2, "timestamp": 1_748_390_400, "state": { "on": true, "brightness": 42 } })
            .to_string(),
        Qos::AtLeastOnce,
    )));
    let state = lamp
        .wait_for("brightness 42", 10_000, |s| {
            s.get("brightness") == Some(&json!(42.0)) || s.get("brightness") == Some(&json!(42))
        })
        .await
        .expect("the delta applied");
    assert_eq!(state.get("on"), Some(&Value::Bool(true)));

    // A person at the device.
    lamp.set("on", Value::Bool(false));
    lamp.wait_for("the lamp off", 5_000, |s| {
        s.get("on") == Some(&Value::Bool(false))
    })
    .await
    .expect("the device reports its own change");

    // A wait that cannot succeed says what it waited for and what it saw.
    match lamp
        .wait_for("a colour it never gets", 100, |s| {
            s.get("color") == Some(&json!("#000001"))
        })
        .await
    {
        Err(Error::Timeout { what, state, .. }) => {
            assert_eq!(what, "a colour it never gets");
            assert!(state.contains("\"on\":false"), "{state}");
        }
        other => panic!("{other:?}"),
    }
    lamp.stop();
    backend.stop();
}

#[wasm_bindgen_test]
fn a_bad_setup_is_refused_with_the_reason() {
    let refused = |setup| {
        VirtualDevice::start(setup)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(refused(Setup::new("http://x/mqtt", "a", "smart-light")).starts_with("broker URL"));
    assert!(refused(Setup::new(WS_URL, "kitchen/#", "smart-light")).starts_with("thing name"));
    let why = refused(Setup::new(WS_URL, "a", "toaster"));
    assert!(
        why.contains("toaster") && why.contains("thermostat"),
        "{why}"
    );
}
