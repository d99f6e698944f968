//! The admin API's read-outs of the running system: `topology` (the Neo4j servers), `cache`
//! (the result cache), `supernodes` (the degree store), `hot-queries`, and `explain`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::respond::api_error;
use crate::state::AppState;

/// `GET /admin/api/topology`: roles, health and load of every Neo4j server.
pub async fn topology(State(state): State<AppState>) -> Response {
    axum::Json(state.engine.neo4j.snapshot()).into_response()
}

/// `GET /admin/api/cache`: policy, counters and state of the result cache.
pub async fn cache_admin(State(state): State<AppState>) -> Response {
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
pub async fn supernodes_admin(State(state): State<AppState>) -> Response {
    match &state.engine.supernodes {
        Some(store) => axum::Json(store.describe()).into_response(),
        None => axum::Json(serde_json::json!({ "enabled": false })).into_response(),
    }
}

/// `GET /admin/api/hot-queries?limit=N`: operation shapes by total time.
pub async fn hot_queries(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let limit = query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("limit=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    axum::Json(state.hot.top(limit)).into_response()
}

/// `POST /admin/api/explain` with `{"query", "variables", "operationName", "measure"}`.
pub async fn explain_admin(State(state): State<AppState>, body: Bytes) -> Response {
    let request: crate::explain::ExplainRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return api_error(
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
        Err(e) => api_error(StatusCode::BAD_REQUEST, "EXPLAIN_FAILED", e),
    }
}
