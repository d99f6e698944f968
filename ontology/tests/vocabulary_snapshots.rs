//! Snapshot tests of the Cypher generated for the `@neo4j/graphql` v7 vocabulary beyond the
//! default ontology, each over the type definitions of its differential suite
//! (`tests/differential/suites/<suite>/typedefs.graphql`), where the same operations are
//! checked against the library on Neo4j.

use std::path::PathBuf;

use ontology::compile::{compile, CompileOptions};

fn cypher_for(suite: &str, query: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/differential/suites")
        .join(suite)
        .join("typedefs.graphql");
    let source = std::fs::read_to_string(&path).expect("the suite's type definitions");
    let o = ontology::parse_ontology(&source).unwrap_or_else(|e| panic!("{e}"));
    let doc = async_graphql_parser::parse_query(query).unwrap_or_else(|e| panic!("{e}"));
    let vars = async_graphql_value::Variables::default();
    let op = ontology::ir::from_document(&doc, None, &vars)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("not introspection only");
    let compiled = compile(&o, &op, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // No value of the operation or of the type definitions is in the text: all are parameters.
    for v in compiled.params.values() {
        if let Some(s) = v.as_str().filter(|s| s.len() > 2) {
            assert!(
                !compiled.cypher.contains(s),
                "{s:?} spliced into\n{}",
                compiled.cypher
            );
        }
    }
    format!(
        "{}\n--- params\n{}",
        compiled.cypher,
        serde_json::to_string_pretty(&compiled.params).unwrap_or_default()
    )
}

macro_rules! shape {
    ($name:ident, $suite:expr, $query:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), cypher_for($suite, $query));
        }
    };
}

