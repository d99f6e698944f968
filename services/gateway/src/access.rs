//! Who may use the GraphQL API: JWT bearer tokens (HS256 with a shared secret; RS256 and ES256
//! with keys from a JWKS file or URL, cached and refreshed), static API keys, and anonymous reads
//! when configured. Each caller carries roles: `read`, `write`, `admin` (each implying the ones
//! before it) and any others the ontology's rules name.
//!
//! With no credential source configured, access control is off: every caller may read and write
//! (the admin surface keeps its own token). With one configured, a request without a credential
//! is refused unless anonymous reads are on.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::{Digest, Sha256};

/// The built-in roles, weakest first: each implies the ones before it.
pub const READ: &str = "read";
pub const WRITE: &str = "write";
pub const ADMIN: &str = "admin";

/// One static API key.
#[derive(Clone)]
pub struct ApiKey {
    /// Who it is (logs, rate limits, the audit log).
    pub name: String,
    pub key: String,
    pub roles: BTreeSet<String>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// How callers are authenticated.
#[derive(Clone)]
pub struct AccessConfig {
    /// HS256 shared secret.
    pub jwt_secret: Option<String>,
    /// A JSON Web Key Set file (RS256 / ES256 keys by `kid`).
    pub jwks_file: Option<PathBuf>,
    /// A JSON Web Key Set URL.
    pub jwks_url: Option<String>,
    /// How often the key set is read again (also at once, at most every 30 s, for an unknown
    /// `kid`).
    pub jwks_refresh: Duration,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// The claim holding the roles: an array of strings, or a space-separated string (`scope`).
    pub roles_claim: String,
    pub api_keys: Vec<ApiKey>,
    /// Let requests without a credential read (with the `read` role).
    pub anonymous_reads: bool,
    /// Tolerated clock difference for `exp` and `nbf`.
    pub leeway: Duration,
}

impl std::fmt::Debug for AccessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessConfig")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwks_file", &self.jwks_file)
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("roles_claim", &self.roles_claim)
            .field("api_keys", &self.api_keys)
            .field("anonymous_reads", &self.anonymous_reads)
            .finish_non_exhaustive()
    }
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            jwt_secret: None,
            jwks_file: None,
            jwks_url: None,
            jwks_refresh: Duration::from_secs(600),
            issuer: None,
            audience: None,
            roles_claim: "roles".to_owned(),
            api_keys: Vec::new(),
            anonymous_reads: false,
            leeway: Duration::from_secs(30),
        }
    }
}

impl AccessConfig {
    /// Whether any credential source is configured (access control is on).
    pub fn enabled(&self) -> bool {
        self.jwt_secret.is_some()
            || self.jwks_file.is_some()
            || self.jwks_url.is_some()
            || !self.api_keys.is_empty()
    }
}

/// Parses `name=role+role:key,name2=role:key2` (the `ONTOGRAPH_API_KEYS` format).
pub fn parse_api_keys(text: &str) -> Result<Vec<ApiKey>, String> {
    let mut keys = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item
            .split_once('=')
            .ok_or_else(|| format!("API key entry `{}…`: expected name=roles:key", head(item)))?;
        let (roles, key) = rest
            .split_once(':')
            .ok_or_else(|| format!("API key `{name}`: expected name=roles:key"))?;
        if key.len() < 16 {
            return Err(format!("API key `{name}` is shorter than 16 characters"));
        }
        let roles: BTreeSet<String> = roles
            .split('+')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        if roles.is_empty() {
            return Err(format!("API key `{name}` has no role"));
        }
        keys.push(ApiKey {
            name: name.trim().to_owned(),
            key: key.to_owned(),
            roles,
        });
    }
    Ok(keys)
}

fn head(s: &str) -> String {
    s.chars().take(6).collect()
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The JWT subject, the API key's name, or `anonymous`.
    pub subject: String,
    pub roles: BTreeSet<String>,
    pub kind: CallerKind,
    /// The token's payload, every claim (empty without a JWT): `$jwt` in `@cypher` statements.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    Jwt,
    ApiKey,
    Anonymous,
    /// Access control is off.
    Open,
}

impl Caller {
    fn open() -> Self {
        Caller {
            subject: "anonymous".into(),
            roles: [READ, WRITE].iter().map(|r| (*r).to_owned()).collect(),
            kind: CallerKind::Open,
            claims: Default::default(),
        }
    }

    /// Whether the caller holds `role` (admin implies write, write implies read).
    pub fn has(&self, role: &str) -> bool {
        let implied: &[&str] = match role {
            READ => &[READ, WRITE, ADMIN],
            WRITE => &[WRITE, ADMIN],
            other => return self.roles.contains(other),
        };
        implied.iter().any(|r| self.roles.contains(*r))
    }

