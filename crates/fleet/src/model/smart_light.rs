//! A dimmable colour light.

use serde_json::{Map, Value, json};

use super::{
    Behaviour, CommandSpec, InitialValue, JOBS, Kind, Param, Property, REBOOT, Template, number,
};
use crate::commands::CommandResponse;
use crate::shadow::state::State;

/// A dimmable colour light.
pub static SMART_LIGHT: Template = Template {
    id: "smart-light",
    name: "Smart light",
    properties: &[
        Property {
            key: "on",
            label: "On",
            kind: Kind::Bool,
            writable: true,
            initial: InitialValue::Bool(false),
        },
        Property {
            key: "brightness",
            label: "Brightness",
            kind: number(0.0, 100.0, 1.0, "%"),
            writable: true,
            initial: InitialValue::Number(80.0),
        },
        Property {
            key: "color",
            label: "Colour",
            kind: Kind::Color,
            writable: true,
            initial: InitialValue::Str("#ffd27f"),
        },
        Property {
            key: "firmware",
            label: "Firmware",
            kind: Kind::Text,
            writable: false,
            initial: InitialValue::Str("1.0.0"),
        },
    ],
    commands: &[
        CommandSpec {
            action: "blink",
            description: "Blink to be found",
            params: &[Param {
                name: "times",
                kind: number(1.0, 10.0, 1.0, ""),
                required: false,
            }],
        },
        CommandSpec {
            action: "setColor",
            description: "Change the colour",
            params: &[Param {
                name: "color",
                kind: Kind::Color,
                required: true,
            }],
        },
        REBOOT,
    ],
    job_actions: JOBS,
    behaviour: &SmartLight,
};

struct SmartLight;

impl Behaviour for SmartLight {
    fn command(
        &self,
        state: &mut State,
        action: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CommandResponse> {
        let mut result = Map::new();
        match action {
            "setColor" => {
                state.insert("color".into(), args["color"].clone());
                result.insert("color".into(), args["color"].clone());
            }
            "blink" => {
                result.insert(
                    "blinked".into(),
                    args.get("times").cloned().unwrap_or_else(|| json!(3)),
                );
            }
            _ => {}
        }
        Ok(result)
    }
}
