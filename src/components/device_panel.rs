use leptos::prelude::*;
use serde_json::Value;
use thingsim_fleet::model::{Kind, Property, Template, shown_number};
use thingsim_fleet::shadow::state::State;

/// The device's properties as controls (writable) and readouts (read-only), generated from the
/// template. Sliders report on release (`change`), so a drag becomes one report, not fifty.
#[component]
pub fn DevicePanel(
    /// The device model.
    template: &'static Template,
    /// The device's actual (reported) state.
    state: Memo<State>,
    /// A control changed: property key and new value.
    on_set: Callback<(String, Value)>,
) -> impl IntoView {
    let rows = template
        .properties
        .iter()
        .map(|p| property_row(*p, state, on_set).into_any())
        .collect_view();
    view! {
        <div class="device" data-testid="device-panel">
            <p class="device-name">{template.name}</p>
            <dl class="props">{rows}</dl>
        </div>
    }
}

fn property_row(
    p: Property,
    state: Memo<State>,
    on_set: Callback<(String, Value)>,
) -> impl IntoView {
    let value = move || state.with(|s| s.get(p.key).cloned().unwrap_or(Value::Null));
    let text = move || match value() {
        Value::String(s) => s,
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    };
    let id = format!("prop-{}", p.key);
    let control = match (p.kind, p.writable) {
        (Kind::Bool, true) => view! {
            <input id=id.clone() type="checkbox" role="switch" data-testid=id
                prop:checked=move || value() == Value::Bool(true)
                on:change=move |ev| on_set.run((p.key.to_owned(), Value::Bool(event_target_checked(&ev))))
            />
        }
        .into_any(),
        (Kind::Number { min, max, step, unit }, true) => view! {
            <span class="slider">
                <input id=id.clone() type="range" data-testid=id.clone()
                    min=shown_number(min) max=shown_number(max) step=shown_number(step)
                    prop:value=text
                    on:change=move |ev| {
                        if let Some(v) = crate::shell::page::input_number(&ev) {
                            on_set.run((p.key.to_owned(), serde_json::json!(v)));
                        }
                    }
                />
                <output for=id>{text}" "{unit}</output>
            </span>
        }
        .into_any(),
        (Kind::Choice(options), true) => view! {
            <select id=id.clone() data-testid=id
                on:change=move |ev| on_set.run((p.key.to_owned(), Value::String(event_target_value(&ev))))
            >
                {options.iter().map(|o| view! {
                    <option value=*o selected=move || value() == Value::String((*o).to_owned())>{*o}</option>
                }.into_any()).collect_view()}
            </select>
        }
        .into_any(),
        (Kind::Color, true) => view! {
            <input id=id.clone() type="color" data-testid=id
                prop:value=text
                on:change=move |ev| on_set.run((p.key.to_owned(), Value::String(event_target_value(&ev))))
            />
        }
        .into_any(),
        (kind, _) => {
            let unit = match kind {
                Kind::Number { unit, .. } => unit,
                _ => "",
            };
            // Readings within a known range also get a gauge.
            let gauge = match kind {
                Kind::Number { min, max, .. } => Some(view! {
                    <meter min=shown_number(min) max=shown_number(max) aria-hidden="true"
                        prop:value=move || value().as_f64().unwrap_or(min)></meter>
                }),
                _ => None,
            };
            view! { <span class="readout" id=id.clone() data-testid=id>{text}" "{unit}</span>{gauge} }.into_any()
        }
    };
    view! {
        <dt><label for=format!("prop-{}", p.key)>{p.label}</label></dt>
        <dd>{control}</dd>
    }
}
