//! The admin surface's own state: who may log in, the audit log, the console's history, failed
//! logins, and sessions ended by logout (shared through Redis).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis_handle::RedisHandle;

use super::auth::{self, AdminConfig};
use super::{audit, history};

/// Admin access, the audit log and the console's history.
pub struct AdminState {
    /// `None`: no admin credential is configured and the admin surface refuses everything.
    pub auth: Option<auth::Auth>,
    pub audit: Arc<audit::AuditLog>,
    pub history: Arc<history::History>,
    /// Failed logins per address, and when the first of them happened.
    pub(super) login_failures: Mutex<HashMap<String, (u32, Instant)>>,
    /// Sessions ended by logout here, until they would have expired.
    revoked: Mutex<HashMap<String, u64>>,
    /// Redis, and the key prefix of revoked sessions (every gateway sees a logout).
    redis: Option<(RedisHandle, String)>,
}

impl AdminState {
    /// The admin state; with Redis, the audit log and logouts are shared by every gateway
    /// (keys under `prefix`), and while Redis does not answer they stay in this process.
    pub fn new(config: &AdminConfig, redis: Option<RedisHandle>, prefix: &str) -> Self {
        let mut audit = audit::AuditLog::new(10_000);
        if let Some(redis) = &redis {
            audit = audit.with_redis(redis.clone(), prefix);
        }
        AdminState {
            auth: auth::Auth::new(config),
            audit: Arc::new(audit),
            history: Arc::new(history::History::new(
                config.history_interval,
                Duration::from_secs(3600),
            )),
            login_failures: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashMap::new()),
            redis: redis.map(|r| (r, format!("{prefix}:admin:revoked"))),
        }
    }

    /// Ends a session everywhere: it is refused from now until it would have expired.
    pub(super) async fn revoke(&self, session: &str, expires_ms: u64) {
        {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            let now = auth::now_ms();
            revoked.retain(|_, until| *until > now);
            revoked.insert(session.to_owned(), expires_ms);
        }
        if let Some((redis, prefix)) = &self.redis {
            let ttl = expires_ms.saturating_sub(auth::now_ms()).max(1);
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{prefix}:{session}"))
                .arg(1)
                .arg("PX")
                .arg(ttl);
            let limit = redis.timeout() * 4;
            if redis
                .query_within::<()>("admin", &cmd, limit)
                .await
                .is_none()
            {
                tracing::warn!(
                    "logout not shared through Redis: other gateways accept the session until it expires"
                );
            }
        }
    }

    /// Whether a session was ended by logout, here or (through Redis) on another gateway. A
    /// Redis that does not answer counts as "not revoked elsewhere".
    pub(super) async fn is_revoked(&self, session: &str) -> bool {
        if self
            .revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(session)
        {
            return true;
        }
        let Some((redis, prefix)) = &self.redis else {
            return false;
        };
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(format!("{prefix}:{session}"));
        redis.query::<bool>("admin", &cmd).await == Some(true)
    }
}
