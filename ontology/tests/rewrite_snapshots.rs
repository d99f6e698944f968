//! Supernode rewrites: the Cypher each rule produces for a hub anchor, the plain form (same
//! tie-breaking) when rules are only considered, and the cost choice for a small anchor.

use std::collections::HashMap;
use std::path::PathBuf;

use ontology::compile::{compile_with, CompileOptions};
use ontology::model::Direction;
use ontology::rewrite::{DegreeStats, RewriteOptions};
use ontology::Ontology;
use serde_json::Value;

fn ontology() -> Ontology {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/ontology.graphql");
    let source = std::fs::read_to_string(path).expect("default ontology is readable");
    ontology::parse_ontology(&source).unwrap_or_else(|e| panic!("{e}"))
}

/// Degrees by (label, key value, rel type); label counts.
struct Stats {
    degrees: HashMap<(String, String, String), u64>,
    counts: HashMap<String, u64>,
}

impl DegreeStats for Stats {
    fn degree(
        &self,
        label: &str,
        _: &str,
        key: &Value,
        rel_type: &str,
        _: Direction,
    ) -> Option<u64> {
        let key = key.as_str().unwrap_or_default().to_owned();
        self.degrees
            .get(&(label.to_owned(), key, rel_type.to_owned()))
            .copied()
    }
    fn label_count(&self, label: &str) -> Option<u64> {
        self.counts.get(label).copied()
    }
}

fn stats() -> Stats {
    Stats {
        degrees: [
            (("Team".into(), "hub".into(), "MEMBER_OF".into()), 1_000_000),
            (("Team".into(), "small".into(), "MEMBER_OF".into()), 5),
        ]
        .into_iter()
        .collect(),
        counts: [("Person".to_owned(), 1_200_000)].into_iter().collect(),
    }
}

fn compiled(query: &str, options: RewriteOptions) -> String {
    let o = ontology();
    let doc = async_graphql_parser::parse_query(query).unwrap_or_else(|e| panic!("{e}"));
    let vars = async_graphql_value::Variables::default();
    let op = ontology::ir::from_document(&doc, None, &vars)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("an operation");
    let c = compile_with(&o, &op, &CompileOptions::default(), &stats(), options)
        .unwrap_or_else(|e| panic!("{e}"));
    format!(
        "{}\n--- decisions\n{}",
        c.cypher,
        serde_json::to_string_pretty(&c.decisions).unwrap_or_default()
    )
}

fn rewritten(query: &str) -> String {
    compiled(query, RewriteOptions::default())
}

fn plain(query: &str) -> String {
    compiled(
        query,
        RewriteOptions {
            apply: false,
            ..RewriteOptions::default()
        },
    )
}

const SEEK: &str = r#"{ teams(where: { id: { eq: "hub" } }) { name members(where: { handle: { in: ["p1", "p2"] } }) { handle } } }"#;
const TOP_K: &str = r#"{ teams(where: { id: { eq: "hub" } }) { members(sort: [{ handle: DESC }], limit: 10, offset: 20) { handle name } } }"#;
const PAGE: &str = r#"{ teams(where: { id: { eq: "hub" } }) { membersConnection(first: 10, after: "YXJyYXljb25uZWN0aW9uOjQ5", sort: [{ node: { handle: ASC } }]) { edges { properties { role } node { handle } } pageInfo { hasNextPage } } } }"#;
const COUNT: &str =
    r#"{ teams(where: { id: { eq: "hub" } }) { membersConnection { totalCount } } }"#;

#[test]
fn index_seek_neighbours() {
    insta::assert_snapshot!("seek_rewritten", rewritten(SEEK));
    insta::assert_snapshot!("seek_plain", plain(SEEK));
}

#[test]
fn index_ordered_top_k() {
    insta::assert_snapshot!("top_k_rewritten", rewritten(TOP_K));
    insta::assert_snapshot!("top_k_plain", plain(TOP_K));
}

#[test]
fn index_ordered_page() {
    insta::assert_snapshot!("page_rewritten", rewritten(PAGE));
    insta::assert_snapshot!("page_plain", plain(PAGE));
}

#[test]
fn count_from_degree() {
    insta::assert_snapshot!("count_rewritten", rewritten(COUNT));
    insta::assert_snapshot!("count_plain", plain(COUNT));
}

#[test]
fn a_small_anchor_keeps_the_plain_plan() {
    // Considered (the threshold is lowered to 1), but walking 1.2 M index entries to find 30 of
    // 5 neighbours costs more than expanding 5 relationships: kept.
    let out = compiled(
        &TOP_K.replace("\"hub\"", "\"small\""),
        RewriteOptions {
            min_degree: 1,
            ..RewriteOptions::default()
        },
    );
    assert!(out.contains("\"applied\": false"), "{out}");
    assert!(
        out.contains("MATCH (this1)<-[:`MEMBER_OF`]-(this2:`Person`)"),
        "{out}"
    );
    insta::assert_snapshot!("top_k_small_anchor", out);
}

#[test]
fn no_rewrite_without_a_key_lookup_or_below_the_threshold() {
    let list_root = TOP_K.replace(r#"(where: { id: { eq: "hub" } })"#, "(limit: 1)");
    assert!(rewritten(&list_root).ends_with("--- decisions\n[]"));
    let small = TOP_K.replace("\"hub\"", "\"small\"");
    assert!(rewritten(&small).ends_with("--- decisions\n[]"));
}
