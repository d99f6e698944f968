//! Replica routing: reads go to healthy readers, writes to the leader.
//!
//! A [`Router`] holds one [`Backend`] per Neo4j server — a connection pool, a one-connection probe
//! client, a circuit breaker and a peak-EWMA load estimate — and a routing table that says which
//! server is the writer (leader) and which are readers. The table is either static (one writer URI
//! and a list of reader URIs) or discovered from a `neo4j://` seed with Neo4j's routing procedure
//! (`dbms.routing.getRoutingTable`), refreshed when its TTL runs out and after routing errors.
//!
//! - **Balancing**: power of two choices over the eligible readers, comparing tower's
//!   [`PeakEwma`] cost (peak-sensitive EWMA of latency times outstanding requests). The choice is
//!   made per request rather than through `tower::balance::p2c::Balance`, because the candidate set
//!   depends on the request: a retry must avoid the reader that just failed, and a session read
//!   may only go to readers that have applied the client's bookmark.
//! - **Failure**: a connection failure ejects a server at once; other server-side failures eject
//!   it after `failures_to_eject` in a row. An ejected server is probed (`RETURN 1`, half-open)
//!   once its back-off has passed; the back-off doubles on every failed probe. Healthy servers are
//!   probed too (active health check). A read that failed on the server side is retried once on
//!   another server; reads fall back to the leader when no reader is healthy (configurable); a
//!   write never waits for an ejected leader: it fails at once with [`Error::Unavailable`].
//! - **Consistency**: see [`ConsistencyLevel`]. Session reads compare the client's bookmark with
//!   the last bookmark each reader returned (see [`crate::bookmark`]); a reader qualifies only when
//!   it hosts the same database and has applied that transaction; otherwise the leader serves.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::future::Ready;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt as _;
use rand::Rng as _;
use serde::Serialize;
use serde_json::Value;
use tower::load::peak_ewma::{Cost, Handle};
use tower::load::{Load, PeakEwma, TrackCompletion};
use tower::Service;

use crate::bookmark::BookmarkPosition;
use crate::client::{Neo4jClient, QueryResult};
use crate::config::Neo4jConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::statement::{AccessMode, Statement};

/// Where the routing table comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopologySource {
    /// A fixed writer and readers (`bolt://host:port` URIs). No readers: the writer serves reads.
    Static {
        /// The leader.
        writer: String,
        /// The read replicas.
        readers: Vec<String>,
    },
    /// A `neo4j://` (or `neo4j+s://`) address of any cluster member or of a load balancer in
    /// front of the cluster, asked for the routing table.
    Discovered {
        /// The seed URI.
        seed: String,
    },
}

impl TopologySource {
    /// `neo4j://…` (with no readers) is discovery; anything else is a static writer plus readers.
    pub fn from_uris(uri: &str, readers: &[String]) -> Result<Self> {
        let scheme = uri.split("://").next().unwrap_or_default();
        if scheme.starts_with("neo4j") {
            if !readers.is_empty() {
                return Err(Error::Config(format!(
                    "{uri} asks for routing-table discovery (neo4j://), which finds the readers \
                     itself; leave the reader URIs empty or use bolt:// for a static topology"
                )));
            }
            return Ok(TopologySource::Discovered {
                seed: uri.to_owned(),
            });
        }
        Ok(TopologySource::Static {
            writer: uri.to_owned(),
            readers: readers.to_vec(),
        })
    }
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsistencyLevel {
    /// Any healthy reader.
    Eventual,
    /// Read-your-writes: with a bookmark, only a server that has applied it (the leader when no
    /// reader can prove it); without one, like `Eventual`.
    #[default]
    Session,
    /// The leader.
    Strong,
}

impl ConsistencyLevel {
    /// `eventual`, `session` or `strong`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConsistencyLevel::Eventual => "eventual",
            ConsistencyLevel::Session => "session",
            ConsistencyLevel::Strong => "strong",
        }
    }
}

impl fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConsistencyLevel {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "eventual" => Ok(ConsistencyLevel::Eventual),
            "session" => Ok(ConsistencyLevel::Session),
            "strong" => Ok(ConsistencyLevel::Strong),
            other => Err(format!(
                "unknown consistency level `{other}`: use eventual, session or strong"
            )),
        }
    }
}

/// The consistency a request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consistency {
    /// The level.
    pub level: ConsistencyLevel,
    /// A bookmark from an earlier write of this client (session level).
    pub bookmark: Option<String>,
}

/// Routing settings. [`RoutingConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// Where the topology comes from.
    pub source: TopologySource,
    /// Credentials, pool size, fetch size and database for every server (its `uri` is unused).
    pub connection: Neo4jConfig,
    /// Serve reads from the leader when no reader is healthy (default true).
    pub read_fallback_to_leader: bool,
    /// How often every server is probed (default 1 s).
    pub health_interval: Duration,
    /// How long a probe may take (default 2 s).
    pub probe_timeout: Duration,
    /// Server-side failures in a row that eject a server (default 3; a connection failure
    /// ejects at once).
    pub failures_to_eject: u32,
    /// First back-off of an ejected server before its half-open probe (default 1 s).
    pub eject_base: Duration,
    /// Longest back-off (default 30 s).
    pub eject_max: Duration,
    /// Soonest a routing table is fetched again after the last fetch (default 1 s).
    pub min_refresh_interval: Duration,
}

impl RoutingConfig {
    /// The defaults for `source`.
    pub fn new(source: TopologySource, connection: Neo4jConfig) -> Self {
        RoutingConfig {
            source,
            connection,
            read_fallback_to_leader: true,
            health_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(2),
            failures_to_eject: 3,
            eject_base: Duration::from_secs(1),
            eject_max: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(1),
        }
    }

