//! Ontograph's result cache: response bytes kept in process (moka, bounded by bytes) in front of
//! Redis (shared by every gateway, with a TTL), filled once per key however many requests miss
//! at the same time (single-flight), and invalidated by tags — the labels and entities a result
//! was read from — when a write commits. This crate stores bytes under keys and tags; it knows
//! nothing of GraphQL or the ontology.
//!
//! - **Keys** are SHA-256 digests of the parts that make two requests equal ([`key`]).
//! - **L1** is a moka future cache weighed by entry size; **L2** is Redis: the entry under
//!   `<prefix>:e:<key>` with a TTL, and each tag as a set `<prefix>:t:<tag>` of keys.
//! - **Invalidation** ([`Cache::invalidate`]) drops the tagged entries from this process's L1 at
//!   once, deletes them from Redis, and publishes the tags on `<prefix>:invalidate` so every
//!   other gateway drops them from its L1 ([`Cache::listen`]).
//! - **Degradation**: every Redis call has a short timeout; after a failure Redis is skipped for
//!   a cool-down (a circuit breaker), so a slow or dead Redis costs requests nothing but the L1
//!   hit rate. The connection manager reconnects in the background.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use redis::AsyncCommands as _;
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
    pub body: Vec<u8>,
    /// What the response was read from (invalidation tags).
    pub tags: Vec<String>,
    /// When it was computed (milliseconds since the Unix epoch).
    pub stored_at_ms: u64,
}

impl Entry {
    /// A new entry stamped now.
    pub fn new(body: Vec<u8>, tags: Vec<String>) -> Self {
        Entry {
            body,
            tags,
            stored_at_ms: now_ms(),
        }
    }

    /// How old the entry is.
    pub fn age(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.stored_at_ms))
    }

    fn encode(&self) -> Vec<u8> {
        // stored_at (8) | tag count (4) | (len (4) | tag)* | body
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(&self.stored_at_ms.to_be_bytes());
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
        let mut at = 0;
        let stored_at_ms = u64::from_be_bytes(take(&mut at, 8)?.try_into().ok()?);
        let count = u32::from_be_bytes(take(&mut at, 4)?.try_into().ok()?);
        let mut tags = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            let len = u32::from_be_bytes(take(&mut at, 4)?.try_into().ok()?) as usize;
            tags.push(String::from_utf8(take(&mut at, len)?.to_vec()).ok()?);
        }
        Some(Entry {
            body: bytes.get(at..)?.to_vec(),
            tags,
            stored_at_ms,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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
}

/// Cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Largest total size of L1 entries, in bytes.
    pub l1_bytes: u64,
    /// Redis URL; `None`: L1 only.
    pub redis_url: Option<String>,
    /// Prefix of Redis keys and the invalidation channel.
    pub prefix: String,
    /// Longest a Redis call may take before it counts as a failure.
    pub redis_timeout: Duration,
    /// How long Redis is skipped after a failure.
    pub redis_cooldown: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            l1_bytes: 64 * 1024 * 1024,
            redis_url: None,
            prefix: "ontograph:cache".to_owned(),
            redis_timeout: Duration::from_millis(50),
            redis_cooldown: Duration::from_secs(2),
        }
    }
}

/// Why computing an entry failed (the caller's error, passed through).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ComputeError(pub String);

/// The two-level cache. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    config: CacheConfig,
    l1: moka::future::Cache<String, Arc<Entry>>,
    /// Tag → keys in L1 (to drop entries by tag without scanning).
    tags: Mutex<HashMap<String, HashSet<String>>>,
    redis: Option<redis::aio::ConnectionManager>,
    /// Redis is skipped until this instant (milliseconds since `epoch`).
    redis_open_until: AtomicU64,
    epoch: Instant,
}

