//! Ingestion under faults, with `ontograph ingest` worker processes, the gateway's receiver,
//! RabbitMQ and Neo4j of the local stack:
//! - 10,000 events with two workers, one killed with SIGKILL mid-stream and started again:
//!   node and relationship counts are exact, nothing duplicated, every person in its last state;
//! - RabbitMQ stopped and started mid-stream: while it is down the receiver answers 503 with
//!   Retry-After, and every event that got a 202 ends up in the graph.
//!
//! Each test uses its own exchange/queue prefix and data prefix. They stop and start servers or
//! processes, so they run one at a time.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::StreamExt as _;
use gateway::webhook::signature::{Scheme, Verifier};
use serde_json::{json, Value};
use testkit::{env, ontology, root, unique};
use tower::ServiceExt;

const SECRET: &str = "faults-secret";
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn receiver(bus: &bus::Bus, router: graph::Router) -> axum::Router {
    let o = ontology();
    let rules = testkit::mapping(&o, "internal");
    let source = gateway::webhook::Source::new(rules, SECRET).expect("source");
    let config = gateway::GatewayConfig {
        webhooks: Some(testkit::webhooks(vec![source], bus)),
        ..gateway::GatewayConfig::default()
    };
    testkit::gateway_on(o, router, config).await
}

/// An `ontograph ingest` process on this test's queues.
fn spawn_worker(bus_prefix: &str, log: &str) -> Child {
    let log = std::fs::File::create(std::env::temp_dir().join(log)).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_ontograph"))
        .current_dir(root())
        .args(["ingest", "--batch-size", "250", "--flush-ms", "20"])
        .env("ONTOGRAPH_BUS_PREFIX", bus_prefix)
        .env("ONTOGRAPH_INGEST_MAPPINGS", root().join("schema/mappings"))
        .env("NEO4J_READER_URIS", "")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("worker starts")
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn send(app: &axum::Router, event: &Value) -> (StatusCode, Option<String>) {
    let body = event.to_string().into_bytes();
    let signed = Verifier::new(Scheme::hmac_default(), SECRET)
        .expect("v")
        .sign(&body, SystemTime::now());
    let mut req = Request::post("/ingest/internal").header("content-type", "application/json");
    for (k, v) in signed {
        req = req.header(k, v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body)).expect("req"))
        .await
        .expect("resp");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (resp.status(), retry)
}

fn membership(prefix: &str, person: usize, round: usize) -> Value {
    let role = if round == 0 { "member" } else { "lead" };
    json!({
        "id": format!("{prefix}-p{person}-r{round}"),
        "type": "membership.changed",
        "occurredAt": "2024-05-01T12:00:00Z",
        "data": { "handle": format!("{prefix}-p{person}"), "name": format!("P{person}"),
                  "teamId": format!("{prefix}-t{}", person % 50), "teamName": format!("T{}", person % 50),
                  "role": role, "action": "joined" }
    })
}

async fn census(neo4j: &graph::Neo4jClient, prefix: &str) -> (i64, i64, i64, i64, i64) {
    let st = graph::Statement::new(
        "CALL () { MATCH (p:Person) WHERE p.handle STARTS WITH $p RETURN count(p) AS people, count(DISTINCT p.handle) AS handles }
         CALL () { MATCH (t:Team) WHERE t.id STARTS WITH $p RETURN count(t) AS teams }
         CALL () { MATCH (p:Person)-[r:MEMBER_OF]->(t:Team) WHERE p.handle STARTS WITH $p
                   RETURN count(r) AS rels, count(CASE WHEN r.role = 'lead' THEN 1 END) AS leads }
         RETURN people, handles, teams, rels, leads",
    )
    .param("p", prefix);
    let row = &neo4j
        .run(&st, graph::AccessMode::Read)
        .await
        .expect("census")
        .rows[0];
    let n = |k: &str| row[k].as_i64().unwrap_or(-1);
    (n("people"), n("handles"), n("teams"), n("rels"), n("leads"))
}

