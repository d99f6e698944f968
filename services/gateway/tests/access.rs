//! Access control of the GraphQL API against real Neo4j: JWTs (HS256, and RS256 / ES256 from a
//! JWKS file), API keys, anonymous reads, roles per operation, and the admin role on the admin
//! API. Every refusal must name its reason.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tower::ServiceExt;

const HS_SECRET: &str = "access-test-hs256-secret";
const READ_KEY: &str = "read-key-0123456789abcdef";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/auth")
        .join(name)
}

fn roles(r: &[&str]) -> BTreeSet<String> {
    r.iter().map(|s| (*s).to_owned()).collect()
}

fn access_config() -> gateway::access::AccessConfig {
    gateway::access::AccessConfig {
        jwt_secret: Some(HS_SECRET.into()),
        jwks_file: Some(fixture("jwks.json")),
        issuer: Some("https://issuer.test".into()),
        audience: Some("ontograph-api".into()),
        api_keys: vec![
            gateway::access::ApiKey {
                name: "dashboard".into(),
                key: READ_KEY.into(),
                roles: roles(&["read"]),
            },
            gateway::access::ApiKey {
                name: "ops-bot".into(),
                key: ADMIN_KEY.into(),
                roles: roles(&["admin"]),
            },
        ],
        ..gateway::access::AccessConfig::default()
    }
}

async fn app(access: gateway::access::AccessConfig) -> axum::Router {
    let config = gateway::GatewayConfig {
        access,
        ..gateway::GatewayConfig::default()
    };
    testkit::gateway(config).await
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn claims(sub: &str, r: &[&str]) -> Value {
    json!({"sub": sub, "roles": r, "iss": "https://issuer.test", "aud": "ontograph-api", "exp": now() + 600})
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

fn rs256(claims: &Value, kid: &str) -> String {
    let pem = std::fs::read(fixture("rsa-private.pem")).expect("rsa key");
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_rsa_pem(&pem).expect("pem")).expect("token")
}

fn es256(claims: &Value) -> String {
    let pem = std::fs::read(fixture("ec-private.pk8.pem")).expect("ec key");
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("test-ec".into());
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_ec_pem(&pem).expect("pem")).expect("token")
}

use testkit::http::Reply;

async fn call(app: &axum::Router, path: &str, query: &str, auth: Option<(&str, String)>) -> Reply {
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = json!({ "query": query });
    testkit::http::call(app, "POST", path, &auth, Some(&body)).await
}

const QUERY: &str = "{ teams(limit: 1) { name } }";
const MUTATION: &str = r#"mutation { deletePeople(where: { handle: { eq: "access-test-nobody" } }) { nodesDeleted } }"#;

fn bearer(token: String) -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {token}")))
}

fn message(r: &Reply) -> String {
    r.message().to_owned()
}

fn code(r: &Reply) -> String {
    r.code().to_owned()
}

