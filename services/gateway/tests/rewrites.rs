//! Differential equivalence of the supernode rewrites on real Neo4j: random graphs with hubs
//! (parallel relationships, ties in sort keys, hubs joined to most or few of their neighbours'
//! label), random queries of every rewritable shape, and for each case the rewritten statement
//! must return exactly the row the plain one returns (order included).

use std::path::PathBuf;

use ontology::compile::{compile_with, CompileOptions};
use ontology::model::Direction;
use ontology::rewrite::{DegreeStats, RewriteOptions, Rule};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use testkit::env;

fn ontology_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/ontology.graphql");
    std::fs::read_to_string(path).expect("ontology")
}

fn ontology() -> ontology::Ontology {
    ontology::parse_ontology(&ontology_text()).expect("valid")
}

/// The same type definitions as a v7 user writes them, without `@unique`, with the keys taken
/// from the database's uniqueness constraints (`scripts/test` migrates before the tests run).
async fn ontology_with_database_keys(router: &graph::Router) -> ontology::Ontology {
    let mut o = ontology::parse_ontology(&ontology_text().replace(" @unique", "")).expect("valid");
    o.adopt_database(
        gateway::database_keys::read(router)
            .await
            .expect("the database's constraints"),
    );
    o
}

/// Every anchor named `…-hub` is a hub of a million relationships among a million nodes.
struct HubStats;

impl DegreeStats for HubStats {
    fn degree(&self, _: &str, _: &str, key: &Value, _: &str, _: Direction) -> Option<u64> {
        key.as_str()
            .filter(|k| k.ends_with("-hub"))
            .map(|_| 1_000_000)
    }
    fn label_count(&self, _: &str) -> Option<u64> {
        Some(1_000_000)
    }
}

fn cursor(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("arrayconnection:{offset}"))
}