    /// Whether the caller presented a credential (a token or an API key): read rules that
    /// require authentication fail for the others.
    pub fn authenticated(&self) -> bool {
        matches!(self.kind, CallerKind::Jwt | CallerKind::ApiKey)
    }

    /// The roles as one sorted string (cache scope, logs); callers without a credential have
    /// scopes of their own, since read rules treat them apart.
    pub fn scope(&self) -> String {
        match self.kind {
            CallerKind::Open => "public".to_owned(),
            CallerKind::Anonymous => "anonymous".to_owned(),
            CallerKind::Jwt | CallerKind::ApiKey => {
                self.roles.iter().cloned().collect::<Vec<_>>().join("+")
            }
        }
    }
}

/// Why a request was not authenticated (the message is safe to show and names the problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send `Authorization: Bearer <JWT>` or `X-API-Key: <key>`")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not yet valid (nbf)")]
    NotYetValid,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is for another audience (expected `{0}`)")]
    WrongAudience(String),
    #[error("the token comes from another issuer (expected `{0}`)")]
    WrongIssuer(String),
    #[error("the token is signed with `{0:?}`, which is not accepted here")]
    WrongAlgorithm(Algorithm),
    #[error("no key `{0}` in the key set")]
    UnknownKey(String),
    #[error("the token is malformed: {0}")]
    Malformed(String),
    #[error("the API key is not valid")]
    UnknownApiKey,
}

