//! The HTTP surface: `/graphql` (POST JSON, GET for queries, the GraphQL IDE for browsers),
//! `/graphql/schema.graphql` (the generated SDL), `/livez`, `/readyz`, `/metrics` and
//! `GET /admin/api/topology`.
//!
//! Consistency: a request may ask for `eventual`, `session` or `strong` reads with the
//! `Ontograph-Consistency` header or the `consistency` request extension, and present the
//! bookmark of its last write with `Ontograph-Bookmark` or the `bookmark` extension. Every
//! mutation response carries its bookmark in the `Ontograph-Bookmark` header and in
//! `extensions.bookmark`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::dynamic::Schema;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Response, ServerError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::trace::TraceLayer;
use tracing::Instrument;

use crate::operation::{coded_error, Engine, OperationSlot};
use crate::result_cache::{self, ResultCache};
use graph::{Consistency, ConsistencyLevel};

/// Request header naming the read consistency (`eventual`, `session`, `strong`).
pub const CONSISTENCY_HEADER: &str = "ontograph-consistency";
/// Request header presenting a bookmark; response header carrying a mutation's bookmark.
pub const BOOKMARK_HEADER: &str = "ontograph-bookmark";

/// HTTP-level limits.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Wall-clock limit for one GraphQL request.
    pub request_timeout: Duration,
    /// Origins allowed to call `/graphql` from a browser (CORS); empty: none, `*`: any.
    pub cors_origins: Vec<String>,
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub schema: Schema,
    pub engine: Arc<Engine>,
    pub sdl: Arc<String>,
    pub metrics: Option<PrometheusHandle>,
    pub limits: HttpLimits,
    /// Consistency of reads that do not ask for one.
    pub default_consistency: ConsistencyLevel,
    /// Admin access, audit log and console history.
    pub admin: Arc<crate::admin::AdminState>,
    /// Who may use the GraphQL API.
    pub access: Arc<crate::access::Access>,
    /// Persisted queries (automatic, or an allow-list).
    pub persisted: Arc<crate::persisted::Persisted>,
    /// Whether `__schema` / `__type` are answered.
    pub introspection: bool,
    /// Budgets per client (reads, writes, ingestion).
    pub limiter: Arc<crate::ratelimit::RateLimiter>,
    /// Set on SIGTERM: `/readyz` answers 503 so load balancers stop sending new requests while
    /// the ones in flight finish.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// The webhook receiver (`None`: ingestion is off and `/ingest/*` answers 404).
    pub ingest: Option<Arc<crate::ingest::Ingest>>,
    /// The result cache (`None`: off).
    pub cache: Option<Arc<ResultCache>>,
    /// Statistics per operation shape.
    pub hot: Arc<crate::hot::HotQueries>,
}

/// Largest body any ingestion route reads (each source has its own, smaller limit).
const INGEST_BODY_CEILING: usize = 64 * 1024 * 1024;

/// The router, separate from `main` so tests can drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let max_body = state.limits.max_body_bytes;
    let mut api = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/schema.graphql", get(sdl));
    if let Some(cors) = cors_layer(&state.limits.cors_origins) {
        api = api.layer(cors);
    }
    Router::new()
        .merge(api)
        .route("/graphql/ide/{file}", get(ide_asset))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/ingest/{source}",
            axum::routing::post(crate::ingest::receive)
                .layer(DefaultBodyLimit::max(INGEST_BODY_CEILING)),
        )
        .route(
            "/ingest/{source}/bulk",
            axum::routing::post(crate::ingest::receive_bulk)
                .layer(DefaultBodyLimit::max(INGEST_BODY_CEILING)),
        )
        .merge(crate::admin::routes(state.clone()))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// CORS for the API: the configured origins, the headers clients send (credentials, consistency,
