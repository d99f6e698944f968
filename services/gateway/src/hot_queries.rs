//! Hot queries: statistics per operation shape (the normalized document with literal values
//! erased, [`ontology::normalize::shape`]) for the statements this instance ran — count, latency
//! histogram, rows returned, errors, the hubs they started from and the rewrites applied.
//! A shape is hot when its total time (frequency × latency) is high.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ontology::compile::PropertyUse;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

/// Upper bounds of the latency buckets, in milliseconds (the last one is open).
const BUCKETS_MS: [f64; 12] = [
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    f64::INFINITY,
];

#[derive(Debug, Default, Clone)]
struct Stats {
    shape: String,
    operation: Option<String>,
    count: u64,
    errors: u64,
    total_ms: f64,
    max_ms: f64,
    buckets: [u64; 12],
    rows: u64,
    max_rows: u64,
    hubs: BTreeMap<String, u64>,
    rules: BTreeMap<String, u64>,
    last_seen_ms: u64,
    /// One text of the shape as sent (for explain), and the properties it filters or sorts on.
    sample: String,
    uses: BTreeSet<PropertyUse>,
}

/// Shards of the table: a statement locks one, chosen by its shape's hash.
const SHARDS: usize = 16;

/// The table of shapes (bounded: the coldest shape makes room), sharded so that concurrent
/// requests rarely wait on each other, with the shape of each distinct text remembered.
pub struct HotQueries {
    shards: Vec<Mutex<HashMap<String, Stats>>>,
    len: std::sync::atomic::AtomicUsize,
    max_shapes: usize,
    /// Text → (shape, id): the normalization is computed once per distinct text.
    shape_of: moka::sync::Cache<u64, std::sync::Arc<(String, String)>>,
}

/// One executed operation.
pub struct Executed<'a> {
    pub text: &'a str,
    pub operation: Option<&'a str>,
    pub elapsed: Duration,
    pub rows: u64,
    pub error: bool,
    pub decisions: &'a [ontology::rewrite::Decision],
    pub uses: &'a BTreeSet<PropertyUse>,
}

impl HotQueries {
    pub fn new(max_shapes: usize) -> Self {
        HotQueries {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            len: std::sync::atomic::AtomicUsize::new(0),
            max_shapes: max_shapes.max(1),
            shape_of: moka::sync::Cache::new(10_000),
        }
    }