/// A random query of a rewritable shape at the round's hubs.
fn random_query(rng: &mut impl Rng, px: &str, persons: usize, teams: usize) -> String {
    let dir = if rng.gen_bool(0.5) { "ASC" } else { "DESC" };
    let (k, s) = (rng.gen_range(1..15), rng.gen_range(0..40));
    let handles: Vec<String> = (0..rng.gen_range(1..5))
        .map(|_| format!("\"{px}-p-{}\"", rng.gen_range(0..persons + 5)))
        .collect();
    let ids: Vec<String> = (0..rng.gen_range(1..5))
        .map(|_| format!("\"{px}-t-{}\"", rng.gen_range(0..teams + 5)))
        .collect();
    let team = format!(r#"teams(where: {{ id: {{ eq: "{px}-hub" }} }})"#);
    let person = format!(r#"people(where: {{ handle: {{ eq: "{px}-hub" }} }})"#);
    match rng.gen_range(0..10) {
        0 => format!(
            r#"{{ {team} {{ id members(where: {{ handle: {{ eq: {} }} }}) {{ handle name }} }} }}"#,
            handles[0]
        ),
        1 => format!(
            r#"{{ {team} {{ members(where: {{ handle: {{ in: [{}] }} }}, sort: [{{ handle: {dir} }}]) {{ handle }} }} }}"#,
            handles.join(", ")
        ),
        2 => format!(
            r#"{{ {team} {{ members(sort: [{{ handle: {dir} }}], limit: {k}, offset: {s}) {{ handle name }} }} }}"#
        ),
        3 => format!(r#"{{ {team} {{ members(sort: [{{ id: {dir} }}], limit: {k}) {{ id }} }} }}"#),
        4 => format!(
            r#"{{ {team} {{ membersConnection(first: {k}, after: "{}", sort: [{{ node: {{ handle: {dir} }} }}]) {{ totalCount edges {{ cursor properties {{ role }} node {{ handle }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"#,
            cursor(s)
        ),
        5 => format!(r#"{{ {team} {{ membersConnection {{ totalCount }} }} }}"#),
        // Teams share a handful of names: ties in the sort key.
        6 => format!(
            r#"{{ {person} {{ handle teams(sort: [{{ name: {dir} }}], limit: {k}, offset: {s}) {{ id name }} }} }}"#
        ),
        7 => format!(
            r#"{{ {person} {{ teamsConnection(first: {k}, sort: [{{ node: {{ name: {dir} }} }}]) {{ edges {{ properties {{ role }} node {{ id name }} }} pageInfo {{ hasNextPage }} }} }} }}"#
        ),
        8 => format!(
            r#"{{ {person} {{ teams(where: {{ id: {{ in: [{}] }} }}) {{ id }} teamsConnection {{ totalCount }} }} }}"#,
            ids.join(", ")
        ),
        _ => format!(
            r#"{{ {person} {{ teamsConnection(first: {k}, after: "{}", sort: [{{ node: {{ name: {dir} }} }}]) {{ totalCount edges {{ node {{ id }} }} }} }} }}"#,
            cursor(s)
        ),
    }
}

async fn build_graph(
    neo4j: &graph::Neo4jClient,
    rng: &mut impl Rng,
    px: &str,
    persons: usize,
    teams: usize,
) {
    let names = ["alpha", "beta", "gamma", "delta"];
    let people: Vec<Value> = (0..persons)
        .map(|i| json!({ "handle": format!("{px}-p-{i}"), "id": format!("{px}-pid-{i:05}"), "name": format!("n{}", i % 7) }))
        .collect();
    let team_rows: Vec<Value> = (0..teams)
        .map(|i| json!({ "id": format!("{px}-t-{i}"), "name": names[i % names.len()] }))
        .collect();
    // The hubs: a team joined by a random share of the people, a person in a random share of
    // the teams; some memberships twice (parallel relationships, different roles).
    let share = rng.gen_range(0.05..1.0);
    let mut members = Vec::new();
    for i in 0..persons {
        if rng.gen_bool(share) {
            members.push(
                json!({ "p": format!("{px}-p-{i}"), "role": format!("r{}", rng.gen_range(0..3)) }),
            );
            if rng.gen_bool(0.1) {
                members.push(json!({ "p": format!("{px}-p-{i}"), "role": "again" }));
            }
        }
    }
    let mut joined = Vec::new();
    let share = rng.gen_range(0.05..1.0);
    for i in 0..teams {
        if rng.gen_bool(share) {
            joined.push(
                json!({ "t": format!("{px}-t-{i}"), "role": format!("r{}", rng.gen_range(0..3)) }),
            );
            if rng.gen_bool(0.1) {
                joined.push(json!({ "t": format!("{px}-t-{i}"), "role": "again" }));
            }
        }
    }
    let statements = [
        graph::Statement::new("UNWIND $rows AS r CREATE (:Person {handle: r.handle, id: r.id, name: r.name})")
            .param("rows", Value::Array(people)),
        graph::Statement::new("UNWIND $rows AS r CREATE (:Team {id: r.id, name: r.name})")
            .param("rows", Value::Array(team_rows)),
        graph::Statement::new("CREATE (:Team {id: $px + '-hub', name: 'hub'}), (:Person {handle: $px + '-hub', id: $px + '-hubid', name: 'hub'})")
            .param("px", px),
        graph::Statement::new("MATCH (h:Team {id: $px + '-hub'}) UNWIND $rows AS r MATCH (p:Person {handle: r.p}) CREATE (p)-[:MEMBER_OF {role: r.role}]->(h)")
            .param("px", px)
            .param("rows", Value::Array(members)),
        graph::Statement::new("MATCH (h:Person {handle: $px + '-hub'}) UNWIND $rows AS r MATCH (t:Team {id: r.t}) CREATE (h)-[:MEMBER_OF {role: r.role}]->(t)")
            .param("px", px)
            .param("rows", Value::Array(joined)),
    ];
    for st in &statements {
        neo4j
            .run(st, graph::AccessMode::Write)
            .await
            .expect("graph built");
    }
}

/// Rows with every list sorted (for queries whose lists have no defined order).
fn unordered(rows: Vec<serde_json::Map<String, Value>>) -> Vec<Value> {
    fn sort(v: Value) -> Value {
        match v {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.into_iter().map(sort).collect();
                items.sort_by_key(|i| i.to_string());
                Value::Array(items)
            }
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, sort(v))).collect())
            }
            other => other,
        }
    }
    rows.into_iter().map(|r| sort(Value::Object(r))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewritten_statements_return_exactly_what_plain_ones_return() {
    const ROUNDS: usize = 20;
    const QUERIES_PER_ROUND: usize = 55;
    // Even rounds: keys declared with `@unique`; odd rounds: keys from database constraints.
    let ontologies = [
        ontology(),
        ontology_with_database_keys(&testkit::router().await).await,
    ];
    assert!(
        ontologies[1]
            .keys()
            .iter()
            .any(|(_, _, source)| source.starts_with("database constraint")),
        "the database has the ontology's uniqueness constraints (ontograph migrate)"
    );
    let neo4j = graph::Neo4jClient::connect(graph::Neo4jConfig::new(env("NEO4J_URI")))
        .await
        .expect("neo4j");
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261123);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let (mut cases, mut applied) = (
        0usize,
        std::collections::BTreeMap::<(usize, &str), usize>::new(),
    );
    for round in 0..ROUNDS {
        let o = &ontologies[round % 2];
        let px = format!("rw-{nanos}-{round}");
        let (persons, teams) = (rng.gen_range(5..400), rng.gen_range(3..60));
        build_graph(&neo4j, &mut rng, &px, persons, teams).await;
        for _ in 0..QUERIES_PER_ROUND {
            let query = random_query(&mut rng, &px, persons, teams);
            // Without a sort the order of a list is unspecified: compare those as multisets.
            let ordered = query.contains("sort:") || !query.contains("{ in: [");
            let doc = async_graphql::parser::parse_query(&query).expect("query parses");
            let op = ontology::ir::from_document(&doc, None, &Default::default())
                .expect("ir")
                .expect("an operation");
            let opts = CompileOptions::default();
            let rewritten = compile_with(o, &op, &opts, &HubStats, RewriteOptions::default())
                .unwrap_or_else(|e| panic!("{query}: {e}"));
            let plain = compile_with(
                o,
                &op,
                &opts,
                &HubStats,
                RewriteOptions {
                    apply: false,
                    ..RewriteOptions::default()
                },
            )
            .expect("plain compiles");
            assert!(
                rewritten.decisions.iter().any(|d| d.applied),
                "no rule applied to {query}"
            );
            for d in rewritten.decisions.iter().filter(|d| d.applied) {
                *applied.entry((round % 2, d.rule.name())).or_default() += 1;
            }
            let run = |c: &ontology::compile::CompiledOperation| graph::Statement {
                cypher: c.cypher.clone(),
                params: c.params.clone(),
                timeout: None,
            };
            let a = neo4j
                .run(&run(&rewritten), graph::AccessMode::Read)
                .await
                .unwrap_or_else(|e| panic!("{query}\n{}\n{e}", rewritten.cypher))
                .rows;
            let b = neo4j
                .run(&run(&plain), graph::AccessMode::Read)
                .await
                .expect("plain runs")
                .rows;
            let as_values = |rows: Vec<serde_json::Map<String, Value>>| -> Vec<Value> {
                rows.into_iter().map(Value::Object).collect()
            };
            let (a, b) = if ordered {
                (as_values(a), as_values(b))
            } else {
                (unordered(a), unordered(b))
            };
            assert_eq!(
                a, b,
                "rewritten and plain differ for {query}\nrewritten: {}\nplain: {}",
                rewritten.cypher, plain.cypher
            );
            cases += 1;
        }
    }
    // Every family was exercised, with either kind of key.
    for keys in 0..2 {
        for rule in [
            Rule::CountFromDegree,
            Rule::IndexSeekNeighbours,
            Rule::IndexOrderedTopK,
            Rule::IndexOrderedPage,
        ] {
            assert!(
                applied.get(&(keys, rule.name())).copied().unwrap_or(0) > 10,
                "{applied:?}"
            );
        }
    }
    println!("rewrite equivalence: {cases} (graph, query) cases over {ROUNDS} random graphs, identical rows; rules applied: {applied:?}");
}
