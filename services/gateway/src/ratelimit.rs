//! Rate limits per client, shared by every gateway through Redis, with a local fallback when
//! Redis does not answer. Separate budgets for reads, writes and ingestion.
//!
//! The algorithm is GCRA (a leaky bucket without a background drain): each key keeps one
//! timestamp, the theoretical arrival time of its next request. A budget of `n` per `period`
//! admits a request every `period / n` and lets `n` arrive at once. The Redis side is one Lua
//! script that reads the server's clock, so gateways with skewed clocks agree; the local side
//! is the same arithmetic in Rust.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis_handle::RedisHandle;

/// What a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Read,
    Write,
    Ingest,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::Ingest => "ingest",
        }
    }
}

/// `n` requests per `period` (bursts of up to `n`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub n: u32,
    pub period: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;
    /// `100/s`, `6000/m`, `50/h`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (n, unit) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected N/s, N/m or N/h"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{n}` is not a count"))?;
        if n == 0 {
            return Err(format!("`{s}`: the count must be at least 1"));
        }
        let period = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => return Err(format!("`{s}`: unknown unit `{other}` (s, m or h)")),
        };
        Ok(Rate { n, period })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "second",
            60 => "minute",
            _ => "hour",
        };
        write!(f, "{} per {unit}", self.n)
    }
}

/// The budgets (`None`: that class is not limited).
#[derive(Debug, Clone, Default)]
pub struct RateLimitConfig {
    pub read: Option<Rate>,
    pub write: Option<Rate>,
    pub ingest: Option<Rate>,
}

impl RateLimitConfig {
    pub fn rate(&self, class: Class) -> Option<Rate> {
        match class {
            Class::Read => self.read,
            Class::Write => self.write,
            Class::Ingest => self.ingest,
        }
    }

    pub fn enabled(&self) -> bool {
        self.read.is_some() || self.write.is_some() || self.ingest.is_some()
    }
}

/// The outcome of one request's check.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// When refused: until one more request is admitted.
    pub retry_after: Duration,
    /// Counted in this process only (Redis did not answer).
    pub local: bool,
}

impl Decision {
    /// `RateLimit-*` (and `Retry-After` when refused) headers.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let secs = |d: Duration| d.as_secs_f64().ceil().max(0.0) as u64;
        let mut h = vec![
            ("ratelimit-limit", self.limit.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", secs(self.reset).to_string()),
        ];
        if !self.allowed {
            h.push(("retry-after", secs(self.retry_after).max(1).to_string()));
        }
        h
    }
}

/// How many emission intervals `t` the span `ahead` (both in milliseconds) covers, rounded up:
/// the requests a budget has used. The timestamps are fractional milliseconds, so
/// `(now + t) - now` can come out a hair above `t`; such float noise (far below a microsecond) is
/// not a used request.
fn slots(ahead: f64, t: f64) -> f64 {
    (ahead / t - 1e-9).ceil()
}

/// GCRA on one timestamp: `tat` and `now` in milliseconds. Returns the new `tat` (when admitted)
/// and the decision.
fn gcra(tat: Option<f64>, now: f64, rate: Rate) -> (Option<f64>, Decision) {
    let t = rate.period.as_secs_f64() * 1000.0 / f64::from(rate.n);
    let tau = t * f64::from(rate.n - 1);
    let tat = tat.unwrap_or(now).max(now);
    let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
    if tat - now > tau {
        return (
            None,
            Decision {
                allowed: false,
                limit: rate.n,
                remaining: 0,
                reset: ms(tat - now),
                retry_after: ms(tat - now - tau),
                local: false,
            },
        );
    }
    let new_tat = tat + t;
    let used = slots(new_tat - now, t);
    (
        Some(new_tat),
        Decision {
            allowed: true,
            limit: rate.n,
            remaining: (f64::from(rate.n) - used).max(0.0) as u32,
            reset: ms(new_tat - now),
            retry_after: Duration::ZERO,
            local: false,
        },
    )
}

/// The same GCRA in Redis, on the server's clock: returns {allowed, new-or-current tat - now}.
const SCRIPT: &str = r#"
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tau then
  return {0, tostring(tat - now)}
end
local new_tat = tat + t
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {1, tostring(new_tat - now)}
"#;

/// Checks budgets.
pub struct RateLimiter {
    config: RateLimitConfig,
    /// The Redis every gateway shares and the prefix of the budgets' keys (`None`: this gateway
    /// counts alone).
    redis: Option<(RedisHandle, String)>,
    local: Mutex<HashMap<(Class, String), f64>>,
    started: Instant,
}