/// bookmarks) and those they may read (bookmarks, cache status, rate limits). No cookies: the
/// API authenticates with headers, so `Access-Control-Allow-Credentials` is never sent.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let name = HeaderName::from_static;
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                name("x-api-key"),
                name(CONSISTENCY_HEADER),
                name(BOOKMARK_HEADER),
            ])
            .expose_headers([
                name(BOOKMARK_HEADER),
                name(CACHE_HEADER),
                header::AGE,
                header::RETRY_AFTER,
                name("ratelimit-limit"),
                name("ratelimit-remaining"),
                name("ratelimit-reset"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

fn json_response(status: StatusCode, resp: &Response) -> axum::response::Response {
    match serde_json::to_vec(resp) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "response serialization failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn error_response(status: StatusCode, err: ServerError) -> axum::response::Response {
    json_response(status, &Response::from_errors(vec![err]))
}

async fn graphql_post(
    State(state): State<AppState>,
    crate::admin::Remote(remote): crate::admin::Remote,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> axum::response::Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "request body too large: the limit is {} bytes",
                    state.limits.max_body_bytes
                )
            } else {
                format!("could not read the request body: {rejection}")
            };
            return error_response(status, coded_error(msg, "BAD_REQUEST"));
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                coded_error(
                    format!(
                    "the body must be JSON {{\"query\", \"variables\", \"operationName\"}}: {e}"
                ),
                    "BAD_REQUEST",
                ),
            )
        }
    };
    execute(state, request, false, &headers, remote).await
}

async fn graphql_get(
    State(state): State<AppState>,
    crate::admin::Remote(remote): crate::admin::Remote,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let query = query.unwrap_or_default();
    if query.is_empty() {
        if wants_html {
            return Html(graphiql(&example_query(&state.engine.ontology))).into_response();
        }
        return error_response(
            StatusCode::BAD_REQUEST,
            coded_error("GET /graphql needs a `query` parameter", "BAD_REQUEST"),
        );
    }
    match async_graphql::http::parse_query_string(&query) {
        Ok(request) => execute(state, request, true, &headers, remote).await,
        Err(e) => error_response(
            StatusCode::BAD_REQUEST,
            coded_error(format!("bad query string: {e}"), "BAD_REQUEST"),
        ),
    }
}

/// Response header saying where the response came from: `HIT-L1`, `HIT-L2`, `MISS` or `BYPASS`.
pub const CACHE_HEADER: &str = "ontograph-cache";
/// Response header with the cached entry's age in milliseconds (`Age` has it in seconds).
pub const CACHE_AGE_HEADER: &str = "ontograph-cache-age-ms";

/// One GraphQL request's result, before it becomes an HTTP response.
struct Outcome {
    status: StatusCode,
    body: Bytes,
    /// The mutation's bookmark (response header and extension).
    bookmark: Option<String>,
    /// A query that ran without errors.
    cacheable: bool,
    /// What the statement read (cache tags).
    tags: Vec<String>,
    /// The query's bookmark: the data version its result reflects.
    observed: Option<String>,
}

impl Outcome {
    fn error(status: StatusCode, err: ServerError) -> Self {
        Outcome::json(status, &Response::from_errors(vec![err]))
    }

    fn json(status: StatusCode, resp: &Response) -> Self {
        let (status, body) = match serde_json::to_vec(resp) {
            Ok(body) => (status, Bytes::from(body)),
            Err(e) => {
                tracing::error!(error = %e, "response serialization failed");
                (StatusCode::INTERNAL_SERVER_ERROR, Bytes::new())
            }
        };
        Outcome {
            status,
            body,
            bookmark: None,
            cacheable: false,
            tags: Vec::new(),
            observed: None,
        }
    }

    fn into_response(self) -> axum::response::Response {
        let response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        with_bookmark(response, self.bookmark)
    }
}

async fn execute(
    state: AppState,
    mut request: async_graphql::Request,
    via_get: bool,
    headers: &HeaderMap,
    remote: Option<String>,
) -> axum::response::Response {
    state
        .admin
        .counters
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let caller = match state.access.authenticate(headers).await {
        Ok(c) => c,
        Err(e) => return unauthenticated(&e),
    };
    if let Err(refused) = state.persisted.resolve(&mut request).await {
        return error_response(refused.status, refused.error());
    }
    if !state.introspection {
        request = request.disable_introspection();
    }
    // The document is parsed once per request: through the result cache's memo of prepared
    // documents when the cache is on (a repeated text is not parsed again), else into the
    // request itself, where execution finds it.
    let prepared = state.cache.as_ref().and_then(|rc| {
        rc.prepare(&request.query, request.operation_name.as_deref())
            .ok()
    });
    let shape = match &prepared {
        Some(p) => Some((p.kind, p.introspects)),
        None => {
            let name = request.operation_name.clone();
            request.parsed_query().ok().map(|doc| {
                (
                    result_cache::operation_type(doc, name.as_deref()),
                    result_cache::selects_introspection(doc),
                )
            })
        }
    };
    let kind = shape.and_then(|(kind, _)| kind);
    let budget = match spend(&state, kind, &caller, remote.as_deref()).await {
        Ok(decision) => decision,
        Err(refused) => return refused,
    };
    // A document that does not parse gets its parse error from the execution path.
    if let Some((kind, introspects)) = shape {
        if let Err(refused) = admit(&state, &caller, kind, introspects, via_get) {
            let mut response = refused.into_response();
            if let Some(decision) = &budget {
                rate_headers(&mut response, decision);
            }
            return response;
        }
    }
    let mut response = execute_admitted(state, request, prepared, headers, caller).await;
    if let Some(decision) = &budget {
        rate_headers(&mut response, decision);
    }
    response
}

