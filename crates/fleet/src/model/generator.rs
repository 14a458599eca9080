//! How a device's readings move over time, chosen per fleet group: the template's own random
//! walk, or a shape a demo can show at a glance (a sine, a step, a flat line).

use super::{InitialValue, Kind, Property, Template};

/// Period of a sine or a step when none is given, in seconds.
pub const DEFAULT_PERIOD_S: u64 = 60;

/// A data generator for a device's numeric readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Generator {
    /// The template's own random walk within each reading's range.
    #[default]
    Walk,
    /// The initial value ± 10 % of the range, a full wave every `period_s`.
    Sine {
        /// Seconds per wave.
        period_s: u64,
    },
    /// The initial value − 10 % of the range, then + 10 %, switching every half period.
    Step {
        /// Seconds per low + high.
        period_s: u64,
    },
    /// The initial value, held.
    Constant,
}

impl Generator {
    /// `walk`, `sine`, `sine@30` (seconds per wave), `step`, `step@10`, `constant`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, period) = match text.split_once('@') {
            Some((n, p)) => (
                n,
                Some(
                    p.parse::<u64>()
                        .ok()
                        .filter(|s| (1..=86_400).contains(s))
                        .ok_or_else(|| {
                            format!("generator: {n}@… needs a period from 1 to 86400 seconds")
                        })?,
                ),
            ),
            None => (text, None),
        };
        let period_s = period.unwrap_or(DEFAULT_PERIOD_S);
        match (name, period) {
            ("walk" | "", None) => Ok(Self::Walk),
            ("sine", _) => Ok(Self::Sine { period_s }),
            ("step", _) => Ok(Self::Step { period_s }),
            ("constant", None) => Ok(Self::Constant),
            ("walk" | "constant", Some(_)) => Err(format!("generator: {name} takes no period")),
            (other, _) => Err(format!(
                "generator: unknown {}; use walk, sine@seconds, step@seconds or constant",
                thingsim_mqtt::quoted(other)
            )),
        }
    }

    /// A word for people and URLs (`parse` reads it back).
    pub fn label(self) -> String {
        match self {
            Self::Walk => "walk".into(),
            Self::Sine { period_s } => format!("sine@{period_s}"),
            Self::Step { period_s } => format!("step@{period_s}"),
            Self::Constant => "constant".into(),
        }
    }

    /// The value of `property` `elapsed_s` into the device's life, `phase` (0..1) into its
    /// period; `None` for the walk (the template moves it) and for what this does not shape.
    pub(super) fn value(self, property: &Property, elapsed_s: f64, phase: f64) -> Option<f64> {
        let Kind::Number { min, max, .. } = property.kind else {
            return None;
        };
        // Counters (energy in kWh) keep counting what the shaped power draws.
        if property.writable || matches!(property.kind, Kind::Number { unit: "kWh", .. }) {
            return None;
        }
        let initial = match property.initial {
            InitialValue::Number(n) => n,
            _ => (min + max) / 2.0,
        };
        let swing = (max - min) * 0.1;
        let turn = |period_s: u64| (elapsed_s / period_s as f64 + phase).fract();
        match self {
            Self::Walk => None,
            Self::Constant => Some(initial),
            Self::Sine { period_s } => {
                Some(initial + swing * (turn(period_s) * std::f64::consts::TAU).sin())
            }
            Self::Step { period_s } => Some(if turn(period_s) < 0.5 {
                initial - swing
            } else {
                initial + swing
            }),
        }
    }
}

