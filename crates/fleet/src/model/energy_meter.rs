//! An energy meter with a relay.

use serde_json::{Map, Value};

use super::{
    Behaviour, InitialValue, JOBS, Kind, Property, REBOOT, RESET_ENERGY, Readings, Template,
    number, reset_energy,
};
use crate::commands::CommandResponse;
use crate::shadow::state::State;

/// An energy meter with a relay.
pub static ENERGY_METER: Template = Template {
    id: "energy-meter",
    name: "Energy meter",
    properties: &[
        Property {
            key: "relay",
            label: "Relay",
            kind: Kind::Bool,
            writable: true,
            initial: InitialValue::Bool(true),
        },
        Property {
            key: "power",
            label: "Power",
            kind: number(0.0, 10_000.0, 1.0, "W"),
            writable: false,
            initial: InitialValue::Number(420.0),
        },
        Property {
            key: "voltage",
            label: "Voltage",
            kind: number(0.0, 260.0, 0.1, "V"),
            writable: false,
            initial: InitialValue::Number(230.0),
        },
        Property {
            key: "energy",
            label: "Energy",
            kind: number(0.0, 1e9, 0.001, "kWh"),
            writable: false,
            initial: InitialValue::Number(1520.0),
        },
        Property {
            key: "firmware",
            label: "Firmware",
            kind: Kind::Text,
            writable: false,
            initial: InitialValue::Str("0.9.7"),
        },
    ],
    commands: &[RESET_ENERGY, REBOOT],
    job_actions: JOBS,
    behaviour: &EnergyMeter,
};

struct EnergyMeter;

impl Behaviour for EnergyMeter {
    fn tick(&self, r: &mut Readings<'_>) {
        let p = if r.flag("relay") == Some(true) {
            let p = r.number("power").max(50.0);
            r.wander(p, 40.0).max(0.0)
        } else {
            0.0
        };
        r.set("power", p);
        let v = r.wander(230.0, 2.0);
        r.set("voltage", v);
        r.count_energy(p);
    }

    fn command(
        &self,
        state: &mut State,
        action: &str,
        _args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CommandResponse> {
        Ok(if action == RESET_ENERGY.action {
            reset_energy(state)
        } else {
            Map::new()
        })
    }
}
