//! The `ontograph` binary: parses arguments, loads configuration, and starts one command.

mod migrate;
mod seed;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use ontology::served::ServedOntology;

/// Ontograph: an ontology-shaped knowledge graph in Neo4j, served over GraphQL.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The ontology file (GraphQL SDL type definitions).
    #[arg(
        long,
        env = "ONTOGRAPH_ONTOLOGY",
        default_value = "schema/ontology.graphql",
        global = true
    )]
    ontology: PathBuf,
    /// Log format: `text` or `json`.
    #[arg(
        long,
        env = "ONTOGRAPH_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API.
    Serve(Box<ServeArgs>),
    /// Create the constraints and indexes the ontology asks for (idempotent).
    Migrate(MigrateArgs),
    /// Validate the ontology (and, with ingestion on or `--with-mappings`, the mapping rules of
    /// `ONTOGRAPH_INGEST_MAPPINGS`) and print the generated GraphQL SDL.
    Check(CheckArgs),
    /// Load deterministic sample data with a heavy-tailed degree distribution.
    Seed(SeedArgs),
    /// Run an ingest worker: consume accepted webhooks and write them to the graph in batches.
    Ingest(IngestWorkerArgs),
    /// Show how a GraphQL operation compiles: plain and rewritten Cypher, the supernode rules
    /// considered with their costs, and (with --measure) both timed on the database.
    Explain(ExplainArgs),
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    neo4j: Neo4jArgs,
    #[command(flatten)]
    supernodes: SupernodeArgs,
    /// The GraphQL operation (or `@file.graphql`).
    #[arg(long)]
    query: String,
    /// Its variables, as JSON.
    #[arg(long)]
    variables: Option<String>,
    /// The operation to explain when the document has several.
    #[arg(long)]
    operation_name: Option<String>,
    /// Run both statements on the database and report their median times.
    #[arg(long)]
    measure: bool,
    /// Runs per statement with --measure.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

#[derive(Args)]
struct IngestWorkerArgs {
    #[command(flatten)]
    neo4j: Neo4jArgs,
    #[command(flatten)]
    ingest: IngestArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Largest batch, in events.
    #[arg(long, env = "ONTOGRAPH_INGEST_BATCH_SIZE", default_value_t = 500)]
    batch_size: usize,
    /// Longest wait before a partial batch is written, in milliseconds.
    #[arg(long, env = "ONTOGRAPH_INGEST_FLUSH_MS", default_value_t = 50)]
    flush_ms: u64,
    /// Unacknowledged events the broker may send ahead.
    #[arg(long, env = "ONTOGRAPH_INGEST_PREFETCH", default_value_t = 2000)]
    prefetch: u16,
}

