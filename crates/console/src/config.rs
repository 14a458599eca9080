//! The device's connection settings as a person types them, and their validation.
//!
//! Validation lives here, not in the UI, so every shell (browser form, URL parameters, tests)
//! refuses the same input with the same words.

use crate::embed::{Hosts, Panels, Theme};
use serde_json::{Map, Value};
use thingsim_mqtt::{
    BrokerUrl, DEFAULT_MAXIMUM_PACKET_SIZE, Message, Options, ProtocolVersion, Qos,
};

use thingsim_fleet::model::Template;
use thingsim_fleet::{ThingName, Topic};

/// Where the device's cloud is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The cloud role and a message-level broker run inside the page; no server at all.
    #[default]
    Sandbox,
    /// The local broker and thingsim-cloud that `make demo` starts.
    Local,
    /// Any MQTT broker with a WebSocket listener (EMQX Fleets or another).
    Broker,
}

impl Mode {
    /// The URL / settings spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Local => "local",
            Self::Broker => "broker",
        }
    }

    /// From the URL / settings spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sandbox, Self::Local, Self::Broker]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// Whether the device talks MQTT over a WebSocket (not the in-page sandbox).
    pub fn uses_broker(self) -> bool {
        self != Self::Sandbox
    }
}

/// The local broker's WebSocket URL as `make demo` starts it.
pub const LOCAL_BROKER: &str = "ws://127.0.0.1:8083/mqtt";
/// thingsim-cloud's HTTP API as `make demo` starts it.
pub const LOCAL_CLOUD_API: &str = "http://127.0.0.1:8081";

/// The connection form, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectForm {
    /// Sandbox, local or any broker.
    pub mode: Mode,
    /// `ws://` or `wss://` URL of the broker's MQTT-over-WebSocket listener.
    pub broker_url: String,
    /// thingsim-cloud's HTTP API (local mode's cloud panel).
    pub cloud_api: String,
    /// MQTT client id.
    pub client_id: String,
    /// Fleets thing name.
    pub thing_name: String,
    /// Optional username.
    pub username: String,
    /// Optional password: kept in memory only unless `remember` is on.
    pub password: String,
    /// MQTT 5 (true) or 3.1.1.
    pub mqtt5: bool,
    /// Keep-alive in seconds, as typed.
    pub keep_alive: String,
    /// The largest packet the device accepts, in bytes, as typed (MQTT 5 announces it in
    /// CONNECT; a larger packet closes the connection).
    pub max_packet: String,
    /// Persistent session (clean start off), as the Fleets docs recommend.
    pub persistent: bool,
    /// Which device model to simulate ([`Template::id`]).
    pub template: String,
    /// Save the password and the API secret with the other settings.
    pub remember: bool,
    /// The device talks HTTPS to the ThingDatas API instead of MQTT.
    pub https: bool,
    /// ThingDatas API key.
    pub api_key: String,
    /// ThingDatas API secret: kept in memory only unless `remember` is on.
    pub api_secret: String,
    /// Seconds between polls (HTTPS), as typed.
    pub poll_secs: String,
    /// Leave a Last Will: the broker publishes an `offline` event if the connection dies.
    pub will: bool,
}

impl Default for ConnectForm {
    /// The sandbox, with a thermostat.
    fn default() -> Self {
        Self {
            mode: Mode::Sandbox,
            broker_url: LOCAL_BROKER.to_owned(),
            cloud_api: LOCAL_CLOUD_API.to_owned(),
            client_id: "thingsim-thermostat-001".to_owned(),
            thing_name: "thermostat-001".to_owned(),
            username: String::new(),
            password: String::new(),
            mqtt5: true,
            keep_alive: "60".to_owned(),
            max_packet: DEFAULT_MAXIMUM_PACKET_SIZE.to_string(),
            persistent: true,
            template: "thermostat".to_owned(),
            remember: false,
            https: false,
            api_key: String::new(),
            api_secret: String::new(),
            poll_secs: "5".to_owned(),
            will: false,
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
    /// Why the keep-alive is refused.
    pub keep_alive: Option<String>,
    /// Why the maximum packet size is refused.
    pub max_packet: Option<String>,
    /// Why the cloud API URL is refused.
    pub cloud_api: Option<String>,
    /// Why the HTTPS settings (or the API key and secret) are refused.
    pub https: Option<String>,
}

/// The ThingDatas API a device calls: the HTTPS device's whole link, and the startup shadow
/// GET of an MQTT device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceApi {
    /// Base URL, e.g. `http://127.0.0.1:8081` (no trailing slash).
    pub base: String,
    /// API key.
    pub key: String,
    /// API secret (memory only unless the user opts in).
    pub secret: String,
}

impl DeviceApi {
    /// `key:secret`, for the `Authorization: Basic` header.
    pub fn credentials(&self) -> String {
        format!("{}:{}", self.key, self.secret)
    }
}

/// A form that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceConfig {
    /// Where to connect (`None`: the in-page sandbox).
    pub broker: Option<BrokerUrl>,
    /// thingsim-cloud's API for the cloud panel (local mode).
    pub cloud_api: Option<String>,
    /// `key:secret` for that API, when given.
    pub cloud_auth: Option<String>,
    /// The device's own API (ThingDatas), when it has one.
    pub api: Option<DeviceApi>,
    /// Talk HTTPS instead of MQTT, polling every so many milliseconds.
    pub https: Option<u64>,
    /// The thing this device is.
    pub thing: ThingName,
    /// MQTT session options.
    pub options: Options,
    /// The device model.
    pub template: &'static Template,
}

