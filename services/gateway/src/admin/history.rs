//! A short history for the console's charts: every interval, what happened since the previous
//! sample (requests, errors, cache lookups per level, webhooks accepted) and the queue depths now.
//! One hour is kept, in memory, per instance.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::auth::now_ms;
use crate::graphql::cache::ResultCache;
use crate::webhook::receiver::Receiver;

/// Counters the request paths bump (read by the sampler).
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub cache_bypass: AtomicU64,
    pub ingest_accepted: AtomicU64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CacheSample {
    pub hit_l1: u64,
    pub hit_l2: u64,
    pub miss: u64,
    pub bypass: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngestSample {
    /// Webhook events accepted by this gateway in the interval.
    pub accepted: u64,
    /// Messages waiting in the partition queues now (`None`: broker not reachable or off).
    pub queued: Option<u64>,
    /// Messages in the dead-letter queue now.
    pub dead_letters: Option<u64>,
}

/// What happened in one interval.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub at_ms: u64,
    pub requests: u64,
    pub errors: u64,
    pub cache: CacheSample,
    pub ingest: IngestSample,
}

/// The samples, oldest first.
pub struct History {
    pub interval: Duration,
    capacity: usize,
    samples: Mutex<VecDeque<Sample>>,
}

#[derive(Default, Clone, Copy)]
struct Totals {
    requests: u64,
    errors: u64,
    l1: u64,
    l2: u64,
    miss: u64,
    bypass: u64,
    accepted: u64,
}

impl History {
    /// Keeps `window / interval` samples.
    pub fn new(interval: Duration, window: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(100));
        History {
            interval,
            capacity: (window.as_millis() / interval.as_millis()).max(1) as usize,
            samples: Mutex::new(VecDeque::new()),
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn push(&self, s: Sample) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back(s);
        while samples.len() > self.capacity {
            samples.pop_front();
        }
    }
}

/// What the sampler reads.
pub struct Sampled {
    pub counters: Arc<Counters>,
    pub cache: Option<Arc<ResultCache>>,
    pub webhooks: Option<Arc<Receiver>>,
}

fn totals(state: &Sampled) -> Totals {
    let c = &state.counters;
    let stats = state.cache.as_ref().map(|rc| rc.cache.stats());
    Totals {
        requests: c.requests.load(Relaxed),
        errors: c.errors.load(Relaxed),
        l1: stats.as_ref().map_or(0, |s| s.hits_l1),
        l2: stats.as_ref().map_or(0, |s| s.hits_l2),
        miss: stats.as_ref().map_or(0, |s| s.misses),
        bypass: c.cache_bypass.load(Relaxed),
        accepted: c.ingest_accepted.load(Relaxed),
    }
}

/// Samples `state` into `history` every interval, for as long as the runtime runs.
pub fn start(history: Arc<History>, state: Sampled) {
    let interval = history.interval;
    tokio::spawn(async move {
        let mut previous = totals(&state);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = totals(&state);
            let (queued, dead_letters) = match &state.webhooks {
                Some(ingest) => {
                    let dead = ingest.bus.config().names.dead_queue();
                    match tokio::time::timeout(Duration::from_secs(2), ingest.bus.depths()).await {
                        Ok(Ok(depths)) => (
                            Some(
                                depths
                                    .iter()
                                    .filter(|(n, _)| *n != dead)
                                    .map(|(_, d)| u64::from(*d))
                                    .sum(),
                            ),
                            depths
                                .iter()
                                .find(|(n, _)| *n == dead)
                                .map(|(_, d)| u64::from(*d)),
                        ),
                        _ => (None, None),
                    }
                }
                None => (None, None),
            };
            history.push(Sample {
                at_ms: now_ms(),
                requests: now.requests.saturating_sub(previous.requests),
                errors: now.errors.saturating_sub(previous.errors),
                cache: CacheSample {
                    hit_l1: now.l1.saturating_sub(previous.l1),
                    hit_l2: now.l2.saturating_sub(previous.l2),
                    miss: now.miss.saturating_sub(previous.miss),
                    bypass: now.bypass.saturating_sub(previous.bypass),
                },
                ingest: IngestSample {
                    accepted: now.accepted.saturating_sub(previous.accepted),
                    queued,
                    dead_letters,
                },
            });
            previous = now;
        }
    });
}
