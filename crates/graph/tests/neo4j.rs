//! Integration tests of the graph crate against a real Neo4j (URI from `NEO4J_URI`).
//!
//! Run them through `scripts/test`, or `source .stack/env` after `scripts/stack up`. Each test
//! works on its own label `GraphTest_<test>_<unique>` and removes its data and schema items,
//! because other tests share the database.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use graph::{
    migrate, AccessMode, Error, ErrorKind, IndexKind, MigrationOptions, Neo4jClient, Neo4jConfig,
    SchemaItem, Statement, CONSTRAINT_VIOLATION_CODE,
};
use serde_json::{json, Map, Value};

fn config() -> Neo4jConfig {
    let uri = std::env::var("NEO4J_URI").unwrap_or_else(|_| {
        panic!(
            "NEO4J_URI is not set. These integration tests need a real Neo4j: run them via \
             `scripts/test`, or `scripts/stack up && source .stack/env` first."
        )
    });
    Neo4jConfig {
        uri,
        user: std::env::var("NEO4J_USER").unwrap_or_else(|_| "neo4j".to_owned()),
        password: std::env::var("NEO4J_PASSWORD").unwrap_or_default(),
        max_connections: 8,
        fetch_size: 50,
        database: std::env::var("NEO4J_DATABASE")
            .ok()
            .filter(|d| !d.is_empty()),
    }
}

async fn client() -> Neo4jClient {
    Neo4jClient::connect(config()).await.expect("connect")
}

/// A label no other test (or test run) uses.
fn unique_label(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "GraphTest_{test}_{:x}{nanos:x}{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn read(client: &Neo4jClient, statement: Statement) -> Vec<Map<String, Value>> {
    client
        .run(&statement, AccessMode::Read)
        .await
        .expect("read")
        .rows
}

async fn write(client: &Neo4jClient, statement: Statement) -> Vec<Map<String, Value>> {
    client
        .run(&statement, AccessMode::Write)
        .await
        .expect("write")
        .rows
}

async fn count(client: &Neo4jClient, label: &str) -> i64 {
    let rows = read(
        client,
        Statement::new(format!("MATCH (n:`{label}`) RETURN count(n) AS c")),
    )
    .await;
    rows[0]["c"].as_i64().expect("count")
}

async fn cleanup(client: &Neo4jClient, label: &str) {
    write(
        client,
        Statement::new(format!("MATCH (n:`{label}`) DETACH DELETE n")),
    )
    .await;
    let only = Some(BTreeSet::from([label.to_owned()]));
    let options = MigrationOptions {
        drop: true,
        only_labels: only,
        ..MigrationOptions::default()
    };
    migrate(client, &[], &options).await.expect("drop schema");
}

#[tokio::test]
async fn ping_answers() {
    client().await.ping().await.expect("ping");
}

#[tokio::test]
async fn parameters_round_trip_with_their_bolt_types() {
    let client = client().await;
    let params = json!({
        "null": null,
        "bool": true,
        "int": 42,
        "max": i64::MAX,
        "min": i64::MIN,
        "float": 1.5,
        "whole_float": 2.0,
        "str": "héllo \"wörld\"",
        "list": [1, "two", 3.5, null, [false]],
        "map": {"a": {"b": [1, {"c": "d"}]}, "e": null}
    });
    let statement = Statement::new(
        "RETURN $null AS null, $bool AS bool, $int AS int, $max AS max, $min AS min, \
         $float AS float, $whole_float AS whole_float, $str AS str, $list AS list, $map AS map, \
         valueType($int) AS int_type, valueType($whole_float) AS whole_float_type, \
         $int + 1 AS int_plus_one",
    )
    .params(params.as_object().expect("object").clone());
    let rows = read(&client, statement).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    for key in [
        "null",
        "bool",
        "int",
        "max",
        "min",
        "float",
        "whole_float",
        "str",
        "list",
        "map",
    ] {
        assert_eq!(row[key], params[key], "column {key}");
    }
    assert_eq!(row["int_type"], json!("INTEGER NOT NULL"));
    assert_eq!(row["whole_float_type"], json!("FLOAT NOT NULL"));
    assert_eq!(row["int_plus_one"], json!(43));
    assert!(row["int_plus_one"].is_i64(), "integers stay JSON integers");

    let too_big = Statement::new("RETURN $n AS n").param("n", u64::MAX);
    let error = client
        .run(&too_big, AccessMode::Read)
        .await
        .expect_err("u64 beyond i64");
    assert_eq!(error.kind(), ErrorKind::Parameter);
}

