//! Elements built by hand, for the panels whose markup follows a template's properties.
//!
//! Leptos compiles each `view!` into code of its own for that view's exact type (its build,
//! its rebuild, its attributes one by one); the console's views were about 70 KB of the
//! module's gzip. Built here, an element is a few calls into functions every panel shares,
//! and a reactive part is one effect (`components::effect`) that writes one property.

use leptos::prelude::StoredValue;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, Event};

/// A new `tag` element, classed `class` (none when empty), appended to `parent`. `None` only
/// when the browser refuses to create it.
pub fn child(parent: &Element, tag: &str, class: &str) -> Option<Element> {
    let el = parent.owner_document()?.create_element(tag).ok()?;
    if !class.is_empty() {
        el.set_class_name(class);
    }
    parent.append_child(&el).ok()?;
    Some(el)
}

/// Sets each `(name, value)` attribute.
pub fn attrs(el: &Element, pairs: &[(&str, &str)]) {
    for (name, value) in pairs {
        let _ = el.set_attribute(name, value);
    }
}

/// Calls `f` on each `event` at `el`, for as long as the reactive owner that called this
/// lives (a panel's): the listener is dropped with it.
pub fn on(el: &Element, event: &str, f: impl Fn(Event) + 'static) {
    on_boxed(el, event, Box::new(f));
}

fn on_boxed(el: &Element, event: &str, f: Box<dyn Fn(Event)>) {
    let listener = Closure::wrap(f);
    let _ = el.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
    StoredValue::new_local(listener);
}

/// Keeps `el`'s text what `text` gives, as its reads change.
pub fn text(el: &Element, text: impl Fn() -> String + 'static) {
    let el = el.clone();
    crate::components::effect(move || el.set_text_content(Some(&text())));
}

/// `el` as the element type it is (an `<input>`, a `<select>`), to reach its properties.
pub fn cast<T: JsCast>(el: &Element) -> Option<T> {
    el.clone().dyn_into().ok()
}

/// Sets one CSS property of `el`'s own style (through the CSSOM, which the page's CSP allows
/// where it refuses a `style` attribute).
pub fn style(el: &Element, property: &str, value: &str) {
    if let Some(el) = cast::<web_sys::HtmlElement>(el) {
        let _ = el.style().set_property(property, value);
    }
}

/// The element matching `selector` nearest to `event`'s target, itself included.
pub fn closest(event: &Event, selector: &str) -> Option<Element> {
    event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|el| el.closest(selector).ok().flatten())
}