shape!(
    coalesce_in_projection_and_filters,
    "defaults",
    r#"{ tickets(where: { points: { lt: 3 }, flagged: { eq: false } }, sort: [{ key: ASC }]) { key points flagged } }"#
);
shape!(
    coalesce_on_edge_properties,
    "defaults",
    r#"{ people { name ticketsConnection(where: { edge: { hours: { eq: 0 } } }) { edges { properties { role hours } node { key } } } } }"#
);
shape!(
    create_fills_defaults,
    "defaults",
    r#"mutation { createTickets(input: [{ key: "t9" }, { key: "t10", status: "closed", weight: null }]) { tickets { key status priority weight tags } } }"#
);
shape!(
    nested_create_fills_edge_defaults,
    "defaults",
    r#"mutation { createPeople(input: [{ name: "cy", tickets: { create: [{ node: { key: "t11" }, edge: { hours: 2 } }] } }]) { people { name } } }"#
);
shape!(
    create_sets_timestamps,
    "timestamps",
    r#"mutation { createPosts(input: [{ title: "t", tags: { create: [{ node: { name: "x" }, edge: { by: "ann" } }] } }]) { posts { id createdAt } } }"#
);
shape!(
    update_sets_timestamps,
    "timestamps",
    r#"mutation { updatePosts(where: { title: { eq: "t" } }, update: { title: { set: "u" } }) { posts { updatedAt touchedAt } } }"#
);
shape!(
    temporal_filters_and_duration_text,
    "temporal",
    r#"{ events(where: { on: { gte: "2024-01-01" }, localStart: { lt: "12:00:00" }, lasts: { gt: "P1D" }, days: { includes: "2024-05-02" } }) { name on lasts breaks } }"#
);
shape!(
    points_projected_and_filtered_by_distance,
    "spatial",
    r#"{ places(where: { location: { distance: { from: { longitude: 2.35, latitude: 48.85 }, lt: 400000 } }, position: { eq: { x: 1.5, y: 2.5, z: null } } }) { name location { lon: longitude latitude height crs } stops { srid } } }"#
);
shape!(
    upsert_merges_on_one_key,
    "timestamps",
    r#"mutation { upsertPosts(input: [{ where: { id: "p1" }, onCreate: { title: "new" }, onUpdate: { title: { set: "edited" } }, connect: { tags: [{ where: { node: { name: { eq: "rust" } } }, edge: { by: "ann" } }] } }]) { info { nodesCreated nodesUpdated relationshipsCreated } posts { id title } } }"#
);
shape!(
    nested_update_of_nodes_and_edges,
    "nested-mutations",
    r#"mutation { updateStudios(where: { name: { eq: "Fox" } }, update: { movies: [{ update: { where: { node: { title: { eq: "Ronin" } } }, node: { year: { set: 1999 }, actors: [{ update: { where: { edge: { role: { eq: "Sam" } } }, edge: { screenTime: { set: 1 } }, node: { awards: [{ create: [{ node: { name: "Emmy" } }] }] } } }] } } }] }) { info { nodesCreated relationshipsCreated } studios { name } } }"#
);
shape!(
    delete_cascades_through_relationships,
    "nested-mutations",
    r#"mutation { deleteMovies(where: { title: { eq: "Heat" } }, delete: { actors: [{ where: { node: { name: { eq: "Al" } } }, delete: { awards: [{}] } }], studio: {} }) { nodesDeleted relationshipsDeleted } }"#
);
shape!(
    connect_and_disconnect_go_on_from_the_nodes_reached,
    "nested-mutations",
    r#"mutation { updateStudios(where: { name: { eq: "WB" } }, update: { movies: [{ connect: [{ where: { node: { title: { eq: "Alien" } } }, connect: [{ actors: [{ where: { node: { name: { eq: "Dee" } } }, edge: { role: "Cameo" } }] }] }], disconnect: [{ where: { node: { title: { eq: "Heat" } } }, disconnect: { actors: [{ where: { edge: { role: { eq: "Neil" } } } }] } }] }] }) { info { relationshipsCreated relationshipsDeleted } } }"#
);
shape!(
    union_field_one_branch_per_member,
    "unions",
    r#"{ actors { name actedIn(where: { Movie: { runtime: { gt: 100 } }, Series: {} }, limit: 2) { __typename ... on Movie { title } ... on Series { episodes } } } }"#
);
shape!(
    union_connection_and_filters,
    "unions",
    r#"{ actors(where: { actedIn: { single: { Movie: { title: { eq: "Heat" } }, Series: {} } }, favourite: null }) { actedInConnection(where: { Movie: { edge: { as: { eq: "X" } } } }, sort: [{ edge: { as: ASC } }], first: 1) { totalCount edges { properties { as } node { ... on Movie { title } } } } } }"#
);
shape!(
    union_root_list,
    "unions",
    r#"{ productions(where: { Series: { episodes: { gt: 50 } } }, limit: 5) { ... on Series { title } } }"#
);
shape!(
    create_and_update_through_a_union,
    "unions",
    r#"mutation { updateActors(where: { name: { eq: "Al" } }, update: { actedIn: { Movie: [{ create: [{ node: { title: "Tron" }, edge: { as: "F" } }] }], Series: [{ disconnect: [{ where: { node: { title: { eq: "Lost" } } } }] }] } }) { info { nodesCreated relationshipsDeleted } } }"#
);
shape!(
    interface_root_sorted_is_one_label_disjunction,
    "interfaces",
    r#"{ productions(where: { year: { gt: 1990 }, typename: [Movie, Documentary] }, sort: [{ year: DESC }], limit: 3) { __typename title ... on Movie { runtime } } }"#
);
shape!(
    interface_root_unsorted_reads_each_implementation,
    "interfaces",
    r#"{ productionsConnection(where: { title: { startsWith: "D" } }) { totalCount edges { node { title } } } }"#
);
shape!(
    relationship_to_an_interface,
    "interfaces",
    r#"{ actors(where: { actedIn: { all: { year: { gt: 1990 } } } }) { actedIn(sort: [{ title: ASC }], limit: 2) { __typename title } actedInConnection(where: { node: { typename: [Series] } }) { totalCount } } }"#
);
shape!(
    mutations_through_an_interface,
    "interfaces",
    r#"mutation { updateActors(where: { name: { eq: "Cy" } }, update: { actedIn: [{ create: [{ node: { Movie: { title: "Tron" } } }], connect: [{ where: { node: { typename: [Series] } } }], update: { where: { node: { title: { eq: "Alien" } } }, node: { year: { set: 1980 } } } }] }) { info { nodesCreated relationshipsCreated } } }"#
);
shape!(
    declared_relationship_through_the_interface,
    "declared-relationships",
    r#"{ productions(where: { actorsConnection: { some: { edge: { ActedIn: { role: { eq: "Jack" } } } } } }) { title actorsConnection(sort: [{ edge: { ActedIn: { role: ASC } } }]) { edges { properties { ... on ActedIn { role } } node { name } } } } }"#
);
shape!(
    relay_global_ids,
    "relay-id",
    r#"{ node(id: "UHJvZHVjdDpza3U6cDE=") { id ... on Product { name } } accounts(where: { id: "QWNjb3VudDpudW1iZXI6NDI=" }) { id holder } }"#
);
shape!(
    aggregate_root_connection_one_pass,
    "aggregations",
    r#"{ moviesConnection(where: { released: { gte: 1996 } }) { aggregate { count { nodes } node { title { shortest longest } released { min max average sum } budget { sum } } } } }"#
);
shape!(
    aggregate_nested_node_and_edge,
    "aggregations",
    r#"{ movies { title actorsConnection { aggregate { count { nodes edges } node { born { min average } } edge { role { longest } } } } } }"#
);
shape!(
    aggregation_filters_count_node_edge,
    "aggregations",
    r#"{ movies(where: { actorsConnection: { aggregate: { count: { nodes: { gt: 1 } }, NOT: { node: { name: { longestLength: { lt: 5 } } } }, edge: { screenTime: { sum: { gte: 100 } } } } } }) { title } }"#
);
shape!(
    cypher_fields_after_paging_with_arguments_as_parameters,
    "cypher-fields",
    r#"{ movies(where: { actorCount: { gt: 1 } }, sort: [{ actorCount: DESC }], limit: 2) { title tagline(prefix: "A") cast { name movieCount } stats { actors } } }"#
);

shape!(
    fulltext_search_filtered_sorted_paged,
    "search",
    r#"{ moviesByTitleOrPlot(phrase: "heat OR heist", where: { score: { min: 0.1 }, node: { released: { gt: 1990 } } }, sort: [{ node: { released: DESC } }, { score: DESC }], first: 2, after: "YXJyYXljb25uZWN0aW9uOjA=") { totalCount pageInfo { hasNextPage } edges { cursor score node { title actors { name } } } } }"#
);
shape!(
    vector_search_asks_for_the_page,
    "search",
    r#"{ moviesLike(vector: [0.1, 0.2, 0.9], first: 5) { edges { score node { title } } } }"#
);
