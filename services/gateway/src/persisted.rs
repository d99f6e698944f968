//! Persisted queries: automatic persisted queries (Apollo's protocol: a client sends
//! `extensions.persistedQuery.sha256Hash` alone, and the query text only when the server answers
//! `PersistedQueryNotFound`), and an allow-list mode in which only registered operations run.
//!
//! Registered queries live in process (moka) and, when Redis is configured, in Redis too, so a
//! query registered through one gateway is known to all of them: a client behind a load balancer
//! sends each text once, not once per gateway. Redis is asked only on a local miss, within the
//! shared Redis handle's timeout, and skipped while its breaker is open; without it the protocol
//! still works (the client is asked for the text again).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Value};
use axum::http::StatusCode;
use sha2::{Digest, Sha256};

use crate::respond::Refusal;
use redis_handle::RedisHandle;

/// How persisted queries are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Hashes are refused; every request carries its text.
    Off,
    /// Automatic persisted queries: any query may be registered by sending it with its hash.
    #[default]
    Automatic,
    /// Only the operations of the allow-list run, by hash or by text.
    AllowList,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Mode::Off),
            "automatic" | "apq" => Ok(Mode::Automatic),
            "allowlist" | "allow-list" => Ok(Mode::AllowList),
            other => Err(format!(
                "expected off, automatic or allowlist, not `{other}`"
            )),
        }
    }
}

/// The registered operations, by the hex SHA-256 of their text.
pub type AllowList = HashMap<String, Arc<str>>;

/// Hex SHA-256 of a query text (what clients send as `sha256Hash`).
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Reads an allow-list: Apollo's persisted query manifest
/// (`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body", ...}]}`) or a
/// plain `{"<sha256>": "<query>"}` object. Every id must be the SHA-256 of its body.
pub fn parse_allow_list(text: &str) -> Result<AllowList, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the allow-list is not JSON: {e}"))?;
    let pairs: Vec<(String, String)> = match doc.get("operations").and_then(|o| o.as_array()) {
        Some(ops) => ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let body = op["body"]
                    .as_str()
                    .ok_or_else(|| format!("operation {i} has no `body`"))?;
                let id = op["id"]
                    .as_str()
                    .map_or_else(|| sha256_hex(body), str::to_owned);
                Ok((id, body.to_owned()))
            })
            .collect::<Result<_, String>>()?,
        None => doc
            .as_object()
            .ok_or("the allow-list must be a manifest or an object of hash → query")?
            .iter()
            .map(|(id, body)| {
                body.as_str()
                    .map(|b| (id.clone(), b.to_owned()))
                    .ok_or_else(|| format!("`{id}`: the query must be a string"))
            })
            .collect::<Result<_, String>>()?,
    };
    let mut out = AllowList::new();
    for (id, body) in pairs {
        let actual = sha256_hex(&body);
        if !actual.eq_ignore_ascii_case(&id) {
            return Err(format!(
                "operation `{id}`: its id is not the SHA-256 of its body ({actual})"
            ));
        }
        out.insert(actual, Arc::from(body));
    }
    Ok(out)
}

/// How long a registered query stays in Redis after it was last registered.
pub const SHARED_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Registered queries in Redis, under `<prefix>:apq:<sha256>`.
struct Shared {
    redis: RedisHandle,
    prefix: String,
}

impl Shared {
    fn key(&self, hash: &str) -> String {
        format!("{}:apq:{hash}", self.prefix)
    }

    /// The text registered under `hash`, if Redis has it and answers in time.
    async fn get(&self, hash: &str) -> Option<String> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(hash));
        self.redis
            .query::<Option<String>>("persisted-queries", &cmd)
            .await
            .flatten()
    }

    /// Stores a registration in the background (the request does not wait for it).
    fn put(&self, hash: &str, text: &str) {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(hash))
            .arg(text)
            .arg("EX")
            .arg(SHARED_TTL.as_secs());
        let redis = self.redis.clone();
        tokio::spawn(async move {
            let limit = redis.timeout() * 4;
            let _ = redis
                .query_within::<()>("persisted-queries", &cmd, limit)
                .await;
        });
    }
}

/// Resolves persisted query hashes into texts and enforces the allow-list.
pub struct Persisted {
    mode: Mode,
    registered: moka::sync::Cache<String, Arc<str>>,
    allow: AllowList,
    shared: Option<Shared>,
}

impl Persisted {
    pub fn new(mode: Mode, allow: AllowList) -> Self {
        Persisted {
            mode,
            registered: moka::sync::Cache::new(10_000),
            allow,
            shared: None,
        }
    }

    /// Shares registrations with the other gateways through Redis (automatic mode only), under
    /// `<prefix>:apq:`; while Redis does not answer, registrations stay in this process.
    pub fn with_redis(mut self, redis: RedisHandle, prefix: &str) -> Self {
        if self.mode == Mode::Automatic {
            self.shared = Some(Shared {
                redis,
                prefix: prefix.to_owned(),
            });
        }
        self
    }

