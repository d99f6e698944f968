//! Helpers shared by the tests that run against the local stack (`scripts/test` starts Neo4j,
//! Redis and RabbitMQ and exports their URLs): the environment, unique names, the repository's
//! default ontology and mapping rules, connections, and requests to an in-process gateway
//! ([`http`]). A dev-dependency only.

pub mod http;

use std::path::PathBuf;
use std::time::SystemTime;

/// A variable `scripts/test` exports (`NEO4J_URI`, `REDIS_URL`, `AMQP_URL`...), or a panic that
/// says how to run the test.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests through scripts/test, which starts the local stack"
        )
    })
}

/// `name-<nanoseconds>-<n>`: a prefix no other test run, and no other call in this one, uses.
pub fn unique(name: &str) -> String {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}-{nanos}-{n}")
}

/// A loopback port free right now (for a process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The repository's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `schema/ontology.graphql`, parsed.
pub fn ontology() -> ontology::Ontology {
    let text = std::fs::read_to_string(root().join("schema/ontology.graphql")).expect("ontology");
    ontology::parse_ontology(&text).expect("valid ontology")
}

/// The shipped mapping rules of a source (`schema/mappings/<source>.yaml`).
pub fn mapping(o: &ontology::Ontology, source: &str) -> ontology::mapping::Mapping {
    let path = root().join(format!("schema/mappings/{source}.yaml"));
    let text = std::fs::read_to_string(path).expect("rules");
    ontology::mapping::Mapping::from_yaml(o, source, &text).expect("valid rules")
}

/// A client for the leader (`NEO4J_URI`).
pub async fn neo4j() -> graph::Neo4jClient {
    graph::Neo4jClient::connect(graph::Neo4jConfig::new(env("NEO4J_URI")))
        .await
        .expect("neo4j client")
}

/// A router over the leader alone (`NEO4J_URI`).
pub async fn router() -> graph::Router {
    graph::Router::connect(graph::RoutingConfig::single(graph::Neo4jConfig::new(env(
        "NEO4J_URI",
    ))))
    .await
    .expect("router")
}

/// A gateway over the leader alone, built from `config` the way `ontograph serve` builds one.
pub async fn gateway(config: gateway::GatewayConfig) -> axum::Router {
    gateway_on(ontology(), router().await, config).await
}

/// A gateway for this ontology and router, built from `config`.
pub async fn gateway_on(
    o: ontology::Ontology,
    neo4j: graph::Router,
    config: gateway::GatewayConfig,
) -> axum::Router {
    gateway::app(
        gateway::AppState::build(o, neo4j, &config)
            .await
            .expect("gateway builds"),
    )
}

/// A webhook receiver for these sources publishing through `bus`'s broker and names.
pub fn webhooks(sources: Vec<gateway::webhook::Source>, bus: &bus::Bus) -> gateway::WebhookConfig {
    gateway::WebhookConfig {
        sources,
        bus: bus.config().clone(),
    }
}

/// The stack's Redis (`REDIS_URL`) with the default timeouts.
pub fn redis() -> gateway::RedisConfig {
    gateway::RedisConfig::new(env("REDIS_URL"))
}

/// The bus settings for `AMQP_URL` with exchanges and queues named after `prefix`.
pub fn bus_config(prefix: &str) -> bus::BusConfig {
    bus::BusConfig {
        names: bus::Names::new(prefix),
        ..bus::BusConfig::new(env("AMQP_URL"))
    }
}

/// A bus on `AMQP_URL` whose exchanges and queues carry `prefix`, declared.
pub async fn bus(prefix: &str) -> bus::Bus {
    let bus = bus::Bus::new(bus_config(prefix));
    bus.declare().await.expect("declare the bus topology");
    bus
}

/// Everything a child process wrote to its piped stderr (read to the end: call it once the
/// process has been told to stop).
pub fn stderr_of(child: &mut std::process::Child) -> String {
    use std::io::Read as _;
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut logs)
        .expect("stderr reads");
    logs
}

/// `<binary> serve` on a free loopback port, from the repository root with its default ontology
/// and no readers, with these variables set (and `RUST_LOG` when not among them); stderr is
/// piped (see [`stderr_of`]). Returns once `/readyz` answers 200, or panics after 30 s.
pub fn spawn_serve(binary: &str, env: &[(&str, &str)]) -> (std::process::Child, u16) {
    let port = free_port();
    let mut command = std::process::Command::new(binary);
    command
        .current_dir(root())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("ONTOGRAPH_ONTOLOGY")
        .env_remove("ONTOGRAPH_INGEST")
        .env("RUST_LOG", "info")
        .env("NEO4J_READER_URIS", "")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("ontograph serve starts");
    let ready = || get(port, "/readyz").filter(|r| r.starts_with("HTTP/1.1 200"));
    let started = std::time::Instant::now();
    while ready().is_none() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "ontograph serve exited with {status}: {}",
                stderr_of(&mut child)
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "ontograph serve was not ready within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (child, port)
}

/// A plain `GET` to a loopback port over HTTP/1.1, read until the server closes: the raw reply
/// (status line, headers, body), or `None` when the connection fails.
pub fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
