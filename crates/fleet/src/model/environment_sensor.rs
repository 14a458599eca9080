//! An indoor environment sensor.

use serde_json::{Map, Value, json};

use super::{
    Behaviour, CommandSpec, InitialValue, JOBS, Kind, Param, Property, REBOOT, Readings, Template,
    number,
};
use crate::commands::CommandResponse;
use crate::shadow::state::State;

/// An indoor environment sensor.
pub static ENVIRONMENT_SENSOR: Template = Template {
    id: "environment-sensor",
    name: "Environment sensor",
    properties: &[
        Property {
            key: "reportInterval",
            label: "Report every",
            kind: number(1.0, 3600.0, 1.0, "s"),
            writable: true,
            initial: InitialValue::Number(10.0),
        },
        Property {
            key: "temperature",
            label: "Temperature",
            kind: number(-40.0, 85.0, 0.1, "°C"),
            writable: false,
            initial: InitialValue::Number(22.0),
        },
        Property {
            key: "humidity",
            label: "Humidity",
            kind: number(0.0, 100.0, 0.1, "%"),
            writable: false,
            initial: InitialValue::Number(45.0),
        },
        Property {
            key: "co2",
            label: "CO₂",
            kind: number(400.0, 5000.0, 1.0, "ppm"),
            writable: false,
            initial: InitialValue::Number(650.0),
        },
        Property {
            key: "firmware",
            label: "Firmware",
            kind: Kind::Text,
            writable: false,
            initial: InitialValue::Str("5.0.1"),
        },
    ],
    commands: &[
        CommandSpec {
            action: "calibrate",
            description: "Calibrate CO₂ against outdoor air",
            params: &[Param {
                name: "reference",
                kind: number(350.0, 500.0, 1.0, "ppm"),
                required: false,
            }],
        },
        REBOOT,
    ],
    job_actions: JOBS,
    behaviour: &EnvironmentSensor,
};

struct EnvironmentSensor;

impl Behaviour for EnvironmentSensor {
    fn tick(&self, r: &mut Readings<'_>) {
        let (t, h, c) = (
            r.number("temperature"),
            r.number("humidity"),
            r.number("co2"),
        );
        let (t, h, c) = (r.wander(t, 0.1), r.wander(h, 0.3), r.wander(c, 15.0));
        r.set("temperature", t);
        r.set("humidity", h);
        r.set("co2", c);
    }

    fn command(
        &self,
        state: &mut State,
        action: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CommandResponse> {
        let mut result = Map::new();
        if action == "calibrate" {
            let reference = args
                .get("reference")
                .cloned()
                .unwrap_or_else(|| json!(420.0));
            state.insert("co2".into(), reference.clone());
            result.insert("co2".into(), reference);
        }
        Ok(result)
    }
}
