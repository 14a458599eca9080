//! Elements built by hand: every panel of the console, and the fleet grid's cards.
//!
//! Leptos compiles each `view!` into code of its own for that view's exact type (its build,
//! its rebuild, its attributes one by one): the console's views and Leptos's view layer weighed
//! about 45 KB of the module's gzip. Here a panel's static markup is a string from our own
//! source, parsed by the browser ([`Node::html`]); what changes is found in it by
//! `data-testid` ([`Part::part`]) and written by one effect each (the component's), through
//! functions every panel shares. The components say what to build; only this module touches
//! the DOM.
//!
//! What a peer or a user sent never goes into markup: it goes in through [`Node::text`] and
//! the attribute setters, which the browser does not parse.

use thingsim_reactive::StoredValue;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{
    Element, Event, HtmlElement, HtmlInputElement, HtmlMeterElement, HtmlSelectElement,
    HtmlTextAreaElement, KeyboardEvent,
};

/// A place among a parent's children, between two comments, whose content is built again
/// and again ([`Node::slot`]).
#[derive(Clone)]
struct Marks {
    start: web_sys::Node,
    end: web_sys::Node,
}

/// An element of the page; in a slot ([`Node::slot`]), what is built goes into the slot.
#[derive(Clone)]
pub struct Node(Element, Option<Marks>);

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Node {
    /// The element a `NodeRef` holds.
    pub fn of(el: &impl AsRef<Element>) -> Self {
        Self(el.as_ref().clone(), None)
    }

    /// The page's `<body>`, for the app's root. `None` without a document.
    pub fn body() -> Option<Self> {
        let body = web_sys::window()?.document()?.body()?;
        Some(Self(body.into(), None))
    }

    /// A new `tag` element, classed `class` (none when empty), appended. `None` only when the
    /// browser refuses to create it.
    pub fn child(&self, tag: &str, class: &str) -> Option<Self> {
        let el = self.0.owner_document()?.create_element(tag).ok()?;
        if !class.is_empty() {
            el.set_class_name(class);
        }
        self.put(&el)?;
        Some(Self(el, None))
    }

    /// Appends `node` (before the slot's end, in a slot).
    fn put(&self, node: &web_sys::Node) -> Option<()> {
        match &self.1 {
            Some(marks) => self.0.insert_before(node, Some(&marks.end)).ok()?,
            None => self.0.append_child(node).ok()?,
        };
        Some(())
    }

    /// Appends `markup`, which must be a literal of our source, never data (see the module's
    /// docs), and returns what it made, to find its parts in. SVG goes in whole (`<svg>…`):
    /// the markup is parsed as HTML.
    pub fn html(&self, markup: &'static str) -> Part {
        let mut made = Vec::new();
        let parsed = self
            .0
            .owner_document()
            .and_then(|d| d.create_element("div").ok());
        if let Some(parsed) = &parsed {
            parsed.set_inner_html(markup);
            while let Some(node) = parsed.first_child() {
                if self.put(&node).is_none() {
                    break;
                }
                if let Ok(el) = node.dyn_into::<Element>() {
                    made.push(el);
                }
            }
        }
        // A mistake in the markup finds this detached element (or, without a document to
        // make one, this one's own): it shows in the tests as a missing element, not as a
        // panic in the page.
        let spare = parsed.unwrap_or_else(|| self.0.clone());
        Part(made, spare)
    }

    /// A place at the end of this element (or of this slot) whose content [`Node::clear`]
    /// takes away, so that it can be built again. Built into, the slot keeps its place among
    /// its siblings.
    pub fn slot(&self) -> Self {
        let marks = self.0.owner_document().and_then(|d| {
            let start: web_sys::Node = d.create_comment("").into();
            let end: web_sys::Node = d.create_comment("").into();
            self.put(&start)?;
            self.put(&end)?;
            Some(Marks { start, end })
        });
        Self(self.0.clone(), marks)
    }

    /// What has the focus in an item of this element's lists, to find it again once they
    /// are built anew: the `data-key` of the item (an element with one) and the focused
    /// element's `data-testid`. `None` when the focus is in no such item.
    pub fn focused(&self) -> Option<(String, String)> {
        let active = self.0.owner_document()?.active_element()?;
        let item = active.closest("[data-key]").ok()??;
        if !self.0.contains(Some(&item)) {
            return None;
        }
        Some((
            item.get_attribute("data-key")?,
            active.get_attribute("data-testid")?,
        ))
    }

    /// Gives the focus back to what [`Node::focused`] described, if it is there again.
    pub fn refocus(&self, (key, testid): &(String, String)) {
        let Ok(items) = self.0.query_selector_all("[data-key]") else {
            return;
        };
        let item = (0..items.length())
            .filter_map(|i| items.get(i)?.dyn_into::<Element>().ok())
            .find(|item| item.get_attribute("data-key").as_ref() == Some(key));
        let target = item.and_then(|item| {
            item.query_selector(&format!("[data-testid=\"{testid}\"]"))
                .ok()
                .flatten()
        });
        if let Some(html) = target.as_ref().and_then(|t| t.dyn_ref::<HtmlElement>()) {
            let _ = html.focus();
        }
    }

    /// Takes a slot away whole, its two comments with its content (an element that is not a
    /// slot is only emptied): what [`Node::slot`] put in its parent goes with what it held.
    pub fn remove_slot(&self) {
        self.clear();
        if let Some(marks) = &self.1 {
            let _ = self.0.remove_child(&marks.start);
            let _ = self.0.remove_child(&marks.end);
        }
    }

    /// Empties the slot (or the element, outside a slot).
    pub fn clear(&self) {
        match &self.1 {
            None => self.0.set_text_content(None),
            Some(marks) => {
                while let Some(next) = marks.start.next_sibling() {
                    if next == marks.end || self.0.remove_child(&next).is_err() {
                        break;
                    }
                }
            }
        }
    }

    /// Sets the attribute `name`, or removes it (`None`).
    pub fn attr(&self, name: &str, value: Option<&str>) {
        let _ = match value {
            Some(value) => self.0.set_attribute(name, value),
            None => self.0.remove_attribute(name),
        };
    }

    /// Scrolls the element's content to `top` pixels from its start.
    pub fn scroll_to(&self, top: i32) {
        self.0.set_scroll_top(top);
    }

    /// Whether the attribute `name` is there (a `<details>`' `open`).
    pub fn has(&self, name: &str) -> bool {
        self.0.has_attribute(name)
    }

    /// Adds or removes one class.
    pub fn toggle(&self, class: &str, on: bool) {
        let _ = self.0.class_list().toggle_with_force(class, on);
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

    /// An `<input>`'s, a `<textarea>`'s or a `<select>`'s `value`.
    pub fn set_value(&self, value: &str) {
        if let Some(input) = self.0.dyn_ref::<HtmlInputElement>() {
            input.set_value(value);
        } else if let Some(area) = self.0.dyn_ref::<HtmlTextAreaElement>() {
            area.set_value(value);
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
        self.on("change", move |ev| f(event_checked(&ev)));
    }

    /// Calls `f` with a control's value at each `change` (see [`Node::on_checked`]).
    pub fn on_value(&self, f: impl Fn(String) + 'static) {
        self.on("change", move |ev| f(event_value(&ev)));
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

    /// Calls `f` with a control's value at each `input` (each keystroke; see
    /// [`Node::on_checked`]).
    pub fn on_input(&self, f: impl Fn(String) + 'static) {
        self.on("input", move |ev| f(event_value(&ev)));
    }

    /// Calls `f` at each click (see [`Node::on_checked`]).
    pub fn on_click(&self, f: impl Fn() + 'static) {
        self.on("click", move |_| f());
    }

    /// Calls `f` when the form is submitted, which stays in the page (see
    /// [`Node::on_checked`]).
    pub fn on_submit(&self, f: impl Fn() + 'static) {
        self.on("submit", move |ev| {
            ev.prevent_default();
            f();
        });
    }

    /// Calls `f` at a click, Enter or Space: a button that is not a `<button>` (an SVG
    /// group with `role="button"`; see [`Node::on_checked`]).
    pub fn on_press(&self, f: impl Fn() + 'static) {
        let f = std::rc::Rc::new(f);
        let click = f.clone();
        self.on("click", move |_| click());
        self.on("keydown", move |ev| {
            if let Some(key) = ev.dyn_ref::<KeyboardEvent>()
                && matches!(key.key().as_str(), "Enter" | " ")
            {
                ev.prevent_default();
                f();
            }
        });
    }

    /// Calls `f` with each `event` (see [`Node::on_checked`]), for the shell's functions that
    /// read it.
    pub fn on(&self, event: &str, f: impl Fn(Event) + 'static) {
        listen(&self.0, event, Box::new(f));
    }

    /// The element itself, for the shell's functions that take one.
    pub fn element(&self) -> &Element {
        &self.0
    }
}

/// The elements some markup made ([`Node::html`]).
pub struct Part(Vec<Element>, Element);

impl Part {
    /// The element whose `data-testid` is `testid`.
    pub fn part(&self, testid: &str) -> Node {
        self.find(&format!("[data-testid=\"{testid}\"]"))
    }

    /// The first element that matches `selector`, the made ones included (or a detached
    /// element: see [`Node::html`]).
    pub fn find(&self, selector: &str) -> Node {
        let found = self.0.iter().find_map(|el| {
            if el.matches(selector).unwrap_or(false) {
                Some(el.clone())
            } else {
                el.query_selector(selector).ok().flatten()
            }
        });
        Node(found.unwrap_or_else(|| self.1.clone()), None)
    }

    /// The first element made: the root of markup that has one.
    pub fn root(&self) -> Node {
        Node(self.0.first().unwrap_or(&self.1).clone(), None)
    }
}

fn listen(el: &Element, event: &str, f: Box<dyn Fn(Event)>) {
    let listener = Closure::wrap(f);
    let _ = el.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
    StoredValue::new(listener);
}

/// The element matching `selector` nearest to `event`'s target, itself included: which of
/// many alike elements one listener above them heard.
pub fn closest(event: &Event, selector: &str) -> Option<Node> {
    event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|el| el.closest(selector).ok().flatten())
        .map(|el| Node(el, None))
}

/// The value of the control `event` came from. Inputs, selects and textareas all have a
/// `value`, and the binding reads it by name, so one cast serves the three.
fn event_value(event: &Event) -> String {
    event
        .target()
        .map(|t| t.unchecked_into::<HtmlInputElement>().value())
        .unwrap_or_default()
}

/// Whether the checkbox `event` came from is checked.
fn event_checked(event: &Event) -> bool {
    event
        .target()
        .is_some_and(|t| t.unchecked_into::<HtmlInputElement>().checked())
}
