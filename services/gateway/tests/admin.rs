//! The admin API against real Neo4j: authentication (none, wrong, token, JWT, session cookie),
//! CSRF refusals, index and constraint management checked in Neo4j, drift and its repair,
//! recommendations from executed queries, history samples, and the audit log of every action.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use testkit::neo4j;

const TOKEN: &str = "admin-test-token";
const JWT_SECRET: &str = "admin-test-jwt-secret";

async fn gateway(admin: gateway::admin::AdminConfig) -> axum::Router {
    testkit::gateway(gateway::GatewayConfig {
        admin,
        ..gateway::GatewayConfig::default()
    })
    .await
}

fn config() -> gateway::admin::AdminConfig {
    gateway::admin::AdminConfig {
        jwt_secret: Some(JWT_SECRET.into()),
        history_interval: Duration::from_millis(200),
        ..gateway::admin::AdminConfig::with_token(TOKEN)
    }
}

use testkit::http::send;

fn req(method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Request<Body> {
    let mut with_host = vec![("host", "console.test")];
    with_host.extend_from_slice(headers);
    testkit::http::request(method, path, &with_host, body.as_ref())
}

const BEARER: (&str, &str) = ("authorization", "Bearer admin-test-token");

fn jwt(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("jwt")
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Indexes on `(label, property)` as Neo4j reports them: (name, type, state).
async fn indexes_on(label: &str, property: &str) -> Vec<(String, String, String)> {
    let rows = neo4j()
        .await
        .run(
            &graph::Statement::new(
                "SHOW INDEXES YIELD name, type, state, labelsOrTypes, properties \
                 WHERE $label IN labelsOrTypes AND properties = [$property] RETURN name, type, state",
            )
            .param("label", label)
            .param("property", property),
            graph::AccessMode::Read,
        )
        .await
        .expect("show indexes")
        .rows;
    rows.iter()
        .map(|r| {
            let t = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            (t("name"), t("type"), t("state"))
        })
        .collect()
}

async fn drop_indexes_on(label: &str, property: &str) {
    for (name, _, _) in indexes_on(label, property).await {
        let _ = neo4j()
            .await
            .run(
                &graph::Statement::new(format!("DROP INDEX `{name}` IF EXISTS")),
                graph::AccessMode::Write,
            )
            .await;
    }
}

#[tokio::test]
async fn nothing_answers_without_an_admin_credential() {
    let app = gateway(config()).await;
    for path in [
        "/admin/api/schema",
        "/admin/api/topology",
        "/admin/api/audit",
    ] {
        let r = send(&app, req("GET", path, &[], None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
        assert_eq!(r.body["error"]["code"], "UNAUTHENTICATED", "{}", r.text);
        assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
    }
    // The page and its assets send a browser to the login page.
    for path in ["/admin", "/admin/", "/admin/assets/console.js"] {
        let r = send(&app, req("GET", path, &[], None)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers[header::LOCATION], "/admin/login");
    }
    // Wrong token, forged and unprivileged JWTs.
    let wrong = send(
        &app,
        req(
            "GET",
            "/admin/api/schema",
            &[("authorization", "Bearer nope")],
            None,
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("not valid"), "{}", wrong.text);
    let exp = now_s() + 600;
    let reader = jwt(json!({"sub": "rita", "exp": exp, "roles": ["read"]}));
    let r = send(
        &app,
        req(
            "GET",
            "/admin/api/schema",
            &[("authorization", &format!("Bearer {reader}"))],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("admin` role"), "{}", r.text);
    let expired = jwt(json!({"sub": "old", "exp": exp - 7200, "roles": ["admin"]}));
    let r = send(
        &app,
        req(
            "GET",
            "/admin/api/schema",
            &[("authorization", &format!("Bearer {expired}"))],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("Expired"), "{}", r.text);
    // The right token and an admin JWT get in.
    let r = send(&app, req("GET", "/admin/api/schema", &[BEARER], None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["indexes"].as_array().is_some_and(|i| !i.is_empty()));
    assert!(r.body["ontology"]["nodes"]
        .as_array()
        .is_some_and(|n| n.iter().any(|n| n["label"] == "Organization")));
    let admin = jwt(json!({"sub": "alice", "exp": exp, "scope": "read admin"}));
    let r = send(
        &app,
        req(
            "GET",
            "/admin/api/session",
            &[("authorization", &format!("Bearer {admin}"))],
            None,
        ),
    )
    .await;
    assert_eq!(r.body["subject"], "alice", "{}", r.text);
    assert_eq!(r.body["via"], "bearer");
    // Refused attempts are audited.
    let audit = send(&app, req("GET", "/admin/api/audit", &[BEARER], None)).await;
    assert!(
        audit.body["entries"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["action"] == "auth" && e["result"] == "refused")),
        "{}",
        audit.text
    );

    // With no admin credential configured, the admin surface is closed, not open.
    let closed = gateway(gateway::admin::AdminConfig::default()).await;
    let r = send(
        &closed,
        req(
            "GET",
            "/admin/api/topology",
            &[("authorization", "Bearer anything")],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], "ADMIN_DISABLED", "{}", r.text);
}

#[tokio::test]
async fn console_session_csrf_index_lifecycle_and_audit() {
    drop_indexes_on("Organization", "founded").await;
    let app = gateway(config()).await;

    // Login: a wrong token is refused with the form again; the right one sets the cookie.
    let form = |token: &str| {
        Request::builder()
            .method("POST")
            .uri("/admin/login")
            .header(header::HOST, "console.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .expect("request")
    };
    let r = send(&app, form("wrong")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("Login failed"), "{}", r.text);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let r = send(&app, form(TOKEN)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/admin");
    let set_cookie = r.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age="] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let page = send(&app, req("GET", "/admin", &[("cookie", &cookie)], None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .is_ok_and(|c| c.contains("frame-ancestors 'none'")));
    let session = send(
        &app,
        req("GET", "/admin/api/session", &[("cookie", &cookie)], None),
    )
    .await;
    let csrf = session.body["csrf"]
        .as_str()
        .expect("csrf token")
        .to_owned();
    assert_eq!(session.body["subject"], "admin");

    // A hot query filtering on an unindexed property is recommended an index.
    let q = json!({"query": "{ organizations(where: { founded: { gt: 1990 } }) { name } }"});
    for _ in 0..3 {
        let r = send(&app, req("POST", "/graphql", &[], Some(q.clone()))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let rec = send(
        &app,
        req("GET", "/admin/api/schema/recommendations", &[BEARER], None),
    )
    .await;
    let missing = rec.body["missingIndexes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let founded = missing
        .iter()
        .find(|m| m["label"] == "Organization" && m["property"] == "founded");
    assert!(
        founded.is_some_and(|m| m["kind"] == "range"
            && m["uses"] == json!(["filter"])
            && m["executions"].as_u64() >= Some(3)),
        "{}",
        rec.text
    );

    // State changes with the cookie need the CSRF token and a same-origin request.
    let body = json!({"kind": "range", "entity": "node", "labels": ["Organization"], "properties": ["founded"], "name": "console_test_founded"});
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("no token", vec![("cookie", &cookie)]),
        (
            "wrong token",
            vec![("cookie", &cookie), ("x-csrf-token", "0123")],
        ),
        (
            "other origin",
            vec![
                ("cookie", &cookie),
                ("x-csrf-token", &csrf),
                ("origin", "https://evil.example"),
            ],
        ),
        (
            "cross-site fetch",
            vec![
                ("cookie", &cookie),
                ("x-csrf-token", &csrf),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
    ];
    for (what, headers) in cases {
        let r = send(
            &app,
            req(
                "POST",
                "/admin/api/schema/indexes",
                &headers,
                Some(body.clone()),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
        assert_eq!(r.body["error"]["code"], "CSRF", "{what}");
    }
    assert!(
        indexes_on("Organization", "founded").await.is_empty(),
        "a refused request created an index"
    );

    // Same origin with the token: created, and it reaches ONLINE in Neo4j.
    let ok_headers = [
        ("cookie", cookie.as_str()),
        ("x-csrf-token", csrf.as_str()),
        ("origin", "http://console.test"),
    ];
    let r = send(
        &app,
        req(
            "POST",
            "/admin/api/schema/indexes",
            &ok_headers,
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["cypher"],
        "CREATE INDEX `console_test_founded` FOR (n:`Organization`) ON (n.`founded`)"
    );
    let mut online = false;
    for _ in 0..100 {
        let found = indexes_on("Organization", "founded").await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "RANGE");
        if found[0].2 == "ONLINE" {
            online = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(online, "the index never came ONLINE");
    let listed = send(&app, req("GET", "/admin/api/schema", &[BEARER], None)).await;
    let row = listed.body["indexes"].as_array().and_then(|i| {
        i.iter()
            .find(|i| i["name"] == "console_test_founded")
            .cloned()
    });
    assert!(
        row.is_some_and(|r| r["state"] == "ONLINE" && r["readCount"].is_i64()),
        "{}",
        listed.text
    );
    // The recommendation is gone now that an index serves the filter.
    let rec = send(
        &app,
        req("GET", "/admin/api/schema/recommendations", &[BEARER], None),
    )
    .await;
    assert!(
        !rec.text.contains("\"property\":\"founded\""),
        "{}",
        rec.text
    );
    // Creating it again is a conflict that names Neo4j's reason.
    let again = send(
        &app,
        req(
            "POST",
            "/admin/api/schema/indexes",
            &[BEARER],
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    // An invalid request names the problem and runs nothing.
    let bad = json!({"kind": "text", "entity": "node", "labels": ["Organization"], "properties": ["founded"]});
    let r = send(
        &app,
        req("POST", "/admin/api/schema/indexes", &[BEARER], Some(bad)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "INVALID_INDEX");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`founded` is Int")),
        "{}",
        r.text
    );
    let r = send(
        &app,
        req(
            "POST",
            "/admin/api/schema/indexes",
            &[BEARER],
            Some(json!({"kind": "range", "labels": ["Nope"], "properties": ["x"]})),
        ),
    )
    .await;
    assert!(r.text.contains("`Nope` is not a node label"), "{}", r.text);

    // Dropping needs the name repeated; an index behind a constraint cannot be dropped alone.
    let path = "/admin/api/schema/indexes/console_test_founded";
    let r = send(&app, req("DELETE", path, &ok_headers, None)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], "CONFIRMATION_REQUIRED");
    assert_eq!(indexes_on("Organization", "founded").await.len(), 1);
    let r = send(
        &app,
        req(
            "DELETE",
            "/admin/api/schema/indexes/og_uniq_Organization_name?confirm=og_uniq_Organization_name",
            &[BEARER],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "OWNED_INDEX");
    let r = send(
        &app,
        req(
            "DELETE",
            &format!("{path}?confirm=console_test_founded"),
            &ok_headers,
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        indexes_on("Organization", "founded").await.is_empty(),
        "the index is still there"
    );
    let r = send(
        &app,
        req(
            "DELETE",
            &format!("{path}?confirm=console_test_founded"),
            &[BEARER],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // History: the sampler (started with the gateway) saw the GraphQL requests.
    let r = send(&app, req("POST", "/graphql", &[], Some(q))).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut seen = false;
    let mut last = String::new();
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let h = send(&app, req("GET", "/admin/api/history", &[BEARER], None)).await;
        last = h.text.clone();
        if h.body["samples"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["requests"].as_u64() >= Some(1)))
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "no history sample counted the request: {last}");

    // The audit log has each action: who, what, on what, when, the result.
    let audit = send(
        &app,
        req("GET", "/admin/api/audit?limit=500", &[BEARER], None),
    )
    .await;
    let entries = audit.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let has = |action: &str, target: &str, result: &str| {
        entries.iter().any(|e| {
            e["action"] == action
                && e["target"].as_str().is_some_and(|t| t.contains(target))
                && e["result"] == result
                && e["atMs"].as_u64().is_some_and(|t| t > 0)
        })
    };
    for (action, target, result) in [
        ("login", "console", "refused"),
        ("login", "console", "ok"),
        ("csrf", "/admin/api/schema/indexes", "refused"),
        ("index.create", "console_test_founded", "ok"),
        ("index.create", "console_test_founded", "error"),
        ("index.create", "Organization", "error"),
        ("index.drop", "console_test_founded", "ok"),
        ("index.drop", "og_uniq_Organization_name", "error"),
    ] {
        assert!(
            has(action, target, result),
            "no audit entry {action} {target} {result}: {}",
            audit.text
        );
    }
    assert!(entries
        .iter()
        .filter(|e| e["action"] == "index.create" && e["result"] == "ok")
        .all(|e| e["who"] == "admin"));

    // Logout clears the cookie.
    let r = send(&app, req("POST", "/admin/logout", &ok_headers, None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .is_ok_and(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn constraints_and_drift_between_the_ontology_and_the_database() {
    let app = gateway(config()).await;
    let client = neo4j().await;
    // An extra managed index the ontology does not declare.
    client
        .run(
            &graph::Statement::new("CREATE TEXT INDEX og_text_Organization_name IF NOT EXISTS FOR (n:Organization) ON (n.name)"),
            graph::AccessMode::Write,
        )
        .await
        .expect("extra index");
    let drift = send(&app, req("GET", "/admin/api/schema/drift", &[BEARER], None)).await;
    assert_eq!(drift.status, StatusCode::OK, "{}", drift.text);
    assert!(
        drift.body["extra"]
            .as_array()
            .is_some_and(|e| e.iter().any(|n| n == "og_text_Organization_name")),
        "{}",
        drift.text
    );
    assert!(
        drift.body["kept"]
            .as_array()
            .is_some_and(|k| k.iter().any(|n| n == "og_uniq_Person_handle")),
        "{}",
        drift.text
    );
    // Apply without drops keeps it; with drops removes it.
    let kept = send(
        &app,
        req(
            "POST",
            "/admin/api/schema/drift/apply",
            &[BEARER],
            Some(json!({"drop": false})),
        ),
    )
    .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(
        indexes_on("Organization", "name")
            .await
            .iter()
            .filter(|i| i.0 == "og_text_Organization_name")
            .count(),
        1
    );
    let applied = send(
        &app,
        req(
            "POST",
            "/admin/api/schema/drift/apply",
            &[BEARER],
            Some(json!({"drop": true})),
        ),
    )
    .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text);
    assert!(
        applied.body["dropped"]
            .as_array()
            .is_some_and(|d| d.iter().any(|n| n == "og_text_Organization_name")),
        "{}",
        applied.text
    );
    assert!(!indexes_on("Organization", "name")
        .await
        .iter()
        .any(|i| i.0 == "og_text_Organization_name"));
    let after = send(&app, req("GET", "/admin/api/schema/drift", &[BEARER], None)).await;
    assert_eq!(after.body["missing"], json!([]), "{}", after.text);
    assert!(
        !after.text.contains("og_text_Organization_name"),
        "{}",
        after.text
    );

    // A uniqueness constraint on a relationship type, validated against the ontology.
    let name = "console_test_membership_role";
    let _ = client
        .run(
            &graph::Statement::new(format!("DROP CONSTRAINT {name} IF EXISTS")),
            graph::AccessMode::Write,
        )
        .await;
    let bad = send(
        &app,
        req(
            "POST",
            "/admin/api/schema/constraints",
            &[BEARER],
            Some(json!({"entity": "relationship", "label": "MEMBER_OF", "properties": ["salary"]})),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text
            .contains("`salary` is not a property of `MEMBER_OF`"),
        "{}",
        bad.text
    );
    let made = send(&app, req("POST", "/admin/api/schema/constraints", &[BEARER], Some(json!({"entity": "relationship", "label": "MEMBER_OF", "properties": ["role", "since"], "name": name})))).await;
    // Existing memberships may share a (role, since) pair; then Neo4j refuses, as it should.
    match made.status {
        StatusCode::CREATED => {
            let dropped = send(
                &app,
                req(
                    "DELETE",
                    &format!("/admin/api/schema/constraints/{name}?confirm={name}"),
                    &[BEARER],
                    None,
                ),
            )
            .await;
            assert_eq!(dropped.status, StatusCode::OK, "{}", dropped.text);
        }
        StatusCode::CONFLICT => assert!(made.text.contains("Neo4j refused"), "{}", made.text),
        other => panic!("unexpected {other}: {}", made.text),
    }
}

#[tokio::test]
async fn logout_ends_the_session_on_every_gateway_and_the_audit_log_is_shared() {
    let prefix = testkit::unique("admin-test");
    let mut apps = Vec::new();
    for _ in 0..2 {
        apps.push(
            testkit::gateway(gateway::GatewayConfig {
                admin: config(),
                redis: Some(testkit::redis()),
                redis_prefix: prefix.clone(),
                ..gateway::GatewayConfig::default()
            })
            .await,
        );
    }
    // A browser's form post: `Origin: null` under a no-referrer policy, but same-origin by its
    // fetch metadata, is a login; the same post from another site is not.
    let login = |site: &str| {
        Request::builder()
            .method("POST")
            .uri("/admin/login")
            .header(header::HOST, "console.test")
            .header(header::ORIGIN, "null")
            .header("sec-fetch-site", site)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={TOKEN}")))
            .expect("request")
    };
    let refused = send(&apps[0], login("cross-site")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let r = send(&apps[0], login("same-origin")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let set_cookie = r.headers[header::SET_COOKIE].to_str().expect("cookie");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    // The session works on both gateways (same secrets, stateless cookie).
    for app in &apps {
        let r = send(
            app,
            req("GET", "/admin/api/session", &[("cookie", &cookie)], None),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let csrf = send(
        &apps[0],
        req("GET", "/admin/api/session", &[("cookie", &cookie)], None),
    )
    .await
    .body["csrf"]
        .as_str()
        .expect("csrf")
        .to_owned();
    let out = send(
        &apps[0],
        req(
            "POST",
            "/admin/logout",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            None,
        ),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // A copy of the cookie is refused afterwards, on the other gateway too.
    for app in &apps {
        let r = send(
            app,
            req("GET", "/admin/api/session", &[("cookie", &cookie)], None),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        let page = send(app, req("GET", "/admin", &[("cookie", &cookie)], None)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    // Both gateways' actions are in the shared log, seen from either one.
    let audit = send(&apps[1], req("GET", "/admin/api/audit", &[BEARER], None)).await;
    assert_eq!(audit.body["source"], "redis+local", "{}", audit.text);
    let entries = audit.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (action, result) in [("login", "refused"), ("login", "ok"), ("logout", "ok")] {
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == action && e["result"] == result),
            "{action} {result} missing: {}",
            audit.text
        );
    }
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let app = gateway(config()).await;
    let login = |token: &str| {
        Request::builder()
            .method("POST")
            .uri("/admin/login")
            .header(header::HOST, "console.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .expect("request")
    };
    for i in 0..10 {
        let r = send(&app, login(&format!("guess-{i}"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The eleventh is refused before the token is even looked at, the right one included.
    let r = send(&app, login(TOKEN)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.headers[header::RETRY_AFTER], "300");
    assert!(r.text.contains("Too many failed logins"), "{}", r.text);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let audit = send(&app, req("GET", "/admin/api/audit", &[BEARER], None)).await;
    assert!(
        audit.text.contains("too many failed logins"),
        "{}",
        audit.text
    );
}
