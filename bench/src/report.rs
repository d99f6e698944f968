//! The benchmark report: a Markdown document (`bench/results/latest.md`) and a plain-text
//! table for the terminal.

use std::fmt::Write as _;

use crate::facts::{Database, Machine};
use crate::queries::{Check, Prepared};
use crate::scrape::ServerMeans;
use crate::stats::Summary;

/// How the benchmark was run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ontograph_url: String,
    pub neo4j_uri: String,
    pub requests: usize,
    pub warmup: usize,
    pub round_size: usize,
    pub concurrency: Vec<usize>,
    /// Free text from the caller (e.g. how the data was seeded).
    pub note: Option<String>,
}

/// Both sides of one query at one concurrency level.
#[derive(Debug, Clone)]
pub struct Level {
    pub concurrency: usize,
    pub ontograph: Summary,
    pub raw: Summary,
    /// Ontograph's own means over the same requests, when `/metrics` could be read.
    pub server: Option<ServerMeans>,
}

/// Everything measured for one query.
#[derive(Debug, Clone)]
pub struct QueryReport {
    pub prepared: Prepared,
    pub check: Check,
    pub levels: Vec<Level>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub date: String,
    pub revision: String,
    pub machine: Machine,
    pub database: Database,
    pub settings: Settings,
    pub queries: Vec<QueryReport>,
    pub elapsed_secs: f64,
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}x", a / b)
    } else {
        "n/a".to_owned()
    }
}

fn ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "n/a".to_owned()
    }
}

fn rate(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.0}")
    } else {
        "n/a".to_owned()
    }
}

impl Report {
    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let d = &self.database;
        let s = &self.settings;
        let _ = writeln!(
            out,
            "# Ontograph latency: service vs. the same Cypher over Bolt\n"
        );
        let _ = writeln!(out, "- Date: {}", self.date);
        let _ = writeln!(out, "- Revision: {}", self.revision);
        let _ = writeln!(
            out,
            "- Machine: {} logical CPUs ({} usable by the benchmark), {}; {:.1} GiB memory; Linux {}; \
             load average {} at the start (client, service and Neo4j share these CPUs)",
            m.cpus, m.available, m.cpu_model, m.memory_gib, m.kernel, m.load
        );
        let _ = writeln!(out, "- Neo4j: {} at `{}`", d.version, s.neo4j_uri);
        let _ = writeln!(out, "- Ontograph: `{}`", s.ontograph_url);
        let labels: Vec<String> = d.labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
        let _ = writeln!(
            out,
            "- Dataset: {} nodes, {} relationships ({})",
            d.nodes,
            d.relationships,
            labels.join(", ")
        );
        if let Some(note) = &s.note {
            let _ = writeln!(out, "- Note: {note}");
        }
        let _ = writeln!(
            out,
            "- Method: per query and concurrency level, {} warm-up then {} measured requests per \
             side, in rounds of {} that alternate which side goes first; concurrency {}; \
             run took {:.0} s",
            s.warmup,
            s.requests,
            s.round_size,
            s.concurrency
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.elapsed_secs
        );
        let _ = writeln!(
            out,
            "\n**Ontograph** = `POST /graphql` over a keep-alive HTTP/1.1 connection, whole \
             response read. **Neo4j** = the Cypher statement and parameters Ontograph compiles \
             the query to (compiled in-process by the same `ontology` crate), run with the same \
             `graph::Neo4jClient` in a read transaction, every row read. **Ratio** = Ontograph / \
             Neo4j (target: at most 1.2x at p50). Latencies in milliseconds.\n"
        );

