//! The MQTT 3.1.1 and 5 packets a client sends and reads, and nothing else.
//!
//! Our own, in place of a general codec: a client never parses CONNECT or SUBSCRIBE, never
//! sends CONNACK, and thingsim uses no topic aliases, no AUTH exchange and no properties but a
//! handful. What is here encodes exactly the packets the session sends and decodes, whole,
//! every packet a broker may send a client, refusing the rest with the rule it breaks. The
//! session's flows (packet ids, Receive Maximum, resends, keep-alive) live in `session.rs`.

use crate::{Error, Qos};

/// One packet from the broker, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// CONNACK: `code` is the 3.1.1 return code or the MQTT 5 reason code.
    ConnAck {
        session_present: bool,
        code: u8,
        props: Vec<Prop>,
    },
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: Qos,
        retain: bool,
        packet_id: Option<u16>,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP (`kind` is the packet type, 4 to 7).
    Ack {
        kind: u8,
        packet_id: u16,
        code: u8,
    },
    SubAck {
        packet_id: u16,
        codes: Vec<u8>,
    },
    UnsubAck,
    PingResp,
    Disconnect {
        code: u8,
        /// The broker's Reason String, when it gave one.
        reason: Option<String>,
    },
}

/// An MQTT 5 property a client reads (identifier and value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prop {
    Int(u8, u32),
    Text(u8, String),
    /// Binary data and user properties: read past, never used.
    Other,
}

/// Why a packet from the broker is refused, and the reason MQTT 5's DISCONNECT gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Malformed Packet (0x81) or Protocol Error (0x82).
    pub(crate) code: u8,
    pub(crate) why: String,
}

impl Refusal {
    /// The packet's bytes do not hold its fields (too few, or some left over).
    pub(crate) fn malformed(why: &str) -> Self {
        Self {
            code: 0x81,
            why: why.to_owned(),
        }
    }

    /// The packet breaks a rule of the protocol.
    pub(crate) fn protocol(why: impl Into<String>) -> Self {
        Self {
            code: 0x82,
            why: why.into(),
        }
    }
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Self::protocol(why)
    }
}

/// The Reason String among a packet's properties: the broker's words, for a person to read.
pub(crate) fn reason_string(props: &[Prop]) -> Option<String> {
    props.iter().find_map(|p| match p {
        Prop::Text(prop::REASON_STRING, text) => Some(text.clone()),
        _ => None,
    })
}

pub(crate) const PUBACK: u8 = 4;
pub(crate) const PUBREC: u8 = 5;
pub(crate) const PUBREL: u8 = 6;
pub(crate) const PUBCOMP: u8 = 7;

/// Property identifiers the session writes or reads (MQTT 5 §2.2.2.2).
pub(crate) mod prop {
    pub(crate) const SESSION_EXPIRY: u8 = 0x11;
    pub(crate) const ASSIGNED_CLIENT_ID: u8 = 0x12;
    pub(crate) const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub(crate) const RECEIVE_MAXIMUM: u8 = 0x21;
    pub(crate) const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub(crate) const TOPIC_ALIAS: u8 = 0x23;
    pub(crate) const MAXIMUM_QOS: u8 = 0x24;
    pub(crate) const RETAIN_AVAILABLE: u8 = 0x25;
    pub(crate) const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub(crate) const WILDCARD_AVAILABLE: u8 = 0x28;
    pub(crate) const REASON_STRING: u8 = 0x1F;
}

/// Appends `value` as a Variable Byte Integer (MQTT 5 §1.5.5).
fn put_varint(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value % 128) as u8;
        value /= 128;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// The largest Remaining Length MQTT can say (§1.5.5).
const MAX_REMAINING: usize = 268_435_455;

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// A length-prefixed string or binary field; `what` names it when it is too long.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8], what: &str) -> Result<(), String> {
    let len =
        u16::try_from(bytes.len()).map_err(|_| format!("{what} must be at most 65,535 bytes"))?;
    put_u16(out, len);
    out.extend_from_slice(bytes);
    Ok(())
}

/// A packet's fixed header (first byte, Remaining Length), in a buffer with room for the
/// `remaining` bytes that follow.
fn header(first: u8, remaining: usize) -> Result<Vec<u8>, String> {
    if remaining > MAX_REMAINING {
        return Err("the packet is over MQTT's 256 MB limit".to_owned());
    }
    let mut out = Vec::with_capacity(1 + varint_len(remaining) + remaining);
    out.push(first);
    put_varint(&mut out, remaining);
    Ok(out)
}

