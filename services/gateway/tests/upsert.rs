//! `upsert<Plural>`, which `@neo4j/graphql` lacks: merge on one key, `onCreate` for a new node,
//! `onUpdate` for an existing one, connects either way; idempotent under retries and concurrent
//! identical calls (one node), on the real Neo4j with a uniqueness constraint on the key.

use serde_json::{json, Value};

struct Setup {
    app: axum::Router,
    neo4j: graph::Neo4jClient,
    label: String,
    plural: String,
    plural_type: String,
}

async fn setup() -> Setup {
    let neo4j = testkit::neo4j().await;
    let n = testkit::unique("upsert").replace('-', "");
    let label = format!("Pkg{n}");
    let tag = format!("Tag{n}");
    neo4j
        .run(
            &graph::Statement::new(format!(
                "CREATE CONSTRAINT pkg_name_{n} IF NOT EXISTS FOR (p:{label}) REQUIRE p.name IS UNIQUE"
            )),
            graph::AccessMode::Write,
        )
        .await
        .expect("constraint");
    neo4j
        .run(
            &graph::Statement::new(format!(
                "UNWIND ['rust', 'neo4j'] AS t CREATE (:{tag} {{name: t}})"
            )),
            graph::AccessMode::Write,
        )
        .await
        .expect("tags");
    // No `@unique`: the key is the database's constraint, as a v7 user has it.
    let o = ontology::parse_ontology(&format!(
        "type {label} @node {{\n  name: String!\n  version: String!\n  downloads: Int @default(value: 0)\n  \
         updatedAt: DateTime @timestamp(operations: [UPDATE])\n  \
         tags: [{tag}!]! @relationship(type: \"TAGGED\", direction: OUT)\n}}\n\
         type {tag} @node {{\n  name: String!\n}}\n"
    ))
    .expect("ontology");
    let node = o.nodes.values().next().expect("type");
    let (plural, plural_type) = (node.plural.clone(), node.plural_type_name());
    let app = testkit::gateway_on(
        o,
        testkit::router().await,
        gateway::GatewayConfig::default(),
    )
    .await;
    Setup {
        app,
        neo4j,
        label,
        plural,
        plural_type,
    }
}

async fn upsert(s: &Setup, input: Value) -> testkit::http::Reply {
    let query = format!(
        "mutation($input: [{label}UpsertInput!]!) {{ upsert{pt}(input: $input) {{ info {{ nodesCreated nodesUpdated relationshipsCreated }} {p} {{ name version downloads updatedAt tags {{ name }} }} }} }}",
        label = s.label,
        pt = s.plural_type,
        p = s.plural,
    );
    testkit::http::post(
        &s.app,
        json!({ "query": query, "variables": { "input": input } }),
        &[],
    )
    .await
}

async fn count(s: &Setup, cypher: &str) -> i64 {
    let rows = s
        .neo4j
        .run(
            &graph::Statement::new(cypher.replace("LABEL", &s.label)),
            graph::AccessMode::Read,
        )
        .await
        .expect("count")
        .rows;
    rows[0]["c"].as_i64().expect("a count")
}

#[tokio::test]
async fn upsert_creates_then_updates_and_connects_once() {
    let s = setup().await;
    let first = json!([{
        "where": { "name": "serde" },
        "onCreate": { "version": "1.0" },
        "onUpdate": { "version": { "set": "2.0" } },
        "connect": { "tags": [{ "where": { "node": { "name": { "eq": "rust" } } } }] }
    }]);
    let r = upsert(&s, first.clone()).await.data();
    let out = &r[format!("upsert{}", s.plural_type)];
    assert_eq!(out["info"]["nodesCreated"], 1, "{r}");
    assert_eq!(out["info"]["nodesUpdated"], 0, "{r}");
    let node = &out[&s.plural][0];
    assert_eq!(
        node["version"], "1.0",
        "onCreate applies to a new node: {r}"
    );
    assert_eq!(node["downloads"], 0, "the @default applies on create: {r}");
    assert_eq!(
        node["updatedAt"],
        Value::Null,
        "no update timestamp on create: {r}"
    );
    assert_eq!(node["tags"], json!([{ "name": "rust" }]));

    // The same call again: the node exists, onUpdate applies, the connect connects nothing new.
    let r = upsert(&s, first).await.data();
    let out = &r[format!("upsert{}", s.plural_type)];
    assert_eq!(out["info"]["nodesCreated"], 0, "{r}");
    assert_eq!(out["info"]["nodesUpdated"], 1, "{r}");
    let node = &out[&s.plural][0];
    assert_eq!(
        node["version"], "2.0",
        "onUpdate applies to an existing node: {r}"
    );
    assert!(
        node["updatedAt"].is_string(),
        "the update timestamp is set: {r}"
    );
    assert_eq!(
        node["tags"],
        json!([{ "name": "rust" }]),
        "connected once: {r}"
    );
    assert_eq!(count(&s, "MATCH (n:LABEL) RETURN count(n) AS c").await, 1);
    assert_eq!(
        count(&s, "MATCH (n:LABEL)-[r:TAGGED]->() RETURN count(r) AS c").await,
        1
    );
    assert_eq!(
        count(
            &s,
            "MATCH (n:LABEL) WHERE n.__ontograph_upsert_created IS NOT NULL RETURN count(n) AS c"
        )
        .await,
        0,
        "the creation flag never stays"
    );
}

#[tokio::test]
async fn concurrent_identical_upserts_make_one_node() {
    let s = setup().await;
    let input = json!([{ "where": { "name": "tokio" }, "onCreate": { "version": "1" } }]);
    let calls = (0..16).map(|_| upsert(&s, input.clone()));
    let replies = futures::future::join_all(calls).await;
    let mut created = 0;
    for r in &replies {
        let data = r.data();
        created += data[format!("upsert{}", s.plural_type)]["info"]["nodesCreated"]
            .as_i64()
            .expect("count");
    }
    assert_eq!(created, 1, "exactly one call created the node");
    assert_eq!(
        count(&s, "MATCH (n:LABEL {name: 'tokio'}) RETURN count(n) AS c").await,
        1
    );
}

#[tokio::test]
async fn bad_upserts_are_refused_and_change_nothing() {
    let s = setup().await;
    for (input, needle) in [
        (
            json!([{ "where": {}, "onCreate": { "version": "1" } }]),
            "exactly one key",
        ),
        (json!([{ "where": { "name": "x" } }]), "version is required"),
    ] {
        let r = upsert(&s, input).await;
        let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{}", r.text);
    }
    assert_eq!(count(&s, "MATCH (n:LABEL) RETURN count(n) AS c").await, 0);
}
