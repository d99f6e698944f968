//! Mapping rules applied to real Neo4j: a batch plan is ONE statement, applying it twice gives
//! the same graph (idempotent), conflicting events in one batch end in the last state, and the
//! written nodes are valid for the GraphQL API.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use ontology::mapping::{plan_batch, property_types, Mapping};
use serde_json::{json, Value};
use testkit::ontology;
use tower::ServiceExt;

fn neo4j_uri() -> String {
    std::env::var("NEO4J_URI").unwrap_or_else(|_| {
        panic!(
            "NEO4J_URI is not set: run the server tests through scripts/test, which starts Neo4j"
        )
    })
}

fn github(o: &ontology::Ontology) -> Mapping {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/mappings/github.yaml");
    Mapping::from_yaml(
        o,
        "github.yaml",
        &std::fs::read_to_string(path).expect("rules"),
    )
    .expect("valid rules")
}

fn issue(p: &str, action: &str, id: &str, title: &str, author: &str) -> Value {
    json!({
        "action": action,
        "repository": { "full_name": format!("{p}/repo"), "language": "Rust", "stargazers_count": 3, "archived": false },
        "issue": { "node_id": format!("{p}-{id}"), "number": 1, "title": title, "state": "open",
                   "created_at": "2024-05-01T12:00:00Z", "user": { "login": format!("{p}-{author}") } }
    })
}

async fn apply(
    client: &graph::Neo4jClient,
    o: &ontology::Ontology,
    rules: &Mapping,
    events: &[(&str, Value)],
) {
    let mut ops = Vec::new();
    for (kind, event) in events {
        ops.extend(rules.map(kind, event).expect("maps"));
    }
    let plan = plan_batch(&ops, &property_types(o));
    let statement = graph::Statement::new(plan.cypher.clone()).params(plan.params.clone());
    client
        .run(&statement, graph::AccessMode::Write)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", plan.cypher));
}

/// Nodes and relationships whose node keys start with the prefix.
async fn census(client: &graph::Neo4jClient, p: &str) -> Value {
    let statement = graph::Statement::new(
        "MATCH (n) WHERE coalesce(n.id, '') STARTS WITH $p OR coalesce(n.name, '') STARTS WITH $p \
           OR coalesce(n.handle, '') STARTS WITH $p
         WITH collect(n) AS nodes
         RETURN size(nodes) AS nodes,
                COUNT { MATCH (a)-[r]-(b) WHERE a IN nodes AND b IN nodes AND elementId(a) < elementId(b) } AS rels,
                [n IN nodes WHERE n:Issue | n.title] AS titles",
    )
    .param("p", p);
    let result = client
        .run(&statement, graph::AccessMode::Read)
        .await
        .expect("census");
    Value::Object(result.rows[0].clone())
}

#[tokio::test]
async fn a_batch_applied_twice_gives_the_same_graph() {
    let o = ontology();
    let rules = github(&o);
    let client = graph::Neo4jClient::connect(graph::Neo4jConfig::new(neo4j_uri()))
        .await
        .expect("client");
    let p = testkit::unique("ingest");
    let batch = [
        ("issues", issue(&p, "opened", "I1", "First", "ada")),
        ("issues", issue(&p, "edited", "I1", "Second", "bob")),
        ("issues", issue(&p, "opened", "I2", "Other", "ada")),
    ];
    apply(&client, &o, &rules, &batch).await;
    let once = census(&client, &p).await;
    apply(&client, &o, &rules, &batch).await;
    let twice = census(&client, &p).await;
    assert_eq!(once, twice, "applying the batch again changed the graph");
    // repo, ada, bob, I1, I2; I1 -> repo, I2 -> repo, bob -OPENED-> I1 (replaced ada), ada -> I2
    assert_eq!(once["nodes"], json!(5), "{once}");
    assert_eq!(once["rels"], json!(4), "{once}");
    let mut titles: Vec<String> = serde_json::from_value(once["titles"].clone()).expect("titles");
    titles.sort();
    assert_eq!(titles, ["Other", "Second"], "the last update wins");

    // The written nodes are valid for the API (required fields present, DateTime typed).
    let neo4j = graph::Router::connect(graph::RoutingConfig::single(graph::Neo4jConfig::new(
        neo4j_uri(),
    )))
    .await
    .expect("router");
    let app = testkit::gateway_on(o.clone(), neo4j, gateway::GatewayConfig::default()).await;
    let query = json!({ "query": "query($id: ID!) { issues(where: { id: { eq: $id } }) { title state createdAt repository { name } author { handle } } }",
                        "variables": { "id": format!("{p}-I1") } });
    let resp = app
        .oneshot(
            Request::post("/graphql")
                .header("content-type", "application/json")
                .body(Body::from(query.to_string()))
                .expect("req"),
        )
        .await
        .expect("resp");
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.expect("body").to_bytes())
            .expect("json");
    assert_eq!(
        body["data"]["issues"][0],
        json!({ "title": "Second", "state": "OPEN", "createdAt": "2024-05-01T12:00:00.000Z",
                "repository": { "name": format!("{p}/repo") }, "author": { "handle": format!("{p}-bob") } }),
        "{body}"
    );
}

#[tokio::test]
async fn delete_then_recreate_in_one_batch_ends_recreated() {
    let o = ontology();
    let rules = github(&o);
    let client = graph::Neo4jClient::connect(graph::Neo4jConfig::new(neo4j_uri()))
        .await
        .expect("client");
    let p = testkit::unique("ingest");
    let batch = [
        ("issues", issue(&p, "opened", "I1", "Born", "ada")),
        ("issues", issue(&p, "deleted", "I1", "x", "ada")),
        ("issues", issue(&p, "opened", "I1", "Reborn", "ada")),
    ];
    apply(&client, &o, &rules, &batch).await;
    let after = census(&client, &p).await;
    assert_eq!(after["titles"], json!(["Reborn"]), "{after}");
    let batch = [
        ("issues", issue(&p, "opened", "I2", "Short-lived", "ada")),
        ("issues", issue(&p, "deleted", "I2", "x", "ada")),
    ];
    apply(&client, &o, &rules, &batch).await;
    apply(&client, &o, &rules, &batch).await;
    assert_eq!(census(&client, &p).await["titles"], json!(["Reborn"]));
}