/// Whether the caller may run an operation of this type here: mutations only with POST, the
/// `read` or `write` role, introspection only when it is on. Checked once per request, before
/// the cache is consulted (a cached answer is only for callers allowed to run the operation).
fn admit(
    state: &AppState,
    caller: &crate::access::Caller,
    kind: Option<OperationType>,
    introspects: bool,
    via_get: bool,
) -> Result<(), Outcome> {
    if via_get && kind == Some(OperationType::Mutation) {
        return Err(Outcome::error(
            StatusCode::METHOD_NOT_ALLOWED,
            coded_error("mutations must be sent with POST", "BAD_REQUEST"),
        ));
    }
    authorize(caller, kind)?;
    if !state.introspection && introspects {
        return Err(Outcome::error(
            StatusCode::BAD_REQUEST,
            coded_error(
                "introspection is disabled on this server (`__schema` and `__type` are not answered)",
                "INTROSPECTION_DISABLED",
            ),
        ));
    }
    Ok(())
}

/// Spends the caller's read or write budget (by subject when authenticated, else by address).
/// `kind` is the operation's type (`None` when the document does not parse: counted as a read).
async fn spend(
    state: &AppState,
    kind: Option<OperationType>,
    caller: &crate::access::Caller,
    remote: Option<&str>,
) -> Result<Option<crate::ratelimit::Decision>, axum::response::Response> {
    use crate::ratelimit::Class;
    if !state.limiter.config().enabled() {
        return Ok(None);
    }
    let class = match kind {
        Some(OperationType::Mutation) => Class::Write,
        _ => Class::Read,
    };
    let client = match caller.kind {
        crate::access::CallerKind::Jwt | crate::access::CallerKind::ApiKey => {
            format!("sub:{}", caller.subject)
        }
        _ => format!("ip:{}", remote.unwrap_or("unknown")),
    };
    let Some(decision) = state.limiter.check(class, &client).await else {
        return Ok(None);
    };
    if decision.allowed {
        return Ok(Some(decision));
    }
    let rate = state
        .limiter
        .config()
        .rate(class)
        .map(|r| r.to_string())
        .unwrap_or_default();
    let who = client.split_once(':').map_or(client.as_str(), |(_, w)| w);
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        coded_error(
            format!(
                "rate limit exceeded: {rate} {}s for `{who}`; retry in {:.1} s",
                class.as_str(),
                decision.retry_after.as_secs_f64()
            ),
            "RATE_LIMITED",
        ),
    );
    rate_headers(&mut response, &decision);
    Err(response)
}