    /// One server for everything: `connection.uri` is the writer and the only reader.
    pub fn single(connection: Neo4jConfig) -> Self {
        let source = TopologySource::Static {
            writer: connection.uri.clone(),
            readers: Vec::new(),
        };
        Self::new(source, connection)
    }
}

/// A server's role in the routing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    /// The leader: takes writes.
    Write,
    /// Serves reads.
    Read,
    /// Answers routing-table requests.
    Route,
}

/// A server's health as the router sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HealthState {
    /// Takes requests.
    Up,
    /// Takes no requests until its back-off has passed and a probe succeeds.
    Ejected,
    /// Being probed after its back-off: takes no requests until the probe succeeds.
    HalfOpen,
}

impl HealthState {
    const fn as_str(self) -> &'static str {
        match self {
            HealthState::Up => "up",
            HealthState::Ejected => "ejected",
            HealthState::HalfOpen => "half-open",
        }
    }
}

/// The circuit breaker of one server (pure state machine; the router drives it).
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    state: HealthState,
    since: SystemTime,
    consecutive_failures: u32,
    backoff: Duration,
    retry_at: Option<Instant>,
    last_error: Option<String>,
}

/// A change of [`HealthState`], to be logged.
pub(crate) type Transition = (HealthState, HealthState);

impl Breaker {
    fn new() -> Self {
        Breaker {
            state: HealthState::Up,
            since: SystemTime::now(),
            consecutive_failures: 0,
            backoff: Duration::ZERO,
            retry_at: None,
            last_error: None,
        }
    }

    fn set(&mut self, to: HealthState) -> Option<Transition> {
        let from = self.state;
        if from == to {
            return None;
        }
        self.state = to;
        self.since = SystemTime::now();
        Some((from, to))
    }

    /// A request or probe succeeded.
    fn on_success(&mut self) -> Option<Transition> {
        self.consecutive_failures = 0;
        self.backoff = Duration::ZERO;
        self.retry_at = None;
        self.set(HealthState::Up)
    }

    /// A request or probe failed on the server side; `severe` (connection failure, failed probe)
    /// ejects at once.
    fn on_failure(
        &mut self,
        now: Instant,
        severe: bool,
        error: String,
        config: &RoutingConfig,
    ) -> Option<Transition> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_error = Some(error);
        let eject = self.state != HealthState::Up
            || severe
            || self.consecutive_failures >= config.failures_to_eject.max(1);
        if !eject {
            return None;
        }
        if self.state == HealthState::Ejected {
            // Already out (in-flight requests failing after the ejection): keep the back-off.
            return None;
        }
        self.backoff = if self.backoff.is_zero() {
            config.eject_base
        } else {
            (self.backoff * 2).min(config.eject_max)
        };
        self.retry_at = Some(now + self.backoff);
        self.set(HealthState::Ejected)
    }

    /// Whether an ejected server is due for its half-open probe (moves it to half-open).
    fn probe_due(&mut self, now: Instant) -> Option<Transition> {
        match (self.state, self.retry_at) {
            (HealthState::Ejected, Some(at)) if now >= at => self.set(HealthState::HalfOpen),
            _ => None,
        }
    }
}

/// Decay window of the peak-EWMA latency estimate.
const LOAD_DECAY: Duration = Duration::from_secs(1);

/// tower's `PeakEwma` wrapped around a service that hands out its completion handle: holding the
/// handle counts as an outstanding request; dropping it records the round-trip time.
struct Lease;

impl Service<()> for Lease {
    type Response = ();
    type Error = Infallible;
    type Future = Ready<std::result::Result<(), Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::result::Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, (): ()) -> Self::Future {
        std::future::ready(Ok(()))
    }
}

#[derive(Clone)]
struct KeepHandle;

impl TrackCompletion<Handle, ()> for KeepHandle {
    type Output = Handle;

    fn track_completion(&self, handle: Handle, (): ()) -> Handle {
        handle
    }
}

/// Per-server metric handles.
struct BackendMetrics {
    reads: metrics::Counter,
    writes: metrics::Counter,
    errors: metrics::Counter,
    seconds: metrics::Histogram,
    healthy: metrics::Gauge,
}

impl BackendMetrics {
    fn new(address: &str) -> Self {
        let a = address.to_owned();
        BackendMetrics {
            reads: metrics::counter!(REQUESTS_TOTAL, "backend" => a.clone(), "access" => "read"),
            writes: metrics::counter!(REQUESTS_TOTAL, "backend" => a.clone(), "access" => "write"),
            errors: metrics::counter!(ERRORS_TOTAL, "backend" => a.clone()),
            seconds: metrics::histogram!(SECONDS, "backend" => a.clone()),
            healthy: metrics::gauge!(HEALTHY, "backend" => a),
        }
    }
}

/// `ontograph_backend_requests_total{backend, access}`: statements sent to each server.
pub const REQUESTS_TOTAL: &str = "ontograph_backend_requests_total";
/// `ontograph_backend_errors_total{backend}`: statements that failed on the server side.
pub const ERRORS_TOTAL: &str = "ontograph_backend_errors_total";
/// `ontograph_backend_request_seconds{backend}`: statement latency per server.
pub const SECONDS: &str = "ontograph_backend_request_seconds";
/// `ontograph_backend_healthy{backend}`: 1 while the server takes requests, 0 while ejected.
pub const HEALTHY: &str = "ontograph_backend_healthy";
/// `ontograph_routing_retries_total`: reads retried on another server.
pub const RETRIES_TOTAL: &str = "ontograph_routing_retries_total";
/// `ontograph_routing_leader_reads_total{reason}`: reads served by the leader, and why.
pub const LEADER_READS_TOTAL: &str = "ontograph_routing_leader_reads_total";
/// `ontograph_routing_table_refreshes_total{outcome}`: routing-table fetches (discovery mode).
pub const REFRESHES_TOTAL: &str = "ontograph_routing_table_refreshes_total";

