//! The webhook receiver against real RabbitMQ (and the ontology's mapping rules): what is
//! accepted is stored in the broker before the 202; bad signatures, bodies and sources are
//! refused with the right status and nothing published; an unreachable broker means 503 with
//! `Retry-After`. Each test uses its own exchange and queue names and deletes them afterwards.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gateway::webhook::signature::{Scheme, Verifier};
use http_body_util::BodyExt;
use lapin::options::BasicConsumeOptions;
use serde_json::{json, Value};
use testkit::{env, mapping, ontology};
use tower::ServiceExt;

const GITHUB_SECRET: &str = "test-secret-github";
const INTERNAL_SECRET: &str = "test-secret-internal";

struct Harness {
    app: axum::Router,
    bus: bus::Bus,
}

async fn harness(amqp_url: &str) -> Harness {
    let o = ontology();
    let mut sources = Vec::new();
    for (name, secret) in [("github", GITHUB_SECRET), ("internal", INTERNAL_SECRET)] {
        sources.push(gateway::webhook::Source::new(mapping(&o, name), secret).expect("source"));
    }
    let bus = bus::Bus::new(bus::BusConfig {
        names: bus::Names::new(testkit::unique("test")),
        confirm_timeout: Duration::from_secs(3),
        ..bus::BusConfig::new(amqp_url)
    });
    let router = graph::Router::connect(graph::RoutingConfig::single(graph::Neo4jConfig::new(
        "bolt://127.0.0.1:1",
    )))
    .await
    .expect("router (never used here)");
    let config = gateway::GatewayConfig {
        webhooks: Some(testkit::webhooks(sources, &bus)),
        ..gateway::GatewayConfig::default()
    };
    Harness {
        app: testkit::gateway_on(o, router, config).await,
        bus,
    }
}

async fn post(
    app: &axum::Router,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (StatusCode, Option<String>, Value) {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_vec())).expect("req"))
        .await
        .expect("resp");
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        retry,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) })),
    )
}

fn github_headers(body: &[u8], event: &str, delivery: &str) -> Vec<(String, String)> {
    let verifier = Verifier::new(Scheme::GitHub, GITHUB_SECRET).expect("verifier");
    let mut h = verifier.sign(body, SystemTime::now());
    h.push(("X-GitHub-Event".into(), event.into()));
    h.push(("X-GitHub-Delivery".into(), delivery.into()));
    h
}

fn issue_body(id: &str) -> Vec<u8> {
    json!({
        "action": "opened",
        "repository": { "full_name": "acme/graph" },
        "issue": { "node_id": id, "number": 1, "title": "t", "state": "open", "user": { "login": "ada" } }
    })
    .to_string()
    .into_bytes()
}

