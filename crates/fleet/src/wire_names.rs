//! Enums the wire names by fixed strings (`"IN_PROGRESS"`, `"VersionMismatch"`).

/// Gives an enum of unit variants its wire names: `as_str`, `from_name`, serde impls that
/// write and read those names as JSON strings, and [`crate::fields`]' readers. serde's derive
/// would do the same with a visitor of its own for each enum and each format, about 1.5 KB of
/// wasm apiece; these share `String`'s.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The name on the wire, e.g. for people to read.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The value the wire calls `name`, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = String::deserialize(deserializer)?;
                <Self as crate::fields::FromKey>::from_key(name).map_err(serde::de::Error::custom)
            }
        }

        impl crate::fields::FromKey for $ty {
            fn from_key(name: String) -> Result<Self, String> {
                Self::from_name(&name)
                    .ok_or_else(|| crate::wire_names::unknown(&name, &[$($name),+]))
            }
        }

        impl crate::fields::FromJson for $ty {
            fn from_json(value: serde_json::Value) -> Result<Self, String> {
                <Self as crate::fields::FromKey>::from_key(crate::fields::FromJson::from_json(value)?)
            }
        }
    };
}

/// serde's words for a name that is not one of `names`: "unknown variant `DONE`, expected one
/// of `SENT`, `SUCCEEDED`".
pub(crate) fn unknown(name: &str, names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [one] => format!("unknown variant `{name}`, expected {one}"),
        [a, b] => format!("unknown variant `{name}`, expected {a} or {b}"),
        _ => format!(
            "unknown variant `{name}`, expected one of {}",
            quoted.join(", ")
        ),
    }
}

pub(crate) use wire_names;

#[cfg(test)]
mod tests {
    use crate::commands::CommandStatus;
    use crate::jobs::cloud::{JobState, JobType};
    use crate::jobs::{JobStatus, RejectCode};

    fn round_trip<T>(all: &[T], names: &[&str])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        for (value, name) in all.iter().zip(names) {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
            assert_eq!(
                &crate::json::read::<T>("name", json.as_bytes()).unwrap(),
                value
            );
        }
    }

    #[test]
    fn every_status_and_code_is_written_and_read_by_its_protocol_name() {
        use JobStatus as J;
        round_trip(
            &[
                J::Queued,
                J::InProgress,
                J::Succeeded,
                J::Failed,
                J::Rejected,
                J::TimedOut,
                J::Canceled,
                J::Removed,
            ],
            &[
                "QUEUED",
                "IN_PROGRESS",
                "SUCCEEDED",
                "FAILED",
                "REJECTED",
                "TIMED_OUT",
                "CANCELED",
                "REMOVED",
            ],
        );
        use CommandStatus as C;
        round_trip(
            &[
                C::Sent,
                C::Succeeded,
                C::Failed,
                C::Rejected,
                C::TimedOut,
                C::Canceled,
            ],
            &[
                "SENT",
                "SUCCEEDED",
                "FAILED",
                "REJECTED",
                "TIMED_OUT",
                "CANCELED",
            ],
        );
        use RejectCode as R;
        round_trip(
            &[
                R::InvalidJson,
                R::InvalidRequest,
                R::InvalidStateTransition,
                R::VersionMismatch,
                R::ResourceNotFound,
                R::TerminalStateReached,
            ],
            &[
                "InvalidJson",
                "InvalidRequest",
                "InvalidStateTransition",
                "VersionMismatch",
                "ResourceNotFound",
                "TerminalStateReached",
            ],
        );
        round_trip(
            &[JobType::Snapshot, JobType::Continuous],
            &["SNAPSHOT", "CONTINUOUS"],
        );
        round_trip(
            &[
                JobState::InProgress,
                JobState::Completed,
                JobState::Canceled,
            ],
            &["IN_PROGRESS", "COMPLETED", "CANCELED"],
        );
    }

    #[test]
    fn a_name_the_protocol_does_not_have_is_refused_with_the_ones_it_has() {
        let err = serde_json::from_str::<CommandStatus>("\"DONE\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "unknown variant `DONE`, expected one of `SENT`, `SUCCEEDED`, `FAILED`, \
                 `REJECTED`, `TIMED_OUT`, `CANCELED`"
            ),
            "{err}"
        );
        let err = serde_json::from_str::<JobType>("\"ONCE\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown variant `ONCE`, expected `SNAPSHOT` or `CONTINUOUS`"),
            "{err}"
        );
        // Case matters on the wire, and only a string names a status.
        assert!(serde_json::from_str::<JobStatus>("\"queued\"").is_err());
        assert!(serde_json::from_str::<JobStatus>("0").is_err());
        assert!(serde_json::from_str::<JobStatus>(r#"{"QUEUED":null}"#).is_err());
        for text in ["\"queued\"", "0", r#"{"QUEUED":null}"#] {
            assert!(crate::json::read::<JobStatus>("status", text.as_bytes()).is_err());
        }
    }
}