#[derive(Args, Clone)]
struct Neo4jArgs {
    /// Neo4j to use: `bolt://host:port` of the leader (static topology, with
    /// `--neo4j-reader-uris` for read replicas), or `neo4j://host:port` of any cluster member to
    /// discover the cluster from its routing table.
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:7687")]
    neo4j_uri: String,
    /// Comma-separated `bolt://` URIs of read replicas (static topology only). Empty: the
    /// leader serves reads too.
    #[arg(
        long,
        env = "NEO4J_READER_URIS",
        value_delimiter = ',',
        default_value = ""
    )]
    neo4j_reader_uris: Vec<String>,
    /// Neo4j user.
    #[arg(long, env = "NEO4J_USER", default_value = "neo4j")]
    neo4j_user: String,
    /// Neo4j password (from the environment; never logged).
    #[arg(
        long,
        env = "NEO4J_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    neo4j_password: String,
    /// Neo4j database name (default: the server's default database).
    #[arg(long, env = "NEO4J_DATABASE")]
    neo4j_database: Option<String>,
    /// How often the database's uniqueness constraints and range indexes are re-read and
    /// adopted as keys while serving or ingesting, in seconds (`0`: only at start and, with
    /// supernodes on, before each degree-store scan).
    #[arg(
        long,
        env = "ONTOGRAPH_DATABASE_KEYS_INTERVAL_SECS",
        default_value_t = 60
    )]
    database_keys_interval_secs: u64,
    /// Largest number of pooled Bolt connections.
    #[arg(long, env = "NEO4J_MAX_CONNECTIONS", default_value_t = 32)]
    neo4j_max_connections: usize,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    neo4j: Neo4jArgs,
    /// Address to listen on.
    #[arg(long, env = "ONTOGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// `limit`/`first` applied to root lists and connections that give none (a response cut by
    /// it says so in `extensions.truncated`); `0`: no default.
    #[arg(long, env = "ONTOGRAPH_DEFAULT_LIMIT", default_value_t = 1000)]
    default_limit: u64,
    /// Largest `limit`/`first` a client may ask for.
    #[arg(long, env = "ONTOGRAPH_MAX_LIMIT", default_value_t = 10_000)]
    max_limit: u64,
    /// Deepest selection nesting accepted.
    #[arg(long, env = "ONTOGRAPH_MAX_DEPTH", default_value_t = 12)]
    max_depth: usize,
    /// Largest query complexity (number of selected fields) accepted.
    #[arg(long, env = "ONTOGRAPH_MAX_COMPLEXITY", default_value_t = 5_000)]
    max_complexity: usize,
    /// Largest estimated cost of an operation: the rows it is expected to touch, from the
    /// degree store's label counts and mean degrees (0: no limit).
    #[arg(long, env = "ONTOGRAPH_MAX_COST", default_value_t = 1_000_000)]
    max_cost: u64,
    /// Most aliased fields in one operation (0: no limit).
    #[arg(long, env = "ONTOGRAPH_MAX_ALIASES", default_value_t = 30)]
    max_aliases: usize,
    /// Most root fields in one operation (0: no limit).
    #[arg(long, env = "ONTOGRAPH_MAX_ROOT_FIELDS", default_value_t = 20)]
    max_root_fields: usize,
    /// Largest request body, in bytes.
    #[arg(long, env = "ONTOGRAPH_MAX_BODY_BYTES", default_value_t = 262_144)]
    max_body_bytes: usize,
    /// Time limit of one GraphQL request, in milliseconds.
    #[arg(long, env = "ONTOGRAPH_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Persisted queries: `automatic` (hash-only requests after a first one with the text),
    /// `allowlist` (only the operations of ONTOGRAPH_ALLOWLIST_FILE run) or `off`.
    #[arg(long, env = "ONTOGRAPH_PERSISTED_QUERIES", default_value = "automatic")]
    persisted_queries: gateway::persisted::Mode,
    /// The allow-list: an Apollo persisted query manifest, or `{"<sha256>": "<query>"}`.
    #[arg(long, env = "ONTOGRAPH_ALLOWLIST_FILE")]
    allowlist_file: Option<PathBuf>,
    /// Answer introspection queries (`__schema`, `__type`).
    #[arg(long, env = "ONTOGRAPH_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    introspection: bool,
    /// On SIGTERM, how long `/readyz` answers 503 while requests are still served (time for load
    /// balancers to stop sending), before the listener closes.
    #[arg(long, env = "ONTOGRAPH_SHUTDOWN_DELAY", default_value = "0s", value_parser = parse_ttl)]
    shutdown_delay: Duration,
    /// After the listener closes, how long requests in flight may take before the process exits
    /// anyway (keep it below the orchestrator's grace period).
    #[arg(long, env = "ONTOGRAPH_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = parse_ttl)]
    shutdown_timeout: Duration,
    /// Origins allowed to call `/graphql` from browsers (CORS), comma-separated, or `*`;
    /// empty: no CORS headers (browsers on other origins cannot call the API).
    #[arg(long, env = "ONTOGRAPH_CORS_ORIGINS", default_value = "")]
    cors_origins: String,
    /// Read consistency when a request asks for none: eventual, session or strong.
    #[arg(long, env = "ONTOGRAPH_CONSISTENCY", default_value = "session")]
    consistency: graph::ConsistencyLevel,
    /// Serve reads from the leader when no reader is healthy.
    #[arg(long, env = "ONTOGRAPH_READ_FALLBACK_TO_LEADER", default_value_t = true, action = clap::ArgAction::Set)]
    read_fallback_to_leader: bool,
    /// How often every Neo4j server is health-checked, in milliseconds.
    #[arg(long, env = "ONTOGRAPH_HEALTH_INTERVAL_MS", default_value_t = 1_000)]
    health_interval_ms: u64,
    /// Server-side failures in a row that take a Neo4j server out of rotation (a connection
    /// failure does at once).
    #[arg(long, env = "ONTOGRAPH_EJECT_AFTER_FAILURES", default_value_t = 3)]
    eject_after_failures: u32,
    /// Admin token for the console (`/admin`) and the admin API (`/admin/api/*`). With neither
    /// this nor `ONTOGRAPH_ADMIN_JWT_SECRET`, the admin surface refuses every request.
    #[arg(long, env = "ONTOGRAPH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// HS256 secret of admin JWTs (`sub` names the operator; `roles` or `scope` must include
    /// `admin`).
    #[arg(long, env = "ONTOGRAPH_ADMIN_JWT_SECRET", hide_env_values = true)]
    admin_jwt_secret: Option<String>,
    /// Key of console session cookies; unset derives one from the admin token and JWT secret
    /// (instances with the same secrets accept each other's sessions).
    #[arg(long, env = "ONTOGRAPH_ADMIN_SESSION_SECRET", hide_env_values = true)]
    admin_session_secret: Option<String>,
    /// Lifetime of a console session (e.g. `8h`, `30m`).
    #[arg(long, env = "ONTOGRAPH_ADMIN_SESSION_TTL", default_value = "8h", value_parser = parse_ttl)]
    admin_session_ttl: Duration,
    /// `Secure` attribute of the session cookie: `auto` sets it when `X-Forwarded-Proto` is
    /// `https`.
    #[arg(long, env = "ONTOGRAPH_ADMIN_COOKIE_SECURE", default_value = "auto", value_parser = parse_secure)]
    admin_cookie_secure: Secure,
    /// Accept webhooks at `/ingest/{source}` (needs `AMQP_URL` and a secret per source).
    #[arg(long, env = "ONTOGRAPH_INGEST", default_value = "off", value_parser = parse_switch)]
    ingest: bool,
    #[command(flatten)]
    ingest_args: IngestArgs,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    supernodes: SupernodeArgs,
    #[command(flatten)]
    access: AccessArgs,
    /// Read budget per client (JWT subject or API key name; address when anonymous), shared
    /// through REDIS_URL: `100/s`, `6000/m`, `50/h`. Unset: unlimited.
    #[arg(long, env = "ONTOGRAPH_RATE_LIMIT_READ")]
    rate_limit_read: Option<gateway::ratelimit::Rate>,
    /// Write (mutation) budget per client.
    #[arg(long, env = "ONTOGRAPH_RATE_LIMIT_WRITE")]
    rate_limit_write: Option<gateway::ratelimit::Rate>,
    /// Ingestion budget per webhook source.
    #[arg(long, env = "ONTOGRAPH_RATE_LIMIT_INGEST")]
    rate_limit_ingest: Option<gateway::ratelimit::Rate>,
}

