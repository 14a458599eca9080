//! A door lock with a keypad code; its battery drains one percent a day.

use serde_json::{Map, Value};

use super::{
    Behaviour, CommandSpec, InitialValue, JOBS, Kind, Param, Property, REBOOT, Readings, Template,
    number,
};
use crate::commands::{CommandResponse, CommandStatus};
use crate::shadow::state::State;

/// A door lock with a keypad code.
pub static DOOR_LOCK: Template = Template {
    id: "door-lock",
    name: "Door lock",
    properties: &[
        Property {
            key: "locked",
            label: "Locked",
            kind: Kind::Bool,
            writable: true,
            initial: InitialValue::Bool(true),
        },
        Property {
            key: "doorOpen",
            label: "Door open",
            kind: Kind::Bool,
            writable: false,
            initial: InitialValue::Bool(false),
        },
        Property {
            key: "battery",
            label: "Battery",
            kind: number(0.0, 100.0, 1.0, "%"),
            writable: false,
            initial: InitialValue::Number(87.0),
        },
        Property {
            key: "firmware",
            label: "Firmware",
            kind: Kind::Text,
            writable: false,
            initial: InitialValue::Str("3.2.0"),
        },
    ],
    commands: &[
        CommandSpec {
            action: "lock",
            description: "Lock the door",
            params: &[],
        },
        CommandSpec {
            action: "unlock",
            description: "Unlock with the keypad code",
            params: &[Param {
                name: "code",
                kind: Kind::Text,
                required: true,
            }],
        },
        REBOOT,
    ],
    job_actions: JOBS,
    behaviour: &DoorLock,
};

struct DoorLock;

impl Behaviour for DoorLock {
    fn tick(&self, r: &mut Readings<'_>) {
        let battery = r.number("battery");
        r.set("battery", battery - r.dt_secs / 86_400.0);
    }

    fn command(
        &self,
        state: &mut State,
        action: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CommandResponse> {
        let mut result = Map::new();
        match action {
            "lock" => {
                state.insert("locked".into(), Value::Bool(true));
                result.insert("locked".into(), Value::Bool(true));
            }
            "unlock" => {
                let code = args["code"].as_str().unwrap_or_default();
                if !(4..=8).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CommandResponse::error(
                        CommandStatus::Rejected,
                        "parameter \"code\": 4 to 8 digits",
                    ));
                }
                if state.get("doorOpen") == Some(&Value::Bool(true)) {
                    return Err(CommandResponse::error(
                        CommandStatus::Failed,
                        "the door is open; close it first",
                    ));
                }
                state.insert("locked".into(), Value::Bool(false));
                result.insert("locked".into(), Value::Bool(false));
            }
            _ => {}
        }
        Ok(result)
    }
}
