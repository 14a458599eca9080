//! Device models: what a kind of device has (properties with type, unit, range, writable or
//! read-only), which commands it accepts and with which parameters, which job actions it can
//! run, and how its readings drift. Templates are plain data, so the UI renders controls from
//! them and a new template is a new table; [`DeviceModel`] is the small pure machine that
//! applies desired state, runs commands and job steps against one instance.

use serde_json::{Map, Value, json};

use crate::commands::{CommandResponse, CommandStatus};
use crate::shadow::state::State;

/// The type and limits of a property or parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// true / false.
    Bool,
    /// A number within `min..=max`, shown with `unit`; values outside are clamped on write.
    Number {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
        /// Display and slider step.
        step: f64,
        /// Unit symbol ("°C", "%", "W"…).
        unit: &'static str,
    },
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// `#rrggbb`.
    Color,
    /// Free text up to 64 characters.
    Text,
}

/// One property of a template.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Property {
    /// Shadow key.
    pub key: &'static str,
    /// Label for people.
    pub label: &'static str,
    /// Type and limits.
    pub kind: Kind,
    /// Whether desired state (and the UI) may change it; read-only ones are readings.
    pub writable: bool,
    /// The value a new device starts with.
    pub initial: InitialValue,
}

/// A property's starting value (a `const`-friendly subset of JSON).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InitialValue {
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Str(&'static str),
}

/// A parameter of a command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    /// Name in `params`.
    pub name: &'static str,
    /// Type and limits (numbers out of range are refused, not clamped).
    pub kind: Kind,
    /// Whether it must be present.
    pub required: bool,
}

/// A command a template accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandSpec {
    /// The `action` string.
    pub action: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
}

/// A job action a template can run, in `steps` progress steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobAction {
    /// The document's `action`.
    pub action: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Progress steps until done.
    pub steps: u32,
}

/// A kind of device.
#[derive(Debug, PartialEq)]
pub struct Template {
    /// Stable id (`thermostat`, …), used in URLs.
    pub id: &'static str,
    /// Name for people.
    pub name: &'static str,
    /// Properties, writable and read-only.
    pub properties: &'static [Property],
    /// Accepted commands (every template also accepts `reboot`).
    pub commands: &'static [CommandSpec],
    /// Job actions it can run.
    pub job_actions: &'static [JobAction],
}

const REBOOT: CommandSpec = CommandSpec {
    action: "reboot",
    description: "Restart the device",
    params: &[],
};
const JOBS: &[JobAction] = &[
    JobAction {
        action: "updateFirmware",
        description: "Download and install firmware",
        steps: 5,
    },
    JobAction {
        action: "pushConfig",
        description: "Apply the writable properties in params",
        steps: 2,
    },
    JobAction {
        action: "reboot",
        description: "Restart",
        steps: 1,
    },
];

const fn number(min: f64, max: f64, step: f64, unit: &'static str) -> Kind {
    Kind::Number {
        min,
        max,
        step,
        unit,
    }
}

/// The five built-in templates.
pub static TEMPLATES: &[&Template] = &[
    &THERMOSTAT,
    &SMART_LIGHT,
    &DOOR_LOCK,
    &ENERGY_METER,
    &ENVIRONMENT_SENSOR,
];

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
};

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
};

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
};

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
    commands: &[
        CommandSpec {
            action: "resetEnergy",
            description: "Zero the energy counter",
            params: &[],
        },
        REBOOT,
    ],
    job_actions: JOBS,
};

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
};

impl Template {
    /// The template with this id.
    pub fn by_id(id: &str) -> Option<&'static Self> {
        TEMPLATES.iter().copied().find(|t| t.id == id)
    }

    /// One property.
    pub fn property(&self, key: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.key == key)
    }
}

/// How one job step went.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// More to do; report this progress.
    Progress {
        /// Percent done.
        percent: u32,
        /// What the step did.
        step: String,
    },
    /// Finished.
    Done {
        /// Final details.
        summary: String,
    },
    /// Could not continue.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One device instance of a template: its actual state and the pure logic that changes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    template: &'static Template,
    state: State,
    rng: thingsim_mqtt::SeededRng,
}

