//! What the broker allows (MQTT 5 CONNACK properties) and where each subscription stands: the
//! two things a device must know before it may call itself connected.

use std::fmt;

use crate::codec::{Prop, prop};

use crate::Qos;

/// The limits a broker announced in CONNACK (MQTT 5 §3.2.2.3). An MQTT 3.1.1 broker announces
/// none, so the protocol's defaults apply ([`ServerLimits::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Maximum Packet Size: no packet we send may be larger [MQTT-3.2.2-15]. `None`: no limit.
    pub maximum_packet_size: Option<u32>,
    /// Receive Maximum: QoS 1 and 2 publishes we may have unacknowledged at once
    /// [MQTT-4.9.0-2]. Default 65,535.
    pub receive_maximum: u16,
    /// Topic Alias Maximum: how many topic aliases we could use (we use none, so any value is
    /// honoured). Default 0.
    pub topic_alias_maximum: u16,
    /// Maximum QoS: publishes above it are sent at it [MQTT-3.2.2-11]. Default QoS 2.
    pub maximum_qos: Qos,
    /// Retain Available: without it, no publish of ours carries the retain flag
    /// [MQTT-3.2.2-14]. Default true.
    pub retain_available: bool,
    /// Wildcard Subscription Available: without it, filters with `+` or `#` are refused.
    pub wildcard_subscriptions: bool,
    /// Server Keep Alive: replaces the keep-alive we asked for [MQTT-3.2.2-21].
    pub server_keep_alive: Option<u16>,
    /// Assigned Client Identifier: the broker chose our client id (we sent an empty one); the
    /// session reconnects with it so the broker finds its session again.
    pub assigned_client_id: Option<String>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            maximum_packet_size: None,
            receive_maximum: u16::MAX,
            topic_alias_maximum: 0,
            maximum_qos: Qos::ExactlyOnce,
            retain_available: true,
            wildcard_subscriptions: true,
            server_keep_alive: None,
            assigned_client_id: None,
        }
    }
}

impl ServerLimits {
    /// The limits a v5 CONNACK's properties announce; absent properties keep the defaults.
    /// A value the protocol forbids (a Receive Maximum or Maximum Packet Size of 0, a Maximum
    /// QoS over 1) is a protocol error, named.
    pub(crate) fn from_properties(props: &[Prop]) -> Result<Self, String> {
        let mut limits = Self::default();
        for p in props {
            match *p {
                Prop::Int(prop::MAXIMUM_PACKET_SIZE, 0) | Prop::Int(prop::RECEIVE_MAXIMUM, 0) => {
                    return Err(
                        "a CONNACK limit of 0, which MQTT 5 forbids [MQTT-3.2.2]".to_owned()
                    );
                }
                Prop::Int(prop::MAXIMUM_PACKET_SIZE, v) => limits.maximum_packet_size = Some(v),
                Prop::Int(prop::RECEIVE_MAXIMUM, v) => limits.receive_maximum = v as u16,
                Prop::Int(prop::TOPIC_ALIAS_MAXIMUM, v) => limits.topic_alias_maximum = v as u16,
                Prop::Int(prop::MAXIMUM_QOS, v) => {
                    limits.maximum_qos = match v {
                        0 => Qos::AtMostOnce,
                        1 => Qos::AtLeastOnce,
                        _ => return Err("a Maximum QoS over 1 [MQTT-3.2.2-9]".to_owned()),
                    }
                }
                Prop::Int(prop::RETAIN_AVAILABLE, v) => limits.retain_available = v != 0,
                Prop::Int(prop::WILDCARD_AVAILABLE, v) => limits.wildcard_subscriptions = v != 0,
                Prop::Int(prop::SERVER_KEEP_ALIVE, v) => limits.server_keep_alive = Some(v as u16),
                Prop::Text(prop::ASSIGNED_CLIENT_ID, ref id) => {
                    limits.assigned_client_id = Some(id.clone());
                }
                _ => {}
            }
        }
        Ok(limits)
    }

    /// Whether every limit is the protocol's default (nothing worth showing).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The limits that differ from the protocol's defaults, in words: "max packet 256 B · receive
/// max 2 · QoS 0 only · no retain · keep-alive 10 s".
impl fmt::Display for ServerLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(max) = self.maximum_packet_size {
            parts.push(format!("max packet {max} B"));
        }
        if self.receive_maximum != u16::MAX {
            parts.push(format!("receive max {}", self.receive_maximum));
        }
        match self.maximum_qos {
            Qos::AtMostOnce => parts.push("QoS 0 only".to_owned()),
            Qos::AtLeastOnce => parts.push("QoS 1 at most".to_owned()),
            Qos::ExactlyOnce => {}
        }
        if !self.retain_available {
            parts.push("no retain".to_owned());
        }
        if !self.wildcard_subscriptions {
            parts.push("no wildcard subscriptions".to_owned());
        }
        if self.topic_alias_maximum > 0 {
            parts.push(format!("topic aliases {}", self.topic_alias_maximum));
        }
        if let Some(secs) = self.server_keep_alive {
            parts.push(format!("keep-alive {secs} s"));
        }
        if let Some(id) = &self.assigned_client_id {
            parts.push(format!("client id {id} (assigned)"));
        }
        if parts.is_empty() {
            f.write_str("no limits announced")
        } else {
            f.write_str(&parts.join(" · "))
        }
    }
}

/// Where one subscription stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Waiting for a connection to be sent on.
    Unsent,
    /// SUBSCRIBE sent, no SUBACK yet; `late` once it waited longer than the SUBACK timeout.
    Pending {
        /// No SUBACK within the timeout.
        late: bool,
    },
    /// SUBACK granted it at this QoS.
    Granted(Qos),
    /// SUBACK refused it, with the broker's reason.
    Refused(String),
    /// It can never be sent to this broker (a SUBSCRIBE with this filter alone is larger than
    /// the broker's Maximum Packet Size).
    Unsendable(String),
}

/// One subscription the session keeps, and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionStatus {
    /// The topic filter.
    pub filter: String,
    /// The QoS asked for.
    pub qos: Qos,
    /// Where it stands.
    pub state: SubscriptionState,
}

impl SubscriptionStatus {
    /// Why this subscription receives nothing, when it does not (refused, never sendable, or
    /// unanswered past the timeout).
    pub fn problem(&self) -> Option<String> {
        match &self.state {
            SubscriptionState::Refused(reason) => Some(format!("refused by the broker: {reason}")),
            SubscriptionState::Unsendable(reason) => Some(reason.clone()),
            SubscriptionState::Pending { late: true } => {
                Some("no SUBACK from the broker".to_owned())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_names_its_problem_only_when_it_hears_nothing() {
        let status = |state| SubscriptionStatus {
            filter: "a/#".into(),
            qos: Qos::AtLeastOnce,
            state,
        };
        for (state, problem) in [
            (
                SubscriptionState::Refused("not authorized".into()),
                Some("refused by the broker: not authorized"),
            ),
            (
                SubscriptionState::Unsendable("too big".into()),
                Some("too big"),
            ),
            (
                SubscriptionState::Pending { late: true },
                Some("no SUBACK from the broker"),
            ),
            (SubscriptionState::Pending { late: false }, None),
            (SubscriptionState::Unsent, None),
            (SubscriptionState::Granted(Qos::AtMostOnce), None),
        ] {
            assert_eq!(
                status(state.clone()).problem().as_deref(),
                problem,
                "{state:?}"
            );
        }
    }
}
