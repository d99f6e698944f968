//! The audit log: every admin action (who, what, on what, when, the result), kept in memory,
//! written to the log (target `ontograph::audit`), and, when Redis is configured, to a capped
//! Redis list shared by every gateway (`<prefix>:audit`, newest first).

use redis_handle::RedisHandle;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::auth::now_ms;

/// One admin action.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at_ms: u64,
    /// The operator (`admin`, a JWT subject) or `anonymous` for refused attempts.
    pub who: String,
    /// e.g. `login`, `index.create`, `constraint.drop`, `schema.apply`, `ingest.replay`.
    pub action: String,
    /// What it acted on (an index name, a dead letter id...).
    pub target: String,
    /// `ok`, `error` or `refused`.
    pub result: String,
    /// The error, or what was done.
    pub detail: Option<String>,
    /// The client's address, when known.
    pub remote: Option<String>,
}

/// Where audit entries go.
pub struct AuditLog {
    local: Mutex<VecDeque<AuditEntry>>,
    capacity: usize,
    redis: Option<(RedisHandle, String)>,
}

impl AuditLog {
    /// A log that keeps the last `capacity` entries in memory.
    pub fn new(capacity: usize) -> Self {
        AuditLog {
            local: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            redis: None,
        }
    }

    /// Also keeps entries in Redis under `<prefix>:audit` (capped at the same length).
    pub fn with_redis(mut self, redis: RedisHandle, prefix: &str) -> Self {
        self.redis = Some((redis, format!("{prefix}:audit")));
        self
    }

    /// Records an action (memory and log at once, Redis in the background).
    pub fn record(self: &Arc<Self>, entry: AuditEntry) {
        tracing::info!(
            target: "ontograph::audit",
            who = %entry.who,
            action = %entry.action,
            target_item = %entry.target,
            result = %entry.result,
            detail = entry.detail.as_deref().unwrap_or(""),
            remote = entry.remote.as_deref().unwrap_or(""),
            "admin action"
        );
        metrics::counter!("ontograph_admin_actions_total", "action" => entry.action.clone(), "result" => entry.result.clone()).increment(1);
        if let Some((redis, key)) = &self.redis {
            if let Ok(json) = serde_json::to_string(&entry) {
                let mut pipe = redis::pipe();
                pipe.lpush(key, json)
                    .ignore()
                    .ltrim(key, 0, self.capacity as isize - 1)
                    .ignore();
                let redis = redis.clone();
                tokio::spawn(async move {
                    let limit = redis.timeout() * 4;
                    if redis.pipeline::<()>("audit", &pipe, limit).await.is_none() {
                        tracing::warn!(
                            "audit entry not written to Redis: it stays in this gateway"
                        );
                    }
                });
            }
        }
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.push_front(entry);
        local.truncate(self.capacity);
    }

    /// The newest entries first: every gateway's from Redis when it answers, merged with this
    /// process's own (which survive a Redis that lost its data). The second value names the
    /// sources (`redis+local` or `local`).
    pub async fn list(&self, limit: usize) -> (Vec<AuditEntry>, &'static str) {
        let mut entries: Vec<AuditEntry> = self
            .local
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .take(limit)
            .cloned()
            .collect();
        let mut source = "local";
        if let Some((redis, key)) = &self.redis {
            let mut cmd = redis::cmd("LRANGE");
            cmd.arg(key).arg(0).arg(limit.max(1) as isize - 1);
            if let Some(rows) = redis.query::<Vec<String>>("audit", &cmd).await {
                entries.extend(rows.iter().filter_map(|r| serde_json::from_str(r).ok()));
                source = "redis+local";
            }
        }
        let mut seen = std::collections::HashSet::new();
        entries.retain(|e| seen.insert(serde_json::to_string(e).unwrap_or_default()));
        entries.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
        entries.truncate(limit);
        (entries, source)
    }
}

/// An entry stamped now.
pub fn entry(
    who: &str,
    action: &str,
    target: &str,
    outcome: Result<Option<String>, String>,
    remote: Option<String>,
) -> AuditEntry {
    let (result, detail) = match outcome {
        Ok(detail) => ("ok", detail),
        Err(e) => ("error", Some(e)),
    };
    AuditEntry {
        at_ms: now_ms(),
        who: who.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        result: result.to_owned(),
        detail,
        remote,
    }
}