/// Who may use the GraphQL API. With none of the credential sources set, access control is off.
#[derive(Args, Clone)]
struct AccessArgs {
    /// HS256 secret of API JWTs.
    #[arg(long, env = "ONTOGRAPH_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// JSON Web Key Set file with the RS256 / ES256 keys of API JWTs.
    #[arg(long, env = "ONTOGRAPH_JWKS_FILE")]
    jwks_file: Option<PathBuf>,
    /// JSON Web Key Set URL (fetched at start, then every ONTOGRAPH_JWKS_REFRESH, and again for
    /// an unknown `kid`, at most every 30 s).
    #[arg(long, env = "ONTOGRAPH_JWKS_URL")]
    jwks_url: Option<String>,
    #[arg(long, env = "ONTOGRAPH_JWKS_REFRESH", default_value = "10m", value_parser = parse_ttl)]
    jwks_refresh: Duration,
    /// Required `iss` of JWTs.
    #[arg(long, env = "ONTOGRAPH_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// Required `aud` of JWTs.
    #[arg(long, env = "ONTOGRAPH_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// The claim holding a JWT's roles (an array, or a space-separated string).
    #[arg(long, env = "ONTOGRAPH_JWT_ROLES_CLAIM", default_value = "roles")]
    jwt_roles_claim: String,
    /// Static API keys: `name=role+role:key,...` (keys of at least 16 characters), sent as
    /// `X-API-Key: <key>` or `Authorization: ApiKey <key>`.
    #[arg(
        long,
        env = "ONTOGRAPH_API_KEYS",
        hide_env_values = true,
        default_value = ""
    )]
    api_keys: String,
    /// Let requests without a credential read (when access control is on).
    #[arg(long, env = "ONTOGRAPH_ANONYMOUS_READS", default_value_t = false, action = clap::ArgAction::Set)]
    anonymous_reads: bool,
}

