//! RabbitMQ for Ontograph (lapin on tokio): the ingestion topology, a publisher that reports
//! success only once the broker has confirmed a persistent message into a queue, and the names
//! the workers consume from. This crate moves bytes and headers; it knows nothing of GraphQL or
//! the ontology.
//!
//! Topology (declared idempotently by [`Bus::declare`]):
//!
//! ```text
//! publish ─► ontograph.events (topic, key <source>.<event type>)
//!              └─#─► ontograph.partitions (headers) ─ og-partition = k ─► ontograph.ingest.k
//!                                                        (quorum queue, single active consumer)
//! workers ─► ontograph.dead (fanout) ─► ontograph.ingest.dead (quorum queue)
//! workers ─► ontograph.changes (fanout, transient): what each committed batch wrote
//! ```
//!
//! Events about the same entity carry the same `og-partition` (a hash of its key, computed by the
//! receiver), so they land in the same queue, which one worker at a time consumes (single active
//! consumer): updates to one entity are never reordered, however many workers run.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeBindOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

/// Header naming an event's partition. (Not `x-…`: a headers exchange ignores binding
/// arguments that start with `x-` when matching.)
pub const PARTITION_HEADER: &str = "og-partition";

/// Exchange and queue names under a prefix (`ontograph` by default; tests use their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// Names under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Names {
            prefix: prefix.into(),
        }
    }

    /// The topic exchange events are published to (routing key `<source>.<event type>`).
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// The headers exchange that spreads events over the partition queues by `og-partition`.
    pub fn partitions_exchange(&self) -> String {
        format!("{}.partitions", self.prefix)
    }

    /// The fanout exchange of events that can never apply.
    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// The fanout exchange of commit notifications (what an ingest batch wrote), not persisted:
    /// caches and degree statistics listen with their own exclusive queues.
    pub fn changes_exchange(&self) -> String {
        format!("{}.changes", self.prefix)
    }

    /// The dead-letter queue.
    pub fn dead_queue(&self) -> String {
        format!("{}.ingest.dead", self.prefix)
    }

    /// The queue of partition `k`.
    pub fn partition_queue(&self, k: u32) -> String {
        format!("{}.ingest.{k}", self.prefix)
    }
}

impl Default for Names {
    fn default() -> Self {
        Names::new("ontograph")
    }
}

/// The partition of a key: FNV-1a, stable across processes and versions.
pub fn partition_of(key: &str, partitions: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(partitions.max(1))) as u32
}

/// What went wrong talking to RabbitMQ.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached, or the connection broke.
    #[error("RabbitMQ is unavailable: {0}")]
    Unavailable(String),
    /// The broker did not confirm in time (flow control, a memory or disk alarm).
    #[error("RabbitMQ did not confirm the message within {0:?} (back-pressure)")]
    Timeout(Duration),
    /// The broker refused the message (nack) or could not route it to any queue.
    #[error("RabbitMQ did not store the message: {0}")]
    Rejected(String),
    /// The topology could not be declared (e.g. a queue exists with other arguments).
    #[error("RabbitMQ topology: {0}")]
    Topology(String),
}

impl From<lapin::Error> for BusError {
    fn from(e: lapin::Error) -> Self {
        BusError::Unavailable(e.to_string())
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: String,
    /// Number of partition queues (fixed for a deployment: changing it moves keys).
    pub partitions: u32,
    /// How long a publish waits for the broker's confirm.
    pub confirm_timeout: Duration,
    /// Exchange and queue names.
    pub names: Names,
    /// Publishing connections, used in turn (each has its own I/O loop). Default 1: on the
    /// 2-core development machine a second one measured no faster (see bench/results/ingest.md).
    pub publishers: usize,
}

impl BusConfig {
    /// Defaults: 4 partitions, 5 s confirm timeout.
    pub fn new(url: impl Into<String>) -> Self {
        BusConfig {
            url: url.into(),
            partitions: 4,
            confirm_timeout: Duration::from_secs(5),
            names: Names::default(),
            publishers: 1,
        }
    }
}

/// Which exchange a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The events exchange (routing key `<source>.<event type>`, spread over the partitions).
    Events,
    /// The dead-letter exchange.
    Dead,
    /// The commit notifications exchange (not persistent; no queue needs to exist).
    Changes,
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Where it goes.
    pub target: Target,
    /// The routing key (`<source>.<event type>`).
    pub routing_key: &'a str,
    /// The message id (the event's idempotency key).
    pub message_id: &'a str,
    /// Which partition queue receives it.
    pub partition: u32,
    /// Further string headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// A publishing connection and its confirm-mode channel, opened on demand.
type Slot = Mutex<Option<(Connection, Channel)>>;

/// A RabbitMQ connection with a confirm-mode publishing channel, reopened on demand after a
/// failure. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    config: Arc<BusConfig>,
    slots: Arc<Vec<Slot>>,
    next: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("url", &redact(&self.config.url))
            .field("partitions", &self.config.partitions)
            .finish()
    }
}

