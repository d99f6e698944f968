//! Replica routing against real Neo4j: one leader and two readers started by `scripts/stack`
//! (`NEO4J_INSTANCES=3`, see `scripts/test`).
//!
//! Neo4j Community has no replication: the three servers are independent databases. The tests
//! therefore never rely on a write reaching a reader. Instead each server holds a marker person
//! whose name is the server's own address, so a read's answer says which server served it; and a
//! write that a read can see proves that the read went to the leader.
//!
//! The tests stop and start servers (`scripts/stack neo4j-stop I --kill`), so they run one at a
//! time (a process-wide lock) and each leaves every server running.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const MARKER: &str = "routing-probe-marker";
const READ_MARKER: &str =
    r#"query($h: String!) { people(where: { handle: { eq: $h } }) { name } }"#;
const CREATE: &str = r#"mutation($h: String!) { createPeople(input: [{ handle: $h, name: "Routing Trial" }]) { info { nodesCreated } } }"#;
const READ_ONE: &str = r#"query($h: String!) { people(where: { handle: { eq: $h } }) { handle } }"#;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

use testkit::env;

fn leader_uri() -> String {
    env("NEO4J_URI")
}

fn reader_uris() -> Vec<String> {
    let readers: Vec<String> = env("NEO4J_READER_URIS")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        readers.len(),
        2,
        "NEO4J_READER_URIS must list two readers (scripts/stack with NEO4J_INSTANCES=3)"
    );
    readers
}

fn address(uri: &str) -> String {
    uri.split_once("://").map_or(uri, |(_, a)| a).to_owned()
}

/// The `scripts/stack` instance number of a server, from its port.
fn instance_of(uri: &str) -> u16 {
    let base: u16 = std::env::var("NEO4J_BOLT_PORT_BASE")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(17687);
    let port: u16 = address(uri)
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("port in URI");
    port - base
}

fn stack(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/stack");
    let status = std::process::Command::new(script)
        .args(args)
        .status()
        .expect("scripts/stack runs");
    assert!(status.success(), "scripts/stack {args:?} failed");
}

async fn client(uri: &str) -> graph::Neo4jClient {
    graph::Neo4jClient::connect(graph::Neo4jConfig::new(uri))
        .await
        .expect("client")
}

