//! Device models: what a kind of device has (properties with type, unit, range, writable or
//! read-only), which commands it accepts and with which parameters, which job actions it can
//! run, and how its readings drift. [`DeviceModel`] is the small pure machine that applies
//! desired state, runs commands and job steps against one instance.
//!
//! Each template lives in its own module: its schema as data (the UI renders controls from it)
//! and its [`Behaviour`] (how readings move, what commands do). A new device type is one new
//! file here plus one line in [`TEMPLATES`].

use serde_json::{Map, Value, json};
use thingsim_mqtt::quoted;

use crate::commands::{CommandResponse, CommandStatus};

mod door_lock;
mod energy_meter;
mod environment_sensor;
pub mod generator;
mod smart_light;
mod smart_plug;
mod thermostat;

use crate::shadow::state::State;
pub use door_lock::DOOR_LOCK;
pub use energy_meter::ENERGY_METER;
pub use environment_sensor::ENVIRONMENT_SENSOR;
pub use generator::Generator;
pub use smart_light::SMART_LIGHT;
pub use smart_plug::SMART_PLUG;
pub use thermostat::THERMOSTAT;

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
    /// What it does.
    pub behaviour: &'static dyn Behaviour,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One template per id: the id is the identity.
impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// What a template does beyond its data. Desired state, parameter checks and the shared job
/// actions are handled for every template from its schema; this is what differs.
pub trait Behaviour: Sync {
    /// Moves the readings on by [`Readings::dt_secs`].
    fn tick(&self, readings: &mut Readings<'_>) {
        let _ = readings;
    }

    /// Runs `action` (not `reboot`, which every device answers alike) with parameters that
    /// passed the template's checks: changes `state` and returns the result, or refuses.
    fn command(
        &self,
        state: &mut State,
        action: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CommandResponse>;

    /// Finishes a job action of the template's own (the shared ones finish alike); `None`
    /// leaves it to the shared ones.
    fn finish_job(
        &self,
        state: &mut State,
        action: &str,
        params: &Map<String, Value>,
    ) -> Option<StepOutcome> {
        let _ = (state, action, params);
        None
    }
}

/// A device's readings during one tick: what a [`Behaviour`] reads and moves.
pub struct Readings<'a> {
    template: &'static Template,
    state: &'a mut State,
    rng: &'a mut thingsim_mqtt::SeededRng,
    changed: State,
    /// Seconds since the last tick.
    pub dt_secs: f64,
}

impl Readings<'_> {
    /// A number (0 when missing).
    pub fn number(&self, key: &str) -> f64 {
        self.state.get(key).and_then(Value::as_f64).unwrap_or(0.0)
    }

    /// A switch (`None` when missing or not a boolean).
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.state.get(key).and_then(Value::as_bool)
    }

    /// Sets a numeric property: clamped to its range, rounded to its step, recorded as changed
    /// when it did.
    pub fn set(&mut self, key: &str, value: f64) {
        if let Some(Kind::Number { min, max, step, .. }) =
            self.template.property(key).map(|p| p.kind)
        {
            let v = round_to(value.clamp(min, max), step);
            if self.number(key) != v {
                self.state.insert(key.to_owned(), json!(v));
                self.changed.insert(key.to_owned(), json!(v));
            }
        }
    }

    /// Sets a switch, recorded as changed when it did.
    pub fn set_flag(&mut self, key: &str, on: bool) {
        if self.flag(key) != Some(on) {
            self.state.insert(key.to_owned(), Value::Bool(on));
            self.changed.insert(key.to_owned(), Value::Bool(on));
        }
    }

    /// Adds what `watts` drew over the tick to the `energy` counter (kWh).
    pub fn count_energy(&mut self, watts: f64) {
        // W × s → kWh.
        let e = self.number("energy") + watts * self.dt_secs / 3_600_000.0;
        self.set("energy", e);
    }

    /// `value` moved by at most `amplitude`, either way with equal chance.
    pub fn wander(&mut self, value: f64, amplitude: f64) -> f64 {
        value + noise(self.rng) * amplitude
    }
}

/// Uniform in [-1, 1).
fn noise(rng: &mut thingsim_mqtt::SeededRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
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

/// The metering devices' command that zeroes the energy counter.
const RESET_ENERGY: CommandSpec = CommandSpec {
    action: "resetEnergy",
    description: "Zero the energy counter",
    params: &[],
};

/// What [`RESET_ENERGY`] does.
fn reset_energy(state: &mut State) -> Map<String, Value> {
    state.insert("energy".into(), json!(0.0));
    let mut result = Map::new();
    result.insert("energy".into(), json!(0.0));
    result
}

const fn number(min: f64, max: f64, step: f64, unit: &'static str) -> Kind {
    Kind::Number {
        min,
        max,
        step,
        unit,
    }
}

/// The built-in templates, in the order the form lists them.
pub static TEMPLATES: &[&Template] = &[
    &THERMOSTAT,
    &SMART_LIGHT,
    &DOOR_LOCK,
    &ENERGY_METER,
    &ENVIRONMENT_SENSOR,
    &SMART_PLUG,
];

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
    generator: Generator,
    /// Where in its period this device's shape starts (0..1), so a group is not in lockstep.
    phase: f64,
    /// Seconds ticked so far.
    elapsed_s: f64,
    /// ± this percent on every reporting interval.
    jitter_percent: u32,
}

