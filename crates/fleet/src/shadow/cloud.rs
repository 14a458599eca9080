//! The cloud role of the shadow: the stored document, how updates change it, and what the
//! cloud publishes afterwards. Used by the native stand-in and the in-page sandbox alike.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::state::{self, State};
use super::{Delta, Update};

/// Largest update payload accepted, in bytes (AWS's 8 KB state limit; Fleets documents none).
pub const MAX_UPDATE_BYTES: usize = 8 * 1024;

/// Largest `desired` and largest `reported` state a shadow keeps, in bytes of JSON, on every
/// path (MQTT, ThingDatas, the management API): updates each under the limit must not add up
/// to a shadow without one.
pub const MAX_STATE_BYTES: usize = 8 * 1024;

/// Per-key "last changed" timestamps (epoch seconds), as in the delta's `metadata`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// Desired keys.
    #[serde(default)]
    pub desired: Map<String, Value>,
    /// Reported keys.
    #[serde(default)]
    pub reported: Map<String, Value>,
}

/// One thing's shadow as the cloud keeps it.
///
/// ```text
///   update(reported | desired, version?) ──▶ version check ──▶ merge (null deletes)
///        │ mismatch: 409                                        │ version += 1
///        ▼                                                      ▼
///     Rejection                               delta = desired − reported; publish it when it
///                                             is non-empty and desired changed or it changed
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shadow {
    /// Cloud-owned wishes.
    pub desired: State,
    /// Device-owned facts.
    pub reported: State,
    /// Increments on every accepted update; never goes back.
    pub version: u64,
    /// When each key last changed.
    pub metadata: Metadata,
    /// Epoch seconds of the last accepted update (0: never).
    pub updated_at: u64,
}

/// An update the cloud refused, with an HTTP-style code (AWS Shadow error codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{code}: {message}")]
pub struct Rejection {
    /// 400 malformed, 409 version conflict, 413 too large.
    pub code: u16,
    /// What was wrong, for a person.
    pub message: String,
    /// Echoed from the request when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// The result of an accepted update.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The shadow's version after the update.
    pub version: u64,
    /// Echoed from the request.
    pub client_token: Option<String>,
    /// A delta to publish on `shadow/update/delta`, when there is one to tell the device.
    pub delta: Option<Delta>,
}

/// The document a shadow GET returns (fleets-protocol.md, "HTTPS": reported, desired, delta,
/// version, updatedAt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowDocument {
    /// Reported state.
    pub reported: State,
    /// Desired state.
    pub desired: State,
    /// Desired − reported.
    pub delta: State,
    /// Current version.
    pub version: u64,
    /// Epoch seconds of the last change (the HTTP layer renders it as RFC 3339).
    pub updated_at: u64,
}

impl Shadow {
    /// What the device still has to apply.
    pub fn delta(&self) -> State {
        state::delta(&self.desired, &self.reported)
    }

    /// The GET view.
    pub fn document(&self) -> ShadowDocument {
        ShadowDocument {
            reported: self.reported.clone(),
            desired: self.desired.clone(),
            delta: self.delta(),
            version: self.version,
            updated_at: self.updated_at,
        }
    }

    /// An update as it arrived on the wire: its bytes bounded, decoded, then committed as
    /// [`Shadow::apply`] does.
    pub fn apply_payload(&mut self, now_secs: u64, payload: &[u8]) -> Result<Accepted, Rejection> {
        if payload.len() > MAX_UPDATE_BYTES {
            return Err(Rejection {
                code: 413,
                message: format!(
                    "the update is {} bytes; at most {MAX_UPDATE_BYTES} are accepted",
                    payload.len()
                ),
                client_token: None,
            });
        }
        let update = Update::from_slice(payload).map_err(|e| Rejection {
            code: 400,
            message: e.to_string(),
            client_token: None,
        })?;
        self.commit(now_secs, &update)
    }

    /// Applies a decoded update. `version` in the update, when present and not 0, must equal
    /// the current version (optimistic locking; 0 means "just increment", as the ThingDatas
    /// API documents).
    ///
    /// An update that did not come as a payload (the HTTP APIs, whose bodies may be larger)
    /// is bounded too, by its state written out: merging a patch costs what its keys cost,
    /// even one that is then refused.
    pub fn apply(&mut self, now_secs: u64, update: &Update) -> Result<Accepted, Rejection> {
        let size = serde_json::to_vec(&update.state).map_or(usize::MAX, |v| v.len());
        if size > MAX_UPDATE_BYTES {
            return Err(Rejection {
                code: 413,
                message: format!(
                    "the update's state is {size} bytes; at most {MAX_UPDATE_BYTES} are accepted"
                ),
                client_token: update.client_token.clone(),
            });
        }
        self.commit(now_secs, update)
    }

