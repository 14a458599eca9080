//! `thingsim-cloud`: the local Fleets stand-in. It runs the pure cloud role of `thingsim-fleet`
//! against a real broker and serves the management and ThingDatas HTTP API on 127.0.0.1.
//!
//! SIGINT and SIGTERM stop it cleanly: it finishes the current turn, sends DISCONNECT and exits 0.
//!
//! One thread owns the `Cloud`: it alternates between HTTP requests that are ready (the HTTP
//! front, on its own thread, reads and checks them and hands them over a channel) and MQTT
//! input (a socket read of at most 20 ms), then drains the cloud's output. No locks, and the
//! order of effects is the order of inputs; a client that stalls stalls only its connection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use thingsim_cloud::api::{self, Answer, ApiConfig};
use thingsim_cloud::broker_users::BrokerUsers;
use thingsim_cloud::http;
use thingsim_cloud::store::Store;
use thingsim_cloud::tcp::TcpClient;
use thingsim_fleet::ThingName;
use thingsim_fleet::api::{Method as ApiMethod, Route as ApiRoute};
use thingsim_fleet::cloud::{Cloud, CloudEvent, CloudOutput};
use thingsim_mqtt::{Backoff, Command, Event, Message, Millis, Options, Qos, ServerLimits};
use tracing::{error, info, warn};

const HELP: &str = "\
thingsim-cloud: local EMQX Fleets stand-in for thingsim

USAGE:
    thingsim-cloud [--broker HOST:PORT] [--http HOST:PORT] [--api-key KEY:SECRET] ...

OPTIONS:
    --broker URL            the broker's MQTT TCP listener: HOST:PORT or mqtt://HOST:PORT
                            (no TLS yet) [env THINGSIM_BROKER, default 127.0.0.1:1883];
                            credentials from env THINGSIM_BROKER_USERNAME and
                            THINGSIM_BROKER_PASSWORD (never a flag: flags show in ps)
    --http HOST:PORT        HTTP API address, loopback only [env THINGSIM_HTTP, default 127.0.0.1:8081]
    --api-key KEY:SECRET    ThingDatas (device HTTPS) credentials; without it those endpoints
                            answer 401 [env THINGSIM_API_KEY: prefer it, flags show in ps]
    --admin-key KEY:SECRET  credentials for the management API; without it that API is open
                            to this machine [env THINGSIM_ADMIN_KEY: prefer it]
    --cors-origin ORIGIN    an origin allowed to call the API from a browser (repeatable)
                            [default http://127.0.0.1:8080 and http://localhost:8080]
    --data DIR              folder of the SQLite database; state survives restarts
                            [env THINGSIM_DATA, default ./thingsim-data]
    --client-id ID          MQTT client id [default thingsim-cloud]
    --broker-users dynsec   give each registered thing a broker user of its own, allowed
                            only its own topics, through mosquitto's dynamic-security plugin
                            (the cloud's broker user must be the plugin's administrator);
                            `none` leaves the broker's users alone
                            [env THINGSIM_BROKER_USERS, default none]
    -h, --help              print this help

The API is described in crates/cloud/src/api.rs and the README.
";

struct Config {
    broker: String,
    data: PathBuf,
    http: SocketAddr,
    client_id: String,
    api: ApiConfig,
    cors_origins: Vec<String>,
    /// Whether registered things get broker users (mosquitto's dynamic-security plugin).
    dynsec: bool,
}

fn config() -> anyhow::Result<Option<Config>> {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let mut broker = env("THINGSIM_BROKER", "127.0.0.1:1883");
    let mut http = env("THINGSIM_HTTP", "127.0.0.1:8081");
    let mut api_key = std::env::var("THINGSIM_API_KEY").ok();
    let mut admin_key = std::env::var("THINGSIM_ADMIN_KEY").ok();
    let mut data = env("THINGSIM_DATA", "thingsim-data");
    let mut client_id = "thingsim-cloud".to_owned();
    let mut cors_origins = Vec::new();
    let mut users = env("THINGSIM_BROKER_USERS", "none");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value; see --help"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "--broker" => broker = value("--broker")?,
            "--http" => http = value("--http")?,
            "--api-key" => api_key = Some(value("--api-key")?),
            "--admin-key" => admin_key = Some(value("--admin-key")?),
            "--cors-origin" => cors_origins.push(value("--cors-origin")?),
            "--client-id" => client_id = value("--client-id")?,
            "--data" => data = value("--data")?,
            "--broker-users" => users = value("--broker-users")?,
            other => bail!("unknown argument {other:?}; see --help"),
        }
    }
    let broker = match broker.split_once("://") {
        None => broker,
        Some(("mqtt" | "tcp", rest)) => rest.trim_end_matches('/').to_owned(),
        Some(("mqtts" | "ssl" | "wss" | "ws", _)) => {
            bail!(
                "--broker {broker}: TLS and WebSocket brokers are not supported yet; use mqtt://HOST:PORT"
            )
        }
        Some((scheme, _)) => {
            bail!("--broker {broker}: unknown scheme {scheme:?}; use mqtt://HOST:PORT")
        }
    };
    let dynsec = match users.as_str() {
        "dynsec" => true,
        "none" | "" => false,
        other => bail!("--broker-users {other:?}: use dynsec or none"),
    };
    let http: SocketAddr = http
        .parse()
        .with_context(|| format!("--http {http:?} is not HOST:PORT"))?;
    if !http.ip().is_loopback() {
        bail!("--http {http} is not a loopback address; the local stand-in serves 127.0.0.1 only");
    }
    if let Some(key) = &api_key
        && !key.contains(':')
    {
        bail!("--api-key must be KEY:SECRET");
    }
    if let Some(key) = &admin_key
        && !key.contains(':')
    {
        bail!("--admin-key must be KEY:SECRET");
    }
    if cors_origins.is_empty() {
        cors_origins = vec![
            "http://127.0.0.1:8080".into(),
            "http://localhost:8080".into(),
        ];
    }
    Ok(Some(Config {
        broker,
        data: PathBuf::from(data),
        http,
        client_id,
        api: ApiConfig {
            device_credentials: api_key,
            admin_credentials: admin_key,
        },
        cors_origins,
        dynsec,
    }))
}

