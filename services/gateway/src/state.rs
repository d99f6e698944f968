//! The gateway's state: every part the handlers share, built once from a [`GatewayConfig`] by
//! [`AppState::build`] — the one Redis handle, the engine, the executable schema, the result
//! cache, access control, persisted queries, rate limits, the webhook receiver, the admin
//! surface — and the background tasks they need, started.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use async_graphql::dynamic::Schema;
use metrics_exporter_prometheus::PrometheusHandle;
use ontology::served::ServedOntology;
use ontology::Ontology;
use redis_handle::RedisHandle;

use crate::access::Access;
use crate::admin::history::{self, Counters};
use crate::admin::state::AdminState;
use crate::config::{GatewayConfig, HttpLimits};
use crate::degree_store::DegreeStore;
use crate::graphql::cache::ResultCache;
use crate::graphql::document::Documents;
use crate::hot_queries::HotQueries;
use crate::operation::{Engine, OneStatement};
use crate::persisted::Persisted;
use crate::ratelimit::RateLimiter;
use crate::webhook::receiver::Receiver;

/// Statement texts whose read/write class is remembered (see `Engine::access`).
const STATEMENT_CLASSES: u64 = 10_000;

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaBuildError),
    #[error("schema assembly failed: {0}")]
    Finish(String),
    #[error("ONTOGRAPH_CACHE_TYPE_TTL names types the ontology does not have: {0}")]
    UnknownCacheTypes(String),
}

/// Everything the handlers share; cheap to clone. Built only by [`AppState::build`].
#[derive(Clone)]
pub struct AppState {
    pub(crate) schema: Schema,
    pub(crate) engine: Arc<Engine>,
    pub(crate) sdl: Arc<String>,
    pub(crate) metrics: Option<PrometheusHandle>,
    pub(crate) limits: HttpLimits,
    /// Consistency of reads that do not ask for one.
    pub(crate) default_consistency: graph::ConsistencyLevel,
    /// Parsed documents, remembered per text.
    pub(crate) documents: Arc<Documents>,
    /// Admin access, audit log and console history.
    pub(crate) admin: Arc<AdminState>,
    /// Requests, errors, cache bypasses, webhooks accepted (the console's charts).
    pub(crate) counters: Arc<Counters>,
    /// Who may use the GraphQL API.
    pub(crate) access: Arc<Access>,
    /// Persisted queries (automatic, or an allow-list).
    pub(crate) persisted: Arc<Persisted>,
    /// Whether `__schema` / `__type` are answered.
    pub(crate) introspection: bool,
    /// Budgets per client (reads, writes, ingestion).
    pub(crate) limiter: Arc<RateLimiter>,
    /// Set on SIGTERM: `/readyz` answers 503 so load balancers stop sending new requests while
    /// the ones in flight finish.
    pub(crate) draining: Arc<AtomicBool>,
    /// The webhook receiver (`None`: ingestion is off and `/ingest/*` answers 404).
    pub(crate) webhooks: Option<Arc<Receiver>>,
    /// The result cache (`None`: off).
    pub(crate) cache: Option<Arc<ResultCache>>,
    /// Statistics per operation shape.
    pub(crate) hot: Arc<HotQueries>,
}

