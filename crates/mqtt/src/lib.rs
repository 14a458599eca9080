//! `thingsim-mqtt`: the MQTT client session of thingsim, sans-I/O.
//!
//! Contract: bytes in, bytes out, time passed in. The session never opens a socket, reads a
//! clock, spawns a task or draws randomness; the shell (a browser WebSocket, a native TCP
//! stream, or the in-memory test world) does all of that and feeds the results back:
//!
//! ```text
//!   shell                                   Session
//!   ─────                                   ───────
//!   socket opened        ── handle_transport_opened(now) ──▶  sends CONNECT
//!   bytes received       ── handle_input(now, &bytes) ──────▶  decodes (partial input ok)
//!   user intent          ── handle_command(now, cmd) ───────▶  SUBSCRIBE / PUBLISH / ...
//!   deadline reached     ── handle_timeout(now) ────────────▶  PINGREQ, CONNACK timeout
//!   socket closed        ── handle_transport_closed(now) ───▶  back to AwaitingTransport
//!   loop { match poll_output() {
//!       Transmit(bytes) => socket.send(bytes),
//!       Event(e)        => show / act on it,
//!       Close           => socket.close(),
//!       Idle { deadline } => break /* arm one timer for deadline */ } }
//! ```
//!
//! It does not: open or reopen transports (the shell does, with [`Backoff`] deciding when),
//! persist sessions across page loads, or interpret payloads (that is `thingsim-fleet`).
//! See ARCHITECTURE.md at the repository root for the layers.

mod backoff;
mod codec;
mod error;
mod limits;
mod session;
mod time;
mod url;

pub use backoff::{Backoff, SeededRng};
pub use error::{Error, Result, quoted};
pub use limits::{ServerLimits, SubscriptionState, SubscriptionStatus};
pub use session::{
    Command, DEFAULT_MAXIMUM_PACKET_SIZE, Event, Message, Options, Output, ProtocolVersion, Qos,
    Session, State, only_acknowledges,
};
pub use time::Millis;
pub use url::BrokerUrl;
