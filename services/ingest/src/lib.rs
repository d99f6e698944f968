//! The ingest worker: consume → map → validate → batch → write → ack.
//!
//! A worker consumes every partition queue (`ontograph.ingest.<k>`) with manual acks and a
//! prefetch. Quorum queues with a single active consumer give each partition to one worker at a
//! time, so events about one entity are applied in the order they were accepted.
//!
//! Deliveries are collected into a micro-batch, flushed when it reaches `batch_size` or
//! `flush_interval` after its first event. Each event is mapped by its source's rules; the ops of
//! all good events become ONE statement (`ontology::mapping::plan_batch`) run in one transaction
//! on the leader. Only after the commit are the deliveries acknowledged — a crash before that
//! redelivers them, and the MERGE-based writes make applying an event twice harmless.
//!
//! - Transient failures (leader unavailable, timeout, deadlock) retry the whole batch with
//!   exponential back-off; nothing is acknowledged meanwhile.
//! - An event that cannot be mapped goes to the dead-letter queue with the reason. A batch that
//!   Neo4j rejects for good is applied event by event so only the offending events go there.
//! - After each commit, what the batch wrote (labels, relationship types, node keys) is published
//!   on the changes exchange for cache invalidation and degree statistics.
//! - On shutdown the current batch is finished (or left unacknowledged) and consuming stops.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use ontology::mapping::{plan_batch, property_types, Mapping, Op};
use ontology::served::ServedOntology;
use serde_json::{json, Value};

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Largest batch (events).
    pub batch_size: usize,
    /// Longest wait after a batch's first event before it is written.
    pub flush_interval: Duration,
    /// Unacknowledged deliveries the broker may send ahead (per worker).
    pub prefetch: u16,
    /// First retry delay after a transient failure (doubles up to `retry_max`).
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Timeout of one batch statement.
    pub statement_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            batch_size: 500,
            flush_interval: Duration::from_millis(50),
            prefetch: 2000,
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(60),
        }
    }
}

/// What a worker did (returned when it stops).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events acknowledged after their batch committed.
    pub applied: u64,
    /// Events of types the rules do not map (acknowledged, nothing written).
    pub ignored: u64,
    /// Events sent to the dead-letter queue.
    pub dead_lettered: u64,
    /// Batches committed.
    pub batches: u64,
    /// Transient failures retried.
    pub retries: u64,
}