/// A whole packet: fixed header byte, Remaining Length, `body`.
fn frame(first: u8, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = header(first, body.len())?;
    out.extend_from_slice(body);
    Ok(out)
}

/// What CONNECT carries.
pub(crate) struct Connect<'a> {
    pub(crate) v5: bool,
    pub(crate) client_id: &'a str,
    pub(crate) keep_alive_secs: u16,
    pub(crate) clean_start: bool,
    pub(crate) session_expiry_secs: u32,
    pub(crate) receive_maximum: Option<u16>,
    pub(crate) maximum_packet_size: Option<u32>,
    pub(crate) will: Option<(&'a str, &'a [u8], Qos, bool)>,
    pub(crate) username: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
}

pub(crate) fn connect(c: &Connect<'_>) -> Result<Vec<u8>, Error> {
    let bad = |what: &str, why: String| Error::InvalidOption(format!("{what}: {why}"));
    if !c.v5 && c.password.is_some() && c.username.is_none() {
        // [MQTT-3.1.2-22]; MQTT 5 allows it.
        return Err(bad(
            "password",
            "MQTT 3.1.1 sends a password only with a username".to_owned(),
        ));
    }
    let mut body = Vec::with_capacity(32 + c.client_id.len());
    body.extend_from_slice(b"\x00\x04MQTT");
    body.push(if c.v5 { 5 } else { 4 });
    let mut flags = u8::from(c.clean_start) << 1;
    if let Some((_, _, qos, retain)) = c.will {
        flags |= 0x04 | (qos as u8) << 3 | u8::from(retain) << 5;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    put_u16(&mut body, c.keep_alive_secs);
    if c.v5 {
        let mut props = Vec::new();
        if c.session_expiry_secs > 0 {
            props.push(prop::SESSION_EXPIRY);
            props.extend_from_slice(&c.session_expiry_secs.to_be_bytes());
        }
        if let Some(max) = c.receive_maximum {
            if max == 0 {
                return Err(bad("receive maximum", "it must be at least 1".to_owned()));
            }
            props.push(prop::RECEIVE_MAXIMUM);
            put_u16(&mut props, max);
        }
        if let Some(max) = c.maximum_packet_size {
            if max == 0 {
                return Err(bad(
                    "maximum packet size",
                    "it must be at least 1".to_owned(),
                ));
            }
            props.push(prop::MAXIMUM_PACKET_SIZE);
            props.extend_from_slice(&max.to_be_bytes());
        }
        put_varint(&mut body, props.len());
        body.extend_from_slice(&props);
    }
    put_bytes(&mut body, c.client_id.as_bytes(), "it").map_err(|e| bad("client id", e))?;
    if let Some((topic, payload, _, _)) = c.will {
        if c.v5 {
            body.push(0); // no will properties
        }
        check_topic_name(topic).map_err(|e| bad("last will", e))?;
        put_bytes(&mut body, topic.as_bytes(), "its topic").map_err(|e| bad("last will", e))?;
        put_bytes(&mut body, payload, "its payload").map_err(|e| bad("last will", e))?;
    }
    if let Some(user) = c.username {
        put_bytes(&mut body, user.as_bytes(), "it").map_err(|e| bad("username", e))?;
    }
    if let Some(pass) = c.password {
        put_bytes(&mut body, pass.as_bytes(), "it").map_err(|e| bad("password", e))?;
    }
    frame(0x10, &body).map_err(|e| bad("CONNECT", e))
}

/// SUBSCRIBE with one options byte per filter (QoS, No Local and Retain Handling 2 in v5).
pub(crate) fn subscribe(
    v5: bool,
    packet_id: u16,
    filters: &[(String, Qos)],
    no_local: bool,
    no_retained: bool,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(8 + filters.iter().map(|(f, _)| f.len() + 3).sum::<usize>());
    put_u16(&mut body, packet_id);
    if v5 {
        body.push(0);
    }
    for (filter, qos) in filters {
        put_bytes(&mut body, filter.as_bytes(), "a topic filter")?;
        // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
        let no_local = no_local && !filter.starts_with("$share/");
        body.push(*qos as u8 | u8::from(no_local) << 2 | u8::from(no_retained) << 5);
    }
    frame(0x82, &body)
}

/// PUBLISH, written straight into one buffer (the payload is copied once).
pub(crate) fn publish(
    v5: bool,
    topic: &str,
    payload: &[u8],
    qos: Qos,
    retain: bool,
    dup: bool,
    packet_id: Option<u16>,
) -> Result<Vec<u8>, String> {
    let topic_len = u16::try_from(topic.len())
        .map_err(|_| "a topic name must be at most 65,535 bytes".to_owned())?;
    let remaining =
        2 + topic.len() + 2 * usize::from(packet_id.is_some()) + usize::from(v5) + payload.len();
    let first = 0x30 | u8::from(dup) << 3 | (qos as u8) << 1 | u8::from(retain);
    let mut out = header(first, remaining)?;
    put_u16(&mut out, topic_len);
    out.extend_from_slice(topic.as_bytes());
    if let Some(id) = packet_id {
        put_u16(&mut out, id);
    }
    if v5 {
        out.push(0);
    }
    out.extend_from_slice(payload);
    Ok(out)
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP, success (the reason code is left out, as v5 allows).
pub(crate) fn ack(kind: u8, packet_id: u16) -> Vec<u8> {
    let [hi, lo] = packet_id.to_be_bytes();
    let flags = if kind == PUBREL { 0x02 } else { 0 };
    vec![kind << 4 | flags, 2, hi, lo]
}

pub(crate) const PINGREQ: [u8; 2] = [0xC0, 0x00];

/// DISCONNECT: 3.1.1 has no reason; v5 leaves out Normal disconnection (0).
pub(crate) fn disconnect(v5: bool, reason: u8) -> Vec<u8> {
    if v5 && reason != 0 {
        vec![0xE0, 1, reason]
    } else {
        vec![0xE0, 0]
    }
}

/// A topic name, not a filter: non-empty, no wildcard [MQTT-4.7.3-1], [MQTT-3.3.2-2].
fn is_topic_name(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#'])
}

/// A topic name we may publish to or name in a will.
pub(crate) fn check_topic_name(topic: &str) -> Result<(), String> {
    if !is_topic_name(topic) {
        return Err("a topic name must be non-empty and contain no + or #".to_owned());
    }
    Ok(())
}

/// Reads one packet's body.
struct Reader<'a> {
    bytes: &'a [u8],
}

const SHORT: &str = "the packet ends before its fields do";

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, Refusal> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| Refusal::malformed(SHORT))?;
        self.bytes = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        if self.bytes.len() < n {
            return Err(Refusal::malformed(SHORT));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, Refusal> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Refusal> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn varint(&mut self) -> Result<usize, Refusal> {
        let mut value = 0usize;
        for i in 0..4 {
            let b = self.u8()?;
            value |= usize::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Refusal::protocol(
            "malformed Variable Byte Integer [MQTT-1.5.5]",
        ))
    }

    fn binary(&mut self) -> Result<&'a [u8], Refusal> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 string: well-formed, without U+0000 [MQTT-1.5.4-1], [MQTT-1.5.4-2].
    fn text(&mut self) -> Result<&'a str, Refusal> {
        match std::str::from_utf8(self.binary()?) {
            Ok(s) if !s.contains('\0') => Ok(s),
            _ => Err(Refusal::protocol(
                "a string that is not well-formed UTF-8 [MQTT-1.5.4-1]",
            )),
        }
    }

    /// MQTT 5 properties: what the session reads kept, the rest checked and skipped.
    fn props(&mut self) -> Result<Vec<Prop>, Refusal> {
        let len = self.varint()?;
        let mut r = Reader {
            bytes: self.take(len)?,
        };
        let mut props = Vec::new();
        while !r.bytes.is_empty() {
            let id = r.u8()?;
            props.push(match id {
                // Byte
                0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => {
                    Prop::Int(id, r.u8()?.into())
                }
                // Two Byte Integer
                0x13 | 0x21 | 0x22 | 0x23 => Prop::Int(id, r.u16()?.into()),
                // Four Byte Integer
                0x02 | 0x11 | 0x18 | 0x27 => Prop::Int(id, r.u32()?),
                // Variable Byte Integer (Subscription Identifier)
                0x0B => Prop::Int(id, u32::try_from(r.varint()?).unwrap_or(u32::MAX)),
                // UTF-8 string
                0x03 | 0x08 | 0x12 | 0x15 | 0x1A | 0x1C | 0x1F => {
                    Prop::Text(id, r.text()?.to_owned())
                }
                // Binary data
                0x09 | 0x16 => {
                    r.binary()?;
                    Prop::Other
                }
                // User Property: a string pair
                0x26 => {
                    r.text()?;
                    r.text()?;
                    Prop::Other
                }
                _ => return Err(format!("unknown property identifier {id}").into()),
            });
        }
        Ok(props)
    }

    fn done(&self) -> Result<(), Refusal> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Refusal::malformed(
                "bytes left over after the packet's fields",
            ))
        }
    }
}

