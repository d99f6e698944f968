//! `supernode`: queries that start at hubs of 10^4, 10^5 and 10^6 relationships (and at a small
//! team), each shape timed through Ontograph with the supernode rewrites on, with them off, with
//! them on over the same type definitions written as a v7 user writes them (no `@id`, `@unique`
//! or `@index`: every key and index comes from the database's constraints), and on the
//! @neo4j/graphql peer, in one run. Seeds its own hubs (kept for the next run), starts the three
//! Ontograph gateways itself, reports p50 per shape and hub size. Never fails on a timing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bench::http::{Connection, Endpoint};
use clap::Parser;
use hyper::body::Bytes;
use serde_json::{json, Value};

/// The admin token of the gateways this scenario starts (loopback only).
const ADMIN_TOKEN: &str = "bench-admin";

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The `ontograph` binary (two gateways are started from it).
    #[arg(long)]
    ontograph: PathBuf,
    /// The @neo4j/graphql peer, if it runs.
    #[arg(long)]
    peer: Option<String>,
    /// The Neo4j leader.
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:17687")]
    neo4j: String,
    /// Hub sizes (relationships), as powers of ten.
    #[arg(long, value_delimiter = ',', default_value = "4,5,6")]
    powers: Vec<u32>,
    /// Most runs per (system, shape, hub); fewer when a run is slow.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Time budget per (system, shape, hub), in seconds.
    #[arg(long, default_value_t = 20.0)]
    budget: f64,
    /// Write the results here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The type definitions the gateways serve (migrated: the database has their constraints).
    #[arg(long, default_value = "schema/ontology.graphql")]
    ontology: PathBuf,
    /// What to time: the supernode rules (`rules`), the v7 vocabulary on the hub data
    /// (`vocabulary`: @cypher list, hub aggregates, aggregation filter, full-text), or both.
    #[arg(long, default_value = "both")]
    part: Part,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Rules,
    Vocabulary,
    Both,
}

/// The vocabulary on the hub data, for a hub: (id, what it is, query). Ontograph and the peer,
/// side by side (issue 19's (a)–(d)).
fn vocabulary_shapes(hub_id: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "cypherList",
            "(a) 20 hub members, each with a @cypher field over its neighbourhood (`teamCount`)",
            r#"{ people(where: { handle: { startsWith: "snb-p-" } }, sort: [{ handle: ASC }], limit: 20) { handle teamCount } }"#.to_owned(),
        ),
        (
            "hubCount",
            "(b) `totalCount` and `aggregate { count { edges } }` over the hub's relationships",
            format!(r#"{{ teams(where: {{ id: {{ eq: "{hub_id}" }} }}) {{ id membersConnection {{ totalCount aggregate {{ count {{ edges }} }} }} }} }}"#),
        ),
        (
            "hubAggregate",
            "(b) `count { nodes }`, shortest/longest member name, min/max membership date over the hub",
            format!(r#"{{ teams(where: {{ id: {{ eq: "{hub_id}" }} }}) {{ id membersConnection {{ aggregate {{ count {{ nodes }} node {{ name {{ shortest longest }} }} edge {{ since {{ min max }} }} }} }} }} }}"#),
        ),
        (
            "aggregationFilter",
            "(c) people (a label of 10^6) in more than one team, first 20 by handle",
            r#"{ people(where: { teamsConnection: { aggregate: { count: { nodes: { gt: 1 } } } } }, sort: [{ handle: ASC }], limit: 20) { handle } }"#.to_owned(),
        ),
        (
            "fulltextBroad",
            "(d) full-text: a term every person's name has, first 20",
            r#"{ peopleByName(phrase: "person", first: 20) { edges { score node { handle name } } } }"#.to_owned(),
        ),
        (
            "fulltextPhrase",
            "(d) full-text: both terms of a name a thousandth of the people have, first 20 with the total",
            r#"{ peopleByName(phrase: "+person +42", first: 20) { totalCount edges { score node { handle } } } }"#.to_owned(),
        ),
    ]
}

