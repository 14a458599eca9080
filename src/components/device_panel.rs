use leptos::html::Dl;
use leptos::prelude::*;
use serde_json::Value;
use thingsim_fleet::model::{Kind, Property, Template, shown_number};
use thingsim_fleet::shadow::state::State;
use web_sys::{Element, HtmlInputElement, HtmlMeterElement};

use crate::shell::dom::{attrs, cast, child, on, text};

/// The device's properties as controls (writable) and readouts (read-only), generated from the
/// template. Sliders report on release (`change`), so a drag becomes one report, not fifty.
/// The rows are built by hand (`shell::dom`): each is a few shared calls, where a `view!` per
/// kind of control was code of its own for each.
#[component]
pub fn DevicePanel(
    /// The device model.
    template: &'static Template,
    /// The device's actual (reported) state.
    state: Memo<State>,
    /// A control changed: property key and new value.
    on_set: Callback<(String, Value)>,
) -> impl IntoView {
    let props = NodeRef::<Dl>::new();
    super::effect(move || {
        // Once: the list is there from the first run on (`get` tracks only the mount).
        let Some(dl) = props.get() else { return };
        if dl.child_element_count() == 0 {
            for p in template.properties {
                property_row(&dl, *p, state, on_set);
            }
        }
    });
    view! {
        <div class="device" data-testid="device-panel">
            <p class="device-name">{template.name}</p>
            <dl class="props" node_ref=props></dl>
        </div>
    }
}

fn property_row(dl: &Element, p: Property, state: Memo<State>, on_set: Callback<(String, Value)>) {
    let (Some(dt), Some(dd)) = (child(dl, "dt", ""), child(dl, "dd", "")) else {
        return;
    };
    let id = format!("prop-{}", p.key);
    if let Some(label) = child(&dt, "label", "") {
        attrs(&label, &[("for", &id)]);
        label.set_text_content(Some(p.label));
    }
    let value = move || state.with(|s| s.get(p.key).cloned().unwrap_or(Value::Null));
    let shown = move || match value() {
        Value::String(s) => s,
        Value::Null => "—".to_owned(),
        other => other.to_string(),
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
            super::effect(move || checked.set_checked(value() == Value::Bool(true)));
            on(&input, "change", move |ev| {
                set(Value::Bool(event_target_checked(&ev)))
            });
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
            let Some(slider) = child(&dd, "span", "slider") else {
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
            super::effect(move || current.set_value(&shown()));
            on(&input, "change", move |ev| {
                if let Some(v) = crate::shell::page::input_number(&ev) {
                    set(serde_json::json!(v));
                }
            });
            if let Some(output) = child(&slider, "output", "") {
                attrs(&output, &[("for", &id)]);
                text(&output, move || format!("{} {unit}", shown()));
            }
        }
        (Kind::Choice(options), true) => {
            let Some(select) = child(&dd, "select", "") else {
                return;
            };
            attrs(&select, &[("id", &id), ("data-testid", &id)]);
            for o in options {
                let Some(option) = child(&select, "option", "") else {
                    return;
                };
                attrs(&option, &[("value", o)]);
                option.set_text_content(Some(o));
                let chosen = option.clone();
                super::effect(move || {
                    let _ = if value() == Value::String((*o).to_owned()) {
                        chosen.set_attribute("selected", "")
                    } else {
                        chosen.remove_attribute("selected")
                    };
                });
            }
            on(&select, "change", move |ev| {
                set(Value::String(event_target_value(&ev)))
            });
        }
        (Kind::Color, true) => {
            let Some(input) = control(&dd, "input", &id, &[("type", "color")]) else {
                return;
            };
            let current = input.clone();
            super::effect(move || current.set_value(&shown()));
            on(&input, "change", move |ev| {
                set(Value::String(event_target_value(&ev)))
            });
        }
        (kind, _) => {
            let unit = match kind {
                Kind::Number { unit, .. } => unit,
                _ => "",
            };
            let Some(readout) = child(&dd, "span", "readout") else {
                return;
            };
            attrs(&readout, &[("id", &id), ("data-testid", &id)]);
            text(&readout, move || format!("{} {unit}", shown()));
            // Readings within a known range also get a gauge.
            if let Kind::Number { min, max, .. } = kind {
                let Some(meter) =
                    child(&dd, "meter", "").and_then(|m| cast::<HtmlMeterElement>(&m))
                else {
                    return;
                };
                attrs(
                    &meter,
                    &[("min", &shown_number(min)), ("max", &shown_number(max))],
                );
                attrs(&meter, &[("aria-hidden", "true")]);
                super::effect(move || meter.set_value(value().as_f64().unwrap_or(min)));
            }
        }
    }
}

/// An `<input>` (or other control) with its id, test id and `more` attributes.
fn control(
    parent: &Element,
    tag: &str,
    id: &str,
    more: &[(&str, &str)],
) -> Option<HtmlInputElement> {
    let el = child(parent, tag, "")?;
    attrs(&el, &[("id", id), ("data-testid", id)]);
    attrs(&el, more);
    cast(&el)
}
