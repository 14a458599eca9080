//! A blocking MQTT client over TCP: the native twin of the browser's WebSocket shell.
//!
//! The run loop is the one every shell uses: drain `poll_output`, then wait for input or the
//! deadline, whichever comes first (here: a socket read timeout).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use thingsim_mqtt::{Command, Event, Millis, Options, Output, Session, State};

/// An MQTT session on a TCP stream.
pub struct TcpClient {
    session: Session,
    stream: TcpStream,
    epoch: Instant,
    events: VecDeque<Event>,
    closed: bool,
}

/// A TCP stream to `addr`, connected within `timeout`: a broker that never answers must not
/// hold up the caller (thingsim-cloud's HTTP API waits while it retries).
fn open(addr: &str, timeout: Duration) -> anyhow::Result<TcpStream> {
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("resolving {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let stream = TcpStream::connect_timeout(&target, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl TcpClient {
    /// Connects to `addr` (`host:port`) and waits up to `timeout` for CONNACK.
    pub fn connect(addr: &str, options: Options, timeout: Duration) -> anyhow::Result<Self> {
        let mut client = Self {
            session: Session::new(options),
            stream: open(addr, timeout)?,
            epoch: Instant::now(),
            events: VecDeque::new(),
            closed: false,
        };
        client.handshake(addr, timeout)?;
        Ok(client)
    }

    /// The connection was lost (an error from [`TcpClient::command`] or
    /// [`TcpClient::next_event`]): tell the session, which keeps what it still has to send.
    pub fn mark_lost(&mut self) {
        if !self.closed {
            self.transport_closed();
        }
    }

    /// A new TCP connection for the same session: what it queued while offline and QoS 1
    /// publishes the broker never acknowledged go out again, and subscriptions are restored
    /// when the broker lost them — the session's own reconnect, as in the browser.
    pub fn reconnect(&mut self, addr: &str, timeout: Duration) -> anyhow::Result<()> {
        self.mark_lost();
        self.stream = open(addr, timeout)?;
        self.closed = false;
        self.handshake(addr, timeout)
    }

    fn handshake(&mut self, addr: &str, timeout: Duration) -> anyhow::Result<()> {
        let now = self.now();
        self.session.handle_transport_opened(now);
        let deadline = Instant::now() + timeout;
        let mut other = Vec::new();
        let result = loop {
            match self.next_event(deadline.saturating_duration_since(Instant::now())) {
                Ok(Some(Event::Connected { .. })) => break Ok(()),
                Ok(Some(Event::Error(e))) => {
                    break Err(anyhow::anyhow!("connecting to {addr}: {e}"));
                }
                Ok(Some(event)) => other.push(event),
                Ok(None) => {
                    break Err(anyhow::anyhow!(
                        "connecting to {addr}: no CONNACK within {timeout:?}"
                    ));
                }
                Err(e) => break Err(e),
            }
        };
        // Anything else that arrived meanwhile is still the caller's to see.
        for event in other.into_iter().rev() {
            self.events.push_front(event);
        }
        if result.is_err() {
            self.mark_lost();
        }
        result
    }

    /// Hands `command` to the session and sends what it produces.
    pub fn command(&mut self, command: Command) -> anyhow::Result<()> {
        let now = self.now();
        self.session.handle_command(now, command);
        self.pump()?;
        Ok(())
    }

    /// The next event, waiting at most `timeout`; `None` when nothing happened in time.
    pub fn next_event(&mut self, timeout: Duration) -> anyhow::Result<Option<Event>> {
        let give_up = Instant::now() + timeout;
        loop {
            let deadline = self.pump()?;
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            if self.closed {
                bail!("the connection is closed");
            }
            let now = Instant::now();
            if now >= give_up {
                return Ok(None);
            }
            let until_timer = deadline.map_or(Duration::MAX, |d| {
                Duration::from_millis(d.saturating_since(self.now()))
            });
            let wait = until_timer.min(give_up - now).max(Duration::from_millis(1));
            self.stream.set_read_timeout(Some(wait))?;
            let mut buf = [0u8; 16 * 1024];
            match self.stream.read(&mut buf) {
                Ok(0) => self.transport_closed(),
                Ok(n) => {
                    let now = self.now();
                    self.session.handle_input(now, &buf[..n]);
                }
                // A signal (EINTR) interrupts the read like a timeout: try again after the timers.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    let now = self.now();
                    self.session.handle_timeout(now);
                }
                Err(e) => {
                    self.transport_closed();
                    return Err(e).context("reading from the broker");
                }
            }
        }
    }

    /// Whether the session is connected.
    pub fn is_connected(&self) -> bool {
        self.session.state() == State::Connected
    }

    /// The session under this client (its subscriptions, the broker's limits).
    pub fn session(&self) -> &Session {
        &self.session
    }

    fn now(&self) -> Millis {
        Millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn transport_closed(&mut self) {
        self.closed = true;
        let now = self.now();
        self.session.handle_transport_closed(now);
    }

    /// Drains the session's outputs; returns the next deadline.
    fn pump(&mut self) -> anyhow::Result<Option<Millis>> {
        loop {
            match self.session.poll_output() {
                Output::Transmit(bytes) => self
                    .stream
                    .write_all(&bytes)
                    .context("writing to the broker")?,
                Output::Event(event) => self.events.push_back(event),
                Output::Close => {
                    let _ = self.stream.shutdown(std::net::Shutdown::Both);
                    self.transport_closed();
                }
                Output::Idle { deadline } => return Ok(deadline),
            }
        }
    }
}