/// The type definitions as a `@neo4j/graphql` v7 user writes them: no `@id`, `@unique` or
/// `@index` (v7 has none of them); the keys are the database's uniqueness constraints.
fn without_keys(typedefs: &str) -> String {
    [
        " @index(kind: TEXT)",
        " @index(kind: RANGE)",
        " @index",
        " @unique",
        " @id",
    ]
    .iter()
    .fold(typedefs.to_owned(), |t, d| t.replace(d, ""))
}

const PX: &str = "snb";

fn hub(power: u32) -> String {
    format!("{PX}-hub-{power}")
}

fn cursor(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("arrayconnection:{offset}"))
}

/// (name, rule it exercises, query for a team id)
/// A query for a team id.
type Shape = fn(&str) -> String;

fn shapes() -> Vec<(&'static str, &'static str, Shape)> {
    vec![
        (
            "totalCount",
            "count-from-degree",
            (|t: &str| {
                format!(
                    r#"{{ teams(where: {{ id: {{ eq: "{t}" }} }}) {{ id membersConnection {{ totalCount }} }} }}"#
                )
            }),
        ),
        (
            "member by handle",
            "index-seek-neighbours",
            (|t: &str| {
                format!(
                    r#"{{ teams(where: {{ id: {{ eq: "{t}" }} }}) {{ id members(where: {{ handle: {{ eq: "{PX}-p-0000007" }} }}) {{ handle name }} }} }}"#
                )
            }),
        ),
        (
            "top 10 by handle",
            "index-ordered-top-k",
            (|t: &str| {
                format!(
                    r#"{{ teams(where: {{ id: {{ eq: "{t}" }} }}) {{ id members(sort: [{{ handle: ASC }}], limit: 10) {{ handle name }} }} }}"#
                )
            }),
        ),
        // The hubs' members are the first people in handle order: walking from the other end
        // finds none in the bounded window, and the plain expansion runs after all.
        (
            "top 10 by handle, descending",
            "index-ordered-top-k",
            (|t: &str| {
                format!(
                    r#"{{ teams(where: {{ id: {{ eq: "{t}" }} }}) {{ id members(sort: [{{ handle: DESC }}], limit: 10) {{ handle name }} }} }}"#
                )
            }),
        ),
        (
            "page 6 of 10, by handle",
            "index-ordered-page",
            (|t: &str| {
                format!(
                    r#"{{ teams(where: {{ id: {{ eq: "{t}" }} }}) {{ id membersConnection(first: 10, after: "{}", sort: [{{ node: {{ handle: ASC }} }}]) {{ edges {{ node {{ handle }} }} pageInfo {{ hasNextPage }} }} }} }}"#,
                    cursor(49)
                )
            }),
        ),
    ]
}

async fn write(neo4j: &graph::Neo4jClient, cypher: &str, params: Value) -> anyhow::Result<()> {
    let mut st = graph::Statement::new(cypher);
    if let Value::Object(map) = params {
        st.params = map;
    }
    st.timeout = Some(Duration::from_secs(600));
    neo4j.run(&st, graph::AccessMode::Write).await?;
    Ok(())
}

