//! Rate limits on the real stack: a budget shared by two gateways through Redis (hit, refused
//! with Retry-After and RateLimit headers, recovered), separate read and write budgets, and the
//! local fallback when Redis is not there.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

const KEY: &str = "ratelimit-test-key-0123456789";

async fn gateway(redis_url: &str, prefix: &str) -> axum::Router {
    let config = gateway::GatewayConfig {
        access: gateway::access::AccessConfig {
            api_keys: gateway::access::parse_api_keys(&format!("dashboard=write:{KEY}"))
                .expect("keys"),
            ..gateway::access::AccessConfig::default()
        },
        rate_limits: gateway::ratelimit::RateLimitConfig {
            read: Some("4/m".parse().expect("rate")),
            write: Some("1/m".parse().expect("rate")),
            ingest: None,
        },
        redis: Some(gateway::RedisConfig::new(redis_url)),
        redis_prefix: prefix.to_owned(),
        ..gateway::GatewayConfig::default()
    };
    testkit::gateway(config).await
}

use testkit::http::Reply;

async fn call(app: &axum::Router, query: &str) -> Reply {
    testkit::http::graphql(app, query, json!({}), &[("x-api-key", KEY)]).await
}

const READ: &str = "{ teams(limit: 1) { name } }";
const WRITE: &str =
    r#"mutation { deletePeople(where: { handle: { eq: "ratelimit-nobody" } }) { nodesDeleted } }"#;

#[tokio::test]
async fn a_budget_shared_by_two_gateways_is_hit_refused_and_recovered() {
    let prefix = testkit::unique("test-rl");
    let redis = testkit::env("REDIS_URL");
    let gateways = [
        gateway(&redis, &prefix).await,
        gateway(&redis, &prefix).await,
    ];
    // Four reads spread over both gateways spend one budget of 4.
    for (i, remaining) in [3, 2, 1, 0].into_iter().enumerate() {
        let r = call(&gateways[i % 2], READ).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("ratelimit-limit"), Some("4"));
        assert_eq!(
            r.header("ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
    }
    let refused = call(&gateways[1], READ).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((14..=15).contains(&retry), "Retry-After {retry}");
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    let error = &refused.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "RATE_LIMITED");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("4 per minute reads for `dashboard`")),
        "{}",
        refused.body
    );
    // One interval (15 s) later, one more read is admitted again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let again = call(&gateways[0], READ).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // Writes have their own budget (1 per minute), untouched by the reads: the first write
    // passes, the next ones are refused on either gateway.
    assert_eq!(call(&gateways[0], WRITE).await.status, StatusCode::OK);
    let second = call(&gateways[1], WRITE).await;
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.body
    );
    assert!(second.body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("1 per minute writes")));
    assert_eq!(
        call(&gateways[1], WRITE).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_redis_each_gateway_counts_alone() {
    let prefix = testkit::unique("test-rl-local");
    let dead = "redis://127.0.0.1:1";
    let a = gateway(dead, &prefix).await;
    let b = gateway(dead, &prefix).await;
    for _ in 0..4 {
        assert_eq!(call(&a, READ).await.status, StatusCode::OK);
    }
    assert_eq!(call(&a, READ).await.status, StatusCode::TOO_MANY_REQUESTS);
    // The other gateway has its own local budget while Redis is away.
    assert_eq!(call(&b, READ).await.status, StatusCode::OK);
}