/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, and `Retry-After` on refusals.
pub(crate) fn rate_headers(
    response: &mut axum::response::Response,
    decision: &crate::ratelimit::Decision,
) {
    for (name, value) in decision.headers() {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
}

async fn execute_admitted(
    state: AppState,
    request: async_graphql::Request,
    prepared: Option<Arc<result_cache::Prepared>>,
    headers: &HeaderMap,
    caller: crate::access::Caller,
) -> axum::response::Response {
    let consistency = match consistency_of(&request, headers, state.default_consistency) {
        Ok(c) => c,
        Err(msg) => {
            return error_response(StatusCode::BAD_REQUEST, coded_error(msg, "BAD_REQUEST"))
        }
    };
    let Some(rc) = state.cache.clone() else {
        return run_request(&state, request, &consistency, &caller)
            .await
            .into_response();
    };
    let bypass = |request: async_graphql::Request| async {
        let response = run_request(&state, request, &consistency, &caller).await;
        cache_status(&state, response.into_response(), "BYPASS", None)
    };
    let Some(prepared) = prepared else {
        // The execution path reports why the document could not be prepared.
        return bypass(request).await;
    };
    if prepared.kind != Some(OperationType::Query)
        || consistency.level == ConsistencyLevel::Strong
        || prepared.ttl.is_some_and(|t| t.is_zero())
        || (prepared.ttl.is_none() && rc.policy.default_ttl.is_none())
    {
        let mut request = request;
        request.set_parsed_query(prepared.doc.clone());
        return bypass(request).await;
    }
    let key = rc.key(
        &prepared,
        &request.variables,
        consistency.level,
        &caller.scope(),
    );
    let bookmark = consistency.bookmark.clone();
    let accept = move |e: &cache::Entry| result_cache::covers(bookmark.as_deref(), &e.version);
    // What this request computed itself, when it is not to be shared (errors, policy).
    let own: std::sync::Mutex<Option<Outcome>> = std::sync::Mutex::new(None);
    let compute = || {
        let mut request =
            async_graphql::Request::new(request.query.clone()).variables(request.variables.clone());
        request.operation_name = prepared_name(&prepared);
        request.set_parsed_query(prepared.doc.clone());
        let (state, consistency, rc, prepared, own, caller) =
            (&state, &consistency, &rc, &prepared, &own, &caller);
        async move {
            let outcome = run_request(state, request, consistency, caller).await;
            let ttl = if outcome.cacheable {
                rc.ttl_for(prepared, &outcome.tags)
            } else {
                None
            };
            match ttl {
                Some(ttl) => Ok((
                    cache::Entry::new(
                        outcome.body.clone(),
                        outcome.tags.clone(),
                        outcome.observed.clone().unwrap_or_default(),
                    ),
                    Some(ttl),
                )),
                None => {
                    *own.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome);
                    Err(cache::ComputeError("not cached".to_owned()))
                }
            }
        }
    };
    match rc.cache.get_or_compute(&key, &accept, compute).await {
        Ok((entry, level)) => {
            let body = entry.body.clone();
            let response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            cache_status(&state, response, level.as_str(), Some(entry.age()))
        }
        Err(_) => {
            let mine = own
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let outcome = match mine {
                Some(outcome) => outcome,
                // Another request's uncacheable result: run this one on its own.
                None => {
                    let mut request = request;
                    request.set_parsed_query(prepared.doc.clone());
                    run_request(&state, request, &consistency, &caller).await
                }
            };
            cache_status(&state, outcome.into_response(), "BYPASS", None)
        }
    }
}