/// People `snb-p-0000000…`, teams `snb-hub-N` joined by the first 10^N people, and `snb-small`
/// with ten members. Idempotent: what exists is kept.
async fn seed(neo4j: &graph::Neo4jClient, max_power: u32) -> anyhow::Result<()> {
    let people = 10usize.pow(max_power);
    let st = graph::Statement::new(
        "MATCH (p:Person) WHERE p.handle STARTS WITH $px RETURN count(p) AS c",
    )
    .param("px", format!("{PX}-p-"));
    let have = neo4j
        .run(&st, graph::AccessMode::Read)
        .await?
        .rows
        .first()
        .and_then(|r| r["c"].as_u64())
        .unwrap_or(0) as usize;
    let batch = 50_000;
    let started = Instant::now();
    let mut from = have;
    while from < people {
        let to = (from + batch).min(people) - 1;
        write(
            neo4j,
            "UNWIND range($from, $to) AS i \
             CREATE (:Person {handle: $px + '-p-' + right('000000' + toString(i), 7), \
                              id: $px + '-id-' + toString(i), name: 'Person ' + toString(i % 997)})",
            json!({ "from": from, "to": to, "px": PX }),
        )
        .await?;
        from = to + 1;
    }
    if have < people {
        eprintln!(
            "supernode: created {} people in {:.1} s",
            people - have,
            started.elapsed().as_secs_f64()
        );
    }
    let mut teams: Vec<(String, usize)> =
        (2..=max_power).map(|p| (hub(p), 10usize.pow(p))).collect();
    teams.push((format!("{PX}-small"), 10));
    for (team, members) in teams {
        write(
            neo4j,
            "MERGE (t:Team {id: $t}) ON CREATE SET t.name = $t",
            json!({ "t": team }),
        )
        .await?;
        let st = graph::Statement::new(
            "MATCH (t:Team {id: $t}) RETURN COUNT { (t)<-[:MEMBER_OF]-() } AS d",
        )
        .param("t", team.as_str());
        let degree = neo4j
            .run(&st, graph::AccessMode::Read)
            .await?
            .rows
            .first()
            .and_then(|r| r["d"].as_u64())
            .unwrap_or(0) as usize;
        if degree >= members {
            continue;
        }
        let started = Instant::now();
        let mut from = degree;
        while from < members {
            let to = (from + batch).min(members) - 1;
            write(
                neo4j,
                "MATCH (t:Team {id: $t}) UNWIND range($from, $to) AS i \
                 MATCH (p:Person {handle: $px + '-p-' + right('000000' + toString(i), 7)}) \
                 CREATE (p)-[:MEMBER_OF {role: 'member', since: datetime('2026-01-01T00:00:00Z')}]->(t)",
                json!({ "t": team, "from": from, "to": to, "px": PX }),
            )
            .await?;
            from = to + 1;
        }
        eprintln!(
            "supernode: {team}: {members} members in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

struct Gateway {
    child: Child,
    url: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start_gateway(
    bin: &PathBuf,
    ontology: &std::path::Path,
    rewrites: bool,
) -> anyhow::Result<Gateway> {
    let port = free_port()?;
    let child = Command::new(bin)
        .arg("--ontology")
        .arg(ontology)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("ONTOGRAPH_SUPERNODES", rewrites.to_string())
        .env("ONTOGRAPH_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("ONTOGRAPH_SUPERNODE_SCAN_INTERVAL", "1h")
        .env("ONTOGRAPH_CACHE_TTL", "off")
        // Its own degree store: a snapshot shared by earlier gateways predates the seeding.
        .env(
            "ONTOGRAPH_CACHE_PREFIX",
            format!("bench-supernode-{}-{port}", std::process::id()),
        )
        .env("NEO4J_READER_URIS", "")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("ontograph serve")?;
    let gw = Gateway {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = bench::http::get_once(
            &Endpoint::parse(&format!("{}/readyz", gw.url))?,
            Duration::from_secs(1),
        )
        .await
        {
            if r.status.is_success() {
                return Ok(gw);
            }
        }
        if Instant::now() > deadline {
            bail!("ontograph serve did not get ready");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits for the gateway's degree store's first scan to know the hubs (by their `id` key).
async fn wait_for_hubs(gateway: &Gateway, powers: &[u32]) -> anyhow::Result<()> {
    let admin =
        Endpoint::parse(&format!("{}/admin/api/supernodes", gateway.url))?.with_bearer(ADMIN_TOKEN);
    let started = Instant::now();
    loop {
        let r = bench::http::get_once(&admin, Duration::from_secs(5)).await?;
        let s: Value = serde_json::from_slice(&r.body)?;
        let known = powers.iter().filter(|p| **p >= 3).all(|p| {
            s["hubs"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["keys"]["id"] == hub(*p).as_str()))
        });
        if known {
            eprintln!(
                "supernode: {}: degree store ready after {:.1} s (scan {} ms)",
                gateway.url,
                started.elapsed().as_secs_f64(),
                s["scanMs"]
            );
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "the degree store of {} did not find the hubs: {s}",
                gateway.url
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The supernode rules the gateway applies to the query (`/admin/api/explain`).
async fn applied(gateway: &Gateway, query: &str) -> anyhow::Result<Vec<String>> {
    let mut c = Connection::open(
        &Endpoint::parse(&format!("{}/admin/api/explain", gateway.url))?.with_bearer(ADMIN_TOKEN),
    )
    .await?;
    let r = c
        .post_json(Bytes::from(json!({ "query": query }).to_string()))
        .await?;
    let explain = serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null);
    Ok(explain["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["applied"] == true)
        .filter_map(|d| d["rule"].as_str().map(str::to_owned))
        .collect())
}

/// Median latency (ms) of one query, with the response checked once.
async fn time(url: &str, query: &str, args: &Args) -> anyhow::Result<(f64, usize, Value)> {
    let (ms, data) = timings(url, query, args).await?;
    Ok((ms[ms.len() / 2], ms.len(), data))
}

/// Sorted latencies (ms) of one query's runs, and its `data` (checked once for errors).
async fn timings(url: &str, query: &str, args: &Args) -> anyhow::Result<(Vec<f64>, Value)> {
    let mut conn = Connection::open(&Endpoint::parse(url)?).await?;
    let body = Bytes::from(json!({ "query": query }).to_string());
    let first = conn.post_json(body.clone()).await?;
    let data: Value = serde_json::from_slice(&first.body)?;
    if !first.status.is_success() || data.get("errors").is_some() {
        bail!(
            "{url} answered {}: {}",
            first.status,
            String::from_utf8_lossy(&first.body)
        );
    }
    let mut ms = Vec::new();
    let started = Instant::now();
    while ms.len() < args.runs && (ms.len() < 3 || started.elapsed().as_secs_f64() < args.budget) {
        let t = Instant::now();
        let r = conn.post_json(body.clone()).await?;
        if !r.status.is_success() {
            bail!("{url} answered {}", r.status);
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms, data["data"].clone()))
}

/// p50, p99 (nearest rank) and runs of sorted latencies.
fn summary(ms: &[f64]) -> Value {
    let rank = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    json!({ "p50_ms": rank(0.5), "p99_ms": rank(0.99), "runs": ms.len() })
}

/// The vocabulary shapes through the gateway and the peer, for the hubs of 10^5 and more.
async fn vocabulary(on: &Gateway, args: &Args) -> anyhow::Result<Vec<Value>> {
    let mut hubs: Vec<u32> = args.powers.iter().copied().filter(|p| *p >= 5).collect();
    if hubs.is_empty() {
        hubs = args.powers.iter().copied().max().into_iter().collect();
    }
    let mut rows = Vec::new();
    for (i, p) in hubs.iter().enumerate() {
        for (id, what, query) in vocabulary_shapes(&hub(*p)) {
            // Shapes that do not depend on the hub run once.
            if i > 0 && !query.contains(&hub(*p)) {
                continue;
            }
            let (ms, data) = timings(&format!("{}/graphql", on.url), &query, args).await?;
            let ours = summary(&ms);
            let peer = match &args.peer {
                Some(url) => Some(match timings(url, &query, args).await {
                    Ok((pms, pdata)) => {
                        let mut s = summary(&pms);
                        s["same_data"] = json!(pdata == data);
                        s
                    }
                    Err(e) => {
                        json!({ "error": e.to_string().chars().take(300).collect::<String>() })
                    }
                }),
                None => None,
            };
            let hub_size = if query.contains(&hub(*p)) {
                format!("10^{p}")
            } else {
                "—".to_owned()
            };
            let row = json!({ "shape": id, "what": what, "hub": hub_size, "ontograph": ours, "peer": peer });
            eprintln!("supernode vocabulary: {row}");
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Each supernode rule's shape at each hub: rewritten, plain, over keys from the database
/// only, and on the peer.
async fn rules(on: &Gateway, args: &Args) -> anyhow::Result<Vec<Value>> {
    let off = start_gateway(&args.ontograph, &args.ontology, false).await?;
    let v7 = std::env::temp_dir().join(format!("ontograph-v7-{}.graphql", std::process::id()));
    std::fs::write(
        &v7,
        without_keys(&std::fs::read_to_string(&args.ontology).context("the ontology")?),
    )?;
    let db_keys = start_gateway(&args.ontograph, &v7, true).await?;
    wait_for_hubs(&db_keys, &args.powers).await?;
    let mut rows = Vec::new();
    let mut anchors: Vec<(String, String)> = args
        .powers
        .iter()
        .map(|p| (format!("10^{p}"), hub(*p)))
        .collect();
    anchors.push(("10 (small team)".to_owned(), format!("{PX}-small")));
    for (size, team) in &anchors {
        for (shape, rule, q) in shapes() {
            let query = q(team);
            let (rewritten_ms, n_on, data_on) =
                time(&format!("{}/graphql", on.url), &query, args).await?;
            // The plain plan may fail where the rewritten one does not (e.g. Neo4j's
            // per-transaction memory limit when sorting a million neighbours): reported.
            let (plain_ms, n_off, plain_error) =
                match time(&format!("{}/graphql", off.url), &query, args).await {
                    Ok((ms, n, data_off)) => {
                        if data_on != data_off {
                            bail!("rewritten and plain answers differ for {shape} at {team}");
                        }
                        (Some(ms), n, None)
                    }
                    Err(e) => (
                        None,
                        0,
                        Some(e.to_string().chars().take(300).collect::<String>()),
                    ),
                };
            let peer = match &args.peer {
                Some(p) => match time(p, &query, args).await {
                    Ok((ms, n, data)) => {
                        let same = data == data_on;
                        Some(json!({ "p50_ms": ms, "runs": n, "same_data": same }))
                    }
                    Err(e) => Some(
                        json!({ "error": e.to_string().chars().take(300).collect::<String>() }),
                    ),
                },
                None => None,
            };
            let applied_on = applied(on, &query).await?;
            // The same shape over the v7 type definitions, keys from the database only.
            let (db_keys_ms, n_db, data_db) =
                time(&format!("{}/graphql", db_keys.url), &query, args).await?;
            if data_db != data_on {
                bail!("the answers with keys from the database differ for {shape} at {team}");
            }
            let applied_db = applied(&db_keys, &query).await?;
            let row = json!({
                "hub": size, "team": team, "shape": shape, "rule": rule, "applied": applied_on,
                "rewritten_p50_ms": rewritten_ms, "rewritten_runs": n_on,
                "plain_p50_ms": plain_ms, "plain_runs": n_off, "plain_error": plain_error,
                "speedup": plain_ms.map(|p| p / rewritten_ms.max(1e-6)),
                "db_keys_applied": applied_db, "db_keys_p50_ms": db_keys_ms, "db_keys_runs": n_db,
                "db_keys_speedup": plain_ms.map(|p| p / db_keys_ms.max(1e-6)),
                "peer": peer,
            });
            eprintln!("supernode: {row}");
            rows.push(row);
        }
    }
    let _ = std::fs::remove_file(&v7);
    Ok(rows)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let max_power = args.powers.iter().copied().max().unwrap_or(4);
    let neo4j = graph::Neo4jClient::connect(graph::Neo4jConfig::new(&args.neo4j))
        .await
        .context("Neo4j")?;
    seed(&neo4j, max_power).await?;
    if args.part != Part::Rules {
        // The full-text shapes need the people in the index (`ontograph migrate` created it).
        write(&neo4j, "CALL db.awaitIndexes(600)", json!({})).await?;
    }
    let on = start_gateway(&args.ontograph, &args.ontology, true).await?;
    wait_for_hubs(&on, &args.powers).await?;
    let rows = if args.part == Part::Vocabulary {
        Vec::new()
    } else {
        rules(&on, &args).await?
    };
    let vocabulary = if args.part == Part::Rules {
        Vec::new()
    } else {
        vocabulary(&on, &args).await?
    };
    let out = json!({ "rows": rows, "vocabulary": vocabulary });
    println!("{}", serde_json::to_string_pretty(&out)?);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&out)?)?;
    }
    Ok(())
}
