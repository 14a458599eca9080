//! The HTTP front: tokio on a thread of its own, hyper's HTTP/1 connections, axum routing every
//! request into one handler, tower-http bounding body and time. It decides nothing about
//! Fleets: it checks what any server must (the Host, the size, the time, JSON for changes, the
//! browser origin), then hands the request to the one owner of the cloud state over a channel
//! and waits for its answer. A client that stalls holds only its own connection.
//!
//! ```text
//!  socket ─▶ hyper (header timeout) ─▶ body limit ─▶ request timeout ─▶ handler
//!            ─▶ Host, 415, OPTIONS ─▶ channel ─▶ owner: api::handle + store ─▶ oneshot ─▶ answer
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::{info, warn};

use crate::api::{Answer, MAX_BODY};

/// What one client may take of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From connecting (or the last answer) to the end of the request's headers.
    pub header_timeout: Duration,
    /// From the headers to the answer, body included.
    pub request_timeout: Duration,
    /// Connections open at once; more are closed at once.
    pub max_connections: usize,
    /// Request body bytes; a larger `Content-Length` is refused before reading.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_connections: 128,
            max_body: MAX_BODY,
        }
    }
}

/// A request for the owner of the cloud state: checked, body read.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`…
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A request and where its answer goes.
#[derive(Debug)]
pub struct Job {
    /// The request.
    pub request: Request,
    /// Its answer.
    pub reply: oneshot::Sender<Answer>,
}

/// The running front: requests arrive on `jobs`.
#[derive(Debug)]
pub struct Front {
    /// Requests for the owner, in arrival order.
    pub jobs: Receiver<Job>,
    /// Where it listens.
    pub addr: SocketAddr,
}

struct Shared {
    jobs: Sender<Job>,
    /// `Host` values that name this server: loopback names with the bound port.
    hosts: Vec<String>,
    cors_origins: Vec<String>,
    max_body: usize,
}

/// How long the owner may take to answer before the client hears 503.
const OWNER_TIMEOUT: Duration = Duration::from_secs(5);

/// The `Host` values that name a server on `addr` (loopback only): DNS rebinding sends
/// another name, which is refused.
pub fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// Binds `addr` (now, so a busy port is an error here) and serves it on a thread of its own.
pub fn start(addr: SocketAddr, cors_origins: Vec<String>, limits: Limits) -> anyhow::Result<Front> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("serving HTTP on {addr}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (tx, rx) = channel();
    let shared = Arc::new(Shared {
        jobs: tx,
        hosts: allowed_hosts(addr),
        cors_origins,
        max_body: limits.max_body,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || runtime.block_on(serve(listener, shared, limits)))
        .context("starting the HTTP thread")?;
    Ok(Front { jobs: rx, addr })
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, limits: Limits) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "http listener");
            return;
        }
    };
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(shared)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(limits.max_body));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, say: wait a little rather than spin.
                warn!(error = %e, "http accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            warn!(%peer, max = limits.max_connections, "http connection refused: too many open");
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            // A client that stops halfway loses its connection, nobody else's.
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                info!(%peer, error = %e, "http connection ended");
            }
        });
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> (StatusCode, Value) {
    (status, json!({ "error": message.into() }))
}

async fn handle(State(shared): State<Arc<Shared>>, request: HttpRequest) -> Response {
    let (parts, body) = request.into_parts();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let origin =
        header(header::ORIGIN).filter(|o| shared.cors_origins.iter().any(|allowed| allowed == o));
    let method = parts.method.as_str().to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let (status, answer) = answer(&shared, &parts.method, &parts.headers, path.clone(), body).await;
    // Never log bodies or the Authorization header: they carry secrets.
    info!(%method, path = path.split('?').next().unwrap_or_default(), status = status.as_u16(), "http");
    let mut response = if answer.is_null() {
        status.into_response()
    } else {
        (status, answer.to_string()).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

async fn answer(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    path: String,
    body: Body,
) -> (StatusCode, Value) {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 sends that name.
    let host = text(header::HOST).unwrap_or_default();
    if !shared.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host {host:?} is not this server; use {}",
                shared.hosts.join(" or ")
            ),
        );
    }
    if method == Method::OPTIONS {
        return (StatusCode::NO_CONTENT, Value::Null);
    }
    // Changes must say they are JSON. A browser sends that header cross-origin only after a
    // CORS preflight, which fails for origins not allowed, so another site open in the same
    // browser cannot forge a change with a plain form or `text/plain` fetch (CSRF).
    let json = text(header::CONTENT_TYPE).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if matches!(*method, Method::POST | Method::PUT | Method::DELETE) && !json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send changes with Content-Type: application/json",
        );
    }
    let body = match axum::body::to_bytes(body, shared.max_body).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("at most {} bytes of body are accepted", shared.max_body),
            );
        }
    };
    let (reply, answered) = oneshot::channel();
    let job = Job {
        request: Request {
            method: method.as_str().to_owned(),
            path,
            authorization: text(header::AUTHORIZATION).map(str::to_owned),
            body,
        },
        reply,
    };
    if shared.jobs.send(job).is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the cloud is stopping");
    }
    match tokio::time::timeout(OWNER_TIMEOUT, answered).await {
        Ok(Ok((status, answer))) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            answer,
        ),
        Ok(Err(_)) => error(StatusCode::SERVICE_UNAVAILABLE, "the cloud is stopping"),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the cloud is busy; try again",
        ),
    }
}