/// Registers the descriptions of the routing metrics.
pub fn describe_metrics() {
    metrics::describe_counter!(REQUESTS_TOTAL, "Statements sent to each Neo4j server");
    metrics::describe_counter!(ERRORS_TOTAL, "Statements that failed on the server side");
    metrics::describe_histogram!(
        SECONDS,
        metrics::Unit::Seconds,
        "Statement latency per server"
    );
    metrics::describe_gauge!(
        HEALTHY,
        "1 while the server takes requests, 0 while ejected"
    );
    metrics::describe_counter!(RETRIES_TOTAL, "Reads retried on another server");
    metrics::describe_counter!(LEADER_READS_TOTAL, "Reads served by the leader, by reason");
    metrics::describe_counter!(REFRESHES_TOTAL, "Routing-table fetches, by outcome");
}

/// One Neo4j server.
pub(crate) struct Backend {
    address: String,
    client: Neo4jClient,
    /// A one-connection client for health probes, so probes never queue behind busy requests.
    probe: Neo4jClient,
    load: Mutex<PeakEwma<Lease, KeepHandle>>,
    breaker: Mutex<Breaker>,
    /// The last transaction this server is known to have applied, per database.
    applied: Mutex<BookmarkPosition>,
    requests: std::sync::atomic::AtomicU64,
    errors: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicI64,
    metrics: BackendMetrics,
}

impl Backend {
    async fn connect(address: &str, scheme: &str, template: &Neo4jConfig) -> Result<Self> {
        let uri = format!("{scheme}://{address}");
        let config = Neo4jConfig {
            uri: uri.clone(),
            ..template.clone()
        };
        let probe_config = Neo4jConfig {
            uri,
            max_connections: 1,
            ..template.clone()
        };
        let backend = Backend {
            address: address.to_owned(),
            client: Neo4jClient::connect(config).await?,
            probe: Neo4jClient::connect(probe_config).await?,
            load: Mutex::new(PeakEwma::new(
                Lease,
                Duration::from_millis(5),
                // Finagle and Linkerd decay over 10 s, tuned for network RTTs; statements here
                // take milliseconds, and a 1 s window forgets a GC pause or a cold restart's
                // first slow queries within seconds instead of a minute.
                LOAD_DECAY.as_nanos() as f64,
                KeepHandle,
            )),
            breaker: Mutex::new(Breaker::new()),
            applied: Mutex::new(BookmarkPosition::default()),
            requests: Default::default(),
            errors: Default::default(),
            in_flight: Default::default(),
            metrics: BackendMetrics::new(address),
        };
        backend.metrics.healthy.set(1.0);
        Ok(backend)
    }

    fn state(&self) -> HealthState {
        self.breaker
            .lock()
            .map(|b| b.state)
            .unwrap_or(HealthState::Ejected)
    }

    fn is_up(&self) -> bool {
        self.state() == HealthState::Up
    }

    fn cost(&self) -> Cost {
        lock(&self.load).load()
    }

    /// The peak-EWMA cost in milliseconds (tower's `Cost` is opaque but prints its value).
    fn cost_ms(&self) -> Option<f64> {
        let text = format!("{:?}", self.cost());
        let nanos: f64 = text
            .strip_prefix("Cost(")?
            .strip_suffix(')')?
            .parse()
            .ok()?;
        Some((nanos / 1e4).round() / 100.0)
    }

    /// Counts an outstanding request until the returned handle is dropped.
    fn lease(&self) -> Option<Handle> {
        let mut load = self.load.lock().ok()?;
        load.call(()).now_or_never().and_then(|r| r.ok())
    }

    fn observe(&self, bookmark: Option<&str>) {
        if let Some(position) = bookmark.and_then(BookmarkPosition::parse) {
            if let Ok(mut applied) = self.applied.lock() {
                applied.advance(&position);
            }
        }
    }

    fn has_applied(&self, position: &BookmarkPosition) -> bool {
        self.applied
            .lock()
            .is_ok_and(|applied| position.is_covered_by(&applied))
    }

    fn transition(&self, change: Option<Transition>, why: &str) {
        let Some((from, to)) = change else { return };
        self.metrics
            .healthy
            .set(if to == HealthState::Up { 1.0 } else { 0.0 });
        let error = self
            .breaker
            .lock()
            .ok()
            .and_then(|b| b.last_error.clone())
            .unwrap_or_default();
        match to {
            HealthState::Up => {
                tracing::info!(backend = %self.address, from = from.as_str(), to = to.as_str(), why, "neo4j server readmitted")
            }
            _ => {
                tracing::warn!(backend = %self.address, from = from.as_str(), to = to.as_str(), why, %error, "neo4j server state changed")
            }
        }
    }

    fn on_success(&self) {
        let change = self.breaker.lock().ok().and_then(|mut b| b.on_success());
        self.transition(change, "request or probe succeeded");
    }

    fn on_failure(&self, error: &Error, config: &RoutingConfig, severe: bool) {
        let change = self
            .breaker
            .lock()
            .ok()
            .and_then(|mut b| b.on_failure(Instant::now(), severe, error.to_string(), config));
        self.transition(change, "failure");
    }

