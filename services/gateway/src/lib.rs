//! Ontograph's HTTP surface: the GraphQL API generated from the ontology, served from Neo4j,
//! with health checks and Prometheus metrics.

pub mod access;
pub mod admin;
pub mod explain;
pub mod hot;
pub mod http;
pub mod ingest;
pub mod operation;
pub mod persisted;
pub mod ratelimit;
pub mod render;
pub mod result_cache;
pub mod schema;
pub mod signature;
pub mod supernodes;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use ontology::compile::CompileOptions;
use ontology::Ontology;

pub use http::{app, AppState, HttpLimits};

impl AppState {
    /// Starts the sampler behind the console's charts (`/admin/api/history`).
    pub fn start_history(&self) {
        admin::history::start(self);
    }
}
pub use operation::Engine;
pub use schema::SchemaLimits;

/// Everything `ontograph serve` needs besides the Neo4j router.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub compile: CompileOptions,
    pub schema: SchemaLimits,
    pub http: HttpLimits,
    /// Timeout of one Cypher statement.
    pub statement_timeout: Duration,
    /// Consistency of reads that do not ask for one.
    pub default_consistency: graph::ConsistencyLevel,
    /// Who may use `/admin` (with nothing configured, the admin surface refuses everything).
    pub admin: admin::AdminConfig,
    /// Who may use the GraphQL API (nothing configured: everyone).
    pub access: access::AccessConfig,
    /// Persisted queries: off, automatic, or only an allow-list.
    pub persisted_queries: persisted::Mode,
    /// The operations the allow-list mode admits.
    pub allow_list: persisted::AllowList,
    /// Answer introspection (`__schema`, `__type`).
    pub introspection: bool,
    /// The degree store for supernode rewrites (`None`: off).
    pub supernodes: Option<supernodes::SupernodeConfig>,
    /// How supernode rewrites are chosen.
    pub rewrite: ontology::rewrite::RewriteOptions,
    /// Aliases, root fields and estimated cost per operation.
    pub limits: ontology::cost::Limits,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            compile: CompileOptions::default(),
            schema: SchemaLimits {
                max_depth: 12,
                max_complexity: 5_000,
            },
            http: HttpLimits {
                max_body_bytes: 256 * 1024,
                request_timeout: Duration::from_secs(30),
                cors_origins: Vec::new(),
            },
            statement_timeout: Duration::from_secs(25),
            default_consistency: graph::ConsistencyLevel::Session,
            admin: admin::AdminConfig::default(),
            access: access::AccessConfig::default(),
            persisted_queries: persisted::Mode::default(),
            allow_list: persisted::AllowList::new(),
            introspection: true,
            supernodes: None,
            rewrite: ontology::rewrite::RewriteOptions::default(),
            limits: ontology::cost::Limits::default(),
        }
    }
}

/// Why the gateway could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Schema(#[from] schema::SchemaBuildError),
    #[error("schema assembly failed: {0}")]
    Finish(String),
}

/// A Redis connection (reconnecting on its own once made) for the state the gateways share:
/// rate limits, the admin audit log and logouts, registered persisted queries. Gives up after
/// 2 s, so a Redis that is down at start delays nothing longer.
pub async fn connect_redis(url: &str) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    tokio::time::timeout(
        std::time::Duration::from_secs(2),
        client.get_connection_manager(),
    )
    .await
    .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "timed out")))?
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

/// Assembles the application state: generated SDL, executable schema, engine, metrics.
pub fn build_state(
    ontology: Ontology,
    neo4j: graph::Router,
    config: &GatewayConfig,
) -> Result<AppState, BuildError> {
    let ontology = Arc::new(ontology);
    let sdl = ontology::api::api_sdl(&ontology);
    let supernodes = config
        .supernodes
        .clone()
        .map(|c| supernodes::DegreeStore::new(ontology.clone(), neo4j.clone(), c));
    let engine = Arc::new(Engine {
        ontology: ontology.clone(),
        options: config.compile.clone(),
        neo4j,
        timeout: config.statement_timeout,
        max_depth: config.schema.max_depth,
        types: render::TypeIndex::from_sdl(&sdl).map_err(BuildError::Finish)?,
        supernodes,
        rewrite: config.rewrite,
        limits: ontology::cost::Limits {
            default_limit: config.compile.default_limit.unwrap_or(1000),
            ..config.limits
        },
    });
    let schema = schema::schema_from_sdl(&sdl, &config.schema)?
        .extension(operation::OneStatement {
            engine: engine.clone(),
        })
        .finish()
        .map_err(|e| BuildError::Finish(e.to_string()))?;
    Ok(AppState {
        schema,
        engine,
        sdl: Arc::new(sdl),
        metrics: metrics_handle(),
        limits: config.http.clone(),
        default_consistency: config.default_consistency,
        admin: Arc::new(admin::AdminState::new(&config.admin)),
        access: Arc::new(access::Access::new(config.access.clone())),
        persisted: Arc::new(persisted::Persisted::new(
            config.persisted_queries,
            config.allow_list.clone(),
        )),
        introspection: config.introspection,
        limiter: Arc::new(ratelimit::RateLimiter::off()),
        draining: Arc::default(),
        ingest: None,
        cache: None,
        hot: Arc::new(hot::HotQueries::new(1000)),
    })
}
