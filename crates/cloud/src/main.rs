//! `thingsim-cloud`: the local Fleets stand-in.
//!
//! Today it connects to the broker as the cloud side and logs every shadow report devices
//! publish (malformed ones with the reason). The full cloud role (shadow store, commands,
//! jobs, HTTP APIs) is issue #4.

use std::time::Duration;

use anyhow::Context;
use thingsim_cloud::tcp::TcpClient;
use thingsim_fleet::{Topic, shadow::Update, topics::ShadowTopic};
use thingsim_mqtt::{Command, Event, Options, Qos};

const HELP: &str = "\
thingsim-cloud: local EMQX Fleets stand-in for thingsim

USAGE:
    thingsim-cloud [--broker HOST:PORT] [--client-id ID]

OPTIONS:
    --broker HOST:PORT   MQTT TCP listener of the broker [env THINGSIM_BROKER, default 127.0.0.1:1883]
    --client-id ID       client id of the cloud connection [default thingsim-cloud]
    -h, --help           print this help
";

fn main() -> anyhow::Result<()> {
    let mut broker = std::env::var("THINGSIM_BROKER").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let mut client_id = "thingsim-cloud".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "--broker" => broker = args.next().context("--broker needs HOST:PORT")?,
            "--client-id" => client_id = args.next().context("--client-id needs a value")?,
            other => anyhow::bail!("unknown argument {other:?}; see --help"),
        }
    }

    let options = Options {
        // The cloud keeps no broker session: it resubscribes on every start.
        clean_start: true,
        session_expiry_secs: 0,
        ..Options::new(client_id)
    };
    let mut client = TcpClient::connect(&broker, options, Duration::from_secs(10))?;
    // `#` never matches `$emqx/...` topics [MQTT-4.7.2-1]: the filter must name the prefix.
    let filter = "$emqx/things/+/shadow/update".to_owned();
    client.command(Command::Subscribe(vec![(filter, Qos::AtLeastOnce)]))?;
    loop {
        match client.next_event(Duration::from_secs(3600))? {
            Some(Event::Subscribed { filter, .. }) => println!("subscribed {filter}"),
            Some(Event::Received(message)) => match Topic::parse(&message.topic) {
                Some((thing, Topic::Shadow(ShadowTopic::Update))) => {
                    match Update::from_slice(&message.payload) {
                        Ok(update) => println!(
                            "thing={thing} update={}",
                            String::from_utf8_lossy(&update.to_vec())
                        ),
                        Err(e) => println!("thing={thing} rejected: {e}"),
                    }
                }
                _ => println!("ignored message on {}", message.topic),
            },
            Some(Event::Error(e)) => println!("error: {e}"),
            Some(_) | None => {}
        }
    }
}