#[tokio::test]
async fn every_refusal_names_its_reason() {
    let app = app(access_config()).await;
    let refused = |r: &Reply, status: StatusCode, needle: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        assert!(message(r).contains(needle), "`{needle}` not in: {}", r.body);
    };
    // No credential.
    let r = call(&app, "/graphql", QUERY, None).await;
    refused(&r, StatusCode::UNAUTHORIZED, "authentication required");
    assert_eq!(code(&r), "UNAUTHENTICATED");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // Expired (beyond the leeway).
    let mut expired = claims("eve", &["read"]);
    expired["exp"] = json!(now() - 3600);
    let r = call(&app, "/graphql", QUERY, bearer(hs256(&expired, HS_SECRET))).await;
    refused(&r, StatusCode::UNAUTHORIZED, "expired");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|c| c.contains("error=\"invalid_token\"")));
    // Wrong signature.
    let r = call(
        &app,
        "/graphql",
        QUERY,
        bearer(hs256(&claims("eve", &["read"]), "not-the-secret")),
    )
    .await;
    refused(&r, StatusCode::UNAUTHORIZED, "signature does not verify");
    // Wrong audience and issuer.
    let mut aud = claims("eve", &["read"]);
    aud["aud"] = json!("another-api");
    let r = call(&app, "/graphql", QUERY, bearer(hs256(&aud, HS_SECRET))).await;
    refused(
        &r,
        StatusCode::UNAUTHORIZED,
        "another audience (expected `ontograph-api`)",
    );
    let mut iss = claims("eve", &["read"]);
    iss["iss"] = json!("https://evil.test");
    let r = call(&app, "/graphql", QUERY, bearer(rs256(&iss, "test-rsa"))).await;
    refused(&r, StatusCode::UNAUTHORIZED, "another issuer");
    // A key the set does not have.
    let r = call(
        &app,
        "/graphql",
        QUERY,
        bearer(rs256(&claims("eve", &["read"]), "rotated-away")),
    )
    .await;
    refused(&r, StatusCode::UNAUTHORIZED, "no key `rotated-away`");
    // Garbage and a bad API key.
    let r = call(&app, "/graphql", QUERY, bearer("not.a.jwt".into())).await;
    refused(&r, StatusCode::UNAUTHORIZED, "malformed");
    let r = call(
        &app,
        "/graphql",
        QUERY,
        Some(("x-api-key", "wrong-key-0123456789".into())),
    )
    .await;
    refused(&r, StatusCode::UNAUTHORIZED, "API key is not valid");
    // Missing roles: 403 naming the role needed and the caller's roles.
    let r = call(
        &app,
        "/graphql",
        QUERY,
        bearer(hs256(&claims("nobody", &[]), HS_SECRET)),
    )
    .await;
    refused(
        &r,
        StatusCode::FORBIDDEN,
        "queries need the `read` role; `nobody` has no role",
    );
    assert_eq!(code(&r), "FORBIDDEN");
    let r = call(
        &app,
        "/graphql",
        MUTATION,
        bearer(rs256(&claims("rita", &["read"]), "test-rsa")),
    )
    .await;
    refused(
        &r,
        StatusCode::FORBIDDEN,
        "mutations need the `write` role; `rita` has roles read",
    );
    let r = call(
        &app,
        "/graphql",
        MUTATION,
        Some(("x-api-key", READ_KEY.into())),
    )
    .await;
    refused(&r, StatusCode::FORBIDDEN, "`dashboard` has roles read");
}

#[tokio::test]
async fn valid_credentials_get_what_their_roles_allow() {
    let app = app(access_config()).await;
    let ok = |r: &Reply| {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.get("errors").is_none(), "{}", r.body);
    };
    ok(&call(
        &app,
        "/graphql",
        QUERY,
        bearer(hs256(&claims("hana", &["read"]), HS_SECRET)),
    )
    .await);
    ok(&call(
        &app,
        "/graphql",
        QUERY,
        bearer(rs256(&claims("rsa", &["read"]), "test-rsa")),
    )
    .await);
    ok(&call(
        &app,
        "/graphql",
        MUTATION,
        bearer(es256(&claims("ec", &["write"]))),
    )
    .await);
    // `scope` strings work as role lists too, and admin implies write.
    let mut scoped = claims("sam", &[]);
    scoped["roles"] = json!("admin other");
    ok(&call(
        &app,
        "/graphql",
        MUTATION,
        bearer(hs256(&scoped, HS_SECRET)),
    )
    .await);
    ok(&call(
        &app,
        "/graphql",
        QUERY,
        Some(("x-api-key", READ_KEY.into())),
    )
    .await);
    ok(&call(
        &app,
        "/graphql",
        QUERY,
        Some(("authorization", format!("ApiKey {READ_KEY}"))),
    )
    .await);
    // Within the leeway, a just-expired token still works.
    let mut recent = claims("late", &["read"]);
    recent["exp"] = json!(now() - 5);
    ok(&call(&app, "/graphql", QUERY, bearer(hs256(&recent, HS_SECRET))).await);

    // The admin API takes an API credential with the admin role, and refuses one without.
    let admin = |key: &str| {
        Request::get("/admin/api/topology")
            .header("x-api-key", key)
            .body(Body::empty())
            .expect("request")
    };
    let r = app
        .clone()
        .oneshot(admin(ADMIN_KEY))
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .clone()
        .oneshot(admin(READ_KEY))
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains("`dashboard` does not have the `admin` role"));
}