impl AccessArgs {
    fn config(&self) -> anyhow::Result<gateway::access::AccessConfig> {
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(gateway::access::AccessConfig {
            jwt_secret: nonempty(&self.jwt_secret),
            jwks_file: self.jwks_file.clone(),
            jwks_url: nonempty(&self.jwks_url),
            jwks_refresh: self.jwks_refresh,
            issuer: nonempty(&self.jwt_issuer),
            audience: nonempty(&self.jwt_audience),
            roles_claim: self.jwt_roles_claim.clone(),
            api_keys: gateway::access::parse_api_keys(&self.api_keys)
                .map_err(|e| anyhow::anyhow!("ONTOGRAPH_API_KEYS: {e}"))?,
            anonymous_reads: self.anonymous_reads,
            ..gateway::access::AccessConfig::default()
        })
    }
}

#[derive(Args, Clone)]
struct SupernodeArgs {
    /// Keep degree statistics and rewrite queries that start at supernodes.
    #[arg(long, env = "ONTOGRAPH_SUPERNODES", default_value_t = true, action = clap::ArgAction::Set)]
    supernodes: bool,
    /// Smallest degree (per relationship type and direction) of a supernode.
    #[arg(long, env = "ONTOGRAPH_SUPERNODE_MIN_DEGREE", default_value_t = 1_000)]
    supernode_min_degree: u64,
    /// A supernode's degree is also at least this quantile of its label's degrees.
    #[arg(long, env = "ONTOGRAPH_SUPERNODE_QUANTILE", default_value_t = 0.999)]
    supernode_quantile: f64,
    /// How often the degree store is rebuilt by a scan (`30s`, `5m`).
    #[arg(long, env = "ONTOGRAPH_SUPERNODE_SCAN_INTERVAL", default_value = "10m", value_parser = parse_ttl)]
    supernode_scan_interval: Duration,
    /// A rewrite applies when its estimated cost is at most this fraction of the plain plan's.
    #[arg(
        long,
        env = "ONTOGRAPH_SUPERNODE_MAX_COST_RATIO",
        default_value_t = 0.1
    )]
    supernode_max_cost_ratio: f64,
}

impl SupernodeArgs {
    /// The degree store's thresholds (`None`: supernode handling is off).
    fn config(&self) -> Option<gateway::degree_store::SupernodeConfig> {
        self.supernodes
            .then(|| gateway::degree_store::SupernodeConfig {
                min_degree: self.supernode_min_degree.max(1),
                quantile: self.supernode_quantile.clamp(0.0, 1.0),
                scan_interval: self.supernode_scan_interval.max(Duration::from_secs(1)),
                ..gateway::degree_store::SupernodeConfig::default()
            })
    }

    fn rewrite(&self) -> ontology::rewrite::RewriteOptions {
        ontology::rewrite::RewriteOptions {
            apply: self.supernodes,
            min_degree: self.supernode_min_degree.max(1),
            max_cost_ratio: self.supernode_max_cost_ratio,
        }
    }
}

#[derive(Args, Clone)]
struct CacheArgs {
    /// Result cache TTL for queries (`30s`, `5m`, `250ms`); `off` disables the cache.
    #[arg(long, env = "ONTOGRAPH_CACHE_TTL", default_value = "off", value_parser = parse_ttl)]
    cache_ttl: Duration,
    /// Per-type TTLs overriding the default: `Person=30s,Issue=off`. The shortest among the
    /// types a query reads applies.
    #[arg(long, env = "ONTOGRAPH_CACHE_TYPE_TTL", default_value = "")]
    cache_type_ttl: String,
    /// Size of the in-process cache level, in MiB.
    #[arg(long, env = "ONTOGRAPH_CACHE_L1_MB", default_value_t = 256)]
    cache_l1_mb: u64,
    /// The Redis the gateways share (cache level and invalidation, rate limits, persisted queries,
    /// admin sessions and audit log, degree store); unset: each instance keeps these to itself
    /// (and ingest workers cannot invalidate gateways' caches).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// Prefix of every Redis key and channel of this deployment.
    #[arg(
        long,
        env = "ONTOGRAPH_CACHE_PREFIX",
        default_value = "ontograph:cache"
    )]
    cache_prefix: String,
    /// Longest one Redis call may take, in milliseconds; after a failure every user of Redis
    /// (cache, rate limits, persisted queries, admin, degree store) skips it for 2 s.
    #[arg(long, env = "ONTOGRAPH_REDIS_TIMEOUT_MS", default_value_t = 50)]
    redis_timeout_ms: u64,
}

