//! Ontograph's result cache: response bytes kept in process (moka, bounded by bytes) in front of
//! Redis (shared by every gateway, with a TTL), filled once per key however many requests miss
//! at the same time (single-flight), and invalidated by tags — the labels, relationship types and
//! nodes a result was read from — when a write commits. This crate stores bytes under keys and
//! tags; it knows nothing of GraphQL or the ontology.
//!
//! - **Keys** are SHA-256 digests of the parts that make two requests equal ([`key`]).
//! - **L1** is a moka cache weighed by entry size, each entry expiring with its own TTL; **L2**
//!   is Redis: the entry under `<prefix>:e:<key>` with a TTL, and each tag as a set
//!   `<prefix>:t:<tag>` of keys.
//! - **Invalidation** ([`Cache::invalidate`]) drops the tagged entries from this process's L1 at
//!   once, then — in one Lua script, atomically — deletes them from Redis, stamps each tag with
//!   a new invalidation number (`<prefix>:v:<tag>`) and publishes the tags on
//!   `<prefix>:invalidate`, so every other gateway drops them from its L1 ([`Cache::listen`]).
//! - **No stale refill.** A miss that started before an invalidation must not store what it
//!   read. In Redis, the store is a script that refuses when one of the entry's tags was
//!   invalidated after the miss began (it compares with the invalidation number read with the
//!   lookup). In L1, every entry remembers the local invalidation count when it was looked up,
//!   and a hit is refused when one of its tags was invalidated since.
//! - **Degradation**: every Redis call has a short timeout; after a failure Redis is skipped for
//!   a cool-down (a circuit breaker), so a slow or dead Redis costs requests nothing but the L2
//!   hits. A background task reconnects. Invalidations that could not reach Redis are kept and
//!   sent when it is back; a gateway whose subscription broke clears its L1 when it resubscribes,
//!   since it may have missed invalidations meanwhile.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
pub use redis_handle::RedisHandle;
use sha2::{Digest, Sha256};

/// A cache key: the hex SHA-256 of its parts.
pub fn key(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The response bytes, served as they are.
    pub body: Bytes,
    /// What the response was read from (invalidation tags).
    pub tags: Vec<String>,
    /// The data version the response was read at (for the gateway: the read's bookmark), so a
    /// caller can refuse an entry older than what it has already seen.
    pub version: String,
    /// When it was computed (milliseconds since the Unix epoch).
    pub stored_at_ms: u64,
}

impl Entry {
    /// A new entry stamped now.
    pub fn new(body: impl Into<Bytes>, tags: Vec<String>, version: String) -> Self {
        Entry {
            body: body.into(),
            tags,
            version,
            stored_at_ms: now_ms(),
        }
    }

    /// How old the entry is.
    pub fn age(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.stored_at_ms))
    }

    fn encode(&self) -> Vec<u8> {
        // stored_at (8) | version len (4) | version | tag count (4) | (len (4) | tag)* | body
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(&self.stored_at_ms.to_be_bytes());
        out.extend_from_slice(&(self.version.len() as u32).to_be_bytes());
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(&(self.tags.len() as u32).to_be_bytes());
        for tag in &self.tags {
            out.extend_from_slice(&(tag.len() as u32).to_be_bytes());
            out.extend_from_slice(tag.as_bytes());
        }
        out.extend_from_slice(&self.body);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
            let slice = bytes.get(*at..*at + n)?;
            *at += n;
            Some(slice)
        };
        let text = |at: &mut usize| -> Option<String> {
            let len = u32::from_be_bytes(take(at, 4)?.try_into().ok()?) as usize;
            String::from_utf8(take(at, len)?.to_vec()).ok()
        };
        let mut at = 0;
        let stored_at_ms = u64::from_be_bytes(take(&mut at, 8)?.try_into().ok()?);
        let version = text(&mut at)?;
        let count = u32::from_be_bytes(take(&mut at, 4)?.try_into().ok()?);
        let mut tags = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            tags.push(text(&mut at)?);
        }
        Some(Entry {
            body: Bytes::copy_from_slice(bytes.get(at..)?),
            tags,
            version,
            stored_at_ms,
        })
    }

    fn weight(&self) -> usize {
        self.body.len() + self.version.len() + self.tags.iter().map(String::len).sum::<usize>()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Counters since start and the cache's state.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub hits_l1: u64,
    pub hits_l2: u64,
    pub misses: u64,
    /// Tags invalidated by writes through this process.
    pub invalidated_here: u64,
    /// Tags invalidated by other processes (received over pub/sub).
    pub invalidated_elsewhere: u64,
    pub l1_entries: u64,
    pub l1_bytes: u64,
    pub l1_capacity_bytes: u64,
    pub redis_configured: bool,
    pub redis_connected: bool,
    /// Redis is being skipped after a failure (the breaker is open).
    pub redis_skipped: bool,
    pub pending_invalidations: usize,
}

