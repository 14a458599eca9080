//! Device faces: each template drawn in SVG from the device's reported state, so a projector
//! shows the light turning on. Changes animate in CSS (`style/main.css`, "faces"); the controls
//! on a face are buttons (pointer and keyboard, with accessible names) that set a property, the
//! same as the form controls. A new template brings its face as a module here and one line in
//! [`device_face`].
//!
//! Each face is one SVG literal, static art included (as code, its elements weighed about
//! 15 KB gzip for six faces); only what changes is bound.

mod door_lock;
mod energy_meter;
mod environment_sensor;
mod smart_light;
mod smart_plug;
mod thermostat;

use serde_json::Value;
use thingsim_console::panels::fixed;
use thingsim_fleet::model::{Kind, Template};
use thingsim_fleet::shadow::state::State;
use thingsim_reactive::*;

use crate::shell::dom::{Node, Part};

/// What every face is given.
#[derive(Clone, Copy)]
pub(crate) struct Face {
    pub(crate) template: &'static Template,
    pub(crate) state: Memo<State>,
    pub(crate) on_set: Callback<(String, Value)>,
}

impl Face {
    /// A number the device reports (`min` of its range when it has not yet).
    pub(crate) fn num(self, key: &'static str) -> impl Fn() -> f64 + Copy + 'static {
        let fallback = self.range(key).0;
        let state = self.state;
        move || state.with(|s| s.get(key).and_then(Value::as_f64).unwrap_or(fallback))
    }

    /// A switch the device reports.
    pub(crate) fn on(self, key: &'static str) -> impl Fn() -> bool + Copy + 'static {
        let state = self.state;
        move || state.with(|s| s.get(key) == Some(&Value::Bool(true)))
    }

    /// A text the device reports.
    pub(crate) fn text(self, key: &'static str) -> impl Fn() -> String + Copy + 'static {
        let state = self.state;
        move || {
            state.with(|s| {
                s.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
        }
    }

    /// A property's range and step, from the template.
    pub(crate) fn range(self, key: &str) -> (f64, f64, f64) {
        self.template
            .property(key)
            .and_then(|p| match p.kind {
                Kind::Number { min, max, step, .. } => Some((min, max, step)),
                _ => None,
            })
            .unwrap_or((0.0, 100.0, 1.0))
    }

    /// Where `value` sits in the property's range, 0 to 1.
    pub(crate) fn share(self, key: &'static str, value: f64) -> f64 {
        let (min, max, _) = self.range(key);
        if max > min {
            ((value - min) / (max - min)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Sets a property, as the form's control would.
    pub(crate) fn set(self, key: &'static str, value: Value) {
        self.on_set.run((key.to_owned(), value));
    }

    /// Flips a switch.
    pub(crate) fn toggle(self, key: &'static str) {
        // Read as it is now, in the click: no derived signal made per press.
        let now = self
            .state
            .with_untracked(|s| s.get(key) == Some(&Value::Bool(true)));
        self.set(key, Value::Bool(!now));
    }

    /// Moves a number by `steps` of its step, within its range.
    pub(crate) fn nudge(self, key: &'static str, steps: f64) {
        let (min, max, step) = self.range(key);
        let now = self
            .state
            .with_untracked(|s| s.get(key).and_then(Value::as_f64))
            .unwrap_or(min);
        let next = (now + steps * step).clamp(min, max);
        // Rounded to the step, so 0.1 steps do not drift into 21.300000000000004.
        let next = (next / step).round() * step;
        self.set(key, Value::from((next * 1000.0).round() / 1000.0));
    }
}

/// A button's accessible name, as its state says it.
type Spoken = Box<dyn Fn() -> String>;

/// Makes the face's button `testid` (a focusable `role="button"` group of its markup) call
/// `press` at a click, Enter or Space. A name that follows the state (`label`) is kept in its
/// `aria-label` and its `<title>` (what a pointer shows); a fixed one is in the markup. Not
/// generic, so the nine buttons of the six faces share one copy of this code.
fn button(made: &Part, testid: &str, press: Box<dyn Fn()>, label: Option<Spoken>) {
    let node = made.part(testid);
    node.on_press(press);
    if let Some(label) = label {
        let title = made.find(&format!("[data-testid=\"{testid}\"] > title"));
        // Each written only when it changed, as Leptos's rebuild did.
        let label: std::rc::Rc<dyn Fn() -> String> = label.into();
        let said = label.clone();
        super::attr(&node, "aria-label", move || Some(said()));
        super::text(&title, move || label());
    }
}

/// A number for a face: no more decimals than the step has.
pub(crate) fn shown(value: f64, step: f64) -> String {
    if step >= 1.0 {
        fixed(value, 0)
    } else {
        fixed(value, 1)
    }
}

/// The device's face for `template` (the device model), drawn from `state` (its reported
/// state), built into `at`; a control on the face calls `on_set` with a property and its new
/// value. A template without a face gets a note instead.
pub fn device_face(
    at: &Node,
    template: &'static Template,
    state: Memo<State>,
    on_set: Callback<(String, Value)>,
) {
    let face = Face {
        template,
        state,
        on_set,
    };
    let build: fn(&Node, Face) = match template.id {
        "thermostat" => thermostat::build,
        "smart-light" => smart_light::build,
        "door-lock" => door_lock::build,
        "energy-meter" => energy_meter::build,
        "environment-sensor" => environment_sensor::build,
        "smart-plug" => smart_plug::build,
        _ => {
            at.html(
                r#"<p class="muted">This template has no face yet; its controls are below.</p>"#,
            );
            return;
        }
    };
    let drawn = at
        .html(r#"<div class="face" data-testid="device-face"></div>"#)
        .root();
    drawn.attrs(&[("data-template", template.id)]);
    build(&drawn, face);
}
