//! `ingest`: sustained end-to-end ingestion throughput — signed webhooks over HTTP into the
//! gateway's receiver, RabbitMQ, ingest workers, committed in Neo4j — next to, in the same run,
//! (a) the same batched UNWIND/MERGE statements sent straight to Neo4j and (b) one transaction
//! per event. Reports events/s and the ratios; never fails on a timing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};
use bench::http::{Connection, Endpoint};
use clap::Parser;
use futures::StreamExt as _;
use gateway::webhook::signature::{Scheme, Verifier};
use hyper::body::Bytes;
use ontology::mapping::{plan_batch, property_types, Mapping, Op};
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The Neo4j leader.
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:17687")]
    neo4j: String,
    /// RabbitMQ.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:25673/%2f"
    )]
    amqp: String,
    /// Events for the end-to-end and the raw batched runs.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Events for the one-transaction-per-event runs (slower; a smaller sample).
    #[arg(long, default_value_t = 3_000)]
    per_event: usize,
    /// Concurrent webhook senders (HTTP connections), and concurrent per-event transactions.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// In-process ingest workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Events per batch (workers and the raw batched run).
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// The mapping rules folder.
    #[arg(long, default_value = "schema/mappings")]
    mappings: PathBuf,
    /// The ontology.
    #[arg(long, default_value = "schema/ontology.graphql")]
    ontology: PathBuf,
    /// Write the results here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

const SECRET: &str = "bench-ingest-secret";

fn event(prefix: &str, i: usize) -> Value {
    json!({
        "id": format!("{prefix}-e{i}"),
        "type": "membership.changed",
        "occurredAt": "2024-05-01T12:00:00Z",
        "data": { "handle": format!("{prefix}-p{i}"), "name": format!("P{i}"),
                  "teamId": format!("{prefix}-t{}", i % 100), "teamName": format!("T{}", i % 100),
                  "role": "member", "action": "joined" }
    })
}

async fn count(neo4j: &graph::Neo4jClient, prefix: &str) -> anyhow::Result<i64> {
    let st = graph::Statement::new(
        "MATCH (p:Person)-[:MEMBER_OF]->(:Team) WHERE p.handle STARTS WITH $p RETURN count(p) AS n",
    )
    .param("p", prefix);
    let rows = neo4j.run(&st, graph::AccessMode::Read).await?.rows;
    Ok(rows
        .first()
        .and_then(|r| r.get("n"))
        .and_then(Value::as_i64)
        .unwrap_or(0))
}