fn now() -> Millis {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

fn main() -> anyhow::Result<()> {
    let Some(config) = config()? else {
        return Ok(());
    };
    // One line per event, key=value fields after the message, on stdout (the demo keeps it in
    // .run/demo/cloud.log). Bodies and the Authorization header are never logged.
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .init();
    let front = http::start(
        config.http,
        config.cors_origins.clone(),
        http::Limits::default(),
    )?;
    let mut store = Store::open(&config.data)?;
    let mut cloud = Cloud::restore(store.load()?);
    // Job ids are UUIDs drawn from this seed and a persisted counter: another seed each run.
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = started ^ u64::from(std::process::id()).rotate_left(32);
    cloud.seed_ids(seed);
    let options = Options {
        // A persistent session: what devices publish while the cloud restarts waits at the
        // broker. No Local: the cloud must not hear its own publishes on shadow/update.
        clean_start: false,
        session_expiry_secs: 86_400,
        no_local: true,
        // Nothing left retained on a device topic is replayed to the cloud when it subscribes
        // (the cloud role also ignores any retained message that still arrives).
        no_retained: true,
        // A report is acknowledged once it is stored: what was not stays with the broker.
        manual_ack: true,
        // Publishes kept while the broker is away (oldest dropped first past this).
        offline_queue_capacity: 10_000,
        offline_queue_bytes: 16 * 1024 * 1024,
        username: std::env::var("THINGSIM_BROKER_USERNAME")
            .ok()
            .filter(|u| !u.is_empty()),
        password: std::env::var("THINGSIM_BROKER_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty()),
        ..Options::new(config.client_id.clone())
    };
    let mut users = config
        .dynsec
        .then(|| BrokerUsers::new(&config.broker, options.clone()));
    let mut client = TcpClient::connect(&config.broker, options, Duration::from_secs(10))?;
    client.command(Command::Subscribe(Cloud::subscriptions()))?;
    info!(
        broker = %config.broker,
        http = %config.http,
        data = %config.data.display(),
        things = cloud.things().count(),
        jobs = cloud.jobs().count(),
        "started"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the SIGINT/SIGTERM handler")?;

    let mut deadline: Option<Millis> = None;
    // While the broker is away (restarting, say), the API keeps answering, the session keeps
    // what it has to send (its offline queue, and QoS 1 publishes not yet acknowledged), and
    // the connection is retried with backoff.
    let mut backoff = Backoff::new(500, 10_000, u64::from(std::process::id()));
    let mut lost: Option<Millis> = None; // when to try again
    let mut last_http: Option<std::time::Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        while let Ok(job) = front.jobs.try_recv() {
            last_http = Some(std::time::Instant::now());
            let answer = serve(
                job.request,
                &mut cloud,
                &mut store,
                users.as_mut(),
                &config,
                seed,
            );
            // Out before the next request: undoing a failed one must not undo this one's.
            deadline = flush(&mut cloud, &mut client, &mut lost, &mut backoff);
            // The client may have gone (timed out): the change stands, it was stored.
            let _ = job.reply.send(answer);
        }
        let mut changed = false;
        // QoS 1 messages handled this turn, to acknowledge once stored.
        let mut received = 0;
        if lost.is_some_and(|at| now() >= at) {
            match client.reconnect(&config.broker, Duration::from_secs(2)) {
                Ok(()) => {
                    info!(broker = %config.broker, "reconnected");
                    backoff.reset();
                    lost = None;
                }
                Err(e) => {
                    let delay = backoff.next_delay();
                    warn!(error = %format!("{e:#}"), retry_in_ms = delay, "broker unreachable");
                    lost = Some(now() + delay);
                }
            }
        }
        // The socket read is also how long a new HTTP request may wait: short while requests
        // are coming (a page loading, a script), longer when all is quiet.
        let wait = if last_http.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            Duration::from_millis(2)
        } else {
            Duration::from_millis(20)
        };
        let event = if lost.is_none() {
            client.next_event(wait)
        } else {
            std::thread::sleep(wait);
            Ok(None)
        };
        match event {
            Ok(Some(Event::Subscribed { filter, .. })) => info!(%filter, "subscribed"),
            Ok(Some(Event::Received(message))) => {
                cloud.handle_message(now(), &message);
                changed = true;
                received += usize::from(message.qos != Qos::AtMostOnce);
            }
            Ok(Some(Event::Error(e))) => warn!(error = %e, "mqtt"),
            Ok(Some(Event::Limits(limits))) if !limits.is_default() => {
                info!(%limits, "broker limits");
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %format!("{e:#}"), "lost the broker; reconnecting");
                client.mark_lost();
                lost = Some(now() + backoff.next_delay());
            }
        }
        if deadline.is_some_and(|d| d <= now()) {
            cloud.handle_timeout(now());
            changed = true;
        }
        // Stored before the replies below go out and before the PUBACK: what is acknowledged
        // is on disk. When storing fails the change is undone and the message left
        // unacknowledged: the connection is dropped so the broker sends it again on the next
        // one, and it is applied once, when the disk takes it.
        if changed {
            match store.save(&cloud) {
                Ok(()) if received > 0 => client.command(Command::Acknowledge(received))?,
                Ok(()) => {}
                Err(e) => {
                    error!(error = %format!("{e:#}"), "store; the change is undone");
                    undo(&mut cloud, &mut store, seed);
                    if received > 0 && lost.is_none() {
                        client.mark_lost();
                        let delay = backoff.next_delay();
                        warn!(
                            retry_in_ms = delay,
                            "message left unacknowledged; reconnecting for it"
                        );
                        lost = Some(now() + delay);
                    }
                }
            }
        }
        deadline = flush(&mut cloud, &mut client, &mut lost, &mut backoff);
    }
    // Signalled: say goodbye to the broker (no Last Will, nothing half-sent) and exit 0.
    if lost.is_none() {
        client.command(Command::Disconnect)?;
    }
    info!("stopped");
    Ok(())
}

