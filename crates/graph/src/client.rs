//! The Neo4j client: a neo4rs connection pool that runs one statement at a time as JSON in, JSON out.
//!
//! Every statement runs in its own tokio task, so a caller that times out or is cancelled never
//! returns a pooled connection in the middle of a Bolt exchange (neo4rs 0.8 would hand such a
//! connection to the next caller out of step). A statement that overruns its timeout is stopped on
//! the server with `TERMINATE TRANSACTIONS`, found through a hidden statement-id parameter.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use neo4rs::{ConfigBuilder, Graph, Query};
use serde_json::{Map, Value};
use tracing::Instrument as _;

use crate::config::Neo4jConfig;
use crate::error::{Error, Result};
use crate::statement::{AccessMode, Statement};
use crate::telemetry;
use crate::value::{params_to_bolt, row_to_json};

/// Parameter added to statements that have a timeout, so that an overrunning statement can be
/// found in `SHOW TRANSACTIONS` and terminated. Callers must not use this name.
pub const STATEMENT_ID_PARAM: &str = "__ontograph_statement_id";

/// How long [`Neo4jClient::ping`] waits for `RETURN 1`.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, and how far apart, a timed-out statement is looked for to be terminated.
const TERMINATE_ATTEMPTS: u32 = 20;
const TERMINATE_INTERVAL: Duration = Duration::from_millis(250);

/// Update counters of a write statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Nodes created.
    pub nodes_created: u64,
    /// Nodes deleted.
    pub nodes_deleted: u64,
    /// Relationships created.
    pub relationships_created: u64,
    /// Relationships deleted.
    pub relationships_deleted: u64,
    /// Properties set.
    pub properties_set: u64,
}

/// The outcome of a statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    /// Every row as a JSON object, column name → value (see [`crate::value`] for the mapping).
    pub rows: Vec<Map<String, Value>>,
    /// Update counters. Always `None` with neo4rs 0.8, which discards the result summary.
    pub counters: Option<Counters>,
    /// The bookmark Neo4j gave for the transaction (present for commits on Neo4j 4+): a later
    /// transaction that presents it is only served once the server has applied this one.
    pub bookmark: Option<String>,
    /// Whether the statement writes, as the server classified it (`r` → no; `w`, `rw`, `s` →
    /// yes); `None` when the server did not say.
    pub writes: Option<bool>,
}

/// A Neo4j client: cheap to clone, shareable across tasks.
#[derive(Clone)]
pub struct Neo4jClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The pool every statement uses today. Replica routing will add reader pools next to it.
    primary: Graph,
    config: Neo4jConfig,
}

impl fmt::Debug for Neo4jClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Neo4jClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Neo4jClient {
    /// Creates the connection pool. No connection is opened yet: use [`Neo4jClient::ping`] to
    /// check that the server answers.
    pub async fn connect(config: Neo4jConfig) -> Result<Self> {
        if config.uri.trim().is_empty() {
            return Err(Error::Config("the Neo4j URI is empty".to_owned()));
        }
        if config.max_connections == 0 {
            return Err(Error::Config(
                "max_connections must be at least 1".to_owned(),
            ));
        }
        if config.fetch_size == 0 {
            return Err(Error::Config("fetch_size must be at least 1".to_owned()));
        }
        let mut builder = ConfigBuilder::default()
            .uri(config.uri.as_str())
            .user(config.user.as_str())
            .password(config.password.as_str())
            .max_connections(config.max_connections)
            .fetch_size(config.fetch_size);
        // neo4rs always names a database in BEGIN/RUN; an empty name makes Neo4j use its default.
        builder = builder.db(config.database.as_deref().unwrap_or(""));
        let primary = Graph::connect(builder.build()?).await?;
        Ok(Self {
            inner: Arc::new(Inner { primary, config }),
        })
    }

    /// The settings this client was created with.
    pub fn config(&self) -> &Neo4jConfig {
        &self.inner.config
    }

