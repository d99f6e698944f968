//! Measurement: phases of N requests on one side (Ontograph over HTTP, or the same Cypher over
//! Bolt) run by C concurrent workers, and interleaved rounds that alternate which side goes
//! first, so that both sides share the machine's noise.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _};
use graph::{AccessMode, Neo4jClient, Statement};
use hyper::body::Bytes;

use crate::http::Connection;
use crate::queries::{has_errors, Prepared};
use crate::stats::Samples;

/// The clients of one concurrency level: one HTTP connection per worker and a Bolt pool.
pub struct Clients {
    pub http: Vec<Connection>,
    pub neo4j: Neo4jClient,
}

impl Clients {
    /// Concurrency of this level.
    pub fn concurrency(&self) -> usize {
        self.http.len()
    }
}

/// `n` POSTs of `body` over every connection at once; each latency covers sending the request
/// and reading the whole response body.
pub async fn http_phase(
    connections: &mut Vec<Connection>,
    body: &Bytes,
    n: usize,
) -> anyhow::Result<Samples> {
    let tickets = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections.len());
    for mut connection in connections.drain(..) {
        let tickets = Arc::clone(&tickets);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::with_capacity(n);
            while tickets.fetch_add(1, Ordering::Relaxed) < n {
                let sent = Instant::now();
                let reply = connection.post_json(body.clone()).await;
                let elapsed = sent.elapsed();
                let reply = reply?;
                if !reply.status.is_success() || has_errors(&reply.body) {
                    bail!(
                        "Ontograph answered {}: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.body)
                    );
                }
                samples.record(elapsed);
            }
            Ok((connection, samples))
        }));
    }
    let mut all = Samples::with_capacity(n);
    let mut failure = None;
    for task in tasks {
        match task.await.map_err(|e| anyhow!("HTTP worker panicked: {e}")) {
            Ok(Ok((connection, samples))) => {
                connections.push(connection);
                all.extend(samples);
            }
            Ok(Err(error)) | Err(error) => failure = Some(error),
        }
    }
    all.wall = started.elapsed();
    match failure {
        Some(error) => Err(error),
        None => Ok(all),
    }
}

/// `n` runs of `statement` over Bolt by `concurrency` workers; each latency covers running it
/// in a read transaction and reading every row (as JSON, like Ontograph does).
pub async fn bolt_phase(
    neo4j: &Neo4jClient,
    statement: &Arc<Statement>,
    concurrency: usize,
    n: usize,
) -> anyhow::Result<Samples> {
    let tickets = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let tickets = Arc::clone(&tickets);
        let neo4j = neo4j.clone();
        let statement = Arc::clone(statement);
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::with_capacity(n);
            while tickets.fetch_add(1, Ordering::Relaxed) < n {
                let sent = Instant::now();
                let result = neo4j.run(&statement, AccessMode::Read).await;
                let elapsed = sent.elapsed();
                let result = result.context("the Cypher statement failed on Neo4j")?;
                if result.rows.len() != 1 {
                    bail!(
                        "the Cypher statement returned {} rows, not 1",
                        result.rows.len()
                    );
                }
                samples.record(elapsed);
            }
            Ok(samples)
        }));
    }
    let mut all = Samples::with_capacity(n);
    for task in tasks {
        all.extend(
            task.await
                .map_err(|e| anyhow!("Bolt worker panicked: {e}"))??,
        );
    }
    all.wall = started.elapsed();
    Ok(all)
}

/// Latencies of both sides of one query at one concurrency level.
#[derive(Debug, Clone, Default)]
pub struct Pair {
    pub ontograph: Samples,
    pub raw: Samples,
}

/// Runs `total` requests per side in rounds of `round_size`, alternating which side goes first.
pub async fn interleaved(
    clients: &mut Clients,
    prepared: &Prepared,
    total: usize,
    round_size: usize,
) -> anyhow::Result<Pair> {
    let statement = Arc::new(prepared.statement.clone());
    let concurrency = clients.concurrency();
    let round_size = round_size.max(concurrency).max(1);
    let mut pair = Pair {
        ontograph: Samples::with_capacity(total),
        raw: Samples::with_capacity(total),
    };
    let mut done = 0;
    let mut ontograph_first = true;
    while done < total {
        let n = round_size.min(total - done);
        if ontograph_first {
            pair.ontograph
                .extend(http_phase(&mut clients.http, &prepared.http_body, n).await?);
            pair.raw
                .extend(bolt_phase(&clients.neo4j, &statement, concurrency, n).await?);
        } else {
            pair.raw
                .extend(bolt_phase(&clients.neo4j, &statement, concurrency, n).await?);
            pair.ontograph
                .extend(http_phase(&mut clients.http, &prepared.http_body, n).await?);
        }
        done += n;
        ontograph_first = !ontograph_first;
    }
    Ok(pair)
}