/// `true`, `false` or `auto` (`None`).
#[derive(Debug, Clone, Copy)]
struct Secure(Option<bool>);

fn parse_secure(text: &str) -> Result<Secure, String> {
    match text {
        "auto" => Ok(Secure(None)),
        "true" => Ok(Secure(Some(true))),
        "false" => Ok(Secure(Some(false))),
        other => Err(format!("expected auto, true or false, not `{other}`")),
    }
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    gateway::config::parse_duration(text)
}

/// `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0`.
fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" | "" => Ok(false),
        other => Err(format!("expected on or off (true/false), not `{other}`")),
    }
}

impl CacheArgs {
    /// The shared Redis, when `REDIS_URL` names one.
    fn redis(&self) -> Option<gateway::RedisConfig> {
        let url = self.redis_url.as_deref().filter(|u| !u.is_empty())?;
        Some(gateway::RedisConfig {
            timeout: Duration::from_millis(self.redis_timeout_ms.max(1)),
            ..gateway::RedisConfig::new(url)
        })
    }

    /// The result cache's settings, when a TTL is configured.
    fn settings(&self) -> anyhow::Result<Option<gateway::CacheSettings>> {
        let policy = gateway::graphql::cache::CachePolicy {
            default_ttl: (!self.cache_ttl.is_zero()).then_some(self.cache_ttl),
            type_ttls: gateway::config::parse_type_ttls(&self.cache_type_ttl)
                .map_err(|e| anyhow::anyhow!("ONTOGRAPH_CACHE_TYPE_TTL: {e}"))?,
        };
        if policy.default_ttl.is_none() && policy.type_ttls.values().all(|t| t.is_zero()) {
            return Ok(None);
        }
        Ok(Some(gateway::CacheSettings {
            policy,
            l1_bytes: self.cache_l1_mb.max(1) * 1024 * 1024,
        }))
    }
}

#[derive(Args, Clone)]
struct IngestArgs {
    /// Folder of mapping rules, one `<source>.yaml` per ingestion source.
    #[arg(
        long,
        env = "ONTOGRAPH_INGEST_MAPPINGS",
        default_value = "schema/mappings"
    )]
    ingest_mappings: PathBuf,
    /// RabbitMQ URL.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        hide_env_values = true
    )]
    amqp_url: String,
    /// Number of partition queues (all gateways and workers of a deployment must agree).
    #[arg(long, env = "ONTOGRAPH_INGEST_PARTITIONS", default_value_t = 4)]
    ingest_partitions: u32,
    /// Prefix of the RabbitMQ exchange and queue names (several deployments on one broker).
    #[arg(long, env = "ONTOGRAPH_BUS_PREFIX", default_value = "ontograph")]
    bus_prefix: String,
}

impl IngestArgs {
    fn bus_config(&self) -> bus::BusConfig {
        bus::BusConfig {
            partitions: self.ingest_partitions.max(1),
            names: bus::Names::new(self.bus_prefix.clone()),
            ..bus::BusConfig::new(self.amqp_url.clone())
        }
    }
}

#[derive(Args)]
struct CheckArgs {
    /// Folder of mapping rules to validate against the ontology.
    #[arg(
        long,
        env = "ONTOGRAPH_INGEST_MAPPINGS",
        default_value = "schema/mappings"
    )]
    ingest_mappings: PathBuf,
    /// Ingestion is on (as `serve` reads it): the mapping rules are validated too.
    #[arg(long, env = "ONTOGRAPH_INGEST", default_value = "off", value_parser = parse_switch)]
    ingest: bool,
    /// Validate the mapping rules even with ingestion off.
    #[arg(long)]
    with_mappings: bool,
}

#[derive(Args)]
struct MigrateArgs {
    #[command(flatten)]
    neo4j: Neo4jArgs,
    /// Print what would change without changing anything.
    #[arg(long)]
    dry_run: bool,
    /// Also drop Ontograph-managed (`og_`) items the ontology no longer asks for.
    #[arg(long)]
    drop: bool,
}

