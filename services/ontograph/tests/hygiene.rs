//! `ontograph serve` as a process: secrets and tokens never reach its logs (at debug level, with
//! every kind of credential sent, good and bad), CORS answers only the configured origins, and
//! the console's pages carry their security headers.

use std::process::Command;

const JWT_SECRET: &str = "hygiene-jwt-secret-5f3c1d";
const API_KEY: &str = "hygiene-api-key-9a8b7c6d5e";
const ADMIN_TOKEN: &str = "hygiene-admin-token-4e2a1b";
const INGEST_SECRET: &str = "hygiene-ingest-secret-77aa";

fn token() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 600)
        .unwrap_or(0);
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({"sub": "hygiene", "roles": ["read"], "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token")
}

#[tokio::test]
async fn secrets_stay_out_of_logs_cors_and_console_headers() {
    let password = testkit::env("NEO4J_PASSWORD");
    let api_keys = format!("hygiene=read:{API_KEY}");
    let (mut child, port) = testkit::spawn_serve(
        env!("CARGO_BIN_EXE_ontograph"),
        &[
            (
                "RUST_LOG",
                "debug,neo4rs=info,hyper=info,h2=info,lapin=info",
            ),
            ("ONTOGRAPH_JWT_SECRET", JWT_SECRET),
            ("ONTOGRAPH_API_KEYS", &api_keys),
            ("ONTOGRAPH_ADMIN_TOKEN", ADMIN_TOKEN),
            ("ONTOGRAPH_INGEST_SECRET_INTERNAL", INGEST_SECRET),
            ("ONTOGRAPH_CORS_ORIGINS", "https://app.example"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let jwt = token();
    let query = serde_json::json!({"query": "{ teams(limit: 1) { name } }"}).to_string();
    let post = |auth: Option<(&'static str, String)>| {
        let mut r = http
            .post(format!("{base}/graphql"))
            .header("content-type", "application/json")
            .body(query.clone());
        if let Some((k, v)) = auth {
            r = r.header(k, v);
        }
        r.send()
    };
    assert_eq!(
        post(Some(("authorization", format!("Bearer {jwt}"))))
            .await
            .expect("jwt")
            .status(),
        200
    );
    assert_eq!(
        post(Some(("x-api-key", API_KEY.to_owned())))
            .await
            .expect("key")
            .status(),
        200
    );
    assert_eq!(
        post(Some(("x-api-key", format!("{API_KEY}x"))))
            .await
            .expect("bad key")
            .status(),
        401
    );
    assert_eq!(
        post(Some(("authorization", format!("Bearer {jwt}x"))))
            .await
            .expect("bad jwt")
            .status(),
        401
    );
    assert_eq!(post(None).await.expect("none").status(), 401);
    let admin = http
        .get(format!("{base}/admin/api/topology"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin");
    assert_eq!(admin.status(), 200);
    let login = http
        .post(format!("{base}/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}"))
        .send()
        .await
        .expect("login");
    assert!(login.status().is_redirection() || login.status().is_success());
    let wrong = http
        .post(format!("{base}/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}-wrong"))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);

    // CORS: the configured origin gets its headers, another origin gets none.
    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, format!("{base}/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example").await.expect("preflight");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://app.example"[..])
    );
    assert!(allowed
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| h.contains("authorization")));
    assert!(allowed
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let other = preflight("https://evil.example").await.expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // The admin surface is not opened to other origins by the API's CORS.
    let admin_cors = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/admin/api/topology"),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("preflight");
    assert!(admin_cors
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    // The console's pages carry their security headers.
    let page = http
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .expect("page");
    let h = page.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .is_ok_and(|c| c.contains("default-src 'self'") && c.contains("frame-ancestors 'none'")));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");

    // Stop, then read everything it logged.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let logs = testkit::stderr_of(&mut child);
    let _ = child.wait();
    assert!(
        logs.contains("graphql request"),
        "debug logs were written: {}",
        &logs[..logs.len().min(2000)]
    );
    for (what, secret) in [
        ("the Neo4j password", password.as_str()),
        ("the JWT secret", JWT_SECRET),
        ("the API key", API_KEY),
        ("the admin token", ADMIN_TOKEN),
        ("the ingestion secret", INGEST_SECRET),
        ("a bearer token", jwt.as_str()),
    ] {
        if secret.len() >= 6 {
            assert!(!logs.contains(secret), "{what} appears in the logs");
        }
    }
    // JWT signatures alone would do harm too.
    let signature = jwt.rsplit('.').next().unwrap_or("");
    assert!(
        !logs.contains(signature),
        "a token's signature appears in the logs"
    );
}