    /// Runs a statement here, keeping the books (load, breaker, bookmark, metrics).
    async fn run(
        &self,
        statement: &Statement,
        access: AccessMode,
        bookmarks: &[String],
        config: &RoutingConfig,
    ) -> Result<QueryResult> {
        use std::sync::atomic::Ordering::Relaxed;
        let handle = self.lease();
        self.requests.fetch_add(1, Relaxed);
        self.in_flight.fetch_add(1, Relaxed);
        match access {
            AccessMode::Read => self.metrics.reads.increment(1),
            AccessMode::Write => self.metrics.writes.increment(1),
        }
        let started = Instant::now();
        let outcome = self.client.run_after(statement, access, bookmarks).await;
        drop(handle);
        self.in_flight.fetch_sub(1, Relaxed);
        self.metrics.seconds.record(started.elapsed().as_secs_f64());
        match &outcome {
            Ok(result) => {
                self.observe(result.bookmark.as_deref());
                if !self.is_up() {
                    // A request that was in flight when the server was ejected proves nothing
                    // about it now; readmission is the probe's job.
                } else {
                    self.on_success();
                }
            }
            Err(error) => {
                if let Some(severe) = server_failure(error) {
                    self.errors.fetch_add(1, Relaxed);
                    self.metrics.errors.increment(1);
                    self.on_failure(error, config, severe);
                }
            }
        }
        outcome
    }

    /// `RETURN 1` on the probe connection.
    async fn probe(&self, timeout: Duration) -> Result<()> {
        let statement = Statement::new("RETURN 1 AS ok").timeout(timeout);
        let result = self.probe.run(&statement, AccessMode::Read).await?;
        self.observe(result.bookmark.as_deref());
        Ok(())
    }
}

/// Whether an error says something about the server (and if so, whether it is severe: a
/// connection-level failure). `None`: the statement's own fault (or a timeout), not the server's.
fn server_failure(error: &Error) -> Option<bool> {
    if is_not_a_leader(error) {
        // A role change (leader election), not a health problem: refresh the table instead.
        return None;
    }
    match error.kind() {
        ErrorKind::Unavailable => Some(true),
        ErrorKind::Server if is_transient(error) => Some(false),
        ErrorKind::Protocol => Some(false),
        _ => None,
    }
}

fn is_transient(error: &Error) -> bool {
    matches!(error, Error::Server { code, .. } if code.starts_with("Neo.TransientError."))
}

fn is_not_a_leader(error: &Error) -> bool {
    matches!(error, Error::Unavailable { code: Some(code), .. }
        if code.ends_with("NotALeader") || code.ends_with("ForbiddenOnReadOnlyDatabase"))
}

/// Where a statement ran.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The statement's outcome.
    pub result: QueryResult,
    /// `host:port` of the server that answered.
    pub backend: String,
    /// Whether that server was the leader.
    pub leader: bool,
}

/// The routing table: who has which role.
#[derive(Default, Clone)]
struct Table {
    writer: Option<Arc<Backend>>,
    readers: Vec<Arc<Backend>>,
    routers: Vec<Arc<Backend>>,
    roles: HashMap<String, BTreeSet<Role>>,
    ttl: Option<Duration>,
    expires: Option<Instant>,
    refreshed: Option<SystemTime>,
    last_refresh_error: Option<String>,
}

struct Shared {
    config: RoutingConfig,
    /// `bolt`, or `bolt+s` / `bolt+ssc` for a TLS seed.
    scheme: String,
    /// Replaced whole on every install; readers take a cheap `Arc` clone per request.
    table: RwLock<Arc<Table>>,
    backends: Mutex<HashMap<String, Arc<Backend>>>,
    refresh_now: Arc<tokio::sync::Notify>,
    last_refresh: Mutex<Option<Instant>>,
    seed: Option<Neo4jClient>,
}

/// Routes statements to the right Neo4j server. Cheap to clone. Background tasks (health checks,
/// routing-table refresh) stop when the last clone is dropped.
#[derive(Clone)]
pub struct Router {
    shared: Arc<Shared>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("source", &self.shared.config.source)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// Builds the pools and starts the background tasks. In discovery mode the first routing
    /// table is fetched before this returns; if the seed cannot be reached, the router starts
    /// empty (requests fail with [`Error::Unavailable`]) and keeps trying.
    pub async fn connect(config: RoutingConfig) -> Result<Self> {
        let (scheme, seed) = match &config.source {
            TopologySource::Static { writer, .. } => (scheme_of(writer)?, None),
            TopologySource::Discovered { seed } => {
                let scheme = match scheme_of(seed)?.as_str() {
                    "neo4j" => "bolt",
                    "neo4j+s" => "bolt+s",
                    "neo4j+ssc" => "bolt+ssc",
                    other => {
                        return Err(Error::Config(format!(
                            "discovery needs a neo4j:// seed, not {other}://"
                        )))
                    }
                };
                let seed_client = Neo4jClient::connect(Neo4jConfig {
                    uri: format!("{scheme}://{}", address_of(seed)),
                    max_connections: 1,
                    ..config.connection.clone()
                })
                .await?;
                (scheme.to_owned(), Some(seed_client))
            }
        };
        let shared = Arc::new(Shared {
            scheme,
            table: RwLock::new(Arc::new(Table::default())),
            backends: Mutex::new(HashMap::new()),
            refresh_now: Arc::new(tokio::sync::Notify::new()),
            last_refresh: Mutex::new(None),
            seed,
            config,
        });
        let router = Router { shared };
        match router.shared.config.source.clone() {
            TopologySource::Static { writer, readers } => {
                let mut roles: HashMap<String, BTreeSet<Role>> = HashMap::new();
                roles
                    .entry(address_of(&writer))
                    .or_default()
                    .extend([Role::Write, Role::Route]);
                if readers.is_empty() {
                    roles
                        .entry(address_of(&writer))
                        .or_default()
                        .insert(Role::Read);
                }
                for reader in &readers {
                    roles
                        .entry(address_of(reader))
                        .or_default()
                        .insert(Role::Read);
                }
                router.install(roles, None).await?;
            }
            TopologySource::Discovered { .. } => {
                if let Err(error) = router.refresh().await {
                    tracing::warn!(%error, "no routing table yet; retrying in the background");
                }
                tokio::spawn(refresh_loop(Arc::downgrade(&router.shared)));
            }
        }
        tokio::spawn(health_loop(Arc::downgrade(&router.shared)));
        Ok(router)
    }