#[derive(Args)]
struct SeedArgs {
    #[command(flatten)]
    neo4j: Neo4jArgs,
    /// Nodes per node type (50 is a small sample; 200000 makes millions of relationships).
    #[arg(long, default_value_t = 50)]
    scale: u64,
    /// Random seed: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Mean number of edges per source node for list relationships.
    #[arg(long, default_value_t = 4.0)]
    avg_degree: f64,
    /// Delete all existing data first.
    #[arg(long)]
    reset: bool,
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,neo4rs=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn load_ontology(path: &Path) -> anyhow::Result<ontology::Ontology> {
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the ontology file {}", path.display()))?;
    match ontology::parse_ontology(&source) {
        Ok(o) => Ok(o),
        Err(e) => bail!(
            "{} is not a valid ontology:\n{}",
            path.display(),
            e.render(&path.display().to_string())
        ),
    }
}

/// Every `<source>.yaml` in `dir`, validated against the ontology.
fn load_mappings(
    o: &ontology::Ontology,
    dir: &Path,
) -> anyhow::Result<Vec<ontology::mapping::Mapping>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the mapping rules folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mapping = ontology::mapping::Mapping::from_yaml(o, &path.display().to_string(), &text)?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if mapping.source != stem {
            anyhow::bail!(
                "{}: `source: {}` must match the file name `{stem}`",
                path.display(),
                mapping.source
            );
        }
        out.push(mapping);
    }
    Ok(out)
}

/// The routing configuration these arguments describe.
fn routing_config(args: &Neo4jArgs) -> anyhow::Result<graph::RoutingConfig> {
    let readers: Vec<String> = args
        .neo4j_reader_uris
        .iter()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    let source = graph::TopologySource::from_uris(&args.neo4j_uri, &readers)?;
    let connection = graph::Neo4jConfig {
        uri: args.neo4j_uri.clone(),
        user: args.neo4j_user.clone(),
        password: args.neo4j_password.clone(),
        max_connections: args.neo4j_max_connections,
        database: args.neo4j_database.clone(),
        ..graph::Neo4jConfig::default()
    };
    Ok(graph::RoutingConfig::new(source, connection))
}

async fn router(config: graph::RoutingConfig) -> anyhow::Result<graph::Router> {
    let uri = match &config.source {
        graph::TopologySource::Static { writer, .. } => writer.clone(),
        graph::TopologySource::Discovered { seed } => seed.clone(),
    };
    graph::Router::connect(config)
        .await
        .with_context(|| format!("cannot connect to Neo4j at {uri}"))
}