    fn shard(&self, id: &str) -> std::sync::MutexGuard<'_, HashMap<String, Stats>> {
        let i = id
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        self.shards[i % SHARDS]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes the shape with the least total time (shards locked one at a time).
    fn evict_coldest(&self) {
        let mut coldest: Option<(f64, String)> = None;
        for shard in &self.shards {
            let shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (id, s) in shard.iter() {
                if coldest.as_ref().is_none_or(|(t, _)| s.total_ms < *t) {
                    coldest = Some((s.total_ms, id.clone()));
                }
            }
        }
        if let Some((_, id)) = coldest {
            if self.shard(&id).remove(&id).is_some() {
                self.len.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    fn all(&self) -> Vec<Stats> {
        self.shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .values()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn record(&self, e: &Executed<'_>) {
        let memo_key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (e.text, e.operation).hash(&mut h);
            h.finish()
        };
        let memo = self.shape_of.get_with(memo_key, || {
            let shape = ontology::normalize::shape(e.text);
            let id = cache::key(&[shape.as_bytes(), e.operation.unwrap_or("").as_bytes()]);
            std::sync::Arc::new((shape, id))
        });
        let (shape, id) = (&memo.0, &memo.1);
        let ms = e.elapsed.as_secs_f64() * 1000.0;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let known = self.shard(id).contains_key(id);
        if !known && self.len.load(std::sync::atomic::Ordering::Relaxed) >= self.max_shapes {
            self.evict_coldest();
        }
        let mut shapes = self.shard(id);
        if !shapes.contains_key(id) {
            self.len.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let s = shapes.entry(id.clone()).or_insert_with(|| Stats {
            shape: shape.chars().take(4000).collect(),
            operation: e.operation.map(str::to_owned),
            sample: e.text.chars().take(4000).collect(),
            ..Stats::default()
        });
        if !e.uses.is_subset(&s.uses) {
            s.uses.extend(e.uses.iter().cloned());
        }
        s.count += 1;
        s.errors += u64::from(e.error);
        s.total_ms += ms;
        s.max_ms = s.max_ms.max(ms);
        let bucket = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len() - 1);
        s.buckets[bucket] += 1;
        s.rows += e.rows;
        s.max_rows = s.max_rows.max(e.rows);
        s.last_seen_ms = now;
        for d in e.decisions {
            *s.hubs.entry(d.anchor.clone()).or_default() += 1;
            if d.applied {
                *s.rules.entry(d.rule.name().to_owned()).or_default() += 1;
            }
        }
    }

    /// The hottest shapes first (by total time).
    pub fn top(&self, limit: usize) -> Value {
        let shapes = self.all();
        let mut all: Vec<&Stats> = shapes.iter().collect();
        all.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        let total: f64 = all.iter().map(|s| s.total_ms).sum();
        let items: Vec<Value> = all
            .iter()
            .take(limit)
            .map(|s| {
                let p = |q: f64| {
                    let target = (s.count as f64 * q).ceil() as u64;
                    let mut seen = 0;
                    for (i, n) in s.buckets.iter().enumerate() {
                        seen += n;
                        if seen >= target.max(1) {
                            return if BUCKETS_MS[i].is_finite() { json!(BUCKETS_MS[i]) } else { json!(s.max_ms) };
                        }
                    }
                    json!(s.max_ms)
                };
                json!({
                    "shape": s.shape,
                    "operation": s.operation,
                    "count": s.count,
                    "errors": s.errors,
                    "totalMs": s.total_ms,
                    "shareOfTime": if total > 0.0 { s.total_ms / total } else { 0.0 },
                    "meanMs": s.total_ms / s.count.max(1) as f64,
                    "p50MsAtMost": p(0.5),
                    "p99MsAtMost": p(0.99),
                    "maxMs": s.max_ms,
                    "histogram": BUCKETS_MS.iter().zip(s.buckets.iter()).map(|(b, n)| json!({"leMs": if b.is_finite() { json!(b) } else { json!("inf") }, "count": n})).collect::<Vec<_>>(),
                    "meanRows": s.rows as f64 / s.count.max(1) as f64,
                    "maxRows": s.max_rows,
                    "supernodeAnchors": s.hubs,
                    "rewrites": s.rules,
                    "lastSeenMs": s.last_seen_ms,
                    "sample": s.sample,
                    "uses": s.uses,
                })
            })
            .collect();
        json!({ "shapes": shapes.len(), "hot": items })
    }

    /// Every property the recorded shapes filter or sort on, with the executions and shapes that
    /// used it.
    pub fn property_uses(&self) -> Vec<UsedProperty> {
        let shapes = self.all();
        let mut by: BTreeMap<(&str, &str), UsedProperty> = BTreeMap::new();
        for s in &shapes {
            let mut counted = BTreeSet::new();
            for u in &s.uses {
                let key = (u.label.as_str(), u.property.as_str());
                let e = by.entry(key).or_insert_with(|| UsedProperty {
                    label: u.label.clone(),
                    property: u.property.clone(),
                    usages: BTreeSet::new(),
                    executions: 0,
                    shapes: 0,
                });
                e.usages.insert(u.usage);
                if counted.insert(key) {
                    e.executions += s.count;
                    e.shapes += 1;
                }
            }
        }
        by.into_values().collect()
    }
}

/// A node property that recorded shapes filter or sort on.
#[derive(Debug, Clone)]
pub struct UsedProperty {
    pub label: String,
    pub property: String,
    pub usages: BTreeSet<ontology::compile::Usage>,
    pub executions: u64,
    pub shapes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_group_by_structure_and_rank_by_total_time() {
        let hot = HotQueries::new(10);
        let run = |text: &str, ms: u64| {
            hot.record(&Executed {
                text,
                operation: None,
                elapsed: Duration::from_millis(ms),
                rows: 3,
                error: false,
                decisions: &[],
                uses: &BTreeSet::new(),
            })
        };
        run(r#"{ people(where: {handle: {eq: "a"}}) { name } }"#, 1);
        run(r#"{ people(where: {handle: {eq: "b"}}) { name } }"#, 1);
        run("{ teams(limit: 5) { name } }", 30);
        let top = hot.top(10);
        assert_eq!(top["shapes"], 2);
        assert_eq!(top["hot"][0]["shape"], "{ teams ( limit : ? ) { name } }");
        assert_eq!(top["hot"][1]["count"], 2);
        assert_eq!(top["hot"][1]["meanRows"], 3.0);
    }

    #[test]
    fn the_coldest_shape_makes_room() {
        let hot = HotQueries::new(1);
        for (text, ms) in [("{ a }", 5), ("{ b }", 1)] {
            hot.record(&Executed {
                text,
                operation: None,
                elapsed: Duration::from_millis(ms),
                rows: 0,
                error: false,
                decisions: &[],
                uses: &BTreeSet::new(),
            });
        }
        assert_eq!(hot.top(5)["hot"][0]["shape"], "{ b }");
    }
}
