//! Supernode detection and rewriting on the real stack: a hub built by ingestion (webhooks →
//! RabbitMQ → worker → Neo4j, the worker announcing what it wrote over Redis) becomes a
//! supernode within the documented delay and stops being one when its relationships go; the
//! cost choice keeps the plain plan where a rule would not pay; explain and hot queries.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gateway::webhook::signature::{Scheme, Verifier};
use serde_json::{json, Value};
use testkit::unique;
use tower::ServiceExt;

const SECRET: &str = "supernode-test-secret";
/// The delay this test holds detection to (documented in the README).
const DETECTION_BOUND: Duration = Duration::from_secs(2);

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = [("authorization", "Bearer test-admin")];
    let r = testkit::http::call(app, method, path, &auth, body.as_ref()).await;
    (r.status, r.body)
}

fn is_hub(store: &Value, team: &str) -> Option<u64> {
    store["hubs"].as_array()?.iter().find_map(|h| {
        (h["label"] == "Team" && h["relType"] == "MEMBER_OF" && h["keys"]["id"] == team)
            .then(|| h["degree"].as_u64())
            .flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingested_hub_is_detected_rewritten_explained_and_forgotten() {
    let o = testkit::ontology();
    let rules = testkit::mapping(&o, "internal");
    let prefix = unique("sn");
    let redis_prefix = format!("test:{prefix}");
    let router = testkit::router().await;
    let config = gateway::GatewayConfig {
        supernodes: Some(gateway::degree_store::SupernodeConfig {
            min_degree: 40,
            quantile: 0.0,
            scan_interval: Duration::from_secs(3600),
            recheck_delay: Duration::from_millis(50),
            ..gateway::degree_store::SupernodeConfig::default()
        }),
        redis: Some(testkit::redis()),
        redis_prefix: redis_prefix.clone(),
        rewrite: ontology::rewrite::RewriteOptions {
            min_degree: 40,
            ..ontology::rewrite::RewriteOptions::default()
        },
        admin: gateway::admin::AdminConfig::with_token("test-admin"),
        ..gateway::GatewayConfig::default()
    };
    let bus = testkit::bus(&prefix).await;
    let source = gateway::webhook::Source::new(rules.clone(), SECRET).expect("source");
    let config = gateway::GatewayConfig {
        webhooks: Some(testkit::webhooks(vec![source], &bus)),
        ..config
    };
    let app = testkit::gateway_on(o.clone(), router.clone(), config).await;
    let worker = ingest::Worker::new(
        Arc::new(ontology::served::ServedOntology::new(o)),
        vec![rules],
        bus.clone(),
        router,
        ingest::WorkerConfig {
            flush_interval: Duration::from_millis(10),
            ..ingest::WorkerConfig::default()
        },
    )
    .with_cache(cache::Cache::new(
        cache::CacheConfig {
            l1_bytes: 0,
            prefix: redis_prefix.clone(),
            ..cache::CacheConfig::default()
        },
        Some(gateway::RedisHandle::connect(testkit::redis()).await),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker_task = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await; // the store's first scan and subscription

    let team = format!("{prefix}-team");
    let neo4j = testkit::neo4j().await;
    let degree = |neo4j: graph::Neo4jClient, team: String| async move {
        let st = graph::Statement::new(
            "MATCH (t:Team {id: $t}) RETURN COUNT { (t)<-[:MEMBER_OF]-() } AS d",
        )
        .param("t", team);
        neo4j
            .run(&st, graph::AccessMode::Read)
            .await
            .expect("degree")
            .rows
            .first()
            .and_then(|r| r["d"].as_u64())
            .unwrap_or(0)
    };
    let send = |i: usize, action: &'static str| {
        let event = json!({
            "id": unique("evt"),
            "type": "membership.changed",
            "occurredAt": "2026-11-23T00:00:00Z",
            "data": { "handle": format!("{prefix}-p{i:03}"), "name": format!("P {i}"), "teamId": team, "teamName": "Hub team", "role": "member", "action": action },
        });
        let body = event.to_string().into_bytes();
        let signed = Verifier::new(Scheme::hmac_default(), SECRET)
            .expect("verifier")
            .sign(&body, SystemTime::now());
        let mut req = Request::post("/ingest/internal").header("content-type", "application/json");
        for (k, v) in signed {
            req = req.header(k, v);
        }
        let app = app.clone();
        async move {
            let status = app
                .oneshot(req.body(Body::from(body)).expect("req"))
                .await
                .expect("resp")
                .status();
            assert_eq!(status, StatusCode::ACCEPTED);
        }
    };

    // 1. Ingestion builds a hub of 60 members: detected once the commit is announced.
    for i in 0..60 {
        send(i, "joined").await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while degree(neo4j.clone(), team.clone()).await < 60 {
        assert!(Instant::now() < deadline, "the events were not written");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let committed = Instant::now();
    let detected = loop {
        let (_, s) = call(&app, "GET", "/admin/api/supernodes", None).await;
        // Known, with its current degree (earlier batches may have made it a hub already).
        if is_hub(&s, &team) == Some(60) {
            break committed.elapsed();
        }
        assert!(
            committed.elapsed() < DETECTION_BOUND,
            "not detected within {DETECTION_BOUND:?}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    // 2. Rules at this hub: seek and count pay; the ordered walk over every person does not
    //    (60 members among thousands of people), so its plain plan is kept.
    let seek = format!(
        r#"{{ teams(where: {{ id: {{ eq: "{team}" }} }}) {{ members(where: {{ handle: {{ eq: "{prefix}-p007" }} }}) {{ handle }} membersConnection {{ totalCount }} }} }}"#
    );
    let (status, v) = call(&app, "POST", "/graphql", Some(json!({ "query": seek }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["data"]["teams"][0]["members"][0]["handle"],
        format!("{prefix}-p007"),
        "{v}"
    );
    assert_eq!(
        v["data"]["teams"][0]["membersConnection"]["totalCount"], 60,
        "{v}"
    );
    let (_, ex) = call(
        &app,
        "POST",
        "/admin/api/explain",
        Some(json!({ "query": seek, "measure": true })),
    )
    .await;
    let applied: Vec<&str> = ex["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter(|d| d["applied"] == true)
        .filter_map(|d| d["rule"].as_str())
        .collect();
    assert_eq!(
        applied,
        ["index-seek-neighbours", "count-from-degree"],
        "{ex}"
    );
    assert!(ex["measured"]["plainMedianMs"].as_f64().is_some(), "{ex}");
    assert_ne!(ex["plain"]["cypher"], ex["rewrittenCypher"]["cypher"]);
    let top = format!(
        r#"{{ teams(where: {{ id: {{ eq: "{team}" }} }}) {{ members(sort: [{{ handle: ASC }}], limit: 5) {{ handle }} }} }}"#
    );
    let (_, ex) = call(
        &app,
        "POST",
        "/admin/api/explain",
        Some(json!({ "query": top })),
    )
    .await;
    let d = &ex["decisions"][0];
    assert_eq!(
        (d["rule"].as_str(), d["applied"].as_bool()),
        (Some("index-ordered-top-k"), Some(false)),
        "{ex}"
    );
    assert!(
        d["costRewritten"].as_f64() > d["costPlain"].as_f64(),
        "{ex}"
    );
    // Kept: the plan in service is the plain expansion, exactly as without statistics.
    let kept = ex["rewrittenCypher"]["cypher"].as_str().unwrap_or_default();
    assert!(
        kept.contains(
            "MATCH (this1)<-[:`MEMBER_OF`]-(this2:`Person`) WITH DISTINCT this2 ORDER BY this2.`handle` ASC LIMIT"
        ),
        "kept: {ex}"
    );
    println!(
        "cost choice at a 60-member hub: top-k plain plan kept (cost {} vs {})",
        d["costPlain"], d["costRewritten"]
    );

    // 3. Hot queries name the shape and its hub.
    let (_, hot) = call(&app, "GET", "/admin/api/hot-queries", None).await;
    let entry = hot["hot"]
        .as_array()
        .expect("hot")
        .iter()
        .find(|h| {
            h["shape"]
                .as_str()
                .is_some_and(|s| s.contains("membersConnection"))
        })
        .expect("the seek shape")
        .clone();
    assert!(
        entry["supernodeAnchors"]
            .as_object()
            .is_some_and(|a| a.keys().any(|k| k.contains(&team))),
        "{entry}"
    );
    assert_eq!(entry["rewrites"]["index-seek-neighbours"], 1, "{entry}");

    // 4. Members leave: below the threshold it stops being a supernode.
    for i in 0..30 {
        send(i, "left").await;
    }
    while degree(neo4j.clone(), team.clone()).await > 30 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "the departures were not written"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let committed = Instant::now();
    let forgotten = loop {
        let (_, s) = call(&app, "GET", "/admin/api/supernodes", None).await;
        if is_hub(&s, &team).is_none() {
            break committed.elapsed();
        }
        assert!(
            committed.elapsed() < DETECTION_BOUND,
            "still a supernode after {DETECTION_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!("supernode detection: a hub ingested to 60 members was detected {detected:?} after its last commit was visible; after 30 left it was dropped after {forgotten:?} (bound {DETECTION_BOUND:?})");
    let _ = stop.send(());
    let _ = worker_task.await;
    bus.delete_topology().await.ok();
}