/// Closes a connection and waits (at most 5 s) until its I/O thread has ended, so that a process
/// about to exit does not leave that thread doing I/O on a runtime that is shutting down.
pub async fn close_and_wait(connection: Connection, reason: &str) {
    let _ = connection.close(200, reason).await;
    let (done, ended) = tokio::sync::oneshot::channel();
    // `run` blocks until the I/O thread ends; a plain thread, so a stuck one cannot hold the
    // runtime's shutdown.
    std::thread::spawn(move || {
        let _ = connection.run();
        let _ = done.send(());
    });
    let _ = tokio::time::timeout(Duration::from_secs(5), ended).await;
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Bus {
    /// A bus for these settings; nothing is connected until first use.
    pub fn new(config: BusConfig) -> Self {
        let publishers = config.publishers.max(1);
        Bus {
            config: Arc::new(config),
            slots: Arc::new((0..publishers).map(|_| Mutex::new(None)).collect()),
            next: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }

    /// The settings.
    pub fn config(&self) -> &BusConfig {
        &self.config
    }

    /// Opens a new connection (for consumers, which want their own).
    pub async fn connect(&self) -> Result<Connection, BusError> {
        let properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio)
            .with_connection_name("ontograph".into());
        let connect = Connection::connect(&self.config.url, properties);
        match tokio::time::timeout(self.config.confirm_timeout, connect).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(BusError::Unavailable(format!(
                "cannot connect to {}: {e}",
                redact(&self.config.url)
            ))),
            Err(_) => Err(BusError::Unavailable(format!(
                "connecting to {} took longer than {:?}",
                redact(&self.config.url),
                self.config.confirm_timeout
            ))),
        }
    }

    /// Declares the exchanges, the partition queues and the dead-letter queue (idempotent).
    pub async fn declare(&self) -> Result<(), BusError> {
        let connection = self.connect().await?;
        let channel = connection.create_channel().await?;
        let result = declare_on(&channel, &self.config.names, self.config.partitions).await;
        let _ = connection.close(200, "declared").await;
        result
    }

    /// Publishes a persistent message and waits until the broker confirms it was stored in a
    /// queue. Any other outcome is an error: the caller must not report the event accepted.
    pub async fn publish(&self, message: &Message<'_>) -> Result<(), BusError> {
        let slot = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.slots.len();
        let outcome = tokio::time::timeout(
            self.config.confirm_timeout,
            self.publish_once(slot, message),
        )
        .await
        .unwrap_or(Err(BusError::Timeout(self.config.confirm_timeout)));
        if let Err(error) = &outcome {
            metrics::counter!("ontograph_bus_publish_errors_total").increment(1);
            if !matches!(error, BusError::Rejected(_)) {
                // Start over with a fresh connection next time.
                self.reset(slot).await;
            }
        } else {
            metrics::counter!("ontograph_bus_published_total").increment(1);
        }
        outcome
    }

    async fn publish_once(&self, slot: usize, message: &Message<'_>) -> Result<(), BusError> {
        let channel = self.channel(slot).await?;
        let mut headers = FieldTable::default();
        headers.insert(
            ShortString::from(PARTITION_HEADER),
            AMQPValue::LongString(LongString::from(message.partition.to_string())),
        );
        for (k, v) in message.headers {
            headers.insert(
                ShortString::from(*k),
                AMQPValue::LongString(LongString::from(*v)),
            );
        }
        let names = &self.config.names;
        let (exchange, persistent, mandatory) = match message.target {
            Target::Events => (names.events_exchange(), true, true),
            Target::Dead => (names.dead_exchange(), true, true),
            Target::Changes => (names.changes_exchange(), false, false),
        };
        let properties = BasicProperties::default()
            .with_delivery_mode(if persistent { 2 } else { 1 })
            .with_content_type("application/json".into())
            .with_message_id(message.message_id.into())
            .with_headers(headers);
        let confirm = channel
            .basic_publish(
                &exchange,
                message.routing_key,
                BasicPublishOptions {
                    mandatory,
                    immediate: false,
                },
                message.body,
                properties,
            )
            .await?
            .await?;
        match confirm {
            lapin::publisher_confirm::Confirmation::Ack(None) => Ok(()),
            lapin::publisher_confirm::Confirmation::Ack(Some(returned)) => {
                Err(BusError::Rejected(format!(
                    "no queue takes routing key {} (partition {}): {}",
                    message.routing_key, message.partition, returned.reply_text
                )))
            }
            lapin::publisher_confirm::Confirmation::Nack(_) => Err(BusError::Rejected(
                "the broker nacked the message".to_owned(),
            )),
            lapin::publisher_confirm::Confirmation::NotRequested => Err(BusError::Rejected(
                "the channel is not in confirm mode".to_owned(),
            )),
        }
    }

    /// The publishing channel, opened (with confirms and the topology) when there is none.
    async fn channel(&self, slot: usize) -> Result<Channel, BusError> {
        let mut state = self.slots[slot % self.slots.len()].lock().await;
        if let Some((connection, channel)) = state.as_ref() {
            if connection.status().connected() && channel.status().connected() {
                return Ok(channel.clone());
            }
        }
        *state = None;
        let connection = self.connect().await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_on(&channel, &self.config.names, self.config.partitions).await?;
        tracing::info!(url = %redact(&self.config.url), "connected to RabbitMQ");
        *state = Some((connection, channel.clone()));
        Ok(channel)
    }

    async fn reset(&self, slot: usize) {
        let taken = self.slots[slot % self.slots.len()].lock().await.take();
        if let Some((connection, _)) = taken {
            let _ = connection.close(200, "reset after an error").await;
        }
    }

    /// Closes the publishing connections, waiting until their I/O threads have ended (at
    /// shutdown: a process that exits meanwhile would have them fail on a stopped runtime).
    pub async fn close(&self) {
        for slot in self.slots.iter() {
            let taken = slot.lock().await.take();
            if let Some((connection, _)) = taken {
                close_and_wait(connection, "shutting down").await;
            }
        }
    }

    async fn reset_all(&self) {
        for slot in 0..self.slots.len() {
            self.reset(slot).await;
        }
    }

    /// Messages waiting in each partition queue and in the dead-letter queue.
    pub async fn depths(&self) -> Result<Vec<(String, u32)>, BusError> {
        let channel = self.channel(0).await?;
        let mut queues: Vec<String> = (0..self.config.partitions.max(1))
            .map(|k| self.config.names.partition_queue(k))
            .collect();
        queues.push(self.config.names.dead_queue());
        let mut out = Vec::new();
        for queue in queues {
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            let q = channel
                .queue_declare(&queue, passive, FieldTable::default())
                .await?;
            out.push((queue, q.message_count()));
        }
        Ok(out)
    }

    /// Looks at up to `limit` dead letters without removing them (they are taken and put back,
    /// unacknowledged, when the channel closes).
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        let connection = self.connect().await?;
        let channel = connection.create_channel().await?;
        let mut out = Vec::new();
        while out.len() < limit {
            let got = channel
                .basic_get(
                    &self.config.names.dead_queue(),
                    lapin::options::BasicGetOptions { no_ack: false },
                )
                .await?;
            let Some(message) = got else { break };
            out.push(DeadLetter::from_delivery(&message.delivery));
        }
        // Closing without acknowledging puts every one of them back.
        let _ = channel.close(200, "peeked").await;
        let _ = connection.close(200, "peeked").await;
        Ok(out)
    }

    /// Takes the dead letters `select` picks (up to `limit` looked at), republishes each with
    /// `republish` (which must publish it back for processing and confirm), and removes it from
    /// the dead-letter queue only after that succeeded. Returns the ids replayed.
    pub async fn replay_dead_letters<F, Fut>(
        &self,
        limit: usize,
        select: impl Fn(&DeadLetter) -> bool,
        republish: F,
    ) -> Result<Vec<String>, BusError>
    where
        F: Fn(DeadLetter) -> Fut,
        Fut: std::future::Future<Output = Result<(), BusError>>,
    {
        let connection = self.connect().await?;
        let channel = connection.create_channel().await?;
        let mut replayed = Vec::new();
        let mut looked = 0;
        while looked < limit {
            let got = channel
                .basic_get(
                    &self.config.names.dead_queue(),
                    lapin::options::BasicGetOptions { no_ack: false },
                )
                .await?;
            let Some(message) = got else { break };
            looked += 1;
            let letter = DeadLetter::from_delivery(&message.delivery);
            if !select(&letter) {
                continue;
            }
            let id = letter.id.clone();
            republish(letter).await?;
            message
                .delivery
                .ack(lapin::options::BasicAckOptions::default())
                .await?;
            replayed.push(id);
        }
        let _ = channel.close(200, "replayed").await;
        let _ = connection.close(200, "replayed").await;
        Ok(replayed)
    }

    /// Deletes the exchanges and queues under this bus's prefix (tests clean up with it).
    pub async fn delete_topology(&self) -> Result<(), BusError> {
        self.reset_all().await;
        let connection = self.connect().await?;
        let channel = connection.create_channel().await?;
        let names = &self.config.names;
        for k in 0..self.config.partitions.max(1) {
            channel
                .queue_delete(&names.partition_queue(k), Default::default())
                .await?;
        }
        channel
            .queue_delete(&names.dead_queue(), Default::default())
            .await?;
        for exchange in [
            names.events_exchange(),
            names.partitions_exchange(),
            names.dead_exchange(),
            names.changes_exchange(),
        ] {
            channel
                .exchange_delete(&exchange, Default::default())
                .await?;
        }
        let _ = connection.close(200, "deleted").await;
        Ok(())
    }

    /// Checks that the broker answers (readiness).
    pub async fn ping(&self) -> Result<(), BusError> {
        self.channel(0).await.map(|_| ())
    }
}

