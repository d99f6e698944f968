//! `routing`: what the replica router adds to a statement. Runs the same read statement on one
//! reader directly (a `Neo4jClient`) and through a `Router` whose only reader is that server,
//! interleaved in the same run, and reports both latency distributions and their difference in
//! microseconds; then times the routing decision alone (`Router::target`) in a tight loop.
//! Reports; never fails on a timing.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use graph::{AccessMode, Consistency, Neo4jClient, Neo4jConfig, Router, RoutingConfig, Statement};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The leader (the router's writer).
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:17687")]
    neo4j: String,
    /// The reader measured (directly and through the router).
    #[arg(long)]
    reader: String,
    /// Measured statements per side.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Unmeasured statements per side first.
    #[arg(long, default_value_t = 500)]
    warmup: usize,
    /// Routing decisions timed in the tight loop.
    #[arg(long, default_value_t = 1_000_000)]
    decisions: usize,
    /// Write the results here as JSON.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// A small indexed read, the kind of statement whose latency the router's share matters most.
const CYPHER: &str = "MATCH (p:Person) WHERE p.handle = $h RETURN p.name AS name";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    json!({ "n": v.len(), "mean_us": mean, "p50_us": percentile(&v, 0.5),
            "p90_us": percentile(&v, 0.9), "p99_us": percentile(&v, 0.99) })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let direct = Neo4jClient::connect(Neo4jConfig::new(a.reader.clone())).await?;
    let source = graph::TopologySource::Static {
        writer: a.neo4j.clone(),
        readers: vec![a.reader.clone()],
    };
    let router = Router::connect(RoutingConfig::new(
        source,
        Neo4jConfig::new(a.reader.clone()),
    ))
    .await?;
    let consistency = Consistency::default();
    let statement = Statement::new(CYPHER)
        .param("h", "bench-no-such-handle")
        .timeout(Duration::from_secs(10));
    let (mut d, mut r) = (
        Vec::with_capacity(a.requests),
        Vec::with_capacity(a.requests),
    );
    for i in 0..a.warmup + a.requests {
        // Alternate which side goes first so neither always meets a warmer server.
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            let started = Instant::now();
            if side == 0 {
                direct
                    .run(&statement, AccessMode::Read)
                    .await
                    .context("direct read")?;
            } else {
                router
                    .run(&statement, AccessMode::Read, &consistency)
                    .await
                    .context("routed read")?;
            }
            let us = started.elapsed().as_secs_f64() * 1e6;
            if i >= a.warmup {
                if side == 0 {
                    d.push(us)
                } else {
                    r.push(us)
                }
            }
        }
    }
    let direct_s = summary(d);
    let routed_s = summary(r);
    let started = Instant::now();
    let mut hits = 0usize;
    for _ in 0..a.decisions {
        if router.target(AccessMode::Read, &consistency).is_ok() {
            hits += 1;
        }
    }
    let decision_ns = started.elapsed().as_secs_f64() * 1e9 / a.decisions.max(1) as f64;
    let result = json!({
        "statement": CYPHER,
        "reader": a.reader,
        "direct": direct_s,
        "routed": routed_s,
        "added_p50_us": routed_s["p50_us"].as_f64().unwrap_or(f64::NAN) - direct_s["p50_us"].as_f64().unwrap_or(f64::NAN),
        "added_mean_us": routed_s["mean_us"].as_f64().unwrap_or(f64::NAN) - direct_s["mean_us"].as_f64().unwrap_or(f64::NAN),
        "decision_ns": decision_ns,
        "decisions": a.decisions,
        "decisions_ok": hits,
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    if let Some(path) = a.json {
        std::fs::write(path, serde_json::to_vec_pretty(&result)?)?;
    }
    Ok(())
}
