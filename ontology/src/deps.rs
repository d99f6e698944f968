//! What a compiled operation or an ingest batch depends on or changes, as cache tags.
//!
//! A cached result carries the tags of everything it read; a write announces the tags of
//! everything it changed; an entry is dropped when the two meet. The tags are plain strings so
//! the cache crate needs no knowledge of the ontology:
//!
//! | tag | on a read | on a write |
//! |---|---|---|
//! | `l:<Label>` | read nodes of the label through a scan, filter or traversal | wrote a node of the label |
//! | `r:<TYPE>` | traversed or filtered on the relationship type | created, changed or removed such a relationship |
//! | `n:<Label>:<prop>:<value>` | looked one node up by a key property (`@unique` or `@id`) | wrote the node with that key |
//! | `k:<Label>` | (with `n:`) a key lookup on the label | wrote a node of the label whose key it does not name |
//!
//! A key lookup (`people(where: {id: {eq: "p1"}})`) is tagged `n:` and `k:` instead of `l:`, so a
//! write to another person leaves it cached. Every write tags `l:` (lists may change) and either
//! the `n:` tags of the nodes it names by key or `k:` (any key lookup may change).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::model::{NodeType, Ontology};

/// Read by scan, filter or traversal / written.
pub fn label_tag(label: &str) -> String {
    format!("l:{label}")
}

/// A relationship type read or written.
pub fn rel_tag(rel_type: &str) -> String {
    format!("r:{rel_type}")
}

/// Any key lookup on the label.
pub fn keyed_tag(label: &str) -> String {
    format!("k:{label}")
}

/// One node, by key property (database name) and value. Numbers and strings with the same text
/// give the same tag, so an event carrying `42` invalidates a lookup of `"42"`.
pub fn node_tag(label: &str, prop: &str, value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("n:{label}:{prop}:{text}")
}

/// The key lookup a root `where` makes, if it is exactly `{<key prop>: {eq: <scalar>}}`:
/// `(database property name, value)`.
pub fn key_lookup<'a>(n: &'a NodeType, filter: Option<&'a Value>) -> Option<(&'a str, &'a Value)> {
    let obj = filter?.as_object()?;
    let (field, ops) = obj.iter().next().filter(|_| obj.len() == 1)?;
    let p = n.property(field).filter(|p| p.is_key())?;
    let ops = ops.as_object()?;
    let value = ops.get("eq").filter(|_| ops.len() == 1)?;
    matches!(value, Value::String(_) | Value::Number(_)).then_some((p.db_name.as_str(), value))
}

/// Whether `prop` (database name) is the only key property of the label's node type, so the
/// `n:` tags of a write by that key cover every key lookup on the label.
pub fn sole_key(o: &Ontology, label: &str, prop: &str) -> bool {
    let Some(n) = o.nodes.values().find(|n| n.main_label() == label) else {
        return false;
    };
    let mut keys = n.properties().filter(|p| p.is_key());
    matches!((keys.next(), keys.next()), (Some(p), None) if p.db_name == prop)
}

/// The tags a committed ingest batch invalidates.
pub fn batch_tags(
    o: &Ontology,
    labels: &BTreeSet<String>,
    rel_types: &BTreeSet<String>,
    nodes: &[(String, String, Value)],
) -> BTreeSet<String> {
    let mut tags: BTreeSet<String> = labels.iter().map(|l| label_tag(l)).collect();
    tags.extend(rel_types.iter().map(|t| rel_tag(t)));
    for (label, prop, value) in nodes {
        tags.insert(label_tag(label));
        tags.insert(node_tag(label, prop, value));
        if !sole_key(o, label, prop) {
            tags.insert(keyed_tag(label));
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ontology() -> Ontology {
        crate::parse_ontology(
            "type Person @node { id: ID! @id name: String email: String @unique \
             docs: [Doc!]! @relationship(type: \"WROTE\", direction: OUT) }\n\
             type Doc @node { slug: String! @unique title: String }",
        )
        .expect("parses")
    }

    #[test]
    fn key_lookups_are_exact_equalities_on_keys() {
        let o = ontology();
        let person = o.node("Person").expect("Person");
        let w = serde_json::json!({"id": {"eq": "p1"}});
        assert_eq!(
            key_lookup(person, Some(&w)),
            Some(("id", &serde_json::json!("p1")))
        );
        for not_key in [
            serde_json::json!({"name": {"eq": "Ann"}}),
            serde_json::json!({"id": {"in": ["p1"]}}),
            serde_json::json!({"id": {"eq": "p1"}, "name": {"eq": "Ann"}}),
            serde_json::json!({"id": {"eq": "p1", "startsWith": "p"}}),
            serde_json::json!({"id": {"eq": null}}),
            serde_json::json!({"OR": [{"id": {"eq": "p1"}}]}),
        ] {
            assert_eq!(key_lookup(person, Some(&not_key)), None, "{not_key}");
        }
    }

    #[test]
    fn batch_tags_name_nodes_and_fall_back_to_keyed_when_other_keys_exist() {
        let o = ontology();
        let labels: BTreeSet<String> = ["Doc".to_owned(), "Person".to_owned()].into();
        let rels: BTreeSet<String> = ["WROTE".to_owned()].into();
        let nodes = vec![
            ("Doc".to_owned(), "slug".to_owned(), serde_json::json!("a")),
            ("Person".to_owned(), "id".to_owned(), serde_json::json!(7)),
        ];
        let tags: Vec<String> = batch_tags(&o, &labels, &rels, &nodes).into_iter().collect();
        assert_eq!(
            tags,
            [
                "k:Person",
                "l:Doc",
                "l:Person",
                "n:Doc:slug:a",
                "n:Person:id:7",
                "r:WROTE"
            ]
        );
        assert_eq!(
            node_tag("Person", "id", &serde_json::json!("7")),
            "n:Person:id:7"
        );
    }
}
