//! Type definitions written for `@neo4j/graphql` v7 declare no keys (`@unique` is gone): their
//! users keep uniqueness constraints in the database. Here a v7 ontology without `@unique`, with a
//! constraint created while the gateway runs: the next degree-store scan adopts the constrained
//! property as a key (saying where it came from), measures the label node by node, a hub's count
//! and top-k are rewritten with the plain statements' answers; the constraint dropped, the next
//! scan stops using it.

use serde_json::{json, Value};

async fn explain(app: &axum::Router, query: &str) -> Value {
    testkit::http::call(
        app,
        "POST",
        "/admin/api/explain",
        &[("authorization", "Bearer test-admin")],
        Some(&json!({ "query": query })),
    )
    .await
    .body
}

fn applied(ex: &Value) -> Vec<String> {
    ex["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["applied"] == true)
        .filter_map(|d| d["rule"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn keys_from_database_constraints_anchor_supernode_rewrites() {
    let neo4j = testkit::neo4j().await;
    let n = testkit::unique("dbkey").replace('-', "");
    let label = format!("Pkg{n}");
    let constraint = format!("pkg_name_{n}");
    let index = format!("pkg_rank_{n}");
    let run = |cypher: String| {
        let neo4j = neo4j.clone();
        async move {
            neo4j
                .run(&graph::Statement::new(cypher), graph::AccessMode::Write)
                .await
                .expect("statement");
        }
    };
    // A hub with 300 dependents, each named so that their order is known, ranked the other way.
    run(format!(
        "CREATE (hub:{label} {{name: 'hub', rank: 0}}) WITH hub UNWIND range(1, 300) AS i \
         CREATE (:{label} {{name: 'dep-' + right('000' + toString(i), 3), rank: 1000 - i}})-[:DEPENDS_ON]->(hub)"
    ))
    .await;
    let o = ontology::parse_ontology(&format!(
        "type {label} @node {{\n  name: String!\n  rank: Int!\n  \
         dependsOn: [{label}!]! @relationship(type: \"DEPENDS_ON\", direction: OUT)\n  \
         dependents: [{label}!]! @relationship(type: \"DEPENDS_ON\", direction: IN)\n}}\n"
    ))
    .expect("ontology");
    let plural = o.nodes.values().next().expect("type").plural.clone();
    assert!(o.keys().is_empty(), "the type definitions declare no key");
    let router = testkit::router().await;
    let config = gateway::GatewayConfig {
        admin: gateway::admin::AdminConfig::with_token("test-admin"),
        supernodes: Some(gateway::degree_store::SupernodeConfig {
            min_degree: 100,
            quantile: 0.0,
            // Every refresh below scans again.
            scan_interval: std::time::Duration::from_millis(1),
            ..gateway::degree_store::SupernodeConfig::default()
        }),
        rewrite: ontology::rewrite::RewriteOptions {
            min_degree: 100,
            ..ontology::rewrite::RewriteOptions::default()
        },
        ..gateway::GatewayConfig::default()
    };
    let state = gateway::AppState::build(o, router, &config)
        .await
        .expect("state");
    let store = state.engine().supernodes.clone().expect("degree store");
    store.refresh().await;
    let described = store.describe();
    let keyed = |described: &Value| {
        described["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["type"] == label.as_str())
    };
    assert!(!keyed(&described), "no key yet: {described}");
    assert!(
        !described["hubs"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["label"] == label.as_str())),
        "without a key the label's nodes are not measured: {described}"
    );

    // The user creates the constraint (and an index) while the gateway runs: the next scan
    // adopts it as a key and measures the label by it.
    run(format!(
        "CREATE CONSTRAINT {constraint} FOR (p:{label}) REQUIRE p.name IS UNIQUE"
    ))
    .await;
    run(format!("CREATE INDEX {index} FOR (p:{label}) ON (p.rank)")).await;
    store.refresh().await;
    let described = store.describe();
    assert!(
        described["keys"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k["type"] == label.as_str()
                && k["property"] == "name"
                && k["source"] == format!("database constraint `{constraint}`").as_str())),
        "the constraint is a key now: {described}"
    );
    assert!(
        described["hubs"].as_array().is_some_and(|h| h
            .iter()
            .any(|h| h["label"] == label.as_str()
                && h["degree"] == 300
                && h["keys"]["name"] == "hub")),
        "the label is measured by its database key: {described}"
    );
    let app = gateway::app(state);

    // The hub's count: read from the degree store.
    let count = format!(
        r#"{{ {plural}(where: {{ name: {{ eq: "hub" }} }}) {{ dependentsConnection {{ totalCount }} }} }}"#
    );
    let ex = explain(&app, &count).await;
    assert_eq!(applied(&ex), ["count-from-degree"], "{ex}");
    assert!(
        ex["keys"].as_array().is_some_and(|k| k
            .iter()
            .any(|k| k["source"] == format!("database constraint `{constraint}`").as_str())),
        "explain says where the key came from: {ex}"
    );
    let r = testkit::http::post(&app, json!({ "query": count }), &[]).await;
    assert_eq!(
        r.data()[&plural][0]["dependentsConnection"]["totalCount"],
        300
    );

    // The hub's top 5 by name: an ordered walk of the constraint's index.
    let top = format!(
        r#"{{ {plural}(where: {{ name: {{ eq: "hub" }} }}) {{ dependents(sort: [{{ name: DESC }}], limit: 5) {{ name }} }} }}"#
    );
    let ex = explain(&app, &top).await;
    assert_eq!(applied(&ex), ["index-ordered-top-k"], "{ex}");
    let r = testkit::http::post(&app, json!({ "query": top }), &[]).await;
    assert_eq!(
        r.data()[&plural][0]["dependents"],
        json!([
            { "name": "dep-300" },
            { "name": "dep-299" },
            { "name": "dep-298" },
            { "name": "dep-297" },
            { "name": "dep-296" }
        ])
    );

    // Why nothing was considered, where nothing was: a node that is no hub, a root list that
    // looks nothing up by a key.
    let small = format!(
        r#"{{ {plural}(where: {{ name: {{ eq: "dep-001" }} }}) {{ dependents {{ name }} }} }}"#
    );
    let ex = testkit::http::call(
        &app,
        "POST",
        "/admin/api/explain",
        &[("authorization", "Bearer test-admin")],
        Some(&json!({ "query": small, "measure": true })),
    )
    .await
    .body;
    assert!(applied(&ex).is_empty(), "{ex}");
    let reason = ex["notConsidered"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("is not a known hub"), "{ex}");
    // Plain and rewritten are the same statement: measured once, equal.
    assert_eq!(ex["measured"]["identicalStatements"], true, "{ex}");
    assert_eq!(
        ex["measured"]["plainMedianMs"], ex["measured"]["rewrittenMedianMs"],
        "{ex}"
    );
    let all = format!(r#"{{ {plural}(limit: 3) {{ dependents {{ name }} }} }}"#);
    let ex = explain(&app, &all).await;
    let reason = ex["notConsidered"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("not one key lookup") && reason.contains("database constraint"),
        "{ex}"
    );

    // A range index found in the database serves an ordered walk as `@index` would.
    let ranked = format!(
        r#"{{ {plural}(where: {{ name: {{ eq: "hub" }} }}) {{ dependents(sort: [{{ rank: ASC }}], limit: 2) {{ name rank }} }} }}"#
    );
    let ex = explain(&app, &ranked).await;
    assert_eq!(applied(&ex), ["index-ordered-top-k"], "{ex}");
    let r = testkit::http::post(&app, json!({ "query": ranked }), &[]).await;
    assert_eq!(
        r.data()[&plural][0]["dependents"],
        json!([{ "name": "dep-300", "rank": 700 }, { "name": "dep-299", "rank": 701 }])
    );

    // The constraint dropped: the next scan stops using it as a key, and nothing is rewritten.
    run(format!("DROP CONSTRAINT {constraint}")).await;
    store.refresh().await;
    assert!(!keyed(&store.describe()), "{}", store.describe());
    let ex = explain(&app, &count).await;
    assert!(applied(&ex).is_empty(), "{ex}");
    let r = testkit::http::post(&app, json!({ "query": count }), &[]).await;
    assert_eq!(
        r.data()[&plural][0]["dependentsConnection"]["totalCount"],
        300
    );

    run(format!("MATCH (p:{label}) DETACH DELETE p")).await;
    run(format!("DROP INDEX {index}")).await;
}