/// Where a lookup was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// This process's memory.
    L1,
    /// Redis.
    L2,
    /// Computed now.
    Miss,
}

impl Level {
    /// `HIT-L1`, `HIT-L2` or `MISS` (the response header value).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::L1 => "HIT-L1",
            Level::L2 => "HIT-L2",
            Level::Miss => "MISS",
        }
    }

    const fn metric(self) -> &'static str {
        match self {
            Level::L1 => "hit_l1",
            Level::L2 => "hit_l2",
            Level::Miss => "miss",
        }
    }
}

/// Cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Largest total size of L1 entries, in bytes.
    pub l1_bytes: u64,
    /// Prefix of Redis keys and the invalidation channel.
    pub prefix: String,
    /// Longest TTL an entry may have (longer ones are cut to this).
    pub max_ttl: Duration,
    /// How long an invalidation is remembered against misses that began before it; longer
    /// than any computation can take.
    pub guard_window: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            l1_bytes: 64 * 1024 * 1024,
            prefix: "ontograph:cache".to_owned(),
            max_ttl: Duration::from_secs(3600),
            guard_window: Duration::from_secs(300),
        }
    }
}

/// Why computing an entry failed (the caller's error, passed through).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ComputeError(pub String);

/// What one L1 slot holds: the entry, its TTL, and the local invalidation count when the
/// lookup that produced it began.
#[derive(Clone)]
struct Slot {
    entry: Arc<Entry>,
    ttl: Duration,
    since: u64,
}

/// Why the single-flight future produced no storable slot.
#[derive(Clone)]
enum NoSlot {
    /// The caller said "do not cache"; here is what it computed.
    Uncacheable(Arc<Entry>),
    Failed(ComputeError),
}

struct SlotExpiry;

impl moka::Expiry<String, Slot> for SlotExpiry {
    fn expire_after_create(&self, _: &String, slot: &Slot, _: Instant) -> Option<Duration> {
        Some(slot.ttl.saturating_sub(slot.entry.age()))
    }
}

/// The two-level cache. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    config: CacheConfig,
    /// Random per process: its own invalidation messages are skipped by its listener.
    origin: String,
    l1: moka::future::Cache<String, Slot>,
    /// Tag → keys in L1 (to drop entries by tag without scanning).
    index: Mutex<HashMap<String, HashSet<String>>>,
    /// Local invalidations so far; a slot is valid while none of its tags was stamped later.
    invalidations: AtomicU64,
    /// Tag → the invalidation count that last stamped it (kept for `guard_window`).
    stamps: moka::sync::Cache<String, u64>,
    /// Slots looked up before this count are invalid (stamps were forgotten early, or the L1
    /// was cleared after a gap in the invalidation feed).
    floor: Arc<AtomicU64>,
    /// The process's Redis (`None`: L1 only).
    redis: Option<RedisHandle>,
    /// Tags whose Redis invalidation has not run yet (failed ones are resent).
    pending: Mutex<BTreeSet<String>>,
    /// Invalidation scripts in flight.
    flushing: AtomicU64,
    /// Lookups answered from L1, L2, computed; invalidated tags (here, from others).
    counts: [AtomicU64; 5],
}

const PUT_SCRIPT: &str = r"
local p, key, since, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 6, #ARGV do
  local v = redis.call('GET', p .. ':v:' .. ARGV[i])
  if v and tonumber(v) > since then return 0 end
