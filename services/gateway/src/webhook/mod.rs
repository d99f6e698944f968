//! The webhook receiver: `POST /ingest/{source}` (one JSON event) and
//! `POST /ingest/{source}/bulk` (NDJSON, one event per line, a result per line), with the
//! signature schemes that authenticate them ([`signature`]).
//!
//! Each request is checked in this order — size (413), signature (401), JSON (400), event type
//! and idempotency key (400) — then published to RabbitMQ as a persistent message, and answered
//! `202 {"eventId": …}` only once the broker has confirmed it into a queue. A broker that cannot
//! be reached, does not confirm in time or refuses the message gets `503` with `Retry-After`:
//! an event is never acknowledged unless it is stored.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ontology::mapping::Locator;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub mod receiver;
pub mod signature;

use crate::respond::api_error as error;
use crate::state::AppState;
pub use receiver::{publish, secret_env, Receiver, Source, WebhookConfig};

pub use crate::respond::RETRY_AFTER_SECONDS;

/// Checks everything that does not need the broker, for one request.
async fn admit(
    state: &AppState,
    source: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Arc<Receiver>, Arc<Source>), Response> {
    let Some(ingest) = state.webhooks.clone() else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "INGEST_DISABLED",
            "ingestion is not enabled on this gateway (ONTOGRAPH_INGEST=on)",
        ));
    };
    let Some(src) = ingest.sources.get(source).cloned() else {
        let mut known: Vec<&str> = ingest.sources.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Err(error(
            StatusCode::NOT_FOUND,
            "UNKNOWN_SOURCE",
            format!(
                "unknown ingestion source `{source}` (known: {})",
                known.join(", ")
            ),
        ));
    };
    if body.len() > src.mapping.max_body_bytes {
        metrics::counter!("ontograph_ingest_rejected_total", "source" => source.to_owned(), "reason" => "too_large").increment(1);
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_LARGE",
            format!(
                "the body has {} bytes; source `{source}` accepts at most {}",
                body.len(),
                src.mapping.max_body_bytes
            ),
        ));
    }
    let lookup = |name: &str| -> Option<String> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Err(e) = src.verifier.verify(&lookup, body, SystemTime::now()) {
        metrics::counter!("ontograph_ingest_rejected_total", "source" => source.to_owned(), "reason" => "signature").increment(1);
        tracing::warn!(source, error = %e, "webhook signature rejected");
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "BAD_SIGNATURE",
            e.to_string(),
        ));
    }
    // The source's budget (after the signature: forged requests cannot spend it).
    if let Some(decision) = state
        .limiter
        .check(crate::ratelimit::Class::Ingest, &format!("source:{source}"))
        .await
    {
        if !decision.allowed {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!(
                    "source `{source}` is over its ingestion budget of {}; retry in {:.1} s",
                    state
                        .limiter
                        .config()
                        .rate(crate::ratelimit::Class::Ingest)
                        .map(|r| r.to_string())
                        .unwrap_or_default(),
                    decision.retry_after.as_secs_f64()
                ),
            );
            crate::respond::rate_headers(response.headers_mut(), &decision);
            return Err(response);
        }
    }
    Ok((ingest, src))
}

