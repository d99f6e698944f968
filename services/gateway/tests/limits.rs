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