end
redis.call('SET', p .. ':e:' .. key, ARGV[5], 'PX', ttl)
for i = 6, #ARGV do
  local s = p .. ':t:' .. ARGV[i]
  redis.call('SADD', s, key)
  if redis.call('PTTL', s) < ttl * 2 then redis.call('PEXPIRE', s, ttl * 2) end
end
return 1
";

const INVALIDATE_SCRIPT: &str = r"
local p, keep, payload = ARGV[1], ARGV[2], ARGV[3]
local n = redis.call('INCR', p .. ':epoch')
local dropped = 0
for i = 4, #ARGV do
  redis.call('SET', p .. ':v:' .. ARGV[i], n, 'PX', keep)
  local s = p .. ':t:' .. ARGV[i]
  for _, k in ipairs(redis.call('SMEMBERS', s)) do
    dropped = dropped + redis.call('UNLINK', p .. ':e:' .. k)
  end
  redis.call('UNLINK', s)
end
redis.call('PUBLISH', p .. ':invalidate', payload)
return dropped
";

impl Cache {
    /// Builds the cache, on the process's Redis handle when there is one (while Redis does not
    /// answer, the cache runs on L1 only; the handle reconnects in the background).
    pub fn new(config: CacheConfig, redis: Option<RedisHandle>) -> Self {
        let floor = Arc::new(AtomicU64::new(0));
        let floor_on_evict = floor.clone();
        let l1 = moka::future::Cache::builder()
            .weigher(|k: &String, s: &Slot| {
                (k.len() + s.entry.weight()).try_into().unwrap_or(u32::MAX)
            })
            .max_capacity(config.l1_bytes)
            .expire_after(SlotExpiry)
            .eviction_listener(|_, _, cause| {
                let cause = match cause {
                    moka::notification::RemovalCause::Size => "size",
                    moka::notification::RemovalCause::Expired => "expired",
                    _ => return,
                };
                metrics::counter!("ontograph_cache_evictions_total", "cause" => cause).increment(1);
            })
            .build();
        let stamps = moka::sync::Cache::builder()
            .max_capacity(1_000_000)
            .time_to_live(config.guard_window.max(config.max_ttl))
            .eviction_listener(move |_, stamp: u64, cause| {
                // A stamp forgotten for room (not age) could let a stale slot through: raise
                // the floor past it instead.
                if cause == moka::notification::RemovalCause::Size {
                    floor_on_evict.fetch_max(stamp, Ordering::SeqCst);
                }
            })
            .build();
        let cache = Cache {
            inner: Arc::new(Inner {
                origin: key(&[&now_ms().to_be_bytes(), &rand_bytes()])[..16].to_owned(),
                config,
                l1,
                index: Mutex::new(HashMap::new()),
                invalidations: AtomicU64::new(0),
                stamps,
                floor,
                redis,
                pending: Mutex::new(BTreeSet::new()),
                flushing: AtomicU64::new(0),
                counts: Default::default(),
            }),
        };
        if cache.inner.redis.is_some() {
            cache.spawn_maintenance();
        }
        cache
    }

    /// Whether Redis is connected now.
    pub fn has_redis(&self) -> bool {
        self.inner
            .redis
            .as_ref()
            .is_some_and(|r| r.status().connected)
    }

