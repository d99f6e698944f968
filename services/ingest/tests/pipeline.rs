//! The whole ingestion path on the real stack: signed webhooks into the gateway's receiver,
//! RabbitMQ, ingest workers, Neo4j. Each test uses its own exchange/queue names (deleted at the
//! end) and its own data prefix.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gateway::webhook::signature::{Scheme, Verifier};
use serde_json::{json, Value};
use testkit::{mapping, ontology, unique};
use tower::ServiceExt;

const SECRET: &str = "pipeline-secret";

struct Stack {
    app: axum::Router,
    bus: bus::Bus,
    router: graph::Router,
    neo4j: graph::Neo4jClient,
}

async fn stack(prefix: &str) -> Stack {
    let o = ontology();
    let bus = testkit::bus(prefix).await;
    let router = testkit::router().await;
    let source = gateway::webhook::Source::new(mapping(&o, "internal"), SECRET).expect("source");
    let config = gateway::GatewayConfig {
        admin: gateway::admin::AdminConfig::with_token("test-admin"),
        webhooks: Some(testkit::webhooks(vec![source], &bus)),
        ..gateway::GatewayConfig::default()
    };
    let neo4j = testkit::neo4j().await;
    Stack {
        app: testkit::gateway_on(o, router.clone(), config).await,
        bus,
        router,
        neo4j,
    }
}

fn worker(s: &Stack, batch_size: usize) -> ingest::Worker {
    let o = Arc::new(ontology::served::ServedOntology::new(ontology()));
    let rules = mapping(&o.current(), "internal");
    let config = ingest::WorkerConfig {
        batch_size,
        flush_interval: Duration::from_millis(20),
        ..ingest::WorkerConfig::default()
    };
    ingest::Worker::new(o, vec![rules], s.bus.clone(), s.router.clone(), config)
}

async fn send(app: &axum::Router, event: &Value) -> StatusCode {
    let body = event.to_string().into_bytes();
    let signed = Verifier::new(Scheme::hmac_default(), SECRET)
        .expect("v")
        .sign(&body, SystemTime::now());
    let mut req = Request::post("/ingest/internal").header("content-type", "application/json");
    for (k, v) in signed {
        req = req.header(k, v);
    }
    app.clone()
        .oneshot(req.body(Body::from(body)).expect("req"))
        .await
        .expect("resp")
        .status()
}

