//! The device's connection settings as a person types them, and their validation.
//!
//! Validation lives here, not in the UI, so every shell (browser form, URL parameters, tests)
//! refuses the same input with the same words.

use thingsim_mqtt::{BrokerUrl, Options, ProtocolVersion};

use crate::ThingName;
use crate::model::Template;

/// The connection form, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectForm {
    /// `ws://` or `wss://` URL of the broker's MQTT-over-WebSocket listener.
    pub broker_url: String,
    /// MQTT client id.
    pub client_id: String,
    /// Fleets thing name.
    pub thing_name: String,
    /// Optional username.
    pub username: String,
    /// Optional password (kept in memory only).
    pub password: String,
    /// MQTT 5 or 3.1.1.
    pub version: ProtocolVersion,
    /// Which device model to simulate ([`Template::id`]).
    pub template: String,
}

impl Default for ConnectForm {
    /// The local broker started by `make demo`, and a thermostat.
    fn default() -> Self {
        Self {
            broker_url: "ws://127.0.0.1:8083/mqtt".to_owned(),
            client_id: "thingsim-thermostat-001".to_owned(),
            thing_name: "thermostat-001".to_owned(),
            username: String::new(),
            password: String::new(),
            version: ProtocolVersion::V5,
            template: "thermostat".to_owned(),
        }
    }
}

/// One message per invalid field, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors {
    /// Why the broker URL is refused.
    pub broker_url: Option<String>,
    /// Why the client id is refused.
    pub client_id: Option<String>,
    /// Why the thing name is refused.
    pub thing_name: Option<String>,
    /// Why the template is refused.
    pub template: Option<String>,
}

/// A form that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceConfig {
    /// Where to connect.
    pub broker: BrokerUrl,
    /// The thing this device is.
    pub thing: ThingName,
    /// MQTT session options.
    pub options: Options,
    /// The device model.
    pub template: &'static Template,
}

impl ConnectForm {
    /// Checks every field and reports all problems at once.
    pub fn validate(&self) -> Result<DeviceConfig, FieldErrors> {
        let broker = BrokerUrl::parse(&self.broker_url).map_err(|e| e.to_string());
        let thing = ThingName::new(self.thing_name.trim()).map_err(|e| e.to_string());
        let client_id = self.client_id.trim();
        let client_id_error = if client_id.is_empty() {
            Some("client id: enter one; Fleets tracks the device's lifecycle by it".to_owned())
        } else if client_id.chars().any(char::is_control) || client_id.len() > 65_535 {
            Some("client id: no control characters, at most 65535 bytes".to_owned())
        } else {
            None
        };
        let template = Template::by_id(&self.template).ok_or_else(|| {
            let known: Vec<&str> = crate::model::TEMPLATES.iter().map(|t| t.id).collect();
            format!(
                "unknown device template {:?}; one of {}",
                self.template,
                known.join(", ")
            )
        });
        match (broker, thing, client_id_error, template) {
            (Ok(broker), Ok(thing), None, Ok(template)) => {
                let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
                Ok(DeviceConfig {
                    broker,
                    thing,
                    options: Options {
                        version: self.version,
                        username: non_empty(self.username.trim()),
                        password: non_empty(&self.password),
                        ..Options::new(client_id)
                    },
                    template,
                })
            }
            (broker, thing, client_id, template) => Err(FieldErrors {
                broker_url: broker.err(),
                thing_name: thing.err(),
                client_id,
                template: template.err(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_form_is_valid_and_keeps_the_recommended_persistent_session() {
        let cfg = ConnectForm::default().validate().unwrap();
        assert_eq!(cfg.thing.as_str(), "thermostat-001");
        assert!(!cfg.options.clean_start);
        assert_eq!(cfg.options.username, None);
    }

    #[test]
    fn every_bad_field_gets_its_own_message_at_once() {
        let form = ConnectForm {
            broker_url: "http://example.com".into(),
            client_id: "  ".into(),
            thing_name: "room/+".into(),
            ..ConnectForm::default()
        };
        let errors = form.validate().unwrap_err();
        assert!(errors.broker_url.unwrap().contains("ws://"));
        assert!(errors.client_id.unwrap().contains("client id"));
        assert!(errors.thing_name.unwrap().contains("/, + or #"));
        let errors = ConnectForm {
            template: "toaster".into(),
            ..ConnectForm::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            errors
                .template
                .unwrap()
                .contains("one of thermostat, smart-light")
        );
    }

    #[test]
    fn credentials_are_passed_on_only_when_given() {
        let form = ConnectForm {
            username: "dev".into(),
            password: "s3cret".into(),
            version: ProtocolVersion::V3_1_1,
            ..ConnectForm::default()
        };
        let cfg = form.validate().unwrap();
        assert_eq!(cfg.options.username.as_deref(), Some("dev"));
        assert_eq!(cfg.options.password.as_deref(), Some("s3cret"));
        assert_eq!(cfg.options.version, ProtocolVersion::V3_1_1);
    }
}