    /// Runs a statement: writes on the leader, reads where `consistency` allows.
    pub async fn run(
        &self,
        statement: &Statement,
        access: AccessMode,
        consistency: &Consistency,
    ) -> Result<Routed> {
        let bookmarks: Vec<String> = consistency.bookmark.iter().cloned().collect();
        let config = &self.shared.config;
        if access == AccessMode::Write {
            let mut leader = self.leader()?;
            let mut outcome = leader.run(statement, access, &bookmarks, config).await;
            if let Err(error) = &outcome {
                if is_not_a_leader(error) && self.is_discovered() {
                    // The leader moved; the server refused before running anything, so the
                    // write can go once to the new leader.
                    if let Err(refresh) = self.refresh().await {
                        tracing::warn!(error = %refresh, "routing table refresh after NotALeader failed");
                    }
                    if let Ok(new_leader) = self.leader() {
                        if new_leader.address != leader.address {
                            tracing::info!(from = %leader.address, to = %new_leader.address, "leader moved; retrying the write there");
                            leader = new_leader;
                            outcome = leader.run(statement, access, &bookmarks, config).await;
                        }
                    }
                } else if error.kind() == ErrorKind::Unavailable {
                    self.shared.refresh_now.notify_one();
                }
            }
            return outcome.map(|result| Routed {
                result,
                backend: leader.address.clone(),
                leader: true,
            });
        }
        let (first, leader) = self.choose_read(consistency, None)?;
        match first.run(statement, access, &bookmarks, config).await {
            Err(error) if server_failure(&error).is_some() => {
                tracing::debug!(backend = %first.address, %error, "read failed; retrying once elsewhere");
                metrics::counter!(RETRIES_TOTAL).increment(1);
                if self.is_discovered() {
                    self.shared.refresh_now.notify_one();
                }
                let (second, leader) = match self.choose_read(consistency, Some(&first.address)) {
                    Ok(choice) => choice,
                    Err(_) => return Err(error),
                };
                let result = second.run(statement, access, &bookmarks, config).await?;
                Ok(Routed {
                    result,
                    backend: second.address.clone(),
                    leader,
                })
            }
            outcome => outcome.map(|result| Routed {
                result,
                backend: first.address.clone(),
                leader,
            }),
        }
    }

    /// Whether a statement writes, as Neo4j classifies it: `EXPLAIN` plans it (without running
    /// it) where reads go, and the summary's query type tells (`r` reads; `w`, `rw` and `s`
    /// write). A server that does not say counts as writing.
    pub async fn writes(&self, statement: &Statement) -> Result<bool> {
        let explain = Statement {
            cypher: format!("EXPLAIN {}", statement.cypher),
            params: statement.params.clone(),
            timeout: statement.timeout,
        };
        let routed = self
            .run(&explain, AccessMode::Read, &Consistency::default())
            .await?;
        Ok(routed.result.writes.unwrap_or(true))
    }

    /// The server (`host:port`) a statement would go to now, without running anything: the
    /// routing decision alone (for diagnostics and for measuring its cost).
    pub fn target(&self, access: AccessMode, consistency: &Consistency) -> Result<String> {
        match access {
            AccessMode::Write => self.leader().map(|b| b.address.clone()),
            AccessMode::Read => self
                .choose_read(consistency, None)
                .map(|(b, _)| b.address.clone()),
        }
    }

    /// A client for the leader (migrations, seeding), or why there is none.
    pub fn leader_client(&self) -> Result<Neo4jClient> {
        self.leader().map(|b| b.client.clone())
    }

