//! The gateway's one typed configuration: everything `ontograph serve` (or a test) decides
//! before the gateway is built by [`crate::AppState::build`]. Every field has a default, so a
//! configuration names only what differs.

use std::collections::HashMap;
use std::time::Duration;

use ontology::compile::CompileOptions;

use crate::access::AccessConfig;
use crate::admin::auth::AdminConfig;
use crate::degree_store::SupernodeConfig;
use crate::graphql::cache::CachePolicy;
use crate::persisted::{AllowList, Mode as PersistedMode};
use crate::ratelimit::RateLimitConfig;
use crate::schema::SchemaLimits;
pub use crate::webhook::receiver::WebhookConfig;

/// Everything the gateway needs besides the ontology and the Neo4j router.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Default and largest page sizes of the generated Cypher.
    pub compile: CompileOptions,
    /// Depth and complexity limits of the executable schema.
    pub schema: SchemaLimits,
    /// Body size, request time limit, CORS.
    pub http: HttpLimits,
    /// Timeout of one Cypher statement.
    pub statement_timeout: Duration,
    /// Consistency of reads that do not ask for one.
    pub default_consistency: graph::ConsistencyLevel,
    /// Who may use `/admin` (with nothing configured, the admin surface refuses everything).
    pub admin: AdminConfig,
    /// Who may use the GraphQL API (nothing configured: everyone).
    pub access: AccessConfig,
    /// Persisted queries: off, automatic, or only an allow-list.
    pub persisted_queries: PersistedMode,
    /// The operations the allow-list mode admits.
    pub allow_list: AllowList,
    /// Answer introspection (`__schema`, `__type`).
    pub introspection: bool,
    /// How often the database's uniqueness constraints and range indexes are re-read and
    /// adopted as keys (`Duration::ZERO`: only at start and before degree-store scans).
    pub database_keys_interval: Duration,
    /// The degree store for supernode rewrites (`None`: off).
    pub supernodes: Option<SupernodeConfig>,
    /// How supernode rewrites are chosen.
    pub rewrite: ontology::rewrite::RewriteOptions,
    /// Aliases, root fields and estimated cost per operation.
    pub limits: ontology::cost::Limits,
    /// The result cache (`None`: off).
    pub cache: Option<CacheSettings>,
    /// The webhook receiver at `/ingest/{source}` (`None`: off, `/ingest/*` answers 404).
    pub webhooks: Option<WebhookConfig>,
    /// Budgets per client for reads, writes and ingestion.
    pub rate_limits: RateLimitConfig,
    /// The Redis every gateway shares (cache, rate limits, persisted queries, admin sessions and
    /// audit log, degree store); `None`: each gateway keeps all of these to itself.
    pub redis: Option<redis_handle::RedisConfig>,
    /// Prefix of every Redis key and channel of this deployment.
    pub redis_prefix: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            compile: CompileOptions::default(),
            schema: SchemaLimits {
                max_depth: 12,
                max_complexity: 5_000,
            },
            http: HttpLimits::default(),
            statement_timeout: Duration::from_secs(25),
            default_consistency: graph::ConsistencyLevel::Session,
            admin: AdminConfig::default(),
            access: AccessConfig::default(),
            persisted_queries: PersistedMode::default(),
            allow_list: AllowList::new(),
            introspection: true,
            database_keys_interval: Duration::from_secs(60),
            supernodes: None,
            rewrite: ontology::rewrite::RewriteOptions::default(),
            limits: ontology::cost::Limits::default(),
            cache: None,
            webhooks: None,
            rate_limits: RateLimitConfig::default(),
            redis: None,
            redis_prefix: "ontograph:cache".to_owned(),
        }
    }
}

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

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
        }
    }
}

/// The result cache's settings.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// How long results live.
    pub policy: CachePolicy,
    /// Size of the in-process level, in bytes.
    pub l1_bytes: u64,
}

/// `250ms`, `30s`, `5m`, `1h`, or a number of seconds; `off` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "off" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 250ms, 5m or 1h"))?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => return Err(format!("`{text}`: unknown unit `{other}` (ms, s, m or h)")),
    })
}

/// Parses `Person=30s,Issue=0,Team=5m` (units as [`parse_duration`]).
pub fn parse_type_ttls(text: &str) -> Result<HashMap<String, Duration>, String> {
    let mut out = HashMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, ttl) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}`: expected Type=duration, e.g. Person=30s"))?;
        out.insert(name.trim().to_owned(), parse_duration(ttl.trim())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_type_ttls_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("off"), Ok(Duration::ZERO));
        assert!(parse_duration("5 parsecs").is_err());
        let t = parse_type_ttls("Person=30s, Issue=0").expect("parses");
        assert_eq!(t["Person"], Duration::from_secs(30));
        assert_eq!(t["Issue"], Duration::ZERO);
        assert!(parse_type_ttls("Person").is_err());
    }
}