impl AuthError {
    /// `error` of the `WWW-Authenticate` challenge (RFC 6750).
    pub fn challenge(&self) -> String {
        let code = match self {
            AuthError::Missing => return "Bearer".to_owned(),
            _ => "invalid_token",
        };
        let description = self.to_string().replace('"', "'");
        format!("Bearer error=\"{code}\", error_description=\"{description}\"")
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: Option<String>,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

struct Keys {
    by_kid: HashMap<String, (DecodingKey, Algorithm)>,
    loaded: Option<Instant>,
    last_error: Option<String>,
}

/// Authenticates requests. Cheap to share behind an `Arc`.
pub struct Access {
    config: AccessConfig,
    hs256: Option<DecodingKey>,
    keys: RwLock<Keys>,
    /// SHA-256 of each API key → (name, roles): keys are compared by digest.
    api_keys: HashMap<[u8; 32], (String, BTreeSet<String>)>,
    last_unknown_kid_fetch: std::sync::Mutex<Option<Instant>>,
    /// SHA-256 of a verified token → its caller and `exp`: a client sends the same token with
    /// every request, and an RS256/ES256 signature check costs tens of microseconds. An entry is
    /// used only while `exp` (plus the leeway) has not passed, and the whole map is dropped when
    /// the key set is reloaded, so a key taken out of the set stops working at once.
    verified: moka::sync::Cache<[u8; 32], Arc<(Caller, u64)>>,
}

/// Verified tokens remembered at most (each entry is a few hundred bytes).
const VERIFIED_CAPACITY: u64 = 50_000;
/// How long a verified token is remembered at most (its `exp` usually ends it sooner).
const VERIFIED_TTL: Duration = Duration::from_secs(300);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Access {
    pub fn new(config: AccessConfig) -> Self {
        let hs256 = config
            .jwt_secret
            .as_deref()
            .map(|s| DecodingKey::from_secret(s.as_bytes()));
        let api_keys = config
            .api_keys
            .iter()
            .map(|k| {
                (
                    Sha256::digest(k.key.as_bytes()).into(),
                    (k.name.clone(), k.roles.clone()),
                )
            })
            .collect();
        Access {
            config,
            hs256,
            keys: RwLock::new(Keys {
                by_kid: HashMap::new(),
                loaded: None,
                last_error: None,
            }),
            api_keys,
            last_unknown_kid_fetch: std::sync::Mutex::new(None),
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    pub fn config(&self) -> &AccessConfig {
        &self.config
    }

    /// Loads the key set now (file or URL); keeps the previous one on failure.
    pub async fn refresh_keys(&self) -> Result<usize, String> {
        let text = if let Some(path) = &self.config.jwks_file {
            tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("JWKS file {}: {e}", path.display()))?
        } else if let Some(url) = &self.config.jwks_url {
            fetch(url).await?
        } else {
            return Ok(0);
        };
        let outcome = parse_jwks(&text);
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(by_kid) => {
                let n = by_kid.len();
                keys.by_kid = by_kid;
                keys.loaded = Some(Instant::now());
                keys.last_error = None;
                // Tokens verified with a key that is no longer in the set must not pass.
                self.verified.invalidate_all();
                Ok(n)
            }
            Err(e) => {
                keys.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Loads the key set, then reloads it every `jwks_refresh`.
    pub async fn start(self: &Arc<Self>) {
        if self.config.jwks_file.is_none() && self.config.jwks_url.is_none() {
            return;
        }
        match self.refresh_keys().await {
            Ok(n) => tracing::info!(keys = n, "JWKS loaded"),
            Err(error) => tracing::warn!(%error, "JWKS not loaded; retrying in the background"),
        }
        let weak = Arc::downgrade(self);
        let every = self.config.jwks_refresh.max(Duration::from_secs(5));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(access) = weak.upgrade() else { return };
                if let Err(error) = access.refresh_keys().await {
                    tracing::warn!(%error, "JWKS refresh failed; keeping the previous keys");
                }
            }
        });
    }

    /// The caller of a request, or why it cannot be let in.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        if !self.enabled() {
            return Ok(Caller::open());
        }
        if let Some(key) = api_key(headers) {
            let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
            return match self.api_keys.get(&digest) {
                Some((name, roles)) => Ok(Caller {
                    subject: name.clone(),
                    roles: roles.clone(),
                    kind: CallerKind::ApiKey,
                    claims: Default::default(),
                }),
                None => Err(AuthError::UnknownApiKey),
            };
        }
        let Some(token) = bearer(headers) else {
            if self.config.anonymous_reads {
                return Ok(Caller {
                    subject: "anonymous".into(),
                    roles: [READ.to_owned()].into(),
                    kind: CallerKind::Anonymous,
                    claims: Default::default(),
                });
            }
            return Err(AuthError::Missing);
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.verified.get(&digest) {
            if unix_now() <= hit.1.saturating_add(self.config.leeway.as_secs()) {
                return Ok(hit.0.clone());
            }
            // Expired since: verify again, which names the reason.
            self.verified.invalidate(&digest);
        }
        match self.verify_and_remember(token, digest) {
            Err(AuthError::UnknownKey(kid)) if self.may_refetch() => {
                // A key rotated in since the last load: read the set again once.
                let _ = self.refresh_keys().await;
                self.verify_and_remember(token, digest)
                    .map_err(|e| match e {
                        AuthError::UnknownKey(_) => AuthError::UnknownKey(kid),
                        other => other,
                    })
            }
            other => other,
        }
    }

    fn may_refetch(&self) -> bool {
        if self.config.jwks_file.is_none() && self.config.jwks_url.is_none() {
            return false;
        }
        let mut last = self
            .last_unknown_kid_fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(30)) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    fn verify_and_remember(&self, token: &str, digest: [u8; 32]) -> Result<Caller, AuthError> {
        let (caller, exp) = self.verify_with_expiry(token)?;
        self.verified
            .insert(digest, Arc::new((caller.clone(), exp)));
        Ok(caller)
    }

    /// Verifies a JWT: signature, `exp`/`nbf`, `iss` and `aud` when configured.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        self.verify_with_expiry(token).map(|(caller, _)| caller)
    }