#[tokio::test]
async fn temporal_and_spatial_values_become_iso_strings_and_points() {
    let client = client().await;
    let label = unique_label("temporal");
    let expressions = [
        (
            "dt",
            "datetime('2024-05-01T10:20:30.5+02:00')",
            json!("2024-05-01T08:20:30.500Z"),
        ),
        (
            "dt_utc",
            "datetime('2024-01-15T12:00:00Z')",
            json!("2024-01-15T12:00:00.000Z"),
        ),
        (
            "dt_zone",
            "datetime('2024-05-01T10:20:30.123456789[Europe/Berlin]')",
            json!("2024-05-01T08:20:30.123Z"),
        ),
        (
            "dt_negative_offset",
            "datetime('1999-12-31T22:00:00.999-05:00')",
            json!("2000-01-01T03:00:00.999Z"),
        ),
        (
            "ldt",
            "localdatetime('2024-05-01T10:20:30.123456789')",
            json!("2024-05-01T10:20:30.123456789"),
        ),
        ("d", "date('2024-05-01')", json!("2024-05-01")),
        (
            "t",
            "time('10:20:30.25+02:00')",
            json!("10:20:30.250000000+02:00"),
        ),
        ("lt", "localtime('10:20:30')", json!("10:20:30")),
        ("dur", "duration('PT1H30M')", json!("P0M0DT5400S")),
        (
            "dur_days",
            "duration('P1DT1.5S')",
            json!("P0M0DT86401.500000000S"),
        ),
        (
            "p2",
            "point({x: 1.5, y: 2.5})",
            json!({"srid": 7203, "x": 1.5, "y": 2.5}),
        ),
        (
            "p3",
            "point({x: 1, y: 2, z: 3})",
            json!({"srid": 9157, "x": 1.0, "y": 2.0, "z": 3.0}),
        ),
        (
            "geo",
            "point({longitude: 12.5, latitude: 55.5})",
            json!({"srid": 4326, "x": 12.5, "y": 55.5}),
        ),
    ];
    let returns: Vec<String> = expressions
        .iter()
        .map(|(name, expr, _)| format!("{expr} AS {name}"))
        .collect();
    let rows = read(
        &client,
        Statement::new(format!("RETURN {}", returns.join(", "))),
    )
    .await;
    for (name, expr, expected) in &expressions {
        assert_eq!(&rows[0][*name], expected, "{expr}");
    }

    // The same values stored as properties come back inside the node's property map.
    let sets: Vec<String> = expressions
        .iter()
        .map(|(name, expr, _)| format!("{name}: {expr}"))
        .collect();
    let rows = write(
        &client,
        Statement::new(format!(
            "CREATE (n:`{label}` {{{}}}) RETURN n",
            sets.join(", ")
        )),
    )
    .await;
    let node = rows[0]["n"].as_object().expect("node as map");
    for (name, expr, expected) in &expressions {
        assert_eq!(&node[*name], expected, "property {expr}");
    }
    cleanup(&client, &label).await;
}