    /// The entry for `key`: from L1, else Redis, else `compute` — run once for all concurrent
    /// callers of the same key. `compute` returns the entry and its TTL, or `None` for "do not
    /// cache" (e.g. a response with errors: it is returned but not stored). An entry `accept`
    /// refuses (e.g. older than the caller's bookmark) is computed afresh and replaced.
    pub async fn get_or_compute<F, Fut>(
        &self,
        key: &str,
        accept: &(dyn Fn(&Entry) -> bool + Sync),
        compute: F,
    ) -> Result<(Arc<Entry>, Level), ComputeError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(Entry, Option<Duration>), ComputeError>>,
    {
        if let Some(slot) = self.inner.l1.get(key).await {
            if self.valid(&slot) {
                if accept(&slot.entry) {
                    return Ok(self.counted(slot.entry, Level::L1));
                }
                // Too old for this caller: compute afresh, outside the single flight.
                let computed = self.fill(key, accept, &compute).await;
                return computed.map(|(e, l)| self.counted(e, l));
            }
            self.inner.l1.invalidate(key).await;
        }
        // `None` until this caller's own future runs (it then records where the slot came
        // from); a caller that only waited for another's future must check the slot is still
        // valid: that future may have read before a write this caller already saw acknowledged.
        let level: Mutex<Option<Level>> = Mutex::new(None);
        let level_in = &level;
        let compute_ref = &compute;
        // Single flight: moka runs this future once per key; concurrent callers wait for it.
        // The caller that runs it decides with its own `accept`; the others check theirs below.
        let outcome = self
            .inner
            .l1
            .try_get_with(key.to_owned(), async move {
                let (slot, level) = self.load(key, accept, compute_ref).await?;
                *lock(level_in) = Some(level);
                Ok::<_, NoSlot>(slot)
            })
            .await;
        let ran = *lock(&level);
        match outcome {
            Ok(slot) if accept(&slot.entry) && (ran.is_some() || self.valid(&slot)) => {
                Ok(self.counted(slot.entry, ran.unwrap_or(Level::Miss)))
            }
            Ok(_) => {
                let computed = self.fill(key, accept, &compute).await;
                computed.map(|(e, l)| self.counted(e, l))
            }
            Err(shared) => match &*shared {
                NoSlot::Uncacheable(entry) => Ok(self.counted(entry.clone(), Level::Miss)),
                NoSlot::Failed(e) => Err(e.clone()),
            },
        }
    }

    fn counted(&self, entry: Arc<Entry>, level: Level) -> (Arc<Entry>, Level) {
        self.inner.counts[level as usize].fetch_add(1, Ordering::Relaxed);
        metrics::counter!("ontograph_cache_lookups_total", "result" => level.metric()).increment(1);
        (entry, level)
    }

    /// L2, else compute: the slot for L1 (moka stores it) and where it came from.
    async fn load<F, Fut>(
        &self,
        key: &str,
        accept: &(dyn Fn(&Entry) -> bool + Sync),
        compute: &F,
    ) -> Result<(Slot, Level), NoSlot>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(Entry, Option<Duration>), ComputeError>>,
    {
        let since = self.inner.invalidations.load(Ordering::SeqCst);
        let (found, redis_since) = self.redis_get(key).await;
        if let Some((entry, ttl)) = found {
            if accept(&entry) {
                let slot = Slot {
                    entry: Arc::new(entry),
                    ttl,
                    since,
                };
                self.index(key, &slot.entry.tags);
                return Ok((slot, Level::L2));
            }
        }
        let (entry, ttl) = compute().await.map_err(NoSlot::Failed)?;
        let entry = Arc::new(entry);
        let Some(ttl) = ttl.map(|t| t.min(self.inner.config.max_ttl)) else {
            return Err(NoSlot::Uncacheable(entry));
        };
        if let Some(redis_since) = redis_since {
            self.redis_put(key, &entry, ttl, redis_since).await;
        }
        self.index(key, &entry.tags);
        Ok((Slot { entry, ttl, since }, Level::Miss))
    }

    /// Computes outside the single flight and replaces the L1 slot (used when the slot is
    /// too old for the caller).
    async fn fill<F, Fut>(
        &self,
        key: &str,
        accept: &(dyn Fn(&Entry) -> bool + Sync),
        compute: &F,
    ) -> Result<(Arc<Entry>, Level), ComputeError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(Entry, Option<Duration>), ComputeError>>,
    {
        match self.load(key, accept, compute).await {
            Ok((slot, level)) => {
                let entry = slot.entry.clone();
                self.inner.l1.insert(key.to_owned(), slot).await;
                Ok((entry, level))
            }
            Err(NoSlot::Uncacheable(entry)) => Ok((entry, Level::Miss)),
            Err(NoSlot::Failed(e)) => Err(e),
        }
    }

