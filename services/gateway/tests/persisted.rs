//! Persisted queries through the HTTP surface on real Neo4j: the automatic protocol (hash-only
//! request, registration, hash-only again, GET), the allow-list mode, and introspection off.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use gateway::persisted::{sha256_hex, Mode};

async fn app(mode: Mode, allow: &[&str], introspection: bool) -> axum::Router {
    let config = gateway::GatewayConfig {
        persisted_queries: mode,
        allow_list: allow
            .iter()
            .map(|q| (sha256_hex(q), std::sync::Arc::from(*q)))
            .collect(),
        introspection,
        ..gateway::GatewayConfig::default()
    };
    testkit::gateway(config).await
}

async fn post(app: &axum::Router, body: Value) -> (StatusCode, Value) {
    let r = testkit::http::post(app, body, &[]).await;
    (r.status, r.body)
}

fn pq(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

const TEAMS: &str = "query Teams { teams(limit: 2, sort: [{ name: ASC }]) { name } }";

#[tokio::test]
async fn automatic_persisted_queries_follow_the_apollo_protocol() {
    let app = app(Mode::Automatic, &[], true).await;
    let hash = sha256_hex(TEAMS);
    let (status, body) = post(&app, json!({"extensions": pq(&hash)})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    let (status, first) = post(&app, json!({"query": TEAMS, "extensions": pq(&hash)})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first["data"]["teams"].is_array(), "{first}");
    let (_, again) = post(&app, json!({"extensions": pq(&hash)})).await;
    assert_eq!(again["data"], first["data"]);
    // GET with the hash in `extensions`.
    let uri = format!(
        "/graphql?extensions={}",
        testkit::http::urlencode(&pq(&hash).to_string())
    );
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let got: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(got["data"], first["data"], "{got}");
    // A text that does not match its hash is refused.
    let (status, body) = post(
        &app,
        json!({"query": "{ people { name } }", "extensions": pq(&hash)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_HASH_MISMATCH"
    );
}

#[tokio::test]
async fn the_allow_list_runs_only_registered_operations() {
    let app = app(Mode::AllowList, &[TEAMS], true).await;
    let (status, body) = post(&app, json!({"extensions": pq(&sha256_hex(TEAMS))})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["teams"].is_array(), "{body}");
    let (status, body) = post(&app, json!({"query": TEAMS})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other = "{ people(limit: 100) { handle email } }";
    let (status, body) = post(&app, json!({"query": other})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_ALLOWED"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains(&sha256_hex(other))));
    // Registering through the automatic protocol does not work in this mode.
    let (status, _) = post(
        &app,
        json!({"query": other, "extensions": pq(&sha256_hex(other))}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let introspect = json!({"query": "{ __schema { queryType { name } } }"});
    let on = app(Mode::Automatic, &[], true).await;
    let (_, body) = post(&on, introspect.clone()).await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    let off = app(Mode::Automatic, &[], false).await;
    let (_, body) = post(&off, introspect).await;
    assert!(
        body["data"].is_null() || body["data"]["__schema"].is_null(),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("__schema")),
        "{body}"
    );
    // Ordinary queries still run.
    let (status, body) = post(&off, json!({"query": TEAMS})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"]["teams"].is_array(), "{body}");
}

#[tokio::test]
async fn with_the_cache_on_introspection_off_is_refused_however_it_is_spelt() {
    let app = testkit::gateway(gateway::GatewayConfig {
        introspection: false,
        cache: Some(gateway::CacheSettings {
            policy: gateway::graphql::cache::CachePolicy {
                default_ttl: Some(std::time::Duration::from_secs(60)),
                ..gateway::graphql::cache::CachePolicy::default()
            },
            l1_bytes: 64 * 1024 * 1024,
        }),
        ..gateway::GatewayConfig::default()
    })
    .await;
    for query in [
        "{ __schema { queryType { name } } }",
        "{ ... on Query { ... on Query { __type(name: \"Person\") { name } } } }",
        "query { ...A } fragment A on Query { ... on Query { ...B } } fragment B on Query { __schema { types { name } } }",
    ] {
        // Twice: the second request is not answered from the cache either.
        for _ in 0..2 {
            let (status, body) = post(&app, json!({ "query": query })).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "INTROSPECTION_DISABLED",
                "{query}: {body}"
            );
        }
    }
    // `__typename` is data, and ordinary queries are cached as usual.
    let (status, body) = post(&app, json!({ "query": "{ __typename }" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let (status, body) = post(&app, json!({ "query": TEAMS })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["teams"].is_array(), "{body}");
}

/// A gateway in automatic mode whose registrations are shared through Redis under `prefix`.
async fn shared_app(prefix: &str) -> axum::Router {
    testkit::gateway(gateway::GatewayConfig {
        persisted_queries: Mode::Automatic,
        redis: Some(testkit::redis()),
        redis_prefix: prefix.to_owned(),
        ..gateway::GatewayConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_query_registered_on_one_gateway_is_known_to_the_others() {
    let prefix = testkit::unique("apq");
    let (a, b) = (shared_app(&prefix).await, shared_app(&prefix).await);
    // A text no other test registers (the prefix makes the hash unique too).
    let query = format!(
        "query Shared {{ teams(limit: 1, where: {{ name: {{ eq: \"{prefix}\" }} }}) {{ name }} }}"
    );
    let hash = sha256_hex(&query);
    let (_, body) = post(&b, json!({"extensions": pq(&hash)})).await;
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    // Registered through gateway A...
    let (status, body) = post(&a, json!({"query": query, "extensions": pq(&hash)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["teams"].is_array(), "{body}");
    // ...it is in Redis with its expiry, and gateway B answers the hash alone.
    let mut redis = redis::Client::open(testkit::env("REDIS_URL"))
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let key = format!("{prefix}:apq:{hash}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let stored: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .expect("get");
        if stored.as_deref() == Some(query.as_str()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never stored in Redis"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .expect("ttl");
    assert!(
        (1..=gateway::persisted::SHARED_TTL.as_secs() as i64).contains(&ttl),
        "TTL {ttl}"
    );
    let (status, body) = post(&b, json!({"extensions": pq(&hash)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["teams"].is_array(), "{body}");

    // A text in Redis that does not match its hash (tampering) is not run.
    let forged = format!("{prefix}-forged");
    let forged_hash = sha256_hex(&forged);
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}:apq:{forged_hash}"))
        .arg("{ people { email } }")
        .query_async(&mut redis)
        .await
        .expect("set");
    let (_, body) = post(&b, json!({"extensions": pq(&forged_hash)})).await;
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );

    // Redis not answering (every client paused for 3 s): the hash-only request is not held up
    // for long and gets PersistedQueryNotFound, so the client sends the text, which runs.
    let other = format!(
        "query Other {{ teams(limit: 1, where: {{ name: {{ eq: \"{prefix}-2\" }} }}) {{ name }} }}"
    );
    let other_hash = sha256_hex(&other);
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(3000)
        .query_async(&mut redis)
        .await
        .expect("pause");
    let started = std::time::Instant::now();
    let (status, body) = post(&b, json!({"extensions": pq(&other_hash)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "held up {:?} by a paused Redis",
        started.elapsed()
    );
    let (status, body) = post(&b, json!({"query": other, "extensions": pq(&other_hash)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["teams"].is_array(), "{body}");
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut redis)
        .await
        .expect("unpause");
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .arg(format!("{prefix}:apq:{forged_hash}"))
        .arg(format!("{prefix}:apq:{other_hash}"))
        .query_async(&mut redis)
        .await
        .expect("cleanup");
}
