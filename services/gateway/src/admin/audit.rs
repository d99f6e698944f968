//! The audit log: every admin action (who, what, on what, when, the result), kept in memory,
//! written to the log (target `ontograph::audit`), and, when Redis is configured, to a capped
//! Redis list shared by every gateway (`<prefix>:audit`, newest first).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::AsyncCommands;
use serde::Serialize;

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
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

const REDIS_TIMEOUT: Duration = Duration::from_millis(300);

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
    pub fn with_redis(mut self, conn: redis::aio::ConnectionManager, prefix: &str) -> Self {
        self.redis = Some((conn, format!("{prefix}:audit")));
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
        if let Some((conn, key)) = &self.redis {
            let (mut conn, key, capacity) = (conn.clone(), key.clone(), self.capacity);
            if let Ok(json) = serde_json::to_string(&entry) {
                tokio::spawn(async move {
                    let write = async {
                        let _: () = conn.lpush(&key, json).await?;
                        conn.ltrim::<_, ()>(&key, 0, capacity as isize - 1).await
                    };
                    match tokio::time::timeout(REDIS_TIMEOUT, write).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "audit entry not written to Redis")
                        }
                        Err(_) => tracing::warn!("audit entry not written to Redis: timed out"),
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
        if let Some((conn, key)) = &self.redis {
            let mut conn = conn.clone();
            let read = conn.lrange::<_, Vec<String>>(key, 0, limit.max(1) as isize - 1);
            if let Ok(Ok(rows)) = tokio::time::timeout(REDIS_TIMEOUT, read).await {
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