impl RateLimiter {
    /// Budgets shared through `redis` under keys starting with `prefix` (while Redis does not
    /// answer, each gateway counts alone).
    pub fn new(config: RateLimitConfig, redis: Option<RedisHandle>, prefix: &str) -> Self {
        RateLimiter {
            redis: redis
                .filter(|_| config.enabled())
                .map(|r| (r, prefix.to_owned())),
            config,
            local: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        RateLimiter::new(RateLimitConfig::default(), None, "")
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Spends one request of `class` for `client`; `None` when the class is not limited.
    pub async fn check(&self, class: Class, client: &str) -> Option<Decision> {
        let rate = self.config.rate(class)?;
        let decision = match self.check_redis(class, client, rate).await {
            Some(d) => d,
            None => {
                metrics::counter!("ontograph_ratelimit_local_total").increment(1);
                Decision {
                    local: true,
                    ..self.check_local(class, client, rate)
                }
            }
        };
        if !decision.allowed {
            metrics::counter!("ontograph_ratelimit_refused_total", "class" => class.as_str())
                .increment(1);
        }
        Some(decision)
    }

    fn check_local(&self, class: Class, client: &str, rate: Rate) -> Decision {
        let now = self.started.elapsed().as_secs_f64() * 1000.0;
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if local.len() > 100_000 {
            // Forget keys whose bucket is full again.
            local.retain(|_, tat| *tat > now);
        }
        let key = (class, client.to_owned());
        let (new_tat, decision) = gcra(local.get(&key).copied(), now, rate);
        if let Some(tat) = new_tat {
            local.insert(key, tat);
        }
        decision
    }

    async fn check_redis(&self, class: Class, client: &str, rate: Rate) -> Option<Decision> {
        let (redis, prefix) = self.redis.as_ref()?;
        let t = rate.period.as_secs_f64() * 1000.0 / f64::from(rate.n);
        let tau = t * f64::from(rate.n - 1);
        let key = format!(
            "{}:rl:{}:{}",
            prefix,
            class.as_str(),
            hex::encode(sha2::Digest::finalize(
                <sha2::Sha256 as sha2::Digest>::new_with_prefix(client.as_bytes())
            ))
        );
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SCRIPT).arg(1).arg(key).arg(t).arg(tau);
        let (allowed, delta) = redis.query::<(i64, String)>("ratelimit", &cmd).await?;
        let delta: f64 = delta.parse().unwrap_or(0.0);
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        Some(if allowed == 1 {
            Decision {
                allowed: true,
                limit: rate.n,
                remaining: (f64::from(rate.n) - slots(delta, t)).max(0.0) as u32,
                reset: ms(delta),
                retry_after: Duration::ZERO,
                local: false,
            }
        } else {
            Decision {
                allowed: false,
                limit: rate.n,
                remaining: 0,
                reset: ms(delta),
                retry_after: ms(delta - tau),
                local: false,
            }
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_first_request_uses_one_whatever_the_clock_reads() {
        let rate: Rate = "1000/h".parse().expect("rate");
        for i in 0..100_000 {
            let now = f64::from(i) * 0.123_456_7;
            let (_, d) = gcra(None, now, rate);
            assert_eq!(d.remaining, 999, "at {now} ms");
        }
    }

    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(
            "100/s".parse::<Rate>(),
            Ok(Rate {
                n: 100,
                period: Duration::from_secs(1)
            })
        );
        assert_eq!(
            "6000/m".parse::<Rate>().map(|r| r.to_string()),
            Ok("6000 per minute".into())
        );
        assert!("0/s".parse::<Rate>().is_err());
        assert!("10/d"
            .parse::<Rate>()
            .expect_err("unit")
            .contains("unknown unit"));
    }

    #[test]
    fn gcra_admits_a_burst_then_one_per_interval() {
        let rate = Rate {
            n: 4,
            period: Duration::from_secs(1),
        };
        let mut tat = None;
        for expected_remaining in [3, 2, 1, 0] {
            let (t, d) = gcra(tat, 0.0, rate);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
            tat = t;
        }
        let (t, refused) = gcra(tat, 0.0, rate);
        assert!(!refused.allowed && t.is_none());
        assert_eq!(refused.retry_after, Duration::from_millis(250));
        assert_eq!(
            refused.headers().last(),
            Some(&("retry-after", "1".to_owned()))
        );
        // 250 ms later one more is admitted.
        let (_, later) = gcra(tat, 250.0, rate);
        assert!(later.allowed);
        // A second later the bucket is full again.
        let (_, rested) = gcra(tat, 1000.0, rate);
        assert_eq!(rested.remaining, 3);
    }
}