#[tokio::test]
async fn anonymous_reads_only_when_configured() {
    let app = app(gateway::access::AccessConfig {
        anonymous_reads: true,
        ..access_config()
    })
    .await;
    let r = call(&app, "/graphql", QUERY, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(&app, "/graphql", MUTATION, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        message(&r).contains("`anonymous` has roles read"),
        "{}",
        r.body
    );
    // A bad credential is still refused: anonymous is for requests without one.
    let r = call(
        &app,
        "/graphql",
        QUERY,
        bearer(hs256(&claims("x", &["read"]), "wrong")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // With access control off (nothing configured), everyone reads and writes.
    let open = app_open().await;
    assert_eq!(
        call(&open, "/graphql", MUTATION, None).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
}

async fn app_open() -> axum::Router {
    app(gateway::access::AccessConfig::default()).await
}

#[tokio::test]
async fn keys_come_from_a_jwks_url_too_and_a_rotated_key_is_fetched() {
    // The server first publishes only the RSA key; the EC key is "rotated in" later.
    let full: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("jwks.json")).expect("jwks"))
            .expect("json");
    let rsa_only = json!({ "keys": [full["keys"][0].clone()] });
    let published = std::sync::Arc::new(std::sync::Mutex::new(rsa_only.to_string()));
    let serving = published.clone();
    let server = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let jwks = serving.lock().expect("lock").clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, server).await });
    let app = app(gateway::access::AccessConfig {
        jwt_secret: None,
        jwks_file: None,
        jwks_url: Some(format!("http://{addr}/.well-known/jwks.json")),
        ..access_config()
    })
    .await;
    let rsa = bearer(rs256(&claims("url", &["read"]), "test-rsa"));
    let r = call(&app, "/graphql", QUERY, rsa).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A key rotated in after the gateway loaded the set: the first token naming it makes the
    // gateway fetch the set again, and it verifies.
    *published.lock().expect("lock") = full.to_string();
    let r = call(
        &app,
        "/graphql",
        QUERY,
        bearer(es256(&claims("url", &["read"]))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // HS256 is not accepted when no secret is configured.
    let r = call(
        &app,
        "/graphql",
        QUERY,
        bearer(hs256(&claims("x", &["read"]), HS_SECRET)),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(message(&r).contains("HS256"), "{}", r.body);
}

fn with_bearer(token: &str) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    headers
}

#[tokio::test]
async fn a_remembered_token_stops_at_its_expiry_and_when_its_key_leaves_the_set() {
    let dir = std::env::temp_dir().join(testkit::unique("jwks"));
    std::fs::create_dir_all(&dir).expect("dir");
    let jwks_path = dir.join("jwks.json");
    let full: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("jwks.json")).expect("jwks"))
            .expect("json");
    std::fs::write(&jwks_path, full.to_string()).expect("write");
    let access = std::sync::Arc::new(gateway::access::Access::new(
        gateway::access::AccessConfig {
            jwks_file: Some(jwks_path.clone()),
            leeway: Duration::ZERO,
            ..access_config()
        },
    ));
    access.start().await;

    // Verified once, then answered from memory: the same caller either way.
    let rsa = rs256(&claims("remembered", &["write"]), "test-rsa");
    let first = access
        .authenticate(&with_bearer(&rsa))
        .await
        .expect("valid");
    let again = access
        .authenticate(&with_bearer(&rsa))
        .await
        .expect("valid");
    assert_eq!(first, again);
    assert!(again.has("write"));

    // The RSA key is taken out of the set: after the reload the remembered token is refused.
    let ec_only = json!({ "keys": [full["keys"][1].clone()] });
    assert_eq!(
        full["keys"][1]["kid"], "test-ec",
        "fixture order: RSA key first, EC key second"
    );
    std::fs::write(&jwks_path, ec_only.to_string()).expect("write");
    assert_eq!(access.refresh_keys().await, Ok(1));
    assert_eq!(
        access.authenticate(&with_bearer(&rsa)).await,
        Err(gateway::access::AuthError::UnknownKey("test-rsa".into()))
    );

    // A token remembered while valid is refused once its `exp` has passed.
    let mut short = claims("short-lived", &["read"]);
    short["exp"] = json!(now() + 1);
    let token = es256(&short);
    assert!(access.authenticate(&with_bearer(&token)).await.is_ok());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        access.authenticate(&with_bearer(&token)).await,
        Err(gateway::access::AuthError::Expired)
    );
    std::fs::remove_dir_all(&dir).ok();
}