impl AppState {
    /// Builds the gateway: connects to Redis when configured (once, for every user of it),
    /// assembles the engine and the executable schema, and starts the background tasks (degree
    /// store scans, cache invalidation listener, JWKS refresh, the console's sampler).
    pub async fn build(
        ontology: Ontology,
        neo4j: graph::Router,
        config: &GatewayConfig,
    ) -> Result<AppState, BuildError> {
        let redis = match &config.redis {
            Some(c) => Some(RedisHandle::connect(c.clone()).await),
            None => None,
        };
        let served = Arc::new(ServedOntology::new(ontology));
        crate::database_keys::adopt(&served, &neo4j).await;
        crate::database_keys::watch(served.clone(), neo4j.clone(), config.database_keys_interval);
        let ontology = served.current();
        let cache = match &config.cache {
            Some(settings) => {
                let unknown = ResultCache::unknown_types(&settings.policy, &ontology);
                if !unknown.is_empty() {
                    return Err(BuildError::UnknownCacheTypes(unknown.join(", ")));
                }
                let cache = cache::Cache::new(
                    cache::CacheConfig {
                        l1_bytes: settings.l1_bytes,
                        prefix: config.redis_prefix.clone(),
                        ..cache::CacheConfig::default()
                    },
                    redis.clone(),
                );
                cache.listen();
                tracing::info!(
                    default_ttl_ms = settings.policy.default_ttl.map(|t| t.as_millis() as u64),
                    redis = cache.has_redis(),
                    "result cache on"
                );
                Some(Arc::new(ResultCache::new(
                    cache,
                    settings.policy.clone(),
                    &ontology,
                )))
            }
            None => None,
        };
        let (engine, schema, sdl) = assemble(served, neo4j, config, redis.clone())?;
        if let Some(store) = &engine.supernodes {
            store.start();
        }
        let access = Arc::new(Access::new(config.access.clone()));
        access.start().await;
        let webhooks = match &config.webhooks {
            Some(w) => Some(Arc::new(Receiver::start(w).await)),
            None => None,
        };
        let prefix = config.redis_prefix.as_str();
        let mut persisted = Persisted::new(config.persisted_queries, config.allow_list.clone());
        if let Some(redis) = &redis {
            persisted = persisted.with_redis(redis.clone(), prefix);
        }
        if config.rate_limits.enabled() {
            let r = &config.rate_limits;
            tracing::info!(read = ?r.read, write = ?r.write, ingest = ?r.ingest, shared = redis.is_some(), "rate limits on");
        }
        let state = AppState {
            schema,
            engine,
            sdl: Arc::new(sdl),
            metrics: crate::metrics_handle(),
            limits: config.http.clone(),
            default_consistency: config.default_consistency,
            documents: Arc::new(Documents::default()),
            admin: Arc::new(AdminState::new(&config.admin, redis.clone(), prefix)),
            counters: Arc::new(Counters::default()),
            access,
            persisted: Arc::new(persisted),
            introspection: config.introspection,
            limiter: Arc::new(RateLimiter::new(
                config.rate_limits.clone(),
                redis.clone(),
                prefix,
            )),
            draining: Arc::default(),
            webhooks,
            cache,
            hot: Arc::new(HotQueries::new(1000)),
        };
        history::start(
            state.admin.history.clone(),
            history::Sampled {
                counters: state.counters.clone(),
                cache: state.cache.clone(),
                webhooks: state.webhooks.clone(),
            },
        );
        Ok(state)
    }

    /// The engine: the ontology, the compiler's options and the Neo4j router.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The flag that makes `/readyz` answer 503 (set it when shutting down).
    pub fn draining(&self) -> Arc<AtomicBool> {
        self.draining.clone()
    }
}

/// The engine alone, as `ontograph explain` uses it: the database's keys adopted, no Redis,
/// nothing started.
pub async fn engine(
    ontology: Ontology,
    neo4j: graph::Router,
    config: &GatewayConfig,
) -> Result<Arc<Engine>, BuildError> {
    let served = Arc::new(ServedOntology::new(ontology));
    crate::database_keys::adopt(&served, &neo4j).await;
    assemble(served, neo4j, config, None).map(|(engine, _, _)| engine)
}

/// The engine, the executable schema that runs operations through it, and the generated SDL.
fn assemble(
    served: Arc<ServedOntology>,
    neo4j: graph::Router,
    config: &GatewayConfig,
    redis: Option<RedisHandle>,
) -> Result<(Arc<Engine>, Schema, String), BuildError> {
    // The API does not depend on keys: the schema stays as it is when they change.
    let ontology = served.current();
    let sdl = ontology::api::api_sdl(&ontology);
    let supernodes = config.supernodes.clone().map(|mut c| {
        // Per ontology version: instances serving another ontology keep their own snapshot.
        c.prefix = format!("{}:supernodes:{}", config.redis_prefix, ontology.version);
        c.invalidation_channel = Some(format!("{}:invalidate", config.redis_prefix));
        DegreeStore::new(served.clone(), neo4j.clone(), c, redis)
    });
    let engine = Arc::new(Engine {
        served,
        options: config.compile.clone(),
        neo4j,
        timeout: config.statement_timeout,
        max_depth: config.schema.max_depth,
        types: crate::render::TypeIndex::from_sdl(&sdl).map_err(BuildError::Finish)?,
        supernodes,
        rewrite: config.rewrite,
        limits: ontology::cost::Limits {
            default_limit: config.compile.default_limit.unwrap_or(1000),
            ..config.limits
        },
        statement_writes: moka::sync::Cache::new(STATEMENT_CLASSES),
    });
    let schema = crate::schema::schema_from_sdl(&sdl, &config.schema)?
        .extension(OneStatement {
            engine: engine.clone(),
        })
        .finish()
        .map_err(|e| BuildError::Finish(e.to_string()))?;
    Ok((engine, schema, sdl))
}
