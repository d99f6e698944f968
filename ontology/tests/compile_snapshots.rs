//! Snapshot tests of generated Cypher: ontology + GraphQL operation in, Cypher and parameters
//! out, for every query and mutation shape.

use std::path::PathBuf;

use ontology::compile::{compile, CompileOptions};
use ontology::Ontology;

fn ontology() -> Ontology {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/ontology.graphql");
    let source = std::fs::read_to_string(path).expect("default ontology is readable");
    ontology::parse_ontology(&source).unwrap_or_else(|e| panic!("{e}"))
}

fn cypher_for(query: &str, variables: serde_json::Value) -> String {
    let o = ontology();
    let doc = async_graphql_parser::parse_query(query).unwrap_or_else(|e| panic!("{e}"));
    let vars = async_graphql_value::Variables::from_json(variables);
    let op = ontology::ir::from_document(&doc, None, &vars)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("not introspection only");
    let compiled = compile(&o, &op, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    format!(
        "{}\n--- params\n{}",
        compiled.cypher,
        serde_json::to_string_pretty(&compiled.params).unwrap_or_default()
    )
}

macro_rules! shape {
    ($name:ident, $query:expr) => {
        shape!($name, $query, serde_json::json!({}));
    };
    ($name:ident, $query:expr, $vars:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), cypher_for($query, $vars));
        }
    };
}

shape!(list_default_limit, "{ people { handle name } }");
shape!(
    list_where_sort_limit_offset,
    r#"{ people(where: { name: { startsWith: "A" }, joinedAt: { gte: "2021-01-01T00:00:00Z" } }, sort: [{ name: ASC }, { handle: DESC }], limit: 5, offset: 10) { handle } }"#
);
shape!(
    where_in_contains_ends_not_or,
    r#"{ issues(where: { OR: [{ state: { in: ["open", "closed"] } }, { NOT: { title: { contains: "crash" } } }], title: { endsWith: "!" }, priority: { lt: 3 } }) { id } }"#
);
shape!(
    where_null_and_list_includes,
    r#"{ issues(where: { priority: { eq: null }, labels: { includes: "bug" } }) { id labels } }"#
);
shape!(
    relationship_filters_some_all_none_single,
    r#"{ teams(where: { members: { some: { name: { eq: "Ada" } }, all: { title: { eq: "Engineer" } } }, projects: { none: { status: { eq: "done" } }, single: { name: { startsWith: "X" } } } }) { name } }"#
);
shape!(
    single_relationship_filter_and_null,
    r#"{ issues(where: { author: { handle: { eq: "ada" } }, repository: null }) { id } }"#
);
shape!(
    connection_filter_on_edge_properties,
    r#"{ people(where: { teamsConnection: { some: { edge: { role: { eq: "lead" } }, node: { name: { startsWith: "Core" } } } } }) { handle } }"#
);
shape!(
    nested_list_with_where_sort_limit,
    r#"{ teams(sort: [{ name: ASC }]) { name members(where: { name: { contains: "a" } }, sort: [{ name: DESC }], limit: 3) { handle } organization { name } } }"#
);
shape!(
    two_hop_nesting,
    r#"{ organizations { name teams { name members { handle expertise(limit: 2) { name } } } } }"#
);
shape!(
    root_connection_with_counts,
    r#"{ peopleConnection(first: 2, where: { name: { startsWith: "A" } }, sort: [{ handle: ASC }]) { totalCount aggregate { count { nodes } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { handle } } } }"#
);
shape!(
    root_connection_after_cursor,
    r#"query($after: String) { peopleConnection(first: 2, after: $after) { edges { node { handle } } } }"#,
    serde_json::json!({ "after": "YXJyYXljb25uZWN0aW9uOjE=" })
);
shape!(
    nested_connection_with_properties,
    r#"{ teams { name membersConnection(first: 3, where: { edge: { role: { eq: "lead" } } }, sort: [{ edge: { since: DESC } }, { node: { handle: ASC } }]) { totalCount aggregate { count { nodes edges } } edges { properties { role since } node { handle } } } } }"#
);
shape!(
    aliases_fragments_and_skip,
    r#"query($skip: Boolean!) { a: people(limit: 1) { ...F h2: handle @skip(if: $skip) } b: teams(limit: 1) { name } } fragment F on Person { handle name }"#,
    serde_json::json!({ "skip": true })
);
shape!(
    create_with_nested_create_and_connect,
    r#"mutation { createTeams(input: [{ name: "Core", members: { create: [{ node: { handle: "ada", name: "Ada" }, edge: { role: "lead" } }], connect: [{ where: { node: { handle: { eq: "bob" } } }, edge: { role: "member" } }] }, organization: { connect: { where: { node: { name: { eq: "Acme" } } } } } }]) { info { nodesCreated relationshipsCreated } teams { name members { handle } } } }"#
);
shape!(
    update_scalars_and_relationships,
    r#"mutation { updateIssues(where: { number: { eq: 7 } }, update: { title: { set: "New" }, priority: { add: 1 }, labels: { push: ["triaged"] }, assignees: [{ connect: [{ where: { node: { handle: { eq: "ada" } } } }], disconnect: [{ where: { node: { handle: { eq: "bob" } } } }] }] }) { info { relationshipsCreated relationshipsDeleted } issues { number title assignees { handle } } } }"#
);
shape!(
    delete_with_where,
    r#"mutation { deleteTopics(where: { name: { startsWith: "tmp" } }) { nodesDeleted relationshipsDeleted } }"#
);

fn tags_for(query: &str) -> Vec<String> {
    let o = ontology();
    let doc = async_graphql_parser::parse_query(query).unwrap_or_else(|e| panic!("{e}"));
    let vars = async_graphql_value::Variables::default();
    let op = ontology::ir::from_document(&doc, None, &vars)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("not introspection only");
    let compiled = compile(&o, &op, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    compiled.tags.into_iter().collect()
}

#[test]
fn cache_tags_cover_everything_read() {
    // A key lookup depends on its node; its traversals depend on their types and targets,
    // relationship filters included.
    assert_eq!(
        tags_for(
            r#"{ people(where: {id: {eq: "p1"}}) { name teams(where: {projects: {some: {name: {eq: "x"}}}}) { name } } }"#
        ),
        [
            "k:Person",
            "l:Project",
            "l:Team",
            "n:Person:id:p1",
            "r:MEMBER_OF",
            "r:WORKS_ON"
        ]
    );
    // Any other filter reads the label.
    assert_eq!(
        tags_for(r#"{ people(where: {name: {eq: "Ann"}}) { name } }"#),
        ["l:Person"]
    );
    assert_eq!(
        tags_for(r#"{ peopleConnection(first: 2) { totalCount edges { node { handle } } } }"#),
        ["l:Person"]
    );
}

#[test]
fn mutation_tags_cover_everything_changed() {
    let tags = tags_for(
        r#"mutation { updatePeople(where: {handle: {eq: "ann"}}, update: {name: {set: "A"}, teams: [{connect: [{where: {node: {name: {eq: "core"}}}}]}]}) { people { name } } }"#,
    );
    for expected in ["l:Person", "k:Person", "l:Team", "k:Team", "r:MEMBER_OF"] {
        assert!(
            tags.contains(&expected.to_owned()),
            "{expected} missing from {tags:?}"
        );
    }
}