    /// Checks that Neo4j answers `RETURN 1` within [`PING_TIMEOUT`] (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        let statement = Statement::new("RETURN 1 AS ok").timeout(PING_TIMEOUT);
        let result = self.run(&statement, AccessMode::Read).await?;
        match result.rows.first().and_then(|row| row.get("ok")) {
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(()),
            other => Err(Error::Protocol(format!(
                "RETURN 1 answered {other:?} instead of 1"
            ))),
        }
    }

    /// Runs one statement and collects all its rows.
    ///
    /// The statement runs in an explicit transaction that is committed after the last row, or
    /// rolled back when anything fails. Records the `ontograph_neo4j_statement_seconds`
    /// histogram and, on failure, `ontograph_neo4j_errors_total`.
    pub async fn run(&self, statement: &Statement, access: AccessMode) -> Result<QueryResult> {
        self.run_after(statement, access, &[]).await
    }

    /// [`Neo4jClient::run`] after `bookmarks`: the server starts the transaction only once it
    /// has applied every one of them (it waits up to its `db.transaction.bookmark_ready_timeout`,
    /// bounded here by the statement's own timeout). A read runs in read mode.
    pub async fn run_after(
        &self,
        statement: &Statement,
        access: AccessMode,
        bookmarks: &[String],
    ) -> Result<QueryResult> {
        let span = tracing::debug_span!(
            "neo4j.statement",
            access = access.as_str(),
            cypher = %abbreviate(&statement.cypher),
            elapsed_ms = tracing::field::Empty,
            rows = tracing::field::Empty,
        );
        let started = Instant::now();
        let outcome = self
            .run_task(statement, access, bookmarks)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        span.record("elapsed_ms", elapsed.as_secs_f64() * 1000.0);
        telemetry::record_statement(access, elapsed);
        match &outcome {
            Ok((rows, _)) => {
                span.record("rows", rows.len());
                tracing::debug!(parent: &span, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "statement done");
            }
            Err(error) => {
                telemetry::record_error(error.kind());
                tracing::debug!(parent: &span, elapsed_ms = elapsed.as_secs_f64() * 1000.0, %error, "statement failed");
            }
        }
        outcome.map(|(rows, summary)| QueryResult {
            rows,
            counters: None,
            writes: summary.query_type.as_deref().map(|t| t != "r"),
            bookmark: summary.bookmark,
        })
    }

    /// Spawns the statement and waits for it, at most `statement.timeout`.
    async fn run_task(
        &self,
        statement: &Statement,
        access: AccessMode,
        bookmarks: &[String],
    ) -> Result<Rows> {
        if statement.params.contains_key(STATEMENT_ID_PARAM) {
            return Err(Error::Parameter {
                path: STATEMENT_ID_PARAM.to_owned(),
                reason: "this parameter name is reserved".to_owned(),
            });
        }
        let mut params = params_to_bolt(&statement.params)?;
        let statement_id = statement.timeout.map(|_| next_statement_id());
        if let Some(id) = &statement_id {
            params.put(STATEMENT_ID_PARAM.into(), id.as_str().into());
        }
        let query = Query::new(statement.cypher.clone()).params(params.value);

        let graph = self.pool(access).clone();
        let progress = Arc::new(Progress::default());
        let task = tokio::spawn(
            execute(
                graph,
                query,
                access,
                bookmarks.to_vec(),
                Arc::clone(&progress),
            )
            .in_current_span(),
        );
        let _abandon = AbandonOnDrop(Arc::clone(&progress));
        let joined = match statement.timeout {
            None => task.await,
            Some(limit) => match tokio::time::timeout(limit, task).await {
                Ok(joined) => joined,
                Err(_) => {
                    progress.abandoned.store(true, Ordering::SeqCst);
                    if let Some(id) = statement_id {
                        self.spawn_terminator(id, progress);
                    }
                    return Err(Error::Timeout {
                        after: limit,
                        access,
                    });
                }
            },
        };
        joined.map_err(|e| Error::Protocol(format!("statement task failed: {e}")))?
    }

    /// The pool for this access mode (one pool for now; replicas will serve reads later).
    fn pool(&self, access: AccessMode) -> &Graph {
        match access {
            AccessMode::Read | AccessMode::Write => &self.inner.primary,
        }
    }

    /// Stops a timed-out statement on the server, best effort and in the background.
    fn spawn_terminator(&self, statement_id: String, progress: Arc<Progress>) {
        let graph = self.inner.primary.clone();
        tokio::spawn(
            async move {
                for _ in 0..TERMINATE_ATTEMPTS {
                    if progress.finished.load(Ordering::SeqCst) {
                        return;
                    }
                    match terminate(&graph, &statement_id).await {
                        Ok(0) => {}
                        Ok(count) => {
                            tracing::debug!(count, "terminated timed-out transaction");
                            return;
                        }
                        Err(error) => {
                            tracing::debug!(%error, "could not terminate timed-out statement")
                        }
                    }
                    tokio::time::sleep(TERMINATE_INTERVAL).await;
                }
            }
            .in_current_span(),
        );
    }
}

/// What the statement task and its caller know about each other.
#[derive(Default)]
struct Progress {
    /// The caller stopped waiting: a write that has not started yet must not start.
    abandoned: AtomicBool,
    /// The task is done (no need to terminate anything).
    finished: AtomicBool,
}

/// Rows as JSON objects and what the server said when the statement finished.
type Rows = (Vec<Map<String, Value>>, neo4rs::Summary);

/// Marks the statement abandoned when the caller's future is dropped (timeout or cancellation).
struct AbandonOnDrop(Arc<Progress>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandoned.store(true, Ordering::SeqCst);
    }
}