    /// A client for every server in the routing table, by `host:port` (per-server statistics
    /// such as index read counts, which each server keeps for itself).
    pub fn server_clients(&self) -> Vec<(String, Neo4jClient)> {
        let table = self.table();
        let pool = self.pool();
        let mut out: Vec<(String, Neo4jClient)> = table
            .roles
            .keys()
            .filter_map(|a| pool.get(a).map(|b| (a.clone(), b.client.clone())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every pooled backend by address (a copy of the map).
    fn pool(&self) -> HashMap<String, Arc<Backend>> {
        self.shared
            .backends
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// Checks that the server a default read would go to answers (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        let (backend, _) = self.choose_read(&Consistency::default(), None)?;
        backend.client.ping().await
    }

    fn is_discovered(&self) -> bool {
        matches!(self.shared.config.source, TopologySource::Discovered { .. })
    }

    fn table(&self) -> Arc<Table> {
        self.shared
            .table
            .read()
            .map(|t| Arc::clone(&t))
            .unwrap_or_default()
    }

    fn leader(&self) -> Result<Arc<Backend>> {
        let table = self.table();
        let Some(writer) = table.writer.clone() else {
            self.shared.refresh_now.notify_one();
            return Err(Error::Unavailable {
                message: "no leader is known (the routing table has no writer)".to_owned(),
                code: None,
            });
        };
        if !writer.is_up() {
            return Err(Error::Unavailable {
                message: format!(
                    "the leader {} is down (ejected after failures: {}); writes fail until it is back",
                    writer.address,
                    writer
                        .breaker
                        .lock()
                        .ok()
                        .and_then(|b| b.last_error.clone())
                        .unwrap_or_default()
                ),
                code: None,
            });
        }
        Ok(writer)
    }

    /// Picks the server for a read; the flag says whether it is the leader.
    fn choose_read(
        &self,
        consistency: &Consistency,
        exclude: Option<&str>,
    ) -> Result<(Arc<Backend>, bool)> {
        let table = self.table();
        let leader_is = |b: &Arc<Backend>| table.writer.as_ref().is_some_and(|w| Arc::ptr_eq(w, b));
        let via_leader = |reason: &'static str| -> Result<(Arc<Backend>, bool)> {
            metrics::counter!(LEADER_READS_TOTAL, "reason" => reason).increment(1);
            let leader = self.leader()?;
            if exclude == Some(leader.address.as_str()) {
                return Err(Error::Unavailable {
                    message: "the leader failed this read and no other server can take it"
                        .to_owned(),
                    code: None,
                });
            }
            Ok((leader, true))
        };
        if consistency.level == ConsistencyLevel::Strong {
            return via_leader("strong");
        }
        let position = match (&consistency.level, &consistency.bookmark) {
            (ConsistencyLevel::Session, Some(bookmark)) => {
                match BookmarkPosition::parse(bookmark) {
                    Some(position) => Some(position),
                    None => return via_leader("session"),
                }
            }
            _ => None,
        };
        let candidates: Vec<&Arc<Backend>> = table
            .readers
            .iter()
            .filter(|b| exclude != Some(b.address.as_str()) && b.is_up())
            .filter(|b| position.as_ref().is_none_or(|p| b.has_applied(p)))
            .collect();
        if let Some(choice) = pick_p2c(&candidates, |b| b.cost()) {
            let leader = leader_is(choice);
            return Ok((Arc::clone(choice), leader));
        }
        if position.is_some() {
            return via_leader("session");
        }
        if self.shared.config.read_fallback_to_leader {
            return via_leader("no_reader");
        }
        Err(Error::Unavailable {
            message: "no healthy Neo4j reader, and falling back to the leader is disabled"
                .to_owned(),
            code: None,
        })
    }

    /// Replaces the routing table (creating pools for new servers).
    async fn install(
        &self,
        roles: HashMap<String, BTreeSet<Role>>,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let shared = &self.shared;
        let mut fresh = Vec::new();
        for address in roles.keys() {
            let known = shared
                .backends
                .lock()
                .map(|b| b.contains_key(address))
                .unwrap_or(false);
            if !known {
                let backend =
                    Backend::connect(address, &shared.scheme, &shared.config.connection).await?;
                fresh.push((address.clone(), Arc::new(backend)));
            }
        }
        let mut backends = shared
            .backends
            .lock()
            .map_err(|_| Error::Protocol("routing state poisoned".to_owned()))?;
        for (address, backend) in fresh {
            backends.entry(address).or_insert(backend);
        }
        backends.retain(|address, _| roles.contains_key(address));
        let with = |role: Role| -> Vec<Arc<Backend>> {
            let mut list: Vec<_> = roles
                .iter()
                .filter(|(_, r)| r.contains(&role))
                .filter_map(|(a, _)| backends.get(a).cloned())
                .collect();
            list.sort_by(|a, b| a.address.cmp(&b.address));
            list
        };
        let writer = with(Role::Write).into_iter().next();
        let table = Table {
            readers: with(Role::Read),
            routers: with(Role::Route),
            writer,
            ttl,
            expires: ttl.map(|t| Instant::now() + t),
            refreshed: Some(SystemTime::now()),
            last_refresh_error: None,
            roles,
        };
        drop(backends);
        let mut current = shared
            .table
            .write()
            .map_err(|_| Error::Protocol("routing state poisoned".to_owned()))?;
        if current.roles != table.roles {
            let describe = |t: &Table| {
                let mut list: Vec<String> =
                    t.roles.iter().map(|(a, r)| format!("{a} {r:?}")).collect();
                list.sort();
                list.join(", ")
            };
            tracing::info!(before = %describe(&current), after = %describe(&table), "routing table changed");
        }
        *current = Arc::new(table);
        Ok(())
    }

    /// Fetches the routing table from a known router, or the seed (discovery mode).
    async fn refresh(&self) -> Result<()> {
        if let Ok(mut last) = self.shared.last_refresh.lock() {
            *last = Some(Instant::now());
        }
        let mut sources: Vec<Neo4jClient> = self
            .table()
            .routers
            .iter()
            .filter(|b| b.is_up())
            .map(|b| b.probe.clone())
            .collect();
        sources.extend(self.shared.seed.clone());
        let mut last_error = Error::Unavailable {
            message: "no router to ask for the routing table".to_owned(),
            code: None,
        };
        for client in sources {
            match fetch_routing_table(&client, self.shared.config.connection.database.as_deref())
                .await
            {
                Ok((roles, ttl)) => {
                    metrics::counter!(REFRESHES_TOTAL, "outcome" => "ok").increment(1);
                    return self.install(roles, Some(ttl)).await;
                }
                Err(error) => last_error = error,
            }
        }
        metrics::counter!(REFRESHES_TOTAL, "outcome" => "error").increment(1);
        if let Ok(mut table) = self.shared.table.write() {
            Arc::make_mut(&mut table).last_refresh_error = Some(last_error.to_string());
        }
        Err(last_error)
    }

    /// Roles, health and load of every server, for `GET /admin/api/topology`.
    pub fn snapshot(&self) -> Value {
        use std::sync::atomic::Ordering::Relaxed;
        let table = self.table();
        let config = &self.shared.config;
        let mut backends: Vec<Value> = Vec::new();
        let mut addresses: Vec<&String> = table.roles.keys().collect();
        addresses.sort();
        let pool = self.pool();
        for address in addresses {
            let Some(b) = pool.get(address) else { continue };
            let breaker = b
                .breaker
                .lock()
                .map(|x| x.clone())
                .unwrap_or_else(|_| Breaker::new());
            backends.push(serde_json::json!({
                "address": address,
                "roles": table.roles.get(address),
                "state": breaker.state,
                "since": rfc3339(breaker.since),
                "consecutiveFailures": breaker.consecutive_failures,
                "lastError": breaker.last_error,
                "requests": b.requests.load(Relaxed),
                "errors": b.errors.load(Relaxed),
                "inFlight": b.in_flight.load(Relaxed),
                "loadCostMs": b.cost_ms(),
            }));
        }
        serde_json::json!({
            "mode": match config.source { TopologySource::Static { .. } => "static", TopologySource::Discovered { .. } => "discovered" },
            "seed": match &config.source { TopologySource::Discovered { seed } => Some(seed.clone()), TopologySource::Static { .. } => None },
            "readFallbackToLeader": config.read_fallback_to_leader,
            "routingTable": {
                "ttlSeconds": table.ttl.map(|t| t.as_secs()),
                "refreshedAt": table.refreshed.map(rfc3339),
                "lastError": table.last_refresh_error,
            },
            "writer": table.writer.as_ref().map(|w| w.address.clone()),
            "readers": table.readers.iter().map(|r| r.address.clone()).collect::<Vec<_>>(),
            "backends": backends,
        })
    }
}

/// Power of two choices: two distinct random candidates, the one with the lower cost.
pub(crate) fn pick_p2c<T, C: PartialOrd>(candidates: &[T], cost: impl Fn(&T) -> C) -> Option<&T> {
    match candidates.len() {
        0 => None,
        1 => candidates.first(),
        n => {
            let mut rng = rand::thread_rng();
            let a = rng.gen_range(0..n);
            let mut b = rng.gen_range(0..n - 1);
            if b >= a {
                b += 1;
            }
            let (ca, cb) = (cost(&candidates[a]), cost(&candidates[b]));
            Some(if cb < ca {
                &candidates[b]
            } else {
                &candidates[a]
            })
        }
    }
}

async fn fetch_routing_table(
    client: &Neo4jClient,
    database: Option<&str>,
) -> Result<(HashMap<String, BTreeSet<Role>>, Duration)> {
    let statement = Statement::new(
        "CALL dbms.routing.getRoutingTable({}, $database) YIELD ttl, servers RETURN ttl, servers",
    )
    .param("database", database.map(Value::from).unwrap_or(Value::Null))
    .timeout(Duration::from_secs(5));
    let result = client.run(&statement, AccessMode::Read).await?;
    let row = result
        .rows
        .first()
        .ok_or_else(|| Error::Protocol("the routing procedure returned no row".to_owned()))?;
    let ttl = row
        .get("ttl")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Protocol("the routing table has no ttl".to_owned()))?;
    let mut roles: HashMap<String, BTreeSet<Role>> = HashMap::new();
    for server in row
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = match server.get("role").and_then(Value::as_str) {
            Some("WRITE") => Role::Write,
            Some("READ") => Role::Read,
            Some("ROUTE") => Role::Route,
            _ => continue,
        };
        for address in server
            .get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            roles.entry(address.to_owned()).or_default().insert(role);
        }
    }
    if roles.is_empty() {
        return Err(Error::Protocol(
            "the routing table lists no server".to_owned(),
        ));
    }
    Ok((roles, Duration::from_secs(ttl.max(1))))
}

