//! The device role of the shadow: which deltas to act on, and the report that follows.
//!
//! The device applies a delta through its model and reports its *actual* state afterwards,
//! never an echo of desired (fleets-protocol.md, "Shadow"): a model may clamp or refuse.

use super::Delta;
use super::cloud::ShadowDocument;
use super::state::State;

/// What to do with an incoming delta.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaVerdict {
    /// Newer than anything seen: apply these keys.
    Apply(State),
    /// At or below the version already seen (a duplicate or out-of-order delivery): ignore it.
    Stale {
        /// The delta's version.
        got: u64,
        /// The newest version seen.
        seen: u64,
    },
}

/// The device's view of shadow versions.
///
/// ```text
///   delta v ─▶ v > seen? ──yes──▶ seen = v, Apply(state)
///                   └─────no────▶ Stale (dropped, shown in the UI)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceShadow {
    seen: Option<u64>,
}

impl DeviceShadow {
    /// The newest shadow version seen, if any.
    pub fn seen_version(&self) -> Option<u64> {
        self.seen
    }

    /// A delta arrived on `shadow/update/delta`.
    pub fn handle_delta(&mut self, delta: &Delta) -> DeltaVerdict {
        self.accept(delta.version, &delta.state)
    }

    /// A full document arrived (startup or re-sync after a reconnect, from the shadow GET):
    /// apply its delta when it is newer than what was seen and not empty.
    pub fn handle_document(&mut self, document: &ShadowDocument) -> DeltaVerdict {
        self.accept(document.version, &document.delta)
    }

    fn accept(&mut self, version: u64, state: &State) -> DeltaVerdict {
        match self.seen {
            Some(seen) if version <= seen => DeltaVerdict::Stale { got: version, seen },
            _ => {
                self.seen = Some(version);
                DeltaVerdict::Apply(state.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delta(version: u64, v: serde_json::Value) -> Delta {
        Delta {
            version,
            timestamp: 0,
            state: v.as_object().cloned().unwrap_or_default(),
            metadata: Default::default(),
        }
    }

    #[test]
    fn newer_deltas_apply_and_duplicates_or_older_ones_are_stale() {
        let mut d = DeviceShadow::default();
        assert!(matches!(
            d.handle_delta(&delta(3, json!({"t": 1}))),
            DeltaVerdict::Apply(_)
        ));
        assert_eq!(
            d.handle_delta(&delta(3, json!({"t": 1}))),
            DeltaVerdict::Stale { got: 3, seen: 3 }
        );
        assert_eq!(
            d.handle_delta(&delta(2, json!({"t": 0}))),
            DeltaVerdict::Stale { got: 2, seen: 3 }
        );
        assert!(matches!(
            d.handle_delta(&delta(5, json!({"t": 2}))),
            DeltaVerdict::Apply(_)
        ));
        assert_eq!(d.seen_version(), Some(5));
    }

    #[test]
    fn a_document_from_a_resync_applies_its_delta_only_when_newer() {
        let mut d = DeviceShadow::default();
        let doc = ShadowDocument {
            reported: Default::default(),
            desired: json!({"t": 24}).as_object().cloned().unwrap_or_default(),
            delta: json!({"t": 24}).as_object().cloned().unwrap_or_default(),
            version: 9,
            updated_at: 0,
        };
        assert_eq!(
            d.handle_document(&doc),
            DeltaVerdict::Apply(json!({"t": 24}).as_object().cloned().unwrap_or_default())
        );
        assert_eq!(
            d.handle_document(&doc),
            DeltaVerdict::Stale { got: 9, seen: 9 }
        );
    }
}
