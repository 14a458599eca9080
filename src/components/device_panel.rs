use serde_json::Value;
use thingsim_fleet::model::{Kind, Property, Template, shown_number};
use thingsim_fleet::shadow::state::State;
use thingsim_reactive::*;

use crate::shell::dom::Node;

/// The device's properties as controls (writable) and readouts (read-only), generated from
/// `template` (the device model), built into `at`: `state` is the device's actual (reported)
/// state; a control calls `on_set` with the property's key and its new value. Sliders report
/// on release (`change`), so a drag becomes one report, not fifty. The rows are built by hand
/// (`shell::dom`): each is a few shared calls, where a `view!` per kind of control was code of
/// its own for each.
pub fn device_panel(
    at: &Node,
    template: &'static Template,
    state: Memo<State>,
    on_set: Callback<(String, Value)>,
) {
    let made = at.html(concat!(
        r#"<div class="device" data-testid="device-panel">"#,
        r#"<p class="device-name"></p><dl class="props"></dl>"#,
        "</div>"
    ));
    made.find(".device-name").text(Some(template.name));
    let dl = made.find(".props");
    for p in template.properties {
        property_row(&dl, *p, state, on_set);
    }
}

fn property_row(dl: &Node, p: Property, state: Memo<State>, on_set: Callback<(String, Value)>) {
    let (Some(dt), Some(dd)) = (dl.child("dt", ""), dl.child("dd", "")) else {
        return;
    };
    let id = format!("prop-{}", p.key);
    if let Some(label) = dt.child("label", "") {
        label.attrs(&[("for", &id)]);
        label.text(Some(p.label));
    }
    let value = move || state.with(|s| s.get(p.key).cloned().unwrap_or(Value::Null));
    let shown = move || match value() {
        Value::String(s) => s,
        Value::Null => "—".to_owned(),
        other => thingsim_fleet::json::text(&other),
    };
    let set = move |v: Value| on_set.run((p.key.to_owned(), v));
    match (p.kind, p.writable) {
        (Kind::Bool, true) => {
            let Some(input) = control(
                &dd,
                "input",
                &id,
                &[("type", "checkbox"), ("role", "switch")],
            ) else {
                return;
            };
            let checked = input.clone();
            effect(move || checked.set_checked(value() == Value::Bool(true)));
            input.on_checked(move |on| set(Value::Bool(on)));
        }
        (
            Kind::Number {
                min,
                max,
                step,
                unit,
            },
            true,
        ) => {
            let Some(slider) = dd.child("span", "slider") else {
                return;
            };
            let (min, max, step) = (shown_number(min), shown_number(max), shown_number(step));
            let range = [
                ("type", "range"),
                ("min", &*min),
                ("max", &*max),
                ("step", &*step),
            ];
            let Some(input) = control(&slider, "input", &id, &range) else {
                return;
            };
            let current = input.clone();
            effect(move || current.set_value(&shown()));
            input.on_number(move |v| set(Value::from(v)));
            if let Some(output) = slider.child("output", "") {
                output.attrs(&[("for", &id)]);
                super::text(&output, move || format!("{} {unit}", shown()));
            }
        }
        (Kind::Choice(options), true) => {
            let Some(select) = control(&dd, "select", &id, &[]) else {
                return;
            };
            for o in options {
                let Some(option) = select.child("option", "") else {
                    return;
                };
                option.attrs(&[("value", o)]);
                option.text(Some(o));
            }
            // The select's value, not an option's `selected`: once someone has chosen, the
            // browser no longer follows the attribute, and the device's choice would not show.
            let current = select.clone();
            // A value that is not one of the options (none yet) shows no option.
            effect(move || current.set_value(value().as_str().unwrap_or("")));
            select.on_value(move |v| set(Value::String(v)));
        }
        (Kind::Color, true) => {
            let Some(input) = control(&dd, "input", &id, &[("type", "color")]) else {
                return;
            };
            let current = input.clone();
            effect(move || current.set_value(&shown()));
            input.on_value(move |v| set(Value::String(v)));
        }
        (kind, _) => {
            let unit = match kind {
                Kind::Number { unit, .. } => unit,
                _ => "",
            };
            let Some(readout) = dd.child("span", "readout") else {
                return;
            };
            readout.attrs(&[("id", &id), ("data-testid", &id)]);
            super::text(&readout, move || format!("{} {unit}", shown()));
            // Readings within a known range also get a gauge.
            if let Kind::Number { min, max, .. } = kind
                && let Some(meter) = dd.child("meter", "")
            {
                meter.attrs(&[("min", &shown_number(min)), ("max", &shown_number(max))]);
                meter.attrs(&[("aria-hidden", "true")]);
                effect(move || meter.set_amount(value().as_f64().unwrap_or(min)));
            }
        }
    }
}

/// A control with its id, test id and `more` attributes.
fn control(parent: &Node, tag: &str, id: &str, more: &[(&str, &str)]) -> Option<Node> {
    let el = parent.child(tag, "")?;
    el.attrs(&[("id", id), ("data-testid", id)]);
    el.attrs(more);
    Some(el)
}
