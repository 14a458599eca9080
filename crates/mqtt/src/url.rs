use crate::{Error, Result};

/// A validated MQTT-over-WebSocket broker address (`ws://` or `wss://`).
///
/// Credentials in the URL are refused rather than ignored: a password in a URL ends up in
/// history, logs and referrers, and thingsim keeps secrets out of URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    url: String,
    secure: bool,
}

impl BrokerUrl {
    /// Checks `input` and returns the URL to hand to `new WebSocket(url, ["mqtt"])`.
    pub fn parse(input: &str) -> Result<Self> {
        let url = input.trim();
        let invalid = |why: &str| Err(Error::InvalidUrl(why.to_owned()));
        if url.is_empty() {
            return invalid("enter the broker's WebSocket URL, e.g. ws://127.0.0.1:8083/mqtt");
        }
        let (secure, rest) = if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else {
            return invalid("it must start with ws:// or wss://");
        };
        if url.chars().any(char::is_whitespace) {
            return invalid("it must not contain spaces");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return invalid("it must not carry credentials; use the username and password fields");
        }
        let (host, port) = match authority.strip_prefix('[') {
            // IPv6 literal: [::1]:8083
            Some(v6) => match v6.split_once(']') {
                Some((host, after)) => (host, after.strip_prefix(':')),
                None => return invalid("its IPv6 address lacks a closing ]"),
            },
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return invalid("it has no host");
        }
        if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
            return invalid("its port must be a number from 1 to 65535");
        }
        Ok(Self {
            url: url.to_owned(),
            secure,
        })
    }

    /// The URL as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Whether the connection is TLS (`wss://`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ws_and_wss_urls() {
        for ok in [
            "ws://127.0.0.1:8083/mqtt",
            "wss://broker.example.com:8084/mqtt",
            "ws://localhost/mqtt",
            "ws://[::1]:8083/mqtt",
            "  ws://host:1/ ",
        ] {
            assert!(BrokerUrl::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            BrokerUrl::parse("  ws://host:1/ ").unwrap().as_str(),
            "ws://host:1/"
        );
        assert!(BrokerUrl::parse("wss://h/mqtt").unwrap().is_secure());
        assert!(!BrokerUrl::parse("ws://h/mqtt").unwrap().is_secure());
    }

    #[test]
    fn refuses_other_schemes_missing_hosts_bad_ports_and_credentials() {
        for (bad, why) in [
            ("", "enter"),
            ("http://host/mqtt", "ws://"),
            ("mqtt://host:1883", "ws://"),
            ("ws://", "no host"),
            ("ws://:8083/mqtt", "no host"),
            ("ws://host:abc/mqtt", "port"),
            ("ws://host:0/mqtt", "port"),
            ("ws://host:70000/mqtt", "port"),
            ("ws://user:secret@host/mqtt", "credentials"),
            ("ws://ho st/mqtt", "spaces"),
        ] {
            match BrokerUrl::parse(bad) {
                Err(Error::InvalidUrl(msg)) => assert!(msg.contains(why), "{bad}: {msg}"),
                other => panic!("{bad} gave {other:?}"),
            }
        }
    }
}