#[tokio::test]
async fn nested_maps_lists_nodes_relationships_and_paths() {
    let client = client().await;
    let label = unique_label("nested");
    write(
        &client,
        Statement::new(format!(
            "CREATE (a:`{label}` {{name: 'a'}}),
                    (b:`{label}` {{name: 'b'}}),
                    (c:`{label}` {{name: 'c', tags: ['x', 'y']}}),
                    (a)-[:KNOWS {{since: 2020}}]->(b),
                    (a)-[:KNOWS {{since: 2021}}]->(c)"
        )),
    )
    .await;

    let rows = read(
        &client,
        Statement::new(format!(
            "MATCH (p:`{label}` {{name: $name}})
             RETURN p {{
               .name,
               friends: COLLECT {{
                 MATCH (p)-[k:KNOWS]->(f:`{label}`)
                 RETURN f {{ .name, .tags, since: k.since,
                             meta: {{depth: 1, on: date('2024-01-02'), ratio: 0.5}} }}
                 ORDER BY f.name
               }},
               count: COUNT {{ (p)-->() }}
             }} AS person"
        ))
        .param("name", "a"),
    )
    .await;
    assert_eq!(
        rows[0]["person"],
        json!({
            "count": 2,
            "friends": [
                {"meta": {"depth": 1, "on": "2024-01-02", "ratio": 0.5}, "name": "b", "since": 2020, "tags": null},
                {"meta": {"depth": 1, "on": "2024-01-02", "ratio": 0.5}, "name": "c", "since": 2021, "tags": ["x", "y"]}
            ],
            "name": "a"
        })
    );

    let rows = read(
        &client,
        Statement::new(format!(
            "MATCH path = (a:`{label}` {{name: 'a'}})-[k:KNOWS]->(b {{name: 'b'}})
             RETURN a, k, path, [b, k] AS mixed"
        )),
    )
    .await;
    let row = &rows[0];
    assert_eq!(row["a"], json!({"name": "a"}));
    assert_eq!(row["k"], json!({"since": 2020}));
    assert_eq!(
        row["path"],
        json!({"nodes": [{"name": "a"}, {"name": "b"}], "relationships": [{"since": 2020}]})
    );
    assert_eq!(row["mixed"], json!([{"name": "b"}, {"since": 2020}]));

    // Undirected traversal in reverse: the path is reported in traversal order.
    let rows = read(
        &client,
        Statement::new(format!(
            "MATCH path = (b:`{label}` {{name: 'b'}})<-[:KNOWS]-(a)-[:KNOWS]->(c {{name: 'c'}})
             RETURN path"
        )),
    )
    .await;
    assert_eq!(
        rows[0]["path"],
        json!({
            "nodes": [{"name": "b"}, {"name": "a"}, {"name": "c", "tags": ["x", "y"]}],
            "relationships": [{"since": 2020}, {"since": 2021}]
        })
    );

    // Many rows stream across several PULL batches (fetch_size is 50 here).
    let rows = read(
        &client,
        Statement::new("UNWIND range(1, 275) AS i RETURN i, [i, toString(i)] AS pair"),
    )
    .await;
    assert_eq!(rows.len(), 275);
    assert_eq!(rows[274]["pair"], json!([275, "275"]));
    cleanup(&client, &label).await;
}

#[tokio::test]
async fn write_then_read() {
    let client = client().await;
    let label = unique_label("write_read");
    let result = client
        .run(
            &Statement::new(format!(
                "UNWIND $people AS person CREATE (n:`{label}`) SET n = person RETURN n.id AS id ORDER BY id"
            ))
            .param("people", json!([{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}])),
            AccessMode::Write,
        )
        .await
        .expect("write");
    assert_eq!(
        result.rows,
        vec![
            json!({"id": 1}).as_object().cloned().expect("object"),
            json!({"id": 2}).as_object().cloned().expect("object"),
        ]
    );
    assert_eq!(result.counters, None, "neo4rs 0.8 exposes no counters");

    let rows = read(
        &client,
        Statement::new(format!(
            "MATCH (n:`{label}`) WHERE n.id = $id RETURN n.name AS name"
        ))
        .param("id", 2),
    )
    .await;
    assert_eq!(
        rows,
        vec![json!({"name": "Grace"})
            .as_object()
            .cloned()
            .expect("object")]
    );

    // A write without rows.
    let rows = write(
        &client,
        Statement::new(format!("MATCH (n:`{label}`) SET n.seen = true")),
    )
    .await;
    assert!(rows.is_empty());
    assert_eq!(count(&client, &label).await, 2);
    cleanup(&client, &label).await;
}