/// The readings `generator` shapes in `template`.
pub fn shaped(template: &Template, generator: Generator) -> impl Iterator<Item = &Property> {
    template
        .properties
        .iter()
        .filter(move |p| generator.value(p, 0.0, 0.0).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeviceModel, ENERGY_METER, ENVIRONMENT_SENSOR, SMART_LIGHT};

    #[test]
    fn generators_are_read_back_from_their_labels_and_refuse_what_they_do_not_know() {
        for g in [
            Generator::Walk,
            Generator::Sine { period_s: 30 },
            Generator::Step { period_s: 10 },
            Generator::Constant,
        ] {
            assert_eq!(Generator::parse(&g.label()), Ok(g));
        }
        assert_eq!(
            Generator::parse("sine"),
            Ok(Generator::Sine {
                period_s: DEFAULT_PERIOD_S
            })
        );
        assert!(Generator::parse("sine@0").unwrap_err().contains("period"));
        assert!(
            Generator::parse("walk@5")
                .unwrap_err()
                .contains("no period")
        );
        assert!(Generator::parse("saw").unwrap_err().contains("unknown"));
    }

    #[test]
    fn a_sine_swings_ten_percent_of_the_range_around_the_initial_value() {
        let mut m = DeviceModel::new(&ENVIRONMENT_SENSOR, 3)
            .with_generator(Generator::Sine { period_s: 40 });
        let p = ENVIRONMENT_SENSOR.property("temperature").unwrap();
        let (Kind::Number { min, max, .. }, InitialValue::Number(initial)) = (p.kind, p.initial)
        else {
            panic!("temperature is a number")
        };
        let swing = (max - min) * 0.1;
        let mut seen = Vec::new();
        for _ in 0..80 {
            m.tick(1.0);
            seen.push(m.state()["temperature"].as_f64().unwrap());
        }
        let (lo, hi) = seen
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        assert!(hi - lo > swing * 1.8, "a full swing: {lo}..{hi}");
        assert!(lo >= initial - swing - 0.1 && hi <= initial + swing + 0.1);
        // A wave is 40 s: the values repeat.
        assert!(
            (seen[5] - seen[45]).abs() < 0.11,
            "{} vs {}",
            seen[5],
            seen[45]
        );
    }

    #[test]
    fn a_step_holds_low_then_high_and_a_constant_never_moves() {
        let mut step =
            DeviceModel::new(&ENERGY_METER, 1).with_generator(Generator::Step { period_s: 10 });
        let mut volts = Vec::new();
        for _ in 0..20 {
            step.tick(1.0);
            volts.push(step.state()["voltage"].as_f64().unwrap());
        }
        let mut levels = volts.clone();
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        assert_eq!(levels.len(), 2, "two levels: {volts:?}");
        let switches = volts.windows(2).filter(|w| w[0] != w[1]).count();
        assert!((3..=4).contains(&switches), "{volts:?}");
        // Energy still counts what the power draws.
        assert!(shaped(&ENERGY_METER, Generator::Constant).all(|p| p.key != "energy"));

        let mut flat = DeviceModel::new(&ENVIRONMENT_SENSOR, 9).with_generator(Generator::Constant);
        let first = flat.state().clone();
        for _ in 0..10 {
            assert!(
                flat.tick(1.0).is_empty(),
                "nothing changes, nothing to report"
            );
        }
        assert_eq!(flat.state(), &first);
        assert_eq!(shaped(&SMART_LIGHT, Generator::Constant).count(), 0);
    }

    #[test]
    fn jitter_spreads_intervals_within_its_percent_and_none_leaves_them_be() {
        let mut m = DeviceModel::new(&ENVIRONMENT_SENSOR, 4).with_jitter(20);
        let spread: Vec<u64> = (0..200).map(|_| m.jittered(1_000)).collect();
        assert!(
            spread.iter().all(|ms| (800..=1_200).contains(ms)),
            "{spread:?}"
        );
        let (lo, hi) = (spread.iter().min().unwrap(), spread.iter().max().unwrap());
        assert!(*lo < 850 && *hi > 1_150, "it spreads: {lo}..{hi}");
        let mut none = DeviceModel::new(&ENVIRONMENT_SENSOR, 4);
        assert!((0..10).all(|_| none.jittered(1_000) == 1_000));
        assert_eq!(
            DeviceModel::new(&ENVIRONMENT_SENSOR, 4)
                .with_jitter(100)
                .jittered(1),
            1
        );
    }
}
