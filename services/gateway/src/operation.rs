//! Runs a validated GraphQL operation as ONE Cypher statement.
//!
//! The HTTP handler parses the document once and puts it, with the variables, in an
//! [`OperationSlot`] attached to the request. After async-graphql has validated the operation,
//! the [`OneStatement`] extension builds the query IR (fragments flattened, variables
//! substituted, `@skip`/`@include` applied), compiles it, runs it on Neo4j (reads on the read
//! path, mutations on the leader), shapes the row and fills the slot; the resolvers then only
//! read from it (see [`crate::schema`]).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, Variables};
use graph::{AccessMode, Consistency, Router, Statement};
use ontology::compile::{compile, compile_with, CompileOptions, CompiledOperation};
use ontology::ir::{Operation, OperationKind};
use ontology::served::ServedOntology;
use ontology::Ontology;
use serde_json::Map;

use crate::respond::coded_error;

/// The per-request state shared by the handler, the extension and the root resolvers.
pub struct OperationSlot {
    doc: ExecutableDocument,
    variables: Variables,
    data: Mutex<Map<String, serde_json::Value>>,
    /// The whole `data` object, rendered without resolvers (see [`crate::render`]).
    rendered: Mutex<Option<serde_json::Value>>,
    /// Where the read may be served (see [`graph::ConsistencyLevel`]).
    consistency: Consistency,
    /// The bookmark of the mutation's transaction, for the client's next session read.
    bookmark: Mutex<Option<String>>,
    /// The bookmark a query's transaction returned: the data version its result reflects.
    observed: Mutex<Option<String>>,
    /// What the compiled statement reads or may change (cache tags), once compiled.
    tags: Mutex<Option<BTreeSet<String>>>,
    /// Supernode rules considered by the compiler.
    decisions: Mutex<Vec<ontology::rewrite::Decision>>,
    /// Node properties the statement filters or sorts on.
    uses: Mutex<BTreeSet<ontology::compile::PropertyUse>>,
    /// Items in the root lists (or connection edges) of the result.
    rows: std::sync::atomic::AtomicU64,
    /// Whether a statement ran.
    ran: std::sync::atomic::AtomicBool,
    /// Whether the statement ran as a write (a mutation, or a query whose `@cypher` statement
    /// writes): its tags are invalidated and its result is not cached.
    wrote: std::sync::atomic::AtomicBool,
    /// Root lists and connections the default page size cut short.
    truncated: Mutex<Vec<ontology::shape::Truncated>>,
    /// The caller's roles (the ontology's read rules).
    pub roles: BTreeSet<String>,
    /// The caller's token payload (`$jwt` in `@cypher` statements, read rules).
    pub jwt: serde_json::Map<String, serde_json::Value>,
    /// Whether the caller authenticated (a token or an API key).
    pub authenticated: bool,
    /// Whether the statement read the caller's token: its result is not cached.
    per_caller: std::sync::atomic::AtomicBool,
}