async fn admin(app: &axum::Router, method: &str, path: &str, body: Option<Value>) -> Value {
    use http_body_util::BodyExt as _;
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer test-admin");
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    let resp = app
        .clone()
        .oneshot(req.body(body).expect("req"))
        .await
        .expect("resp");
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

async fn people(neo4j: &graph::Neo4jClient, prefix: &str) -> Vec<(String, String)> {
    let st = graph::Statement::new("MATCH (p:Person) WHERE p.handle STARTS WITH $p RETURN p.handle AS h, p.name AS n ORDER BY h").param("p", prefix);
    let rows = neo4j
        .run(&st, graph::AccessMode::Read)
        .await
        .expect("people")
        .rows;
    rows.iter()
        .map(|r| {
            (
                r["h"].as_str().unwrap_or_default().to_owned(),
                r["n"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn wait_for<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn person_event(id: &str, handle: &str, name: &str) -> Value {
    json!({ "id": id, "type": "person.upserted", "occurredAt": "2024-05-01T12:00:00Z",
            "data": { "handle": handle, "name": name, "email": format!("{handle}@Example.COM") } })
}

#[tokio::test]
async fn accepted_events_reach_the_graph_once_and_in_order() {
    let prefix = unique("pipe");
    let s = stack(&unique("test-pipe")).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker(&s, 100).run(async {
        let _ = stop_rx.await;
    }));
    // 200 people, then 3 successive renames of each, and every event posted twice (a sender
    // retrying after a lost 202): 1,600 accepted posts for 200 people in their last state.
    let mut accepted = 0;
    for round in 0..4 {
        for i in 0..200 {
            let handle = format!("{prefix}-{i:03}");
            let event = person_event(
                &format!("{handle}-r{round}"),
                &handle,
                &format!("name-{round}"),
            );
            for _ in 0..2 {
                assert_eq!(send(&s.app, &event).await, StatusCode::ACCEPTED);
                accepted += 1;
            }
        }
    }
    let neo4j = s.neo4j.clone();
    let p = prefix.clone();
    wait_for(
        "all 200 people in their last state",
        Duration::from_secs(120),
        || {
            let (neo4j, p) = (neo4j.clone(), p.clone());
            async move {
                let rows = people(&neo4j, &p).await;
                rows.len() == 200 && rows.iter().all(|(_, n)| n == "name-3")
            }
        },
    )
    .await;
    let _ = stop_tx.send(());
    let stats = running.await.expect("worker");
    println!("pipeline: {accepted} posts accepted, {stats:?}");
    let rows = people(&s.neo4j, &prefix).await;
    assert_eq!(rows.len(), 200, "no duplicates, none missing");
    // The graph may reach its final state while duplicates are still queued: what the stopped
    // worker did not acknowledge went back to the queues. Nothing is lost either way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued: u32 = s
        .bus
        .depths()
        .await
        .expect("depths")
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        stats.applied + u64::from(queued),
        accepted as u64,
        "every accepted event was applied and acknowledged, or is still queued"
    );
    let email = s
        .neo4j
        .run(
            &graph::Statement::new("MATCH (p:Person {handle: $h}) RETURN p.email AS e")
                .param("h", format!("{prefix}-000")),
            graph::AccessMode::Read,
        )
        .await
        .expect("email");
    assert_eq!(
        email.rows[0]["e"],
        json!(format!("{prefix}-000@example.com")),
        "the lower transform ran"
    );
    s.neo4j
        .run(
            &graph::Statement::new(
                "MATCH (p:Person) WHERE p.handle STARTS WITH $p DETACH DELETE p",
            )
            .param("p", prefix),
            graph::AccessMode::Write,
        )
        .await
        .expect("cleanup");
    s.bus.delete_topology().await.expect("cleanup");
}

#[tokio::test]
async fn poison_events_are_dead_lettered_with_a_reason_while_the_rest_flow() {
    let prefix = unique("poison");
    let s = stack(&unique("test-poison")).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker(&s, 50).run(async {
        let _ = stop_rx.await;
    }));
    for i in 0..20 {
        let handle = format!("{prefix}-{i:02}");
        let event = if i == 7 {
            // The rules require a name: this event can never apply.
            json!({ "id": format!("{handle}-x"), "type": "person.upserted", "data": { "handle": handle } })
        } else {
            person_event(&format!("{handle}-1"), &handle, "ok")
        };
        assert_eq!(send(&s.app, &event).await, StatusCode::ACCEPTED);
    }
    let neo4j = s.neo4j.clone();
    let p = prefix.clone();
    let bus = s.bus.clone();
    wait_for(
        "the 19 good events and the dead letter",
        Duration::from_secs(60),
        || {
            let (neo4j, p, bus) = (neo4j.clone(), p.clone(), bus.clone());
            async move {
                let depths = bus.depths().await.expect("depths");
                let dead = depths.last().map(|(_, n)| *n).unwrap_or(0);
                let queued: u32 = depths.iter().map(|(_, n)| n).sum::<u32>() - dead;
                people(&neo4j, &p).await.len() == 19 && dead == 1 && queued == 0
            }
        },
    )
    .await;
    let _ = stop_tx.send(());
    let stats = running.await.expect("worker");
    assert_eq!((stats.applied, stats.dead_lettered), (19, 1), "{stats:?}");
    // The poison event waits in the dead-letter queue, with why (the admin API shows it).
    let status = admin(&s.app, "GET", "/admin/api/ingest", None).await;
    let letters = status["deadLetters"]
        .as_array()
        .expect("dead letters")
        .clone();
    assert_eq!(letters.len(), 1, "{status}");
    assert_eq!(letters[0]["id"], format!("{prefix}-07-x"));
    assert!(
        letters[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("required property `name`"),
        "{status}"
    );
    // Looking did not remove it.
    assert_eq!(
        admin(&s.app, "GET", "/admin/api/ingest", None).await["deadLetters"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Fix the rule (take the name from the handle when the event has none), run a worker with
    // the fixed rules, replay: the event applies.
    let o = Arc::new(ontology::served::ServedOntology::new(ontology()));
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/mappings/internal.yaml");
    let fixed_text = std::fs::read_to_string(path).expect("rules").replacen(
        "name: $.data.name",
        "name: $.data.handle",
        1,
    );
    let fixed = ontology::mapping::Mapping::from_yaml(&o.current(), "internal", &fixed_text)
        .expect("fixed rules");
    let config = ingest::WorkerConfig {
        flush_interval: Duration::from_millis(20),
        ..ingest::WorkerConfig::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(
        ingest::Worker::new(o, vec![fixed], s.bus.clone(), s.router.clone(), config).run(async {
            let _ = stop_rx.await;
        }),
    );
    let replay = admin(
        &s.app,
        "POST",
        "/admin/api/ingest/replay",
        Some(json!({ "ids": [format!("{prefix}-07-x")] })),
    )
    .await;
    assert_eq!(
        replay["replayed"],
        json!([format!("{prefix}-07-x")]),
        "{replay}"
    );
    let neo4j = s.neo4j.clone();
    let p = prefix.clone();
    wait_for("the replayed event", Duration::from_secs(60), || {
        let (neo4j, p) = (neo4j.clone(), p.clone());
        async move { people(&neo4j, &p).await.len() == 20 }
    })
    .await;
    let _ = stop_tx.send(());
    running.await.expect("worker");
    assert_eq!(
        admin(&s.app, "GET", "/admin/api/ingest", None).await["deadLetters"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    s.neo4j
        .run(
            &graph::Statement::new(
                "MATCH (p:Person) WHERE p.handle STARTS WITH $p DETACH DELETE p",
            )
            .param("p", prefix),
            graph::AccessMode::Write,
        )
        .await
        .expect("cleanup");
    s.bus.delete_topology().await.expect("cleanup");
}
