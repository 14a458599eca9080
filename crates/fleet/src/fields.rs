//! Documents' structs read from a JSON value, field by field: what serde's derive does for
//! them, with what does not depend on the type done once.
//!
//! Why not the derive: it gives each struct a visitor of its own (a loop over the keys, a match
//! on their names, a typed read per field, a check for duplicates), 1–5 KB of WebAssembly per
//! type, and the device and the sandbox's cloud read sixteen types. Here a type's reader is a
//! list of [`Fields::get`] calls on the [`Value`] the JSON reader already builds.
//!
//! Read as the derive reads them, in serde's words ("missing field `status`", "invalid type:
//! string \"x\", expected u64"), with these differences: a key given twice counts once, the
//! last (as in a [`Value`]), where the derive refuses the document; of several faults, the
//! first in the struct's order is reported, not the first in the document's; and the error
//! names no byte (the value was read whole first).

use serde_json::{Map, Number, Value};

use crate::vec_map::VecMap;

/// A type read from a JSON value; the error is the reason, in serde's words.
pub(crate) trait FromJson: Sized {
    /// The value, or why not.
    fn from_json(value: Value) -> Result<Self, String>;

    /// What an absent field reads as: an error, unless the type has a meaning for it (`None`).
    fn absent(name: &str) -> Result<Self, String> {
        Err(format!("missing field `{name}`"))
    }
}

/// An object's fields, each taken once by name; fields not taken are ignored.
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// The object `value` is, or an error naming `what` was expected (e.g. "struct Notify").
    pub(crate) fn of(value: Value, what: &str) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            other => Err(wrong(&other, what)),
        }
    }

    /// The field `name`, read as `T` (absent: as `T` says, see [`FromJson::absent`]).
    pub(crate) fn get<T: FromJson>(&mut self, name: &str) -> Result<T, String> {
        match self.0.remove(name) {
            Some(value) => T::from_json(value),
            None => T::absent(name),
        }
    }

    /// The field `name`, or `default()` when it is absent (`#[serde(default = …)]`).
    pub(crate) fn or<T: FromJson>(&mut self, name: &str, default: fn() -> T) -> Result<T, String> {
        match self.0.remove(name) {
            Some(value) => T::from_json(value),
            None => Ok(default()),
        }
    }

    /// The field `name`, or `T`'s default when it is absent (`#[serde(default)]`).
    pub(crate) fn or_default<T: FromJson + Default>(&mut self, name: &str) -> Result<T, String> {
        self.or(name, T::default)
    }
}

/// serde's words for a value of the wrong type: `invalid type: map, expected a string`.
pub(crate) fn wrong(value: &Value, expected: &str) -> String {
    let shown = match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => number(n),
        // Quoted as serde's `Unexpected` quotes it (`{:?}`), a peer's invisible characters
        // shown, without core's Unicode tables.
        Value::String(s) => format!("string {}", thingsim_mqtt::quoted(s)),
        Value::Array(_) => "sequence".to_owned(),
        Value::Object(_) => "map".to_owned(),
    };
    format!("invalid type: {shown}, expected {expected}")
}

fn number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => format!("floating point `{}`", crate::model::shown_number(f)),
        _ => format!("integer `{n}`"),
    }
}

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(wrong(&other, "a map")),
        }
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(wrong(&other, "a string")),
        }
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(wrong(&other, "a boolean")),
        }
    }
}

impl FromJson for u64 {
    fn from_json(value: Value) -> Result<Self, String> {
        match &value {
            Value::Number(n) if n.is_i64() && !n.is_u64() => {
                Err(format!("invalid value: {}, expected u64", number(n)))
            }
            Value::Number(n) => n.as_u64().ok_or_else(|| wrong(&value, "u64")),
            _ => Err(wrong(&value, "u64")),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }

    fn absent(_: &str) -> Result<Self, String> {
        Ok(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => items.into_iter().map(T::from_json).collect(),
            other => Err(wrong(&other, "a sequence")),
        }
    }
}

/// A map's keys: strings, or names read from strings.
pub(crate) trait FromKey: Sized {
    /// The key `key` names, or why not.
    fn from_key(key: String) -> Result<Self, String>;
}

impl FromKey for String {
    fn from_key(key: String) -> Result<Self, String> {
        Ok(key)
    }
}

impl<K: FromKey + Ord, V: FromJson> FromJson for VecMap<K, V> {
    fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(wrong(&value, "a map"));
        };
        let mut out = Self::new();
        for (key, value) in map {
            out.insert(K::from_key(key)?, V::from_json(value)?);
        }
        Ok(out)
    }
}