    /// Whether no tag of the slot was invalidated after its lookup began.
    fn valid(&self, slot: &Slot) -> bool {
        let now = self.inner.invalidations.load(Ordering::SeqCst);
        if now == slot.since {
            return true; // nothing was invalidated since: no tag to check
        }
        slot.since >= self.inner.floor.load(Ordering::SeqCst)
            && slot
                .entry
                .tags
                .iter()
                .all(|t| self.inner.stamps.get(t).is_none_or(|s| s <= slot.since))
    }

    fn index(&self, key: &str, tags: &[String]) {
        let mut index = lock(&self.inner.index);
        for tag in tags {
            index.entry(tag.clone()).or_default().insert(key.to_owned());
        }
    }

    /// Drops every entry carrying one of `tags` from L1 (here) and Redis, and tells the other
    /// gateways. Returns how many L1 entries were dropped here. When Redis cannot be reached
    /// the tags are kept and sent once it answers again; until then L2 is neither read nor
    /// written, since it may hold what they invalidate.
    pub async fn invalidate(&self, tags: &[String]) -> usize {
        if tags.is_empty() {
            return 0;
        }
        // Pending first: from before the local stamp until Redis has run the script, no lookup
        // here reads L2, which may still hold what this invalidates.
        let redis = self.inner.redis.is_some();
        if redis {
            lock(&self.inner.pending).extend(tags.iter().cloned());
        }
        let dropped = self.invalidate_local(tags).await;
        metrics::counter!("ontograph_cache_invalidations_total", "origin" => "local")
            .increment(tags.len() as u64);
        self.inner.counts[3].fetch_add(tags.len() as u64, Ordering::Relaxed);
        if redis {
            self.flush_pending().await;
        }
        dropped
    }

    /// Sends the kept invalidations to Redis (all of them, in one script); they stay kept
    /// when Redis cannot be reached.
    async fn flush_pending(&self) {
        self.inner.flushing.fetch_add(1, Ordering::SeqCst);
        let tags: Vec<String> = std::mem::take(&mut *lock(&self.inner.pending))
            .into_iter()
            .collect();
        if !tags.is_empty() && !self.redis_invalidate(&tags).await {
            lock(&self.inner.pending).extend(tags);
        }
        self.inner.flushing.fetch_sub(1, Ordering::SeqCst);
    }