/// Decodes one whole packet (`header` is its fixed header's length).
pub(crate) fn decode(v5: bool, packet: &[u8], header: usize) -> Result<Incoming, Refusal> {
    let first = packet[0];
    let mut r = Reader {
        bytes: &packet[header..],
    };
    let kind = first >> 4;
    // Every packet but PUBLISH has fixed flags [MQTT-2.2.2-1].
    let flags_ok = match kind {
        3 => true,
        PUBREL => first & 0x0F == 0x02,
        _ => first & 0x0F == 0,
    };
    if !flags_ok {
        return Err(Refusal::protocol(format!(
            "reserved flags set in a packet of type {kind} [MQTT-2.2.2-2]"
        )));
    }
    let incoming = match kind {
        2 => {
            let ack_flags = r.u8()?;
            if ack_flags & 0xFE != 0 {
                return Err(Refusal::protocol(
                    "reserved CONNACK flags set [MQTT-3.2.2-1]",
                ));
            }
            let code = r.u8()?;
            // A 3.1.1 broker answers a v5 CONNECT in its own format, without properties
            // (return code 1, unacceptable protocol version): read it as a refusal.
            let props = if v5 && !r.bytes.is_empty() {
                r.props()?
            } else {
                Vec::new()
            };
            Incoming::ConnAck {
                session_present: ack_flags & 1 == 1,
                code,
                props,
            }
        }
        3 => {
            let qos = match (first >> 1) & 3 {
                0 => Qos::AtMostOnce,
                1 => Qos::AtLeastOnce,
                2 => Qos::ExactlyOnce,
                _ => return Err(Refusal::protocol("PUBLISH with QoS 3 [MQTT-3.3.1-4]")),
            };
            let topic = r.text()?;
            let packet_id = match qos {
                Qos::AtMostOnce => None,
                _ => Some(nonzero(r.u16()?)?),
            };
            if v5
                && r.props()?
                    .iter()
                    .any(|p| matches!(p, Prop::Int(prop::TOPIC_ALIAS, _)))
            {
                // We announce no Topic Alias Maximum, so none may be used [MQTT-3.2.2-17].
                return Err(Refusal::protocol(
                    "a topic alias, which this client never allowed [MQTT-3.3.2-8]",
                ));
            }
            if !is_topic_name(topic) {
                return Err(Refusal::protocol(
                    "a PUBLISH topic name that is empty or has a wildcard [MQTT-3.3.2-2]",
                ));
            }
            let payload = r.bytes.to_vec();
            r.bytes = &[];
            Incoming::Publish {
                topic: topic.to_owned(),
                payload,
                qos,
                retain: first & 1 == 1,
                packet_id,
            }
        }
        PUBACK..=PUBCOMP => {
            let packet_id = nonzero(r.u16()?)?;
            // 3.1.1 acknowledgements are the packet id alone; `done` refuses more.
            let code = if !v5 || r.bytes.is_empty() {
                0
            } else {
                r.u8()?
            };
            if v5 && !r.bytes.is_empty() {
                r.props()?;
            }
            Incoming::Ack {
                kind,
                packet_id,
                code,
            }
        }
        9 => {
            let packet_id = nonzero(r.u16()?)?;
            if v5 {
                r.props()?;
            }
            let codes = r.bytes.to_vec();
            r.bytes = &[];
            if codes.is_empty() {
                return Err(Refusal::protocol(
                    "a SUBACK without a return code [MQTT-3.9.3-1]",
                ));
            }
            Incoming::SubAck { packet_id, codes }
        }
        11 => {
            nonzero(r.u16()?)?;
            if v5 {
                r.props()?;
            }
            r.bytes = &[];
            Incoming::UnsubAck
        }
        13 => Incoming::PingResp,
        14 if v5 => {
            let code = if r.bytes.is_empty() { 0 } else { r.u8()? };
            let props = if r.bytes.is_empty() {
                Vec::new()
            } else {
                r.props()?
            };
            Incoming::Disconnect {
                code,
                reason: reason_string(&props),
            }
        }
        1 | 8 | 10 | 12 | 14 | 15 => {
            return Err(Refusal::protocol(format!(
                "a packet of type {kind}, which a broker never sends a client"
            )));
        }
        _ => return Err(format!("packet type {kind} does not exist").into()),
    };
    r.done()?;
    Ok(incoming)
}

