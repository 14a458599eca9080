//! JSON state algebra of the shadow: merge a patch (where `null` deletes) and compute the
//! delta between desired and reported. Pure functions over `serde_json` maps.

use serde_json::{Map, Value};

/// A shadow state section (desired or reported): a JSON object.
pub type State = Map<String, Value>;

/// Applies `patch` to `target` the way the shadow service does (AWS Device Shadow, which
/// Fleets follows): only the keys in the patch change, nested objects merge key by key, and a
/// `null` deletes its key. Returns whether anything changed.
///
/// Idempotent: merging the same patch twice leaves the same state as merging it once.
pub fn merge(target: &mut State, patch: &State) -> bool {
    let mut changed = false;
    for (key, value) in patch {
        match value {
            Value::Null => changed |= target.remove(key).is_some(),
            Value::Object(inner) => match target.get_mut(key) {
                Some(Value::Object(existing)) => changed |= merge(existing, inner),
                _ => {
                    // A new object: its own nulls delete nothing, so they are simply dropped.
                    let mut fresh = State::new();
                    merge(&mut fresh, inner);
                    target.insert(key.clone(), Value::Object(fresh));
                    changed = true;
                }
            },
            other => {
                if target.get(key).is_none_or(|old| !same(old, other)) {
                    target.insert(key.clone(), other.clone());
                    changed = true;
                }
            }
        }
    }
    changed
}

/// What the device still has to apply: every desired key whose value differs from the
/// reported one, recursing into objects so only the differing leaves are listed. Reported keys
/// that desired does not mention are not part of the delta.
pub fn delta(desired: &State, reported: &State) -> State {
    let mut out = State::new();
    for (key, want) in desired {
        match (want, reported.get(key)) {
            (Value::Object(want), Some(Value::Object(have))) => {
                let inner = delta(want, have);
                if !inner.is_empty() {
                    out.insert(key.clone(), Value::Object(inner));
                }
            }
            (want, Some(have)) if same(want, have) => {}
            (want, _) => {
                out.insert(key.clone(), want.clone());
            }
        }
    }
    out
}

/// JSON equality where numbers compare by value: a device that reports `24.0` has reached a
/// desired `24`.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
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
    fn null_deletes_nested_objects_merge_and_other_keys_stay() {
        let mut state = obj(json!({"on": true, "color": {"r": 1, "g": 2}, "mode": "eco"}));
        let changed = merge(
            &mut state,
            &obj(json!({"mode": null, "color": {"g": 9, "b": 3}})),
        );
        assert!(changed);
        assert_eq!(
            state,
            obj(json!({"on": true, "color": {"r": 1, "g": 9, "b": 3}}))
        );
        assert!(
            !merge(&mut state, &obj(json!({"on": true, "absent": null}))),
            "no-op patch"
        );
    }

    #[test]
    fn nulls_inside_a_new_object_are_dropped() {
        let mut state = State::new();
        merge(&mut state, &obj(json!({"cfg": {"a": 1, "b": null}})));
        assert_eq!(state, obj(json!({"cfg": {"a": 1}})));
    }

    #[test]
    fn delta_lists_only_differing_desired_leaves() {
        let desired = obj(json!({"target": 24, "color": {"r": 1, "g": 2}, "on": true}));
        let reported =
            obj(json!({"target": 21.5, "color": {"r": 1, "g": 0}, "on": true, "rssi": -40}));
        assert_eq!(
            delta(&desired, &reported),
            obj(json!({"target": 24, "color": {"g": 2}}))
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same(&json!(24), &json!(24.0)));
        assert!(!same(&json!(24), &json!("24")));
        assert!(delta(&obj(json!({"t": 24})), &obj(json!({"t": 24.0}))).is_empty());
    }

    /// Small JSON values: enough nesting to exercise objects inside objects.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    fn state() -> impl Strategy<Value = State> {
        prop::collection::btree_map("[a-e]", value(), 0..5).prop_map(|m| m.into_iter().collect())
    }

    /// A stored section never holds nulls (merge deletes them), so build states by merging.
    fn stored() -> impl Strategy<Value = State> {
        state().prop_map(|patch| {
            let mut s = State::new();
            merge(&mut s, &patch);
            s
        })
    }

    proptest! {
        #[test]
        fn merge_is_idempotent(mut base in stored(), patch in state()) {
            merge(&mut base, &patch);
            let once = base.clone();
            prop_assert!(!merge(&mut base, &patch), "second merge changed something");
            prop_assert_eq!(base, once);
        }

        #[test]
        fn reporting_the_delta_empties_it(desired in stored(), mut reported in stored()) {
            let d = delta(&desired, &reported);
            merge(&mut reported, &d);
            prop_assert!(delta(&desired, &reported).is_empty());
        }

        #[test]
        fn delta_of_equal_sections_is_empty(s in stored()) {
            prop_assert!(delta(&s, &s).is_empty());
        }
    }

    #[test]
    fn arrays_and_nested_objects_compare_by_value_element_by_element() {
        assert!(same(&json!([24, 1]), &json!([24.0, 1.0])));
        assert!(!same(&json!([1, 2]), &json!([1, 3])));
        assert!(!same(&json!([1]), &json!([1, 1])));
        assert!(same(&json!([{"a": 1}]), &json!([{"a": 1.0}])));
        assert!(same(&json!({"a": {"b": 2}}), &json!({"a": {"b": 2.0}})));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!same(&json!({"a": 1}), &json!({"b": 1})));
        assert!(!same(&json!({"a": 1}), &json!({"a": 2})));
        // So a device reporting `[24.0]` for a desired `[24]` has no delta left.
        let desired = obj(json!({"schedule": [24, 18], "limits": {"max": 30}}));
        let reported = obj(json!({"schedule": [24.0, 18.0], "limits": {"max": 30.0}}));
        assert!(delta(&desired, &reported).is_empty());
    }

    #[test]
    fn a_change_anywhere_in_the_patch_counts_even_when_a_later_key_changes_nothing() {
        // Keys are visited in order: "a" changes, then "b" (nested, same) and "c" (null on an
        // absent key) change nothing; the merge still changed the state.
        let mut target = obj(json!({"a": 0, "b": {"c": 1}}));
        assert!(merge(
            &mut target,
            &obj(json!({"a": 1, "b": {"c": 1}, "c": null}))
        ));
        assert!(!merge(
            &mut target,
            &obj(json!({"a": 1, "b": {"c": 1}, "c": null}))
        ));
        let mut target = obj(json!({"a": 0}));
        assert!(merge(&mut target, &obj(json!({"a": 1, "z": null}))));
    }
}