/// Runs the statement to completion, always leaving the connection in step with the server.
async fn execute(
    graph: Graph,
    query: Query,
    access: AccessMode,
    bookmarks: Vec<String>,
    progress: Arc<Progress>,
) -> Result<Rows> {
    let outcome = execute_in_txn(&graph, query, access, &bookmarks, &progress).await;
    progress.finished.store(true, Ordering::SeqCst);
    outcome
}

/// Runs the statement with its Bolt messages pipelined (patched neo4rs, see
/// `third_party/neo4rs/PATCHED.md`): a read is `RUN`+`PULL` in one round trip (auto-commit), a
/// write `BEGIN`+`RUN`+`PULL` then `COMMIT` — an explicit transaction, so a failure commits
/// nothing. neo4rs's own auto-commit path (`Graph::execute`) retries even "connection refused"
/// for up to 60 s; this path never retries, so an unreachable server fails at once with
/// [`Error::Unavailable`]. Nothing is sent once the caller has given up.
async fn execute_in_txn(
    graph: &Graph,
    query: Query,
    access: AccessMode,
    bookmarks: &[String],
    progress: &Progress,
) -> Result<Rows> {
    if progress.abandoned.load(Ordering::SeqCst) {
        return Err(Error::Protocol(format!(
            "{access} abandoned by its caller before it started"
        )));
    }
    let (rows, summary) = graph
        .run_pipelined_after(query, access == AccessMode::Write, bookmarks)
        .await?;
    let rows = rows.iter().map(row_to_json).collect::<Result<_>>()?;
    Ok((rows, summary))
}

/// Finds transactions running the statement with this id and terminates them.
async fn terminate(graph: &Graph, statement_id: &str) -> Result<usize> {
    let find = Query::new(format!(
        "SHOW TRANSACTIONS YIELD transactionId, parameters \
         WHERE parameters.`{STATEMENT_ID_PARAM}` = $id RETURN transactionId"
    ))
    .param("id", statement_id);
    let mut stream = graph.execute(find).await?;
    let mut ids = Vec::new();
    while let Some(row) = stream.next().await? {
        if let Ok(id) = row.get::<String>("transactionId") {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let count = ids.len();
    let kill = Query::new("TERMINATE TRANSACTIONS $ids".to_owned()).param("ids", ids);
    let mut stream = graph.execute(kill).await?;
    while stream.next().await?.is_some() {}
    Ok(count)
}

/// A process-unique statement id.
fn next_statement_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static EPOCH: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let epoch = EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{epoch:x}-{n:x}", std::process::id())
}

/// The first line of a statement, at most 120 characters, for spans.
fn abbreviate(cypher: &str) -> String {
    let line = cypher.trim().lines().next().unwrap_or_default();
    let mut text: String = line.chars().take(120).collect();
    if text.len() < cypher.trim().len() {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_builder() {
        let statement = Statement::new("RETURN $a")
            .param("a", 1)
            .timeout(Duration::from_secs(2));
        assert_eq!(statement.params["a"], Value::from(1));
        assert_eq!(statement.timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn statement_ids_are_unique() {
        assert_ne!(next_statement_id(), next_statement_id());
    }

    #[test]
    fn abbreviates_long_statements() {
        assert_eq!(abbreviate("RETURN 1"), "RETURN 1");
        assert_eq!(abbreviate("MATCH (n)\nRETURN n"), "MATCH (n)…");
        assert_eq!(abbreviate(&"x".repeat(200)).chars().count(), 121);
    }

    #[tokio::test]
    async fn rejects_unusable_configuration() {
        let zero = Neo4jConfig {
            max_connections: 0,
            ..Neo4jConfig::default()
        };
        assert!(matches!(
            Neo4jClient::connect(zero).await,
            Err(Error::Config(_))
        ));
        let bad_scheme = Neo4jConfig::new("http://localhost:7474");
        assert!(matches!(
            Neo4jClient::connect(bad_scheme).await,
            Err(Error::Config(_))
        ));
    }

    #[tokio::test]
    async fn reserved_parameter_is_rejected_before_connecting() {
        // Port 9 (discard) on loopback: nothing is contacted because validation fails first.
        let client = Neo4jClient::connect(Neo4jConfig::new("bolt://127.0.0.1:9"))
            .await
            .expect("pool");
        let statement = Statement::new("RETURN 1").param(STATEMENT_ID_PARAM, "x");
        let error = client
            .run(&statement, AccessMode::Read)
            .await
            .expect_err("reserved");
        assert!(matches!(error, Error::Parameter { .. }));
    }

    #[tokio::test]
    async fn unreachable_server_is_unavailable() {
        // Bind then drop a listener to get a local port that refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let client = Neo4jClient::connect(Neo4jConfig::new(format!("bolt://127.0.0.1:{port}")))
            .await
            .expect("pool");
        let error = client.ping().await.expect_err("nobody listens");
        assert_eq!(error.kind(), crate::ErrorKind::Unavailable, "{error:?}");
    }
}
