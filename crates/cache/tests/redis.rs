//! The cache against real Redis (the stack's, `REDIS_URL`): an entry computed by one gateway is
//! an L2 hit for another, an invalidation on one drops it everywhere, TTLs expire, and a Redis
//! that is not there leaves the cache working on L1. Each test has its own key prefix.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cache::{Cache, CacheConfig, Entry, Level, RedisHandle};

fn config() -> CacheConfig {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    CacheConfig {
        prefix: format!("test:{nanos}"),
        ..CacheConfig::default()
    }
}

/// A cache on its own connection to `url` (as a separate gateway has).
async fn cache_on(config: CacheConfig, url: String) -> Cache {
    let redis = RedisHandle::connect(redis_handle::RedisConfig::new(url)).await;
    Cache::new(config, Some(redis))
}

/// A cache on the stack's Redis.
async fn cache(config: CacheConfig) -> Cache {
    let url = std::env::var("REDIS_URL")
        .unwrap_or_else(|_| panic!("REDIS_URL is not set: run through scripts/test"));
    cache_on(config, url).await
}

fn any(_: &Entry) -> bool {
    true
}

async fn get(cache: &Cache, key: &str, calls: &Arc<AtomicU64>, ttl: Duration) -> Level {
    let calls = calls.clone();
    let (entry, level) = cache
        .get_or_compute(key, &any, || {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok((
                    Entry::new(
                        &b"{\"data\":{}}"[..],
                        vec!["l:Person".into(), "n:Person:id:ada".into()],
                        String::new(),
                    ),
                    Some(ttl),
                ))
            }
        })
        .await
        .expect("entry");
    assert_eq!(&entry.body[..], b"{\"data\":{}}");
    level
}

#[tokio::test]
async fn a_second_gateway_hits_l2_and_invalidation_reaches_both() {
    let config = config();
    let a = cache(config.clone()).await;
    let b = cache(config.clone()).await;
    assert!(a.has_redis() && b.has_redis());
    b.listen();
    tokio::time::sleep(Duration::from_millis(200)).await; // the subscription is up
    let calls = Arc::new(AtomicU64::new(0));
    let ttl = Duration::from_secs(60);
    assert_eq!(get(&a, "q1", &calls, ttl).await, Level::Miss);
    assert_eq!(get(&a, "q1", &calls, ttl).await, Level::L1);
    assert_eq!(
        get(&b, "q1", &calls, ttl).await,
        Level::L2,
        "computed once, shared through Redis"
    );
    assert_eq!(get(&b, "q1", &calls, ttl).await, Level::L1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A write on gateway A touching ada: both gateways stop serving the entry.
    let started = Instant::now();
    a.invalidate(&["n:Person:id:ada".into()]).await;
    assert_eq!(
        get(&a, "q1", &calls, ttl).await,
        Level::Miss,
        "the writer's own L1 is clean at once"
    );
    let mut lag = None;
    while started.elapsed() < Duration::from_secs(2) {
        // Peek without computing: an L1 hit means B still holds it.
        let probe = b
            .get_or_compute("q1", &any, || async {
                Ok((Entry::new(&b"x"[..], vec![], String::new()), None))
            })
            .await
            .expect("probe");
        if probe.1 != Level::L1 {
            lag = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lag = lag.expect("gateway B dropped the entry");
    println!("cache: invalidation reached the other gateway within {lag:?}");
    assert!(lag < Duration::from_secs(1));
}

#[tokio::test]
async fn entries_expire_from_redis() {
    let config = config();
    let a = cache(config.clone()).await;
    let calls = Arc::new(AtomicU64::new(0));
    assert_eq!(
        get(&a, "short", &calls, Duration::from_millis(300)).await,
        Level::Miss
    );
    let fresh = cache(config.clone()).await;
    assert_eq!(
        get(&fresh, "short", &calls, Duration::from_millis(300)).await,
        Level::L2
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = cache(config).await;
    assert_eq!(
        get(&later, "short", &calls, Duration::from_millis(300)).await,
        Level::Miss
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_redis_the_cache_still_works_on_l1() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("redis://{}", l.local_addr().expect("addr"))
    };
    let started = Instant::now();
    let cache = cache_on(config(), dead).await;
    assert!(!cache.has_redis());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "start-up waited {:?}",
        started.elapsed()
    );
    let calls = Arc::new(AtomicU64::new(0));
    assert_eq!(
        get(&cache, "k", &calls, Duration::from_secs(60)).await,
        Level::Miss
    );
    assert_eq!(
        get(&cache, "k", &calls, Duration::from_secs(60)).await,
        Level::L1
    );
    assert_eq!(cache.invalidate(&["l:Person".into()]).await, 1);
    assert_eq!(
        cache.pending_invalidations(),
        1,
        "kept for when Redis answers"
    );
}

#[tokio::test]
async fn a_miss_overtaken_by_an_invalidation_does_not_reach_redis() {
    let config = config();
    let a = cache(config.clone()).await;
    let b = cache(config.clone()).await;
    // Gateway A reads the old value slowly; gateway B commits a write meanwhile.
    let slow = a.get_or_compute("race", &any, || async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok((
            Entry::new(&b"old"[..], vec!["l:Person".into()], String::new()),
            Some(Duration::from_secs(60)),
        ))
    });
    let write = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.invalidate(&["l:Person".into()]).await;
    };
    let (read, ()) = tokio::join!(slow, write);
    assert_eq!(read.expect("read").0.body, "old");
    // A third gateway must not find the old value in Redis.
    let c = cache(config).await;
    let (entry, level) = c
        .get_or_compute("race", &any, || async {
            Ok((
                Entry::new(&b"new"[..], vec!["l:Person".into()], String::new()),
                Some(Duration::from_secs(60)),
            ))
        })
        .await
        .expect("fresh");
    assert_eq!((&entry.body[..], level), (&b"new"[..], Level::Miss));
}