async fn cleanup(neo4j: &graph::Neo4jClient, prefix: &str, bus: &bus::Bus) {
    for cypher in [
        "MATCH (p:Person) WHERE p.handle STARTS WITH $p DETACH DELETE p",
        "MATCH (t:Team) WHERE t.id STARTS WITH $p DETACH DELETE t",
    ] {
        neo4j
            .run(
                &graph::Statement::new(cypher).param("p", prefix),
                graph::AccessMode::Write,
            )
            .await
            .expect("cleanup");
    }
    let _ = bus.delete_topology().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_survive_a_killed_worker_exactly_once() {
    let _serial = SERIAL.lock().await;
    let prefix = unique("faults");
    let bus_prefix = unique("test-faults");
    let bus = testkit::bus(&bus_prefix).await;
    let router = testkit::router().await;
    let neo4j = testkit::neo4j().await;
    let app = receiver(&bus, router).await;
    let mut a = spawn_worker(&bus_prefix, "ontograph-faults-worker-a.log");
    let mut b = spawn_worker(&bus_prefix, "ontograph-faults-worker-b.log");

    // 5,000 people joining one of 50 teams as "member", then every membership updated to "lead":
    // 10,000 events, posted by 16 concurrent senders, round 0 before round 1.
    let accepted = Arc::new(AtomicUsize::new(0));
    let posting = {
        let (app, prefix, accepted) = (app.clone(), prefix.clone(), accepted.clone());
        tokio::spawn(async move {
            for round in 0..2 {
                futures::stream::iter(0..5000)
                    .for_each_concurrent(16, |person| {
                        let (app, prefix, accepted) =
                            (app.clone(), prefix.clone(), accepted.clone());
                        async move {
                            let (status, _) = send(&app, &membership(&prefix, person, round)).await;
                            assert_eq!(status, StatusCode::ACCEPTED);
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                    .await;
            }
        })
    };
    // Kill worker A (SIGKILL) once a fair share is in the graph, then start it again.
    let started = Instant::now();
    loop {
        let (people, ..) = census(&neo4j, &prefix).await;
        if people >= 1500 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "workers made no progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill().expect("SIGKILL");
    let _ = a.wait();
    let killed_at = census(&neo4j, &prefix).await;
    let mut a = spawn_worker(&bus_prefix, "ontograph-faults-worker-a2.log");
    posting.await.expect("posting");
    let started = Instant::now();
    let mut last = (0, 0, 0, 0, 0);
    while last != (5000, 5000, 50, 5000, 5000) {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not converged: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = census(&neo4j, &prefix).await;
    }
    // Quiet for a moment: nothing more arrives (no late duplicates).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = census(&neo4j, &prefix).await;
    let depth: u32 = bus
        .depths()
        .await
        .expect("depths")
        .iter()
        .map(|(_, n)| n)
        .sum();
    println!(
        "faults: {} events posted and accepted; worker A killed with {:?} (people, handles, teams, rels, leads) in the graph; \
         final {settled:?}; {depth} messages left in the queues; {:?} after posting ended",
        accepted.load(Ordering::SeqCst), killed_at, started.elapsed()
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 10_000);
    assert_eq!(
        settled,
        (5000, 5000, 50, 5000, 5000),
        "(people, distinct handles, teams, relationships, last state)"
    );
    assert_eq!(depth, 0);
    // Graceful shutdown on SIGTERM.
    assert!(
        terminate(&mut a).success(),
        "worker A did not exit cleanly on SIGTERM"
    );
    assert!(
        terminate(&mut b).success(),
        "worker B did not exit cleanly on SIGTERM"
    );
    // A clean stop logs no error (the broker connections are closed before the runtime ends).
    for log in [
        "ontograph-faults-worker-a2.log",
        "ontograph-faults-worker-b.log",
    ] {
        let text = std::fs::read_to_string(std::env::temp_dir().join(log)).expect("worker log");
        let after = text
            .split_once("shutdown requested")
            .map(|(_, rest)| rest)
            .expect("the worker logged its shutdown");
        assert!(
            !after.contains("ERROR"),
            "{log}: errors after SIGTERM:\n{after}"
        );
    }
    cleanup(&neo4j, &prefix, &bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_restart_loses_no_accepted_event() {
    let _serial = SERIAL.lock().await;
    let prefix = unique("restart");
    let bus_prefix = unique("test-restart");
    let bus = bus::Bus::new(bus::BusConfig {
        names: bus::Names::new(bus_prefix.clone()),
        confirm_timeout: Duration::from_secs(2),
        ..bus::BusConfig::new(env("AMQP_URL"))
    });
    bus.declare().await.expect("declare");
    let router = testkit::router().await;
    let neo4j = testkit::neo4j().await;
    let app = receiver(&bus, router).await;
    let mut worker = spawn_worker(&bus_prefix, "ontograph-restart-worker.log");

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let accepted = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let retry_after_ok = Arc::new(AtomicUsize::new(0));
    let posting = {
        let (app, prefix, stop, accepted, refused, retry_after_ok) = (
            app.clone(),
            prefix.clone(),
            stop.clone(),
            accepted.clone(),
            refused.clone(),
            retry_after_ok.clone(),
        );
        tokio::spawn(async move {
            let mut person = 0;
            while !stop.load(Ordering::SeqCst) {
                let (status, retry) = send(&app, &membership(&prefix, person, 0)).await;
                match status {
                    StatusCode::ACCEPTED => accepted.lock().expect("lock").push(person),
                    StatusCode::SERVICE_UNAVAILABLE => {
                        refused.fetch_add(1, Ordering::SeqCst);
                        if retry.as_deref() == Some("5") {
                            retry_after_ok.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    other => panic!("unexpected status {other}"),
                }
                person += 1;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let script = root().join("scripts/stack");
    assert!(Command::new(&script)
        .arg("rabbitmq-stop")
        .status()
        .expect("stack")
        .success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(Command::new(&script)
        .arg("rabbitmq-start")
        .status()
        .expect("stack")
        .success());
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::SeqCst);
    posting.await.expect("posting");
    let accepted = accepted.lock().expect("lock").clone();
    let expected = accepted.len() as i64;
    let started = Instant::now();
    loop {
        let (people, ..) = census(&neo4j, &prefix).await;
        if people >= expected {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {people} of {expected} accepted events reached the graph"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every accepted event, by identity, is in the graph.
    let st = graph::Statement::new(
        "MATCH (p:Person) WHERE p.handle STARTS WITH $p RETURN collect(p.handle) AS hs",
    )
    .param("p", prefix.clone());
    let handles: Vec<String> = serde_json::from_value(
        neo4j
            .run(&st, graph::AccessMode::Read)
            .await
            .expect("handles")
            .rows[0]["hs"]
            .clone(),
    )
    .expect("list");
    let handles: std::collections::HashSet<String> = handles.into_iter().collect();
    let missing: Vec<usize> = accepted
        .iter()
        .copied()
        .filter(|p| !handles.contains(&format!("{prefix}-p{p}")))
        .collect();
    println!(
        "restart: {expected} events accepted (202), {} refused with 503 while RabbitMQ was down ({} with Retry-After: 5), \
         {} in the graph, {} missing",
        refused.load(Ordering::SeqCst), retry_after_ok.load(Ordering::SeqCst), handles.len(), missing.len()
    );
    assert!(missing.is_empty(), "accepted but lost: {missing:?}");
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "the outage was not seen by the sender"
    );
    assert_eq!(
        refused.load(Ordering::SeqCst),
        retry_after_ok.load(Ordering::SeqCst),
        "every 503 carries Retry-After"
    );
    assert!(terminate(&mut worker).success());
    cleanup(&neo4j, &prefix, &bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_finishes_the_batch_in_hand_and_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let prefix = unique("drain");
    let bus_prefix = unique("test-drain");
    let bus = testkit::bus(&bus_prefix).await;
    let neo4j = testkit::neo4j().await;
    let app = receiver(&bus, testkit::router().await).await;
    // 3,000 events queued before the worker starts, so it is busy when the signal comes.
    futures::stream::iter(0..3000)
        .for_each_concurrent(16, |person| {
            let (app, prefix) = (app.clone(), prefix.clone());
            async move {
                let (status, _) = send(&app, &membership(&prefix, person, 0)).await;
                assert_eq!(status, StatusCode::ACCEPTED);
            }
        })
        .await;
    let mut worker = spawn_worker(&bus_prefix, "ontograph-drain-worker.log");
    // Wait until it has written some, then stop it mid-stream.
    let started = Instant::now();
    loop {
        let (people, ..) = census(&neo4j, &prefix).await;
        if people > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker wrote nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    let status = terminate(&mut worker);
    assert!(
        status.success(),
        "the worker did not exit cleanly: {status}"
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "it took {:?}",
        signalled.elapsed()
    );
    // Whatever it acknowledged is in the graph; the rest is still queued: nothing lost. The
    // broker returns the worker's unacknowledged deliveries to the queue when it notices the
    // closed connection, a moment after the exit: the depth is read until they are back.
    let (written, ..) = census(&neo4j, &prefix).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let queued = loop {
        let queued: u64 = bus
            .depths()
            .await
            .expect("depths")
            .iter()
            .filter(|(name, _)| !name.ends_with(".dead"))
            .map(|(_, n)| u64::from(*n))
            .sum();
        if written as u64 + queued >= 3000 || Instant::now() > deadline {
            break queued;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(written > 0, "nothing was written before the signal");
    assert!(
        written as u64 + queued >= 3000,
        "written {written} + queued {queued} < 3000: events were lost"
    );
    // Another worker takes the rest: exactly the 3,000 people and memberships, once each.
    let mut next = spawn_worker(&bus_prefix, "ontograph-drain-worker-2.log");
    let started = Instant::now();
    let settled = loop {
        let c = census(&neo4j, &prefix).await;
        if c.0 == 3000 && c.3 == 3000 {
            break c;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not settled: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(settled, (3000, 3000, 50, 3000, 0));
    assert!(terminate(&mut next).success());
    cleanup(&neo4j, &prefix, &bus).await;
}
