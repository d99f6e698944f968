//! Ontograph's HTTP surface: the GraphQL API generated from the ontology, served from Neo4j,
//! the webhook receiver, the admin console and API, health checks and Prometheus metrics.
//!
//! Layers, each importing only those before it (checked by `scripts/check-module-cycles`):
//! the parts (`access`, `persisted`, `ratelimit`, `degree_store`, `hot_queries`, `operation`,
//! `render`, `schema`, `explain`, `graphql::{document, cache}`, `webhook::{receiver, signature}`,
//! `admin::{auth, audit, history, indexes, state}`, `respond`) → `config` → `state` (built
//! once from the config) → the handlers (`graphql`, `webhook`, `admin`) → [`app`] here.

pub mod access;
pub mod admin;
pub mod config;
pub mod database_keys;
pub mod degree_store;
pub mod explain;
pub mod graphql;
pub mod hot_queries;
pub mod operation;
pub mod persisted;
pub mod ratelimit;
pub mod render;
pub mod respond;
pub mod schema;
pub mod state;
pub mod webhook;

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use config::{CacheSettings, GatewayConfig, HttpLimits, WebhookConfig};
pub use operation::Engine;
pub use redis_handle::{RedisConfig, RedisHandle};
pub use schema::SchemaLimits;
pub use state::{AppState, BuildError};

/// Largest body any ingestion route reads (each source has its own, smaller limit).
const INGEST_BODY_CEILING: usize = 64 * 1024 * 1024;

/// The whole HTTP surface, separate from `main` so tests can drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let max_body = state.limits.max_body_bytes;
    Router::new()
        .merge(graphql::routes(&state.limits.cors_origins))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/ingest/{source}",
            post(webhook::receive).layer(DefaultBodyLimit::max(INGEST_BODY_CEILING)),
        )
        .route(
            "/ingest/{source}/bulk",
            post(webhook::receive_bulk).layer(DefaultBodyLimit::max(INGEST_BODY_CEILING)),
        )
        .merge(admin::routes(state.clone()))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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

/// The process-wide Prometheus recorder (installed once; later calls share it).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .clone()
}
