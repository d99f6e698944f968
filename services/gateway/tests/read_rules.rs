//! Per-type read rules from the ontology (`@authorization(filter: …)` with JWT roles), enforced
//! in the generated Cypher on real Neo4j: hidden nodes are not listed, not reached through
//! relationships, not counted, and do not satisfy filters.

use serde_json::{json, Value};

const ONTOLOGY: &str = r#"
type Person @node {
  handle: String! @unique
  name: String
  salaries: [Salary!]! @relationship(type: "EARNS", direction: OUT, properties: "Earns")
  latest: Salary @relationship(type: "LATEST", direction: OUT)
}

type Earns @relationshipProperties {
  since: Int
}

type Salary @node @authorization(filter: [{ where: { jwt: { roles_INCLUDES: "hr" } } }]) {
  id: ID! @id @unique
  amount: Int!
}
"#;

const READER: &str = "reader-key-0123456789abcdef";
const HR: &str = "hr-key-0123456789abcdef0123";

async fn post(app: &axum::Router, key: &str, query: &str) -> Value {
    testkit::http::graphql(app, query, json!({}), &[("x-api-key", key)])
        .await
        .data()
}

#[tokio::test]
async fn a_type_visible_only_to_a_role() {
    let o = ontology::parse_ontology(ONTOLOGY).expect("ontology");
    assert_eq!(o.node("Salary").map(|n| n.read_rules.len()), Some(1));
    let p = testkit::unique("rr");
    let neo4j = testkit::neo4j().await;
    neo4j
        .run(
            &graph::Statement::new(
                "CREATE (p:Person {handle: $p, name: 'Ada'})-[:EARNS {since: 2020}]->(s:Salary {id: $p, amount: 100}), (p)-[:LATEST]->(s)",
            )
            .param("p", p.clone()),
            graph::AccessMode::Write,
        )
        .await
        .expect("data");
    let config = gateway::GatewayConfig {
        access: gateway::access::AccessConfig {
            api_keys: gateway::access::parse_api_keys(&format!(
                "reader=read:{READER},payroll=read+hr:{HR}"
            ))
            .expect("keys"),
            ..gateway::access::AccessConfig::default()
        },
        ..gateway::GatewayConfig::default()
    };
    let app = testkit::gateway_on(o, testkit::router().await, config).await;

    let list = format!(r#"{{ salaries(where: {{ id: {{ eq: "{p}" }} }}) {{ amount }} }}"#);
    assert_eq!(post(&app, READER, &list).await["salaries"], json!([]));
    assert_eq!(
        post(&app, HR, &list).await["salaries"],
        json!([{"amount": 100}])
    );

    let nested = format!(
        r#"{{ people(where: {{ handle: {{ eq: "{p}" }} }}) {{ name salaries {{ amount }} salariesConnection {{ totalCount }} }} }}"#
    );
    let reader = post(&app, READER, &nested).await;
    assert_eq!(
        reader["people"][0]["name"], "Ada",
        "the person stays visible"
    );
    assert_eq!(reader["people"][0]["salaries"], json!([]));
    assert_eq!(reader["people"][0]["salariesConnection"]["totalCount"], 0);
    let hr = post(&app, HR, &nested).await;
    assert_eq!(hr["people"][0]["salaries"], json!([{"amount": 100}]));
    assert_eq!(hr["people"][0]["salariesConnection"]["totalCount"], 1);

    let filtered = format!(
        r#"{{ people(where: {{ handle: {{ eq: "{p}" }}, salaries: {{ some: {{ amount: {{ gt: 50 }} }} }} }}) {{ handle }} }}"#
    );
    assert_eq!(post(&app, READER, &filtered).await["people"], json!([]));
    assert_eq!(post(&app, HR, &filtered).await["people"][0]["handle"], p);
    // Edges to hidden nodes do not count in connection filters, even when the filter is on the
    // edge alone, whatever the quantifier; nor does a hidden node as a single related one.
    // For the reader, the person looks exactly like one with no salary.
    for (filter, reader_sees, hr_sees) in [
        (
            "salariesConnection: { some: { edge: { since: { gt: 0 } } } }",
            false,
            true,
        ),
        (
            "salariesConnection: { all: { edge: { since: { gt: 0 } } } }",
            false,
            true,
        ),
        (
            "salariesConnection: { single: { edge: { since: { gt: 0 } } } }",
            false,
            true,
        ),
        (
            "salariesConnection: { none: { edge: { since: { gt: 0 } } } }",
            true,
            false,
        ),
        (
            "salariesConnection: { none: { node: { amount: { gt: 0 } } } }",
            true,
            false,
        ),
        ("latest: null", true, false),
        ("latestConnection: null", true, false),
        ("latestConnection: {}", false, true),
        (
            "latestConnection: { node: { amount: { gt: 0 } } }",
            false,
            true,
        ),
        ("latest: { amount: { gt: 0 } }", false, true),
    ] {
        let q =
            format!(r#"{{ people(where: {{ handle: {{ eq: "{p}" }}, {filter} }}) {{ handle }} }}"#);
        let expect = |sees: bool| {
            if sees {
                json!([{ "handle": p }])
            } else {
                json!([])
            }
        };
        assert_eq!(
            post(&app, READER, &q).await["people"],
            expect(reader_sees),
            "reader: {filter}"
        );
        assert_eq!(
            post(&app, HR, &q).await["people"],
            expect(hr_sees),
            "hr: {filter}"
        );
    }
    let counted =
        format!(r#"{{ salariesConnection(where: {{ id: {{ eq: "{p}" }} }}) {{ totalCount }} }}"#);
    assert_eq!(
        post(&app, READER, &counted).await["salariesConnection"]["totalCount"],
        0
    );

    neo4j
        .run(
            &graph::Statement::new(
                "MATCH (p:Person {handle: $p})-[:EARNS]->(s:Salary) DETACH DELETE p, s",
            )
            .param("p", p),
            graph::AccessMode::Write,
        )
        .await
        .expect("cleanup");
}

#[test]
fn unsupported_rules_are_refused_with_what_is_supported() {
    let bad = r#"
      type Secret @node @authorization(validate: [{ where: { node: { owner: "$jwt.sub" } } }]) { id: ID! @id @unique }
    "#;
    let err = ontology::parse_ontology(bad)
        .expect_err("unsupported")
        .to_string();
    assert!(
        err.contains("@authorization(validate:)") && err.contains("where: { jwt:"),
        "{err}"
    );
    let bad = r#"
      type Secret @node @authorization(filter: [{ where: { node: { id: { eq: "$context.tenant" } } } }]) { id: ID! @id @unique }
    "#;
    let err = ontology::parse_ontology(bad)
        .expect_err("unsupported")
        .to_string();
    assert!(
        err.contains("reads `$context`, which is not supported yet"),
        "{err}"
    );
    let bad = r#"
      type Secret @node @authorization(filter: [{ where: { jwt: { tenant: { eq: "x" } } } }]) { id: ID! @id @unique }
    "#;
    let err = ontology::parse_ontology(bad)
        .expect_err("undeclared claim")
        .to_string();
    assert!(err.contains("the token has no claim `tenant`"), "{err}");
}

/// `$jwt` in `@cypher` statements is the caller's token payload (`{}` without a token), as the
/// library passes it; such results are the caller's own.
#[tokio::test]
async fn cypher_statements_read_the_callers_token() {
    const SECRET: &str = "read-rules-test-hs256-secret";
    let o = ontology::parse_ontology(
        r#"
type Person @node {
  handle: String! @unique
  isMe: Boolean @cypher(statement: "RETURN this.handle = $jwt.sub AS me", columnName: "me")
}
type Query {
  whoAmI: String @cypher(statement: "RETURN coalesce($jwt.sub, 'nobody') + '/' + coalesce($jwt.tenant, '-') AS s", columnName: "s")
}
"#,
    )
    .expect("ontology");
    let p = testkit::unique("jwt");
    testkit::neo4j()
        .await
        .run(
            &graph::Statement::new("CREATE (:Person {handle: $p})").param("p", p.clone()),
            graph::AccessMode::Write,
        )
        .await
        .expect("data");
    let config = gateway::GatewayConfig {
        access: gateway::access::AccessConfig {
            jwt_secret: Some(SECRET.into()),
            anonymous_reads: true,
            ..gateway::access::AccessConfig::default()
        },
        ..gateway::GatewayConfig::default()
    };
    let app = testkit::gateway_on(o, testkit::router().await, config).await;
    let token = |sub: &str| {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + 600)
            .unwrap_or(0);
        let claims = json!({ "sub": sub, "roles": ["read"], "tenant": "acme", "exp": exp });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("token")
    };
    let query = format!(r#"{{ whoAmI people(where: {{ handle: {{ eq: "{p}" }} }}) {{ isMe }} }}"#);
    let ask = |auth: Option<String>| {
        let (app, query) = (app.clone(), query.clone());
        async move {
            let bearer = auth.map(|t| format!("Bearer {t}"));
            let headers: Vec<(&str, &str)> = bearer
                .as_deref()
                .map(|b| vec![("authorization", b)])
                .unwrap_or_default();
            testkit::http::graphql(&app, &query, json!({}), &headers)
                .await
                .data()
        }
    };
    assert_eq!(
        ask(Some(token(&p))).await,
        json!({ "whoAmI": format!("{p}/acme"), "people": [{ "isMe": true }] })
    );
    assert_eq!(
        ask(Some(token("someone-else"))).await,
        json!({ "whoAmI": "someone-else/acme", "people": [{ "isMe": false }] })
    );
    assert_eq!(
        ask(None).await,
        json!({ "whoAmI": "nobody/-", "people": [{ "isMe": null }] })
    );
}
