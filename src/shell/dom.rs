//! Elements built by hand, for the panels whose markup follows data: the device panel's
//! controls (one per property of the template) and the fleet grid's cards.
//!
//! Leptos compiles each `view!` into code of its own for that view's exact type (its build,
//! its rebuild, its attributes one by one); the console's views weigh about 70 KB of the
//! module's gzip. Built here, an element is a few calls into functions every panel shares,
//! and a reactive part is one effect (the component's) that writes one property. The
//! components say what to build through [`Node`]; only this module touches the DOM.

use leptos::prelude::StoredValue;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, Event, HtmlElement, HtmlInputElement, HtmlMeterElement, HtmlSelectElement};

/// An element of the page.
#[derive(Clone, PartialEq)]
pub struct Node(Element);

impl Node {
    /// The element a `NodeRef` holds.
    pub fn of(el: &impl AsRef<Element>) -> Self {
        Self(el.as_ref().clone())
    }

    /// A new `tag` element, classed `class` (none when empty), appended. `None` only when the
    /// browser refuses to create it.
    pub fn child(&self, tag: &str, class: &str) -> Option<Self> {
        let el = self.0.owner_document()?.create_element(tag).ok()?;
        if !class.is_empty() {
            el.set_class_name(class);
        }
        self.0.append_child(&el).ok()?;
        Some(Self(el))
    }

    /// Sets each `(name, value)` attribute.
    pub fn attrs(&self, pairs: &[(&str, &str)]) {
        for (name, value) in pairs {
            let _ = self.0.set_attribute(name, value);
        }
    }

    /// Sets the class.
    pub fn class(&self, class: &str) {
        self.0.set_class_name(class);
    }

    /// Sets the text (`None` empties the element).
    pub fn text(&self, text: Option<&str>) {
        self.0.set_text_content(text);
    }

    /// The text.
    pub fn text_of(&self) -> String {
        self.0.text_content().unwrap_or_default()
    }

    /// Sets one CSS property of the element's own style (through the CSSOM, which the page's
    /// CSP allows where it refuses a `style` attribute).
    pub fn style(&self, property: &str, value: &str) {
        if let Some(el) = self.0.dyn_ref::<HtmlElement>() {
            let _ = el.style().set_property(property, value);
        }
    }

    /// An `<input>`'s `checked`.
    pub fn set_checked(&self, on: bool) {
        if let Some(input) = self.0.dyn_ref::<HtmlInputElement>() {
            input.set_checked(on);
        }
    }

    /// An `<input>`'s or a `<select>`'s `value`.
    pub fn set_value(&self, value: &str) {
        if let Some(input) = self.0.dyn_ref::<HtmlInputElement>() {
            input.set_value(value);
        } else if let Some(select) = self.0.dyn_ref::<HtmlSelectElement>() {
            select.set_value(value);
        }
    }

    /// A `<meter>`'s `value`.
    pub fn set_amount(&self, value: f64) {
        if let Some(meter) = self.0.dyn_ref::<HtmlMeterElement>() {
            meter.set_value(value);
        }
    }

    /// Puts `child` (new, or moved from where it was) before `next`, or last.
    pub fn insert(&self, child: &Self, next: Option<&Self>) {
        let _ = self.0.insert_before(&child.0, next.map(|n| &*n.0));
    }

    /// Takes the element out of the page.
    pub fn remove(&self) {
        self.0.remove();
    }

    /// Calls `f` with a control's `checked` at each `change`, for as long as the reactive owner
    /// that called this lives (a panel's): the listener is dropped with it.
    pub fn on_checked(&self, f: impl Fn(bool) + 'static) {
        self.on("change", move |ev| {
            f(leptos::prelude::event_target_checked(&ev))
        });
    }

    /// Calls `f` with a control's value at each `change` (see [`Node::on_checked`]).
    pub fn on_value(&self, f: impl Fn(String) + 'static) {
        self.on("change", move |ev| {
            f(leptos::prelude::event_target_value(&ev))
        });
    }

    /// Calls `f` with a number input's value at each `change`, when it is a number (see
    /// [`Node::on_checked`]).
    pub fn on_number(&self, f: impl Fn(f64) + 'static) {
        self.on("change", move |ev| {
            if let Some(v) = super::page::input_number(&ev) {
                f(v);
            }
        });
    }

    fn on(&self, event: &str, f: impl Fn(Event) + 'static) {
        listen(&self.0, event, Box::new(f));
    }
}

fn listen(el: &Element, event: &str, f: Box<dyn Fn(Event)>) {
    let listener = Closure::wrap(f);
    let _ = el.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
    StoredValue::new_local(listener);
}

/// The element matching `selector` nearest to `event`'s target, itself included: which of
/// many alike elements one listener above them heard.
pub fn closest(event: &Event, selector: &str) -> Option<Node> {
    event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|el| el.closest(selector).ok().flatten())
        .map(Node)
}
