//! MQTT over WebSocket: subprotocol `mqtt`, binary frames as `ArrayBuffer`.

use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// The handshake finished.
    Opened,
    /// One binary message: any slice of the MQTT byte stream.
    Data(Vec<u8>),
    /// The socket closed (by either side, or because it never opened).
    Closed {
        /// The WebSocket close code (1006: abnormal, e.g. refused).
        code: u16,
        /// The close reason, often empty.
        reason: String,
    },
}

/// A WebSocket that owns its callbacks and closes on drop (gloo's rule), so no closure is
/// leaked with `forget()` and a dropped transport never calls back.
pub struct WsTransport {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl WsTransport {
    /// Starts opening `url`; `on_event` hears about it. A URL the browser rejects outright
    /// (bad syntax, blocked port) is an `Err` with the browser's words.
    pub fn open(url: &str, on_event: impl Fn(TransportEvent) + 'static) -> Result<Self, String> {
        let early = early_socket(url);
        let already_open = early
            .as_ref()
            .is_some_and(|ws| ws.ready_state() == WebSocket::OPEN);
        let ws = match early {
            Some(ws) => ws,
            None => WebSocket::new_with_str(url, "mqtt").map_err(|e| js_error(&e))?,
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_event: Rc<dyn Fn(TransportEvent)> = Rc::new(on_event);

        let cb = Rc::clone(&on_event);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| cb(TransportEvent::Opened));
        let cb = Rc::clone(&on_event);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            // Text frames are not MQTT; [MQTT-6.0.0-1] says close, which the session does on
            // garbage, so hand them over as bytes and let it decide.
            let bytes = match e.data().dyn_into::<ArrayBuffer>() {
                Ok(buf) => Uint8Array::new(&buf).to_vec(),
                Err(other) => other.as_string().unwrap_or_default().into_bytes(),
            };
            cb(TransportEvent::Data(bytes));
        });
        let cb = Rc::clone(&on_event);
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            cb(TransportEvent::Closed {
                code: e.code(),
                reason: e.reason(),
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        if already_open {
            // Its open event fired before anyone listened; the caller queues what it hears.
            on_event(TransportEvent::Opened);
        }
        Ok(Self {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends one binary message.
    pub fn send(&self, bytes: &[u8]) -> Result<(), String> {
        self.ws.send_with_u8_array(bytes).map_err(|e| js_error(&e))
    }
}

impl Drop for WsTransport {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The socket `loader.js` opened for this URL while the module loaded (see there), if it is
/// still opening or open; claimed once, whatever its state. A refused or closed one is dropped:
/// a fresh attempt reports the failure in the page's words.
fn early_socket(url: &str) -> Option<WebSocket> {
    let global = js_sys::global();
    let key = wasm_bindgen::JsValue::from_str("thingsimEarlySocket");
    let early = js_sys::Reflect::get(&global, &key).ok()?;
    if early.is_undefined() {
        return None;
    }
    let _ = js_sys::Reflect::delete_property(global.unchecked_ref::<js_sys::Object>(), &key);
    let ws: WebSocket = js_sys::Reflect::get(&early, &"ws".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let same = js_sys::Reflect::get(&early, &"url".into())
        .ok()
        .and_then(|u| u.as_string())
        .is_some_and(|u| u == url);
    let live = matches!(ws.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN);
    if same && live {
        Some(ws)
    } else {
        let _ = ws.close();
        None
    }
}

/// A JS exception as text for the UI.
pub(crate) fn js_error(e: &wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
