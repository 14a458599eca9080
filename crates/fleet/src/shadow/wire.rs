//! Shadow documents on the wire: the update a device or the cloud publishes on
//! `shadow/update`, and the delta the cloud publishes on `shadow/update/delta`.

use serde::Serialize;

use crate::fields::{Fields, FromJson, deserialize_from_json};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The `state` of an update: reported (device-owned) and/or desired (cloud-owned) keys.
/// A key set to `null` deletes it (AWS Device Shadow convention).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UpdateState {
    /// Keys the device reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported: Option<Map<String, Value>>,
    /// Keys the cloud wants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<Map<String, Value>>,
}

/// A document published on `$emqx/things/{name}/shadow/update`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// What changes.
    pub state: UpdateState,
    /// Echoed in replies to match request and answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// Optimistic concurrency: applied only when it matches the current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

// What each document reads, as its derive would (crate::fields says why not the derive).

impl FromJson for UpdateState {
    fn from_json(value: Value) -> core::result::Result<Self, String> {
        let mut f = Fields::of(value, "struct UpdateState")?;
        Ok(Self {
            reported: f.get("reported")?,
            desired: f.get("desired")?,
        })
    }
}

impl FromJson for Update {
    fn from_json(value: Value) -> core::result::Result<Self, String> {
        let mut f = Fields::of(value, "struct Update")?;
        Ok(Self {
            state: f.get("state")?,
            client_token: f.get("clientToken")?,
            version: f.get("version")?,
        })
    }
}

impl FromJson for Delta {
    fn from_json(value: Value) -> core::result::Result<Self, String> {
        let mut f = Fields::of(value, "struct Delta")?;
        Ok(Self {
            version: f.get("version")?,
            timestamp: f.or_default("timestamp")?,
            state: f.get("state")?,
            metadata: f.or_default("metadata")?,
        })
    }
}

deserialize_from_json!(UpdateState, Update, Delta);

impl Update {
    /// A device's report of its actual state.
    pub fn reported(state: Map<String, Value>) -> Self {
        Self {
            state: UpdateState {
                reported: Some(state),
                desired: None,
            },
            ..Self::default()
        }
    }

    /// The cloud's wish.
    pub fn desired(state: Map<String, Value>) -> Self {
        Self {
            state: UpdateState {
                reported: None,
                desired: Some(state),
            },
            ..Self::default()
        }
    }

    /// Decodes a payload; says what is wrong when it is not an update document.
    pub fn from_slice(payload: &[u8]) -> Result<Self> {
        let update: Self = crate::json::document("shadow update", payload)?;
        if update.state.reported.is_none() && update.state.desired.is_none() {
            return Err(Error::Malformed {
                document: "shadow update",
                reason: "state has neither reported nor desired".to_owned(),
            });
        }
        Ok(update)
    }

    /// The JSON payload.
    pub fn to_vec(&self) -> Vec<u8> {
        // A struct of maps and options always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A document on `$emqx/things/{name}/shadow/update/delta` (docs, "Device Shadow Sync").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    /// Shadow version this delta was computed at; devices drop older ones.
    pub version: u64,
    /// Epoch seconds.
    pub timestamp: u64,
    /// Only the keys where desired and reported differ.
    pub state: Map<String, Value>,
    /// Per-key `{"timestamp": …}`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

impl Delta {
    /// Decodes a payload; says what is wrong when it is not a delta document.
    pub fn from_slice(payload: &[u8]) -> Result<Self> {
        crate::json::document("shadow delta", payload)
    }

    /// The JSON payload.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test literal is an object"),
        }
    }

    #[test]
    fn the_reference_delta_example_decodes() {
        let payload = br#"{"version":5,"timestamp":1748390400,"state":{"targetTemperature":24},
            "metadata":{"targetTemperature":{"timestamp":1748390400}}}"#;
        let delta = Delta::from_slice(payload).unwrap();
        assert_eq!(delta.version, 5);
        assert_eq!(delta.timestamp, 1_748_390_400);
        assert_eq!(delta.state, map(json!({"targetTemperature": 24})));
    }

    #[test]
    fn a_report_encodes_as_the_reference_shows_and_round_trips() {
        let update = Update::reported(map(json!({"temperature": 21.5})));
        let v: Value = serde_json::from_slice(&update.to_vec()).unwrap();
        assert_eq!(v, json!({"state": {"reported": {"temperature": 21.5}}}));
        assert_eq!(Update::from_slice(&update.to_vec()).unwrap(), update);
    }

    #[test]
    fn null_values_survive_decoding_so_they_can_delete_keys() {
        let update = Update::from_slice(
            br#"{"state":{"desired":{"color":null}},"clientToken":"t1","version":3}"#,
        )
        .unwrap();
        assert_eq!(update.state.desired, Some(map(json!({"color": null}))));
        assert_eq!(update.client_token.as_deref(), Some("t1"));
        assert_eq!(update.version, Some(3));
    }

    #[test]
    fn malformed_payloads_are_errors_that_say_why() {
        for (payload, why) in [
            (&b"not json"[..], "expected"),
            (b"{}", "state"),
            (br#"{"state":{}}"#, "neither reported nor desired"),
            (br#"{"state":{"reported":5}}"#, "invalid type"),
        ] {
            match Update::from_slice(payload) {
                Err(Error::Malformed { document, reason }) => {
                    assert_eq!(document, "shadow update");
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(
            Delta::from_slice(br#"{"state":{}}"#).is_err(),
            "version is required"
        );
        assert!(Delta::from_slice(br#"{"version":1,"state":[1]}"#).is_err());
    }
}
