//! `latency`: Ontograph's latency for five read queries next to the latency of the same Cypher
//! sent straight to Neo4j over Bolt in the same run, with their ratio. See `bench/README.md`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bench::facts;
use bench::http::{get_once, Connection, Endpoint};
use bench::measure::{interleaved, Clients};
use bench::queries::{discover, prepare, verify};
use bench::report::{Level, QueryReport, Report, Settings};
use bench::scrape::scrape;
use clap::Parser;
use ontology::compile::CompileOptions;

/// Measures Ontograph against the same Cypher sent directly to Neo4j. Reports; never fails on a
/// timing.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Ontograph's GraphQL endpoint.
    #[arg(
        long,
        env = "BENCH_ONTOGRAPH_URL",
        default_value = "http://127.0.0.1:8080/graphql"
    )]
    ontograph: String,
    /// Bolt URI of the Neo4j server Ontograph reads from.
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:17687")]
    neo4j: String,
    /// Neo4j user.
    #[arg(long, env = "NEO4J_USER", default_value = "neo4j")]
    neo4j_user: String,
    /// Neo4j password.
    #[arg(
        long,
        env = "NEO4J_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    neo4j_password: String,
    /// Neo4j database (default: the server's default database).
    #[arg(long, env = "NEO4J_DATABASE")]
    neo4j_database: Option<String>,
    /// The ontology Ontograph serves (to compile the queries exactly as it does).
    #[arg(
        long,
        env = "ONTOGRAPH_ONTOLOGY",
        default_value = "schema/ontology.graphql"
    )]
    ontology: PathBuf,
    /// `limit` Ontograph applies to root lists without one (its `--default-limit`).
    #[arg(long, env = "ONTOGRAPH_DEFAULT_LIMIT", default_value_t = 1000)]
    default_limit: u64,
    /// Largest `limit`/`first` Ontograph accepts (its `--max-limit`).
    #[arg(long, env = "ONTOGRAPH_MAX_LIMIT", default_value_t = 10_000)]
    max_limit: u64,
    /// Measured requests per side, per query and concurrency level.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Unmeasured warm-up requests per side, per query and concurrency level.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Concurrency levels (workers per side), e.g. `1` or `1,8`.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    concurrency: Vec<usize>,
    /// Requests per side in one round; rounds alternate which side goes first.
    #[arg(long, default_value_t = 50)]
    round_size: usize,
    /// Free text recorded in the report (e.g. how the data was seeded).
    #[arg(long)]
    note: Option<String>,
    /// Where to write the Markdown report (stdout gets the table either way).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write each query's HTTP request body to `DIR/<id>.json` and a manifest
    /// `DIR/queries.json` (id, shape, how the values were picked), for the load scenarios.
    #[arg(long, value_name = "DIR")]
    bodies: Option<PathBuf>,
    /// Stop after writing `--bodies` (no measurement, no report).
    #[arg(long, requires = "bodies")]
    bodies_only: bool,
    /// Also write the summary figures as JSON (per query and concurrency level, both sides).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Only these queries (by id, comma-separated); all five by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    if args.requests == 0 {
        bail!("--requests must be at least 1");
    }
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        bail!("--concurrency levels must be at least 1");
    }
    let source = std::fs::read_to_string(&args.ontology)
        .with_context(|| format!("cannot read the ontology {}", args.ontology.display()))?;
    let ontology = match ontology::parse_ontology(&source) {
        Ok(o) => o,
        Err(e) => bail!(
            "{} is not a valid ontology:\n{}",
            args.ontology.display(),
            e.render(&args.ontology.display().to_string())
        ),
    };
    let options = CompileOptions {
        default_limit: Some(args.default_limit),
        max_limit: Some(args.max_limit),
    };

    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
    let neo4j = graph::Neo4jClient::connect(graph::Neo4jConfig {
        uri: args.neo4j.clone(),
        user: args.neo4j_user.clone(),
        password: args.neo4j_password.clone(),
        database: args.neo4j_database.clone(),
        max_connections: max_concurrency.max(2),
        ..graph::Neo4jConfig::default()
    })
    .await
    .with_context(|| format!("cannot set up a Neo4j client for {}", args.neo4j))?;
    neo4j
        .ping()
        .await
        .with_context(|| format!("Neo4j does not answer at {}", args.neo4j))?;

    let endpoint = Endpoint::parse(&args.ontograph)?;
    let ready = get_once(&endpoint.with_path("/readyz"), Duration::from_secs(5))
        .await
        .with_context(|| format!("Ontograph does not answer at {}", endpoint.authority))?;
    if !ready.status.is_success() {
        bail!(
            "Ontograph is not ready: /readyz answered {}: {}",
            ready.status,
            String::from_utf8_lossy(&ready.body)
        );
    }
    let metrics = endpoint.with_path("/metrics");

    let machine = facts::machine();
    let database = facts::database(&neo4j).await?;
    eprintln!(
        "latency: {} at {} holds {} nodes, {} relationships",
        database.version, args.neo4j, database.nodes, database.relationships
    );

    let mut specs = discover(&neo4j).await?;
    if !args.only.is_empty() {
        if let Some(unknown) = args
            .only
            .iter()
            .find(|id| !specs.iter().any(|s| s.id == id.as_str()))
        {
            bail!("--only: no query `{unknown}`");
        }
        specs.retain(|s| args.only.iter().any(|id| id == s.id));
    }
    let mut reports = Vec::new();
    {
        let mut probe = Connection::open(&endpoint).await?;
        for spec in specs {
            let prepared = prepare(&ontology, spec, &options, 1000)?;
            let check = verify(&mut probe, &neo4j, &prepared).await?;
            if !check.identical {
                eprintln!(
                    "latency: WARNING: query `{}`: Ontograph's data differs from the raw row \
                     shaped in-process; the two sides may not do the same work",
                    prepared.spec.id
                );
            }
            reports.push(QueryReport {
                prepared,
                check,
                levels: Vec::new(),
            });
        }
    }

    if let Some(dir) = &args.bodies {
        write_bodies(dir, &reports)?;
        write_vocabulary(dir, &bench::queries::discover_vocabulary(&neo4j).await?)?;
        let facts = serde_json::json!({
            "neo4j": database.version,
            "neo4j_uri": args.neo4j,
            "nodes": database.nodes,
            "relationships": database.relationships,
            "labels": database.labels.iter().map(|(l, n)| serde_json::json!([l, n])).collect::<Vec<_>>(),
            "cpus": machine.cpus,
            "available_cpus": machine.available,
            "cpu_model": machine.cpu_model,
            "memory_gib": machine.memory_gib,
            "kernel": machine.kernel,
            "load": machine.load,
            "revision": facts::revision(),
        });
        std::fs::write(dir.join("facts.json"), serde_json::to_vec_pretty(&facts)?)?;
        eprintln!("latency: request bodies written to {}", dir.display());
        if args.bodies_only {
            return Ok(());
        }
    }

    for &concurrency in &args.concurrency {
        let mut http = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            http.push(Connection::open(&endpoint).await?);
        }
        let mut clients = Clients {
            http,
            neo4j: neo4j.clone(),
        };
        for report in &mut reports {
            let id = report.prepared.spec.id;
            eprintln!("latency: `{id}` at concurrency {concurrency}: warming up");
            if args.warmup > 0 {
                interleaved(&mut clients, &report.prepared, args.warmup, args.round_size)
                    .await
                    .with_context(|| format!("warm-up of `{id}` failed"))?;
            }
            let before = scrape(&metrics).await;
            eprintln!("latency: `{id}` at concurrency {concurrency}: measuring");
            let mut pair = interleaved(
                &mut clients,
                &report.prepared,
                args.requests,
                args.round_size,
            )
            .await
            .with_context(|| format!("measurement of `{id}` failed"))?;
            let after = scrape(&metrics).await;
            let server = match (before, after) {
                (Some(b), Some(a)) => a.since(&b),
                _ => None,
            };
            report.levels.push(Level {
                concurrency,
                ontograph: pair.ontograph.summary(),
                raw: pair.raw.summary(),
                server,
            });
        }
    }

    let report = Report {
        date: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        revision: facts::revision(),
        machine,
        database,
        settings: Settings {
            ontograph_url: args.ontograph.clone(),
            neo4j_uri: args.neo4j.clone(),
            requests: args.requests,
            warmup: args.warmup,
            round_size: args.round_size,
            concurrency: args.concurrency.clone(),
            note: args.note.clone(),
        },
        queries: reports,
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    print!("{}", report.text_table());
    if let Some(path) = &args.json {
        let queries: Vec<serde_json::Value> = report
            .queries
            .iter()
            .map(|q| {
                serde_json::json!({
                    "id": q.prepared.spec.id,
                    "shape": q.prepared.spec.shape,
                    "identical": q.check.identical,
                    "levels": q.levels.iter().map(|l| serde_json::json!({
                        "concurrency": l.concurrency,
                        "ontograph": l.ontograph.to_json(),
                        "raw": l.raw.to_json(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        std::fs::write(path, serde_json::to_vec_pretty(&queries)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.out {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, report.markdown())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("latency: report written to {}", path.display());
    }
    Ok(())
}

/// Writes the request bodies of the vocabulary shapes (compared with the peer only) and their
/// manifest, `vocabulary.json`.
fn write_vocabulary(
    dir: &std::path::Path,
    specs: &[bench::queries::QuerySpec],
) -> anyhow::Result<()> {
    let mut manifest = Vec::new();
    for spec in specs {
        let body = serde_json::json!({ "query": spec.graphql, "variables": spec.variables });
        write_file(
            &dir.join(format!("{}.json", spec.id)),
            &serde_json::to_vec(&body)?,
        )?;
        let mut entry = manifest_entry(spec);
        entry.insert("items".into(), "".into());
        manifest.push(entry);
    }
    write_file(
        &dir.join("vocabulary.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )
}

/// A query's entry in a manifest: its id, shape, text, variables and how they were picked.
fn manifest_entry(spec: &bench::queries::QuerySpec) -> serde_json::Map<String, serde_json::Value> {
    let entry = serde_json::json!({
        "id": spec.id,
        "shape": spec.shape,
        "graphql": spec.graphql,
        "variables": spec.variables,
        "picked": spec.picked,
    });
    match entry {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes each query's HTTP request body and a manifest, for load generators that send a fixed
/// body (`oha -D`).
fn write_bodies(dir: &std::path::Path, reports: &[QueryReport]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut manifest = Vec::new();
    for r in reports {
        let spec = &r.prepared.spec;
        write_file(
            &dir.join(format!("{}.json", spec.id)),
            &r.prepared.http_body,
        )?;
        let mut entry = manifest_entry(spec);
        entry.insert("items".into(), r.check.items.clone().into());
        entry.insert("identical_to_raw".into(), r.check.identical.into());
        entry.insert("cypher".into(), r.prepared.statement.cypher.clone().into());
        manifest.push(entry);
    }
    write_file(
        &dir.join("queries.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )
}