    /// Runs the invalidation script; `false` when Redis could not be reached.
    async fn redis_invalidate(&self, tags: &[String]) -> bool {
        let Some(mut redis) = self.redis_unchecked() else {
            return false;
        };
        let payload = format!("{} {}\n{}", self.inner.origin, now_ms(), tags.join("\n"));
        let keep = self.inner.config.guard_window.as_millis().max(1) as u64;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(INVALIDATE_SCRIPT)
            .arg(0)
            .arg(&self.inner.config.prefix)
            .arg(keep)
            .arg(payload)
            .arg(tags);
        let work = cmd.query_async::<u64>(&mut redis);
        match tokio::time::timeout(self.redis_timeout() * 4, work).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                self.redis_failed(&e.to_string());
                false
            }
            Err(_) => {
                self.redis_failed("invalidation timed out");
                false
            }
        }
    }

    /// Drops the tagged entries from this process's L1 only.
    pub async fn invalidate_local(&self, tags: &[String]) -> usize {
        let keys: Vec<String> = {
            // Under the lock, so stamps only ever grow.
            let mut index = lock(&self.inner.index);
            let stamp = self.inner.invalidations.fetch_add(1, Ordering::SeqCst) + 1;
            for tag in tags {
                self.inner.stamps.insert(tag.clone(), stamp);
            }
            tags.iter()
                .filter_map(|t| index.remove(t))
                .flatten()
                .collect()
        };
        for k in &keys {
            self.inner.l1.invalidate(k).await;
        }
        keys.len()
    }

    /// Drops all of this process's L1 (after a gap in the invalidation feed).
    pub fn clear_local(&self) {
        let mut index = lock(&self.inner.index);
        let stamp = self.inner.invalidations.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.floor.fetch_max(stamp, Ordering::SeqCst);
        index.clear();
        drop(index);
        self.inner.l1.invalidate_all();
    }

    /// Listens for other gateways' invalidations (Redis pub/sub) until the cache is dropped,
    /// reconnecting after failures; after a broken subscription the L1 is cleared.
    pub fn listen(&self) {
        let Some(url) = self.inner.redis.as_ref().map(|r| r.url().to_owned()) else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        let channel = format!("{}:invalidate", self.inner.config.prefix);
        tokio::spawn(async move {
            let mut first = true;
            loop {
                let outcome = async {
                    let client = redis::Client::open(url.as_str())?;
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    if !std::mem::take(&mut first) {
                        // Invalidations published while we were not subscribed are lost.
                        if let Some(inner) = weak.upgrade() {
                            tracing::info!("cache resubscribed: L1 cleared");
                            Cache { inner }.clear_local();
                        }
                    }
                    let mut messages = pubsub.on_message();
                    use futures::StreamExt as _;
                    while let Some(message) = messages.next().await {
                        let Some(inner) = weak.upgrade() else {
                            return Ok(());
                        };
                        let payload: String = message.get_payload()?;
                        Cache { inner }.apply_remote(&payload).await;
                    }
                    redis::RedisResult::Ok(())
                }
                .await;
                if weak.upgrade().is_none() {
                    return;
                }
                if let Err(e) = outcome {
                    tracing::debug!(error = %e, "cache invalidation listener reconnecting");
                }
                first = false;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    async fn apply_remote(&self, payload: &str) {
        let mut lines = payload.lines();
        let Some((origin, sent_ms)) = lines.next().and_then(|h| h.split_once(' ')) else {
            return;
        };
        if origin == self.inner.origin {
            return; // applied locally before it was published
        }
        let tags: Vec<String> = lines.map(str::to_owned).collect();
        self.invalidate_local(&tags).await;
        metrics::counter!("ontograph_cache_invalidations_total", "origin" => "remote")
            .increment(tags.len() as u64);
        self.inner.counts[4].fetch_add(tags.len() as u64, Ordering::Relaxed);
        if let Ok(sent) = sent_ms.parse::<u64>() {
            let lag = now_ms().saturating_sub(sent) as f64 / 1000.0;
            metrics::histogram!("ontograph_cache_invalidation_lag_seconds").record(lag);
        }
    }

    /// Resends invalidations that failed and refreshes the gauges; stops when the cache is
    /// dropped. (Reconnecting is the Redis handle's job.)
    fn spawn_maintenance(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let cache = Cache { inner };
                let pending: Vec<String> = std::mem::take(&mut *lock(&cache.inner.pending))
                    .into_iter()
                    .collect();
                if !pending.is_empty() && !cache.redis_invalidate(&pending).await {
                    lock(&cache.inner.pending).extend(pending);
                }
                let (entries, bytes) = cache.l1_usage();
                metrics::gauge!("ontograph_cache_l1_entries").set(entries as f64);
                metrics::gauge!("ontograph_cache_l1_bytes").set(bytes as f64);
                metrics::gauge!("ontograph_cache_pending_invalidations")
                    .set(lock(&cache.inner.pending).len() as f64);
            }
        });
    }

    /// Counters and state, for the admin API.
    pub fn stats(&self) -> Stats {
        let count = |i: usize| self.inner.counts[i].load(Ordering::Relaxed);
        let (l1_entries, l1_bytes) = self.l1_usage();
        Stats {
            hits_l1: count(0),
            hits_l2: count(1),
            misses: count(2),
            invalidated_here: count(3),
            invalidated_elsewhere: count(4),
            l1_entries,
            l1_bytes,
            l1_capacity_bytes: self.inner.config.l1_bytes,
            redis_configured: self.inner.redis.is_some(),
            redis_connected: self.has_redis(),
            redis_skipped: self.redis_unchecked().is_none(),
            pending_invalidations: self.pending_invalidations(),
        }
    }

    /// Sets the L1 gauges (call before rendering metrics).
    pub fn export_gauges(&self) {
        let (entries, bytes) = self.l1_usage();
        metrics::gauge!("ontograph_cache_l1_entries").set(entries as f64);
        metrics::gauge!("ontograph_cache_l1_bytes").set(bytes as f64);
        metrics::gauge!("ontograph_cache_pending_invalidations")
            .set(self.pending_invalidations() as f64);
    }

    /// Entries and bytes in L1.
    pub fn l1_usage(&self) -> (u64, u64) {
        (self.inner.l1.entry_count(), self.inner.l1.weighted_size())
    }

    /// Tags whose invalidation still has to reach Redis.
    pub fn pending_invalidations(&self) -> usize {
        lock(&self.inner.pending).len()
    }

    /// Runs moka's pending maintenance (tests and metrics read exact counts after it).
    pub async fn sync(&self) {
        self.inner.l1.run_pending_tasks().await;
    }

    /// Redis for entries: skipped while the breaker is open or invalidations are pending or
    /// in flight.
    fn redis(&self) -> Option<redis::aio::ConnectionManager> {
        if self.inner.flushing.load(Ordering::SeqCst) > 0 || !lock(&self.inner.pending).is_empty() {
            return None;
        }
        self.redis_unchecked()
    }

    /// Redis for invalidations: skipped while the breaker is open.
    fn redis_unchecked(&self) -> Option<redis::aio::ConnectionManager> {
        self.inner.redis.as_ref()?.connection()
    }

    fn redis_timeout(&self) -> std::time::Duration {
        self.inner
            .redis
            .as_ref()
            .map_or(Duration::from_millis(50), RedisHandle::timeout)
    }

    fn redis_failed(&self, why: &str) {
        metrics::counter!("ontograph_cache_redis_errors_total").increment(1);
        if let Some(redis) = &self.inner.redis {
            redis.failed("cache", why);
        }
    }

    /// The entry (with its remaining TTL) and Redis's invalidation count, read together.
    /// `(None, None)` when Redis is skipped or failed: nothing may then be stored there.
    async fn redis_get(&self, key: &str) -> (Option<(Entry, Duration)>, Option<u64>) {
        let Some(mut redis) = self.redis() else {
            return (None, None);
        };
        let prefix = &self.inner.config.prefix;
        let name = format!("{prefix}:e:{key}");
        let mut pipe = redis::pipe();
        pipe.cmd("GET")
            .arg(&name)
            .cmd("PTTL")
            .arg(&name)
            .cmd("GET")
            .arg(format!("{prefix}:epoch"));
        let work = pipe.query_async::<(Option<Vec<u8>>, i64, Option<u64>)>(&mut redis);
        match tokio::time::timeout(self.redis_timeout(), work).await {
            Ok(Ok((bytes, pttl, since))) => {
                let found = bytes
                    .and_then(|b| Entry::decode(&b))
                    .filter(|_| pttl > 0)
                    .map(|e| (e, Duration::from_millis(pttl as u64)));
                (found, Some(since.unwrap_or(0)))
            }
            Ok(Err(e)) => {
                self.redis_failed(&e.to_string());
                (None, None)
            }
            Err(_) => {
                self.redis_failed("GET timed out");
                (None, None)
            }
        }
    }

    async fn redis_put(&self, key: &str, entry: &Entry, ttl: Duration, since: u64) {
        let Some(mut redis) = self.redis() else {
            return;
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(PUT_SCRIPT)
            .arg(0)
            .arg(&self.inner.config.prefix)
            .arg(key)
            .arg(since)
            .arg(ttl.as_millis().max(1) as u64)
            .arg(entry.encode())
            .arg(&entry.tags);
        let work = cmd.query_async::<u64>(&mut redis);
        match tokio::time::timeout(self.redis_timeout(), work).await {
            Ok(Ok(1)) => {}
            Ok(Ok(_)) => {
                metrics::counter!("ontograph_cache_stale_refills_refused_total").increment(1);
            }
            Ok(Err(e)) => self.redis_failed(&e.to_string()),
            Err(_) => self.redis_failed("SET timed out"),
        }
    }
}

fn rand_bytes() -> [u8; 8] {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish().to_be_bytes()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &Entry) -> bool {
        true
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"x"]), key(&[b"x"]));
        assert_eq!(key(&[b"x"]).len(), 64);
    }

    #[test]
    fn entries_round_trip() {
        let e = Entry::new(
            &b"{\"data\":1}"[..],
            vec!["l:Person".into(), "n:Person:id:x".into()],
            "FB:abc".into(),
        );
        assert_eq!(Entry::decode(&e.encode()), Some(e));
        assert_eq!(Entry::decode(b"short"), None);
    }

    async fn compute_counting(
        calls: &AtomicU64,
        body: &'static str,
    ) -> Result<(Entry, Option<Duration>), ComputeError> {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok((
            Entry::new(body.as_bytes(), vec!["l:A".into()], String::new()),
            Some(Duration::from_secs(60)),
        ))
    }

    #[tokio::test]
    async fn l1_only_hits_misses_single_flight_and_tags() {
        let cache = Cache::new(CacheConfig::default(), None);
        let calls = AtomicU64::new(0);
        // Ten concurrent misses on one key compute once.
        let results = futures::future::join_all(
            (0..10).map(|_| cache.get_or_compute("k", &any, || compute_counting(&calls, "v"))),
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|(e, _)| e.body == "v")));
        let (_, level) = cache
            .get_or_compute("k", &any, || compute_counting(&calls, "v"))
            .await
            .expect("hit");
        assert_eq!(level, Level::L1);
        assert_eq!(cache.invalidate(&["l:A".into()]).await, 1);
        let (_, level) = cache
            .get_or_compute("k", &any, || compute_counting(&calls, "v"))
            .await
            .expect("miss");
        assert_eq!(level, Level::Miss);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn uncacheable_results_are_returned_not_stored() {
        let cache = Cache::new(CacheConfig::default(), None);
        for _ in 0..2 {
            let (entry, level) = cache
                .get_or_compute("e", &any, || async {
                    Ok((Entry::new(&b"err"[..], vec![], String::new()), None))
                })
                .await
                .expect("returned");
            assert_eq!((&entry.body[..], level), (&b"err"[..], Level::Miss));
        }
        cache.sync().await;
        assert_eq!(cache.l1_usage().0, 0);
    }

    #[tokio::test]
    async fn a_refused_entry_is_recomputed_and_replaced() {
        let cache = Cache::new(CacheConfig::default(), None);
        let calls = AtomicU64::new(0);
        cache
            .get_or_compute("k", &any, || compute_counting(&calls, "old"))
            .await
            .expect("first");
        let wants_new = |e: &Entry| e.body == "new";
        let (entry, level) = cache
            .get_or_compute("k", &wants_new, || compute_counting(&calls, "new"))
            .await
            .expect("refreshed");
        assert_eq!((&entry.body[..], level), (&b"new"[..], Level::Miss));
        let (entry, level) = cache
            .get_or_compute("k", &any, || compute_counting(&calls, "unused"))
            .await
            .expect("hit");
        assert_eq!((&entry.body[..], level), (&b"new"[..], Level::L1));
    }

    #[tokio::test]
    async fn a_miss_overtaken_by_an_invalidation_is_not_served_again() {
        let cache = Cache::new(CacheConfig::default(), None);
        let calls = AtomicU64::new(0);
        // The computation reads "before", then a write invalidates its tag before it finishes.
        let slow = cache.get_or_compute("k", &any, || compute_counting(&calls, "before"));
        let write = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            cache.invalidate(&["l:A".into()]).await
        };
        let (read, _) = tokio::join!(slow, write);
        assert_eq!(read.expect("read").0.body, "before");
        let (entry, level) = cache
            .get_or_compute("k", &any, || compute_counting(&calls, "after"))
            .await
            .expect("recomputed");
        assert_eq!((&entry.body[..], level), (&b"after"[..], Level::Miss));
    }

    #[tokio::test]
    async fn entries_expire_from_l1_with_their_ttl() {
        let cache = Cache::new(CacheConfig::default(), None);
        let short = || async {
            Ok((
                Entry::new(&b"x"[..], vec![], String::new()),
                Some(Duration::from_millis(100)),
            ))
        };
        assert_eq!(
            cache
                .get_or_compute("t", &any, short)
                .await
                .expect("miss")
                .1,
            Level::Miss
        );
        assert_eq!(
            cache.get_or_compute("t", &any, short).await.expect("hit").1,
            Level::L1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            cache
                .get_or_compute("t", &any, short)
                .await
                .expect("expired")
                .1,
            Level::Miss
        );
    }
}
