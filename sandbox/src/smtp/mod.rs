//! An SMTP sink on loopback (RFC 5321, plain — no STARTTLS offered): accepts what a client
//! such as lettre sends and keeps every message, for the demo and the tests to read
//! (docs/adr/0027). Faults: refuse the next N messages with a 4xx (the client should retry),
//! or drop the connection at DATA (the outcome is unknown to the client).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::SandboxError;

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub seq: u64,
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl Message {
    /// The value of header `name` (case-insensitive; folded lines joined).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut out: Option<String> = None;
        let mut on = false;
        for line in head.split("\r\n") {
            if on && line.starts_with([' ', '\t']) {
                if let Some(v) = out.as_mut() {
                    v.push_str(line.trim_start());
                }
                continue;
            }
            on = false;
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) && out.is_none() {
                    out = Some(v.trim().to_owned());
                    on = true;
                }
            }
        }
        out
    }

    /// The Subject header with RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`)
    /// decoded, as a mail reader shows it.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|s| decode_words(&s))
    }

    /// The body after the header block.
    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }
}

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn qp(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(h.unwrap_or(b'='));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Decodes every `=?charset?enc?text?=` word (UTF-8 assumed); whitespace between two
/// encoded words is dropped, as RFC 2047 says.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    let mut last_encoded = false;
    while let Some(i) = rest.find("=?") {
        let before = &rest[..i];
        if !(last_encoded && before.trim().is_empty()) {
            out.push_str(before);
        }
        let word = &rest[i + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            out.push_str(&rest[i..]);
            return out;
        };
        let text = &parts[2][..end];
        let bytes = if parts[1].eq_ignore_ascii_case("b") {
            b64(text)
        } else {
            qp(text)
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        let used = 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &rest[i + used..];
        last_encoded = true;
    }
    out.push_str(rest);
    out
}

/// How the sink misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SmtpFault {
    /// `451` at DATA for the next `count` messages.
    TempFail { count: u32 },
    /// `554` at DATA for the next `count` messages.
    Reject { count: u32 },
    /// The connection closed after the data of the next `count` messages (kept: the client
    /// cannot know it was delivered).
    DropAfterData { count: u32 },
}

#[derive(Default)]
struct Store {
    messages: Vec<Message>,
    fault: Option<SmtpFault>,
    refused: u64,
}

struct Inner {
    store: Mutex<Store>,
    seq: AtomicU64,
}

/// A running sink; stops when dropped.
pub struct SmtpSink {
    addr: std::net::SocketAddr,
    inner: Arc<Inner>,
    _stop: watch::Sender<bool>,
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Store> {
    inner.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub async fn start() -> Result<SmtpSink, SandboxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            store: Mutex::new(Store::default()),
            seq: AtomicU64::new(1),
        });
        let (stop, mut stopped) = watch::channel(false);
        let i = inner.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    r = listener.accept() => {
                        if let Ok((stream, _)) = r {
                            let i = i.clone();
                            tokio::spawn(async move {
                                let _ = session(stream, &i).await;
                            });
                        }
                    }
                }
            }
        });
        Ok(SmtpSink {
            addr,
            inner,
            _stop: stop,
        })
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message kept, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.inner).messages.clone()
    }

    /// Messages refused by a fault so far.
    pub fn refused(&self) -> u64 {
        lock(&self.inner).refused
    }

    pub fn set_fault(&self, fault: Option<SmtpFault>) {
        lock(&self.inner).fault = fault;
    }

    pub fn clear(&self) {
        lock(&self.inner).messages.clear();
    }
}

/// What the fault says about the message just received.
enum Verdict {
    Keep,
    Refuse(&'static str),
    KeepAndDrop,
}

fn judge(inner: &Inner) -> Verdict {
    let mut s = lock(inner);
    let (verdict, left) = match s.fault {
        Some(SmtpFault::TempFail { count }) if count > 0 => (
            Verdict::Refuse("451 4.3.0 Temporary failure, try again later\r\n"),
            Some(count - 1),
        ),
        Some(SmtpFault::Reject { count }) if count > 0 => {
            (Verdict::Refuse("554 5.7.1 Message rejected\r\n"), Some(count - 1))
        }
        Some(SmtpFault::DropAfterData { count }) if count > 0 => (Verdict::KeepAndDrop, Some(count - 1)),
        _ => (Verdict::Keep, None),
    };
    if let Some(left) = left {
        s.fault = match s.fault {
            Some(SmtpFault::TempFail { .. }) => Some(SmtpFault::TempFail { count: left }),
            Some(SmtpFault::Reject { .. }) => Some(SmtpFault::Reject { count: left }),
            Some(SmtpFault::DropAfterData { .. }) => Some(SmtpFault::DropAfterData { count: left }),
            None => None,
        };
    }
    if matches!(verdict, Verdict::Refuse(_)) {
        s.refused += 1;
    }
    verdict
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn path_arg(line: &str) -> String {
    let rest = line.split_once(':').map_or("", |(_, r)| r).trim();
    let rest = rest.split_whitespace().next().unwrap_or("");
    rest.trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn session(stream: TcpStream, inner: &Inner) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sandbox.smtp ESMTP painel sandbox sink\r\n").await?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                w.write_all(b"250-sandbox.smtp\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n")
                    .await?
            }
            "HELO" => w.write_all(b"250 sandbox.smtp\r\n").await?,
            "MAIL" => {
                from = path_arg(&cmd);
                to.clear();
                w.write_all(b"250 2.1.0 OK\r\n").await?;
            }
            "RCPT" => {
                to.push(path_arg(&cmd));
                w.write_all(b"250 2.1.5 OK\r\n").await?;
            }
            "DATA" => {
                if to.is_empty() {
                    w.write_all(b"503 5.5.1 RCPT first\r\n").await?;
                    continue;
                }
                w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let l = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(l.trim_end_matches(['\r', '\n']));
                    data.push_str("\r\n");
                }
                let verdict = judge(inner);
                if let Verdict::Refuse(answer) = verdict {
                    w.write_all(answer.as_bytes()).await?;
                    continue;
                }
                let seq = inner.seq.fetch_add(1, Ordering::Relaxed);
                lock(inner).messages.push(Message {
                    seq,
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                if matches!(verdict, Verdict::KeepAndDrop) {
                    return Ok(());
                }
                w.write_all(format!("250 2.0.0 OK queued as sandbox-{seq}\r\n").as_bytes())
                    .await?;
            }
            "RSET" => {
                from.clear();
                to.clear();
                w.write_all(b"250 2.0.0 OK\r\n").await?;
            }
            "NOOP" => w.write_all(b"250 2.0.0 OK\r\n").await?,
            "QUIT" => {
                w.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => w.write_all(b"502 5.5.2 Command not recognized\r\n").await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_words;

    #[test]
    fn decodes_encoded_words() {
        assert_eq!(
            decode_words("=?utf-8?b?RmF0dXJhIDAwMDAwMiBkaXNwb27DrXZlbA==?="),
            "Fatura 000002 disponível"
        );
        assert_eq!(decode_words("=?utf-8?q?Ol=C3=A1_Ana?= e mais"), "Olá Ana e mais");
        assert_eq!(decode_words("plain"), "plain");
    }
}