#[tokio::test]
async fn a_failing_write_leaves_nothing_behind() {
    let client = client().await;
    let label = unique_label("rollback");
    // Creates nodes, streams a few good rows, then fails while streaming (division by zero).
    let failing = Statement::new(format!(
        "UNWIND [1, 1, 1, 0] AS d CREATE (n:`{label}` {{d: d}}) RETURN 10 / d AS q"
    ));
    let error = client
        .run(&failing, AccessMode::Write)
        .await
        .expect_err("division by zero");
    assert_eq!(error.kind(), ErrorKind::Cypher, "{error:?}");
    assert_eq!(
        error.code(),
        Some("Neo.ClientError.Statement.ArithmeticError"),
        "{error:?}"
    );
    assert_eq!(count(&client, &label).await, 0);

    // A syntax error is refused before anything runs, with Neo4j's code and message.
    let error = client
        .run(
            &Statement::new(format!("CREATE (n:`{label}`")),
            AccessMode::Write,
        )
        .await
        .expect_err("syntax");
    match &error {
        Error::Cypher { code, message } => {
            assert_eq!(code, "Neo.ClientError.Statement.SyntaxError");
            assert!(!message.is_empty());
        }
        other => panic!("expected a Cypher error, got {other:?}"),
    }

    // The pool is healthy afterwards: later writes commit.
    write(
        &client,
        Statement::new(format!("CREATE (:`{label}` {{ok: true}})")),
    )
    .await;
    assert_eq!(count(&client, &label).await, 1);
    cleanup(&client, &label).await;
}

#[tokio::test]
async fn constraint_violation_keeps_neo4j_code_and_message() {
    let client = client().await;
    let label = unique_label("unique");
    let options = MigrationOptions {
        only_labels: Some(BTreeSet::from([label.clone()])),
        ..MigrationOptions::default()
    };
    migrate(&client, &[SchemaItem::unique(&label, "handle")], &options)
        .await
        .expect("constraint");

    let create = Statement::new(format!("CREATE (:`{label}` {{handle: $h}})")).param("h", "ada");
    write(&client, create.clone()).await;
    let error = client
        .run(&create, AccessMode::Write)
        .await
        .expect_err("duplicate handle");
    assert!(error.is_constraint_violation(), "{error:?}");
    match &error {
        Error::Cypher { code, message } => {
            assert_eq!(code, CONSTRAINT_VIOLATION_CODE);
            assert!(message.contains("handle"), "{message}");
        }
        other => panic!("expected a Cypher error, got {other:?}"),
    }
    assert!(!error.is_retryable());

    // Violation in the middle of a multi-row write: nothing of it stays.
    let batch = Statement::new(format!(
        "UNWIND ['grace', 'linus', 'ada'] AS h CREATE (:`{label}` {{handle: h}})"
    ));
    let error = client
        .run(&batch, AccessMode::Write)
        .await
        .expect_err("duplicate in batch");
    assert!(error.is_constraint_violation(), "{error:?}");
    assert_eq!(count(&client, &label).await, 1);
    cleanup(&client, &label).await;
}

/// Whether a transaction whose parameters carry this tag is still running.
async fn running_with_tag(client: &Neo4jClient, tag: &str) -> bool {
    let rows = read(
        client,
        Statement::new(
            // Not `$tag`: this SHOW statement's own parameters would match.
            "SHOW TRANSACTIONS YIELD transactionId, parameters \
             WHERE parameters.tag = $needle RETURN transactionId",
        )
        .param("needle", tag),
    )
    .await;
    !rows.is_empty()
}