/// Puts the marker person (name = the server's address) on every server.
async fn plant_markers() {
    let mut all = vec![leader_uri()];
    all.extend(reader_uris());
    for uri in all {
        let statement = graph::Statement::new(
            "MERGE (p:Person {handle: $h}) ON CREATE SET p.id = randomUUID() SET p.name = $name",
        )
        .param("h", MARKER)
        .param("name", address(&uri))
        .timeout(Duration::from_secs(30));
        let mut attempts = 0;
        while let Err(e) = client(&uri)
            .await
            .run(&statement, graph::AccessMode::Write)
            .await
        {
            attempts += 1;
            assert!(attempts < 60, "cannot plant the marker on {uri}: {e}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn app_with(tweak: impl FnOnce(&mut graph::RoutingConfig)) -> axum::Router {
    let source = graph::TopologySource::Static {
        writer: leader_uri(),
        readers: reader_uris(),
    };
    let mut routing = graph::RoutingConfig::new(source, graph::Neo4jConfig::new(leader_uri()));
    routing.health_interval = Duration::from_millis(200);
    routing.eject_base = Duration::from_millis(500);
    routing.eject_max = Duration::from_secs(2);
    tweak(&mut routing);
    app_for(routing).await
}

async fn app_for(routing: graph::RoutingConfig) -> axum::Router {
    app_for_with(routing, "").await
}

/// [`app_for`] with type definitions appended to the default ontology.
async fn app_for_with(routing: graph::RoutingConfig, extra: &str) -> axum::Router {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/ontology.graphql");
    let source = std::fs::read_to_string(path).expect("ontology readable") + extra;
    let o = ontology::parse_ontology(&source).expect("valid ontology");
    let neo4j = graph::Router::connect(routing).await.expect("router");
    let config = gateway::GatewayConfig {
        admin: gateway::admin::AdminConfig::with_token("test-admin"),
        ..gateway::GatewayConfig::default()
    };
    testkit::gateway_on(o, neo4j, config).await
}

/// Which server answered a marker read, or the error.
async fn served_by(app: &axum::Router, headers: &[(&str, &str)]) -> Result<String, String> {
    let reply = testkit::http::post(
        app,
        json!({ "query": READ_MARKER, "variables": { "h": MARKER } }),
        headers,
    )
    .await;
    match reply.body["data"]["people"][0]["name"].as_str() {
        Some(name) if reply.status == StatusCode::OK => Ok(name.to_owned()),
        _ => Err(format!("{} {}", reply.status, reply.body)),
    }
}

async fn topology(app: &axum::Router) -> Value {
    let resp = app
        .clone()
        .oneshot(
            Request::get("/admin/api/topology")
                .header("authorization", "Bearer test-admin")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

fn backend<'a>(topology: &'a Value, addr: &str) -> &'a Value {
    topology["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|x| x["address"] == addr))
        .unwrap_or_else(|| panic!("{addr} not in {topology}"))
}

async fn wait_for_state(app: &axum::Router, addr: &str, state: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if backend(&topology(app).await, addr)["state"] == state {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{addr} did not become {state} within {within:?}: {}",
            topology(app).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count_on(uri: &str, prefix: &str) -> i64 {
    let statement = graph::Statement::new(
        "MATCH (p:Person) WHERE p.handle STARTS WITH $p RETURN count(p) AS n",
    )
    .param("p", prefix);
    let result = client(uri)
        .await
        .run(&statement, graph::AccessMode::Read)
        .await
        .expect("count");
    result.rows[0]["n"].as_i64().expect("n")
}

async fn delete_on_leader(prefix: &str) {
    let statement =
        graph::Statement::new("MATCH (p:Person) WHERE p.handle STARTS WITH $p DETACH DELETE p")
            .param("p", prefix);
    client(&leader_uri())
        .await
        .run(&statement, graph::AccessMode::Write)
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn reads_spread_over_the_readers_and_writes_only_hit_the_leader() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let readers: Vec<String> = reader_uris().iter().map(|r| address(r)).collect();
    let leader = address(&leader_uri());
    // Warm both readers up (another test may just have restarted one: a cold JVM is slow at
    // first, and the balancer rightly avoids it), then measure with a fresh router.
    for uri in reader_uris() {
        let direct = app_with(|r| {
            r.source = graph::TopologySource::Static {
                writer: leader_uri(),
                readers: vec![uri.clone()],
            }
        })
        .await;
        for _ in 0..200 {
            served_by(&direct, &[]).await.expect("warm-up read");
        }
    }
    let app = app_with(|_| {}).await;

    // 1,000 reads from 8 concurrent clients.
    let counts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        (usize, Duration),
    >::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, counts, next) = (app.clone(), counts.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < 1000 {
                let started = Instant::now();
                let by = served_by(&app, &[]).await.expect("read succeeds");
                let mut counts = counts.lock().expect("lock");
                let entry = counts.entry(by).or_default();
                entry.0 += 1;
                entry.1 += started.elapsed();
            }
        }));
    }
    for t in tasks {
        t.await.expect("reader task");
    }
    let counts: std::collections::HashMap<String, usize> = counts
        .lock()
        .expect("lock")
        .iter()
        .map(|(k, (n, total))| {
            println!(
                "  {k}: {n} reads, mean latency {:?}",
                *total / (*n as u32).max(1)
            );
            (k.clone(), *n)
        })
        .collect();
    println!("read distribution over 1000 reads: {counts:?}");
    assert_eq!(
        counts.get(&leader),
        None,
        "the leader served reads while readers were healthy"
    );
    for r in &readers {
        let n = counts.get(r).copied().unwrap_or(0);
        // Tolerance: each reader serves at least 5 % of the reads. The balancer is load-aware
        // (peak-EWMA latency times outstanding requests, power of two choices), not round-robin:
        // a reader that answers slower rightly gets fewer reads, and how much slower a JVM that
        // another test has just restarted is depends on the machine's load (1.5x to 2.5x on the
        // 2-core CI machine, giving splits from 35/65 down to 17/83; see the mean latencies
        // printed above). That two equal readers land near 50/50 is checked without timing by
        // `p2c_prefers_the_cheaper_of_two_and_spreads_equal_load` in the graph crate.
        assert!(n >= 50, "{r} served {n} of 1000 reads: {counts:?}");
    }

    // Writes go to the leader only: the reader request counters do not move, and the data is
    // on the leader and on no reader.
    let before = topology(&app).await;
    let prefix = testkit::unique("writes");
    for i in 0..25 {
        let reply = testkit::http::post(
            &app,
            json!({ "query": CREATE, "variables": { "h": format!("{prefix}-{i}") } }),
            &[],
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.body.get("errors").is_none(), "{}", reply.body);
        assert!(
            reply.header("ontograph-bookmark").is_some(),
            "a mutation answers with its bookmark"
        );
        assert_eq!(
            reply.body["extensions"]["bookmark"].as_str(),
            reply.header("ontograph-bookmark")
        );
    }
    let after = topology(&app).await;
    for r in &readers {
        assert_eq!(
            backend(&before, r)["requests"],
            backend(&after, r)["requests"],
            "a write reached reader {r}"
        );
    }
    assert_eq!(
        backend(&after, &leader)["requests"].as_u64().expect("n")
            - backend(&before, &leader)["requests"].as_u64().expect("n"),
        25
    );
    assert_eq!(count_on(&leader_uri(), &prefix).await, 25);
    for r in reader_uris() {
        assert_eq!(count_on(&r, &prefix).await, 0, "write found on reader {r}");
    }
    delete_on_leader(&prefix).await;
}

/// Root `@cypher` fields whose statements do not do what their operation type suggests.
const CUSTOM_ROOT_FIELDS: &str = r#"
extend type Query {
    "Writes, though a query field: Neo4j's EXPLAIN says so, and it must run on the leader."
    routingProbeTouch(handle: String!): String
        @cypher(statement: "MERGE (p:Person {handle: $handle}) ON CREATE SET p.id = randomUUID(), p.name = 'Routing Trial' RETURN p.handle AS h", columnName: "h")
}
extend type Mutation {
    "Only reads, though a mutation field: it may run on a reader."
    routingProbeServer: String
        @cypher(statement: "MATCH (p:Person {handle: 'routing-probe-marker'}) RETURN p.name AS n", columnName: "n")
}
"#;

#[tokio::test]
async fn custom_root_fields_run_where_their_statements_say() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let readers: Vec<String> = reader_uris().iter().map(|r| address(r)).collect();
    let leader = address(&leader_uri());
    let source = graph::TopologySource::Static {
        writer: leader_uri(),
        readers: reader_uris(),
    };
    let routing = graph::RoutingConfig::new(source, graph::Neo4jConfig::new(leader_uri()));
    let app = app_for_with(routing, CUSTOM_ROOT_FIELDS).await;

    // A query field whose statement writes: on the leader (a reader would refuse the write, or
    // keep it where nothing else reads), each time, with the bookmark of a write.
    let prefix = testkit::unique("touch");
    for i in 0..5 {
        let handle = format!("{prefix}-{i}");
        let reply = testkit::http::post(
            &app,
            json!({ "query": "query($h: String!) { routingProbeTouch(handle: $h) }", "variables": { "h": handle } }),
            &[],
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.body["data"]["routingProbeTouch"],
            json!(handle),
            "{}",
            reply.body
        );
        assert!(
            reply.header("ontograph-bookmark").is_some(),
            "a query that wrote answers with its write's bookmark: {:?}",
            reply.body
        );
    }
    assert_eq!(count_on(&leader_uri(), &prefix).await, 5);
    for r in reader_uris() {
        assert_eq!(
            count_on(&r, &prefix).await,
            0,
            "the query's write landed on reader {r}"
        );
    }
    delete_on_leader(&prefix).await;

    // A mutation field whose statement only reads: on the readers, never on the leader.
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let reply = testkit::http::post(
            &app,
            json!({ "query": "mutation { routingProbeServer }" }),
            &[],
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let by = reply.body["data"]["routingProbeServer"]
            .as_str()
            .unwrap_or_else(|| panic!("no server in {}", reply.body))
            .to_owned();
        served.insert(by);
    }
    assert!(
        !served.contains(&leader),
        "a read-only mutation field ran on the leader: {served:?}"
    );
    assert!(
        served.iter().all(|s| readers.contains(s)),
        "served by {served:?}, readers are {readers:?}"
    );
}

#[tokio::test]
async fn killing_a_reader_under_load_fails_no_request_and_it_is_readmitted() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let app = app_with(|_| {}).await;
    let victim_uri = reader_uris()[0].clone();
    let victim = address(&victim_uri);
    let other = address(&reader_uris()[1]);

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let served_victim = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, stop, sent, failed, served_victim, victim) = (
            app.clone(),
            stop.clone(),
            sent.clone(),
            failed.clone(),
            served_victim.clone(),
            victim.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                sent.fetch_add(1, Ordering::SeqCst);
                match served_by(&app, &[("ontograph-consistency", "eventual")]).await {
                    Ok(by) if by == victim => {
                        served_victim.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => failed.lock().expect("lock").push(e),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        served_victim.load(Ordering::SeqCst) > 0,
        "the victim served reads before the kill"
    );
    let instance = instance_of(&victim_uri).to_string();
    stack(&["neo4j-stop", &instance, "--kill"]);
    let killed_at = Instant::now();
    let ejected_after = wait_for_state(&app, &victim, "ejected", Duration::from_secs(10)).await;
    let sent_at_kill = sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // While it is down, the other reader serves everything (and the leader nothing).
    let during = topology(&app).await;
    assert_eq!(backend(&during, &other)["state"], "up");
    stack(&["neo4j-start", &instance]);
    let restarted_at = Instant::now();
    let readmitted_after = wait_for_state(&app, &victim, "up", Duration::from_secs(30)).await;
    let served_before = served_victim.load(Ordering::SeqCst);
    let started = Instant::now();
    while served_victim.load(Ordering::SeqCst) == served_before {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the readmitted reader gets no reads"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.expect("load task");
    }
    let failed = failed.lock().expect("lock").clone();
    let total = sent.load(Ordering::SeqCst);
    println!(
        "failover: {total} reads sent ({sent_at_kill} before the ejection was seen), {} failed; \
         ejected {ejected_after:?} after kill -9, outage {:?}, readmitted {readmitted_after:?} \
         after the restart finished",
        failed.len(),
        restarted_at - killed_at,
    );
    println!("topology after: {}", topology(&app).await);
    assert!(
        failed.is_empty(),
        "{} of {total} reads failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
}

#[tokio::test]
async fn with_the_leader_down_mutations_fail_fast_and_reads_go_on() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let app = app_with(|_| {}).await;
    let leader = address(&leader_uri());
    let instance = instance_of(&leader_uri()).to_string();
    let prefix = testkit::unique("leader-down");

    stack(&["neo4j-stop", &instance, "--kill"]);
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let reply = testkit::http::post(
            &app,
            json!({ "query": CREATE, "variables": { "h": format!("{prefix}-{i}") } }),
            &[],
        )
        .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let error = &reply.body["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "SERVICE_UNAVAILABLE",
            "{}",
            reply.body
        );
        assert!(
            error["message"]
                .as_str()
                .expect("message")
                .contains("leader"),
            "{}",
            reply.body
        );
        assert!(reply.body["data"].is_null() || reply.body.get("data").is_none());
    }
    println!("leader down: 20 mutations failed with SERVICE_UNAVAILABLE, slowest {slowest:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "mutations did not fail fast: {slowest:?}"
    );
    assert_eq!(backend(&topology(&app).await, &leader)["state"], "ejected");
    for _ in 0..200 {
        let by = served_by(&app, &[])
            .await
            .expect("reads go on while the leader is down");
        assert_ne!(by, leader);
    }
    // A strong read needs the leader: it fails with the same clear error.
    let strong = served_by(&app, &[("ontograph-consistency", "strong")]).await;
    assert!(
        strong
            .as_ref()
            .is_err_and(|e| e.contains("SERVICE_UNAVAILABLE")),
        "{strong:?}"
    );

    stack(&["neo4j-start", &instance]);
    let readmitted = wait_for_state(&app, &leader, "up", Duration::from_secs(30)).await;
    println!("leader readmitted {readmitted:?} after its restart finished");
    let reply = testkit::http::post(
        &app,
        json!({ "query": CREATE, "variables": { "h": format!("{prefix}-after") } }),
        &[],
    )
    .await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.body);
    delete_on_leader(&prefix).await;
}

