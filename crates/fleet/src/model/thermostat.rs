//! A thermostat: heats or cools toward its target, one time constant a minute.

use serde_json::{Map, Value};

use super::{
    Behaviour, CommandSpec, InitialValue, JOBS, Kind, Param, Property, REBOOT, Readings, Template,
    number,
};
use crate::commands::CommandResponse;
use crate::shadow::state::State;

/// A thermostat: heats or cools toward a target temperature.
pub static THERMOSTAT: Template = Template {
    id: "thermostat",
    name: "Thermostat",
    properties: &[
        Property {
            key: "power",
            label: "Power",
            kind: Kind::Bool,
            writable: true,
            initial: InitialValue::Bool(true),
        },
        Property {
            key: "mode",
            label: "Mode",
            kind: Kind::Choice(&["heat", "cool", "auto"]),
            writable: true,
            initial: InitialValue::Str("auto"),
        },
        Property {
            key: "targetTemperature",
            label: "Target",
            kind: number(5.0, 35.0, 0.5, "°C"),
            writable: true,
            initial: InitialValue::Number(21.0),
        },
        Property {
            key: "temperature",
            label: "Temperature",
            kind: number(-20.0, 50.0, 0.1, "°C"),
            writable: false,
            initial: InitialValue::Number(19.5),
        },
        Property {
            key: "firmware",
            label: "Firmware",
            kind: Kind::Text,
            writable: false,
            initial: InitialValue::Str("2.1.4"),
        },
    ],
    commands: &[
        CommandSpec {
            action: "setTemperature",
            description: "Set the target temperature",
            params: &[Param {
                name: "value",
                kind: number(5.0, 35.0, 0.5, "°C"),
                required: true,
            }],
        },
        REBOOT,
    ],
    job_actions: JOBS,
    behaviour: &Thermostat,
};

struct Thermostat;

impl Behaviour for Thermostat {
    fn tick(&self, r: &mut Readings<'_>) {
        let (t, target) = (r.number("temperature"), r.number("targetTemperature"));
        // Off: the room keeps its temperature, give or take the noise.
        let pull = if r.flag("power") == Some(false) {
            0.0
        } else {
            (target - t) * (1.0 - (-r.dt_secs / 60.0).exp())
        };
        let wandered = r.wander(t + pull, 0.05);
        r.set("temperature", wandered);
    }

    fn command(
        &self,
        state: &mut State,
        action: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CommandResponse> {
        let mut result = Map::new();
        if action == "setTemperature" {
            state.insert("targetTemperature".into(), args["value"].clone());
            result.insert("targetTemperature".into(), args["value"].clone());
        }
        Ok(result)
    }
}
