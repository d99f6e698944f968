//! The degree store: which nodes are hubs, for which relationship type and direction, and how
//! many nodes each label has — what the compiler's supernode rules ([`ontology::rewrite`])
//! decide from.
//!
//! - **Scan** (every `scan_interval`, on a reader): for every node type with a key property and
//!   every relationship type and direction it declares, one pass over the label computing each
//!   node's degree with `COUNT { (n)-[:T]->() }` (constant time per node: Neo4j reads it from the
//!   degree store), the distribution's `quantile`, and the nodes at or above the threshold
//!   `max(min_degree, quantile degree)`, with their key values. Label counts come from the count
//!   store.
//! - **Sharing**: with Redis, one gateway at a time scans (a lock with the interval as TTL) and
//!   stores the snapshot under `<prefix>:snapshot`; the others load it.
//! - **Following writes**: nodes named by committed writes (the `n:` tags of mutations and ingest
//!   batches, from the cache's invalidation channel and from this gateway's own mutations) are
//!   re-measured within `recheck_delay`, so a hub built by ingestion is known in well under a
//!   second and one whose relationships are removed stops being one as fast.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use graph::{AccessMode, Consistency, Router, Statement};
use ontology::model::{Direction, NodeType};
use ontology::rewrite::DegreeStats;
use ontology::served::ServedOntology;
use ontology::Ontology;
use redis_handle::RedisHandle;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Degree store settings.
#[derive(Debug, Clone)]
pub struct SupernodeConfig {
    /// Smallest degree of a supernode.
    pub min_degree: u64,
    /// A supernode's degree is also at least this quantile of its label's degrees.
    pub quantile: f64,
    /// How often the store is rebuilt by a scan.
    pub scan_interval: Duration,
    /// How long re-measurements of written nodes are gathered before they run.
    pub recheck_delay: Duration,
    /// Prefix of the store's Redis keys (with the process's Redis: the snapshot is shared, and
    /// other instances' writes are heard).
    pub prefix: String,
    /// The cache's invalidation channel (writes announce the nodes they touched there).
    pub invalidation_channel: Option<String>,
}

impl Default for SupernodeConfig {
    fn default() -> Self {
        SupernodeConfig {
            min_degree: 1_000,
            quantile: 0.999,
            scan_interval: Duration::from_secs(600),
            recheck_delay: Duration::from_millis(100),
            prefix: "ontograph:supernodes".to_owned(),
            invalidation_channel: None,
        }
    }
}

/// One (label, relationship type, direction) distribution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    pub label: String,
    pub rel_type: String,
    pub direction: String,
    pub nodes: u64,
    pub mean: f64,
    pub max: u64,
    pub quantile_degree: u64,
    pub threshold: u64,
}

/// A supernode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Hub {
    pub label: String,
    pub rel_type: String,
    pub direction: String,
    pub degree: u64,
    /// Its key properties (database names) and values.
    pub keys: BTreeMap<String, Value>,
}

/// What a scan found (plus the re-measurements since).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub scanned_at_ms: u64,
    pub scan_ms: u64,
    pub label_counts: BTreeMap<String, u64>,
    /// Mean degrees from Neo4j's count store, for every node type and relationship it declares
    /// (keys or not): relationships of the type at the label / nodes of the label.
    #[serde(default)]
    pub mean_degrees: Vec<MeanDegree>,
    pub distributions: Vec<Distribution>,
    pub hubs: Vec<Hub>,
}

/// A mean degree read from the count store (constant time).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MeanDegree {
    pub label: String,
    pub rel_type: String,
    pub direction: String,
    pub relationships: u64,
    pub mean: f64,
}

type HubKey = (String, String, bool, String, String);

/// A snapshot indexed for the compiler.
#[derive(Debug, Default)]
pub struct Indexed {
    pub snapshot: Snapshot,
    degrees: HashMap<HubKey, u64>,
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Out => "out",
        Direction::In => "in",
    }
}

impl Indexed {
    fn new(snapshot: Snapshot) -> Self {
        let mut degrees = HashMap::new();
        for h in &snapshot.hubs {
            for (prop, value) in &h.keys {
                degrees.insert(
                    (
                        h.label.clone(),
                        h.rel_type.clone(),
                        h.direction == "out",
                        prop.clone(),
                        key_text(value),
                    ),
                    h.degree,
                );
            }
        }
        Indexed { snapshot, degrees }
    }
}