impl DeviceModel {
    /// A device in its initial state; `seed` drives its readings.
    pub fn new(template: &'static Template, seed: u64) -> Self {
        // Inserted one by one: collecting into the B-tree would bring its sort and bulk build
        // into the module for a few keys (shadow::cloud's metadata does the same).
        let mut state = State::new();
        for p in template.properties {
            let v = match p.initial {
                InitialValue::Bool(b) => Value::Bool(b),
                InitialValue::Number(n) => json!(n),
                InitialValue::Str(s) => Value::String(s.to_owned()),
            };
            state.insert(p.key.to_owned(), v);
        }
        Self {
            template,
            state,
            rng: thingsim_mqtt::SeededRng::new(seed),
            generator: Generator::Walk,
            phase: 0.0,
            elapsed_s: 0.0,
            jitter_percent: 0,
        }
    }

    /// The same device with its numeric readings shaped by `generator`.
    #[must_use]
    pub fn with_generator(mut self, generator: Generator) -> Self {
        self.generator = generator;
        self.phase = (noise(&mut self.rng) + 1.0) / 2.0;
        self
    }

    /// The same device reporting at intervals ± `percent` (so a group's reports spread out).
    #[must_use]
    pub fn with_jitter(mut self, percent: u32) -> Self {
        self.jitter_percent = percent.min(100);
        self
    }

    /// `ms` moved by up to ± the jitter, at random (never below 1 ms).
    pub fn jittered(&mut self, ms: u64) -> u64 {
        if self.jitter_percent == 0 {
            return ms;
        }
        let spread = ms as f64 * f64::from(self.jitter_percent) / 100.0;
        ((ms as f64 + noise(&mut self.rng) * spread).round() as u64).max(1)
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
                    "unknown action {}; a {} accepts {}",
                    quoted(action),
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
                        format!("missing parameter {}", quoted(p.name)),
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
                            format!("parameter {}: {e}", quoted(p.name)),
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
                format!("unexpected parameter {}", quoted(extra)),
            );
        }
        let result = if action == REBOOT.action {
            let mut result = Map::new();
            result.insert("rebooted".to_owned(), Value::Bool(true));
            Ok(result)
        } else {
            self.template
                .behaviour
                .command(&mut self.state, action, &args)
        };
        let result = match result {
            Ok(result) => result,
            Err(refusal) => return refusal,
        };
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
                    "unknown job action {}; a {} runs {}",
                    quoted(action),
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
                        .ok_or_else(|| format!("pushConfig: no property {}", quoted(key)))?;
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
        if let Some(outcome) =
            self.template
                .behaviour
                .finish_job(&mut self.state, spec.action, &params)
        {
            return outcome;
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
        self.elapsed_s += dt_secs;
        let shaped: Vec<(&'static str, Option<Value>)> =
            generator::shaped(self.template, self.generator)
                .map(|p| (p.key, self.state.get(p.key).cloned()))
                .collect();
        let mut readings = Readings {
            template: self.template,
            state: &mut self.state,
            rng: &mut self.rng,
            changed: State::new(),
            dt_secs,
        };
        // The template's tick runs under any shape: counters it keeps (energy) count on.
        self.template.behaviour.tick(&mut readings);
        for (key, before) in shaped {
            if let Some(p) = self.template.property(key)
                && let Some(v) = self.generator.value(p, self.elapsed_s, self.phase)
            {
                readings.set(key, v);
            }
            // Moved by the template and put back by the shape: nothing to report.
            if readings.state.get(key) == before.as_ref() {
                readings.changed.remove(key);
            }
        }
        readings.changed
    }
}

