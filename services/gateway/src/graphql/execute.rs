//! The execute stage: one prepared operation through async-graphql's validation and the single
//! statement (see [`crate::operation`]), with the request's time limit. The cache tags of a
//! mutation (or of a query whose `@cypher` statement writes) are invalidated before this
//! returns, whatever its outcome.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::Variables;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use graph::{Consistency, ConsistencyLevel};
use tracing::Instrument as _;

use super::document::Prepared;
use super::http::{BOOKMARK_HEADER, CONSISTENCY_HEADER};
use crate::access::Caller;
use crate::operation::OperationSlot;
use crate::respond::Refusal;
use crate::state::AppState;

/// What an executed operation produced: a response with `data` (possibly `null` with field
/// errors, when the statement failed on the database), always sent with 200.
pub struct Outcome {
    /// `{"data": …}`, with `errors` and `extensions` when there are any.
    pub body: Bytes,
    /// The mutation's bookmark (response header and extension).
    pub bookmark: Option<String>,
    /// A query that ran without errors.
    pub cacheable: bool,
    /// What the statement read (cache tags).
    pub tags: Vec<String>,
    /// The query's bookmark: the data version its result reflects.
    pub observed: Option<String>,
}

/// Runs the operation. Errors raised before the statement ran (validation, variables, limits,
/// compilation) are GraphQL request errors: no `data`.
pub async fn run(
    state: &AppState,
    prepared: &Prepared,
    variables: &Variables,
    consistency: &Consistency,
    caller: &Caller,
) -> Result<Outcome, Refusal> {
    let started = Instant::now();
    let doc = &prepared.doc;
    let op_type = prepared.kind;
    let type_label = match op_type {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    };
    let op_name = prepared
        .operation_name()
        .map(str::to_owned)
        .or_else(|| match &doc.operations {
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(|n| n.to_string())
            }
            _ => None,
        });
    let slot = Arc::new(
        OperationSlot::new(doc.clone(), variables.clone(), consistency.clone()).with_caller(caller),
    );
    let mut request = async_graphql::Request::new(prepared.text()).variables(variables.clone());
    request.operation_name = prepared.operation_name().map(str::to_owned);
    request.set_parsed_query(doc.clone());
    if !state.introspection {
        request = request.disable_introspection();
    }
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
    if op_type == Some(OperationType::Mutation) || slot.wrote() {
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
        state.hot.record(&crate::hot_queries::Executed {
            text: prepared.text(),
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
    let count = |outcome: &'static str| {
        metrics::counter!("ontograph_graphql_requests_total", "type" => type_label, "outcome" => outcome).increment(1);
    };
    let Ok(resp) = response else {
        count("timeout");
        return Err(Refusal::new(
            StatusCode::GATEWAY_TIMEOUT,
            "TIMEOUT",
            format!(
                "the request took longer than {} ms",
                state.limits.request_timeout.as_millis()
            ),
        ));
    };
    let ok = resp.errors.is_empty();
    count(if ok { "ok" } else { "error" });
    if !ok && !slot.ran() && resp.data == async_graphql::Value::Null {
        return Err(Refusal::request_errors(resp.errors));
    }
    let mut body = serde_json::Map::new();
    match slot.take_rendered() {
        // The fast path rendered `data` straight from the statement's row.
        Some(data) if ok => {
            body.insert("data".to_owned(), data);
        }
        _ => {
            let value = serde_json::to_value(&resp).map_err(internal)?;
            if let serde_json::Value::Object(map) = value {
                body = map;
            }
        }
    }
    if let Some(b) = slot.bookmark() {
        let extensions = body
            .entry("extensions")
            .or_insert_with(|| serde_json::json!({}));
        extensions["bookmark"] = serde_json::Value::String(b);
    }
    let truncated = slot.truncated();
    if !truncated.is_empty() {
        let extensions = body
            .entry("extensions")
            .or_insert_with(|| serde_json::json!({}));
        extensions["truncated"] = truncated
            .iter()
            .map(|t| {
                serde_json::json!({
                    "field": t.field,
                    "limit": t.limit,
                    "message": format!(
                        "`{}` returned its first {} items (the default page size, \
                         ONTOGRAPH_DEFAULT_LIMIT); more match: give `limit`/`first` and page \
                         with `offset`/`after`",
                        t.field, t.limit
                    ),
                })
            })
            .collect();
    }
    let bytes = serde_json::to_vec(&body).map_err(internal)?;
    Ok(Outcome {
        body: Bytes::from(bytes),
        bookmark: slot.bookmark(),
        // Introspection-only queries never reach the statement: no tags, nothing to cache
        // against, and the schema only changes with the ontology version (in the key). A
        // query whose statement wrote, or read the caller's own token (`$jwt`), is not cached.
        cacheable: ok
            && op_type == Some(OperationType::Query)
            && !slot.wrote()
            && !slot.per_caller(),
        tags: slot
            .tags()
            .map(|t| t.into_iter().collect())
            .unwrap_or_default(),
        observed: slot.observed(),
    })
}

fn internal(e: serde_json::Error) -> Refusal {
    tracing::error!(error = %e, "response serialization failed");
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_SERVER_ERROR",
        "internal error while rendering the response",
    )
}

/// The consistency a request asks for: the `consistency`/`bookmark` request extensions win over
/// the `Ontograph-Consistency`/`Ontograph-Bookmark` headers; `default` otherwise. A malformed
/// one is a 400.
pub fn consistency_of(
    extensions: &async_graphql::Extensions,
    headers: &HeaderMap,
    default: ConsistencyLevel,
) -> Result<Consistency, Refusal> {
    read_consistency(extensions, headers, default).map_err(Refusal::bad_request)
}

fn read_consistency(
    extensions: &async_graphql::Extensions,
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
        match extensions.0.get(name) {
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