/// Event type, idempotency key and partition key of one parsed event.
fn describe(
    src: &Source,
    headers: &HeaderMap,
    raw: &[u8],
    event: &Value,
    line: Option<usize>,
) -> Result<(String, String, String), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let at_path = |path: &str| json_path(event, path);
    let event_type = match &src.mapping.event_type {
        Locator::Header(h) => {
            header(h).ok_or_else(|| format!("missing {h} header (the event type)"))?
        }
        Locator::JsonPath(p) => at_path(p).ok_or_else(|| format!("no event type at {p}"))?,
        Locator::Constant(c) => c.clone(),
        Locator::BodyHash(_) => return Err("the event type cannot be a body hash".to_owned()),
    };
    let key = match &src.mapping.idempotency {
        Locator::Header(h) => {
            let id =
                header(h).ok_or_else(|| format!("missing {h} header (the idempotency key)"))?;
            match line {
                Some(n) => format!("{id}#{n}"),
                None => id,
            }
        }
        Locator::JsonPath(p) => at_path(p).ok_or_else(|| format!("no idempotency key at {p}"))?,
        Locator::BodyHash(_) => {
            let digest = Sha256::digest(raw);
            digest.iter().map(|b| format!("{b:02x}")).collect()
        }
        Locator::Constant(_) => return Err("the idempotency key cannot be a constant".to_owned()),
    };
    if event_type.is_empty() || key.is_empty() {
        return Err("the event type and the idempotency key must not be empty".to_owned());
    }
    // Events about the same entity go to the same partition; the first entity the rules name
    // decides. Events the rules cannot map go by their own key (the worker dead-letters them).
    let partition_key = src
        .mapping
        .partition_key(&event_type, event)
        .unwrap_or_else(|| key.clone());
    Ok((event_type, key, partition_key))
}

/// A string value at a simple JSON path (`$.a.b`), numbers as text.
fn json_path(event: &Value, path: &str) -> Option<String> {
    let mut at = event;
    for part in path.strip_prefix("$.")?.split('.') {
        at = at.get(part)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One more event accepted from `source` (the metric and the console's counter).
fn count_accepted(state: &AppState, source: &str) {
    metrics::counter!("ontograph_ingest_received_total", "source" => source.to_owned())
        .increment(1);
    state
        .counters
        .ingest_accepted
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// `POST /ingest/{source}`.
pub async fn receive(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ingest, src) = match admit(&state, &source, &headers, &body).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let event = match crate::respond::json_body(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let (event_type, key, partition_key) = match describe(&src, &headers, &body, &event, None) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, "BAD_EVENT", e),
    };
    match publish(&ingest, &source, &event_type, &key, &partition_key, &body).await {
        Ok(()) => {
            count_accepted(&state, &source);
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "eventId": key, "source": source, "eventType": event_type })),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(source, error = %e, "event not accepted: the broker did not store it");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "BROKER_UNAVAILABLE",
                format!("the event was not accepted ({e}); retry later"),
            )
        }
    }
}

/// `POST /ingest/{source}/bulk`: NDJSON, signed as a whole; a result per line. The status is
/// 202 when every line was accepted, 207 otherwise (see each line's `status`).
pub async fn receive_bulk(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ingest, src) = match admit(&state, &source, &headers, &body).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let mut results = Vec::new();
    let mut all_ok = true;
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        let line_no = index + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let outcome = match serde_json::from_slice::<Value>(line) {
            Err(e) => Err((400, "NOT_JSON", format!("line {line_no} is not JSON: {e}"))),
            Ok(event) => match describe(&src, &headers, line, &event, Some(line_no)) {
                Err(e) => Err((400, "BAD_EVENT", e)),
                Ok((event_type, key, partition_key)) => {
                    match publish(&ingest, &source, &event_type, &key, &partition_key, line).await {
                        Ok(()) => Ok(key),
                        Err(e) => Err((
                            503,
                            "BROKER_UNAVAILABLE",
                            format!("not accepted ({e}); retry this line"),
                        )),
                    }
                }
            },
        };
        match outcome {
            Ok(key) => {
                count_accepted(&state, &source);
                results.push(json!({ "line": line_no, "status": 202, "eventId": key }));
            }
            Err((status, code, message)) => {
                all_ok = false;
                results.push(json!({ "line": line_no, "status": status, "error": { "code": code, "message": message } }));
            }
        }
    }
    let status = if all_ok {
        StatusCode::ACCEPTED
    } else {
        StatusCode::MULTI_STATUS
    };
    (status, axum::Json(json!({ "results": results }))).into_response()
}
