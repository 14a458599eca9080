//! The page around the app: its URL, localStorage, visibility, downloads.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

const SETTINGS_KEY: &str = "thingsim.settings";

/// The page URL's query string (`?…`), or empty.
pub fn query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Saved settings, if any (private windows and embeds without storage give `None`).
pub fn load_settings() -> Option<String> {
    storage().and_then(|s| s.get_item(SETTINGS_KEY).ok().flatten())
}

/// Saves settings; returns whether the browser kept them.
pub fn save_settings(json: &str) -> bool {
    storage().is_some_and(|s| s.set_item(SETTINGS_KEY, json).is_ok())
}

/// Calls `f` whenever the page becomes visible again. The listener lives as long as the page.
pub fn on_visible(f: impl Fn() + 'static) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let doc = document.clone();
    let listener = Closure::<dyn Fn()>::new(move || {
        if doc.visibility_state() == web_sys::VisibilityState::Visible {
            f();
        }
    });
    let _ = document
        .add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
    listener.forget();
}

/// Offers `text` as a file download named `name`.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| "the browser refused to build the file")?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "the browser refused a download URL")?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "no anchor")?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Where a scrolled element stands: its scroll offset, and whether it is at the bottom (within
/// `slack` pixels).
pub fn scroll_position(event: &web_sys::Event, slack: f64) -> Option<(f64, bool)> {
    let el: web_sys::Element = event.target()?.dyn_into().ok()?;
    let top = f64::from(el.scroll_top());
    let bottom = f64::from(el.scroll_height() - el.client_height());
    Some((top, top >= bottom - slack))
}

/// Sets (or with `None` removes) an attribute of the root element, which the style sheet reads:
/// `data-theme` fixes the page's colours, `data-streaming` stills the faces' transitions.
pub fn set_root_attribute(name: &str, value: Option<&str>) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let _ = match value {
        Some(v) => root.set_attribute(name, v),
        None => root.remove_attribute(name),
    };
}

/// Calls `f(origin, message)` for each message posted to this page from an origin `from`
/// accepts whose data is JSON-shaped (an object from `postMessage`); a message from any other
/// origin is not read at all. The listener lives as long as the page. The origin is the
/// browser's, which the sender cannot forge.
pub fn on_message(
    from: impl Fn(&str) -> bool + 'static,
    f: impl Fn(&str, serde_json::Value) + 'static,
) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let listener =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let origin = event.origin();
            if !from(&origin) {
                return;
            }
            let text = js_sys::JSON::stringify(&event.data())
                .ok()
                .and_then(|s| s.as_string());
            if let Some(value) = text.and_then(|t| thingsim_fleet::json::value(t.as_bytes()).ok()) {
                f(&origin, value);
            }
        });
    let _ = window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    listener.forget();
}

/// Posts `message` to the page that embeds this one, only if that page is at `origin` (the
/// browser drops it otherwise).
pub fn post_to_parent(origin: &str, message: &serde_json::Value) {
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
        return;
    };
    if let Ok(data) = js_sys::JSON::parse(&thingsim_fleet::json::text(message)) {
        let _ = parent.post_message(&data, origin);
    }
}

/// The number an `<input type="range|number">` holds, as the browser reads it (`valueAsNumber`):
/// no float parser in the module for it (core's would bring 10 KB of tables).
pub fn input_number(event: &web_sys::Event) -> Option<f64> {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| input.value_as_number())
        .filter(|v| v.is_finite())
}

const GUIDE_KEY: &str = "thingsim.guide";

/// Whether the first-visit guide was dismissed in this browser.
pub fn guide_dismissed() -> bool {
    storage().is_some_and(|s| s.get_item(GUIDE_KEY).ok().flatten().is_some())
}

/// Remembers that the guide was dismissed.
pub fn dismiss_guide() {
    if let Some(s) = storage() {
        let _ = s.set_item(GUIDE_KEY, "dismissed");
    }
}