/// What a page URL configured, and what it refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlConfig {
    /// Compact layout for an iframe (`embed=1`, or any `panels=`).
    pub embed: bool,
    /// The panels that show: all, an embed's, or those `panels=` names.
    pub panels: Panels,
    /// `theme=light|dark`, or the system's.
    pub theme: Theme,
    /// The origins whose pages may drive the console over `postMessage` (`hosts=`).
    pub hosts: Hosts,
    /// Connect at once (`Some(true)`), never at once (`Some(false)`), or as the mode suggests.
    pub autoconnect: Option<bool>,
    /// Parameters ignored, and why (secrets never travel in URLs).
    pub warnings: Vec<String>,
}

/// A page URL's query (`?a=1&b=%7Bn%7D`) as decoded key–value pairs, in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// Percent-decoding of one query component (`+` is a space).
fn decode(s: &str) -> String {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        let byte = match (b, tail) {
            (b'%', [h, l, more @ ..]) => match (hex(*h), hex(*l)) {
                (Some(hi), Some(lo)) => {
                    rest = more;
                    // Two hex digits make one byte: at most 0xff.
                    u8::try_from(hi * 16 + lo).unwrap_or(b'?')
                }
                _ => b'%',
            },
            (b'+', _) => b' ',
            _ => b,
        };
        out.push(byte);
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ConnectForm {
    /// Applies a page URL's query (`?mode=…&broker=…&thing=…&template=…&embed=1`). Secrets in
    /// the URL are ignored with a warning: URLs end up in histories, logs and referrers.
    pub fn apply_query(&mut self, query: &str) -> UrlConfig {
        let mut config = UrlConfig::default();
        let mut panels = None;
        // Where saved secrets may be sent: a link must not redirect them elsewhere.
        let endpoint = (
            self.mode,
            self.broker_url.clone(),
            self.cloud_api.clone(),
            self.https,
        );
        for (key, value) in query_pairs(query) {
            let set = |field: &mut String| value.clone_into(field);
            match key.as_str() {
                "mode" => match Mode::parse(&value) {
                    Some(mode) => self.mode = mode,
                    None => config.warnings.push(format!(
                        "mode={value} ignored: use sandbox, local or broker"
                    )),
                },
                "broker" => set(&mut self.broker_url),
                "api" => set(&mut self.cloud_api),
                "thing" => set(&mut self.thing_name),
                "client" | "clientId" => set(&mut self.client_id),
                "template" => set(&mut self.template),
                "username" => set(&mut self.username),
                "keepAlive" => set(&mut self.keep_alive),
                "maxPacket" => set(&mut self.max_packet),
                "version" => self.mqtt5 = value != "3.1.1",
                "embed" => config.embed = value != "0",
                "panels" => match Panels::parse(&value) {
                    Ok(p) => panels = Some(p),
                    Err(e) => config.warnings.push(e),
                },
                "theme" => match Theme::parse(&value) {
                    Ok(t) => config.theme = t,
                    Err(e) => config.warnings.push(e),
                },
                "hosts" => match Hosts::parse(&value) {
                    Ok(h) => config.hosts = h,
                    Err(e) => config.warnings.push(e),
                },
                "connect" => config.autoconnect = Some(value != "0"),
                "https" => self.https = value != "0",
                "apiKey" => set(&mut self.api_key),
                "poll" => set(&mut self.poll_secs),
                "password" | "pass" | "secret" | "apiSecret" | "token" => {
                    config.warnings.push(format!(
                        "{key} in the page URL ignored: enter secrets in the form, never in a URL"
                    ))
                }
                _ => config.warnings.push(format!(
                    "unknown URL parameter {} ignored",
                    thingsim_mqtt::quoted(&key)
                )),
            }
        }
        // Naming panels makes an embed; an embed without them shows the device's panels.
        config.embed |= panels.is_some();
        config.panels = match panels {
            Some(p) => p,
            None if config.embed => Panels::embed(),
            None => Panels::default(),
        };
        let moved = endpoint
            != (
                self.mode,
                self.broker_url.clone(),
                self.cloud_api.clone(),
                self.https,
            );
        if moved && !(self.password.is_empty() && self.api_secret.is_empty()) {
            self.password.clear();
            self.api_secret.clear();
            config.warnings.push(
                "the saved password and API secret are not used: this link changes where to \
                 connect; enter them again if you trust it"
                    .to_owned(),
            );
        }
        config
    }

    /// The form's text fields by their saved (camelCase) names. Saved settings are a JSON
    /// object read and written through `serde_json::Value`, not a derive: the page already
    /// carries `Value`, and a derive for this form weighed about 3 KB gzip in the release build.
    fn texts(&mut self) -> [(&'static str, &mut String); 12] {
        [
            ("brokerUrl", &mut self.broker_url),
            ("cloudApi", &mut self.cloud_api),
            ("clientId", &mut self.client_id),
            ("thingName", &mut self.thing_name),
            ("username", &mut self.username),
            ("password", &mut self.password),
            ("keepAlive", &mut self.keep_alive),
            ("maxPacket", &mut self.max_packet),
            ("template", &mut self.template),
            ("apiKey", &mut self.api_key),
            ("apiSecret", &mut self.api_secret),
            ("pollSecs", &mut self.poll_secs),
        ]
    }

    /// The form's switches by their saved names.
    fn switches(&mut self) -> [(&'static str, &mut bool); 5] {
        [
            ("mqtt5", &mut self.mqtt5),
            ("persistent", &mut self.persistent),
            ("remember", &mut self.remember),
            ("https", &mut self.https),
            ("will", &mut self.will),
        ]
    }

    /// The settings to save: the password only when `remember` is on.
    pub fn to_saved(&self) -> String {
        let mut saved = self.clone();
        if !saved.remember {
            saved.password.clear();
            saved.api_secret.clear();
        }
        let mut map = Map::new();
        map.insert("mode".into(), Value::String(saved.mode.as_str().into()));
        for (key, text) in saved.texts() {
            map.insert(key.into(), Value::String(std::mem::take(text)));
        }
        for (key, on) in saved.switches() {
            map.insert(key.into(), Value::Bool(*on));
        }
        thingsim_fleet::json::text(&Value::Object(map))
    }

    /// Saved settings back (unknown or damaged settings give `None`: start fresh). Missing
    /// fields keep their defaults; a field of the wrong type or an unknown mode is damage.
    pub fn from_saved(json: &str) -> Option<Self> {
        let Ok(Value::Object(map)) = thingsim_fleet::json::value(json.as_bytes()) else {
            return None;
        };
        let mut form = Self::default();
        if let Some(mode) = map.get("mode") {
            form.mode = Mode::parse(mode.as_str()?)?;
        }
        for (key, text) in form.texts() {
            if let Some(value) = map.get(key) {
                value.as_str()?.clone_into(text);
            }
        }
        for (key, on) in form.switches() {
            if let Some(value) = map.get(key) {
                *on = value.as_bool()?;
            }
        }
        Some(form)
    }

    /// The ThingDatas API at `base` with the key and secret typed, or why not. No key: no API
    /// (local mode without credentials), except for an HTTPS device, which has no other link.
    fn device_api(&self, base: &str) -> Result<Option<DeviceApi>, String> {
        let latin1 = |s: &str| s.chars().all(|c| u32::from(c) <= 0xFF);
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                base.strip_prefix(p)
                    .is_some_and(|r| r.is_empty() || r.starts_with([':', '/']))
            });
        match self.api_key.trim() {
            "" if self.https => {
                Err("API key: enter the ThingDatas key (and its secret)".to_owned())
            }
            "" => Ok(None),
            _ if base.starts_with("http://") && !loopback => Err(
                "API URL: https:// for anything but this machine; Basic auth over http:// sends \
                 the secret in clear text"
                    .to_owned(),
            ),
            _ if !latin1(&self.api_key) || !latin1(&self.api_secret) => {
                Err("API key and secret: Basic auth carries Latin-1 text only".to_owned())
            }
            key if key.contains(':') => {
                Err("API key: no ':' (Basic auth joins key and secret with one)".to_owned())
            }
            key => Ok(Some(DeviceApi {
                base: base.to_owned(),
                key: key.to_owned(),
                secret: self.api_secret.clone(),
            })),
        }
    }

    /// Checks every field and reports all problems at once.
    #[allow(
        clippy::result_large_err,
        reason = "one message per field, built once per click; boxing buys nothing"
    )]
    pub fn validate(&self) -> Result<DeviceConfig, FieldErrors> {
        let uses_broker = self.mode.uses_broker();
        let broker = if uses_broker && !self.https {
            BrokerUrl::parse(&self.broker_url)
                .map(Some)
                .map_err(|e| e.to_string())
        } else {
            Ok(None)
        };
        // The API: local mode's cloud panel and startup GET, the HTTPS device's whole link, and
        // in "Any broker" mode, when a key is given, the startup GET.
        let wants_api = self.mode == Mode::Local
            || (self.mode == Mode::Broker && (self.https || !self.api_key.trim().is_empty()));
        let cloud_api = if wants_api {
            let api = self.cloud_api.trim().trim_end_matches('/');
            if (api.starts_with("http://") || api.starts_with("https://"))
                && !api.contains('@')
                && !api.contains('?')
            {
                Ok(Some(api.to_owned()))
            } else {
                Err(
                    "API URL: an http:// or https:// URL without credentials, like \
                     http://127.0.0.1:8081"
                        .to_owned(),
                )
            }
        } else {
            Ok(None)
        };
        let api = match (self.https, self.mode, &cloud_api) {
            (true, Mode::Sandbox, _) => {
                Err("HTTPS needs a server: choose Local or Any broker".to_owned())
            }
            (_, _, Ok(Some(base))) => self.device_api(base),
            _ => Ok(None), // the API URL's own error says what to fix
        };
        let https = match (&api, self.https) {
            (Ok(Some(_)), true) => self
                .poll_secs
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|p| (1..=3600).contains(p))
                .map(|secs| Some(secs * 1000))
                .ok_or_else(|| "poll interval: whole seconds from 1 to 3600".to_owned()),
            (Ok(None), true) if self.mode == Mode::Broker => {
                Err("API key: enter the ThingDatas key (and its secret)".to_owned())
            }
            (Err(e), true) => Err(e.clone()),
            _ => Ok(None),
        };
        let api = match (api, self.https) {
            // An HTTPS device's API error is reported once, on the HTTPS line.
            (Err(_), true) => Ok(None),
            (api, _) => api,
        };
        let thing = ThingName::new(self.thing_name.trim()).map_err(|e| e.to_string());
        let client_id = self.client_id.trim();
        let client_id_error = if client_id.is_empty() {
            Some("client id: enter one; Fleets tracks the device's lifecycle by it".to_owned())
        } else if client_id.chars().any(char::is_control) || client_id.len() > 65_535 {
            Some("client id: no control characters, at most 65535 bytes".to_owned())
        } else {
            None
        };
        let keep_alive = self
            .keep_alive
            .trim()
            .parse::<u16>()
            .map_err(|_| "keep-alive: whole seconds from 0 (off) to 65535".to_owned());
        // Below 128 bytes not even the device's own reports arrive; MQTT's ceiling is 256 MB.
        let max_packet = self
            .max_packet
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (128..=268_435_455).contains(n))
            .ok_or_else(|| "maximum packet size: whole bytes from 128 to 268435455".to_owned());
        let template = Template::by_id(&self.template).ok_or_else(|| {
            let known: Vec<&str> = thingsim_fleet::model::TEMPLATES
                .iter()
                .map(|t| t.id)
                .collect();
            format!(
                "unknown device template {}; one of {}",
                thingsim_mqtt::quoted(&self.template),
                known.join(", ")
            )
        });
        match (
            broker,
            cloud_api,
            (api, https),
            thing,
            client_id_error,
            (keep_alive, max_packet),
            template,
        ) {
            (
                Ok(broker),
                Ok(cloud_api),
                (Ok(api), Ok(https)),
                Ok(thing),
                None,
                (Ok(keep_alive), Ok(max_packet)),
                Ok(template),
            ) => {
                let will = self.will.then(|| {
                    Message::new(
                        Topic::Event("offline".into()).assemble(&thing),
                        r#"{"reason":"the connection was lost without a DISCONNECT"}"#,
                        Qos::AtLeastOnce,
                    )
                });
                let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
                Ok(DeviceConfig {
                    broker,
                    cloud_api: cloud_api.filter(|_| self.mode == Mode::Local),
                    cloud_auth: api
                        .as_ref()
                        .filter(|_| self.mode == Mode::Local)
                        .map(DeviceApi::credentials),
                    api,
                    https,
                    thing,
                    options: Options {
                        version: if self.mqtt5 {
                            ProtocolVersion::V5
                        } else {
                            ProtocolVersion::V3_1_1
                        },
                        keep_alive_secs: keep_alive,
                        maximum_packet_size: Some(max_packet),
                        clean_start: !self.persistent,
                        username: non_empty(self.username.trim()),
                        password: non_empty(&self.password),
                        will,
                        ..Options::new(client_id)
                    },
                    template,
                })
            }
            (
                broker,
                cloud_api,
                (api, https),
                thing,
                client_id,
                (keep_alive, max_packet),
                template,
            ) => Err(FieldErrors {
                broker_url: broker.err(),
                cloud_api: cloud_api.err(),
                https: https.err().or_else(|| api.err()),
                thing_name: thing.err(),
                client_id,
                keep_alive: keep_alive.err(),
                max_packet: max_packet.err(),
                template: template.err(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_theme_and_hosts_come_from_the_url_and_bad_ones_are_said() {
        use crate::embed::{Panel, Theme};
        let mut form = ConnectForm::default();
        let url =
            form.apply_query("?panels=face,shadow&theme=dark&hosts=https%3A%2F%2Fdocs.example.com");
        assert!(url.embed, "naming panels makes an embed");
        assert!(url.panels.shows(Panel::Face) && url.panels.shows(Panel::Shadow));
        assert!(!url.panels.shows(Panel::Connection) && !url.panels.shows(Panel::Log));
        assert_eq!(url.theme, Theme::Dark);
        assert!(url.hosts.allows("https://docs.example.com"));
        assert!(url.warnings.is_empty(), "{:?}", url.warnings);

        let url = ConnectForm::default().apply_query("?embed=1&theme=pink&hosts=*&panels=gauges");
        assert!(url.embed && url.panels.shows(Panel::Connection) && !url.panels.shows(Panel::Log));
        assert_eq!(url.theme, Theme::System);
        assert!(url.hosts.is_empty());
        assert_eq!(url.warnings.len(), 3, "{:?}", url.warnings);
        assert!(
            ConnectForm::default()
                .apply_query("")
                .panels
                .shows(Panel::Log)
        );
    }

    #[test]
    fn the_default_form_is_valid_and_keeps_the_recommended_persistent_session() {
        let cfg = ConnectForm::default().validate().unwrap();
        assert_eq!(cfg.broker, None, "the sandbox needs no broker");
        assert_eq!(cfg.thing.as_str(), "thermostat-001");
        assert!(!cfg.options.clean_start);
        assert_eq!(cfg.options.username, None);
        assert_eq!(
            cfg.options.maximum_packet_size,
            Some(DEFAULT_MAXIMUM_PACKET_SIZE)
        );
    }

    #[test]
    fn every_bad_field_gets_its_own_message_at_once() {
        let form = ConnectForm {
            mode: Mode::Broker,
            keep_alive: "-1".into(),
            max_packet: "64".into(),
            broker_url: "http://example.com".into(),
            client_id: "  ".into(),
            thing_name: "room/+".into(),
            ..ConnectForm::default()
        };
        let errors = form.validate().unwrap_err();
        assert!(errors.broker_url.unwrap().contains("ws://"));
        assert!(errors.client_id.unwrap().contains("client id"));
        assert!(errors.thing_name.unwrap().contains("/, + or #"));
        assert!(errors.keep_alive.unwrap().contains("keep-alive"));
        assert!(errors.max_packet.unwrap().contains("from 128"));
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
            mqtt5: false,
            ..ConnectForm::default()
        };
        let cfg = form.validate().unwrap();
        assert_eq!(cfg.options.username.as_deref(), Some("dev"));
        assert_eq!(cfg.options.password.as_deref(), Some("s3cret"));
        assert_eq!(cfg.options.version, ProtocolVersion::V3_1_1);
    }

    #[test]
    fn a_url_configures_the_page_but_never_carries_secrets() {
        let mut form = ConnectForm::default();
        let url = form.apply_query(
            "?mode=local&thing=lab%2Dlight&template=smart-light&embed=1&password=hunter2&x=1",
        );
        assert_eq!(form.mode, Mode::Local);
        assert_eq!(form.thing_name, "lab-light");
        assert_eq!(form.template, "smart-light");
        assert!(url.embed);
        assert_eq!(form.password, "", "the password stays out");
        assert_eq!(url.warnings.len(), 2, "{:?}", url.warnings);
        assert!(url.warnings[0].contains("password in the page URL ignored"));
        let mut untouched = ConnectForm::default();
        assert_eq!(untouched.apply_query(""), UrlConfig::default());
        assert_eq!(
            untouched,
            ConnectForm::default(),
            "an empty query changes nothing"
        );
    }

    #[test]
    fn the_form_s_session_settings_reach_the_mqtt_options() {
        let form = ConnectForm {
            keep_alive: "15".into(),
            max_packet: "4096".into(),
            persistent: false,
            ..ConnectForm::default()
        };
        let options = form.validate().unwrap().options;
        assert_eq!(options.keep_alive_secs, 15);
        assert_eq!(options.maximum_packet_size, Some(4096));
        assert!(options.clean_start, "not persistent: clean start");
    }

    #[test]
    fn every_documented_url_parameter_sets_its_field() {
        // README, "URL configuration": mode, broker, api, thing, client, template, username,
        // keepAlive, maxPacket, version, connect, embed, https, apiKey, poll.
        let mut form = ConnectForm::default();
        let url = form.apply_query(
            "?mode=broker&broker=ws%3A%2F%2Fb%3A1%2Fmqtt&api=http%3A%2F%2Fa%3A2&thing=t-9\
             &client=c-9&template=door-lock&username=u&keepAlive=15&maxPacket=4096\
             &version=3.1.1&connect=0&embed=0&https=1&apiKey=k&poll=7",
        );
        assert!(url.warnings.is_empty(), "{:?}", url.warnings);
        assert_eq!(url.autoconnect, Some(false));
        assert!(!url.embed);
        let expected = ConnectForm {
            mode: Mode::Broker,
            broker_url: "ws://b:1/mqtt".into(),
            cloud_api: "http://a:2".into(),
            thing_name: "t-9".into(),
            client_id: "c-9".into(),
            template: "door-lock".into(),
            username: "u".into(),
            keep_alive: "15".into(),
            max_packet: "4096".into(),
            mqtt5: false,
            https: true,
            api_key: "k".into(),
            poll_secs: "7".into(),
            ..ConnectForm::default()
        };
        assert_eq!(form, expected);
        // The other values of the switches.
        let mut form = ConnectForm::default();
        let url = form.apply_query("?version=5&connect=1&embed=1&https=0&clientId=c-1");
        assert!(form.mqtt5 && !form.https);
        assert_eq!(form.client_id, "c-1");
        assert_eq!((url.autoconnect, url.embed), (Some(true), true));
        let url = ConnectForm::default().apply_query("?mode=cloud");
        assert!(
            url.warnings[0].contains("mode=cloud ignored"),
            "{:?}",
            url.warnings
        );
    }

    #[test]
    fn saved_settings_keep_the_password_only_when_asked() {
        let mut form = ConnectForm {
            mode: Mode::Broker,
            password: "s3cret".into(),
            ..ConnectForm::default()
        };
        let back = ConnectForm::from_saved(&form.to_saved()).unwrap();
        assert_eq!(back.mode, Mode::Broker);
        assert_eq!(back.password, "");
        form.remember = true;
        assert_eq!(
            ConnectForm::from_saved(&form.to_saved()).unwrap().password,
            "s3cret"
        );
        assert_eq!(ConnectForm::from_saved("{not json"), None);
    }

    #[test]
    fn query_pairs_come_back_decoded_in_order() {
        assert_eq!(
            query_pairs("?view=fleet&pattern=lamp-%7Bn%7D&mix=fail%3A20%402&flag&a=b+c"),
            vec![
                ("view".to_owned(), "fleet".to_owned()),
                ("pattern".to_owned(), "lamp-{n}".to_owned()),
                ("mix".to_owned(), "fail:20@2".to_owned()),
                ("flag".to_owned(), String::new()),
                ("a".to_owned(), "b c".to_owned()),
            ]
        );
        assert!(query_pairs("?").is_empty());
    }

    #[test]
    fn every_field_survives_saving_and_settings_saved_by_older_versions_still_load() {
        let form = ConnectForm {
            mode: Mode::Local,
            broker_url: "ws://b:1/mqtt".into(),
            cloud_api: "http://a:2".into(),
            client_id: "c".into(),
            thing_name: "t".into(),
            username: "u".into(),
            password: "p".into(),
            mqtt5: false,
            keep_alive: "9".into(),
            max_packet: "4096".into(),
            persistent: false,
            template: "smart-plug".into(),
            remember: true,
            https: true,
            api_key: "k".into(),
            api_secret: "s".into(),
            poll_secs: "7".into(),
            will: true,
        };
        assert_eq!(ConnectForm::from_saved(&form.to_saved()), Some(form));
        // What the serde derive of earlier releases wrote (camelCase, lowercase mode), minus a
        // few fields: those keep their defaults.
        let old = r#"{"mode":"broker","brokerUrl":"wss://x/mqtt","clientId":"dev","thingName":"lamp","mqtt5":true,"keepAlive":"30","persistent":true,"template":"smart-light","remember":false}"#;
        let loaded = ConnectForm::from_saved(old).unwrap();
        assert_eq!(
            (
                loaded.mode,
                loaded.broker_url.as_str(),
                loaded.keep_alive.as_str()
            ),
            (Mode::Broker, "wss://x/mqtt", "30")
        );
        assert_eq!(loaded.poll_secs, ConnectForm::default().poll_secs);
        for damaged in [
            r#"{"mode":"cloud"}"#,
            r#"{"mode":1}"#,
            r#"{"keepAlive":60}"#,
            r#"{"remember":"yes"}"#,
            "[]",
        ] {
            assert_eq!(ConnectForm::from_saved(damaged), None, "{damaged}");
        }
    }

    #[test]
    fn local_mode_needs_a_plain_http_cloud_api() {
        let mut form = ConnectForm {
            mode: Mode::Local,
            ..ConnectForm::default()
        };
        let cfg = form.validate().unwrap();
        assert_eq!(cfg.cloud_api.as_deref(), Some(LOCAL_CLOUD_API));
        assert!(cfg.broker.is_some());
        assert_eq!(cfg.cloud_auth, None, "no key typed: no credentials sent");
        form.api_key = "thingsim".into();
        form.api_secret = "s3cret".into();
        assert_eq!(
            form.validate().unwrap().cloud_auth.as_deref(),
            Some("thingsim:s3cret")
        );
        form.will = true;
        let will = form.validate().unwrap().options.will.unwrap();
        assert_eq!(will.topic, "$emqx/things/thermostat-001/events/offline");
        form.cloud_api = "http://key:secret@127.0.0.1:8081".into();
        assert!(form.validate().unwrap_err().cloud_api.is_some());
    }

    #[test]
    fn an_https_device_needs_a_server_a_key_and_keeps_its_secret_out_of_storage() {
        let mut form = ConnectForm {
            https: true,
            ..ConnectForm::default()
        };
        assert!(
            form.validate()
                .unwrap_err()
                .https
                .unwrap()
                .contains("needs a server")
        );
        form.mode = Mode::Local;
        assert!(
            form.validate()
                .unwrap_err()
                .https
                .unwrap()
                .contains("API key")
        );
        form.api_key = "thingsim".into();
        form.api_secret = "s3cret".into();
        let cfg = form.validate().unwrap();
        assert_eq!(
            (cfg.api.unwrap().base.as_str(), cfg.https),
            (LOCAL_CLOUD_API, Some(5_000))
        );
        assert!(!form.to_saved().contains("s3cret"));
        form.mode = Mode::Broker;
        form.cloud_api = "https://fleets.example.com".into();
        assert_eq!(
            form.validate().unwrap().api.unwrap().base,
            "https://fleets.example.com"
        );
        form.cloud_api = "http://fleets.example.com".into();
        assert!(
            form.validate()
                .unwrap_err()
                .https
                .unwrap()
                .contains("clear text")
        );
        form.cloud_api = "http://localhost:8081".into();
        for (key, secret, why) in [
            ("thingsim", "sécret✓", "Latin-1"),
            ("thing:sim", "s3cret", "no ':'"),
        ] {
            (form.api_key, form.api_secret) = (key.into(), secret.into());
            let errors = form.validate().unwrap_err();
            assert!(errors.https.unwrap().contains(why), "{key}:{secret}");
        }
    }

    #[test]
    fn a_link_that_moves_the_endpoint_drops_saved_secrets() {
        let saved = ConnectForm {
            mode: Mode::Broker,
            broker_url: "wss://mine.example.com/mqtt".into(),
            password: "s3cret".into(),
            api_secret: "k3y".into(),
            remember: true,
            ..ConnectForm::default()
        };
        let mut same = saved.clone();
        let url = same.apply_query("?thing=other");
        assert_eq!(same.password, "s3cret", "same endpoint: kept");
        assert!(url.warnings.is_empty());
        let mut moved = saved;
        let url = moved.apply_query("?broker=wss://evil.example.com/mqtt&connect=1");
        assert_eq!(
            (moved.password.as_str(), moved.api_secret.as_str()),
            ("", "")
        );
        assert!(url.warnings[0].contains("not used"));
    }

    #[test]
    fn a_link_that_moves_the_endpoint_drops_a_lone_saved_password_too() {
        for (password, api_secret) in [("s3cret", ""), ("", "k3y")] {
            let mut form = ConnectForm {
                mode: Mode::Broker,
                password: password.into(),
                api_secret: api_secret.into(),
                remember: true,
                ..ConnectForm::default()
            };
            let url = form.apply_query("?broker=wss://evil.example.com/mqtt");
            assert_eq!((form.password.as_str(), form.api_secret.as_str()), ("", ""));
            assert_eq!(url.warnings.len(), 1, "{:?}", url.warnings);
        }
    }

    #[test]
    fn any_broker_mode_with_a_key_gets_an_api_for_the_startup_get_and_no_cloud_panel() {
        let mut form = ConnectForm {
            mode: Mode::Broker,
            broker_url: "wss://fleets.example.com/mqtt".into(),
            cloud_api: "https://fleets.example.com/".into(),
            api_key: " key ".into(),
            api_secret: "s3cret".into(),
            ..ConnectForm::default()
        };
        let cfg = form.validate().unwrap();
        let api = cfg.api.unwrap();
        assert_eq!(
            (api.base.as_str(), api.credentials().as_str()),
            ("https://fleets.example.com", "key:s3cret")
        );
        assert_eq!(cfg.https, None, "MQTT, with an API beside it");
        assert_eq!(
            (cfg.cloud_api, cfg.cloud_auth),
            (None, None),
            "no cloud panel outside local mode"
        );
        assert!(!form.to_saved().contains("s3cret"));
        form.cloud_api = "http://fleets.example.com".into();
        assert!(
            form.validate()
                .unwrap_err()
                .https
                .unwrap()
                .contains("clear text")
        );
        form.api_key.clear();
        assert_eq!(form.validate().unwrap().api, None, "no key: no API");
    }

    #[test]
    fn only_local_mode_and_https_devices_need_a_cloud_api() {
        for mode in [Mode::Sandbox, Mode::Broker] {
            let form = ConnectForm {
                mode,
                cloud_api: "not a url".into(),
                ..ConnectForm::default()
            };
            let cfg = form
                .validate()
                .unwrap_or_else(|e| panic!("{mode:?}: {e:?}"));
            assert_eq!(cfg.cloud_api, None);
        }
        let form = ConnectForm {
            mode: Mode::Local,
            cloud_api: "not a url".into(),
            ..ConnectForm::default()
        };
        assert!(form.validate().unwrap_err().cloud_api.is_some());
    }

    #[test]
    fn a_client_id_is_at_most_65535_bytes_without_control_characters() {
        let check = |id: String| {
            ConnectForm {
                client_id: id,
                ..ConnectForm::default()
            }
            .validate()
            .err()
            .and_then(|e| e.client_id)
        };
        assert_eq!(check("d".repeat(65_535)), None);
        assert!(check("d".repeat(65_536)).is_some());
        assert!(check("dev\u{7}ice".into()).is_some());
    }

    #[test]
    fn query_values_are_percent_decoded_and_stray_percent_signs_kept() {
        for (raw, decoded) in [
            ("a%20b+c", "a b c"),
            ("%4A%4a", "JJ"),
            ("%E2%9C%93", "✓"),
            ("%2B", "+"),
            ("100%", "100%"),
            ("%4", "%4"),
            ("%zz%", "%zz%"),
            ("%ff", "\u{fffd}"),
        ] {
            assert_eq!(decode(raw), decoded, "{raw}");
        }
    }
}