/// 401 with the reason, as a GraphQL error and an RFC 6750 challenge.
fn unauthenticated(e: &crate::access::AuthError) -> axum::response::Response {
    metrics::counter!("ontograph_auth_refused_total", "reason" => "unauthenticated").increment(1);
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        coded_error(e.to_string(), "UNAUTHENTICATED"),
    );
    if let Ok(v) = HeaderValue::from_str(&e.challenge()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// Queries need `read`, mutations `write`; 403 names what is missing.
fn authorize(caller: &crate::access::Caller, kind: Option<OperationType>) -> Result<(), Outcome> {
    let (needs, what) = match kind {
        Some(OperationType::Mutation) => (crate::access::WRITE, "mutations"),
        _ => (crate::access::READ, "queries"),
    };
    if caller.has(needs) {
        return Ok(());
    }
    metrics::counter!("ontograph_auth_refused_total", "reason" => "forbidden").increment(1);
    let roles = if caller.roles.is_empty() {
        "no role".to_owned()
    } else {
        format!(
            "roles {}",
            caller.roles.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    Err(Outcome::error(
        StatusCode::FORBIDDEN,
        coded_error(
            format!(
                "{what} need the `{needs}` role; `{}` has {roles}",
                caller.subject
            ),
            "FORBIDDEN",
        ),
    ))
}

fn prepared_name(p: &result_cache::Prepared) -> Option<String> {
    p.operation_name().map(str::to_owned)
}

fn cache_status(
    state: &AppState,
    mut response: axum::response::Response,
    status: &'static str,
    age: Option<Duration>,
) -> axum::response::Response {
    if status == "BYPASS" {
        state
            .admin
            .counters
            .cache_bypass
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("ontograph_cache_lookups_total", "result" => "bypass").increment(1);
    }
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static(CACHE_HEADER),
        HeaderValue::from_static(status),
    );
    if let Some(age) = age {
        headers.insert(header::AGE, HeaderValue::from(age.as_secs()));
        headers.insert(
            HeaderName::from_static(CACHE_AGE_HEADER),
            HeaderValue::from(age.as_millis() as u64),
        );
    }
    response
}

/// Runs one request through GraphQL and the single statement; a mutation's cache tags are
/// invalidated before this returns.
async fn run_request(
    state: &AppState,
    mut request: async_graphql::Request,
    consistency: &Consistency,
    caller: &crate::access::Caller,
) -> Outcome {
    let started = Instant::now();
    let mut doc = match request.parsed_query() {
        Ok(doc) => doc.clone(),
        Err(e) => {
            metrics::counter!("ontograph_graphql_requests_total", "type" => "unknown", "outcome" => "parse_error").increment(1);
            return Outcome::json(StatusCode::OK, &Response::from_errors(vec![e]));
        }
    };
    // `@cached` is the cache's business (async-graphql would refuse an unknown directive).
    if let Err(msg) = result_cache::strip_cached(&mut doc, request.operation_name.as_deref()) {
        return Outcome::error(StatusCode::BAD_REQUEST, coded_error(msg, "BAD_USER_INPUT"));
    }
    request.set_parsed_query(doc.clone());
    let op_type = result_cache::operation_type(&doc, request.operation_name.as_deref());
    let type_label = match op_type {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    };
    let op_name = request
        .operation_name
        .clone()
        .or_else(|| match &doc.operations {
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(|n| n.to_string())
            }
            _ => None,
        });
    let query_text = request.query.clone();
    let slot = Arc::new(
        OperationSlot::new(doc, request.variables.clone(), consistency.clone())
            .with_roles(caller.roles.clone()),
    );
    let request = request.data(slot.clone());
    let span = tracing::info_span!(
        "graphql",
        operation = op_name.as_deref().unwrap_or(""),
        r#type = type_label,
        cypher_ms = tracing::field::Empty,
        backend = tracing::field::Empty,
    );
    let response = tokio::time::timeout(
        state.limits.request_timeout,
        state.schema.execute(request).instrument(span.clone()),
    )
    .await;
    if op_type == Some(OperationType::Mutation) {
        // Whatever the outcome, a statement that may have written invalidates what it touches
        // before the client hears back.
        if let Some(tags) = slot.tags() {
            let tags: Vec<String> = tags.into_iter().collect();
            if let Some(rc) = &state.cache {
                rc.cache.invalidate(&tags).await;
            }
            if let Some(store) = &state.engine.supernodes {
                store.touched(&tags);
            }
        }
    }
    let elapsed = started.elapsed();
    if slot.ran() {
        state.hot.record(&crate::hot::Executed {
            text: &query_text,
            operation: op_name.as_deref(),
            elapsed,
            rows: slot.rows(),
            error: !response.as_ref().is_ok_and(|r| r.errors.is_empty()),
            decisions: &slot.decisions(),
            uses: &slot.uses(),
        });
    }
    span.in_scope(|| {
        let errors = response.as_ref().map(|r| r.errors.len()).unwrap_or(1);
        if errors > 0 {
            state
                .admin
                .counters
                .errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::info!(
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            errors,
            timed_out = response.is_err(),
            "graphql request"
        );
    });
    metrics::histogram!("ontograph_graphql_request_seconds", "type" => type_label)
        .record(elapsed.as_secs_f64());
    let tags = || {
        slot.tags()
            .map(|t| t.into_iter().collect())
            .unwrap_or_default()
    };
    match response {
        Ok(resp) if resp.errors.is_empty() && slot.has_rendered() => {
            metrics::counter!("ontograph_graphql_requests_total", "type" => type_label, "outcome" => "ok").increment(1);
            let mut body = serde_json::json!({ "data": slot.take_rendered().unwrap_or(serde_json::Value::Null) });
            if let Some(b) = slot.bookmark() {
                body["extensions"] = serde_json::json!({ "bookmark": b });
            }
            match serde_json::to_vec(&body) {
                Ok(bytes) => Outcome {
                    status: StatusCode::OK,
                    body: Bytes::from(bytes),
                    bookmark: slot.bookmark(),
                    cacheable: op_type == Some(OperationType::Query),
                    tags: tags(),
                    observed: slot.observed(),
                },
                Err(e) => {
                    tracing::error!(error = %e, "response serialization failed");
                    Outcome::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        coded_error(
                            "internal error while rendering the response",
                            "INTERNAL_SERVER_ERROR",
                        ),
                    )
                }
            }
        }
        Ok(mut resp) => {
            if let Some(b) = slot.bookmark() {
                resp.extensions
                    .insert("bookmark".to_owned(), async_graphql::Value::String(b));
            }
            let ok = resp.errors.is_empty();
            let outcome = if ok { "ok" } else { "error" };
            metrics::counter!("ontograph_graphql_requests_total", "type" => type_label, "outcome" => outcome).increment(1);
            let mut out = Outcome::json(StatusCode::OK, &resp);
            out.bookmark = slot.bookmark();
            // Introspection-only queries never reach the statement: no tags, nothing to cache
            // against, and the schema only changes with the ontology version (in the key).
            out.cacheable = ok && op_type == Some(OperationType::Query);
            out.tags = tags();
            out.observed = slot.observed();
            out
        }
        Err(_) => {
            metrics::counter!("ontograph_graphql_requests_total", "type" => type_label, "outcome" => "timeout").increment(1);
            Outcome::error(
                StatusCode::GATEWAY_TIMEOUT,
                coded_error(
                    format!(
                        "the request took longer than {} ms",
                        state.limits.request_timeout.as_millis()
                    ),
                    "TIMEOUT",
                ),
            )
        }
    }
}

async fn sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/graphql; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"schema.graphql\"",
            ),
        ],
        state.sdl.as_str().to_owned(),
    )
}

