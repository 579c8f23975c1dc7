//! One HTTP/1.1 POST over a fresh loopback connection with the headers a provider's
//! notification sender uses (the sandbox has no HTTP client), shared by the PIX simulators.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stripe::Answer;
use crate::SandboxError;

fn bad(msg: String) -> SandboxError {
    SandboxError::Io(std::io::Error::other(msg))
}

/// POSTs `body` (JSON) to `url` (`http://host:port/path?query`) with `headers`.
pub(crate) async fn post(url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<Answer, SandboxError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad(format!("only http:// targets: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority).await?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
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
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("").to_owned();
    Ok(Answer { status, body })
}

/// A BR Code like a PSP's (static layout, txid in 62/05), with its CRC16-CCITT-FALSE —
/// written here from the spec, sharing nothing with painel's generator.
pub(crate) fn psp_brcode(key: &str, amount_minor: i64, name: &str, city: &str, txid: &str) -> String {
    let f = |id: &str, v: &str| format!("{id}{:02}{v}", v.len());
    let mut s = String::from("000201");
    s += &f("26", &(f("00", "br.gov.bcb.pix") + &f("01", key)));
    s += "52040000";
    s += "5303986";
    s += &f("54", &format!("{}.{:02}", amount_minor / 100, amount_minor % 100));
    s += "5802BR";
    s += &f("59", name);
    s += &f("60", city);
    s += &f("62", &f("05", txid));
    s += "6304";
    let mut crc: u16 = 0xFFFF;
    for b in s.bytes() {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    s + &format!("{crc:04X}")
}