/// `Deserialize` for types that are [`FromJson`]: through a [`Value`], so any deserializer
/// reads them (serde_json's in tests and the native cloud, ours everywhere else).
macro_rules! deserialize_from_json {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                <$ty as crate::fields::FromJson>::from_json(value).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

pub(crate) use deserialize_from_json;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Doc {
        name: String,
        count: u64,
        on: bool,
        note: Option<String>,
        tags: Vec<String>,
        extra: Value,
        every: u64,
    }

    impl FromJson for Doc {
        fn from_json(value: Value) -> Result<Self, String> {
            let mut f = Fields::of(value, "struct Doc")?;
            Ok(Self {
                name: f.get("name")?,
                count: f.get("count")?,
                on: f.or_default("on")?,
                note: f.get("note")?,
                tags: f.or_default("tags")?,
                extra: f.get("extra")?,
                every: f.or("every", || 60)?,
            })
        }
    }

    fn read(value: Value) -> Result<Doc, String> {
        Doc::from_json(value)
    }

    #[test]
    fn a_document_reads_its_fields_and_defaults_what_is_absent() {
        let doc = read(json!({"name": "a", "count": 2, "extra": null, "unknown": [1]})).unwrap();
        assert_eq!(
            doc,
            Doc {
                name: "a".into(),
                count: 2,
                on: false,
                note: None,
                tags: vec![],
                extra: Value::Null,
                every: 60,
            }
        );
        let doc = read(json!({
            "name": "b", "count": 0, "on": true, "note": null, "tags": ["x"], "extra": {"k": 1},
            "every": 5
        }))
        .unwrap();
        assert_eq!(doc.note, None);
        assert_eq!(doc.tags, vec!["x".to_owned()]);
        assert_eq!(doc.extra, json!({"k": 1}));
        assert_eq!(doc.every, 5);
    }

    #[test]
    fn errors_are_in_serdes_words() {
        for (value, reason) in [
            (json!([]), "invalid type: sequence, expected struct Doc"),
            (json!({"count": 1}), "missing field `name`"),
            (json!({"name": "a", "extra": 1}), "missing field `count`"),
            (json!({"name": "a", "count": 1}), "missing field `extra`"),
            (
                json!({"name": 1, "count": 1, "extra": 1}),
                "invalid type: integer `1`, expected a string",
            ),
            (
                json!({"extra": 0, "name": "a", "count": -1}),
                "invalid value: integer `-1`, expected u64",
            ),
            (
                json!({"extra": 0, "name": "a", "count": 1.5}),
                "invalid type: floating point `1.5`, expected u64",
            ),
            (
                json!({"extra": 0, "name": "a", "count": "1"}),
                "invalid type: string \"1\", expected u64",
            ),
            (
                json!({"extra": 0, "name": "a", "count": null}),
                "invalid type: null, expected u64",
            ),
            (
                json!({"extra": 0, "name": "a", "count": 1, "on": "yes"}),
                "invalid type: string \"yes\", expected a boolean",
            ),
            (
                json!({"extra": 0, "name": "a", "count": 1, "every": null}),
                "invalid type: null, expected u64",
            ),
            (
                json!({"extra": 0, "name": "a", "count": 1, "tags": {}}),
                "invalid type: map, expected a sequence",
            ),
            (
                json!({"extra": 0, "name": "a", "count": 1, "tags": [true]}),
                "invalid type: boolean `true`, expected a string",
            ),
        ] {
            assert_eq!(read(value.clone()), Err(reason.to_owned()), "{value}");
        }
    }

    /// What serde's derive made of `JobExecution` and `CommandRequest` before they were read
    /// field by field: the readers must agree with it.
    mod derived {
        use crate::jobs::{JobStatus, StatusDetails};
        use serde::Deserialize;
        use serde_json::{Map, Value};

        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub(super) struct JobExecution {
            pub job_id: String,
            #[serde(default)]
            pub thing_name: String,
            #[serde(default)]
            pub job_document: Option<Value>,
            pub status: JobStatus,
            #[serde(default)]
            pub status_details: StatusDetails,
            #[serde(default)]
            pub queued_at: u64,
            #[serde(default)]
            pub started_at: Option<u64>,
            #[serde(default)]
            pub last_updated_at: u64,
            pub version_number: u64,
            #[serde(default = "one")]
            pub execution_number: u64,
            #[serde(default)]
            pub approximate_seconds_before_timed_out: Option<u64>,
        }

        fn one() -> u64 {
            1
        }

        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub(super) struct CommandRequest {
            pub command_id: String,
            pub action: String,
            #[serde(default)]
            pub params: Map<String, Value>,
            #[serde(default)]
            pub timestamp: u64,
            #[serde(default = "thirty")]
            pub ttl: u64,
        }

        fn thirty() -> u64 {
            30
        }
    }

    /// A field's value: mostly of the right type, sometimes not.
    fn field_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..5).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e3f64..1e3).prop_map(Value::from),
            "[a-zA-Z_]{0,6}".prop_map(Value::from),
            prop_oneof![Just("QUEUED"), Just("IN_PROGRESS"), Just("DONE")].prop_map(Value::from),
            Just(json!({"progress": "50", "step": "2"})),
            Just(json!({"progress": 50})),
            Just(json!([1, "a"])),
            Just(json!({})),
        ]
    }

    /// `valid` with some of its fields left out and a few set to any value (or added).
    fn documents(
        valid: Value,
        names: &'static [&'static str],
    ) -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        (
            proptest::collection::vec(any::<bool>(), names.len()),
            proptest::collection::vec((proptest::sample::select(names), field_value()), 0..3),
        )
            .prop_map(move |(keep, changes)| {
                let mut doc = valid.clone();
                let map = doc.as_object_mut().expect("an object");
                for (name, kept) in names.iter().zip(keep) {
                    if !kept {
                        map.remove(*name);
                    }
                }
                for (name, value) in changes {
                    map.insert(name.to_owned(), value);
                }
                doc
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn a_job_execution_reads_as_the_derive_read_it(doc in documents(
            json!({
                "jobId": "j1", "thingName": "t1", "jobDocument": {"action": "reboot"},
                "status": "QUEUED", "statusDetails": {"step": "1"}, "queuedAt": 5,
                "startedAt": 6, "lastUpdatedAt": 7, "versionNumber": 2, "executionNumber": 3,
                "approximateSecondsBeforeTimedOut": 60, "other": true,
            }),
            &[
                "jobId", "thingName", "jobDocument", "status", "statusDetails", "queuedAt",
                "startedAt", "lastUpdatedAt", "versionNumber", "executionNumber",
                "approximateSecondsBeforeTimedOut", "other",
            ],
        )) {
            let ours = crate::jobs::JobExecution::from_json(doc.clone());
            let theirs = serde_json::from_value::<derived::JobExecution>(doc.clone());
            match (ours, theirs) {
                (Ok(a), Ok(b)) => {
                    proptest::prop_assert_eq!(
                        (a.job_id, a.thing_name, a.job_document, a.status, a.status_details),
                        (b.job_id, b.thing_name, b.job_document, b.status, b.status_details)
                    );
                    proptest::prop_assert_eq!(
                        (a.queued_at, a.started_at, a.last_updated_at, a.version_number),
                        (b.queued_at, b.started_at, b.last_updated_at, b.version_number)
                    );
                    proptest::prop_assert_eq!(
                        (a.execution_number, a.approximate_seconds_before_timed_out),
                        (b.execution_number, b.approximate_seconds_before_timed_out)
                    );
                }
                (Err(_), Err(_)) => {}
                (a, b) => proptest::prop_assert!(false, "{doc}: ours {a:?}, the derive's {b:?}"),
            }
        }

        #[test]
        fn a_command_request_reads_as_the_derive_read_it(doc in documents(
            json!({
                "commandId": "c1", "action": "reboot", "params": {"delay": 1},
                "timestamp": 9, "ttl": 10, "other": null,
            }),
            &["commandId", "action", "params", "timestamp", "ttl", "other"],
        )) {
            let ours = crate::commands::CommandRequest::from_json(doc.clone());
            let theirs = serde_json::from_value::<derived::CommandRequest>(doc.clone());
            match (ours, theirs) {
                (Ok(a), Ok(b)) => proptest::prop_assert_eq!(
                    (a.command_id, a.action, a.params, a.timestamp, a.ttl),
                    (b.command_id, b.action, b.params, b.timestamp, b.ttl)
                ),
                (Err(_), Err(_)) => {}
                (a, b) => proptest::prop_assert!(false, "{doc}: ours {a:?}, the derive's {b:?}"),
            }
        }
    }

    #[test]
    fn a_string_map_reads_each_entry_in_key_order() {
        let map = VecMap::<String, u64>::from_json(json!({"b": 2, "a": 1})).unwrap();
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            [(&"a".to_owned(), &1), (&"b".to_owned(), &2)]
        );
        assert_eq!(
            VecMap::<String, u64>::from_json(json!({"a": "x"})),
            Err("invalid type: string \"x\", expected u64".to_owned())
        );
        assert_eq!(
            VecMap::<String, u64>::from_json(json!(null)),
            Err("invalid type: null, expected a map".to_owned())
        );
    }
}