        let _ = writeln!(out, "## Summary\n");
        out.push_str("| query | conc. | Ontograph p50 | Neo4j p50 | ratio p50 | Ontograph p99 | Neo4j p99 | ratio p99 | Ontograph req/s | Neo4j req/s |\n");
        out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for q in &self.queries {
            for l in &q.levels {
                let (o, r) = (&l.ontograph, &l.raw);
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | **{}** | {} | {} | **{}** | {} | {} |",
                    q.prepared.spec.id,
                    l.concurrency,
                    ms(o.p50),
                    ms(r.p50),
                    ratio(o.p50, r.p50),
                    ms(o.p99),
                    ms(r.p99),
                    ratio(o.p99, r.p99),
                    rate(o.throughput),
                    rate(r.throughput)
                );
            }
        }

        for q in &self.queries {
            let spec = &q.prepared.spec;
            let _ = writeln!(out, "\n## `{}`: {}\n", spec.id, spec.shape);
            let _ = writeln!(out, "```graphql\n{}\n```\n", spec.graphql);
            let _ = writeln!(
                out,
                "Variables `{}`: {}. Returns {}; Ontograph's response is {} bytes (the raw row \
                 {} bytes as JSON). Ontograph's `data` equals the raw row shaped in-process: {}.\n",
                spec.variables,
                spec.picked,
                q.check.items,
                q.check.http_bytes,
                q.check.raw_bytes,
                if q.check.identical {
                    "yes"
                } else {
                    "**NO** (investigate before trusting the ratio)"
                }
            );
            out.push_str("| conc. | side | p50 | p90 | p99 | mean | max | req/s |\n");
            out.push_str("|--:|---|--:|--:|--:|--:|--:|--:|\n");
            for l in &q.levels {
                let (o, r) = (&l.ontograph, &l.raw);
                for (name, x) in [("Ontograph (HTTP)", o), ("Neo4j (Bolt)", r)] {
                    let _ = writeln!(
                        out,
                        "| {} | {name} | {} | {} | {} | {} | {} | {} |",
                        l.concurrency,
                        ms(x.p50),
                        ms(x.p90),
                        ms(x.p99),
                        ms(x.mean),
                        ms(x.max),
                        rate(x.throughput)
                    );
                }
                let _ = writeln!(
                    out,
                    "| {} | **ratio** | **{}** | {} | **{}** | {} | {} | {} |",
                    l.concurrency,
                    ratio(o.p50, r.p50),
                    ratio(o.p90, r.p90),
                    ratio(o.p99, r.p99),
                    ratio(o.mean, r.mean),
                    ratio(o.max, r.max),
                    ratio(o.throughput, r.throughput)
                );
            }
            out.push('\n');
            for l in &q.levels {
                if let Some(sv) = &l.server {
                    let _ = writeln!(
                        out,
                        "- Where Ontograph's time goes at concurrency {} (means, ms, from its \
                         `/metrics`): {} over HTTP = HTTP, routing and JSON {} + GraphQL work \
                         (parse, validate, compile, resolve, shape) {} + Neo4j statement inside \
                         the service {}. The same statement sent directly: {} ({:+.3} inside the \
                         service).",
                        l.concurrency,
                        ms(l.ontograph.mean),
                        ms(l.ontograph.mean - sv.handler_ms),
                        ms(sv.handler_ms - sv.statement_ms),
                        ms(sv.statement_ms),
                        ms(l.raw.mean),
                        sv.statement_ms - l.raw.mean
                    );
                }
            }
            let _ = writeln!(
                out,
                "- In-process parse + IR + compile (this benchmark, median): {:.1} µs.",
                q.prepared.compile_micros
            );
            let params = serde_json::Value::Object(q.prepared.statement.params.clone());
            let _ = writeln!(
                out,
                "\n<details><summary>Cypher sent both ways</summary>\n\n```cypher\n{}\n```\n\nParameters: `{}`\n\n</details>",
                q.prepared.statement.cypher.trim_end(),
                params
            );
        }
        out
    }

    /// A compact table for the terminal.
    pub fn text_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<8} {:>5} | {:>10} {:>10} {:>7} | {:>10} {:>10} {:>7} | {:>8} {:>8}",
            "query",
            "conc",
            "og p50",
            "neo4j p50",
            "ratio",
            "og p99",
            "neo4j p99",
            "ratio",
            "og rps",
            "neo4j rps"
        );
        for q in &self.queries {
            for l in &q.levels {
                let (o, r) = (&l.ontograph, &l.raw);
                let _ = writeln!(
                    out,
                    "{:<8} {:>5} | {:>10} {:>10} {:>7} | {:>10} {:>10} {:>7} | {:>8} {:>8}",
                    q.prepared.spec.id,
                    l.concurrency,
                    ms(o.p50),
                    ms(r.p50),
                    ratio(o.p50, r.p50),
                    ms(o.p99),
                    ms(r.p99),
                    ratio(o.p99, r.p99),
                    rate(o.throughput),
                    rate(r.throughput)
                );
            }
        }
        out.push_str("(latencies in ms; ratio = Ontograph / Neo4j direct)\n");
        for q in &self.queries {
            for l in &q.levels {
                if let Some(sv) = &l.server {
                    let _ = writeln!(
                        out,
                        "{} c={}: Ontograph mean {} = HTTP {} + GraphQL {} + statement {} (direct {})",
                        q.prepared.spec.id,
                        l.concurrency,
                        ms(l.ontograph.mean),
                        ms(l.ontograph.mean - sv.handler_ms),
                        ms(sv.handler_ms - sv.statement_ms),
                        ms(sv.statement_ms),
                        ms(l.raw.mean)
                    );
                }
            }
        }
        out
    }
}