    // A payload is bounded by its own bytes instead (written out again, `1E2` as `100.0`,
    // a payload AWS would take could come out longer).
    fn commit(&mut self, now_secs: u64, update: &Update) -> Result<Accepted, Rejection> {
        let client_token = update.client_token.clone();
        if let Some(expected) = update.version.filter(|&v| v != 0)
            && expected != self.version
        {
            return Err(Rejection {
                code: 409,
                message: format!(
                    "version conflict: the update expects version {expected}, the shadow is at {}",
                    self.version
                ),
                client_token,
            });
        }
        // Merged aside first: an update that would make a state too large changes nothing.
        let merged = |current: &State, patch: &Option<State>, which: &str| {
            let Some(patch) = patch else {
                return Ok(None);
            };
            let mut next = current.clone();
            let changed = state::merge(&mut next, patch);
            let size = serde_json::to_vec(&next).map_or(usize::MAX, |v| v.len());
            if size > MAX_STATE_BYTES {
                return Err(Rejection {
                    code: 413,
                    message: format!(
                        "{which} would be {size} bytes; a shadow keeps at most {MAX_STATE_BYTES}"
                    ),
                    client_token: client_token.clone(),
                });
            }
            Ok(Some((next, changed)))
        };
        let desired = merged(&self.desired, &update.state.desired, "desired")?;
        let reported = merged(&self.reported, &update.state.reported, "reported")?;
        let before = self.delta();
        // A key's timestamp lives as long as the key: a deleted key takes its metadata with
        // it, so the metadata never has more keys than the state it describes (keys nulled
        // again and again would otherwise pile up in it without end). `retain` also clears
        // what a shadow stored before this rule still carries, at its next update.
        let stamp = |meta: &mut Map<String, Value>, patch: &State, state: &State| {
            for key in patch.keys() {
                if state.contains_key(key) {
                    meta.insert(key.clone(), serde_json::json!({ "timestamp": now_secs }));
                }
            }
            meta.retain(|key, _| state.contains_key(key));
        };
        let mut desired_changed = false;
        if let (Some((next, changed)), Some(patch)) = (desired, &update.state.desired) {
            self.desired = next;
            desired_changed = changed;
            stamp(&mut self.metadata.desired, patch, &self.desired);
        }
        if let (Some((next, _)), Some(patch)) = (reported, &update.state.reported) {
            self.reported = next;
            stamp(&mut self.metadata.reported, patch, &self.reported);
        }
        self.version += 1;
        self.updated_at = now_secs;

        let after = self.delta();
        // Tell the device when there is something to do that it may not know yet. A device
        // that reports a value short of desired (a hardware limit) is not told again and again.
        let delta = (!after.is_empty() && (desired_changed || after != before)).then(|| {
            let mut metadata = Map::new();
            for k in after.keys() {
                if let Some(m) = self.metadata.desired.get(k) {
                    metadata.insert(k.clone(), m.clone());
                }
            }
            Delta {
                version: self.version,
                timestamp: now_secs,
                metadata,
                state: after,
            }
        });
        Ok(Accepted {
            version: self.version,
            client_token,
            delta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn obj(v: Value) -> State {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test literal is an object"),
        }
    }

    #[test]
    fn updates_each_small_cannot_add_up_to_a_shadow_over_the_limit() {
        let mut shadow = Shadow::default();
        let chunk = |i: usize| obj(json!({ format!("k{i}"): "x".repeat(1_000) }));
        let mut accepted = 0;
        let mut refused = None;
        for i in 0..20 {
            match shadow.apply(1, &Update::desired(chunk(i))) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("the tenth kilobyte is refused");
        assert_eq!(e.code, 413);
        assert!(e.message.contains("desired would be"), "{e}");
        assert_eq!(accepted, 8);
        let size = serde_json::to_vec(&shadow.desired).unwrap().len();
        assert!(size <= MAX_STATE_BYTES, "{size}");
        assert_eq!(shadow.version, 8, "the refused update changed nothing");
        // Deleting makes room again, and reported has its own room.
        assert!(
            shadow
                .apply(2, &Update::desired(obj(json!({"k0": null}))))
                .is_ok()
        );
        assert!(shadow.apply(2, &Update::reported(chunk(99))).is_ok());
    }

    #[test]
    fn desired_change_publishes_a_delta_and_the_full_report_converges() {
        let mut shadow = Shadow::default();
        shadow
            .apply(
                100,
                &Update::reported(obj(json!({"target": 20, "on": true}))),
            )
            .unwrap();
        let accepted = shadow
            .apply(200, &Update::desired(obj(json!({"target": 24}))))
            .unwrap();
        assert_eq!(accepted.version, 2);
        let delta = accepted.delta.expect("a delta for the device");
        assert_eq!(delta.state, obj(json!({"target": 24})));
        assert_eq!(delta.version, 2);
        assert_eq!(delta.metadata, obj(json!({"target": {"timestamp": 200}})));

        let accepted = shadow
            .apply(201, &Update::reported(obj(json!({"target": 24}))))
            .unwrap();
        assert_eq!(accepted.delta, None);
        assert!(shadow.document().delta.is_empty());
        assert_eq!(shadow.document().version, 3);
    }

    #[test]
    fn a_report_short_of_desired_is_not_answered_with_the_same_delta_again() {
        let mut shadow = Shadow::default();
        shadow
            .apply(1, &Update::desired(obj(json!({"target": 40}))))
            .unwrap();
        let first = shadow
            .apply(2, &Update::reported(obj(json!({"target": 30}))))
            .unwrap();
        assert_eq!(first.delta, None, "delta unchanged: still 40");
        assert_eq!(shadow.delta(), obj(json!({"target": 40})));
    }

    #[test]
    fn a_stale_version_is_rejected_with_409_and_changes_nothing() {
        let mut shadow = Shadow::default();
        shadow
            .apply(1, &Update::desired(obj(json!({"a": 1}))))
            .unwrap();
        let before = shadow.clone();
        let update = Update {
            version: Some(7),
            client_token: Some("tok-1".into()),
            ..Update::desired(obj(json!({"a": 2})))
        };
        let err = shadow.apply(2, &update).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.client_token.as_deref(), Some("tok-1"));
        assert!(err.message.contains("expects version 7"), "{}", err.message);
        assert_eq!(shadow, before);
        // The matching version, and 0 ("just increment"), are accepted.
        let ok = Update {
            version: Some(1),
            ..Update::desired(obj(json!({"a": 2})))
        };
        assert_eq!(shadow.apply(3, &ok).unwrap().version, 2);
        let ok = Update {
            version: Some(0),
            ..Update::desired(obj(json!({"a": 3})))
        };
        assert_eq!(shadow.apply(4, &ok).unwrap().version, 3);
    }

    #[test]
    fn malformed_and_oversized_payloads_are_rejected_and_change_nothing() {
        let mut shadow = Shadow::default();
        let err = shadow.apply_payload(1, b"{\"state\":").unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message.contains("malformed shadow update"),
            "{}",
            err.message
        );
        let huge = format!(
            r#"{{"state":{{"reported":{{"blob":"{}"}}}}}}"#,
            "x".repeat(9000)
        );
        assert_eq!(
            shadow.apply_payload(1, huge.as_bytes()).unwrap_err().code,
            413
        );
        assert_eq!(shadow, Shadow::default());
    }

    #[test]
    fn null_in_desired_removes_the_key_and_its_delta() {
        let mut shadow = Shadow::default();
        shadow
            .apply(
                1,
                &Update::desired(obj(json!({"color": "red", "on": true}))),
            )
            .unwrap();
        shadow
            .apply(2, &Update::desired(obj(json!({"color": null}))))
            .unwrap();
        assert_eq!(shadow.delta(), obj(json!({"on": true})));
    }

    proptest! {
        #[test]
        fn versions_strictly_increase_over_accepted_updates(
            steps in prop::collection::vec((any::<bool>(), "[a-c]", -3i64..3, prop::option::of(0u64..4)), 1..30)
        ) {
            let mut shadow = Shadow::default();
            let mut last = shadow.version;
            for (desired, key, value, version) in steps {
                let patch = obj(json!({ key: value }));
                let update = Update {
                    version,
                    ..if desired { Update::desired(patch) } else { Update::reported(patch) }
                };
                match shadow.apply(1, &update) {
                    Ok(accepted) => {
                        prop_assert!(accepted.version > last);
                        prop_assert_eq!(accepted.version, shadow.version);
                        last = accepted.version;
                    }
                    Err(rejection) => {
                        prop_assert_eq!(rejection.code, 409);
                        prop_assert_eq!(shadow.version, last);
                    }
                }
            }
        }
    }

    #[test]
    fn a_deleted_key_takes_its_metadata_and_deleting_absent_keys_adds_none() {
        let mut shadow = Shadow::default();
        let set = obj(json!({"a": 1, "b": 2}));
        shadow.apply(1, &Update::desired(set.clone())).unwrap();
        shadow.apply(1, &Update::reported(set)).unwrap();
        shadow
            .apply(2, &Update::desired(obj(json!({"a": null}))))
            .unwrap();
        assert_eq!(
            shadow.metadata.desired.keys().collect::<Vec<_>>(),
            ["b"],
            "a went with its key"
        );
        // Keys that were never there, deleted many times over: nothing piles up.
        for round in 0..50 {
            let nulls: State = (0..100)
                .map(|i| (format!("gone{round}-{i}"), Value::Null))
                .collect();
            shadow.apply(3, &Update::desired(nulls.clone())).unwrap();
            shadow.apply(3, &Update::reported(nulls)).unwrap();
        }
        assert_eq!(shadow.metadata.desired.len(), 1);
        assert_eq!(shadow.metadata.reported.len(), 2);
    }

    #[test]
    fn an_update_that_did_not_come_as_a_payload_is_bounded_too() {
        // Deleting a thousand keys (12 KB of patch) would leave an empty state: only the
        // update's own bound refuses it, before any merging.
        let mut shadow = Shadow::default();
        let nulls: State = (0..1000)
            .map(|i| (format!("gone-{i}"), Value::Null))
            .collect();
        let refused = shadow.apply(1, &Update::desired(nulls)).unwrap_err();
        assert_eq!(refused.code, 413);
        assert!(
            refused.message.contains("the update's state is"),
            "{refused}"
        );
        assert_eq!(shadow.document().version, 0, "nothing changed");
    }

    #[test]
    fn metadata_a_shadow_stored_for_deleted_keys_goes_at_its_next_update() {
        let mut shadow = Shadow::default();
        shadow
            .apply(1, &Update::desired(obj(json!({"a": 1}))))
            .unwrap();
        // As stored by a cloud before deleted keys took their metadata with them.
        shadow
            .metadata
            .desired
            .insert("long-gone".into(), json!({"timestamp": 0}));
        shadow
            .apply(2, &Update::desired(obj(json!({"b": 2}))))
            .unwrap();
        assert_eq!(
            shadow.metadata.desired.keys().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn an_update_of_exactly_8_kib_is_accepted_and_one_byte_more_is_413() {
        // AWS's 8 KB state limit, which MAX_UPDATE_BYTES adopts: 8192 bytes in, 8193 out.
        let update = |len: usize| {
            let head = r#"{"state":{"reported":{"pad":""#;
            let tail = r#""}}}"#;
            let pad = "x".repeat(len - head.len() - tail.len());
            format!("{head}{pad}{tail}").into_bytes()
        };
        let mut shadow = Shadow::default();
        assert_eq!(update(8192).len(), 8192);
        assert!(shadow.apply_payload(1, &update(8192)).is_ok());
        let refused = shadow.apply_payload(2, &update(8193)).unwrap_err();
        assert_eq!(refused.code, 413);
        assert_eq!(shadow.document().version, 1, "nothing changed");
    }

    #[test]
    fn a_report_that_changes_the_delta_is_answered_with_the_new_delta() {
        // docs/protocol.md, "When to publish a delta": when it is non-empty and the update
        // changed desired, or the delta changed.
        let mut shadow = Shadow::default();
        shadow
            .apply(1, &Update::desired(obj(json!({"a": 1, "b": 2}))))
            .unwrap();
        let accepted = shadow
            .apply(2, &Update::reported(obj(json!({"a": 1}))))
            .unwrap();
        assert_eq!(
            accepted.delta.map(|d| d.state),
            Some(obj(json!({"b": 2}))),
            "the device learns what is left"
        );
    }
}