/// An event in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its idempotency key.
    pub id: String,
    /// Its source.
    pub source: String,
    /// Its event type.
    pub event_type: String,
    /// Why it could not be applied.
    pub reason: String,
    /// The original body.
    pub body: Vec<u8>,
}

impl DeadLetter {
    fn from_delivery(delivery: &lapin::message::Delivery) -> Self {
        let header = |name: &str| -> String {
            delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|h| match h.inner().get(name) {
                    Some(AMQPValue::LongString(s)) => Some(s.to_string()),
                    Some(AMQPValue::ShortString(s)) => Some(s.to_string()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        DeadLetter {
            id: delivery
                .properties
                .message_id()
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            source: header("x-source"),
            event_type: header("x-event-type"),
            reason: header("x-reason"),
            body: delivery.data.clone(),
        }
    }
}

async fn declare_on(channel: &Channel, names: &Names, partitions: u32) -> Result<(), BusError> {
    let (events, spread, dead) = (
        names.events_exchange(),
        names.partitions_exchange(),
        names.dead_exchange(),
    );
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    let topology = |e: lapin::Error| BusError::Topology(e.to_string());
    channel
        .exchange_declare(&events, ExchangeKind::Topic, durable, FieldTable::default())
        .await
        .map_err(topology)?;
    channel
        .exchange_declare(
            &spread,
            ExchangeKind::Headers,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(topology)?;
    channel
        .exchange_declare(&dead, ExchangeKind::Fanout, durable, FieldTable::default())
        .await
        .map_err(topology)?;
    channel
        .exchange_declare(
            &names.changes_exchange(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(topology)?;
    channel
        .exchange_bind(
            &spread,
            &events,
            "#",
            ExchangeBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(topology)?;
    let quorum = |single_active: bool| {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        if single_active {
            args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        }
        args
    };
    let durable_queue = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    for k in 0..partitions.max(1) {
        let queue = names.partition_queue(k);
        channel
            .queue_declare(&queue, durable_queue, quorum(true))
            .await
            .map_err(topology)?;
        let mut matcher = FieldTable::default();
        matcher.insert("x-match".into(), AMQPValue::LongString("all".into()));
        matcher.insert(
            PARTITION_HEADER.into(),
            AMQPValue::LongString(k.to_string().into()),
        );
        channel
            .queue_bind(&queue, &spread, "", QueueBindOptions::default(), matcher)
            .await
            .map_err(topology)?;
    }
    channel
        .queue_declare(&names.dead_queue(), durable_queue, quorum(false))
        .await
        .map_err(topology)?;
    channel
        .queue_bind(
            &names.dead_queue(),
            &dead,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(topology)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("Issue:I_1", 4), partition_of("Issue:I_1", 4));
        let mut seen = [0u32; 4];
        for i in 0..4000 {
            seen[partition_of(&format!("key-{i}"), 4) as usize] += 1;
        }
        assert!(seen.iter().all(|n| (800..1200).contains(n)), "{seen:?}");
        assert_eq!(partition_of("x", 0), 0);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("amqp://guest:secret@host:5672/%2f"),
            "amqp://guest:***@host:5672/%2f"
        );
        assert_eq!(redact("amqp://host:5672"), "amqp://host:5672");
    }
}