impl Cache {
    /// Builds the cache; with a Redis URL it connects (failing fast when Redis is unreachable
    /// now: the cache then runs on L1 only and logs it).
    pub async fn new(config: CacheConfig) -> Self {
        let l1 = moka::future::Cache::builder()
            .weigher(|k: &String, v: &Arc<Entry>| {
                (k.len() + v.body.len() + v.tags.iter().map(String::len).sum::<usize>())
                    .try_into()
                    .unwrap_or(u32::MAX)
            })
            .max_capacity(config.l1_bytes)
            .build();
        let redis = match &config.redis_url {
            None => None,
            Some(url) => {
                let connect = async {
                    let client = redis::Client::open(url.as_str())?;
                    redis::aio::ConnectionManager::new(client).await
                };
                match tokio::time::timeout(Duration::from_secs(2), connect).await {
                    Ok(Ok(manager)) => Some(manager),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "Redis unavailable: the cache runs on L1 only");
                        None
                    }
                    Err(_) => {
                        tracing::warn!("Redis did not answer: the cache runs on L1 only");
                        None
                    }
                }
            }
        };
        Cache {
            inner: Arc::new(Inner {
                config,
                l1,
                tags: Mutex::new(HashMap::new()),
                redis,
                redis_open_until: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        }
    }

    /// Whether Redis is configured and connected at start.
    pub fn has_redis(&self) -> bool {
        self.inner.redis.is_some()
    }

    /// The entry for `key`: from L1, else Redis, else `compute` — run once for all concurrent
    /// callers of the same key. `compute` returns the entry and its TTL, or `None` for "do not
    /// cache" (e.g. a response with errors: it is returned but not stored).
    pub async fn get_or_compute<F, Fut>(
        &self,
        key: &str,
        compute: F,
    ) -> Result<(Arc<Entry>, Level), ComputeError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Entry, Option<Duration>), ComputeError>>,
    {
        if let Some(hit) = self.inner.l1.get(key).await {
            metrics::counter!("ontograph_cache_hits_total", "level" => "l1").increment(1);
            return Ok((hit, Level::L1));
        }
        // Single flight: moka runs the init future once per key; the others wait for it.
        let level = Arc::new(Mutex::new(Level::Miss));
        let uncached: Arc<Mutex<Option<Arc<Entry>>>> = Arc::new(Mutex::new(None));
        let (level2, uncached2) = (level.clone(), uncached.clone());
        let this = self.clone();
        let owned_key = key.to_owned();
        let entry = self
            .inner
            .l1
            .try_get_with(key.to_owned(), async move {
                if let Some(entry) = this.redis_get(&owned_key).await {
                    *lock(&level2) = Level::L2;
                    let entry = Arc::new(entry);
                    this.index(&owned_key, &entry.tags);
                    return Ok(entry);
                }
                let (entry, ttl) = compute().await?;
                let entry = Arc::new(entry);
                match ttl {
                    Some(ttl) => {
                        this.index(&owned_key, &entry.tags);
                        this.redis_put(&owned_key, &entry, ttl).await;
                        Ok(entry)
                    }
                    None => {
                        // Not cacheable: hand it to the caller through the side door and make
                        // moka store nothing.
                        *lock(&uncached2) = Some(entry);
                        Err(ComputeError("uncacheable".to_owned()))
                    }
                }
            })
            .await;
        let level = *lock(&level);
        match entry {
            Ok(entry) => {
                let label = if level == Level::L2 { "l2" } else { "miss" };
                metrics::counter!("ontograph_cache_hits_total", "level" => label).increment(1);
                Ok((entry, level))
            }
            Err(e) => match lock(&uncached).take() {
                Some(entry) => Ok((entry, Level::Miss)),
                None => Err(ComputeError(e.0.clone())),
            },
        }
    }

    fn index(&self, key: &str, tags: &[String]) {
        let mut index = lock(&self.inner.tags);
        for tag in tags {
            index.entry(tag.clone()).or_default().insert(key.to_owned());
        }
    }

    /// Drops every entry carrying one of `tags` from L1 (here) and Redis, and tells the other
    /// gateways. Returns how many L1 entries were dropped here.
    pub async fn invalidate(&self, tags: &[String]) -> usize {
        let dropped = self.invalidate_local(tags).await;
        metrics::counter!("ontograph_cache_invalidations_total").increment(tags.len() as u64);
        if let Some(mut redis) = self.redis() {
            let prefix = &self.inner.config.prefix;
            let work = async {
                for tag in tags {
                    let set = format!("{prefix}:t:{tag}");
                    let keys: Vec<String> = redis.smembers(&set).await?;
                    let mut doomed: Vec<String> =
                        keys.iter().map(|k| format!("{prefix}:e:{k}")).collect();
                    doomed.push(set);
                    let () = redis.del(doomed).await?;
                }
                let payload = tags.join("\n");
                let () = redis
                    .publish(format!("{prefix}:invalidate"), payload)
                    .await?;
                redis::RedisResult::Ok(())
            };
            match tokio::time::timeout(self.inner.config.redis_timeout * 4, work).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => self.redis_failed(&e.to_string()),
                Err(_) => self.redis_failed("invalidation timed out"),
            }
        }
        dropped
    }

    /// Drops the tagged entries from this process's L1 only.
    pub async fn invalidate_local(&self, tags: &[String]) -> usize {
        let keys: Vec<String> = {
            let mut index = lock(&self.inner.tags);
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

    /// Listens for other gateways' invalidations (Redis pub/sub) until the cache is dropped,
    /// reconnecting after failures.
    pub fn listen(&self) {
        let Some(url) = self.inner.config.redis_url.clone() else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        let channel = format!("{}:invalidate", self.inner.config.prefix);
        tokio::spawn(async move {
            loop {
                let outcome = async {
                    let client = redis::Client::open(url.as_str())?;
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    let mut messages = pubsub.on_message();
                    use futures::StreamExt as _;
                    while let Some(message) = messages.next().await {
                        let Some(inner) = weak.upgrade() else {
                            return Ok(());
                        };
                        let payload: String = message.get_payload()?;
                        let tags: Vec<String> = payload.lines().map(str::to_owned).collect();
                        Cache { inner }.invalidate_local(&tags).await;
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
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Entries and bytes in L1.
    pub fn l1_usage(&self) -> (u64, u64) {
        (self.inner.l1.entry_count(), self.inner.l1.weighted_size())
    }

    /// Runs moka's pending maintenance (tests and metrics read exact counts after it).
    pub async fn sync(&self) {
        self.inner.l1.run_pending_tasks().await;
    }

    fn redis(&self) -> Option<redis::aio::ConnectionManager> {
        let now = self.inner.epoch.elapsed().as_millis() as u64;
        if now < self.inner.redis_open_until.load(Ordering::Relaxed) {
            return None;
        }
        self.inner.redis.clone()
    }

    fn redis_failed(&self, why: &str) {
        let until = self.inner.epoch.elapsed() + self.inner.config.redis_cooldown;
        self.inner
            .redis_open_until
            .store(until.as_millis() as u64, Ordering::Relaxed);
        metrics::counter!("ontograph_cache_redis_errors_total").increment(1);
        tracing::warn!(
            why,
            cooldown_ms = self.inner.config.redis_cooldown.as_millis() as u64,
            "Redis skipped for a while"
        );
    }

    async fn redis_get(&self, key: &str) -> Option<Entry> {
        let mut redis = self.redis()?;
        let name = format!("{}:e:{key}", self.inner.config.prefix);
        match tokio::time::timeout(
            self.inner.config.redis_timeout,
            redis.get::<_, Option<Vec<u8>>>(name),
        )
        .await
        {
            Ok(Ok(Some(bytes))) => Entry::decode(&bytes),
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                self.redis_failed(&e.to_string());
                None
            }
            Err(_) => {
                self.redis_failed("GET timed out");
                None
            }
        }
    }

    async fn redis_put(&self, key: &str, entry: &Entry, ttl: Duration) {
        let Some(mut redis) = self.redis() else {
            return;
        };
        let prefix = &self.inner.config.prefix;
        let name = format!("{prefix}:e:{key}");
        let ttl_ms = ttl.as_millis().max(1) as u64;
        let work = async {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(&name)
                .arg(entry.encode())
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
            for tag in &entry.tags {
                let set = format!("{prefix}:t:{tag}");
                pipe.cmd("SADD").arg(&set).arg(key).ignore();
                // The tag set outlives its entries a little; stale members only cost a DEL.
                pipe.cmd("PEXPIRE").arg(&set).arg(ttl_ms * 2).ignore();
            }
            pipe.query_async::<()>(&mut redis).await
        };
        match tokio::time::timeout(self.inner.config.redis_timeout, work).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.redis_failed(&e.to_string()),
            Err(_) => self.redis_failed("SET timed out"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"x"]), key(&[b"x"]));
        assert_eq!(key(&[b"x"]).len(), 64);
    }

    #[test]
    fn entries_round_trip() {
        let e = Entry::new(
            b"{\"data\":1}".to_vec(),
            vec!["label:Person".into(), "node:x".into()],
        );
        assert_eq!(Entry::decode(&e.encode()), Some(e));
        assert_eq!(Entry::decode(b"short"), None);
    }

    #[tokio::test]
    async fn l1_only_hits_misses_single_flight_and_tags() {
        let cache = Cache::new(CacheConfig::default()).await;
        let calls = Arc::new(AtomicU64::new(0));
        let compute = |calls: Arc<AtomicU64>| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok((
                Entry::new(b"v".to_vec(), vec!["label:A".into()]),
                Some(Duration::from_secs(60)),
            ))
        };
        // Ten concurrent misses on one key compute once.
        let results = futures::future::join_all((0..10).map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            async move { cache.get_or_compute("k", || compute(calls)).await }
        }))
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|(e, _)| e.body == b"v")));
        let (_, level) = cache
            .get_or_compute("k", || compute(calls.clone()))
            .await
            .expect("hit");
        assert_eq!(level, Level::L1);
        assert_eq!(cache.invalidate(&["label:A".into()]).await, 1);
        let (_, level) = cache
            .get_or_compute("k", || compute(calls.clone()))
            .await
            .expect("miss");
        assert_eq!(level, Level::Miss);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn uncacheable_results_are_returned_not_stored() {
        let cache = Cache::new(CacheConfig::default()).await;
        for _ in 0..2 {
            let (entry, level) = cache
                .get_or_compute("e", || async {
                    Ok((Entry::new(b"err".to_vec(), vec![]), None))
                })
                .await
                .expect("returned");
            assert_eq!((entry.body.as_slice(), level), (&b"err"[..], Level::Miss));
        }
        cache.sync().await;
        assert_eq!(cache.l1_usage().0, 0);
    }
}