/// Adds the `Ontograph-Bookmark` header when there is a bookmark.
fn with_bookmark(
    mut response: axum::response::Response,
    bookmark: Option<String>,
) -> axum::response::Response {
    if let Some(value) = bookmark.and_then(|b| HeaderValue::from_str(&b).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(BOOKMARK_HEADER), value);
    }
    response
}

/// The consistency a request asks for: the `consistency`/`bookmark` request extensions win over
/// the `Ontograph-Consistency`/`Ontograph-Bookmark` headers; `default` otherwise.
fn consistency_of(
    request: &async_graphql::Request,
    headers: &HeaderMap,
    default: ConsistencyLevel,
) -> Result<Consistency, String> {
    let header = |name: &str| -> Result<Option<String>, String> {
        match headers.get(name) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|_| format!("the {name} header is not valid text")),
        }
    };
    let extension = |name: &str| -> Result<Option<String>, String> {
        match request.extensions.get(name) {
            None | Some(async_graphql::Value::Null) => Ok(None),
            Some(async_graphql::Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(format!("the `{name}` request extension must be a string")),
        }
    };
    let level = match extension("consistency")?.or(header(CONSISTENCY_HEADER)?) {
        Some(text) => text.parse::<ConsistencyLevel>()?,
        None => default,
    };
    let bookmark = extension("bookmark")?
        .or(header(BOOKMARK_HEADER)?)
        .filter(|b| !b.is_empty());
    if bookmark.as_ref().is_some_and(|b| b.len() > 4096) {
        return Err("the bookmark is longer than 4096 characters".to_owned());
    }
    Ok(Consistency { level, bookmark })
}

/// `GET /admin/api/topology`: roles, health and load of every Neo4j server.
pub(crate) async fn topology(State(state): State<AppState>) -> axum::response::Response {
    axum::Json(state.engine.neo4j.snapshot()).into_response()
}