async fn cleanup(neo4j: &graph::Neo4jClient, prefix: &str) -> anyhow::Result<()> {
    for cypher in [
        "MATCH (p:Person) WHERE p.handle STARTS WITH $p DETACH DELETE p",
        "MATCH (t:Team) WHERE t.id STARTS WITH $p DETACH DELETE t",
    ] {
        let st = graph::Statement::new(cypher).param("p", prefix);
        neo4j.run(&st, graph::AccessMode::Write).await?;
    }
    Ok(())
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let o = ontology::parse_ontology(&std::fs::read_to_string(&a.ontology)?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rules_path = a.mappings.join("internal.yaml");
    let rules = Mapping::from_yaml(&o, "internal", &std::fs::read_to_string(&rules_path)?)?;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_nanos();
    let run = format!("bench-ingest-{nanos}");
    let neo4j = graph::Neo4jClient::connect(graph::Neo4jConfig::new(a.neo4j.clone())).await?;
    let router = graph::Router::connect(graph::RoutingConfig::single(graph::Neo4jConfig::new(
        a.neo4j.clone(),
    )))
    .await?;

    // The receiver: the gateway's app on a loopback port.
    let bus_config = bus::BusConfig {
        names: bus::Names::new(run.clone()),
        ..bus::BusConfig::new(a.amqp.clone())
    };
    let bus = bus::Bus::new(bus_config.clone());
    bus.declare().await.context("RabbitMQ")?;
    let source =
        gateway::webhook::Source::new(rules.clone(), SECRET).map_err(anyhow::Error::msg)?;
    let config = gateway::GatewayConfig {
        webhooks: Some(gateway::WebhookConfig {
            sources: vec![source],
            bus: bus_config,
        }),
        ..gateway::GatewayConfig::default()
    };
    let state = gateway::AppState::build(o.clone(), router.clone(), &config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, gateway::app(state)).await;
    });
    let shared = Arc::new(ontology::served::ServedOntology::new(o.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..a.workers.max(1) {
        let config = ingest::WorkerConfig {
            batch_size: a.batch_size,
            flush_interval: Duration::from_millis(20),
            ..ingest::WorkerConfig::default()
        };
        let worker = ingest::Worker::new(
            shared.clone(),
            vec![rules.clone()],
            bus.clone(),
            router.clone(),
            config,
        );
        let mut stop = stop_rx.clone();
        workers.push(tokio::spawn(worker.run(async move {
            let _ = stop.changed().await;
        })));
    }

    // 1. End to end.
    let e2e_prefix = format!("{run}-e2e");
    let endpoint = Endpoint::parse(&format!("http://{addr}/ingest/internal"))?;
    let verifier = Verifier::new(Scheme::hmac_default(), SECRET)?;
    let bodies: Vec<Bytes> = (0..a.events)
        .map(|i| Bytes::from(event(&e2e_prefix, i).to_string()))
        .collect();
    let started = Instant::now();
    let per_sender = a.events.div_ceil(a.concurrency.max(1));
    let senders = bodies.chunks(per_sender.max(1)).map(|chunk| {
        let (endpoint, verifier, chunk) = (endpoint.clone(), verifier.clone(), chunk.to_vec());
        async move {
            let mut connection = Connection::open(&endpoint).await?;
            for body in chunk {
                let headers = verifier.sign(&body, SystemTime::now());
                let reply = connection
                    .post_with("/ingest/internal", &headers, body)
                    .await?;
                if reply.status.as_u16() != 202 {
                    bail!(
                        "the receiver answered {}: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.body)
                    );
                }
            }
            anyhow::Ok(())
        }
    });
    for outcome in futures::future::join_all(senders).await {
        outcome?;
    }
    let accepted_in = started.elapsed();
    loop {
        if count(&neo4j, &e2e_prefix).await? >= a.events as i64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the end-to-end run did not finish within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let e2e = started.elapsed();
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }

    // 2. The same statements straight to Neo4j, batch by batch.
    let types = property_types(&o);
    let raw_prefix = format!("{run}-raw");
    let events: Vec<Value> = (0..a.events).map(|i| event(&raw_prefix, i)).collect();
    let started = Instant::now();
    for chunk in events.chunks(a.batch_size.max(1)) {
        let mut ops: Vec<Op> = Vec::new();
        for e in chunk {
            ops.extend(rules.map("membership.changed", e)?);
        }
        let plan = plan_batch(&ops, &types);
        neo4j
            .run(
                &graph::Statement::new(plan.cypher).params(plan.params),
                graph::AccessMode::Write,
            )
            .await?;
    }
    let raw = started.elapsed();

    // 3. One transaction per event: sequential, and with `concurrency` at once.
    let mut per_event = Vec::new();
    for (label, conc) in [("sequential", 1usize), ("concurrent", a.concurrency.max(1))] {
        let prefix = format!("{run}-one-{label}");
        let events: Vec<Value> = (0..a.per_event).map(|i| event(&prefix, i)).collect();
        let started = Instant::now();
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(events)
            .map(|e| {
                let (neo4j, rules, types) = (neo4j.clone(), &rules, &types);
                async move {
                    let plan = plan_batch(&rules.map("membership.changed", &e)?, types);
                    neo4j
                        .run(
                            &graph::Statement::new(plan.cypher).params(plan.params),
                            graph::AccessMode::Write,
                        )
                        .await?;
                    Ok(())
                }
            })
            .buffer_unordered(conc)
            .collect()
            .await;
        for r in results {
            r?;
        }
        per_event.push((label, conc, started.elapsed(), prefix));
    }

    let e2e_rate = rate(a.events, e2e);
    let raw_rate = rate(a.events, raw);
    let seq_rate = rate(a.per_event, per_event[0].2);
    let conc_rate = rate(a.per_event, per_event[1].2);
    let result = json!({
        "events": a.events,
        "per_event_sample": a.per_event,
        "concurrency": a.concurrency,
        "workers": a.workers,
        "batch_size": a.batch_size,
        "e2e_seconds": e2e.as_secs_f64(),
        "e2e_events_per_s": e2e_rate,
        "accepted_seconds": accepted_in.as_secs_f64(),
        "accepted_per_s": rate(a.events, accepted_in),
        "raw_batched_events_per_s": raw_rate,
        "one_tx_sequential_events_per_s": seq_rate,
        "one_tx_concurrent_events_per_s": conc_rate,
        "e2e_over_raw": e2e_rate / raw_rate,
        "e2e_over_one_tx_sequential": e2e_rate / seq_rate,
        "e2e_over_one_tx_concurrent": e2e_rate / conc_rate,
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_vec_pretty(&result)?)?;
    }
    cleanup(&neo4j, &e2e_prefix).await?;
    cleanup(&neo4j, &raw_prefix).await?;
    for (_, _, _, prefix) in &per_event {
        cleanup(&neo4j, prefix).await?;
    }
    let _ = bus.delete_topology().await;
    Ok(())
}
