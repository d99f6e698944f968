//! End-to-end GraphQL tests against real Neo4j (the stack started by `scripts/test`): reads,
//! every mutation kind, and bad input. Each test works on its own data (a unique prefix), so
//! tests can share the database.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn neo4j_uri() -> String {
    std::env::var("NEO4J_URI").unwrap_or_else(|_| {
        panic!(
            "NEO4J_URI is not set: run the server tests through scripts/test, which starts Neo4j"
        )
    })
}

async fn app() -> axum::Router {
    app_with(&neo4j_uri(), |_| {}).await
}

async fn app_with(uri: &str, tweak: impl FnOnce(&mut gateway::GatewayConfig)) -> axum::Router {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/ontology.graphql");
    let source = std::fs::read_to_string(path).expect("ontology readable");
    let o = ontology::parse_ontology(&source).expect("valid ontology");
    let client = graph::Neo4jClient::connect(graph::Neo4jConfig::new(uri))
        .await
        .expect("neo4j client builds");
    if uri == neo4j_uri() {
        // The constraint-violation test needs the uniqueness constraint `ontograph migrate`
        // creates. Tests run concurrently and may race on creating it: a loser retries.
        let item = [graph::SchemaItem::unique("Person", "handle")];
        let mut attempts = 0;
        while let Err(e) = graph::migrate(&client, &item, &graph::MigrationOptions::default()).await
        {
            attempts += 1;
            assert!(attempts < 5, "migration failed: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let mut config = gateway::GatewayConfig::default();
    config.schema.max_depth = 8;
    config.http.max_body_bytes = 16 * 1024;
    tweak(&mut config);
    let neo4j = graph::Router::connect(graph::RoutingConfig::single(graph::Neo4jConfig::new(uri)))
        .await
        .expect("router builds");
    testkit::gateway_on(o, neo4j, config).await
}

async fn post(app: &axum::Router, body: Value) -> (StatusCode, Value) {
    post_raw(app, body.to_string()).await
}

async fn post_raw(app: &axum::Router, body: String) -> (StatusCode, Value) {
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let r = testkit::http::send(app, req).await;
    let body = if r.body.is_null() {
        json!({ "raw": r.text })
    } else {
        r.body
    };
    (r.status, body)
}

async fn gql(app: &axum::Router, query: &str, variables: Value) -> Value {
    testkit::http::graphql(app, query, variables, &[])
        .await
        .data()
}

async fn error_of(app: &axum::Router, query: &str, variables: Value) -> (StatusCode, String) {
    let (status, v) = post(app, json!({ "query": query, "variables": variables })).await;
    let msg = v["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {v}"))
        .to_string();
    (status, msg)
}

/// Creates an organization with two teams and three people, through the API itself.
async fn fixture(app: &axum::Router, p: &str) {
    let q = r#"mutation($input: [OrganizationCreateInput!]!) { createOrganizations(input: $input) { info { nodesCreated relationshipsCreated } } }"#;
    let input = json!([{
        "name": format!("{p}acme"),
        "founded": 1999,
        "teams": { "create": [
            { "node": { "name": format!("{p}core"), "members": { "create": [
                { "node": { "handle": format!("{p}ada"), "name": "Ada", "title": "Engineer", "joinedAt": "2020-01-02T03:04:05Z" }, "edge": { "role": "lead", "since": "2020-02-01T00:00:00Z" } },
                { "node": { "handle": format!("{p}bob"), "name": "Bob", "title": "Engineer" }, "edge": { "role": "member" } }
            ] } } },
            { "node": { "name": format!("{p}docs"), "members": { "create": [
                { "node": { "handle": format!("{p}cy"), "name": "Cy", "title": "Writer" }, "edge": { "role": "lead" } }
            ] } } }
        ] }
    }]);
    let data = gql(app, q, json!({ "input": input })).await;
    assert_eq!(
        data["createOrganizations"]["info"],
        json!({ "nodesCreated": 6, "relationshipsCreated": 5 })
    );
}

#[tokio::test]
async fn reads_filters_sorting_nesting_and_connections() {
    let app = app().await;
    let p = testkit::unique("e2e-read");
    fixture(&app, &p).await;

    let data = gql(&app, r#"query($p: String!) { people(where: { handle: { startsWith: $p } }, sort: [{ name: DESC }]) { name teams { name } } }"#, json!({ "p": p })).await;
    assert_eq!(
        data["people"],
        json!([
            { "name": "Cy", "teams": [{ "name": format!("{p}docs") }] },
            { "name": "Bob", "teams": [{ "name": format!("{p}core") }] },
            { "name": "Ada", "teams": [{ "name": format!("{p}core") }] }
        ])
    );

    // Relationship filter, nested list with its own where/sort/limit, single relationship.
    let data = gql(&app, r#"query($p: String!) { teams(where: { name: { startsWith: $p }, members: { some: { title: { eq: "Writer" } } } }) { name organization { name } members(sort: [{ handle: ASC }], limit: 1) { name } } }"#, json!({ "p": p })).await;
    assert_eq!(
        data["teams"],
        json!([{ "name": format!("{p}docs"), "organization": { "name": format!("{p}acme") }, "members": [{ "name": "Cy" }] }])
    );

    // all / none / single, AND/OR/NOT, in, DateTime.
    let data = gql(&app, r#"query($p: String!) { teams(where: { name: { startsWith: $p }, members: { all: { title: { eq: "Engineer" } } } }) { name } }"#, json!({ "p": p })).await;
    assert_eq!(data["teams"], json!([{ "name": format!("{p}core") }]));
    let data = gql(&app, r#"query($p: String!) { people(where: { handle: { startsWith: $p }, OR: [{ name: { in: ["Ada", "Cy"] } }, { NOT: { title: { eq: "Engineer" } } }], joinedAt: { lt: "2021-01-01T00:00:00Z" } }) { handle joinedAt } }"#, json!({ "p": p })).await;
    assert_eq!(
        data["people"],
        json!([{ "handle": format!("{p}ada"), "joinedAt": "2020-01-02T03:04:05.000Z" }])
    );

    // Connection on the root with counts, cursors and paging.
    let q = r#"query($p: String!, $after: String) { peopleConnection(first: 2, after: $after, where: { handle: { startsWith: $p } }, sort: [{ handle: ASC }]) { totalCount aggregate { count { nodes } } pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { name } } } }"#;
    let page1 = gql(&app, q, json!({ "p": p })).await;
    let c = &page1["peopleConnection"];
    assert_eq!(c["totalCount"], 3);
    assert_eq!(c["aggregate"]["count"]["nodes"], 3);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    assert_eq!(c["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(c["edges"].as_array().map(Vec::len), Some(2));
    let after = c["pageInfo"]["endCursor"].clone();
    let page2 = gql(&app, q, json!({ "p": p, "after": after })).await;
    let c2 = &page2["peopleConnection"];
    assert_eq!(
        c2["edges"],
        json!([{ "cursor": c2["edges"][0]["cursor"], "node": { "name": "Cy" } }])
    );
    assert_eq!(c2["pageInfo"]["hasNextPage"], false);
    assert_eq!(c2["pageInfo"]["hasPreviousPage"], true);

    // Nested connection with relationship properties, edge filter and edge sort.
    let data = gql(&app, r#"query($p: String!) { teams(where: { name: { eq: $p } }) { membersConnection(sort: [{ edge: { role: ASC } }], where: { edge: { role: { in: ["lead", "member"] } } }) { totalCount edges { properties { role since } node { name } } } } }"#, json!({ "p": format!("{p}core") })).await;
    assert_eq!(
        data["teams"][0]["membersConnection"],
        json!({
            "totalCount": 2,
            "edges": [
                { "properties": { "role": "lead", "since": "2020-02-01T00:00:00.000Z" }, "node": { "name": "Ada" } },
                { "properties": { "role": "member", "since": null }, "node": { "name": "Bob" } }
            ]
        })
    );

    // Connection filter on edge properties, aliases and fragments.
    let data = gql(&app, r#"query($p: String!) { leads: people(where: { handle: { startsWith: $p }, teamsConnection: { some: { edge: { role: { eq: "lead" } } } } }, sort: [{ handle: ASC }]) { ...P } } fragment P on Person { who: name }"#, json!({ "p": p })).await;
    assert_eq!(data["leads"], json!([{ "who": "Ada" }, { "who": "Cy" }]));

    // GET works for queries.
    let uri = format!(
        "/graphql?query={}",
        testkit::http::urlencode(&format!(
            "{{ organizations(where: {{ name: {{ eq: \"{p}acme\" }} }}) {{ founded }} }}"
        ))
    );
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.expect("body").to_bytes())
            .expect("json");
    assert_eq!(body["data"]["organizations"], json!([{ "founded": 1999 }]));
}

#[tokio::test]
async fn mutations_create_update_connect_disconnect_delete() {
    let app = app().await;
    let p = testkit::unique("e2e-mut");
    fixture(&app, &p).await;

    // Update scalars (set, add) and connect/disconnect relationships with edge properties.
    let q = r#"mutation($p: String!) { updateOrganizations(where: { name: { eq: $p } }, update: { founded: { add: 1 } }) { info { nodesCreated } organizations { name founded } } }"#;
    let data = gql(&app, q, json!({ "p": format!("{p}acme") })).await;
    assert_eq!(
        data["updateOrganizations"]["organizations"],
        json!([{ "name": format!("{p}acme"), "founded": 2000 }])
    );

    let q = r#"mutation($team: String!, $who: String!, $bob: String!) { updateTeams(where: { name: { eq: $team } }, update: { name: { set: $team }, members: [{ connect: [{ where: { node: { handle: { eq: $who } } }, edge: { role: "guest" } }], disconnect: [{ where: { node: { handle: { eq: $bob } } } }] }] }) { info { relationshipsCreated relationshipsDeleted } teams { members(sort: [{ handle: ASC }]) { handle } } } }"#;
    let data = gql(
        &app,
        q,
        json!({ "team": format!("{p}docs"), "who": format!("{p}ada"), "bob": format!("{p}bob") }),
    )
    .await;
    assert_eq!(
        data["updateTeams"]["info"],
        json!({ "relationshipsCreated": 1, "relationshipsDeleted": 0 })
    );
    assert_eq!(
        data["updateTeams"]["teams"][0]["members"],
        json!([{ "handle": format!("{p}ada") }, { "handle": format!("{p}cy") }])
    );

    let q = r#"mutation($team: String!, $bob: String!) { updateTeams(where: { name: { eq: $team } }, update: { members: [{ disconnect: [{ where: { node: { handle: { eq: $bob } } } }] }] }) { info { relationshipsDeleted } } }"#;
    let data = gql(
        &app,
        q,
        json!({ "team": format!("{p}core"), "bob": format!("{p}bob") }),
    )
    .await;
    assert_eq!(data["updateTeams"]["info"]["relationshipsDeleted"], 1);

    // Nested create inside update.
    let q = r#"mutation($team: String!, $h: String!) { updateTeams(where: { name: { eq: $team } }, update: { members: [{ create: [{ node: { handle: $h, name: "Dee" }, edge: { role: "intern" } }] }] }) { info { nodesCreated relationshipsCreated } teams { membersConnection(where: { edge: { role: { eq: "intern" } } }) { edges { node { name } } } } } }"#;
    let data = gql(
        &app,
        q,
        json!({ "team": format!("{p}core"), "h": format!("{p}dee") }),
    )
    .await;
    assert_eq!(
        data["updateTeams"]["info"],
        json!({ "nodesCreated": 1, "relationshipsCreated": 1 })
    );
    assert_eq!(
        data["updateTeams"]["teams"][0]["membersConnection"]["edges"],
        json!([{ "node": { "name": "Dee" } }])
    );

    // Delete: counts nodes and relationships.
    let q = r#"mutation($p: String!) { deletePeople(where: { handle: { startsWith: $p } }) { nodesDeleted relationshipsDeleted } }"#;
    let data = gql(&app, q, json!({ "p": p })).await;
    assert_eq!(
        data["deletePeople"],
        json!({ "nodesDeleted": 4, "relationshipsDeleted": 4 })
    );
    let data = gql(
        &app,
        r#"query($p: String!) { people(where: { handle: { startsWith: $p } }) { handle } }"#,
        json!({ "p": p }),
    )
    .await;
    assert_eq!(data["people"], json!([]));
    let q = r#"mutation($p: String!) { deleteTeams(where: { name: { startsWith: $p } }) { nodesDeleted } deleteOrganizations(where: { name: { startsWith: $p } }) { nodesDeleted relationshipsDeleted } }"#;
    let data = gql(&app, q, json!({ "p": p })).await;
    assert_eq!(data["deleteTeams"]["nodesDeleted"], 2);
    assert_eq!(
        data["deleteOrganizations"],
        json!({ "nodesDeleted": 1, "relationshipsDeleted": 0 })
    );
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let app = app().await;
    let p = testkit::unique("e2e-bad");

    let (_, msg) = error_of(&app, "{ people { handle ", json!({})).await;
    assert!(msg.contains("expected"), "{msg}");

    let (_, msg) = error_of(&app, "{ people { nope } }", json!({})).await;
    assert!(msg.contains("Unknown field \"nope\""), "{msg}");

    let (_, msg) = error_of(
        &app,
        "query($l: Int) { people(limit: $l) { handle } }",
        json!({ "l": "ten" }),
    )
    .await;
    assert!(
        msg.contains("Invalid value for argument") || msg.contains("variable"),
        "{msg}"
    );

    let deep = "{ teams { members { teams { members { teams { members { teams { members { handle } } } } } } } } }";
    let (_, msg) = error_of(&app, deep, json!({})).await;
    assert!(msg.contains("too deep") || msg.contains("depth"), "{msg}");

    let (_, msg) = error_of(&app, "{ people(limit: 100000) { handle } }", json!({})).await;
    assert!(msg.contains("exceeds the maximum"), "{msg}");

    let big = format!(
        "{{\"query\": \"{{ people {{ handle }} }}\", \"pad\": \"{}\"}}",
        "x".repeat(20_000)
    );
    let (status, v) = post_raw(&app, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("too large"),
        "{v}"
    );

    let (status, v) = post_raw(&app, "not json".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // A mutation that fails half-way (unique handle violated) leaves nothing behind.
    let q = r#"mutation($a: String!) { createPeople(input: [{ handle: $a, name: "One" }, { handle: $a, name: "Two" }]) { info { nodesCreated } } }"#;
    let (_, msg) = error_of(&app, q, json!({ "a": format!("{p}dup") })).await;
    assert!(
        msg.contains("constraint") || msg.contains("already exists"),
        "{msg}"
    );
    let data = gql(
        &app,
        r#"query($a: String!) { people(where: { handle: { eq: $a } }) { name } }"#,
        json!({ "a": format!("{p}dup") }),
    )
    .await;
    assert_eq!(data["people"], json!([]));

    // Mutations are refused over GET.
    let uri = format!(
        "/graphql?query={}",
        testkit::http::urlencode("mutation { deletePeople { nodesDeleted } }")
    );
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_sdl_ide_and_metrics() {
    let app = app().await;
    for (path, accept, expect) in [
        ("/livez", "*/*", "ok"),
        ("/readyz", "*/*", "ready"),
        ("/graphql/schema.graphql", "*/*", "type Query"),
        ("/graphql", "text/html", "/graphql/ide/graphiql.min.js"),
        ("/graphql/ide/graphiql.min.js", "*/*", "graphiql"),
        ("/graphql/ide/react.production.min.js", "*/*", "react"),
    ] {
        let resp = app
            .clone()
            .oneshot(
                Request::get(path)
                    .header("accept", accept)
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let body =
            String::from_utf8_lossy(&resp.into_body().collect().await.expect("body").to_bytes())
                .to_lowercase();
        assert!(body.contains(&expect.to_lowercase()), "{path}: {body:.200}");
    }
    gql(&app, "{ people(limit: 1) { handle } }", json!({})).await;
    // IDEs nest introspection deeper than the data depth limit: it must still be answered.
    let introspection = "{ __schema { queryType { name } types { name fields { name type { name ofType { name ofType { name ofType { name ofType { name ofType { name ofType { name } } } } } } } } } } }";
    let data = gql(&app, introspection, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let resp = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    let body = String::from_utf8_lossy(&resp.into_body().collect().await.expect("body").to_bytes())
        .to_string();
    assert!(
        body.contains("ontograph_graphql_requests_total"),
        "{body:.500}"
    );
}

#[tokio::test]
async fn dead_neo4j_is_reported_not_hidden() {
    // Nothing listens on port 1: the pool cannot connect.
    let app = app_with("bolt://127.0.0.1:1", |_| {}).await;
    let resp = app
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let resp = app
        .clone()
        .oneshot(Request::get("/livez").body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "liveness does not depend on Neo4j"
    );
    let (status, v) = post(&app, json!({ "query": "{ people { handle } }" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{v}"
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("unavailable"),
        "{v}"
    );
}

#[tokio::test]
async fn slow_requests_time_out_with_a_clear_error() {
    // Any statement needs a network round trip, so it cannot finish within a microsecond:
    // the limit is certain to expire whatever the data.
    let app = app_with(&neo4j_uri(), |c| {
        c.http.request_timeout = std::time::Duration::from_micros(1);
        c.statement_timeout = std::time::Duration::from_micros(1);
    })
    .await;
    let q = "{ people(limit: 1) { handle teams { name } } }";
    let (status, v) = post(&app, json!({ "query": q })).await;
    let code = v["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
    assert!(
        (status == StatusCode::GATEWAY_TIMEOUT || status == StatusCode::OK) && code == "TIMEOUT",
        "{status} {v}"
    );
}

#[tokio::test]
async fn data_that_breaks_the_schema_is_reported_at_its_path() {
    let app = app().await;
    let p = testkit::unique("e2e-nonnull");
    // A Person without its required `name`, written behind the API's back.
    let client = graph::Neo4jClient::connect(graph::Neo4jConfig::new(neo4j_uri()))
        .await
        .expect("client");
    let create = graph::Statement::new("CREATE (:Person {handle: $h})").param("h", format!("{p}x"));
    client
        .run(&create, graph::AccessMode::Write)
        .await
        .expect("create");
    let q = r#"query($h: String!) { people(where: { handle: { eq: $h } }) { handle name } }"#;
    let (status, v) = post(
        &app,
        json!({ "query": q, "variables": { "h": format!("{p}x") } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The non-null `name` is null: the fast path declines, and the resolvers report an error
    // at exactly that path instead of returning a silent null.
    let msg = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("non-null"), "{v}");
    assert_eq!(v["errors"][0]["path"], json!(["people", 0, "name"]), "{v}");
    let cleanup =
        graph::Statement::new("MATCH (n:Person {handle: $h}) DELETE n").param("h", format!("{p}x"));
    client
        .run(&cleanup, graph::AccessMode::Write)
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn the_topology_endpoint_needs_the_admin_token_when_one_is_set() {
    let get = |app: axum::Router, auth: Option<&'static str>| async move {
        let mut req = Request::get("/admin/api/topology");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = app
            .oneshot(req.body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    };
    let app = app_with(&neo4j_uri(), |c| {
        c.admin = gateway::admin::AdminConfig::with_token("s3cret-admin")
    })
    .await;
    let (status, body) = get(app.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("Authorization: Bearer"), "{body}");
    let (status, _) = get(app.clone(), Some("Bearer wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = get(app.clone(), Some("Bearer s3cret-admin")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let topology: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(topology["mode"], "static");
    assert_eq!(
        topology["backends"][0]["roles"],
        json!(["WRITE", "READ", "ROUTE"])
    );
    assert!(!body.contains("s3cret-admin"));
}

#[tokio::test]
async fn a_list_cut_by_the_default_page_size_says_so() {
    let app = app_with(&neo4j_uri(), |c| c.compile.default_limit = Some(3)).await;
    let p = testkit::unique("e2e-cut");
    let teams: Vec<Value> = (0..5)
        .map(|i| json!({ "name": format!("{p}-{i}") }))
        .collect();
    let made = gql(
        &app,
        "mutation($t: [TeamCreateInput!]!) { createTeams(input: $t) { info { nodesCreated } } }",
        json!({ "t": teams }),
    )
    .await;
    assert_eq!(made["createTeams"]["info"]["nodesCreated"], 5);
    let list = r#"query($p: String!) { teams(where: { name: { startsWith: $p } }, sort: [{ name: ASC }]) { name } }"#;
    // Five match, three are returned, and the response names the field and the page size.
    let (status, v) = post(&app, json!({ "query": list, "variables": { "p": p } })).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["teams"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(v["extensions"]["truncated"][0]["field"], "teams", "{v}");
    assert_eq!(v["extensions"]["truncated"][0]["limit"], 3, "{v}");
    // The same for a connection.
    let conn = r#"query($p: String!) { teamsConnection(where: { name: { startsWith: $p } }) { edges { node { name } } pageInfo { hasNextPage } } }"#;
    let (_, v) = post(&app, json!({ "query": conn, "variables": { "p": p } })).await;
    assert_eq!(
        v["data"]["teamsConnection"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{v}"
    );
    assert_eq!(
        v["extensions"]["truncated"][0]["field"], "teamsConnection",
        "{v}"
    );
    // A limit the client gave cuts nothing silently: no notice.
    let given =
        r#"query($p: String!) { teams(where: { name: { startsWith: $p } }, limit: 2) { name } }"#;
    let (_, v) = post(&app, json!({ "query": given, "variables": { "p": p } })).await;
    assert_eq!(v["data"]["teams"].as_array().map(Vec::len), Some(2), "{v}");
    assert!(v.get("extensions").is_none(), "{v}");
    // Exactly the default page size: nothing was cut.
    let three = r#"query($p: String!) { teams(where: { name: { in: [$a, $b, $c] } }) { name } }"#;
    let ids: Vec<String> = (0..3).map(|i| format!("{p}-{i}")).collect();
    let (_, v) = post(
        &app,
        json!({ "query": three.replace("$p: String!", "$a: String!, $b: String!, $c: String!"), "variables": { "a": ids[0], "b": ids[1], "c": ids[2] } }),
    )
    .await;
    assert_eq!(v["data"]["teams"].as_array().map(Vec::len), Some(3), "{v}");
    assert!(v.get("extensions").is_none(), "{v}");
    // `ONTOGRAPH_DEFAULT_LIMIT=0`: no default, every match.
    let unlimited = app_with(&neo4j_uri(), |c| c.compile.default_limit = None).await;
    let (_, v) = post(
        &unlimited,
        json!({ "query": list, "variables": { "p": p } }),
    )
    .await;
    assert_eq!(v["data"]["teams"].as_array().map(Vec::len), Some(5), "{v}");
    assert!(v.get("extensions").is_none(), "{v}");
}
