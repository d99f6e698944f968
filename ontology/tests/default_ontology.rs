//! The shipped default ontology parses, validates and generates a valid API.

use std::path::PathBuf;

fn default_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/ontology.graphql");
    std::fs::read_to_string(path).expect("schema/ontology.graphql is readable")
}

#[test]
fn default_ontology_is_valid() {
    let o = ontology::parse_ontology(&default_source()).unwrap_or_else(|e| panic!("{e}"));
    assert!(o.nodes.contains_key("Person"));
    assert_eq!(o.nodes["Person"].plural, "people");
    assert_eq!(o.nodes["PullRequest"].plural, "pullRequests");
    assert_eq!(
        o.interfaces["WorkItem"].implementors,
        vec!["Issue", "PullRequest"]
    );
}

#[test]
fn generated_api_sdl_parses_and_is_checked_in() {
    let o = ontology::parse_ontology(&default_source()).unwrap_or_else(|e| panic!("{e}"));
    let sdl = ontology::api::api_sdl(&o);
    async_graphql_parser::parse_schema(&sdl).unwrap_or_else(|e| panic!("{e}\n{sdl}"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/generated/api.graphql");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &sdl).expect("write schema/generated/api.graphql");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == sdl,
        "schema/generated/api.graphql is stale: run `UPDATE_GENERATED=1 cargo test -p ontology --test default_ontology`"
    );
}
