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
    let state =
        gateway::build_state(testkit::ontology(), testkit::router().await, &config).expect("state");
    gateway::app(state)
}

async fn post(app: &axum::Router, body: Value) -> (StatusCode, Value) {
    let r = testkit::http::call(app, "POST", "/graphql", &[], Some(&body)).await;
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
    let uri = format!("/graphql?extensions={}", urlencode(&pq(&hash).to_string()));
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

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    let o = testkit::ontology();
    let rc = gateway::result_cache::ResultCache::new(
        cache::Cache::new(cache::CacheConfig::default()).await,
        gateway::result_cache::CachePolicy {
            default_ttl: Some(std::time::Duration::from_secs(60)),
            ..gateway::result_cache::CachePolicy::default()
        },
        &o,
    );
    let config = gateway::GatewayConfig {
        introspection: false,
        ..gateway::GatewayConfig::default()
    };
    let mut state = gateway::build_state(o, testkit::router().await, &config).expect("state");
    state.cache = Some(std::sync::Arc::new(rc));
    let app = gateway::app(state);
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