impl DegreeStats for Indexed {
    fn degree(
        &self,
        label: &str,
        key_prop: &str,
        key: &Value,
        rel_type: &str,
        direction: Direction,
    ) -> Option<u64> {
        self.degrees
            .get(&(
                label.to_owned(),
                rel_type.to_owned(),
                direction == Direction::Out,
                key_prop.to_owned(),
                key_text(key),
            ))
            .copied()
    }

    fn label_count(&self, label: &str) -> Option<u64> {
        self.snapshot.label_counts.get(label).copied()
    }

    /// The measured distribution's mean where the store measured one (labels with keys, kept
    /// current by re-measurements), else the count store's.
    fn mean_degree(&self, label: &str, rel_type: &str, direction: Direction) -> Option<f64> {
        let dir = dir_name(direction);
        let s = &self.snapshot;
        s.distributions
            .iter()
            .find(|d| d.label == label && d.rel_type == rel_type && d.direction == dir)
            .map(|d| d.mean)
            .or_else(|| {
                s.mean_degrees
                    .iter()
                    .find(|d| d.label == label && d.rel_type == rel_type && d.direction == dir)
                    .map(|d| d.mean)
            })
    }

    fn measured(&self) -> bool {
        self.snapshot.scanned_at_ms != 0
    }
}

/// What one label is measured on.
struct Measured<'o> {
    node: &'o NodeType,
    keys: Vec<String>,
    rels: Vec<(String, Direction)>,
}

fn measured(o: &Ontology) -> Vec<Measured<'_>> {
    o.nodes
        .values()
        .filter_map(|n| {
            let keys: Vec<String> = n
                .properties()
                .filter(|p| p.is_key())
                .map(|p| p.db_name.clone())
                .collect();
            let mut rels: Vec<(String, Direction)> = Vec::new();
            for r in n.relationships() {
                if !rels
                    .iter()
                    .any(|(t, d)| *t == r.rel_type && *d == r.direction)
                {
                    rels.push((r.rel_type.clone(), r.direction));
                }
            }
            (!keys.is_empty() && !rels.is_empty()).then_some(Measured {
                node: n,
                keys,
                rels,
            })
        })
        .collect()
}

fn degree_expr(var: &str, rel_type: &str, d: Direction) -> String {
    let t = ontology::compile::quote(rel_type);
    match d {
        Direction::Out => format!("COUNT {{ ({var})-[:{t}]->() }}"),
        Direction::In => format!("COUNT {{ ({var})<-[:{t}]-() }}"),
    }
}