#[tokio::test]
async fn session_reads_see_their_own_writes_1000_times() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let app = app_with(|_| {}).await;
    let prefix = testkit::unique("session");
    let mut eventual_misses = 0;
    let mut eventual_trials = 0;
    let started = Instant::now();
    for i in 0..1000 {
        let handle = format!("{prefix}-{i}");
        let write = testkit::http::post(
            &app,
            json!({ "query": CREATE, "variables": { "h": handle } }),
            &[],
        )
        .await;
        assert!(write.body.get("errors").is_none(), "{}", write.body);
        let bookmark = write
            .header("ontograph-bookmark")
            .expect("bookmark header")
            .to_owned();
        // Alternate the two ways of presenting the bookmark: header and request extension.
        let read = if i % 2 == 0 {
            testkit::http::post(
                &app,
                json!({ "query": READ_ONE, "variables": { "h": handle } }),
                &[
                    ("ontograph-consistency", "session"),
                    ("ontograph-bookmark", &bookmark),
                ],
            )
            .await
        } else {
            testkit::http::post(
                &app,
                json!({ "query": READ_ONE, "variables": { "h": handle },
                        "extensions": { "consistency": "session", "bookmark": bookmark } }),
                &[],
            )
            .await
        };
        assert_eq!(
            read.body["data"]["people"][0]["handle"].as_str(),
            Some(handle.as_str()),
            "trial {i}: the session read did not see its own write: {}",
            read.body
        );
        if i % 10 == 0 {
            // Control: an eventual read goes to a reader, which (Community, no replication)
            // never has the write — so the session guarantee above is not an accident.
            eventual_trials += 1;
            let read = testkit::http::post(
                &app,
                json!({ "query": READ_ONE, "variables": { "h": handle } }),
                &[("ontograph-consistency", "eventual")],
            )
            .await;
            if read.body["data"]["people"]
                .as_array()
                .is_some_and(|a| a.is_empty())
            {
                eventual_misses += 1;
            }
        }
    }
    println!(
        "session consistency: 1000/1000 write-then-read trials saw their write in {:?}; \
         control eventual reads missed it {eventual_misses}/{eventual_trials} times",
        started.elapsed()
    );
    assert_eq!(eventual_misses, eventual_trials);
    // A strong read goes to the leader too.
    let read = testkit::http::post(
        &app,
        json!({ "query": READ_ONE, "variables": { "h": format!("{prefix}-0") } }),
        &[("ontograph-consistency", "strong")],
    )
    .await;
    assert_eq!(
        read.body["data"]["people"][0]["handle"],
        format!("{prefix}-0")
    );
    delete_on_leader(&prefix).await;
}