fn nonzero(id: u16) -> Result<u16, String> {
    if id == 0 {
        Err("packet identifier 0 is not allowed [MQTT-2.2.1-3]".to_owned())
    } else {
        Ok(id)
    }
}

/// An MQTT 5 reason code's name (§2.4), as the log shows it: `NotAuthorized`.
pub(crate) fn reason_name(code: u8) -> &'static str {
    const HIGH: [&str; 35] = [
        "UnspecifiedError",
        "MalformedPacket",
        "ProtocolError",
        "ImplementationSpecificError",
        "UnsupportedProtocolVersion",
        "ClientIdentifierNotValid",
        "BadUserNameOrPassword",
        "NotAuthorized",
        "ServerUnavailable",
        "ServerBusy",
        "Banned",
        "ServerShuttingDown",
        "BadAuthenticationMethod",
        "KeepAliveTimeout",
        "SessionTakenOver",
        "TopicFilterInvalid",
        "TopicNameInvalid",
        "PacketIdentifierInUse",
        "PacketIdentifierNotFound",
        "ReceiveMaximumExceeded",
        "TopicAliasInvalid",
        "PacketTooLarge",
        "MessageRateTooHigh",
        "QuotaExceeded",
        "AdministrativeAction",
        "PayloadFormatInvalid",
        "RetainNotSupported",
        "QosNotSupported",
        "UseAnotherServer",
        "ServerMoved",
        "SharedSubscriptionsNotSupported",
        "ConnectionRateExceeded",
        "MaximumConnectTime",
        "SubscriptionIdentifiersNotSupported",
        "WildcardSubscriptionsNotSupported",
    ];
    match code {
        0x00 => "Success",
        0x04 => "DisconnectWithWillMessage",
        0x10 => "NoMatchingSubscribers",
        0x11 => "NoSubscriptionExisted",
        0x80..=0xA2 => HIGH[usize::from(code - 0x80)],
        _ => "UnknownReasonCode",
    }
}

