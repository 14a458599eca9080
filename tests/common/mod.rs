//! Helpers shared by the browser tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use thingsim::shell::client::{self, ClientEvent, ClientHandle};
use thingsim_mqtt::{BrokerUrl, Options};

/// The WebSocket listener of the mosquitto that `make test` starts on a free port. Baked in at
/// compile time because the test runs inside the browser, which has no environment.
pub(crate) const WS_URL: &str = match option_env!("THINGSIM_TEST_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:8083/mqtt",
};

/// The WebSocket listener of the strict mosquitto `make test` starts beside it: Maximum Packet
/// Size 256, Receive Maximum 2, no retained messages, keep-alive at most 10 s
/// (config/mosquitto-strict.conf).
pub(crate) const STRICT_WS_URL: &str = match option_env!("THINGSIM_TEST_STRICT_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:8093/mqtt",
};

/// A name no other test run uses, so retained or queued messages of an earlier run never leak in.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e9) as u64)
}

/// A client whose events arrive on a channel.
pub(crate) fn start(options: Options) -> (ClientHandle, UnboundedReceiver<ClientEvent>) {
    start_on(WS_URL, options)
}

/// A client of the broker at `url` whose events arrive on a channel.
pub(crate) fn start_on(
    url: &str,
    options: Options,
) -> (ClientHandle, UnboundedReceiver<ClientEvent>) {
    let (tx, rx) = unbounded();
    let url = BrokerUrl::parse(url).expect("the test broker's URL is a ws:// URL");
    let handle = client::connect(url, options, 7, move |e| {
        let _ = tx.unbounded_send(e);
    });
    (handle, rx)
}

/// The first event that `pick` accepts within 10 s; every other event is skipped.
pub(crate) async fn expect<T>(
    rx: &mut UnboundedReceiver<ClientEvent>,
    what: &str,
    mut pick: impl FnMut(ClientEvent) -> Option<T>,
) -> T {
    let deadline = js_sys::Date::now() + 10_000.0;
    loop {
        let left = (deadline - js_sys::Date::now()).max(0.0) as u32;
        match select(rx.next(), TimeoutFuture::new(left)).await {
            Either::Left((Some(event), _)) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Either::Left((None, _)) => panic!("client ended while waiting for {what}"),
            Either::Right(_) => panic!("timed out waiting for {what} (broker at {WS_URL})"),
        }
    }
}

/// Polls `cond` every 25 ms for up to 10 s.
pub(crate) async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = js_sys::Date::now() + 10_000.0;
    while !cond() {
        assert!(
            js_sys::Date::now() < deadline,
            "timed out waiting until {what}"
        );
        TimeoutFuture::new(25).await;
    }
}
