//! One HTTP/1.1 POST over a fresh loopback connection (the sandbox has no HTTP client): what
//! Stripe's webhook sender does, with the headers it sends.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::SandboxError;

/// The status and body a target answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

fn bad(msg: String) -> SandboxError {
    SandboxError::Io(std::io::Error::other(msg))
}

/// POSTs `body` to `url` (`http://host:port/path`) with `Stripe-Signature: signature`.
pub async fn post(url: &str, signature: Option<&str>, body: &[u8]) -> Result<Answer, SandboxError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad(format!("only http:// targets: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority).await?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(s) = signature {
        req.push_str(&format!("Stripe-Signature: {s}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no HTTP status line in the answer".into()))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // A chunked answer: keep the payload lines, drop the chunk sizes.
    let headers = text.split_once("\r\n\r\n").map(|(h, _)| h).unwrap_or("");
    let body = if headers.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.split("\r\n")
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, l)| l)
            .collect::<String>()
    } else {
        body.to_owned()
    };
    Ok(Answer { status, body })
}
