//! `cache`: the result cache under a Zipf-distributed read workload, next to the same workload
//! on a gateway without the cache and on the @neo4j/graphql peer, and the miss path (every
//! request a new key) with and without the cache, all in one run. Reports throughput, p50/p99
//! and hit ratios; never fails on a timing. (The hit path's saturation throughput is measured
//! with oha by bench/harness.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bench::http::{Connection, Endpoint};
use clap::Parser;
use hyper::body::Bytes;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Ontograph with the result cache on.
    #[arg(long)]
    cached: String,
    /// Ontograph without the cache (same data).
    #[arg(long)]
    uncached: String,
    /// The @neo4j/graphql peer (same data), if it runs.
    #[arg(long)]
    peer: Option<String>,
    /// The Neo4j leader (to pick existing people).
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:17687")]
    neo4j: String,
    /// Seconds per run.
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Zipf exponent of the key popularity.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Most distinct keys (people) the Zipf workload draws from.
    #[arg(long, default_value_t = 10_000)]
    keys: usize,
    /// Write the results here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

const QUERY: &str = r#"query PersonWithTeams($handle: String!) {
  people(where: { handle: { eq: $handle } }) {
    handle
    name
    teams { name }
  }
}"#;

/// Key popularity: rank r (0-based) has weight 1/(r+1)^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / ((r + 1) as f64).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.gen::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c < x)
            .min(self.cumulative.len() - 1)
    }
}

/// Picks the handle of a client's n-th request.
type KeyFn = Arc<dyn Fn(&mut rand::rngs::StdRng, u64) -> String + Send + Sync>;

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
    l1: AtomicU64,
    l2: AtomicU64,
    miss: AtomicU64,
}

/// Runs `concurrency` closed-loop clients for `seconds`; `key(rng, n)` picks the handle of the
/// n-th request of a client.
async fn run(url: &str, args: &Args, key: KeyFn) -> anyhow::Result<Value> {
    let endpoint = Endpoint::parse(url)?;
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.concurrency {
        let (endpoint, counts, key) = (endpoint.clone(), counts.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(&endpoint).await?;
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let handle = key(&mut rng, n * 1000 + c as u64);
                let body = json!({ "query": QUERY, "variables": { "handle": handle } });
                let t = Instant::now();
                let reply = conn.post_json(Bytes::from(body.to_string())).await?;
                latencies.push(t.elapsed().as_secs_f64());
                let good = reply.status.is_success()
                    && !reply.body.windows(9).any(|w| w == b"\"errors\":");
                let slot = if good { &counts.ok } else { &counts.failed };
                slot.fetch_add(1, Ordering::Relaxed);
                match reply.cache.as_deref() {
                    Some("HIT-L1") => &counts.l1,
                    Some("HIT-L2") => &counts.l2,
                    Some("MISS") => &counts.miss,
                    _ => continue,
                }
                .fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.context("client task")??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
            * 1000.0
    };
    let (l1, l2, miss) = (
        counts.l1.load(Ordering::Relaxed),
        counts.l2.load(Ordering::Relaxed),
        counts.miss.load(Ordering::Relaxed),
    );
    let looked = (l1 + l2 + miss).max(1) as f64;
    Ok(json!({
        "requests": all.len(),
        "failed": counts.failed.load(Ordering::Relaxed),
        "rps": all.len() as f64 / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "hit_ratio": if l1 + l2 + miss == 0 { Value::Null } else { json!((l1 + l2) as f64 / looked) },
        "l1": l1, "l2": l2, "miss": miss,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let neo4j = graph::Neo4jClient::connect(graph::Neo4jConfig::new(&args.neo4j))
        .await
        .context("Neo4j")?;
    let st = graph::Statement::new(
        "MATCH (p:Person) WHERE p.handle IS NOT NULL RETURN p.handle AS h ORDER BY h LIMIT $k",
    )
    .param("k", args.keys as i64);
    let rows = neo4j.run(&st, graph::AccessMode::Read).await?.rows;
    let handles: Arc<Vec<String>> = Arc::new(
        rows.iter()
            .filter_map(|r| r["h"].as_str().map(str::to_owned))
            .collect(),
    );
    if handles.is_empty() {
        bail!("no people in the database: seed it first");
    }
    // Popularity order is a fixed shuffle of the handles, so popular people are spread out.
    let mut order: Vec<usize> = (0..handles.len()).collect();
    let mut shuffle = rand::rngs::StdRng::seed_from_u64(42);
    for i in (1..order.len()).rev() {
        order.swap(i, shuffle.gen_range(0..=i));
    }
    let zipf = Arc::new(Zipf::new(handles.len(), args.zipf));
    let zipf_key: KeyFn = {
        let (handles, zipf) = (handles.clone(), zipf.clone());
        Arc::new(move |rng, _| handles[order[zipf.sample(rng)]].clone())
    };
    let run_id = std::process::id();
    let miss_key = |tag: &'static str| -> KeyFn {
        Arc::new(move |_, n| format!("bench-miss-{tag}-{run_id}-{n}"))
    };

    let mut out = serde_json::Map::new();
    out.insert("keys".into(), json!(handles.len()));
    out.insert("zipf_s".into(), json!(args.zipf));
    out.insert("concurrency".into(), json!(args.concurrency));
    out.insert("seconds".into(), json!(args.seconds));
    let mut runs: Vec<(&str, String, KeyFn)> = vec![
        ("zipf_cached", args.cached.clone(), zipf_key.clone()),
        ("zipf_uncached", args.uncached.clone(), zipf_key.clone()),
    ];
    if let Some(peer) = &args.peer {
        runs.push(("zipf_peer", peer.clone(), zipf_key.clone()));
    }
    runs.push(("miss_cached", args.cached.clone(), miss_key("c")));
    runs.push(("miss_uncached", args.uncached.clone(), miss_key("u")));
    for (name, url, key) in runs {
        eprintln!(
            "cache: {name} against {url} ({} s, c={})",
            args.seconds, args.concurrency
        );
        let result = run(&url, &args, key)
            .await
            .with_context(|| name.to_owned())?;
        eprintln!("cache: {name}: {result}");
        out.insert(name.into(), result);
    }
    let out = Value::Object(out);
    println!("{}", serde_json::to_string_pretty(&out)?);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&out)?)?;
    }
    Ok(())
}
