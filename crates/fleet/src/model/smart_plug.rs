//! A smart plug with power metering: it measures what the load draws, counts the energy, and
//! cuts the load when it draws more than its limit (an overload trip the cloud sees as
//! `on: false` in the next report).

use serde_json::{Map, Value};

use super::{
    Behaviour, InitialValue, JOBS, Kind, Property, REBOOT, RESET_ENERGY, Readings, Template,
    number, reset_energy,
};
use crate::commands::CommandResponse;
use crate::shadow::state::State;

/// A smart plug with power metering.
pub static SMART_PLUG: Template = Template {
    id: "smart-plug",
    name: "Smart plug",
    properties: &[
        Property {
            key: "on",
            label: "On",
            kind: Kind::Bool,
            writable: true,
            initial: InitialValue::Bool(true),
        },
        Property {
            key: "powerLimit",
            label: "Trip above",
            kind: number(100.0, 3680.0, 10.0, "W"),
            writable: true,
            initial: InitialValue::Number(2000.0),
        },
        Property {
            key: "power",
            label: "Power",
            kind: number(0.0, 3680.0, 0.1, "W"),
            writable: false,
            initial: InitialValue::Number(60.0),
        },
        Property {
            key: "energy",
            label: "Energy",
            kind: number(0.0, 1e9, 0.001, "kWh"),
            writable: false,
            initial: InitialValue::Number(12.5),
        },
        Property {
            key: "firmware",
            label: "Firmware",
            kind: Kind::Text,
            writable: false,
            initial: InitialValue::Str("1.4.2"),
        },
    ],
    commands: &[RESET_ENERGY, REBOOT],
    job_actions: JOBS,
    behaviour: &SmartPlug,
};

/// What an idle load draws when the plug is switched on with nothing measured yet.
const STANDBY_W: f64 = 5.0;

struct SmartPlug;

impl Behaviour for SmartPlug {
    fn tick(&self, r: &mut Readings<'_>) {
        let p = if r.flag("on") == Some(true) {
            let p = r.number("power").max(STANDBY_W);
            r.wander(p, 20.0).max(0.0)
        } else {
            0.0
        };
        if p > r.number("powerLimit") {
            // Overload: the relay opens before anything is counted.
            r.set_flag("on", false);
            r.set("power", 0.0);
            return;
        }
        r.set("power", p);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SMART_PLUG;
    use crate::model::DeviceModel;

    #[test]
    fn it_counts_what_the_load_draws_and_nothing_when_off() {
        let mut plug = DeviceModel::new(&SMART_PLUG, 4);
        let changed = plug.tick(3_600.0);
        let power = plug.state()["power"].as_f64().unwrap();
        assert!((40.0..=80.0).contains(&power), "{power}");
        let energy = plug.state()["energy"].as_f64().unwrap();
        // One hour at the new reading: P/1000 kWh on top of 12.5.
        assert!((energy - (12.5 + power / 1000.0)).abs() < 0.002, "{energy}");
        assert!(changed.contains_key("power") && changed.contains_key("energy"));
        plug.write("on", &json!(false)).unwrap();
        plug.tick(3_600.0);
        assert_eq!(plug.state()["power"], json!(0.0));
        assert_eq!(
            plug.state()["energy"].as_f64(),
            Some(energy),
            "off counts nothing"
        );
    }

    #[test]
    fn a_load_above_the_limit_trips_the_plug_and_the_report_says_so() {
        let mut plug = DeviceModel::new(&SMART_PLUG, 9);
        plug.write("powerLimit", &json!(100)).unwrap();
        // The load wanders 20 W a second; sooner or later it draws more than 100 W.
        let mut tripped = None;
        for _ in 0..10_000 {
            let changed = plug.tick(1.0);
            if changed.get("on") == Some(&json!(false)) {
                tripped = Some(changed);
                break;
            }
            let p = plug.state()["power"].as_f64().unwrap();
            assert!(p <= 100.0, "never reports more than its limit: {p}");
        }
        let changed = tripped.expect("it tripped");
        assert_eq!(
            changed["power"],
            json!(0.0),
            "the trip is reported with the power"
        );
        assert_eq!(plug.state()["on"], json!(false));
        let energy = plug.state()["energy"].clone();
        plug.tick(60.0);
        assert_eq!(
            (
                plug.state()["power"].clone(),
                plug.state()["energy"].clone()
            ),
            (json!(0.0), energy),
            "it stays off until told"
        );
        let response = plug.run_command("resetEnergy", &serde_json::Map::new());
        assert_eq!(response.result["energy"], json!(0.0));
        assert_eq!(plug.state()["energy"], json!(0.0));
    }
}