/// Puts the cloud back as the database has it: every change before the failed one was stored,
/// so that is the state before it. Reading needs no write lock (WAL); if even that fails, the
/// cloud goes on as it is and says so.
fn undo(cloud: &mut Cloud, store: &mut Store, seed: u64) {
    match store.load() {
        Ok(stored) => {
            *cloud = Cloud::restore(stored);
            cloud.seed_ids(seed);
        }
        Err(e) => {
            error!(error = %format!("{e:#}"), "could not read the stored state back; going on with the one in memory")
        }
    }
}

/// Sends what the cloud has to publish and logs its events; returns its next deadline.
fn flush(
    cloud: &mut Cloud,
    client: &mut TcpClient,
    lost: &mut Option<Millis>,
    backoff: &mut Backoff,
) -> Option<Millis> {
    loop {
        match cloud.poll_output() {
            CloudOutput::Publish(message) => {
                let message = fit_to_broker(message, client.session().server_limits());
                if let Err(e) = client.command(Command::Publish(message))
                    && lost.is_none()
                {
                    warn!(error = %format!("{e:#}"), "lost the broker; reconnecting");
                    client.mark_lost();
                    *lost = Some(now() + backoff.next_delay());
                }
            }
            CloudOutput::Event(event) => log(&event),
            CloudOutput::Idle { deadline } => return deadline,
        }
    }
}