/// `GET /admin/api/cache`: policy, counters and state of the result cache.
pub(crate) async fn cache_admin(State(state): State<AppState>) -> axum::response::Response {
    let Some(rc) = &state.cache else {
        return axum::Json(serde_json::json!({ "enabled": false })).into_response();
    };
    let stats = rc.cache.stats();
    let lookups = stats.hits_l1 + stats.hits_l2 + stats.misses;
    let ratio = |n: u64| {
        if lookups == 0 {
            0.0
        } else {
            n as f64 / lookups as f64
        }
    };
    let mut types: Vec<(String, serde_json::Value)> = rc
        .policy
        .type_ttls
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v.as_millis() as u64)))
        .collect();
    types.sort_by(|a, b| a.0.cmp(&b.0));
    axum::Json(serde_json::json!({
        "enabled": true,
        "policy": {
            "defaultTtlMs": rc.policy.default_ttl.map(|t| t.as_millis() as u64),
            "typeTtlMs": types.into_iter().collect::<serde_json::Map<String, serde_json::Value>>(),
        },
        "hitRatio": { "l1": ratio(stats.hits_l1), "l2": ratio(stats.hits_l2), "total": ratio(stats.hits_l1 + stats.hits_l2) },
        "stats": stats,
    }))
    .into_response()
}

/// `GET /admin/api/supernodes`: the degree store (distributions, hubs, label counts).
pub(crate) async fn supernodes_admin(State(state): State<AppState>) -> axum::response::Response {
    match &state.engine.supernodes {
        Some(store) => axum::Json(store.describe()).into_response(),
        None => axum::Json(serde_json::json!({ "enabled": false })).into_response(),
    }
}

/// `GET /admin/api/hot-queries?limit=N`: operation shapes by total time.
pub(crate) async fn hot_queries(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    let limit = query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("limit=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    axum::Json(state.hot.top(limit)).into_response()
}

/// `POST /admin/api/explain` with `{"query", "variables", "operationName", "measure"}`.
pub(crate) async fn explain_admin(
    State(state): State<AppState>,
    body: Bytes,
) -> axum::response::Response {
    let request: crate::explain::ExplainRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return crate::admin::api_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!(
                    "expected {{\"query\", \"variables\", \"operationName\", \"measure\"}}: {e}"
                ),
            )
        }
    };
    match crate::explain::explain(&state.engine, &request).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => crate::admin::api_error(StatusCode::BAD_REQUEST, "EXPLAIN_FAILED", e),
    }
}

async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining: shutting down").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), state.engine.neo4j.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("neo4j: {e}")).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "neo4j: ping timed out").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    if let Some(rc) = &state.cache {
        rc.cache.export_gauges();
    }
    match &state.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are disabled").into_response(),
    }
}

/// The GraphiQL IDE, served from assets compiled into the binary (no CDN: it works offline).
fn graphiql(default_query: &str) -> String {
    let default_query = serde_json::to_string(default_query).unwrap_or_else(|_| "\"\"".into());
    r##"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Ontograph GraphiQL</title>
    <style>body { height: 100%; margin: 0; width: 100%; overflow: hidden; } #graphiql { height: 100vh; }</style>
    <script src="/graphql/ide/react.production.min.js"></script>
    <script src="/graphql/ide/react-dom.production.min.js"></script>
    <link rel="stylesheet" href="/graphql/ide/graphiql.min.css" />
  </head>
  <body>
    <div id="graphiql">Loading the GraphiQL IDE…</div>
    <script src="/graphql/ide/graphiql.min.js"></script>
    <script>
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher: GraphiQL.createFetcher({ url: new URL("/graphql", window.location.origin).toString() }),
          defaultEditorToolsVisibility: true,
          defaultQuery: DEFAULT_QUERY,
        })
      );
    </script>
  </body>
</html>"##
        .replace("DEFAULT_QUERY", &default_query)
}

/// A first query for the IDE, from the ontology's first node type.
fn example_query(o: &ontology::Ontology) -> String {
    let Some(n) = o.nodes.values().next() else {
        return String::new();
    };
    let fields: Vec<&str> = n
        .properties()
        .filter(|p| !p.list)
        .take(3)
        .map(|p| p.name.as_str())
        .collect();
    format!(
        "# Ontograph: the GraphQL API generated from your ontology.\n# Browse it in the Docs panel; the SDL is at /graphql/schema.graphql.\n{{\n  {}(limit: 5) {{\n    {}\n  }}\n}}\n",
        n.plural,
        fields.join("\n    ")
    )
}

/// Static files of the IDE (GraphiQL 4, React 18; MIT, see assets/graphiql/LICENSES.txt).
async fn ide_asset(Path(file): Path<String>) -> axum::response::Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such IDE asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