fn keys_map(var: &str, keys: &[String]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| {
            let q = ontology::compile::quote(k);
            format!("{q}: {var}.{q}")
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The non-null key values of a `{prop: value}` map.
fn present_keys(keys: &Value) -> BTreeMap<String, Value> {
    keys.as_object()
        .map(|k| {
            k.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The degree store. Cheap to clone.
#[derive(Clone)]
pub struct DegreeStore {
    inner: Arc<Inner>,
}

struct Inner {
    ontology: Arc<ServedOntology>,
    router: Router,
    config: SupernodeConfig,
    state: RwLock<Arc<Indexed>>,
    redis: Option<RedisHandle>,
    touched: tokio::sync::mpsc::UnboundedSender<Vec<String>>,
    touched_rx: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Vec<String>>>>,
    /// While a scan runs: the nodes re-measured meanwhile (measured again after it, since the
    /// scan's view may predate their writes).
    during_scan: std::sync::Mutex<Option<BTreeSet<String>>>,
}

impl DegreeStore {
    pub fn new(
        ontology: Arc<ServedOntology>,
        router: Router,
        config: SupernodeConfig,
        redis: Option<RedisHandle>,
    ) -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        DegreeStore {
            inner: Arc::new(Inner {
                ontology,
                router,
                config,
                state: RwLock::new(Arc::new(Indexed::default())),
                redis,
                touched: tx,
                touched_rx: std::sync::Mutex::new(Some(rx)),
                during_scan: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The current statistics.
    pub fn current(&self) -> Arc<Indexed> {
        self.inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, snapshot: Snapshot) {
        metrics::gauge!("ontograph_supernodes").set(snapshot.hubs.len() as f64);
        *self
            .inner
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Indexed::new(snapshot));
    }

    /// Nodes written (cache tags): re-measured shortly.
    pub fn touched(&self, tags: &[String]) {
        let nodes: Vec<String> = tags
            .iter()
            .filter(|t| t.starts_with("n:"))
            .cloned()
            .collect();
        if !nodes.is_empty() {
            let _ = self.inner.touched.send(nodes);
        }
    }

    async fn read(
        &self,
        st: Statement,
    ) -> Result<Vec<serde_json::Map<String, Value>>, graph::Error> {
        let routed = self
            .inner
            .router
            .run(
                &st,
                AccessMode::Read,
                &Consistency {
                    level: graph::ConsistencyLevel::Eventual,
                    bookmark: None,
                },
            )
            .await?;
        Ok(routed.result.rows)
    }

    /// Rebuilds the store from the database, with the keys it keeps now (re-read first, so a
    /// label keyed by a constraint created since the last scan is measured in this one).
    pub async fn scan(&self) -> Result<Snapshot, graph::Error> {
        let started = Instant::now();
        let mut snapshot = Snapshot {
            scanned_at_ms: now_ms(),
            ..Snapshot::default()
        };
        crate::database_keys::adopt(&self.inner.ontology, &self.inner.router).await;
        let o = self.inner.ontology.current();
        // Every node type, keys or not: its label count and, per relationship it declares, the
        // relationships at the label, both answered by the count store in constant time.
        for n in o.nodes.values() {
            let label = n.main_label().to_owned();
            let q = ontology::compile::quote(&label);
            let rows = self
                .read(Statement::new(format!(
                    "MATCH (n:{q}) RETURN count(n) AS c"
                )))
                .await?;
            let count = rows.first().and_then(|r| r["c"].as_u64()).unwrap_or(0);
            snapshot.label_counts.insert(label.clone(), count);
            let mut seen = BTreeSet::new();
            for r in n.relationships() {
                if !seen.insert((r.rel_type.clone(), dir_name(r.direction))) {
                    continue;
                }
                let t = ontology::compile::quote(&r.rel_type);
                let pattern = match r.direction {
                    Direction::Out => format!("(:{q})-[r:{t}]->()"),
                    Direction::In => format!("(:{q})<-[r:{t}]-()"),
                };
                let rows = self
                    .read(Statement::new(format!(
                        "MATCH {pattern} RETURN count(r) AS c"
                    )))
                    .await?;
                let relationships = rows.first().and_then(|r| r["c"].as_u64()).unwrap_or(0);
                snapshot.mean_degrees.push(MeanDegree {
                    label: label.clone(),
                    rel_type: r.rel_type.clone(),
                    direction: dir_name(r.direction).to_owned(),
                    relationships,
                    mean: if count == 0 {
                        0.0
                    } else {
                        relationships as f64 / count as f64
                    },
                });
            }
        }
        for m in measured(&o) {
            let label = m.node.main_label().to_owned();
            let q = ontology::compile::quote(&label);
            for (rel_type, dir) in &m.rels {
                let cypher = format!(
                    "MATCH (n:{q}) WITH n, {deg} AS d \
                     WITH collect(CASE WHEN d >= $min THEN {{d: d, keys: {keys}}} END) AS hubs, \
                     percentileDisc(d, $q) AS p, count(*) AS total, avg(d) AS mean, max(d) AS mx \
                     RETURN hubs, p, total, mean, mx",
                    deg = degree_expr("n", rel_type, *dir),
                    keys = keys_map("n", &m.keys),
                );
                let st = Statement::new(cypher)
                    .param("min", self.inner.config.min_degree as i64)
                    .param("q", self.inner.config.quantile);
                let rows = self.read(st).await?;
                let Some(row) = rows.first() else { continue };
                let quantile_degree = row["p"].as_u64().unwrap_or(0);
                let threshold = self.inner.config.min_degree.max(quantile_degree);
                snapshot.distributions.push(Distribution {
                    label: label.clone(),
                    rel_type: rel_type.clone(),
                    direction: dir_name(*dir).to_owned(),
                    nodes: row["total"].as_u64().unwrap_or(0),
                    mean: row["mean"].as_f64().unwrap_or(0.0),
                    max: row["mx"].as_u64().unwrap_or(0),
                    quantile_degree,
                    threshold,
                });
                for h in row["hubs"].as_array().into_iter().flatten() {
                    let degree = h["d"].as_u64().unwrap_or(0);
                    if degree < threshold {
                        continue;
                    }
                    let keys = present_keys(&h["keys"]);
                    snapshot.hubs.push(Hub {
                        label: label.clone(),
                        rel_type: rel_type.clone(),
                        direction: dir_name(*dir).to_owned(),
                        degree,
                        keys,
                    });
                }
            }
        }
        snapshot.hubs.sort_by_key(|h| std::cmp::Reverse(h.degree));
        snapshot.scan_ms = started.elapsed().as_millis() as u64;
        Ok(snapshot)
    }

    /// Re-measures the nodes these `n:` tags name and updates the store.
    pub async fn recheck(&self, tags: &BTreeSet<String>) -> Result<(), graph::Error> {
        if let Some(during) = self
            .inner
            .during_scan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            during.extend(tags.iter().cloned());
        }
        let o = self.inner.ontology.current();
        let mut by_label: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        for tag in tags {
            let mut parts = tag.splitn(4, ':');
            let (Some("n"), Some(label), Some(prop), Some(value)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            by_label
                .entry((label.to_owned(), prop.to_owned()))
                .or_default()
                .push(Value::String(value.to_owned()));
        }
        let measured = measured(&o);
        let mut snapshot = self.current().snapshot.clone();
        let mut changed = false;
        for ((label, prop), values) in by_label {
            let Some(m) = measured.iter().find(|m| m.node.main_label() == label) else {
                continue;
            };
            let q = ontology::compile::quote(&label);
            let degs: Vec<String> = m
                .rels
                .iter()
                .enumerate()
                .map(|(i, (t, d))| format!("{} AS d{i}", degree_expr("n", t, *d)))
                .collect();
            // Key values arrive as text; match numbers written as text too (an IN list keeps
            // the key's index usable).
            let cypher = format!(
                "UNWIND $values AS v MATCH (n:{q}) WHERE n.{p} IN [v, toInteger(v)] \
                 RETURN {keys} AS keys, {degs}",
                p = ontology::compile::quote(&prop),
                keys = keys_map("n", &m.keys),
                degs = degs.join(", ")
            );
            let rows = self
                .read(Statement::new(cypher).param("values", Value::Array(values.clone())))
                .await?;
            // Forget what we knew of these nodes, then add back the ones still above threshold.
            let named: BTreeSet<String> = values.iter().map(key_text).collect();
            let before = snapshot.hubs.len();
            snapshot.hubs.retain(|h| {
                h.label != label
                    || !h
                        .keys
                        .get(&prop)
                        .is_some_and(|v| named.contains(&key_text(v)))
            });
            changed |= snapshot.hubs.len() != before;
            for row in &rows {
                let keys = present_keys(&row["keys"]);
                for (i, (rel_type, dir)) in m.rels.iter().enumerate() {
                    let degree = row[&format!("d{i}")].as_u64().unwrap_or(0);
                    let threshold = snapshot
                        .distributions
                        .iter()
                        .find(|d| {
                            d.label == label
                                && d.rel_type == *rel_type
                                && d.direction == dir_name(*dir)
                        })
                        .map_or(self.inner.config.min_degree, |d| d.threshold);
                    if degree >= threshold {
                        snapshot.hubs.push(Hub {
                            label: label.clone(),
                            rel_type: rel_type.clone(),
                            direction: dir_name(*dir).to_owned(),
                            degree,
                            keys: keys.clone(),
                        });
                        changed = true;
                    }
                }
            }
        }
        if changed {
            snapshot.hubs.sort_by_key(|h| std::cmp::Reverse(h.degree));
            self.replace(snapshot);
        }
        Ok(())
    }

    /// Starts the background work: a first scan (or the shared snapshot) at once, periodic scans,
    /// re-measurements of written nodes, and listening to other instances' writes.
    pub fn start(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            this.refresh().await;
            let mut tick = tokio::time::interval(
                this.inner.config.scan_interval.max(Duration::from_secs(1)) / 4,
            );
            tick.tick().await;
            loop {
                tick.tick().await;
                this.refresh().await;
            }
        });
        let rx = self
            .inner
            .touched_rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut rx) = rx {
            let this = self.clone();
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut tags: BTreeSet<String> = first.into_iter().collect();
                    tokio::time::sleep(this.inner.config.recheck_delay).await;
                    while let Ok(more) = rx.try_recv() {
                        tags.extend(more);
                    }
                    if let Err(e) = this.recheck(&tags).await {
                        tracing::warn!(error = %e, "supernode re-measurement failed");
                    }
                }
            });
        }
        if let (Some(redis), Some(channel)) = (
            self.inner.redis.clone(),
            self.inner.config.invalidation_channel.clone(),
        ) {
            let this = self.clone();
            tokio::spawn(async move {
                loop {
                    let outcome = async {
                        let client = redis::Client::open(redis.url())?;
                        let mut pubsub = client.get_async_pubsub().await?;
                        pubsub.subscribe(&channel).await?;
                        let mut messages = pubsub.on_message();
                        use futures::StreamExt as _;
                        while let Some(m) = messages.next().await {
                            let payload: String = m.get_payload()?;
                            let tags: Vec<String> =
                                payload.lines().skip(1).map(str::to_owned).collect();
                            this.touched(&tags);
                        }
                        redis::RedisResult::Ok(())
                    }
                    .await;
                    if let Err(e) = outcome {
                        tracing::debug!(error = %e, "supernode listener reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    }

    /// Scans when the snapshot is older than the interval (with Redis: loads a newer shared one,
    /// or takes the scan lock and shares what it found).
    pub async fn refresh(&self) {
        let interval = self.inner.config.scan_interval;
        let scanned = self.current().snapshot.scanned_at_ms;
        if scanned != 0 && now_ms().saturating_sub(scanned) < interval.as_millis() as u64 {
            return;
        }
        let key = format!("{}:snapshot", self.inner.config.prefix);
        let lock = format!("{}:lock", self.inner.config.prefix);
        // Snapshots are larger than most values: a longer bound than a lookup's.
        let redis = self
            .inner
            .redis
            .as_ref()
            .map(|r| (r, r.timeout().max(Duration::from_millis(250)) * 4));
        if let Some((redis, limit)) = redis {
            let mut get = redis::cmd("GET");
            get.arg(&key);
            let shared: Option<String> = redis
                .query_within::<Option<String>>("degree-store", &get, limit)
                .await
                .flatten();
            if let Some(s) = shared.and_then(|s| serde_json::from_str::<Snapshot>(&s).ok()) {
                if now_ms().saturating_sub(s.scanned_at_ms) < interval.as_millis() as u64 {
                    if s.scanned_at_ms > self.current().snapshot.scanned_at_ms {
                        self.replace(s);
                    }
                    return;
                }
            }
            let mut take = redis::cmd("SET");
            take.arg(&lock)
                .arg(now_ms())
                .arg("NX")
                .arg("PX")
                .arg(interval.as_millis().max(1000) as u64);
            let got = redis
                .query_within::<Option<String>>("degree-store", &take, limit)
                .await;
            // Another instance holds the lock (Redis not answering: this one scans alone).
            if matches!(got, Some(None)) {
                return; // another instance scans
            }
        }
        *self
            .inner
            .during_scan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(BTreeSet::new());
        let scanned = self.scan().await;
        let during = self
            .inner
            .during_scan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        match scanned {
            Ok(snapshot) => {
                tracing::info!(
                    hubs = snapshot.hubs.len(),
                    scan_ms = snapshot.scan_ms,
                    "supernode scan"
                );
                if let Some((redis, limit)) = redis {
                    if let Ok(text) = serde_json::to_string(&snapshot) {
                        let mut set = redis::cmd("SET");
                        set.arg(&key).arg(text);
                        let _ = redis.query_within::<()>("degree-store", &set, limit).await;
                    }
                }
                self.replace(snapshot);
                if !during.is_empty() {
                    if let Err(e) = self.recheck(&during).await {
                        tracing::warn!(error = %e, "supernode re-measurement failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "supernode scan failed"),
        }
    }

    /// `GET /admin/api/supernodes`.
    pub fn describe(&self) -> Value {
        let current = self.current();
        let s = &current.snapshot;
        json!({
            "config": {
                "minDegree": self.inner.config.min_degree,
                "quantile": self.inner.config.quantile,
                "scanIntervalMs": self.inner.config.scan_interval.as_millis() as u64,
            },
            "scannedAtMs": s.scanned_at_ms,
            "scanMs": s.scan_ms,
            "keys": self.inner.ontology.current().keys().into_iter().map(|(node, property, source)| {
                json!({ "type": node, "property": property, "source": source })
            }).collect::<Vec<_>>(),
            "labelCounts": s.label_counts,
            "meanDegrees": s.mean_degrees,
            "distributions": s.distributions,
            "hubs": s.hubs,
        })
    }
}