#[tokio::test]
async fn discovery_from_a_neo4j_uri_works_end_to_end() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let seed = format!("neo4j://{}", address(&leader_uri()));
    let source = graph::TopologySource::from_uris(&seed, &[]).expect("discovery source");
    let app = app_for(graph::RoutingConfig::new(
        source,
        graph::Neo4jConfig::new(seed.clone()),
    ))
    .await;
    let topo = topology(&app).await;
    println!("discovered topology: {topo}");
    assert_eq!(topo["mode"], "discovered");
    let leader = address(&leader_uri());
    assert_eq!(topo["writer"], leader);
    assert_eq!(
        backend(&topo, &leader)["roles"],
        json!(["WRITE", "READ", "ROUTE"])
    );
    assert!(topo["routingTable"]["ttlSeconds"]
        .as_u64()
        .is_some_and(|t| t > 0));
    // A single server holds every role: it serves reads and writes.
    assert_eq!(served_by(&app, &[]).await.expect("read"), leader);
    let prefix = testkit::unique("discovery");
    let write = testkit::http::post(
        &app,
        json!({ "query": CREATE, "variables": { "h": format!("{prefix}-1") } }),
        &[],
    )
    .await;
    assert!(write.body.get("errors").is_none(), "{}", write.body);
    assert_eq!(count_on(&leader_uri(), &prefix).await, 1);
    delete_on_leader(&prefix).await;
}