#[tokio::test]
async fn timeouts_are_their_own_error_kind_and_stop_the_statement() {
    let client = client().await;
    let label = unique_label("timeout");
    for access in [AccessMode::Read, AccessMode::Write] {
        let tag = format!("{label}_{access}");
        let create = match access {
            AccessMode::Write => format!("CREATE (:`{label}`) WITH 1 AS one"),
            AccessMode::Read => String::new(),
        };
        let slow = Statement::new(format!(
            "{create}
             UNWIND range(1, 100000000) AS x
             WITH x WHERE x % 7 = 3
             RETURN count(*) AS c, $tag AS tag"
        ))
        .param("tag", tag.clone())
        .timeout(Duration::from_millis(300));
        let started = Instant::now();
        let error = client.run(&slow, access).await.expect_err("must time out");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "gave up late: {:?}",
            started.elapsed()
        );
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
        assert!(matches!(error, Error::Timeout { access: a, .. } if a == access));

        // The server-side transaction is terminated shortly after.
        let deadline = Instant::now() + Duration::from_secs(10);
        while running_with_tag(&client, &tag).await {
            assert!(
                Instant::now() < deadline,
                "{access} statement still running"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The terminated write did not commit, and the client is still usable.
    assert_eq!(count(&client, &label).await, 0);
    client.ping().await.expect("ping after timeouts");
    cleanup(&client, &label).await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_drop_only_when_asked() {
    let client = client().await;
    let label = unique_label("migrate");
    let options = MigrationOptions {
        only_labels: Some(BTreeSet::from([label.clone()])),
        ..MigrationOptions::default()
    };
    let uniq = format!("og_uniq_{label}_handle");
    let idx = format!("og_idx_{label}_name");
    let text = format!("og_text_{label}_bio");
    let covered = format!("og_idx_{label}_handle");
    let desired = vec![
        SchemaItem::index(&label, "handle", IndexKind::Range),
        SchemaItem::unique(&label, "handle"),
        SchemaItem::index(&label, "name", IndexKind::Range),
        SchemaItem::index(&label, "bio", IndexKind::Text),
    ];
    let mut all = vec![idx.clone(), text.clone(), uniq.clone()];
    all.sort();

    let dry = MigrationOptions {
        dry_run: true,
        ..options.clone()
    };
    let report = migrate(&client, &desired, &dry).await.expect("dry run");
    assert_eq!(report.created, all, "{report:?}");
    assert!(report.dry_run);
    let report = migrate(&client, &desired, &dry)
        .await
        .expect("dry run again");
    assert_eq!(report.created, all, "a dry run changes nothing: {report:?}");

    let first = migrate(&client, &desired, &options)
        .await
        .expect("first run");
    assert_eq!(first.created, all, "{first:?}");
    assert!(first.kept.is_empty(), "{first:?}");
    assert_eq!(first.covered, vec![covered.clone()]);
    assert!(first.would_drop.is_empty(), "{first:?}");

    let second = migrate(&client, &desired, &options)
        .await
        .expect("second run");
    assert!(second.created.is_empty(), "{second:?}");
    assert_eq!(second.kept, all, "{second:?}");
    assert!(
        second.would_drop.is_empty(),
        "backing index must not be listed: {second:?}"
    );
    assert!(second.conflicting.is_empty(), "{second:?}");

    // No longer wanting the text index: reported, not dropped...
    let fewer: Vec<SchemaItem> = desired
        .iter()
        .filter(|item| item.name() != text)
        .cloned()
        .collect();
    let report = migrate(&client, &fewer, &options)
        .await
        .expect("without text");
    assert_eq!(report.would_drop, vec![text.clone()]);
    assert!(report.dropped.is_empty());
    assert!(index_exists(&client, &text).await);

    // ...until asked to drop it.
    let dropping = MigrationOptions {
        drop: true,
        ..options.clone()
    };
    let report = migrate(&client, &fewer, &dropping).await.expect("drop");
    assert_eq!(report.dropped, vec![text.clone()]);
    assert!(!index_exists(&client, &text).await);
    assert!(
        index_exists(&client, &uniq).await,
        "backing index still there"
    );

    cleanup(&client, &label).await;
    assert!(!index_exists(&client, &uniq).await);
    assert!(!index_exists(&client, &idx).await);
}

async fn index_exists(client: &Neo4jClient, name: &str) -> bool {
    let rows = read(
        client,
        Statement::new("SHOW INDEXES YIELD name WHERE name = $name RETURN name")
            .param("name", name),
    )
    .await;
    !rows.is_empty()
}

#[tokio::test]
async fn full_text_and_vector_indexes_are_created_once_and_searchable() {
    let client = client().await;
    let label = unique_label("search");
    let (fulltext, vector) = (format!("{label}_text"), format!("{label}_vec"));
    let desired = vec![
        SchemaItem::fulltext(&fulltext, &label, vec!["title".into(), "plot".into()]),
        SchemaItem::vector(&vector, &label, "embedding"),
    ];
    let options = MigrationOptions {
        only_labels: Some(BTreeSet::from([label.clone()])),
        ..MigrationOptions::default()
    };
    let mut both = vec![fulltext.clone(), vector.clone()];
    both.sort();
    let first = migrate(&client, &desired, &options)
        .await
        .expect("first run");
    assert_eq!(first.created, both, "{first:?}");
    let second = migrate(&client, &desired, &options)
        .await
        .expect("second run");
    assert!(second.created.is_empty(), "{second:?}");
    assert_eq!(second.kept, both, "{second:?}");
    assert!(second.conflicting.is_empty(), "{second:?}");

    write(
        &client,
        Statement::new(format!(
            "CREATE (:`{label}` {{title: 'Heat', plot: 'a heist', embedding: [1.0, 0.0]}}), \
             (:`{label}` {{title: 'Up', plot: 'balloons', embedding: [0.0, 1.0]}})"
        )),
    )
    .await;
    write(&client, Statement::new("CALL db.awaitIndexes(60)")).await;
    let found = read(
        &client,
        Statement::new(
            "CALL db.index.fulltext.queryNodes($i, 'heist') YIELD node RETURN node.title AS t",
        )
        .param("i", fulltext.as_str()),
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["t"], json!("Heat"));
    let nearest = read(
        &client,
        Statement::new(
            "CALL db.index.vector.queryNodes($i, 1, [0.1, 0.9]) YIELD node RETURN node.title AS t",
        )
        .param("i", vector.as_str()),
    )
    .await;
    assert_eq!(nearest[0]["t"], json!("Up"));

    // Not managed (their names are the type definitions'): never dropped by a migration.
    cleanup(&client, &label).await;
    assert!(index_exists(&client, &fulltext).await);
    for name in [&fulltext, &vector] {
        write(&client, Statement::new(format!("DROP INDEX `{name}`"))).await;
    }
}

#[tokio::test]
async fn small_negative_integers_survive() {
    let client = client().await;
    let rows = read(
        &client,
        Statement::new("RETURN -1 AS a, -16 AS b, [-3, 5] AS l, date('1969-12-31') AS d"),
    )
    .await;
    assert_eq!(
        Value::Object(rows[0].clone()),
        json!({"a": -1, "b": -16, "l": [-3, 5], "d": "1969-12-31"})
    );
}

/// A TCP proxy in front of Neo4j whose open connections can all be cut at once, as a server
/// restart would: pooled connections then look fine to the client but are dead.
struct CuttingProxy {
    addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
}

impl CuttingProxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (cut, _) = tokio::sync::watch::channel(0_u64);
        let cut_tx = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let mut cut_rx = cut_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        CuttingProxy { addr, cut }
    }

    fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

#[tokio::test]
async fn reads_and_writes_survive_connections_closed_by_the_server() {
    let uri = config().uri;
    let host_port = uri.rsplit("//").next().unwrap_or_default().to_string();
    let proxy = CuttingProxy::start(host_port).await;
    let mut cfg = config();
    cfg.uri = format!("bolt://{}", proxy.addr);
    cfg.max_connections = 4;
    let client = Neo4jClient::connect(cfg).await.expect("connect");
    // Fill the pool with several idle connections: concurrent statements hold one each.
    let warm: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let slow = Statement::new("UNWIND range(1, 300000) AS x RETURN count(x) AS n");
                client.run(&slow, AccessMode::Read).await
            })
        })
        .collect();
    for handle in warm {
        handle.await.expect("join").expect("warm-up read");
    }
    proxy.cut_all();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Every pooled connection is dead now; statements must still succeed on fresh ones.
    let rows = read(&client, Statement::new("RETURN 2 AS two")).await;
    assert_eq!(rows[0]["two"], json!(2));
    proxy.cut_all();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let label = unique_label("cut");
    let write = Statement::new(format!("CREATE (n:`{label}` {{v: 1}}) RETURN n.v AS v"));
    let rows = client
        .run(&write, AccessMode::Write)
        .await
        .expect("write after cut")
        .rows;
    assert_eq!(rows[0]["v"], json!(1));
    let count = read(
        &client,
        Statement::new(format!("MATCH (n:`{label}`) RETURN count(n) AS c")),
    )
    .await;
    assert_eq!(
        count[0]["c"],
        json!(1),
        "the write was applied exactly once"
    );
    client
        .run(
            &Statement::new(format!("MATCH (n:`{label}`) DELETE n")),
            AccessMode::Write,
        )
        .await
        .expect("cleanup");
}
