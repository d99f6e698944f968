//! Operation limits on real Neo4j: the estimated cost comes from the degree store's measured
//! label counts, and refusals name the estimate; aliases and root fields are counted.

use serde_json::{json, Value};

async fn post(app: &axum::Router, query: &str) -> Value {
    testkit::http::graphql(app, query, json!({}), &[])
        .await
        .body
}

#[tokio::test]
async fn the_cost_limit_uses_measured_cardinalities() {
    let neo4j = testkit::neo4j().await;
    let prefix = testkit::unique("limits");
    neo4j
        .run(
            &graph::Statement::new(
                "UNWIND range(1, 20) AS i CREATE (:Team {id: $p + '-' + i, name: $p + '-' + i})",
            )
            .param("p", prefix.clone()),
            graph::AccessMode::Write,
        )
        .await
        .expect("teams");
    let config = gateway::GatewayConfig {
        supernodes: Some(gateway::degree_store::SupernodeConfig::default()),
        limits: ontology::cost::Limits {
            max_cost: Some(10.0),
            max_aliases: Some(3),
            max_root_fields: Some(4),
            ..ontology::cost::Limits::default()
        },
        ..gateway::GatewayConfig::default()
    };
    let state = gateway::AppState::build(testkit::ontology(), testkit::router().await, &config)
        .await
        .expect("state");
    let store = state.engine().supernodes.clone().expect("degree store");
    store.refresh().await;
    let teams = store.describe()["labelCounts"]["Team"]
        .as_u64()
        .expect("counted");
    assert!(teams >= 20, "{teams}");
    let app = gateway::app(state);

    let refused = post(&app, "{ teams(limit: 15) { name } }").await;
    let error = &refused["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "COST_LIMIT_EXCEEDED",
        "{refused}"
    );
    let message = error["message"].as_str().unwrap_or("");
    assert!(
        message.contains("estimated cost is 15, above the limit of 10")
            && message.contains("teams 15 rows"),
        "{message}"
    );
    assert!(refused["data"].is_null(), "nothing ran: {refused}");
    // The location is the field that costs most: `teams`, line 1, column 3.
    assert_eq!(
        error["locations"],
        serde_json::json!([{ "line": 1, "column": 3 }]),
        "{refused}"
    );
    let fine = post(&app, "{ teams(limit: 5) { name } }").await;
    assert!(fine["errors"].is_null(), "{fine}");
    // A lookup by a unique key reads one node whatever the label's size.
    let one = post(
        &app,
        &format!(r#"{{ teams(where: {{ id: {{ eq: "{prefix}-1" }} }}) {{ name }} }}"#),
    )
    .await;
    assert_eq!(
        one["data"]["teams"][0]["name"],
        format!("{prefix}-1"),
        "{one}"
    );

    let aliases = post(
        &app,
        "{ a: teams(limit: 1) { n: name } b: teams(limit: 1) { m: name } }",
    )
    .await;
    assert_eq!(
        aliases["errors"][0]["extensions"]["code"], "TOO_MANY_ALIASES",
        "{aliases}"
    );
    let roots = post(&app, "{ teams(limit: 1) { name } people(limit: 1) { handle } projects(limit: 1) { name } organizations(limit: 1) { name } topics(limit: 1) { name } }").await;
    assert_eq!(
        roots["errors"][0]["message"], "the operation has 5 root fields; the limit is 4",
        "{roots}"
    );

    neo4j
        .run(
            &graph::Statement::new("MATCH (t:Team) WHERE t.id STARTS WITH $p DETACH DELETE t")
                .param("p", prefix),
            graph::AccessMode::Write,
        )
        .await
        .expect("cleanup");
}

/// v7 type definitions declare no keys: label counts and mean degrees come from the count store
/// for every type, so a lookup with a nested list is estimated from what the graph holds, not
/// from the default page size at every level.
#[tokio::test]
async fn costs_of_types_without_keys_come_from_the_count_store() {
    let neo4j = testkit::neo4j().await;
    let n = testkit::unique("pkg").replace('-', "");
    let label = format!("Pkg{n}");
    let o = ontology::parse_ontology(&format!(
        "type {label} @node {{\n  name: String!\n  dependsOn: [{label}!]! @relationship(type: \"DEPENDS_ON\", direction: OUT)\n}}\n"
    ))
    .expect("ontology");
    let plural = o.nodes.values().next().expect("type").plural.clone();
    neo4j
        .run(
            &graph::Statement::new(format!(
                "UNWIND range(0, 29) AS i CREATE (:{label} {{name: 'p' + i}}) \
                 WITH collect(i) AS is MATCH (a:{label}), (b:{label}) \
                 WHERE toInteger(substring(b.name, 1)) IN [(toInteger(substring(a.name, 1)) + 1) % 30, (toInteger(substring(a.name, 1)) + 2) % 30] \
                 CREATE (a)-[:DEPENDS_ON]->(b)"
            )),
            graph::AccessMode::Write,
        )
        .await
        .expect("packages");
    let config = gateway::GatewayConfig {
        supernodes: Some(gateway::degree_store::SupernodeConfig::default()),
        limits: ontology::cost::Limits {
            max_cost: Some(10_000.0),
            ..ontology::cost::Limits::default()
        },
        ..gateway::GatewayConfig::default()
    };
    let state = gateway::AppState::build(o, testkit::router().await, &config)
        .await
        .expect("state");
    let store = state.engine().supernodes.clone().expect("degree store");
    store.refresh().await;
    let described = store.describe();
    assert_eq!(described["labelCounts"][&label], 30, "{described}");
    let mean = described["meanDegrees"]
        .as_array()
        .and_then(|m| m.iter().find(|d| d["label"] == label.as_str()))
        .cloned()
        .expect("a mean degree for the type");
    assert_eq!(mean["relationships"], 60, "{mean}");
    assert_eq!(mean["mean"], 2.0, "{mean}");
    let app = gateway::app(state);
    // 30 nodes × 2 dependencies: admitted (with the default page size at every level it was
    // 1,000 × 1,000 rows, over this limit).
    let q = format!(
        r#"{{ {plural}(where: {{ name: {{ eq: "p1" }} }}) {{ name dependsOn {{ name }} }} }}"#
    );
    let r = post(&app, &q).await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(
        r["data"][&plural][0]["dependsOn"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    neo4j
        .run(
            &graph::Statement::new(format!("MATCH (n:{label}) DETACH DELETE n")),
            graph::AccessMode::Write,
        )
        .await
        .expect("cleanup");
}
