//! Latency samples and their summary: nearest-rank percentiles over a sorted vector of
//! nanosecond timings (exact, no histogram buckets).

use std::time::Duration;

/// Per-request latencies of one side of one measurement, in nanoseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    nanos: Vec<u64>,
    /// Wall-clock time of the measurement phases these samples came from.
    pub wall: Duration,
}

impl Samples {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            nanos: Vec::with_capacity(n),
            wall: Duration::ZERO,
        }
    }

    pub fn record(&mut self, latency: Duration) {
        self.nanos
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    pub fn extend(&mut self, other: Samples) {
        self.nanos.extend(other.nanos);
        self.wall += other.wall;
    }

    pub fn len(&self) -> usize {
        self.nanos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nanos.is_empty()
    }

    /// Sorts the samples and summarizes them.
    pub fn summary(&mut self) -> Summary {
        self.nanos.sort_unstable();
        let n = self.nanos.len();
        let ms = |ns: u64| ns as f64 / 1e6;
        let pct = |p: f64| -> f64 {
            if n == 0 {
                return f64::NAN;
            }
            // Nearest rank: the smallest sample with at least p of all samples at or below it.
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
            ms(self.nanos[rank - 1])
        };
        let total: u128 = self.nanos.iter().map(|&v| u128::from(v)).sum();
        let mean = if n == 0 {
            f64::NAN
        } else {
            total as f64 / n as f64 / 1e6
        };
        let wall = self.wall.as_secs_f64();
        Summary {
            n,
            p50: pct(0.50),
            p90: pct(0.90),
            p99: pct(0.99),
            mean,
            max: self.nanos.last().map(|&v| ms(v)).unwrap_or(f64::NAN),
            throughput: if wall > 0.0 {
                n as f64 / wall
            } else {
                f64::NAN
            },
        }
    }
}

impl Summary {
    /// The figures as JSON (NaN becomes null).
    pub fn to_json(&self) -> serde_json::Value {
        let f =
            |v: f64| serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into);
        serde_json::json!({
            "n": self.n,
            "p50_ms": f(self.p50),
            "p90_ms": f(self.p90),
            "p99_ms": f(self.p99),
            "mean_ms": f(self.mean),
            "max_ms": f(self.max),
            "throughput": f(self.throughput),
        })
    }
}

/// Latency figures in milliseconds, throughput in requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
    /// Requests completed per second of this side's measurement phases.
    pub throughput: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::with_capacity(100);
        for ms in 1..=100u64 {
            s.record(Duration::from_millis(ms));
        }
        s.wall = Duration::from_secs(2);
        let sum = s.summary();
        assert_eq!(sum.n, 100);
        assert_eq!(sum.p50, 50.0);
        assert_eq!(sum.p90, 90.0);
        assert_eq!(sum.p99, 99.0);
        assert_eq!(sum.max, 100.0);
        assert!((sum.mean - 50.5).abs() < 1e-9);
        assert!((sum.throughput - 50.0).abs() < 1e-9);
    }

    #[test]
    fn empty_is_nan() {
        let sum = Samples::default().summary();
        assert_eq!(sum.n, 0);
        assert!(sum.p50.is_nan());
    }
}
