//! Signals between processes over Redis pub/sub: job wake-ups and lifecycle events
//! (docs/adr/0008-redis-signals.md). Best effort by design: the database stays the source of
//! truth, so a message lost while Redis is down costs latency (workers poll), never a job.
//!
//! Publishing never blocks the caller: messages go through a bounded channel to one
//! publisher task that pipelines them; when the channel is full or Redis is down they are
//! dropped and counted. Subscribing uses its own RESP3 connection with automatic
//! resubscription (STACK.md: the plain pub/sub connection did not come back after a restart).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, PushKind};
use tokio::sync::mpsc;

use crate::error::ServiceError;

/// Queue names that have new work, one per message.
pub const WAKE_CHANNEL: &str = "painel:jobs:wake";
/// Job lifecycle events: a JSON array of [`crate::jobs::JobEvent`] per message.
pub const EVENTS_CHANNEL: &str = "painel:jobs:events";

/// Messages waiting for the publisher; beyond this they are dropped (and counted).
const OUTBOX: usize = 8192;
/// Most messages sent in one pipeline.
const PIPELINE: usize = 256;
const TIMEOUT: Duration = Duration::from_millis(500);

/// A handle on the Redis signal bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// The same server with RESP3, which push-based subscriptions need.
    push_client: Client,
    outbox: mpsc::Sender<(String, String)>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("Bus")
            .field("dropped", &self.inner.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusMessage {
    /// Subscribed (again): messages flow from now on.
    Up,
    /// The connection dropped; messages published until the next `Up` are missed.
    Down,
    Message {
        channel: String,
        payload: String,
    },
}

fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl Bus {
    /// Parses the URL and starts the publisher task (inside a tokio runtime). Does not
    /// connect: a Redis that is down now is tried again with every batch.
    pub fn connect(url: &str) -> Result<Bus, ServiceError> {
        let bad = |e: redis::RedisError| ServiceError::invalid("redis_url", format!("bad Redis URL: {e}"));
        let client = Client::open(url).map_err(bad)?;
        let push_client = Client::open(with_resp3(url).as_str()).map_err(bad)?;
        let (outbox, rx) = mpsc::channel(OUTBOX);
        let inner = Arc::new(Inner {
            client: client.clone(),
            push_client,
            outbox,
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(publisher(client, rx));
        Ok(Bus { inner })
    }

    /// Queues a message for publishing; never waits.
    pub fn publish(&self, channel: &str, payload: String) {
        if self.inner.outbox.try_send((channel.to_owned(), payload)).is_err() {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Messages dropped because the outbox was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Checks that Redis answers (for health checks and `config show`).
    pub async fn ping(&self) -> Result<(), ServiceError> {
        let down = |e: String| ServiceError::Unavailable(format!("Redis: {e}"));
        let fut = self.inner.client.get_multiplexed_async_connection();
        let mut conn = tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| down("timed out".into()))?
            .map_err(|e| down(e.to_string()))?;
        let pong: String = tokio::time::timeout(TIMEOUT, redis::cmd("PING").query_async(&mut conn))
            .await
            .map_err(|_| down("timed out".into()))?
            .map_err(|e| down(e.to_string()))?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(down(format!("unexpected answer {pong}")))
        }
    }

    /// Subscribes to `channels` on a connection of its own, reconnecting and resubscribing
    /// for as long as the receiver lives. Yields `Up`/`Down` as the connection comes and goes.
    pub fn subscribe(&self, channels: &[&str]) -> mpsc::Receiver<BusMessage> {
        let (tx, rx) = mpsc::channel(4096);
        let channels: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
        tokio::spawn(subscriber(self.inner.push_client.clone(), channels, tx));
        rx
    }
}

async fn publisher(client: Client, mut rx: mpsc::Receiver<(String, String)>) {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(TIMEOUT))
        .set_connection_timeout(Some(TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    let mut manager: Option<ConnectionManager> = None;
    let mut healthy = true;
    let mut batch = Vec::with_capacity(PIPELINE);
    while rx.recv_many(&mut batch, PIPELINE).await > 0 {
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        // After a dropped connection the first command fails (STACK.md): try once more.
        let mut sent = false;
        for _ in 0..2 {
            if manager.is_none() {
                manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone()).ok();
            }
            let Some(m) = manager.as_mut() else { break };
            match tokio::time::timeout(TIMEOUT * 2, pipe.query_async::<()>(m)).await {
                Ok(Ok(())) => {
                    sent = true;
                    break;
                }
                Ok(Err(e)) => {
                    if healthy {
                        tracing::warn!(error = %e, "Redis publish failed; workers fall back to polling");
                    }
                }
                Err(_) => manager = None,
            }
        }
        if sent && !healthy {
            tracing::info!("Redis publish works again");
        }
        healthy = sent;
    }
}

async fn subscriber(client: Client, channels: Vec<String>, out: mpsc::Sender<BusMessage>) {
    let (push_tx, mut push_rx) = mpsc::unbounded_channel();
    let config = ConnectionManagerConfig::new()
        .set_push_sender(push_tx)
        .set_automatic_resubscription()
        .set_response_timeout(Some(TIMEOUT))
        .set_connection_timeout(Some(TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    let mut manager = match ConnectionManager::new_lazy_with_config(client, config) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot set up the Redis subscription");
            return;
        }
    };
    // First subscription: retried until Redis answers. Later ones are automatic.
    let mut delay = Duration::from_millis(50);
    loop {
        if out.is_closed() {
            return;
        }
        match manager.subscribe(&channels).await {
            Ok(()) => break,
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
    if out.send(BusMessage::Up).await.is_err() {
        return;
    }
    let mut up = true;
    let mut probe = tokio::time::interval(Duration::from_millis(250));
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = out.closed() => return,
            push = push_rx.recv() => {
                let Some(push) = push else { return };
                let msg = match push.kind {
                    PushKind::Disconnection => {
                        up = false;
                        Some(BusMessage::Down)
                    }
                    PushKind::Subscribe if !up => {
                        up = true;
                        Some(BusMessage::Up)
                    }
                    PushKind::Message => message(push.data),
                    _ => None,
                };
                if let Some(msg) = msg {
                    if out.send(msg).await.is_err() {
                        return;
                    }
                }
            }
            // While down, a command makes the manager reconnect (and resubscribe).
            _ = probe.tick(), if !up => {
                let _ = redis::cmd("PING").query_async::<()>(&mut manager).await;
            }
        }
    }
}

fn message(data: Vec<redis::Value>) -> Option<BusMessage> {
    let mut it = data.into_iter();
    let channel = text(it.next()?)?;
    let payload = text(it.next()?)?;
    Some(BusMessage::Message { channel, payload })
}

fn text(v: redis::Value) -> Option<String> {
    match v {
        redis::Value::BulkString(b) => String::from_utf8(b).ok(),
        redis::Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp3_is_added_once() {
        assert_eq!(with_resp3("redis://h:1"), "redis://h:1?protocol=resp3");
        assert_eq!(with_resp3("redis://h:1/?db=2"), "redis://h:1/?db=2&protocol=resp3");
        assert_eq!(with_resp3("redis://h:1?protocol=resp3"), "redis://h:1?protocol=resp3");
    }

    #[test]
    fn message_reads_channel_and_payload() {
        let m = message(vec![
            redis::Value::BulkString(b"painel:jobs:wake".to_vec()),
            redis::Value::BulkString(b"default".to_vec()),
        ]);
        assert_eq!(
            m,
            Some(BusMessage::Message {
                channel: WAKE_CHANNEL.into(),
                payload: "default".into()
            })
        );
        assert_eq!(message(vec![redis::Value::Nil]), None);
    }
}
