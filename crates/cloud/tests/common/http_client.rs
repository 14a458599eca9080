//! One HTTP/1.1 request to thingsim-cloud over a plain socket, for the integration tests and
//! the load example (which includes this file by path: an example cannot use test helpers).

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Sends `method path` with a JSON `body` (empty when `None`) and an `Authorization` header
/// value when given, reads to the end; returns the status (0 when unreadable) and the body.
pub(crate) fn request(
    host: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    authorization: Option<&str>,
) -> io::Result<(u16, String)> {
    let body = body.unwrap_or_default();
    let mut s = TcpStream::connect(host)?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    Ok((status, body.unwrap_or_default()))
}