/// Probes every server each `health_interval`: healthy ones (active check) and ejected ones whose
/// back-off has passed (half-open).
async fn health_loop(shared: Weak<Shared>) {
    let interval = match shared.upgrade() {
        Some(s) => s.config.health_interval,
        None => return,
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let backends: Vec<Arc<Backend>> = shared
            .backends
            .lock()
            .map(|b| b.values().cloned().collect())
            .unwrap_or_default();
        let config = shared.config.clone();
        drop(shared);
        let probes = backends.into_iter().map(|backend| {
            let config = config.clone();
            async move {
                let due = backend
                    .breaker
                    .lock()
                    .ok()
                    .and_then(|mut b| b.probe_due(Instant::now()));
                backend.transition(due, "back-off passed: half-open probe");
                match backend.state() {
                    HealthState::Ejected => {}
                    _ => match backend.probe(config.probe_timeout).await {
                        Ok(()) => backend.on_success(),
                        Err(error) => backend.on_failure(&error, &config, true),
                    },
                }
            }
        });
        futures::future::join_all(probes).await;
    }
}

/// Refreshes the routing table when its TTL runs out or a request reports a routing error.
async fn refresh_loop(shared: Weak<Shared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let router = Router { shared: strong };
        let expires = router.table().expires;
        let wait = expires
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(router.shared.config.min_refresh_interval);
        let notify = Arc::clone(&router.shared.refresh_now);
        let notified = notify.notified();
        tokio::pin!(notified);
        let weak = Arc::downgrade(&router.shared);
        drop(router);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut notified => {}
        }
        let Some(strong) = weak.upgrade() else { return };
        let router = Router { shared: strong };
        let since_last = router
            .shared
            .last_refresh
            .lock()
            .ok()
            .and_then(|l| *l)
            .map(|at| at.elapsed());
        let min = router.shared.config.min_refresh_interval;
        if let Some(elapsed) = since_last {
            if elapsed < min {
                tokio::time::sleep(min - elapsed).await;
            }
        }
        if let Err(error) = router.refresh().await {
            tracing::warn!(%error, "routing table refresh failed");
        }
    }
}

