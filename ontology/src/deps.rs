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

/// Namespaces of functions that compute from their arguments alone (never read the graph).
const PURE_NAMESPACES: &[&str] = &[
    "point",
    "date",
    "datetime",
    "time",
    "localtime",
    "localdatetime",
    "duration",
    "vector",
    "string",
];

/// Clauses after which a statement may change the graph or read it in ways its patterns do not
/// show.
const UNREADABLE_CLAUSES: &[&str] = &[
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH", "LOAD", "USE", "FINISH",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A name (backtick quotes removed) or a keyword.
    Name(String),
    /// Any other character outside string literals and comments (numbers come as names).
    Punct(char),
}

/// The tokens of a Cypher text: names and single punctuation characters, without string
/// literals and comments.
fn tokens(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                if i >= chars.len() {
                    return None;
                }
                out.push(Token::Name(String::new()));
                i += 1;
            }
            '`' => {
                let end = chars[i + 1..].iter().position(|x| *x == '`')? + i + 1;
                out.push(Token::Name(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let rest: String = chars[i + 2..].iter().collect();
                i += 2 + rest.find("*/")? + 2;
            }
            c if c.is_whitespace() => i += 1,
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Name(chars[start..i].iter().collect()));
            }
            c => {
                out.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    Some(out)
}

