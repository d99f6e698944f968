//! The ingestion page's API: `GET /admin/api/ingest` (sources, queues, dead letters) and
//! `POST /admin/api/ingest/replay`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::audit;
use super::auth::Principal;
use crate::respond::{api_error as error, json_body, Remote};
use crate::state::AppState;

/// `GET /admin/api/ingest`: sources, queue depths and the dead letters (up to 100, not removed).
pub async fn admin_status(State(state): State<AppState>) -> Response {
    let Some(ingest) = state.webhooks.clone() else {
        return axum::Json(json!({ "enabled": false })).into_response();
    };
    let mut sources: Vec<Value> = ingest
        .sources
        .values()
        .map(|s| json!({ "source": s.mapping.source, "eventTypes": s.mapping.event_types().collect::<Vec<_>>() }))
        .collect();
    sources.sort_by(|a, b| a["source"].as_str().cmp(&b["source"].as_str()));
    let (queues, letters) = match (
        ingest.bus.depths().await,
        ingest.bus.dead_letters(100).await,
    ) {
        (Ok(q), Ok(l)) => (q, l),
        (Err(e), _) | (_, Err(e)) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "BROKER_UNAVAILABLE",
                e.to_string(),
            )
        }
    };
    let dead: Vec<Value> = letters
        .iter()
        .map(|d| {
            let body = String::from_utf8_lossy(&d.body);
            let body: String = body.chars().take(2000).collect();
            json!({ "id": d.id, "source": d.source, "eventType": d.event_type, "reason": d.reason, "body": body })
        })
        .collect();
    axum::Json(json!({
        "enabled": true,
        "sources": sources,
        "partitions": ingest.bus.config().partitions,
        "queues": queues.iter().map(|(name, n)| json!({ "name": name, "messages": n })).collect::<Vec<_>>(),
        "deadLetters": dead,
    }))
    .into_response()
}

/// `POST /admin/api/ingest/replay` with `{"ids": [...]}` or `{"all": true}`: puts dead letters
/// back into processing (after the rules or the data were fixed). Each is removed from the
/// dead-letter queue only once the broker confirmed it back into a partition queue.
pub async fn admin_replay(
    State(state): State<AppState>,
    Remote(remote): Remote,
    axum::Extension(who): axum::Extension<Principal>,
    body: Bytes,
) -> Response {
    let Some(ingest) = state.webhooks.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "INGEST_DISABLED",
            "ingestion is not enabled on this gateway",
        );
    };
    let request = match json_body(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let all = request.get("all").and_then(Value::as_bool).unwrap_or(false);
    let ids: std::collections::HashSet<String> = request
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !all && ids.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "give `ids: [...]` or `all: true`",
        );
    }
    let limit = request
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(10_000) as usize;
    let bus = ingest.bus.clone();
    let outcome = bus
        .replay_dead_letters(
            limit,
            |d| all || ids.contains(&d.id),
            |d| {
                let ingest = ingest.clone();
                async move {
                    let partition_key = ingest
                        .sources
                        .get(&d.source)
                        .and_then(|s| {
                            let event: Value = serde_json::from_slice(&d.body).ok()?;
                            s.mapping.partition_key(&d.event_type, &event)
                        })
                        .unwrap_or_else(|| d.id.clone());
                    crate::webhook::publish(
                        &ingest,
                        &d.source,
                        &d.event_type,
                        &d.id,
                        &partition_key,
                        &d.body,
                    )
                    .await
                }
            },
        )
        .await;
    let target = if all {
        "all".to_owned()
    } else {
        let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.join(",")
    };
    match outcome {
        Ok(replayed) => {
            tracing::info!(count = replayed.len(), "dead letters replayed");
            state.admin.audit.record(audit::entry(
                &who.who,
                "ingest.replay",
                &target,
                Ok(Some(format!("{} replayed", replayed.len()))),
                remote,
            ));
            axum::Json(json!({ "replayed": replayed })).into_response()
        }
        Err(e) => {
            state.admin.audit.record(audit::entry(
                &who.who,
                "ingest.replay",
                &target,
                Err(e.to_string()),
                remote,
            ));
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "BROKER_UNAVAILABLE",
                e.to_string(),
            )
        }
    }
}