impl DeviceModel {
    /// A device in its initial state; `seed` drives its readings.
    pub fn new(template: &'static Template, seed: u64) -> Self {
        let state = template
            .properties
            .iter()
            .map(|p| {
                let v = match p.initial {
                    InitialValue::Bool(b) => Value::Bool(b),
                    InitialValue::Number(n) => json!(n),
                    InitialValue::Str(s) => Value::String(s.to_owned()),
                };
                (p.key.to_owned(), v)
            })
            .collect();
        Self {
            template,
            state,
            rng: thingsim_mqtt::SeededRng::new(seed),
        }
    }

    /// Its template.
    pub fn template(&self) -> &'static Template {
        self.template
    }

    /// Its actual state: what it reports.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Applies desired keys. Returns what actually changed (to report: values as applied,
    /// clamped to range) and, per refused key, why. Unknown and read-only keys are refused;
    /// they stay in the delta, which is the truth: the device cannot reach them.
    pub fn apply_desired(&mut self, desired: &State) -> (State, Vec<(String, String)>) {
        let mut applied = State::new();
        let mut refused = Vec::new();
        for (key, value) in desired {
            match self.write(key, value) {
                Ok(Some(actual)) => {
                    applied.insert(key.clone(), actual);
                }
                Ok(None) => {}
                Err(why) => refused.push((key.clone(), why)),
            }
        }
        (applied, refused)
    }

    /// Sets one writable property, as the UI does; returns the value as applied when it changed.
    pub fn write(&mut self, key: &str, value: &Value) -> Result<Option<Value>, String> {
        let property = self
            .template
            .property(key)
            .ok_or_else(|| format!("{key}: no such property on a {}", self.template.name))?;
        if !property.writable {
            return Err(format!("{key}: read-only"));
        }
        let actual = coerce(property.kind, value, true).map_err(|e| format!("{key}: {e}"))?;
        if self
            .state
            .get(key)
            .is_some_and(|old| crate::shadow::state::same(old, &actual))
        {
            return Ok(None);
        }
        self.state.insert(key.to_owned(), actual.clone());
        Ok(Some(actual))
    }

    /// Runs a command: validates parameters against the template, acts, and answers.
    pub fn run_command(&mut self, action: &str, params: &Map<String, Value>) -> CommandResponse {
        let Some(spec) = self.template.commands.iter().find(|c| c.action == action) else {
            let known: Vec<&str> = self.template.commands.iter().map(|c| c.action).collect();
            return CommandResponse::error(
                CommandStatus::Rejected,
                format!(
                    "unknown action {action:?}; a {} accepts {}",
                    self.template.name,
                    known.join(", ")
                ),
            );
        };
        let mut args = Map::new();
        for p in spec.params {
            match params.get(p.name) {
                None if p.required => {
                    return CommandResponse::error(
                        CommandStatus::Rejected,
                        format!("missing parameter {:?}", p.name),
                    );
                }
                None => {}
                Some(v) => match coerce(p.kind, v, false) {
                    Ok(v) => {
                        args.insert(p.name.to_owned(), v);
                    }
                    Err(e) => {
                        return CommandResponse::error(
                            CommandStatus::Rejected,
                            format!("parameter {:?}: {e}", p.name),
                        );
                    }
                },
            }
        }
        if let Some(extra) = params
            .keys()
            .find(|k| !spec.params.iter().any(|p| p.name == k.as_str()))
        {
            return CommandResponse::error(
                CommandStatus::Rejected,
                format!("unexpected parameter {extra:?}"),
            );
        }
        let mut result = Map::new();
        match action {
            "setTemperature" => {
                self.state
                    .insert("targetTemperature".into(), args["value"].clone());
                result.insert("targetTemperature".into(), args["value"].clone());
            }
            "setColor" => {
                self.state.insert("color".into(), args["color"].clone());
                result.insert("color".into(), args["color"].clone());
            }
            "blink" => {
                result.insert(
                    "blinked".into(),
                    args.get("times").cloned().unwrap_or_else(|| json!(3)),
                );
            }
            "lock" => {
                self.state.insert("locked".into(), Value::Bool(true));
                result.insert("locked".into(), Value::Bool(true));
            }
            "unlock" => {
                let code = args["code"].as_str().unwrap_or_default();
                if !(4..=8).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return CommandResponse::error(
                        CommandStatus::Rejected,
                        "parameter \"code\": 4 to 8 digits",
                    );
                }
                if self.state.get("doorOpen") == Some(&Value::Bool(true)) {
                    return CommandResponse::error(
                        CommandStatus::Failed,
                        "the door is open; close it first",
                    );
                }
                self.state.insert("locked".into(), Value::Bool(false));
                result.insert("locked".into(), Value::Bool(false));
            }
            "resetEnergy" => {
                self.state.insert("energy".into(), json!(0.0));
                result.insert("energy".into(), json!(0.0));
            }
            "calibrate" => {
                let reference = args
                    .get("reference")
                    .cloned()
                    .unwrap_or_else(|| json!(420.0));
                self.state.insert("co2".into(), reference.clone());
                result.insert("co2".into(), reference);
            }
            "reboot" => {
                result.insert("rebooted".into(), Value::Bool(true));
            }
            _ => {}
        }
        CommandResponse {
            status: CommandStatus::Succeeded,
            result,
        }
    }

    /// Whether this model can run `document` (a validated job document), and if not, why.
    pub fn check_job(&self, document: &Value) -> Result<&'static JobAction, String> {
        let action = document
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let spec = self
            .template
            .job_actions
            .iter()
            .find(|j| j.action == action)
            .ok_or_else(|| {
                let known: Vec<&str> = self.template.job_actions.iter().map(|j| j.action).collect();
                format!(
                    "unknown job action {action:?}; a {} runs {}",
                    self.template.name,
                    known.join(", ")
                )
            })?;
        let params = crate::jobs::job_params(document);
        match action {
            "updateFirmware" => match params.get("version") {
                Some(Value::String(v)) if !v.trim().is_empty() => {}
                _ => return Err("updateFirmware needs params.version (a string)".into()),
            },
            "pushConfig" => {
                for (key, value) in &params {
                    let p = self
                        .template
                        .property(key)
                        .ok_or_else(|| format!("pushConfig: no property {key:?}"))?;
                    if !p.writable {
                        return Err(format!("pushConfig: {key} is read-only"));
                    }
                    coerce(p.kind, value, false).map_err(|e| format!("pushConfig: {key}: {e}"))?;
                }
            }
            _ => {}
        }
        Ok(spec)
    }

    /// Runs step `step` (1-based) of a job this model accepted with [`DeviceModel::check_job`].
    pub fn job_step(&mut self, document: &Value, step: u32) -> StepOutcome {
        let spec = match self.check_job(document) {
            Ok(spec) => spec,
            Err(reason) => return StepOutcome::Failed { reason },
        };
        let params = crate::jobs::job_params(document);
        if step < spec.steps {
            let what = match spec.action {
                "updateFirmware" => [
                    "downloading",
                    "verifying",
                    "writing",
                    "writing",
                    "switching",
                ]
                .get(step as usize - 1)
                .copied()
                .unwrap_or("working"),
                "pushConfig" => "validating",
                _ => "working",
            };
            return StepOutcome::Progress {
                percent: 100 * step / spec.steps,
                step: what.to_owned(),
            };
        }
        match spec.action {
            "updateFirmware" => {
                let version = params.get("version").cloned().unwrap_or(Value::Null);
                self.state.insert("firmware".into(), version.clone());
                StepOutcome::Done {
                    summary: format!("firmware {} installed", version.as_str().unwrap_or("?")),
                }
            }
            "pushConfig" => {
                for (key, value) in &params {
                    let _ = self.write(key, value);
                }
                StepOutcome::Done {
                    summary: format!("{} settings applied", params.len()),
                }
            }
            _ => StepOutcome::Done {
                summary: "done".into(),
            },
        }
    }

    /// Advances the readings by `dt_secs`: seeded drift, always within each property's range.
    /// Returns the readings that changed, to report.
    pub fn tick(&mut self, dt_secs: f64) -> State {
        let mut changed = State::new();
        let num = |s: &State, k: &str| s.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let mut set = |model: &mut Self, key: &str, value: f64| {
            if let Some(Kind::Number { min, max, step, .. }) =
                model.template.property(key).map(|p| p.kind)
            {
                let v = round_to(value.clamp(min, max), step);
                if num(&model.state, key) != v {
                    model.state.insert(key.to_owned(), json!(v));
                    changed.insert(key.to_owned(), json!(v));
                }
            }
        };
        match self.template.id {
            "thermostat" => {
                let (t, target) = (
                    num(&self.state, "temperature"),
                    num(&self.state, "targetTemperature"),
                );
                let on = self.state.get("power") != Some(&Value::Bool(false));
                let pull = if on {
                    (target - t) * (1.0 - (-dt_secs / 60.0).exp())
                } else {
                    0.0
                };
                let noise = self.noise() * 0.05;
                set(self, "temperature", t + pull + noise);
            }
            "energy-meter" => {
                let on = self.state.get("relay") == Some(&Value::Bool(true));
                let p = if on {
                    (num(&self.state, "power").max(50.0) + self.noise() * 40.0).max(0.0)
                } else {
                    0.0
                };
                set(self, "power", p);
                let jitter = self.noise();
                set(self, "voltage", 230.0 + jitter * 2.0);
                let e = num(&self.state, "energy") + p * dt_secs / 3_600_000.0;
                set(self, "energy", e);
            }
            "environment-sensor" => {
                let (t, h, c) = (
                    num(&self.state, "temperature"),
                    num(&self.state, "humidity"),
                    num(&self.state, "co2"),
                );
                let (nt, nh, nc) = (self.noise(), self.noise(), self.noise());
                set(self, "temperature", t + nt * 0.1);
                set(self, "humidity", h + nh * 0.3);
                set(self, "co2", c + nc * 15.0);
            }
            "door-lock" => {
                let b = num(&self.state, "battery");
                set(self, "battery", b - dt_secs / 86_400.0);
            }
            _ => {}
        }
        changed
    }

    /// Uniform in [-1, 1).
    fn noise(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn round_to(v: f64, step: f64) -> f64 {
    if step <= 0.0 {
        v
    } else {
        ((v / step).round() * step * 1e6).round() / 1e6
    }
}

/// Checks `value` against `kind`. Out-of-range numbers are clamped when `clamp` (desired state:
/// report what the hardware does) and refused otherwise (command parameters).
fn coerce(kind: Kind, value: &Value, clamp: bool) -> Result<Value, String> {
    match (kind, value) {
        (Kind::Bool, Value::Bool(_)) => Ok(value.clone()),
        (
            Kind::Number {
                min,
                max,
                step,
                unit,
            },
            Value::Number(n),
        ) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            if !v.is_finite() {
                return Err("not a finite number".into());
            }
            if (min..=max).contains(&v) {
                Ok(json!(round_to(v, step)))
            } else if clamp {
                Ok(json!(round_to(v.clamp(min, max), step)))
            } else {
                Err(format!("{v} is outside {min}–{max} {unit}")
                    .trim_end()
                    .to_owned())
            }
        }
        (Kind::Choice(options), Value::String(s)) if options.contains(&s.as_str()) => {
            Ok(value.clone())
        }
        (Kind::Choice(options), _) => Err(format!("one of {}", options.join(", "))),
        (Kind::Color, Value::String(s))
            if s.len() == 7
                && s.starts_with('#')
                && s[1..].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(Value::String(s.to_ascii_lowercase()))
        }
        (Kind::Color, _) => Err("a colour like #ff8800".into()),
        (Kind::Text, Value::String(s)) if s.chars().count() <= 64 => Ok(value.clone()),
        (Kind::Text, _) => Err("text of at most 64 characters".into()),
        (Kind::Bool, _) => Err("true or false".into()),
        (Kind::Number { .. }, _) => Err("a number".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> State {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_template_is_consistent() {
        for t in TEMPLATES {
            assert_eq!(Template::by_id(t.id).map(|x| x.name), Some(t.name));
            for p in t.properties {
                let initial = DeviceModel::new(t, 1).state()[p.key].clone();
                assert!(
                    coerce(p.kind, &initial, false).is_ok(),
                    "{}.{} initial {initial}",
                    t.id,
                    p.key
                );
            }
            assert!(t.commands.iter().any(|c| c.action == "reboot"), "{}", t.id);
        }
    }

    #[test]
    fn desired_state_is_clamped_and_read_only_or_unknown_keys_are_refused() {
        let mut m = DeviceModel::new(&THERMOSTAT, 1);
        let (applied, refused) = m.apply_desired(&obj(json!({
            "targetTemperature": 40, "temperature": 30, "color": "#fff", "mode": "heat"
        })));
        assert_eq!(
            applied,
            obj(json!({"targetTemperature": 35.0, "mode": "heat"}))
        );
        let keys: Vec<&str> = refused.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["color", "temperature"]);
        assert!(refused[1].1.contains("read-only"));
        let (_, refused) = m.apply_desired(&obj(json!({"mode": "turbo"})));
        assert!(
            refused[0].1.contains("one of heat, cool, auto"),
            "{refused:?}"
        );
    }

    #[test]
    fn commands_validate_parameters_and_unknown_actions_are_rejected() {
        let mut light = DeviceModel::new(&SMART_LIGHT, 1);
        assert_eq!(
            light
                .run_command("setColor", &obj(json!({"color": "#FF8800"})))
                .status,
            CommandStatus::Succeeded
        );
        assert_eq!(light.state()["color"], json!("#ff8800"));
        for (action, params, why) in [
            ("setColor", json!({"color": "red"}), "colour like"),
            ("setColor", json!({}), "missing parameter"),
            ("blink", json!({"times": 99}), "outside 1–10"),
            (
                "blink",
                json!({"times": 2, "speed": 1}),
                "unexpected parameter",
            ),
            ("selfDestruct", json!({}), "unknown action"),
        ] {
            let r = light.run_command(action, &obj(params));
            assert_eq!(r.status, CommandStatus::Rejected, "{action}");
            assert!(
                r.result["error"].as_str().unwrap_or_default().contains(why),
                "{action}: {:?}",
                r.result
            );
        }
        let mut lock = DeviceModel::new(&DOOR_LOCK, 1);
        assert_eq!(
            lock.run_command("unlock", &obj(json!({"code": "12ab"})))
                .status,
            CommandStatus::Rejected
        );
        assert_eq!(
            lock.run_command("unlock", &obj(json!({"code": "1234"})))
                .status,
            CommandStatus::Succeeded
        );
        assert_eq!(lock.state()["locked"], json!(false));
    }

    #[test]
    fn a_firmware_job_progresses_then_installs_and_bad_documents_are_refused() {
        let mut m = DeviceModel::new(&THERMOSTAT, 1);
        let doc = json!({"action": "updateFirmware", "params": {"version": "2.1.5"}});
        assert!(m.check_job(&doc).is_ok());
        let outcomes: Vec<StepOutcome> = (1..=5).map(|s| m.job_step(&doc, s)).collect();
        assert_eq!(
            outcomes[0],
            StepOutcome::Progress {
                percent: 20,
                step: "downloading".into()
            }
        );
        assert!(matches!(&outcomes[4], StepOutcome::Done { summary } if summary.contains("2.1.5")));
        assert_eq!(m.state()["firmware"], json!("2.1.5"));
        assert!(
            m.check_job(&json!({"action": "updateFirmware"}))
                .unwrap_err()
                .contains("params.version")
        );
        assert!(
            m.check_job(&json!({"action": "dance"}))
                .unwrap_err()
                .contains("unknown job action")
        );
        assert!(
            m.check_job(&json!({"action": "pushConfig", "params": {"temperature": 3}}))
                .unwrap_err()
                .contains("read-only")
        );
    }

    #[test]
    fn readings_drift_deterministically_within_range() {
        for t in TEMPLATES {
            let (mut a, mut b) = (DeviceModel::new(t, 42), DeviceModel::new(t, 42));
            for _ in 0..500 {
                assert_eq!(a.tick(10.0), b.tick(10.0));
            }
            for p in t.properties {
                if let Kind::Number { min, max, .. } = p.kind {
                    let v = a.state()[p.key].as_f64().unwrap_or(f64::NAN);
                    assert!((min..=max).contains(&v), "{}.{} = {v}", t.id, p.key);
                }
            }
        }
        let mut thermostat = DeviceModel::new(&THERMOSTAT, 7);
        for _ in 0..100 {
            thermostat.tick(30.0);
        }
        let t = thermostat.state()["temperature"]
            .as_f64()
            .unwrap_or_default();
        assert!((t - 21.0).abs() < 0.5, "converges on the target: {t}");
    }
}