/// A jobs document too large for the broker's Maximum Packet Size goes out without what the
/// device can do without (`jobs::compact`); anything else as it is (the session refuses
/// what still does not fit, and says so).
fn fit_to_broker(mut message: Message, limits: &ServerLimits) -> Message {
    // Fixed header, topic length, packet id and property length: at most 12 bytes.
    let size = message.topic.len() + message.payload.len() + 12;
    if limits
        .maximum_packet_size
        .is_some_and(|max| size > max as usize)
        && let Some(smaller) = thingsim_fleet::jobs::compact(&message.payload)
    {
        message.payload = smaller;
    }
    message
}

/// One request against the cloud. A change is stored before it is answered; when storing
/// fails, the change is undone (the cloud as it was before the request), the client hears 503
/// with the reason, and the process carries on.
fn serve(
    request: http::Request,
    cloud: &mut Cloud,
    store: &mut Store,
    users: Option<&mut BrokerUsers>,
    config: &Config,
    seed: u64,
) -> Answer {
    let changes = request.method != "GET";
    let (status, answer) = api::handle(
        cloud,
        &config.api,
        now(),
        &request.method,
        &request.path,
        request.authorization.as_deref(),
        &request.body,
    );
    // Refusals (4xx) change nothing, so there is nothing to store.
    if !changes || !(200..300).contains(&status) {
        return (status, answer);
    }
    match store.save(cloud) {
        Ok(()) => credentials(&request, status, answer, users),
        Err(e) => {
            error!(error = %format!("{e:#}"), "store; the change is undone");
            undo(cloud, store, seed);
            (
                503,
                serde_json::json!({ "error": format!("the change could not be stored, so it was not made: {e:#}") }),
            )
        }
    }
}

/// A thing just registered (`POST /api/v1/things`), or asking for credentials, gets a broker
/// user when the cloud manages them; the password is in this answer and nowhere else. The
/// registration is stored already: when the broker does not make the user, the answer says so
/// (502) and asking again (`POST …/credentials`) finishes it.
fn credentials(
    request: &http::Request,
    status: u16,
    mut answer: serde_json::Value,
    users: Option<&mut BrokerUsers>,
) -> Answer {
    let asked = match ApiRoute::resolve(&request.method, &request.path) {
        Ok((ApiMethod::Post, ApiRoute::Things)) => false,
        Ok((ApiMethod::Post, ApiRoute::Credentials(_))) => true,
        _ => return (status, answer),
    };
    let Some(users) = users else {
        return if asked {
            (
                501,
                serde_json::json!({ "error": "this cloud does not manage the broker's users (it runs without --broker-users dynsec): connect with the broker's own credentials" }),
            )
        } else {
            (status, answer)
        };
    };
    let Some(thing) = answer["thingName"]
        .as_str()
        .and_then(|t| ThingName::new(t).ok())
    else {
        return (status, answer);
    };
    let client_id = answer["clientId"].as_str().map(str::to_owned);
    match users.issue(&thing, client_id.as_deref()) {
        Ok(credentials) => {
            info!(%thing, client_id = client_id.as_deref().unwrap_or("any"), "broker credentials issued");
            answer["credentials"] = credentials.to_json();
            (status, answer)
        }
        Err(e) => {
            error!(%thing, error = %format!("{e:#}"), "broker credentials");
            (
                502,
                serde_json::json!({ "error": format!("{thing} is registered, but the broker did not give it credentials: {e:#}; POST /api/v1/things/{thing}/credentials tries again") }),
            )
        }
    }
}

fn log(event: &CloudEvent) {
    match event {
        CloudEvent::ShadowUpdated { thing, version } => info!(%thing, version, "shadow updated"),
        CloudEvent::ShadowRejected { thing, rejection } => {
            warn!(%thing, code = rejection.code, reason = %rejection.message, "shadow update rejected");
        }
        CloudEvent::Command(e) => {
            info!(thing = %e.thing_name, execution = %e.execution_id, action = %e.request.action, status = ?e.status, "command");
        }
        CloudEvent::DeviceEvent { thing, kind, .. } => info!(%thing, kind = %kind, "device event"),
        // A stranger's topic is quoted and escaped: control characters never reach the log raw.
        CloudEvent::Refused { topic, reason } => warn!(topic = ?topic, %reason, "refused"),
    }
}