/// Every message waiting in the harness's partition queues: (message id, routing key, body).
/// (Quorum queues with a single active consumer refuse `basic.get`: consume until quiet.)
async fn drain(h: &Harness) -> Vec<(String, String, Value)> {
    use futures::StreamExt as _;
    let connection = h.bus.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let mut out = Vec::new();
    for k in 0..h.bus.config().partitions {
        let queue = h.bus.config().names.partition_queue(k);
        let mut consumer = channel
            .basic_consume(
                &queue,
                "test-drain",
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .expect("consume");
        while let Ok(Some(Ok(delivery))) =
            tokio::time::timeout(Duration::from_millis(300), consumer.next()).await
        {
            let id = delivery
                .properties
                .message_id()
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default();
            out.push((
                id,
                delivery.routing_key.to_string(),
                serde_json::from_slice(&delivery.data).expect("json body"),
            ));
        }
        channel
            .basic_cancel("test-drain", Default::default())
            .await
            .expect("cancel");
    }
    let _ = connection.close(200, "drained").await;
    out
}

async fn total_depth(h: &Harness) -> u32 {
    h.bus
        .depths()
        .await
        .expect("depths")
        .iter()
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn a_signed_event_is_stored_before_the_202() {
    let h = harness(&env("AMQP_URL")).await;
    let body = issue_body("I_42");
    let (status, _, reply) = post(
        &h.app,
        "/ingest/github",
        &github_headers(&body, "issues", "delivery-1"),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    assert_eq!(reply["eventId"], "delivery-1");
    let stored = drain(&h).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].0, "delivery-1");
    assert_eq!(
        stored[0].1, "github.issues",
        "routing key <source>.<event type>"
    );
    assert_eq!(stored[0].2["issue"]["node_id"], "I_42");
    h.bus.delete_topology().await.expect("cleanup");
}

#[tokio::test]
async fn bad_requests_are_refused_and_nothing_is_published() {
    let h = harness(&env("AMQP_URL")).await;
    h.bus.declare().await.expect("declare");
    let body = issue_body("I_1");
    let good = github_headers(&body, "issues", "d-1");
    // Forged: signed with another secret.
    let forged = Verifier::new(Scheme::GitHub, "not-the-secret")
        .expect("v")
        .sign(&body, SystemTime::now());
    let mut headers = good.clone();
    headers.retain(|(k, _)| k != "X-Hub-Signature-256");
    headers.extend(forged);
    let (status, _, reply) = post(&h.app, "/ingest/github", &headers, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("does not match"),
        "{reply}"
    );
    // Missing signature.
    let unsigned: Vec<_> = good
        .iter()
        .filter(|(k, _)| k != "X-Hub-Signature-256")
        .cloned()
        .collect();
    let (status, _, reply) = post(&h.app, "/ingest/github", &unsigned, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("missing X-Hub-Signature-256"),
        "{reply}"
    );
    // Body altered after signing.
    let mut altered = body.clone();
    altered.extend_from_slice(b" ");
    let (status, _, _) = post(&h.app, "/ingest/github", &good, &altered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Signed, but not JSON.
    let junk = b"not json".to_vec();
    let (status, _, reply) = post(
        &h.app,
        "/ingest/github",
        &github_headers(&junk, "issues", "d-2"),
        &junk,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(reply["error"]["code"], "NOT_JSON");
    // Signed, no event type header.
    let mut no_type = github_headers(&body, "issues", "d-3");
    no_type.retain(|(k, _)| k != "X-GitHub-Event");
    let (status, _, reply) = post(&h.app, "/ingest/github", &no_type, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("X-GitHub-Event"),
        "{reply}"
    );
    // Too large for the source (internal accepts 256 KiB).
    let big = vec![b' '; 300 * 1024];
    let (status, _, reply) = post(&h.app, "/ingest/internal", &[], &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{reply}");
    // Unknown source.
    let (status, _, reply) = post(&h.app, "/ingest/nowhere", &[], b"{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("github, internal"),
        "{reply}"
    );
    // Internal source: replayed outside the window.
    let event = json!({ "id": "e-1", "type": "person.upserted", "data": { "handle": "ada", "name": "Ada" } }).to_string().into_bytes();
    let old = SystemTime::now() - Duration::from_secs(3600);
    let stale = Verifier::new(Scheme::hmac_default(), INTERNAL_SECRET)
        .expect("v")
        .sign(&event, old);
    let (status, _, reply) = post(&h.app, "/ingest/internal", &stale, &event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("tolerance"),
        "{reply}"
    );
    assert_eq!(
        total_depth(&h).await,
        0,
        "a refused request published something"
    );
    // And a fresh one is accepted, keyed by the JSON id.
    let fresh = Verifier::new(Scheme::hmac_default(), INTERNAL_SECRET)
        .expect("v")
        .sign(&event, SystemTime::now());
    let (status, _, reply) = post(&h.app, "/ingest/internal", &fresh, &event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    assert_eq!(reply["eventId"], "e-1");
    assert_eq!(total_depth(&h).await, 1);
    h.bus.delete_topology().await.expect("cleanup");
}

#[tokio::test]
async fn bulk_ndjson_answers_per_line() {
    let h = harness(&env("AMQP_URL")).await;
    let lines = [
        json!({ "id": "b-1", "type": "person.upserted", "data": { "handle": "ada", "name": "Ada" } }).to_string(),
        "{ not json".to_owned(),
        json!({ "id": "b-3", "type": "person.upserted", "data": { "handle": "bob", "name": "Bob" } }).to_string(),
        json!({ "type": "person.upserted", "data": {} }).to_string(),
    ];
    let body = lines.join("\n").into_bytes();
    let signed = Verifier::new(Scheme::hmac_default(), INTERNAL_SECRET)
        .expect("v")
        .sign(&body, SystemTime::now());
    let (status, _, reply) = post(&h.app, "/ingest/internal/bulk", &signed, &body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{reply}");
    let statuses: Vec<i64> = reply["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_i64().expect("status"))
        .collect();
    assert_eq!(statuses, [202, 400, 202, 400], "{reply}");
    let mut ids: Vec<String> = drain(&h).await.into_iter().map(|(id, _, _)| id).collect();
    ids.sort();
    assert_eq!(ids, ["b-1", "b-3"]);
    h.bus.delete_topology().await.expect("cleanup");
}

#[tokio::test]
async fn an_unreachable_broker_means_503_with_retry_after() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("amqp://guest:guest@{}/%2f", l.local_addr().expect("addr"))
    };
    let h = harness(&dead).await;
    let body = issue_body("I_1");
    let started = std::time::Instant::now();
    let (status, retry, reply) = post(
        &h.app,
        "/ingest/github",
        &github_headers(&body, "issues", "d-9"),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(reply["error"]["code"], "BROKER_UNAVAILABLE");
    assert!(
        !reply["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("guest:guest"),
        "credentials leaked: {reply}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_source_over_its_ingestion_budget_gets_429_and_forged_requests_spend_nothing() {
    let mut h = harness(&env("AMQP_URL")).await;
    // The same receiver, with an ingestion budget of 3 per minute per source (in this process).
    let o = ontology();
    let source =
        gateway::webhook::Source::new(mapping(&o, "github"), GITHUB_SECRET).expect("source");
    let config = gateway::GatewayConfig {
        webhooks: Some(testkit::webhooks(vec![source], &h.bus)),
        rate_limits: gateway::ratelimit::RateLimitConfig {
            ingest: Some("3/m".parse().expect("rate")),
            ..gateway::ratelimit::RateLimitConfig::default()
        },
        ..gateway::GatewayConfig::default()
    };
    h.app = testkit::gateway_on(o, testkit::router().await, config).await;
    // Forged requests are refused by the signature and do not spend the budget.
    let body = issue_body("I_rl");
    for _ in 0..5 {
        let mut forged = github_headers(&body, "issues", "forged");
        forged[0].1 = format!("sha256={}", "0".repeat(64));
        let (status, _, _) = post(&h.app, "/ingest/github", &forged, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for i in 0..3 {
        let (status, _, reply) = post(
            &h.app,
            "/ingest/github",
            &github_headers(&body, "issues", &format!("rl-{i}")),
            &body,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    }
    let (status, retry, reply) = post(
        &h.app,
        "/ingest/github",
        &github_headers(&body, "issues", "rl-over"),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{reply}");
    assert_eq!(reply["error"]["code"], "RATE_LIMITED");
    assert!(
        reply["error"]["message"].as_str().is_some_and(
            |m| m.contains("source `github` is over its ingestion budget of 3 per minute")
        ),
        "{reply}"
    );
    assert!(retry
        .and_then(|r| r.parse::<u64>().ok())
        .is_some_and(|s| (19..=20).contains(&s)));
    // Only the admitted events were stored.
    assert_eq!(drain(&h).await.len(), 3);
    h.bus.delete_topology().await.expect("cleanup");
}
