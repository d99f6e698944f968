//! One Redis connection shared by everything in a process that uses Redis (the result cache,
//! rate limits, persisted queries, the admin audit log and sessions, the degree store).
//!
//! - **One connection manager**: made at start (waiting at most `connect_timeout`); when Redis
//!   is not there, a background task keeps trying every `reconnect_interval` until it answers,
//!   so a Redis that comes up later is used by every user at once. Once made, the manager
//!   re-establishes a broken connection by itself.
//! - **One timeout**: every call is bounded by `timeout` (or a longer bound the caller names for
//!   scripts that do more work); a call that fails or times out counts as a failure.
//! - **One breaker**: after a failure Redis is skipped by every user for `cooldown`, so a slow or
//!   dead Redis costs requests nothing but what Redis would have added.
//!
//! Callers treat `None` as "Redis is not available now" and fall back to what they can do alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// How the process talks to Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port[/db]` (the password, if any, is never logged).
    pub url: String,
    /// Longest one call may take before it counts as a failure.
    pub timeout: Duration,
    /// How long every user skips Redis after a failure.
    pub cooldown: Duration,
    /// Longest the first connection attempt may take at start.
    pub connect_timeout: Duration,
    /// How often a missing connection is tried again.
    pub reconnect_interval: Duration,
}

impl RedisConfig {
    /// The defaults for `url`: 50 ms per call, 2 s of cool-down, 2 s to connect, a new attempt
    /// every 500 ms.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            timeout: Duration::from_millis(50),
            cooldown: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            reconnect_interval: Duration::from_millis(500),
        }
    }
}

/// The state of the connection, for status pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisStatus {
    /// A connection manager exists (Redis answered at least once).
    pub connected: bool,
    /// The breaker is open: calls are skipped until the cool-down ends.
    pub skipped: bool,
}

/// The shared handle; cheap to clone.
#[derive(Clone)]
pub struct RedisHandle {
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisConfig,
    conn: RwLock<Option<ConnectionManager>>,
    /// Redis is skipped until this many milliseconds after `epoch`.
    open_until_ms: AtomicU64,
    epoch: Instant,
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl RedisHandle {
    /// Connects (waiting at most `connect_timeout`). A Redis that does not answer yet is tried
    /// again in the background until it does; the handle works meanwhile, answering `None`.
    pub async fn connect(config: RedisConfig) -> Self {
        let handle = RedisHandle {
            inner: Arc::new(Inner {
                config,
                conn: RwLock::new(None),
                open_until_ms: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        };
        match handle.try_connect().await {
            Ok(()) => {}
            Err(error) => tracing::warn!(
                %error,
                "Redis unavailable at start: shared state stays in this process until it answers"
            ),
        }
        spawn_reconnect(Arc::downgrade(&handle.inner));
        handle
    }

    async fn try_connect(&self) -> redis::RedisResult<()> {
        let client = redis::Client::open(self.inner.config.url.as_str())?;
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(self.inner.config.connect_timeout)
            .set_response_timeout(self.inner.config.connect_timeout)
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(
            self.inner.config.connect_timeout,
            ConnectionManager::new_with_config(client, manager_config),
        )
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "connect timed out")))??;
        *self
            .inner
            .conn
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(manager);
        Ok(())
    }

    /// The URL (for connections that cannot be shared, such as a pub/sub subscription).
    pub fn url(&self) -> &str {
        &self.inner.config.url
    }

    /// The per-call time limit.
    pub fn timeout(&self) -> Duration {
        self.inner.config.timeout
    }

    /// The connection, unless there is none yet or the breaker is open.
    pub fn connection(&self) -> Option<ConnectionManager> {
        if self.is_skipped() {
            return None;
        }
        self.manager()
    }

    fn manager(&self) -> Option<ConnectionManager> {
        self.inner
            .conn
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn now_ms(&self) -> u64 {
        self.inner.epoch.elapsed().as_millis() as u64
    }

    /// Whether the breaker is open.
    pub fn is_skipped(&self) -> bool {
        self.now_ms() < self.inner.open_until_ms.load(Ordering::Relaxed)
    }

    /// Connected, and whether calls are being skipped.
    pub fn status(&self) -> RedisStatus {
        RedisStatus {
            connected: self.manager().is_some(),
            skipped: self.is_skipped(),
        }
    }

    /// Records a failed call by `user` (a short name: `cache`, `ratelimit`...): every user skips
    /// Redis for the cool-down.
    pub fn failed(&self, user: &'static str, why: &str) {
        let until = self.now_ms() + self.inner.config.cooldown.as_millis() as u64;
        let previous = self.inner.open_until_ms.swap(until, Ordering::Relaxed);
        metrics::counter!("ontograph_redis_errors_total", "user" => user).increment(1);
        if previous <= self.now_ms() {
            tracing::warn!(
                user,
                why,
                cooldown_ms = self.inner.config.cooldown.as_millis() as u64,
                "Redis call failed: Redis is skipped for a while"
            );
        }
    }

    /// Runs `cmd` within the per-call timeout; `None` when Redis is not available now (no
    /// connection, breaker open, an error or a time-out, which opens the breaker).
    pub async fn query<T: redis::FromRedisValue>(
        &self,
        user: &'static str,
        cmd: &redis::Cmd,
    ) -> Option<T> {
        self.query_within(user, cmd, self.inner.config.timeout)
            .await
    }

    /// [`RedisHandle::query`] with a longer bound, for scripts that do more work than a lookup.
    pub async fn query_within<T: redis::FromRedisValue>(
        &self,
        user: &'static str,
        cmd: &redis::Cmd,
        limit: Duration,
    ) -> Option<T> {
        let mut conn = self.connection()?;
        self.settle(user, limit, cmd.query_async::<T>(&mut conn))
            .await
    }

    /// The outcome of one call within `limit`; a failure opens the breaker.
    async fn settle<T>(
        &self,
        user: &'static str,
        limit: Duration,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.failed(user, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(user, "timed out");
                None
            }
        }
    }

    /// Runs a pipeline within `limit`, like [`RedisHandle::query_within`].
    pub async fn pipeline<T: redis::FromRedisValue>(
        &self,
        user: &'static str,
        pipe: &redis::Pipeline,
        limit: Duration,
    ) -> Option<T> {
        let mut conn = self.connection()?;
        self.settle(user, limit, pipe.query_async::<T>(&mut conn))
            .await
    }
}

/// Tries to connect every `reconnect_interval` while there is no connection manager; ends when
/// the handle is dropped.
fn spawn_reconnect(weak: Weak<Inner>) {
    tokio::spawn(async move {
        loop {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let interval = inner.config.reconnect_interval;
            let handle = RedisHandle { inner };
            let missing = handle.manager().is_none();
            if missing && handle.try_connect().await.is_ok() {
                tracing::info!("Redis connected: shared state is shared again");
            }
            drop(handle);
            tokio::time::sleep(interval).await;
        }
    });
}