/// A 3.1.1 CONNACK return code's name (§3.2.2.3).
pub(crate) fn return_code_name(code: u8) -> &'static str {
    match code {
        0 => "Accepted",
        1 => "UnacceptableProtocolVersion",
        2 => "IdentifierRejected",
        3 => "ServerUnavailable",
        4 => "BadUserNameOrPassword",
        5 => "NotAuthorized",
        _ => "UnknownReturnCode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length_boundary() {
        for value in [
            0,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            MAX_REMAINING,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
            assert_eq!(Reader { bytes: &out }.varint(), Ok(value));
        }
    }

    #[test]
    fn a_publish_decodes_to_what_was_encoded_at_both_levels() {
        for v5 in [false, true] {
            for (qos, id) in [
                (Qos::AtMostOnce, None),
                (Qos::AtLeastOnce, Some(9)),
                (Qos::ExactlyOnce, Some(65_535)),
            ] {
                let payload = vec![7u8; 300];
                let bytes = publish(v5, "a/b", &payload, qos, true, false, id).unwrap();
                let header = 1 + varint_len(bytes.len() - 3);
                assert_eq!(
                    decode(v5, &bytes, header),
                    Ok(Incoming::Publish {
                        topic: "a/b".to_owned(),
                        payload: payload.clone(),
                        qos,
                        retain: true,
                        packet_id: id,
                    })
                );
            }
        }
    }

    #[test]
    fn v5_acknowledgements_carry_a_reason_and_maybe_properties() {
        // PUBACK 7, Not authorized, properties: Reason String "no".
        let bytes = [0x40, 0x08, 0, 7, 0x87, 0x05, 0x1F, 0, 2, b'n', b'o'];
        assert_eq!(
            decode(true, &bytes, 2),
            Ok(Incoming::Ack {
                kind: PUBACK,
                packet_id: 7,
                code: 0x87
            })
        );
        // Bytes after the properties, or properties that run past the packet, are malformed.
        assert!(decode(true, &[0x40, 0x05, 0, 7, 0x87, 0x00, 0x00], 2).is_err());
        assert!(decode(true, &[0x40, 0x05, 0, 7, 0x87, 0x05, 0x1F], 2).is_err());
    }

    #[test]
    fn reason_names_follow_the_specification_table() {
        assert_eq!(reason_name(0x87), "NotAuthorized");
        assert_eq!(reason_name(0x8B), "ServerShuttingDown");
        assert_eq!(reason_name(0x97), "QuotaExceeded");
        assert_eq!(reason_name(0xA2), "WildcardSubscriptionsNotSupported");
        assert_eq!(reason_name(0xA3), "UnknownReasonCode");
        assert_eq!(return_code_name(4), "BadUserNameOrPassword");
    }
}