    /// [`Access::verify`], with the token's `exp` (seconds since the epoch).
    fn verify_with_expiry(&self, token: &str) -> Result<(Caller, u64), AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let (key, algorithm) = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(k) => (k.clone(), Algorithm::HS256),
                None => return Err(AuthError::WrongAlgorithm(header.alg)),
            },
            Algorithm::RS256 | Algorithm::ES256 => {
                let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
                let found = match &header.kid {
                    Some(kid) => keys.by_kid.get(kid),
                    // Without a kid, the only key of that algorithm.
                    None => {
                        let mut of_alg = keys.by_kid.values().filter(|(_, a)| *a == header.alg);
                        match (of_alg.next(), of_alg.next()) {
                            (Some(k), None) => Some(k),
                            _ => None,
                        }
                    }
                };
                match found {
                    Some((k, alg)) if *alg == header.alg => (k.clone(), *alg),
                    Some(_) => return Err(AuthError::WrongAlgorithm(header.alg)),
                    None => {
                        return Err(AuthError::UnknownKey(
                            header.kid.unwrap_or_else(|| "(no kid)".into()),
                        ))
                    }
                }
            }
            other => return Err(AuthError::WrongAlgorithm(other)),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.config.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.config.issuer {
            validation.set_issuer(&[iss]);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => AuthError::Expired,
                K::ImmatureSignature => AuthError::NotYetValid,
                K::InvalidSignature => AuthError::BadSignature,
                K::InvalidAudience => {
                    AuthError::WrongAudience(self.config.audience.clone().unwrap_or_default())
                }
                K::InvalidIssuer => {
                    AuthError::WrongIssuer(self.config.issuer.clone().unwrap_or_default())
                }
                K::InvalidAlgorithm => AuthError::WrongAlgorithm(algorithm),
                _ => AuthError::Malformed(e.to_string()),
            }
        })?;
        // `exp` is a required claim and was validated; it may be written as a float.
        let exp = data
            .claims
            .rest
            .get("exp")
            .and_then(serde_json::Value::as_f64)
            .map_or(0, |e| e as u64);
        let roles = match data.claims.rest.get(&self.config.roles_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => BTreeSet::new(),
        };
        let mut claims: serde_json::Map<String, serde_json::Value> =
            data.claims.rest.into_iter().collect();
        if let Some(sub) = &data.claims.sub {
            claims.insert("sub".to_owned(), serde_json::Value::String(sub.clone()));
        }
        Ok((
            Caller {
                subject: data.claims.sub.unwrap_or_else(|| "jwt".to_owned()),
                roles,
                kind: CallerKind::Jwt,
                claims,
            },
            exp,
        ))
    }

    /// State for `/admin/api/access` and logs (no secrets).
    pub fn describe(&self) -> serde_json::Value {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        serde_json::json!({
            "enabled": self.enabled(),
            "hs256": self.hs256.is_some(),
            "jwks": {
                "source": self.config.jwks_file.as_ref().map(|p| p.display().to_string()).or_else(|| self.config.jwks_url.clone()),
                "keys": keys.by_kid.keys().collect::<Vec<_>>(),
                "loadedSecondsAgo": keys.loaded.map(|t| t.elapsed().as_secs()),
                "lastError": keys.last_error,
            },
            "issuer": self.config.issuer,
            "audience": self.config.audience,
            "rolesClaim": self.config.roles_claim,
            "apiKeys": self.config.api_keys.iter().map(|k| serde_json::json!({"name": k.name, "roles": k.roles})).collect::<Vec<_>>(),
            "anonymousReads": self.config.anonymous_reads,
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("ApiKey "))
        })
        .map(str::trim)
}

/// `kid` → key for every RS256 / ES256 key in a JWKS document.
pub fn parse_jwks(text: &str) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(text)
        .map_err(|e| format!("the key set is not a JWKS document: {e}"))?;
    let mut out = HashMap::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        let algorithm = match (&jwk.algorithm, &jwk.common.key_algorithm) {
            (jsonwebtoken::jwk::AlgorithmParameters::RSA(_), _) => Algorithm::RS256,
            (jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_), _) => Algorithm::ES256,
            _ => continue,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {i}: {e}"))?;
        let kid = jwk.common.key_id.clone().unwrap_or_else(|| format!("#{i}"));
        out.insert(kid, (key, algorithm));
    }
    if out.is_empty() {
        return Err("the key set holds no RS256 or ES256 key".into());
    }
    Ok(out)
}

/// GETs a key set over HTTPS or HTTP.
async fn fetch(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("JWKS {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("JWKS {url}: HTTP {}", response.status()));
    }
    response
        .text()
        .await
        .map_err(|e| format!("JWKS {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_parse_and_refuse_bad_entries() {
        let keys =
            parse_api_keys("ci=write:0123456789abcdef0123, dash=read+hr:fedcba9876543210fedc")
                .expect("valid");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].name, "dash");
        assert!(keys[1].roles.contains("hr"));
        assert!(parse_api_keys("nokey").is_err());
        assert!(parse_api_keys("a=read:short")
            .expect_err("short")
            .contains("16"));
        assert!(parse_api_keys("a=:0123456789abcdef")
            .expect_err("roles")
            .contains("no role"));
        // Secrets never show in Debug output.
        assert!(!format!("{keys:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn roles_imply_weaker_ones() {
        let c = |roles: &[&str]| Caller {
            subject: "x".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            kind: CallerKind::Jwt,
            claims: Default::default(),
        };
        assert!(c(&["admin"]).has(READ) && c(&["admin"]).has(WRITE));
        assert!(c(&["write"]).has(READ) && !c(&["write"]).has(ADMIN));
        assert!(!c(&["read"]).has(WRITE));
        assert!(c(&["read", "hr"]).has("hr") && !c(&["admin"]).has("hr"));
        assert_eq!(c(&["read", "hr"]).scope(), "hr+read");
    }
}