    /// Whether registrations are shared through Redis.
    pub fn shared(&self) -> bool {
        self.shared.is_some()
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn allow_list_len(&self) -> usize {
        self.allow.len()
    }

    /// Fills in the text of a hash-only request, registers a new one, or refuses (status and
    /// error).
    pub async fn resolve(&self, request: &mut Request) -> Result<(), Refusal> {
        let hash = persisted_hash(request)?;
        let has_text = !request.query.trim().is_empty();
        match (self.mode, hash) {
            (Mode::Off, None) => Ok(()),
            (Mode::Off, Some(_)) => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "PersistedQueryNotSupported",
                "PERSISTED_QUERY_NOT_SUPPORTED",
            )),
            (Mode::Automatic, None) => Ok(()),
            (Mode::Automatic, Some(hash)) if has_text => {
                check_hash(&request.query, &hash)?;
                // Clients send the text with its hash only after `PersistedQueryNotFound`, so
                // this is rare: every such request (re)registers it, here and in Redis.
                let text: Arc<str> = Arc::from(request.query.as_str());
                if let Some(shared) = &self.shared {
                    shared.put(&hash, &text);
                }
                self.registered.insert(hash, text);
                Ok(())
            }
            (Mode::Automatic, Some(hash)) => {
                if let Some(text) = self.registered.get(&hash) {
                    request.query = text.to_string();
                    return Ok(());
                }
                if let Some(shared) = &self.shared {
                    // Registered through another gateway. What Redis holds is checked like a
                    // text a client sent.
                    if let Some(text) = shared.get(&hash).await {
                        if sha256_hex(&text) == hash {
                            self.registered.insert(hash, Arc::from(text.as_str()));
                            request.query = text;
                            return Ok(());
                        }
                    }
                }
                // Apollo clients look for this message, then send the text with the hash.
                Err(Refusal::new(
                    StatusCode::OK,
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                ))
            }
            (Mode::AllowList, hash) => {
                let hash = match hash {
                    Some(h) => {
                        if has_text {
                            check_hash(&request.query, &h)?;
                        }
                        h
                    }
                    None => sha256_hex(&request.query),
                };
                match self.allow.get(&hash.to_ascii_lowercase()) {
                    Some(text) => {
                        request.query = text.to_string();
                        Ok(())
                    }
                    None => {
                        metrics::counter!("ontograph_persisted_refused_total").increment(1);
                        Err(Refusal::new(StatusCode::FORBIDDEN, "PERSISTED_QUERY_NOT_ALLOWED", format!("this operation is not on the allow-list (sha256 {hash}): only registered operations run here")))
                    }
                }
            }
        }
    }
}

fn check_hash(text: &str, hash: &str) -> Result<(), Refusal> {
    if sha256_hex(text).eq_ignore_ascii_case(hash) {
        return Ok(());
    }
    Err(Refusal::new(
        StatusCode::BAD_REQUEST,
        "PERSISTED_QUERY_HASH_MISMATCH",
        "provided sha does not match query",
    ))
}

/// `extensions.persistedQuery.sha256Hash` (version 1), if the request has one.
fn persisted_hash(request: &Request) -> Result<Option<String>, Refusal> {
    let Some(pq) = request.extensions.0.get("persistedQuery") else {
        return Ok(None);
    };
    let bad = |msg: &str| {
        Err(Refusal::bad_request(format!(
            "extensions.persistedQuery: {msg}"
        )))
    };
    let Value::Object(pq) = pq else {
        return bad("must be an object {version: 1, sha256Hash}");
    };
    match pq.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => return bad("only version 1 is supported"),
    }
    match pq.get("sha256Hash") {
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(h.to_ascii_lowercase()))
        }
        _ => bad("sha256Hash must be 64 hex digits"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, hash: Option<&str>) -> Request {
        let mut r = Request::new(query);
        if let Some(h) = hash {
            let ext = serde_json::json!({"persistedQuery": {"version": 1, "sha256Hash": h}});
            r.extensions = serde_json::from_value(ext).expect("extensions");
        }
        r
    }

    #[tokio::test]
    async fn automatic_persisted_queries_register_then_resolve() {
        let p = Persisted::new(Mode::Automatic, AllowList::new());
        let q = "{ teams { name } }";
        let h = sha256_hex(q);
        let mut only_hash = request("", Some(&h));
        let e = p.resolve(&mut only_hash).await.expect_err("unknown");
        assert_eq!(
            (e.status, e.errors[0].message.as_str()),
            (StatusCode::OK, "PersistedQueryNotFound")
        );
        p.resolve(&mut request(q, Some(&h)))
            .await
            .expect("registers");
        let mut again = request("", Some(&h));
        p.resolve(&mut again).await.expect("resolves");
        assert_eq!(again.query, q);
        let wrong = p
            .resolve(&mut request("{ other }", Some(&h)))
            .await
            .expect_err("mismatch");
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(p.resolve(&mut request("{ plain }", None)).await.is_ok());
    }

    #[tokio::test]
    async fn the_allow_list_admits_only_its_operations() {
        let q = "query Teams { teams { name } }";
        let manifest = serde_json::json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": sha256_hex(q), "name": "Teams", "type": "query", "body": q}]
        });
        let allow = parse_allow_list(&manifest.to_string()).expect("manifest");
        let p = Persisted::new(Mode::AllowList, allow);
        let mut by_hash = request("", Some(&sha256_hex(q)));
        p.resolve(&mut by_hash).await.expect("by hash");
        assert_eq!(by_hash.query, q);
        p.resolve(&mut request(q, None)).await.expect("by text");
        let e = p
            .resolve(&mut request("{ people { email } }", None))
            .await
            .expect_err("refused");
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(
            e.errors[0].message.contains("not on the allow-list"),
            "{:?}",
            e.errors
        );
        let bad = serde_json::json!({"0000": q}).to_string();
        assert!(parse_allow_list(&bad)
            .expect_err("bad id")
            .contains("not the SHA-256"));
    }
}