/// `v` as people read it, as `format!("{v}")` writes it for the numbers a device model holds:
/// whole numbers without a point, others in the shortest form that reads back the same, through
/// serde_json's writer, so a page that formats numbers carries one float formatter, not two.
pub fn shown_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        // Exact: whole and within i64, where `as` loses nothing.
        (v as i64).to_string()
    } else {
        serde_json::Number::from_f64(v).map_or_else(|| "NaN".to_owned(), |n| n.to_string())
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
                Err(format!(
                    "{} is outside {}–{} {unit}",
                    shown_number(v),
                    shown_number(min),
                    shown_number(max)
                )
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

    proptest::proptest! {
        // What `format!("{v}")` writes, for whole and fractional numbers of a device's range.
        #[test]
        fn a_number_reads_as_display_writes_it(v in -1.0e9f64..1.0e9, whole in -1_000_000i64..1_000_000) {
            proptest::prop_assert_eq!(shown_number(v), format!("{v}"));
            proptest::prop_assert_eq!(shown_number(whole as f64), format!("{}", whole as f64));
            proptest::prop_assert_eq!(shown_number(v / 1000.0), format!("{}", v / 1000.0));
        }
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

    fn reading(s: &State, key: &str) -> f64 {
        s.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
    }

    fn step_of(t: &Template, key: &str) -> f64 {
        match t.property(key).map(|p| p.kind) {
            Some(Kind::Number { step, .. }) => step,
            other => panic!("{key} is {other:?}"),
        }
    }

    /// The readings after each of `ticks` ticks of `dt` seconds.
    fn walk(t: &'static Template, seed: u64, ticks: usize, dt: f64) -> Vec<State> {
        let mut m = DeviceModel::new(t, seed);
        (0..ticks)
            .map(|_| {
                m.tick(dt);
                m.state().clone()
            })
            .collect()
    }

    #[test]
    fn readings_wander_both_ways_by_at_most_their_noise_and_stay_on_their_step() {
        // (template, reading, the most one tick may move it, from this value up: the meter's
        // load never idles below 50 W)
        for (t, key, most, from) in [
            (&ENVIRONMENT_SENSOR, "temperature", 0.1, f64::MIN),
            (&ENVIRONMENT_SENSOR, "humidity", 0.3, f64::MIN),
            (&ENVIRONMENT_SENSOR, "co2", 15.0, f64::MIN),
            (&ENERGY_METER, "power", 40.0, 50.0),
        ] {
            let step = step_of(t, key);
            for seed in 1..=5 {
                let values: Vec<f64> = walk(t, seed, 200, 10.0)
                    .iter()
                    .map(|s| reading(s, key))
                    .collect();
                let moves: Vec<f64> = values
                    .windows(2)
                    .filter(|w| w[0] >= from)
                    .map(|w| w[1] - w[0])
                    .collect();
                let why = format!("{}.{key}, seed {seed}: {values:?}", t.id);
                assert!(
                    moves.iter().all(|d| d.abs() <= most + step / 2.0 + 1e-9),
                    "{why}"
                );
                assert!(moves.iter().any(|d| *d >= step), "goes up: {why}");
                assert!(moves.iter().any(|d| *d <= -step), "goes down: {why}");
                assert!(
                    moves.iter().any(|d| d.abs() > most / 2.0),
                    "by more than a little: {why}"
                );
                assert!(
                    values
                        .iter()
                        .all(|v| ((v / step).round() * step - v).abs() < 1e-6),
                    "on its step: {why}"
                );
            }
        }
    }

    #[test]
    fn the_meter_sees_230_volts_give_or_take_two() {
        for seed in 1..=5 {
            let volts: Vec<f64> = walk(&ENERGY_METER, seed, 100, 10.0)
                .iter()
                .map(|s| reading(s, "voltage"))
                .collect();
            assert!(
                volts.iter().all(|v| (228.0..=232.0).contains(v)),
                "{volts:?}"
            );
            assert!(volts.iter().any(|v| *v < 229.0), "{volts:?}");
            assert!(volts.iter().any(|v| *v > 231.0), "{volts:?}");
        }
    }

    #[test]
    fn energy_counts_the_power_drawn_in_kilowatt_hours() {
        for seed in 1..=5 {
            let mut m = DeviceModel::new(&ENERGY_METER, seed);
            let before = reading(m.state(), "energy");
            m.tick(3_600.0);
            let (power, energy) = (reading(m.state(), "power"), reading(m.state(), "energy"));
            // One hour at `power` W is power / 1000 kWh.
            assert!(
                (energy - (before + power / 1_000.0)).abs() < 0.000_5 + 1e-9,
                "{before} + {power} W for 1 h = {energy}"
            );
            m.write("relay", &json!(false)).unwrap();
            m.tick(3_600.0);
            assert_eq!(reading(m.state(), "power"), 0.0, "the relay is open");
            assert_eq!(reading(m.state(), "energy"), energy);
        }
    }

    #[test]
    fn the_thermostat_closes_on_its_target_with_a_one_minute_time_constant() {
        for seed in 1..=5 {
            // 19.5 °C toward 21 °C: after one time constant, 1 − 1/e of the gap is closed.
            let mut m = DeviceModel::new(&THERMOSTAT, seed);
            m.tick(60.0);
            let t = reading(m.state(), "temperature");
            let expected = 19.5 + 1.5 * (1.0 - (-1.0f64).exp());
            assert!((t - expected).abs() <= 0.1 + 1e-9, "{t} vs {expected}");
            // Switched off, only the sensor's noise moves it.
            m.write("power", &json!(false)).unwrap();
            for _ in 0..50 {
                let before = reading(m.state(), "temperature");
                m.tick(600.0);
                let after = reading(m.state(), "temperature");
                assert!((after - before).abs() <= 0.1 + 1e-9, "{before} → {after}");
            }
        }
    }

    #[test]
    fn the_lock_battery_drains_one_percent_a_day() {
        let mut m = DeviceModel::new(&DOOR_LOCK, 1);
        m.tick(86_400.0);
        assert_eq!(reading(m.state(), "battery"), 86.0);
        m.tick(10.0 * 86_400.0);
        assert_eq!(reading(m.state(), "battery"), 76.0);
    }

    #[test]
    fn every_command_does_what_it_says() {
        fn ok(m: &mut DeviceModel, action: &str, params: Value) -> State {
            let r = m.run_command(action, &obj(params));
            assert_eq!(
                r.status,
                CommandStatus::Succeeded,
                "{action}: {:?}",
                r.result
            );
            r.result
        }
        // (template, a command run first, the command, its parameters, its result; a result
        // that names a property is also the state it leaves)
        let unlock = ("unlock", json!({"code": "1234"}));
        for (template, first, action, params, result) in [
            (
                &SMART_LIGHT,
                None,
                "blink",
                json!({}),
                json!({"blinked": 3}),
            ),
            (
                &SMART_LIGHT,
                None,
                "blink",
                json!({"times": 5}),
                json!({"blinked": 5.0}),
            ),
            (
                &DOOR_LOCK,
                Some(unlock),
                "lock",
                json!({}),
                json!({"locked": true}),
            ),
            (
                &ENERGY_METER,
                None,
                "resetEnergy",
                json!({}),
                json!({"energy": 0.0}),
            ),
            (
                &ENVIRONMENT_SENSOR,
                None,
                "calibrate",
                json!({}),
                json!({"co2": 420.0}),
            ),
            (
                &ENVIRONMENT_SENSOR,
                None,
                "calibrate",
                json!({"reference": 450}),
                json!({"co2": 450.0}),
            ),
        ] {
            let mut m = DeviceModel::new(template, 1);
            if let Some((first, params)) = first {
                ok(&mut m, first, params);
            }
            assert_eq!(ok(&mut m, action, params), obj(result.clone()), "{action}");
            for (key, value) in obj(result) {
                if template.property(&key).is_some() {
                    assert_eq!(m.state()[&key], value, "{action}");
                }
            }
        }
        for t in TEMPLATES {
            let mut m = DeviceModel::new(t, 1);
            let before = m.state().clone();
            assert_eq!(
                ok(&mut m, "reboot", json!({})),
                obj(json!({"rebooted": true}))
            );
            assert_eq!(m.state(), &before, "{}", t.id);
        }
    }

    #[test]
    fn text_and_colour_parameters_are_checked_before_the_action_runs() {
        let mut lock = DeviceModel::new(&DOOR_LOCK, 1);
        let r = lock.run_command("unlock", &obj(json!({"code": "1".repeat(65)})));
        assert_eq!(r.status, CommandStatus::Rejected);
        assert!(
            r.result["error"]
                .as_str()
                .unwrap_or_default()
                .contains("at most 64"),
            "{r:?}"
        );
        let mut light = DeviceModel::new(&SMART_LIGHT, 1);
        for colour in ["#fff", "0ff8800", "#ff880g"] {
            let r = light.run_command("setColor", &obj(json!({"color": colour})));
            assert_eq!(r.status, CommandStatus::Rejected, "{colour}");
        }
        assert_eq!(light.state()["color"], json!("#ffd27f"));
    }

    #[test]
    fn a_config_job_validates_then_applies_its_settings() {
        let mut m = DeviceModel::new(&SMART_LIGHT, 1);
        assert!(
            m.check_job(&json!({"action": "updateFirmware", "params": {"version": "  "}}))
                .is_err()
        );
        let doc = json!({"action": "pushConfig", "params": {"brightness": 40, "on": true}});
        assert!(m.check_job(&doc).is_ok());
        assert_eq!(
            m.job_step(&doc, 1),
            StepOutcome::Progress {
                percent: 50,
                step: "validating".into()
            }
        );
        assert_eq!(m.state()["brightness"], json!(80.0), "nothing applied yet");
        assert_eq!(
            m.job_step(&doc, 2),
            StepOutcome::Done {
                summary: "2 settings applied".into()
            }
        );
        assert_eq!(m.state()["brightness"], json!(40.0));
        assert_eq!(m.state()["on"], json!(true));
    }
}