#[tokio::test]
async fn dead_readers_are_routed_around_and_the_fallback_is_configurable() {
    let _serial = SERIAL.lock().await;
    plant_markers().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("bolt://{}", l.local_addr().expect("addr"))
    };
    let leader = address(&leader_uri());
    let live = reader_uris()[1].clone();

    // A dead reader next to a live one: no read fails, the dead one is ejected.
    let app = app_with(|r| {
        r.source = graph::TopologySource::Static {
            writer: leader_uri(),
            readers: vec![dead.clone(), live.clone()],
        };
    })
    .await;
    for _ in 0..50 {
        assert_eq!(served_by(&app, &[]).await.expect("read"), address(&live));
    }
    assert_eq!(
        backend(&topology(&app).await, &address(&dead))["state"],
        "ejected"
    );

    // Only dead readers: the leader takes the reads (default) ...
    let app = app_with(|r| {
        r.source = graph::TopologySource::Static {
            writer: leader_uri(),
            readers: vec![dead.clone()],
        };
    })
    .await;
    for _ in 0..10 {
        assert_eq!(served_by(&app, &[]).await.expect("read"), leader);
    }
    // ... or, with the fallback off, reads fail with a clear error.
    let app = app_with(|r| {
        r.source = graph::TopologySource::Static {
            writer: leader_uri(),
            readers: vec![dead.clone()],
        };
        r.read_fallback_to_leader = false;
    })
    .await;
    let _ = served_by(&app, &[]).await; // the first read finds the reader dead
    let error = served_by(&app, &[])
        .await
        .expect_err("no reader, no fallback");
    assert!(error.contains("SERVICE_UNAVAILABLE"), "{error}");

    // A bad consistency level is refused.
    let reply = testkit::http::post(
        &app,
        json!({ "query": READ_MARKER, "variables": { "h": MARKER } }),
        &[("ontograph-consistency", "sometimes")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["errors"][0]["message"]
        .as_str()
        .expect("message")
        .contains("eventual, session or strong"));
}