impl OperationSlot {
    pub fn new(doc: ExecutableDocument, variables: Variables, consistency: Consistency) -> Self {
        OperationSlot {
            doc,
            variables,
            data: Mutex::new(Map::new()),
            rendered: Mutex::new(None),
            consistency,
            bookmark: Mutex::new(None),
            observed: Mutex::new(None),
            tags: Mutex::new(None),
            decisions: Mutex::new(Vec::new()),
            uses: Mutex::new(BTreeSet::new()),
            rows: std::sync::atomic::AtomicU64::new(0),
            ran: std::sync::atomic::AtomicBool::new(false),
            wrote: std::sync::atomic::AtomicBool::new(false),
            truncated: Mutex::new(Vec::new()),
            roles: BTreeSet::new(),
            jwt: serde_json::Map::new(),
            authenticated: false,
            per_caller: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The same slot for this caller: its roles, token payload and whether it authenticated.
    pub fn with_caller(mut self, caller: &crate::access::Caller) -> Self {
        self.roles.clone_from(&caller.roles);
        self.jwt.clone_from(&caller.claims);
        self.authenticated = caller.authenticated();
        self
    }

    /// Whether the statement read the caller's token (`$jwt`).
    pub fn per_caller(&self) -> bool {
        self.per_caller.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The supernode rules the compiler considered.
    pub fn decisions(&self) -> Vec<ontology::rewrite::Decision> {
        self.decisions.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The node properties the statement filters or sorts on.
    pub fn uses(&self) -> BTreeSet<ontology::compile::PropertyUse> {
        self.uses.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// Items returned in the root lists (or connection edges).
    pub fn rows(&self) -> u64 {
        self.rows.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Root lists and connections the default page size cut short.
    pub fn truncated(&self) -> Vec<ontology::shape::Truncated> {
        self.truncated.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Whether the operation ran a statement.
    pub fn ran(&self) -> bool {
        self.ran.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the statement ran as a write.
    pub fn wrote(&self) -> bool {
        self.wrote.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The bookmark a query's transaction returned (the data version it read).
    pub fn observed(&self) -> Option<String> {
        self.observed.lock().ok()?.clone()
    }

    /// The cache tags of the compiled statement (`None` before compilation).
    pub fn tags(&self) -> Option<BTreeSet<String>> {
        self.tags.lock().ok()?.clone()
    }

    /// The bookmark of the mutation's transaction (after it committed).
    pub fn bookmark(&self) -> Option<String> {
        self.bookmark.lock().ok()?.clone()
    }

    /// Whether the fast path rendered the response.
    pub fn has_rendered(&self) -> bool {
        self.rendered.lock().map(|r| r.is_some()).unwrap_or(false)
    }

    /// Takes the `data` object rendered by the fast path, if it was.
    pub fn take_rendered(&self) -> Option<serde_json::Value> {
        self.rendered.lock().ok()?.take()
    }

    /// Takes the value computed for a root field (by response key).
    pub fn take_root(&self, key: &str) -> Option<serde_json::Value> {
        self.data.lock().ok()?.remove(key)
    }
}

/// Compiles and runs operations: the ontology, limits, and the Neo4j router.
pub struct Engine {
    /// The ontology as served (with the database's keys, re-read while running).
    pub served: Arc<ServedOntology>,
    pub options: CompileOptions,
    pub neo4j: Router,
    /// Per-statement timeout.
    pub timeout: Duration,
    /// Deepest selection nesting accepted (introspection excluded).
    pub max_depth: usize,
    /// Output types of the generated schema, for the fast response path.
    pub types: crate::render::TypeIndex,
    /// Hub statistics for the supernode rewrites (`None`: no rewrites).
    pub supernodes: Option<crate::degree_store::DegreeStore>,
    /// How the rewrites are chosen.
    pub rewrite: ontology::rewrite::RewriteOptions,
    /// Aliases, root fields and estimated cost, checked before compiling.
    pub limits: ontology::cost::Limits,
    /// Whether a statement embedding `@cypher` statements writes, by its text, as Neo4j
    /// classified it (see [`Engine::access`]).
    pub statement_writes: moka::sync::Cache<String, bool>,
}

impl Engine {
    /// The ontology operations use now.
    pub fn ontology(&self) -> Arc<Ontology> {
        self.served.current()
    }

    /// Compiles the operation to one statement (with one ontology throughout).
    pub fn compile(&self, op: &Operation) -> Result<CompiledOperation, ServerError> {
        let ontology = self.ontology();
        let stats = self.supernodes.as_ref().map(|s| s.current());
        let measured: &dyn ontology::rewrite::DegreeStats = match &stats {
            Some(s) if ontology::rewrite::DegreeStats::measured(&**s) => &**s,
            _ => &ontology::rewrite::NoStats,
        };
        let mut limits = self.limits;
        if !measured.measured() {
            // No cardinalities yet: an estimate would only repeat the page limits.
            limits.max_cost = None;
        }
        if let Err(e) = ontology::cost::check(&ontology, op, measured, &limits) {
            metrics::counter!("ontograph_operations_refused_total", "reason" => e.code())
                .increment(1);
            let mut error = coded_error(e.to_string(), e.code());
            // The field that costs most.
            if let Some((line, column)) = e.location() {
                error.locations = vec![async_graphql::Pos { line, column }];
            }
            return Err(error);
        }
        let compiled = match &self.supernodes {
            Some(store) => {
                let stats = store.current();
                compile_with(&ontology, op, &self.options, &*stats, self.rewrite)
            }
            None => compile(&ontology, op, &self.options),
        };
        compiled.map_err(|e| coded_error(e.to_string(), "BAD_USER_INPUT"))
    }

    /// How a statement runs. Generated Cypher reads for a query and writes for a mutation; a
    /// statement embedding `@cypher` statements is whatever Neo4j's `EXPLAIN` says (a query
    /// field's statement may write, a mutation field's may only read), asked once per text.
    pub async fn access(
        &self,
        compiled: &CompiledOperation,
        statement: &Statement,
    ) -> Result<AccessMode, ServerError> {
        let by_kind = match compiled.kind {
            OperationKind::Query => AccessMode::Read,
            OperationKind::Mutation => AccessMode::Write,
        };
        if !compiled.user_cypher {
            return Ok(by_kind);
        }
        let writes = match self.statement_writes.get(&compiled.cypher) {
            Some(writes) => writes,
            None => {
                let writes = self
                    .neo4j
                    .writes(statement)
                    .await
                    .map_err(|e| graph_error(&e, by_kind))?;
                metrics::counter!(
                    "ontograph_statements_classified_total",
                    "writes" => if writes { "true" } else { "false" }
                )
                .increment(1);
                self.statement_writes
                    .insert(compiled.cypher.clone(), writes);
                writes
            }
        };
        Ok(if writes {
            AccessMode::Write
        } else {
            AccessMode::Read
        })
    }

    /// Runs a compiled statement (reads where `consistency` allows, writes on the leader; see
    /// [`Engine::access`]) and returns the shaped `data` object, the transaction's bookmark and
    /// how it ran.
    pub async fn run(
        &self,
        compiled: &CompiledOperation,
        consistency: &Consistency,
    ) -> Result<(ontology::shape::Shaped, Option<String>, AccessMode), ServerError> {
        let statement = Statement {
            cypher: compiled.cypher.clone(),
            params: compiled.params.clone(),
            timeout: Some(self.timeout),
        };
        let access = self.access(compiled, &statement).await?;
        let started = Instant::now();
        let result = self.neo4j.run(&statement, access, consistency).await;
        let elapsed = started.elapsed();
        tracing::debug!(
            cypher = %compiled.cypher,
            access = access.as_str(),
            cypher_ms = elapsed.as_secs_f64() * 1000.0,
            "statement ran"
        );
        tracing::Span::current().record("cypher_ms", elapsed.as_secs_f64() * 1000.0);
        let routed = result.map_err(|e| graph_error(&e, access))?;
        tracing::Span::current().record("backend", routed.backend.as_str());
        let bookmark = routed.result.bookmark;
        let row = routed.result.rows.into_iter().next().unwrap_or_default();
        Ok((
            ontology::shape::shape_row(&compiled.roots, row),
            bookmark,
            access,
        ))
    }
}

/// Maps a Neo4j failure to what the client should see; internals go to the log only.
fn graph_error(e: &graph::Error, access: AccessMode) -> ServerError {
    use graph::ErrorKind as K;
    match e.kind() {
        K::Unavailable if access == AccessMode::Write => {
            tracing::warn!(error = %e, "neo4j leader unavailable");
            coded_error(
                "the graph database leader is unavailable, so writes cannot be accepted right \
                 now (reads still work); retry later",
                "SERVICE_UNAVAILABLE",
            )
        }
        K::Unavailable => {
            tracing::warn!(error = %e, "neo4j unavailable");
            coded_error(
                "the graph database is unavailable; retry later",
                "SERVICE_UNAVAILABLE",
            )
        }
        K::Timeout => coded_error(
            "the query took longer than the per-request timeout; narrow it with where/limit",
            "TIMEOUT",
        ),
        _ if e.is_constraint_violation() => coded_error(
            format!("constraint violation: {}", neo4j_message(e)),
            "CONSTRAINT_VIOLATION",
        ),
        K::Cypher => {
            tracing::error!(error = %e, "generated Cypher was rejected");
            coded_error(
                format!(
                    "the graph database rejected the query: {}",
                    neo4j_message(e)
                ),
                "BAD_USER_INPUT",
            )
        }
        _ => {
            tracing::error!(error = %e, "statement failed");
            coded_error(
                "internal error while running the query",
                "INTERNAL_SERVER_ERROR",
            )
        }
    }
}

fn neo4j_message(e: &graph::Error) -> String {
    match e {
        graph::Error::Cypher { message, .. } | graph::Error::Server { message, .. } => {
            message.clone()
        }
        other => other.to_string(),
    }
}

/// The extension that executes the whole operation in one statement before resolvers run.
pub struct OneStatement {
    pub engine: Arc<Engine>,
}

impl ExtensionFactory for OneStatement {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OneStatementExt {
            engine: self.engine.clone(),
        })
    }
}

struct OneStatementExt {
    engine: Arc<Engine>,
}

impl OneStatementExt {
    /// Compiles (recording the cache tags in the slot) and runs.
    async fn compile_and_run(
        &self,
        slot: &OperationSlot,
        op: &Operation,
    ) -> Result<(Map<String, serde_json::Value>, Option<String>), ServerError> {
        let compiled = self.engine.compile(op)?;
        if let Ok(mut tags) = slot.tags.lock() {
            *tags = Some(compiled.tags.clone());
        }
        if let Ok(mut d) = slot.decisions.lock() {
            d.clone_from(&compiled.decisions);
        }
        if let Ok(mut u) = slot.uses.lock() {
            u.clone_from(&compiled.uses);
        }
        slot.per_caller
            .store(compiled.per_caller, std::sync::atomic::Ordering::Relaxed);
        slot.ran.store(true, std::sync::atomic::Ordering::Relaxed);
        let (shaped, bookmark, access) = self.engine.run(&compiled, &slot.consistency).await?;
        slot.wrote.store(
            access == AccessMode::Write,
            std::sync::atomic::Ordering::Relaxed,
        );
        let data = shaped.data;
        if !shaped.truncated.is_empty() {
            metrics::counter!("ontograph_results_truncated_total")
                .increment(shaped.truncated.len() as u64);
            if let Ok(mut t) = slot.truncated.lock() {
                *t = shaped.truncated;
            }
        }
        let rows: usize = data
            .values()
            .map(|v| match v {
                serde_json::Value::Array(items) => items.len(),
                serde_json::Value::Object(c) => c
                    .get("edges")
                    .and_then(|e| e.as_array())
                    .map_or(0, Vec::len),
                _ => 0,
            })
            .sum();
        slot.rows
            .store(rows as u64, std::sync::atomic::Ordering::Relaxed);
        Ok((data, bookmark))
    }
}

#[async_trait::async_trait]
impl Extension for OneStatementExt {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let Some(slot) = ctx.data_opt::<Arc<OperationSlot>>() else {
            return next.run(ctx, operation_name).await;
        };
        match ontology::ir::from_document(&slot.doc, operation_name, &slot.variables)
            .map(|op| {
                op.map(|mut op| {
                    op.roles.clone_from(&slot.roles);
                    op.jwt.clone_from(&slot.jwt);
                    op.authenticated = slot.authenticated;
                    op
                })
            })
            .map_err(|e| coded_error(e.to_string(), "BAD_USER_INPUT"))
        {
            Ok(Some(op)) if op.depth() > self.engine.max_depth => {
                let msg = format!(
                    "query is nested too deep: depth {} exceeds the limit of {}",
                    op.depth(),
                    self.engine.max_depth
                );
                return Response::from_errors(vec![coded_error(msg, "BAD_USER_INPUT")]);
            }
            Ok(Some(op)) => match self.compile_and_run(slot, &op).await {
                Ok((data, bookmark)) => {
                    let target = if slot.wrote() {
                        &slot.bookmark
                    } else {
                        &slot.observed
                    };
                    if let Ok(mut b) = target.lock() {
                        *b = bookmark;
                    }
                    // Fast path: render straight from the data when it fits the schema's types;
                    // the resolvers below then have nothing to do. Otherwise they run as usual.
                    if let Some(rendered) =
                        self.engine.types.render(op.kind, &op.fields, data.clone())
                    {
                        if let Ok(mut r) = slot.rendered.lock() {
                            *r = Some(rendered);
                        }
                        metrics::counter!("ontograph_graphql_render_total", "path" => "fast")
                            .increment(1);
                        return Response::new(async_graphql::Value::Null);
                    }
                    metrics::counter!("ontograph_graphql_render_total", "path" => "resolvers")
                        .increment(1);
                    if let Ok(mut d) = slot.data.lock() {
                        *d = data;
                    }
                }
                Err(e) => return Response::from_errors(vec![e]),
            },
            Ok(None) => {}
            Err(e) => return Response::from_errors(vec![e]),
        }
        next.run(ctx, operation_name).await
    }
}
