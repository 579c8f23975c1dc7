//! A loopback DNS server (UDP) answering NS and A queries for the domains it is told about:
//! the registrar's side of a delegation (Registro.br has no API, so whether a customer
//! pointed a domain at our nameservers is learnt only by resolving it). Unknown names get
//! NXDOMAIN. Built on hickory-proto's message codec (docs/adr/0031).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the server answers for one domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delegation {
    /// NS host names (no trailing dot).
    pub ns: Vec<String>,
    pub a: Vec<Ipv4Addr>,
}

/// The domains the server knows, shared with whoever changes them while it runs (tests, the
/// demo, the Cloudflare simulator's activation check).
#[derive(Debug, Clone, Default)]
pub struct DnsTable(Arc<RwLock<HashMap<String, Delegation>>>);

fn key(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl DnsTable {
    /// Sets the NS records of `domain` (what the registrar delegates it to).
    pub fn set_ns(&self, domain: &str, ns: &[&str]) {
        let mut t = self.0.write().unwrap_or_else(|e| e.into_inner());
        t.entry(key(domain)).or_default().ns = ns.iter().map(|n| key(n)).collect();
    }

    pub fn set_a(&self, domain: &str, a: &[Ipv4Addr]) {
        let mut t = self.0.write().unwrap_or_else(|e| e.into_inner());
        t.entry(key(domain)).or_default().a = a.to_vec();
    }

    pub fn remove(&self, domain: &str) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(&key(domain));
    }

    pub fn get(&self, domain: &str) -> Option<Delegation> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key(domain))
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A running DNS server on `127.0.0.1:<ephemeral>`; dropping it stops it.
pub struct DnsServer {
    addr: SocketAddr,
    table: DnsTable,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DnsServer {
    pub async fn start(table: DnsTable) -> std::io::Result<DnsServer> {
        let socket = UdpSocket::bind(("127.0.0.1", 0)).await?;
        let addr = socket.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(serve(socket, table.clone(), rx));
        Ok(DnsServer {
            addr,
            table,
            shutdown,
            task,
        })
    }

    /// Where to send queries (UDP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn table(&self) -> &DnsTable {
        &self.table
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}

async fn serve(socket: UdpSocket, table: DnsTable, mut shutdown: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "sandbox dns recv failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Some(reply) = answer(&table, &buf[..n]) else {
            continue;
        };
        if let Err(e) = socket.send_to(&reply, peer).await {
            tracing::debug!(error = %e, "sandbox dns send failed");
        }
    }
}

/// The reply to one query datagram (`None` for garbage, which a real server drops too).
pub(crate) fn answer(table: &DnsTable, query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    if q.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut r = Message::response(q.metadata.id, OpCode::Query);
    r.metadata.authoritative = true;
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.metadata.recursion_available = true;
    if let Some(e) = q.edns.clone() {
        r.set_edns(e);
    }
    let Some(question) = q.queries.first().cloned() else {
        r.metadata.response_code = ResponseCode::FormErr;
        return r.to_vec().ok();
    };
    r.add_query(question.clone());
    let name = question.name().clone();
    match table.get(&name.to_ascii()) {
        None => r.metadata.response_code = ResponseCode::NXDomain,
        Some(d) => match question.query_type() {
            RecordType::NS => {
                for ns in &d.ns {
                    if let Ok(host) = Name::from_ascii(format!("{ns}.")) {
                        r.add_answer(Record::from_rdata(name.clone(), 300, RData::NS(NS(host))));
                    }
                }
            }
            RecordType::A => {
                for ip in &d.a {
                    r.add_answer(Record::from_rdata(name.clone(), 300, RData::A(A(*ip))));
                }
            }
            _ => {}
        },
    }
    r.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    fn ask(table: &DnsTable, name: &str, t: RecordType) -> Message {
        let mut q = Message::query();
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        Message::from_vec(&answer(table, &q.to_vec().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn ns_and_a_answers_and_nxdomain() {
        let t = DnsTable::default();
        t.set_ns("Loja.com.BR", &["ada.ns.cloudflare.com", "bob.ns.cloudflare.com."]);
        t.set_a("loja.com.br", &[Ipv4Addr::new(203, 0, 113, 10)]);
        let m = ask(&t, "loja.com.br.", RecordType::NS);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        let ns: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
        assert_eq!(ns, ["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."]);
        let a = ask(&t, "loja.com.br.", RecordType::A);
        assert_eq!(a.answers[0].data.to_string(), "203.0.113.10");
        assert_eq!(
            ask(&t, "nope.com.br.", RecordType::NS).metadata.response_code,
            ResponseCode::NXDomain
        );
    }
}