fn scheme_of(uri: &str) -> Result<String> {
    match uri.split_once("://") {
        Some((scheme, rest)) if !rest.is_empty() => Ok(scheme.to_ascii_lowercase()),
        _ => Err(Error::Config(format!(
            "`{uri}` is not a Neo4j URI (expected bolt://host:port or neo4j://host:port)"
        ))),
    }
}

/// `host:port` of a URI (default port 7687).
fn address_of(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next().unwrap_or(rest);
    if host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host_port.to_owned()
    } else {
        format!("{host_port}:7687")
    }
}

/// Locks a mutex, also after a panic elsewhere (the state guarded here stays consistent).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RoutingConfig {
        RoutingConfig::single(Neo4jConfig::default())
    }

    #[test]
    fn uris_choose_the_source() {
        assert_eq!(
            TopologySource::from_uris("neo4j://db:7687", &[]).expect("ok"),
            TopologySource::Discovered {
                seed: "neo4j://db:7687".into()
            }
        );
        assert!(TopologySource::from_uris("neo4j://db", &["bolt://r:7687".into()]).is_err());
        assert_eq!(
            TopologySource::from_uris("bolt://w:1", &["bolt://r:2".into()]).expect("ok"),
            TopologySource::Static {
                writer: "bolt://w:1".into(),
                readers: vec!["bolt://r:2".into()]
            }
        );
        assert_eq!(address_of("bolt://h:17688"), "h:17688");
        assert_eq!(
            address_of("neo4j+s://cluster.example.com"),
            "cluster.example.com:7687"
        );
    }

    #[test]
    fn consistency_levels_parse() {
        assert_eq!(
            "Strong".parse::<ConsistencyLevel>(),
            Ok(ConsistencyLevel::Strong)
        );
        assert!("fresh".parse::<ConsistencyLevel>().is_err());
    }

    #[test]
    fn breaker_ejects_backs_off_and_readmits() {
        let cfg = config();
        let now = Instant::now();
        let mut b = Breaker::new();
        // Statement-level failures eject only after `failures_to_eject` in a row.
        assert_eq!(b.on_failure(now, false, "x".into(), &cfg), None);
        assert_eq!(b.on_failure(now, false, "x".into(), &cfg), None);
        assert_eq!(
            b.on_failure(now, false, "x".into(), &cfg),
            Some((HealthState::Up, HealthState::Ejected))
        );
        assert_eq!(b.probe_due(now), None, "not before the back-off");
        assert_eq!(
            b.probe_due(now + cfg.eject_base),
            Some((HealthState::Ejected, HealthState::HalfOpen))
        );
        // A failed half-open probe doubles the back-off.
        assert_eq!(
            b.on_failure(now, true, "still down".into(), &cfg),
            Some((HealthState::HalfOpen, HealthState::Ejected))
        );
        assert_eq!(b.backoff, cfg.eject_base * 2);
        assert_eq!(b.probe_due(now + cfg.eject_base), None);
        assert!(b.probe_due(now + cfg.eject_base * 2).is_some());
        assert_eq!(
            b.on_success(),
            Some((HealthState::HalfOpen, HealthState::Up))
        );
        assert_eq!(b.backoff, Duration::ZERO);
        // A connection failure ejects at once.
        assert_eq!(
            b.on_failure(now, true, "refused".into(), &cfg),
            Some((HealthState::Up, HealthState::Ejected))
        );
    }

    #[test]
    fn failures_are_classified_for_the_breaker() {
        let unavailable = Error::Unavailable {
            message: "refused".into(),
            code: None,
        };
        assert_eq!(server_failure(&unavailable), Some(true));
        let not_leader = Error::Unavailable {
            message: "no".into(),
            code: Some("Neo.ClientError.Cluster.NotALeader".into()),
        };
        assert_eq!(
            server_failure(&not_leader),
            None,
            "a role change is not ill health"
        );
        assert!(is_not_a_leader(&not_leader));
        let transient = Error::Server {
            code: "Neo.TransientError.Transaction.BookmarkTimeout".into(),
            message: "not up to date".into(),
        };
        assert_eq!(server_failure(&transient), Some(false));
        let cypher = Error::Cypher {
            code: "Neo.ClientError.Statement.SyntaxError".into(),
            message: "bad".into(),
        };
        assert_eq!(
            server_failure(&cypher),
            None,
            "the statement's fault, not the server's"
        );
        let timeout = Error::Timeout {
            after: Duration::from_secs(1),
            access: AccessMode::Read,
        };
        assert_eq!(server_failure(&timeout), None);
    }

    #[test]
    fn p2c_prefers_the_cheaper_of_two_and_spreads_equal_load() {
        let costs = [5.0, 1.0];
        for _ in 0..100 {
            assert_eq!(pick_p2c(&[0usize, 1], |i| costs[*i]), Some(&1));
        }
        let mut hits = [0u32; 4];
        for _ in 0..4000 {
            let i = *pick_p2c(&[0usize, 1, 2, 3], |_| 1.0).expect("some");
            hits[i] += 1;
        }
        // With equal cost the first of the two random picks wins: uniform over the four.
        assert!(hits.iter().all(|h| (800..1200).contains(h)), "{hits:?}");
        assert_eq!(pick_p2c::<usize, f64>(&[], |_| 0.0), None);
        assert_eq!(pick_p2c(&[7usize], |_| 0.0), Some(&7));
    }
}
