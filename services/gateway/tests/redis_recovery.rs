//! A Redis that is down when the gateways start, then started: every user of the one Redis handle
//! becomes shared again without a restart — rate limits (one budget spent across two gateways),
//! persisted queries (registered on one gateway, resolved by hash on the other) and the admin
//! session store (a logout on one gateway ends the session on the other). The test runs its own
//! `redis-server` (Debian's, as `scripts/stack` uses) on a free loopback port, so it does not
//! disturb the stack's Redis.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use testkit::http::{call, send, Reply};

const KEY: &str = "redis-recovery-key-0123456789";
const TOKEN: &str = "redis-recovery-admin-token";
const TEAMS: &str = "{ teams(limit: 1) { name } }";

/// A `redis-server` on `port` without persistence, stopped when dropped.
struct RedisServer(Child);

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (Debian's redis-server package)");
        RedisServer(child)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn gateway(url: &str, prefix: &str) -> axum::Router {
    testkit::gateway(gateway::GatewayConfig {
        access: gateway::access::AccessConfig {
            api_keys: gateway::access::parse_api_keys(&format!("dashboard=admin:{KEY}"))
                .expect("keys"),
            ..gateway::access::AccessConfig::default()
        },
        admin: gateway::admin::AdminConfig::with_token(TOKEN),
        rate_limits: gateway::ratelimit::RateLimitConfig {
            read: Some("1000/h".parse().expect("rate")),
            ..gateway::ratelimit::RateLimitConfig::default()
        },
        redis: Some(gateway::RedisConfig {
            reconnect_interval: Duration::from_millis(100),
            ..gateway::RedisConfig::new(url)
        }),
        redis_prefix: prefix.to_owned(),
        ..gateway::GatewayConfig::default()
    })
    .await
}

async fn graphql(app: &axum::Router, body: Value) -> Reply {
    call(app, "POST", "/graphql", &[("x-api-key", KEY)], Some(&body)).await
}

fn remaining(r: &Reply) -> u64 {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.header("ratelimit-remaining")
        .and_then(|v| v.parse().ok())
        .expect("RateLimit-Remaining")
}

async fn login(app: &axum::Router) -> String {
    let r = send(
        app,
        Request::builder()
            .method("POST")
            .uri("/admin/login")
            .header(header::HOST, "console.test")
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={TOKEN}")))
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let set_cookie = r.headers[header::SET_COOKIE].to_str().expect("cookie");
    set_cookie.split(';').next().expect("pair").to_owned()
}

async fn session(app: &axum::Router, cookie: &str) -> Reply {
    call(
        app,
        "GET",
        "/admin/api/session",
        &[("cookie", cookie), ("host", "console.test")],
        None,
    )
    .await
}

#[tokio::test]
async fn a_redis_started_after_the_gateways_is_shared_by_every_user() {
    let port = testkit::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = testkit::unique("redis-recovery");
    let started = Instant::now();
    let gateways = [gateway(&url, &prefix).await, gateway(&url, &prefix).await];
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "a missing Redis delayed start-up by {:?}",
        started.elapsed()
    );

    // Without Redis: each gateway counts alone, and a hash registered on one is unknown to the
    // other.
    let a = remaining(&graphql(&gateways[0], json!({ "query": TEAMS })).await);
    let b = remaining(&graphql(&gateways[1], json!({ "query": TEAMS })).await);
    assert_eq!(
        a, b,
        "two gateways counting alone start from the same budget"
    );
    let hash = gateway::persisted::sha256_hex(TEAMS);
    let pq = |with_text: bool| {
        let mut body =
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
        if with_text {
            body["query"] = json!(TEAMS);
        }
        body
    };
    graphql(&gateways[0], pq(true)).await;
    let unknown = graphql(&gateways[1], pq(false)).await;
    assert_eq!(
        unknown.body["errors"][0]["message"], "PersistedQueryNotFound",
        "{}",
        unknown.text
    );

    // Redis comes up; every user of the handle reconnects on its own.
    let _redis = RedisServer::start(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Registered through gateway 0 (again: its first registration had no Redis to go to),
        // resolved by hash alone through gateway 1 once both are connected.
        graphql(&gateways[0], pq(true)).await;
        let r = graphql(&gateways[1], pq(false)).await;
        if r.body["data"]["teams"].is_array() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "persisted queries never became shared: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Rate limits: one budget, spent through both gateways in turn.
    let first = remaining(&graphql(&gateways[0], json!({ "query": TEAMS })).await);
    let second = remaining(&graphql(&gateways[1], json!({ "query": TEAMS })).await);
    let third = remaining(&graphql(&gateways[0], json!({ "query": TEAMS })).await);
    assert_eq!(
        (second, third),
        (first - 1, first - 2),
        "the budget is not shared"
    );

    // The admin session store: a logout on gateway 0 ends the session on gateway 1.
    let cookie = login(&gateways[0]).await;
    let on_b = session(&gateways[1], &cookie).await;
    assert_eq!(on_b.status, StatusCode::OK, "{}", on_b.text);
    let csrf = session(&gateways[0], &cookie).await.body["csrf"]
        .as_str()
        .expect("csrf")
        .to_owned();
    let out = call(
        &gateways[0],
        "POST",
        "/admin/logout",
        &[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("host", "console.test"),
        ],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.text);
    let after = session(&gateways[1], &cookie).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.text);
}