/// Why a worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The broker failed in a way that needs a new connection.
    #[error(transparent)]
    Bus(#[from] bus::BusError),
    /// A lapin error.
    #[error("RabbitMQ: {0}")]
    Amqp(#[from] lapin::Error),
}

/// An ingest worker.
pub struct Worker {
    /// The ontology with the database's keys (re-read while running by whoever built it).
    ontology: Arc<ServedOntology>,
    sources: HashMap<String, Mapping>,
    bus: bus::Bus,
    neo4j: graph::Router,
    config: WorkerConfig,
    stats: Stats,
    /// The result cache to invalidate after each commit (`None`: no gateway caches).
    cache: Option<cache::Cache>,
}

/// One received event and what became of its mapping.
struct Item {
    delivery: Delivery,
    outcome: Result<Vec<Op>, String>,
    ignored: bool,
}

fn header(delivery: &Delivery, name: &str) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn is_transient(e: &graph::Error) -> bool {
    matches!(
        e.kind(),
        graph::ErrorKind::Unavailable | graph::ErrorKind::Timeout
    ) || matches!(e, graph::Error::Server { code, .. } if code.starts_with("Neo.TransientError."))
}

impl Worker {
    /// A worker for these sources (by name), writing through `neo4j` (to the leader).
    pub fn new(
        ontology: Arc<ServedOntology>,
        sources: Vec<Mapping>,
        bus: bus::Bus,
        neo4j: graph::Router,
        config: WorkerConfig,
    ) -> Self {
        Worker {
            ontology,
            sources: sources.into_iter().map(|m| (m.source.clone(), m)).collect(),
            bus,
            neo4j,
            config,
            stats: Stats::default(),
            cache: None,
        }
    }

    /// Invalidates what each committed batch changed in this result cache (before the batch's
    /// events are acknowledged).
    pub fn with_cache(mut self, cache: cache::Cache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Consumes until `shutdown` completes, reconnecting after broker failures. The batch in
    /// hand when shutdown comes is written and acknowledged first (or left unacknowledged if it
    /// cannot be written), so nothing unwritten is ever acknowledged.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Stats {
        tokio::pin!(shutdown);
        // Queue depths as gauges, every 5 s, for as long as the worker runs.
        let depth_bus = self.bus.clone();
        let depths = AbortOnDrop(tokio::spawn(async move {
            loop {
                if let Ok(depths) = depth_bus.depths().await {
                    for (queue, n) in depths {
                        metrics::gauge!("ontograph_ingest_queue_depth", "queue" => queue)
                            .set(f64::from(n));
                    }
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }));
        let mut backoff = self.config.retry_base;
        loop {
            let stop = tokio::select! {
                outcome = self.consume(&mut shutdown) => match outcome {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "ingest consumer lost its broker connection; reconnecting");
                        false
                    }
                },
            };
            let stop = stop
                || tokio::select! {
                    _ = &mut shutdown => true,
                    _ = tokio::time::sleep(backoff) => false,
                };
            if stop {
                drop(depths);
                self.bus.close().await;
                return self.stats;
            }
            backoff = (backoff * 2).min(self.config.retry_max);
        }
    }

    /// One connection's worth of consuming; `Ok` means shutdown was requested.
    async fn consume(
        &mut self,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), WorkerError> {
        self.bus.declare().await?;
        let connection = self.bus.connect().await?;
        let channel = connection.create_channel().await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumers = Vec::new();
        let names = self.bus.config().names.clone();
        for k in 0..self.bus.config().partitions.max(1) {
            let queue = names.partition_queue(k);
            let tag = format!("ontograph-ingest-{}-{k}", std::process::id());
            let consumer = channel
                .basic_consume(
                    &queue,
                    &tag,
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            consumers.push(consumer);
        }
        tracing::info!(partitions = consumers.len(), "ingest worker consuming");
        let mut stream = futures::stream::select_all(consumers);
        let mut batch: Vec<Delivery> = Vec::new();
        let mut deadline = Instant::now();
        loop {
            let wait = if batch.is_empty() {
                Duration::from_secs(3600)
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            tokio::select! {
                _ = shutdown.as_mut() => {
                    if !batch.is_empty() {
                        self.flush(std::mem::take(&mut batch), true).await;
                    }
                    bus::close_and_wait(connection, "shutting down").await;
                    return Ok(());
                }
                next = stream.next() => match next {
                    Some(Ok(delivery)) => {
                        if batch.is_empty() {
                            deadline = Instant::now() + self.config.flush_interval;
                        }
                        batch.push(delivery);
                        metrics::counter!("ontograph_ingest_consumed_total").increment(1);
                        if batch.len() >= self.config.batch_size {
                            self.flush(std::mem::take(&mut batch), false).await;
                        }
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(WorkerError::Bus(bus::BusError::Unavailable("the consumer stream ended".to_owned()))),
                },
                _ = tokio::time::sleep(wait), if !batch.is_empty() => {
                    self.flush(std::mem::take(&mut batch), false).await;
                }
            }
        }
    }

    fn map(&self, delivery: &Delivery) -> (Result<Vec<Op>, String>, bool) {
        let source = header(delivery, "x-source").unwrap_or_default();
        let event_type = header(delivery, "x-event-type").unwrap_or_default();
        let Some(mapping) = self.sources.get(&source) else {
            return (
                Err(format!("no mapping rules for source `{source}`")),
                false,
            );
        };
        if !mapping.handles(&event_type) {
            return (Ok(Vec::new()), true);
        }
        let event: Value = match serde_json::from_slice(&delivery.data) {
            Ok(v) => v,
            Err(e) => return (Err(format!("the body is not JSON: {e}")), false),
        };
        (
            mapping.map(&event_type, &event).map_err(|e| e.to_string()),
            false,
        )
    }

    /// Writes a batch and settles its deliveries. Never acknowledges an unwritten event.
    async fn flush(&mut self, deliveries: Vec<Delivery>, shutting_down: bool) {
        let started = Instant::now();
        let size = deliveries.len();
        let items: Vec<Item> = deliveries
            .into_iter()
            .map(|delivery| {
                let (outcome, ignored) = self.map(&delivery);
                Item {
                    delivery,
                    outcome,
                    ignored,
                }
            })
            .collect();
        let ops: Vec<Op> = items
            .iter()
            .filter_map(|i| i.outcome.as_ref().ok())
            .flatten()
            .cloned()
            .collect();
        let mut dead: Vec<(usize, String)> = items
            .iter()
            .enumerate()
            .filter_map(|(n, i)| i.outcome.as_ref().err().map(|e| (n, e.clone())))
            .collect();
        if !ops.is_empty() {
            match self.write(&ops, shutting_down).await {
                Ok(()) => {}
                Err(WriteFailure::GaveUp) => {
                    // Shutting down while Neo4j is unavailable: leave everything unacknowledged.
                    return;
                }
                Err(WriteFailure::Permanent(e)) => {
                    tracing::warn!(error = %e, size, "batch rejected; applying its events one by one");
                    for (n, item) in items.iter().enumerate() {
                        let Ok(ops) = &item.outcome else { continue };
                        if ops.is_empty() {
                            continue;
                        }
                        match self.write(ops, shutting_down).await {
                            Ok(()) => {}
                            Err(WriteFailure::GaveUp) => return,
                            Err(WriteFailure::Permanent(e)) => {
                                dead.push((n, format!("Neo4j refused the writes: {e}")))
                            }
                        }
                    }
                }
            }
        }
        // Dead letters first (confirmed), then acknowledgements.
        let mut unsettled = Vec::new();
        for (n, reason) in &dead {
            if let Err(e) = self.dead_letter(&items[*n].delivery, reason).await {
                tracing::error!(error = %e, "could not dead-letter an event; it stays unacknowledged");
                unsettled.push(*n);
            }
        }
        // Acknowledge every settled delivery at once (acks are one-way frames; awaiting them one
        // by one would cost a scheduling round trip each).
        let acks = items.iter().enumerate().map(|(n, item)| {
            let skip = unsettled.contains(&n);
            async move {
                if skip {
                    return false;
                }
                match item.delivery.ack(BasicAckOptions::default()).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "ack failed; the event will be redelivered and applied again (idempotent)");
                        false
                    }
                }
            }
        });
        let acked_flags = futures::future::join_all(acks).await;
        let mut acked = 0;
        for (n, item) in items.iter().enumerate() {
            if !acked_flags[n] {
                continue;
            }
            acked += 1;
            if dead.iter().any(|(d, _)| *d == n) {
                self.stats.dead_lettered += 1;
            } else if item.ignored {
                self.stats.ignored += 1;
            } else {
                self.stats.applied += 1;
            }
        }
        self.stats.batches += 1;
        metrics::counter!("ontograph_ingest_applied_total").increment(acked);
        metrics::counter!("ontograph_ingest_dead_lettered_total").increment(dead.len() as u64);
        metrics::histogram!("ontograph_ingest_batch_size").record(size as f64);
        metrics::histogram!("ontograph_ingest_batch_seconds")
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(
            size,
            dead = dead.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "batch done"
        );
    }

    /// Runs the ops as one statement on the leader, retrying transient failures.
    async fn write(&mut self, ops: &[Op], shutting_down: bool) -> Result<(), WriteFailure> {
        // One ontology for the batch: its keys name the nodes the write's cache tags announce.
        let ontology = self.ontology.current();
        let types = property_types(&ontology);
        let plan = plan_batch(ops, &types);
        let statement = graph::Statement {
            cypher: plan.cypher.clone(),
            params: plan.params.clone(),
            timeout: Some(self.config.statement_timeout),
        };
        let mut delay = self.config.retry_base;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match self
                .neo4j
                .run(
                    &statement,
                    graph::AccessMode::Write,
                    &graph::Consistency::default(),
                )
                .await
            {
                Ok(_) => {
                    if let Some(cache) = &self.cache {
                        let tags: Vec<String> = ontology::deps::batch_tags(
                            &ontology,
                            &plan.labels,
                            &plan.rel_types,
                            &plan.nodes,
                        )
                        .into_iter()
                        .collect();
                        cache.invalidate(&tags).await;
                    }
                    self.announce(&plan).await;
                    return Ok(());
                }
                Err(e) if is_transient(&e) => {
                    self.stats.retries += 1;
                    metrics::counter!("ontograph_ingest_retries_total").increment(1);
                    if shutting_down && attempts >= 3 {
                        return Err(WriteFailure::GaveUp);
                    }
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "batch write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.config.retry_max);
                }
                Err(e) => return Err(WriteFailure::Permanent(e.to_string())),
            }
        }
    }

    /// Publishes what a committed batch wrote (best effort: the cache's TTL is the safety net).
    async fn announce(&self, plan: &ontology::mapping::BatchPlan) {
        let body = json!({
            "labels": plan.labels,
            "relTypes": plan.rel_types,
            "nodes": plan.nodes.iter().map(|(l, p, k)| json!([l, p, k])).collect::<Vec<_>>(),
        })
        .to_string();
        let message = bus::Message {
            target: bus::Target::Changes,
            routing_key: "",
            message_id: "",
            partition: 0,
            headers: &[],
            body: body.as_bytes(),
        };
        if let Err(e) = self.bus.publish(&message).await {
            tracing::warn!(error = %e, "could not announce a committed batch");
        }
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), bus::BusError> {
        let source = header(delivery, "x-source").unwrap_or_default();
        let event_type = header(delivery, "x-event-type").unwrap_or_default();
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        tracing::warn!(source, event_type, id, reason, "event dead-lettered");
        let headers = [
            ("x-source", source.as_str()),
            ("x-event-type", event_type.as_str()),
            ("x-reason", reason),
        ];
        let routing_key = format!("{source}.{event_type}");
        self.bus
            .publish(&bus::Message {
                target: bus::Target::Dead,
                routing_key: &routing_key,
                message_id: &id,
                partition: 0,
                headers: &headers,
                body: &delivery.data,
            })
            .await
    }
}

enum WriteFailure {
    /// Neo4j refused the statement for good.
    Permanent(String),
    /// Shutting down while the write keeps failing transiently.
    GaveUp,
}

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