/// The cache tags of what a `@cypher` statement reads, when its text tells: `l:` for every label
/// and `r:` for every relationship type it names. `None` when the text does not tell, so the
/// caller must depend on everything: a node pattern without a label whose variable is neither
/// `this` nor labelled elsewhere in the statement, a relationship pattern without a type
/// (`-->`, `-[r]-`), a procedure call, a function outside the pure namespaces, a dynamic label,
/// or a clause that writes. Over-approximate by design: a map key after `:` counts as a label.
pub fn statement_tags(statement: &str) -> Option<BTreeSet<String>> {
    let toks = tokens(statement)?;
    let name = |i: usize| match toks.get(i) {
        Some(Token::Name(n)) => Some(n.as_str()),
        _ => None,
    };
    let punct = |i: usize| match toks.get(i) {
        Some(Token::Punct(c)) => Some(*c),
        _ => None,
    };
    let mut tags = BTreeSet::new();
    let mut labelled: BTreeSet<&str> = BTreeSet::from(["this"]);
    // Node patterns whose variable must be labelled somewhere: checked at the end.
    let mut bare: Vec<&str> = Vec::new();
    let mut depth_rel = 0usize;
    for i in 0..toks.len() {
        match &toks[i] {
            Token::Name(n) => {
                let upper = n.to_ascii_uppercase();
                if UNREADABLE_CLAUSES.contains(&upper.as_str()) {
                    return None;
                }
                // `CALL db.labels()` (a procedure), unlike `CALL {` / `CALL (x) {`.
                if upper == "CALL" && name(i + 1).is_some() {
                    return None;
                }
                // `ns.fn(`: a function of a namespace that may read the graph.
                if punct(i + 1) == Some('.')
                    && name(i + 2).is_some()
                    && punct(i + 3) == Some('(')
                    && !PURE_NAMESPACES.contains(&n.to_ascii_lowercase().as_str())
                {
                    return None;
                }
            }
            Token::Punct('$') if punct(i + 1) == Some('(') => return None,
            Token::Punct('[') if punct(i.wrapping_sub(1)) == Some('-') => {
                // A relationship pattern: `[r:TYPE|OTHER*1..2 {…} WHERE …]`.
                depth_rel += 1;
                let mut j = i + 1;
                if name(j).is_some() && punct(j + 1) != Some('.') {
                    j += 1;
                }
                if punct(j) != Some(':') {
                    return None;
                }
            }
            Token::Punct(']') => depth_rel = depth_rel.saturating_sub(1),
            Token::Punct(':') => {
                let label = match (name(i + 1), punct(i + 1)) {
                    // A name: a label or type (or a map value, which only adds a tag).
                    (Some(n), _) if n.starts_with(|c: char| c.is_alphabetic() || c == '_') => n,
                    // `:!A`, `:%`, `:(A|B)`: label expressions it does not read.
                    (_, Some('!' | '%' | '(')) => return None,
                    // A map's value: `{title: $title}`, `{n: 1}`, `{s: 'x'}`.
                    _ => continue,
                };
                if depth_rel > 0 {
                    tags.insert(rel_tag(label));
                } else {
                    tags.insert(label_tag(label));
                    // `(v:Label` or `WHERE v:Label` (not a map key: `{k: …, v: …}`).
                    let before = toks.get(i.wrapping_sub(2));
                    if let (Some(v), Some(Token::Punct('(') | Token::Name(_))) =
                        (name(i.wrapping_sub(1)), before)
                    {
                        labelled.insert(v);
                    }
                }
                // `A|B`, `A&B` label and type alternatives.
                let mut j = i + 2;
                while matches!(punct(j), Some('|' | '&')) {
                    let more = name(j + 1)?;
                    tags.insert(if depth_rel > 0 {
                        rel_tag(more)
                    } else {
                        label_tag(more)
                    });
                    j += 2;
                }
            }
            Token::Punct('-') => {
                // A relationship without brackets: `-->`, `<--`, `--`, `)-(`.
                let next = punct(i + 1);
                let prev = punct(i.wrapping_sub(1));
                let bracketed = prev == Some(']') || next == Some('[');
                if !bracketed
                    && (matches!(next, Some('-' | '>' | '(')) || matches!(prev, Some(')' | '<')))
                {
                    return None;
                }
            }
            Token::Punct('(') => {
                // A node pattern: `(`, an optional variable, then `)`, `:`, `{` or WHERE.
                match (name(i + 1), punct(i + 1)) {
                    (None, Some(')')) => return None,
                    (Some(v), _)
                        if matches!(punct(i + 2), Some(')' | '{'))
                            || name(i + 2).is_some_and(|w| w.eq_ignore_ascii_case("WHERE")) =>
                    {
                        bare.push(v);
                    }
                    _ => {}
                }
            }
            Token::Punct(_) => {}
        }
    }
    if bare.iter().any(|v| !labelled.contains(v)) {
        return None;
    }
    Some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_tags_name_what_a_statement_reads() {
        let tags = |s: &str| statement_tags(s).map(|t| t.into_iter().collect::<Vec<_>>());
        assert_eq!(
            tags("MATCH (this)<-[r:ACTED_IN]-(a:Actor) RETURN count(a) AS c"),
            Some(vec!["l:Actor".to_owned(), "r:ACTED_IN".to_owned()])
        );
        assert_eq!(
            tags("RETURN COUNT { (this)-[:MEMBER_OF]->(:Team) } AS n"),
            Some(vec!["l:Team".to_owned(), "r:MEMBER_OF".to_owned()])
        );
        assert_eq!(
            tags("MATCH (m:`Big Movie` WHERE m.x > 1)-[:A|B]->(x:X) RETURN m // (y)"),
            Some(vec![
                "l:Big Movie".to_owned(),
                "l:X".to_owned(),
                "r:A".to_owned(),
                "r:B".to_owned()
            ])
        );
        assert_eq!(tags("RETURN 2025 - this.released AS age"), Some(vec![]));
        assert_eq!(
            tags("MATCH (m:Movie {title: $title}) RETURN m"),
            Some(vec!["l:Movie".to_owned()])
        );
        assert_eq!(
            tags("RETURN point.distance(this.at, point({x: 1, y: 2})) AS d, ':Fake' AS s"),
            Some(vec![])
        );
        // What a statement reads cannot be told: every type is a dependency.
        for unknown in [
            "MATCH (this)-->(x) RETURN x",
            "MATCH (this)<--(x) RETURN count(x) AS c",
            "MATCH (this)-[r]->(m:Movie) RETURN m",
            "MATCH (this)-[:R]->(x) RETURN x",
            "MATCH (n) RETURN count(n) AS c",
            "MATCH () RETURN 1 AS c",
            "CALL db.labels() YIELD label RETURN label",
            "RETURN apoc.node.degree(this) AS d",
            "MATCH (n:$($label)) RETURN n",
            "MATCH (m:Movie) SET m.x = 1 RETURN m",
            "MATCH (m:Movie) DETACH DELETE m RETURN 1 AS c",
            "MERGE (m:Movie {title: $t}) RETURN m",
            "UNWIND $ids AS i MATCH (x) WHERE elementId(x) = i RETURN x",
            "MATCH (this)-[:ACTED_IN]->(m:Movie)<-[:ACTED_IN]-(x) WITH DISTINCT m, x UNWIND [m, x] AS c RETURN c",
            "MATCH (n:!Movie) RETURN n",
        ] {
            assert_eq!(tags(unknown), None, "{unknown}");
        }
    }

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