/// A client for the leader (migrations and seeding write there).
async fn connect(args: &Neo4jArgs) -> anyhow::Result<graph::Neo4jClient> {
    let router = router(routing_config(args)?).await?;
    router
        .leader_client()
        .with_context(|| format!("no Neo4j leader found through {}", args.neo4j_uri))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    match cli.command {
        Command::Check(args) => {
            let o = load_ontology(&cli.ontology)?;
            if !(args.ingest || args.with_mappings) {
                eprintln!(
                    "mapping rules not checked: ingestion is off (ONTOGRAPH_INGEST=on or --with-mappings checks {})",
                    args.ingest_mappings.display()
                );
            } else {
                for m in load_mappings(&o, &args.ingest_mappings)? {
                    eprintln!(
                        "ok: mapping rules for source `{}` ({} event types)",
                        m.source,
                        m.event_types().count()
                    );
                }
            }
            print!("{}", ontology::api::api_sdl(&o));
            eprintln!(
                "ok: {} node types, {} relationship fields, ontology version {}",
                o.nodes.len(),
                o.nodes
                    .values()
                    .map(|n| n.relationships().count())
                    .sum::<usize>(),
                o.version
            );
            Ok(())
        }
        Command::Migrate(args) => {
            let o = load_ontology(&cli.ontology)?;
            let client = connect(&args.neo4j).await?;
            let report = migrate::run(&o, &client, args.dry_run, args.drop).await?;
            print!("{}", migrate::render(&report));
            Ok(())
        }
        Command::Seed(args) => {
            let o = load_ontology(&cli.ontology)?;
            let client = connect(&args.neo4j).await?;
            let opts = ontology::seed::SeedOptions {
                scale: args.scale,
                seed: args.seed,
                avg_degree: args.avg_degree,
                ..ontology::seed::SeedOptions::default()
            };
            let report = seed::run_seed(&o, &client, &opts, args.reset).await?;
            println!("{report}");
            Ok(())
        }
        Command::Serve(args) => serve(&cli.ontology, *args).await,
        Command::Explain(args) => {
            let o = load_ontology(&cli.ontology)?;
            let query = match args.query.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
                }
                None => args.query.clone(),
            };
            let variables = args
                .variables
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .context("--variables must be JSON")?;
            let client = router(routing_config(&args.neo4j)?).await?;
            // No Redis: this process measures the degrees itself.
            let config = gateway::GatewayConfig {
                supernodes: args.supernodes.config(),
                rewrite: args.supernodes.rewrite(),
                ..gateway::GatewayConfig::default()
            };
            let engine = gateway::state::engine(o, client, &config).await?;
            if let Some(store) = &engine.supernodes {
                store.refresh().await;
            }
            let request = gateway::explain::ExplainRequest {
                query,
                variables,
                operation_name: args.operation_name,
                measure: args.measure,
                runs: Some(args.runs),
            };
            let out = gateway::explain::explain(&engine, &request)
                .await
                .map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Ingest(args) => {
            let neo4j = router(routing_config(&args.neo4j)?).await?;
            // Rules may key nodes by properties the database keeps unique; cache tags name
            // nodes by the keys the gateways use, so the worker re-reads them as they do.
            let served = Arc::new(ServedOntology::new(load_ontology(&cli.ontology)?));
            gateway::database_keys::adopt(&served, &neo4j).await;
            gateway::database_keys::watch(
                served.clone(),
                neo4j.clone(),
                Duration::from_secs(args.neo4j.database_keys_interval_secs),
            );
            let mappings = load_mappings(&served.current(), &args.ingest.ingest_mappings)?;
            if mappings.is_empty() {
                anyhow::bail!(
                    "{} holds no mapping rules",
                    args.ingest.ingest_mappings.display()
                );
            }
            let bus = bus::Bus::new(args.ingest.bus_config());
            let config = ingest::WorkerConfig {
                batch_size: args.batch_size.max(1),
                flush_interval: Duration::from_millis(args.flush_ms),
                prefetch: args.prefetch.max(1),
                ..ingest::WorkerConfig::default()
            };
            let mut worker = ingest::Worker::new(served, mappings, bus, neo4j, config);
            if let Some(redis) = args.cache.redis() {
                // Only invalidates: no in-process level.
                let redis = gateway::RedisHandle::connect(redis).await;
                let cache = cache::Cache::new(
                    cache::CacheConfig {
                        l1_bytes: 0,
                        prefix: args.cache.cache_prefix.clone(),
                        ..cache::CacheConfig::default()
                    },
                    Some(redis),
                );
                worker = worker.with_cache(cache);
            }
            let stats = worker.run(shutdown_signal()).await;
            tracing::info!(?stats, "ingest worker stopped");
            Ok(())
        }
    }
}

