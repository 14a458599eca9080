//! Presentational components: props in, callbacks out, no protocol logic.

pub mod cloud_panel;
pub mod commands_panel;
pub mod connection_form;
pub mod device_panel;
pub mod faces;
#[cfg(feature = "fleet")]
pub mod fleet;
pub mod job_panel;
pub mod message_log;
pub mod shadow_panel;
pub mod status_line;
pub mod telemetry_panel;

pub use cloud_panel::cloud_panel;
pub use commands_panel::commands_panel;
pub use connection_form::connection_form;
pub use device_panel::device_panel;
pub use faces::device_face;
#[cfg(feature = "fleet")]
pub use fleet::{FleetGrid, FleetGroups, FleetMetrics};
pub use job_panel::job_panel;
pub use message_log::{Direction, LogStore, message_log};
pub use shadow_panel::shadow_panel;
pub use status_line::{deaf_note, status_line};
pub use telemetry_panel::telemetry_panel;

use thingsim_reactive::{RwSignal, effect};

use crate::shell::dom::Node;

/// Keeps `node`'s text equal to `text()`.
pub(crate) fn text(node: &Node, text: impl Fn() -> String + 'static) {
    bound(node.clone(), Box::new(move || Some(text())), as_text());
}

/// Keeps the attribute `name` equal to `value()` (absent while `None`).
pub(crate) fn attr(node: &Node, name: &'static str, value: impl Fn() -> Option<String> + 'static) {
    bound(node.clone(), Box::new(value), as_attr(name));
}

// The writers are made outside the generic functions above, so each is compiled once.
fn as_text() -> Write {
    Box::new(|node, text| node.text(text))
}

fn as_attr(name: &'static str) -> Write {
    Box::new(move |node, value| node.attr(name, value))
}

/// How a bound value is written: as the node's text, or as one of its attributes.
type Write = Box<dyn Fn(&Node, Option<&str>)>;

/// Keeps what `write` writes on `node` equal to `value()`, writing only what changed: a text
/// or an attribute set again to the same value would still be a change of the DOM (styles
/// matched again, the face's SVG drawn again), where Leptos's rebuild wrote nothing.
fn bound(node: Node, value: Box<dyn Fn() -> Option<String>>, write: Write) {
    let shown = std::cell::RefCell::new(None::<Option<String>>);
    effect(move || {
        let now = value();
        if shown.borrow().as_ref() != Some(&now) {
            write(&node, now.as_deref());
            *shown.borrow_mut() = Some(now);
        }
    });
}

/// Keeps `class` on `node` while `on()`.
pub(crate) fn class(node: &Node, class: &'static str, on: impl Fn() -> bool + 'static) {
    bound_class(node.clone(), class, Box::new(on));
}

fn bound_class(node: Node, class: &'static str, on: Box<dyn Fn() -> bool>) {
    effect(move || node.toggle(class, on()));
}

/// Keeps a text field (an input or a textarea) and `value` equal both ways: the field shows
/// the value, and what the user types becomes it.
pub(crate) fn two_way(field: &Node, value: RwSignal<String>) {
    let shown = field.clone();
    effect(move || value.with(|v| shown.set_value(v)));
    field.on_input(move |v| value.set(v));
}

/// A part of a panel built again, in its place among `at`'s children, whenever what `build`
/// reads changes: Leptos's `move || view!` of a panel built by hand. What `build` set up (its
/// effects, its listeners) goes with the content it built: they belong to this effect's
/// owner, which is cleaned before each run.
pub(crate) fn region(at: &Node, build: impl Fn(&Node) + 'static) {
    bound_region(at.slot(), Box::new(build));
}

fn bound_region(slot: Node, build: Box<dyn Fn(&Node)>) {
    effect(move || {
        // Built anew, a list gives the focus back to the control that had it in its item
        // (found by its `data-key`), as Leptos's rebuild in place kept it.
        let focus = slot.focused();
        slot.clear();
        build(&slot);
        if let Some(focus) = focus {
            slot.refocus(&focus);
        }
    });
}

/// `HH:MM:SS` (UTC) of epoch milliseconds: the time of day every panel shows.
fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}