async fn serve(ontology_path: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let o = load_ontology(ontology_path)?;
    let mut routing = routing_config(&args.neo4j)?;
    routing.read_fallback_to_leader = args.read_fallback_to_leader;
    routing.health_interval = Duration::from_millis(args.health_interval_ms.max(50));
    routing.failures_to_eject = args.eject_after_failures.max(1);
    let client = router(routing).await?;
    graph::describe_metrics();
    graph::routing::describe_metrics();
    let mut config = gateway::GatewayConfig::default();
    config.compile.default_limit = (args.default_limit > 0).then_some(args.default_limit);
    config.database_keys_interval = Duration::from_secs(args.neo4j.database_keys_interval_secs);
    config.compile.max_limit = Some(args.max_limit);
    config.schema.max_depth = args.max_depth;
    config.schema.max_complexity = args.max_complexity;
    config.limits = ontology::cost::Limits {
        max_cost: (args.max_cost > 0).then_some(args.max_cost as f64),
        max_aliases: (args.max_aliases > 0).then_some(args.max_aliases),
        max_root_fields: (args.max_root_fields > 0).then_some(args.max_root_fields),
        ..ontology::cost::Limits::default()
    };
    config.http.max_body_bytes = args.max_body_bytes;
    config.http.request_timeout = Duration::from_millis(args.request_timeout_ms);
    config.persisted_queries = args.persisted_queries;
    config.introspection = args.introspection;
    if let Some(path) = &args.allowlist_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the allow-list {}", path.display()))?;
        config.allow_list = gateway::persisted::parse_allow_list(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    if config.persisted_queries == gateway::persisted::Mode::AllowList {
        anyhow::ensure!(
            !config.allow_list.is_empty(),
            "ONTOGRAPH_PERSISTED_QUERIES=allowlist needs ONTOGRAPH_ALLOWLIST_FILE with at least one operation"
        );
        tracing::info!(
            operations = config.allow_list.len(),
            "allow-list mode: only registered operations run"
        );
    }
    config.http.cors_origins = args
        .cors_origins
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    config.statement_timeout = config.http.request_timeout;
    if args.ingest {
        let mut sources = Vec::new();
        for mapping in load_mappings(&o, &args.ingest_args.ingest_mappings)? {
            let var = gateway::webhook::secret_env(&mapping.source);
            let secret = std::env::var(&var).with_context(|| {
                format!(
                    "ingestion source `{}` needs its secret in {var}",
                    mapping.source
                )
            })?;
            sources
                .push(gateway::webhook::Source::new(mapping, &secret).map_err(anyhow::Error::msg)?);
        }
        if sources.is_empty() {
            anyhow::bail!(
                "ONTOGRAPH_INGEST is on but {} holds no mapping rules",
                args.ingest_args.ingest_mappings.display()
            );
        }
        config.webhooks = Some(gateway::WebhookConfig {
            sources,
            bus: args.ingest_args.bus_config(),
        });
    }
    config.default_consistency = args.consistency;
    config.admin = gateway::admin::AdminConfig {
        token: args.admin_token.filter(|t| !t.is_empty()),
        jwt_secret: args.admin_jwt_secret.filter(|t| !t.is_empty()),
        session_secret: args.admin_session_secret.filter(|t| !t.is_empty()),
        session_ttl: args.admin_session_ttl,
        cookie_secure: args.admin_cookie_secure.0,
        ..gateway::admin::AdminConfig::default()
    };
    config.access = args.access.config()?;
    if config.access.enabled() {
        tracing::info!(
            anonymous_reads = config.access.anonymous_reads,
            "access control on: /graphql needs a JWT or an API key"
        );
    } else {
        tracing::warn!("access control off: every client may read and write (set ONTOGRAPH_JWT_SECRET, ONTOGRAPH_JWKS_FILE/_URL or ONTOGRAPH_API_KEYS)");
    }
    if config.admin.token.is_none() && config.admin.jwt_secret.is_none() {
        tracing::warn!(
            "no ONTOGRAPH_ADMIN_TOKEN or ONTOGRAPH_ADMIN_JWT_SECRET: /admin refuses every request"
        );
    }
    config.cache = args.cache.settings()?;
    config.redis = args.cache.redis();
    config.redis_prefix = args.cache.cache_prefix.clone();
    config.supernodes = args.supernodes.config();
    config.rewrite = args.supernodes.rewrite();
    config.rate_limits = gateway::ratelimit::RateLimitConfig {
        read: args.rate_limit_read,
        write: args.rate_limit_write,
        ingest: args.rate_limit_ingest,
    };
    let state = gateway::AppState::build(o, client, &config).await?;
    let draining = state.draining();
    let app = gateway::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "ontograph serving: GraphQL at http://{addr}/graphql, metrics at http://{addr}/metrics");
    let (delay, grace) = (args.shutdown_delay, args.shutdown_timeout);
    let drain = async move {
        shutdown_signal().await;
        // Fail readiness first, so load balancers take this instance out, while it still serves.
        draining.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "draining: /readyz answers 503"
        );
        tokio::time::sleep(delay).await;
        tracing::info!(
            timeout_ms = grace.as_millis() as u64,
            "no longer accepting connections; finishing the requests in flight"
        );
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            tracing::error!("requests still in flight after ONTOGRAPH_SHUTDOWN_TIMEOUT: exiting");
            std::process::exit(1);
        });
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(drain)
        .await?;
    tracing::info!("stopped: every request in flight was answered");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown requested");
}
