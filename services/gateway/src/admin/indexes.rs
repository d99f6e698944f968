//! Index and constraint management: the live schema of every server, creation validated against
//! the ontology, drops, the drift between what the ontology declares and what Neo4j has, and
//! recommendations from the hot queries.
//!
//! Labels, relationship types and property names reach Cypher only after they were found in the
//! ontology, and always quoted; index names are checked against `[A-Za-z_][A-Za-z0-9_]*`.

use std::collections::{BTreeMap, BTreeSet};

use graph::migrate::{quote, MANAGED_PREFIX};
use graph::{AccessMode, IndexKind, SchemaItem, Statement};
use ontology::compile::Usage;
use ontology::model::{IndexKind as OntologyIndex, Property, Scalar, SearchKind};
use ontology::Ontology;
use serde::Deserialize;
use serde_json::{json, Value};

/// Uniqueness constraints for `@unique` fields, indexes for `@index` fields, and the full-text
/// and vector indexes of `@fulltext` and `@vector`, on each node type's main label (what
/// `ontograph migrate` creates).
pub fn desired_items(o: &Ontology) -> Vec<SchemaItem> {
    let mut items = Vec::new();
    for n in o.nodes.values() {
        for p in n.properties() {
            if p.unique {
                items.push(SchemaItem::unique(n.main_label(), &p.db_name));
            } else if let Some(kind) = p.index {
                let kind = match kind {
                    OntologyIndex::Range => IndexKind::Range,
                    OntologyIndex::Text => IndexKind::Text,
                };
                items.push(SchemaItem::index(n.main_label(), &p.db_name, kind));
            }
        }
        for s in &n.search_indexes {
            items.push(match &s.kind {
                SearchKind::Fulltext { properties } => {
                    SchemaItem::fulltext(&s.index_name, n.main_label(), properties.clone())
                }
                SearchKind::Vector { property } => {
                    SchemaItem::vector(&s.index_name, n.main_label(), property)
                }
            });
        }
    }
    items
}

/// Node labels and relationship types with their properties, as the ontology declares them.
pub struct Catalog {
    nodes: BTreeMap<String, (String, Vec<Property>)>,
    relationships: BTreeMap<String, Vec<Property>>,
}

impl Catalog {
    pub fn new(o: &Ontology) -> Self {
        let mut nodes = BTreeMap::new();
        let mut relationships: BTreeMap<String, Vec<Property>> = BTreeMap::new();
        for n in o.nodes.values() {
            nodes.insert(
                n.main_label().to_owned(),
                (n.name.clone(), n.properties().cloned().collect()),
            );
            for r in n.relationships() {
                let props = relationships.entry(r.rel_type.clone()).or_default();
                let carried = r
                    .properties
                    .as_deref()
                    .and_then(|p| o.relationship_properties(p))
                    .map(|rp| rp.properties.clone())
                    .unwrap_or_default();
                for p in carried {
                    if !props.iter().any(|q| q.db_name == p.db_name) {
                        props.push(p);
                    }
                }
            }
        }
        Catalog {
            nodes,
            relationships,
        }
    }

    /// The catalog as the console shows it.
    pub fn to_json(&self) -> Value {
        let props = |ps: &[Property]| -> Vec<Value> {
            ps.iter()
                .map(|p| {
                    json!({
                        "name": p.db_name,
                        "field": p.name,
                        "type": p.scalar.graphql_name(),
                        "list": p.list,
                        "required": p.required,
                        "unique": p.unique,
                    })
                })
                .collect()
        };
        json!({
            "nodes": self.nodes.iter().map(|(label, (ty, ps))| json!({"label": label, "type": ty, "properties": props(ps)})).collect::<Vec<_>>(),
            "relationships": self.relationships.iter().map(|(t, ps)| json!({"type": t, "properties": props(ps)})).collect::<Vec<_>>(),
        })
    }

    /// The declared properties of a node label or relationship type.
    fn properties(&self, entity: Entity, name: &str) -> Result<&[Property], String> {
        match entity {
            Entity::Node => self
                .nodes
                .get(name)
                .map(|(_, p)| p.as_slice())
                .ok_or_else(|| {
                    format!(
                        "`{name}` is not a node label of the ontology (known: {})",
                        self.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                }),
            Entity::Relationship => {
                self.relationships
                    .get(name)
                    .map(Vec::as_slice)
                    .ok_or_else(|| {
                        format!(
                            "`{name}` is not a relationship type of the ontology (known: {})",
                            self.relationships
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Node,
    Relationship,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Range,
    Text,
    Point,
    Fulltext,
    Vector,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Range => "range",
            Kind::Text => "text",
            Kind::Point => "point",
            Kind::Fulltext => "fulltext",
            Kind::Vector => "vector",
        }
    }
}

/// `POST /admin/api/schema/indexes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexRequest {
    pub kind: Kind,
    #[serde(default = "node")]
    pub entity: Entity,
    pub labels: Vec<String>,
    pub properties: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub dimensions: Option<u32>,
    #[serde(default)]
    pub similarity: Option<String>,
}

/// `POST /admin/api/schema/constraints` (uniqueness).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintRequest {
    #[serde(default = "node")]
    pub entity: Entity,
    pub label: String,
    pub properties: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
}

fn node() -> Entity {
    Entity::Node
}

/// A statement that was validated: the item's name and its Cypher.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub name: String,
    pub cypher: String,
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!(
            "the name `{name}` is not valid: use letters, digits and `_`, starting with a letter (at most 100)"
        ));
    }
    if name.starts_with(MANAGED_PREFIX) {
        return Err(format!(
            "names starting with `{}` belong to `ontograph migrate` (declare the index in the ontology instead, or pick another name)",
            MANAGED_PREFIX
        ));
    }
    Ok(())
}

fn default_name(prefix: &str, labels: &[String], properties: &[String]) -> String {
    let raw = format!("{prefix}_{}_{}", labels.join("_"), properties.join("_"));
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(100)
        .collect();
    if name.starts_with(MANAGED_PREFIX) {
        name.insert(0, 'x');
    }
    name
}

fn pattern(entity: Entity, labels: &[String]) -> (String, &'static str) {
    let joined = labels
        .iter()
        .map(|l| quote(l))
        .collect::<Vec<_>>()
        .join("|");
    match entity {
        Entity::Node => (format!("(n:{joined})"), "n"),
        Entity::Relationship => (format!("()-[r:{joined}]-()"), "r"),
    }
}

fn describe(p: &Property) -> String {
    if p.list {
        format!("[{}]", p.scalar.graphql_name())
    } else {
        p.scalar.graphql_name().to_owned()
    }
}

/// Checks an index request against the ontology and builds its Cypher.
pub fn validate_index(cat: &Catalog, r: &IndexRequest) -> Result<Validated, String> {
    let what = match r.entity {
        Entity::Node => "label",
        Entity::Relationship => "relationship type",
    };
    if r.labels.is_empty() {
        return Err(format!("choose a {what}"));
    }
    if r.labels.len() > 1 && r.kind != Kind::Fulltext {
        return Err(format!(
            "a {} index covers exactly one {what}; only full-text indexes span several",
            r.kind.as_str()
        ));
    }
    if r.properties.is_empty() {
        return Err("choose at least one property".into());
    }
    if r.properties.len() > 1 && matches!(r.kind, Kind::Text | Kind::Point | Kind::Vector) {
        return Err(format!(
            "a {} index covers exactly one property",
            r.kind.as_str()
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = r.properties.iter().find(|p| !seen.insert(p.as_str())) {
        return Err(format!("the property `{dup}` is listed twice"));
    }
    let mut declared: Vec<&[Property]> = Vec::new();
    for l in &r.labels {
        declared.push(cat.properties(r.entity, l)?);
    }
    for name in &r.properties {
        // Full-text indexes over several labels need the property on at least one of them.
        let found: Vec<&Property> = declared
            .iter()
            .filter_map(|ps| ps.iter().find(|p| p.db_name == *name))
            .collect();
        let Some(p) = found.first() else {
            let on = r.labels.join("`, `");
            let known: BTreeSet<&str> = declared
                .iter()
                .flat_map(|ps| ps.iter().map(|p| p.db_name.as_str()))
                .collect();
            return Err(format!(
                "`{name}` is not a property of `{on}` in the ontology (known: {})",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ));
        };
        let bad = |needs: &str| {
            Err(format!(
                "a {} index needs {needs}; `{name}` is {}",
                r.kind.as_str(),
                describe(p)
            ))
        };
        match r.kind {
            Kind::Range => {}
            Kind::Text | Kind::Fulltext if !p.scalar.is_textual() || p.list => {
                return bad("a String property")
            }
            Kind::Point => return bad("a Point property (the ontology declares none)"),
            Kind::Vector if !(p.list && p.scalar == Scalar::Float) => {
                return bad("a list of Float ([Float])")
            }
            _ => {}
        }
    }
    if r.kind != Kind::Vector && (r.dimensions.is_some() || r.similarity.is_some()) {
        return Err("`dimensions` and `similarity` apply to vector indexes only".into());
    }
    let name = match &r.name {
        Some(n) if !n.trim().is_empty() => n.trim().to_owned(),
        _ => default_name(r.kind.as_str(), &r.labels, &r.properties),
    };
    check_name(&name)?;
    let (pat, v) = pattern(r.entity, &r.labels);
    let props: Vec<String> = r
        .properties
        .iter()
        .map(|p| format!("{v}.{}", quote(p)))
        .collect();
    let name_q = quote(&name);
    let cypher = match r.kind {
        Kind::Range => format!("CREATE INDEX {name_q} FOR {pat} ON ({})", props.join(", ")),
        Kind::Text => format!("CREATE TEXT INDEX {name_q} FOR {pat} ON ({})", props[0]),
        Kind::Point => format!("CREATE POINT INDEX {name_q} FOR {pat} ON ({})", props[0]),
        Kind::Fulltext => format!(
            "CREATE FULLTEXT INDEX {name_q} FOR {pat} ON EACH [{}]",
            props.join(", ")
        ),
        Kind::Vector => {
            let dims = r
                .dimensions
                .ok_or("a vector index needs `dimensions` (1 to 4096)")?;
            if !(1..=4096).contains(&dims) {
                return Err(format!(
                    "`dimensions` must be between 1 and 4096, not {dims}"
                ));
            }
            // Both values are checked here (a number and one of two words), never free text.
            let similarity = match r.similarity.as_deref().unwrap_or("cosine") {
                "cosine" => "cosine",
                "euclidean" => "euclidean",
                other => {
                    return Err(format!(
                        "`similarity` must be `cosine` or `euclidean`, not `{other}`"
                    ))
                }
            };
            format!(
                "CREATE VECTOR INDEX {name_q} FOR {pat} ON ({}) OPTIONS {{indexConfig: {{`vector.dimensions`: {dims}, `vector.similarity_function`: '{similarity}'}}}}",
                props[0]
            )
        }
    };
    Ok(Validated { name, cypher })
}

/// Checks a uniqueness constraint request against the ontology and builds its Cypher.
pub fn validate_constraint(cat: &Catalog, r: &ConstraintRequest) -> Result<Validated, String> {
    let declared = cat.properties(r.entity, &r.label)?;
    if r.properties.is_empty() {
        return Err("choose at least one property".into());
    }
    for name in &r.properties {
        if !declared.iter().any(|p| p.db_name == *name) {
            return Err(format!(
                "`{name}` is not a property of `{}` in the ontology (known: {})",
                r.label,
                declared
                    .iter()
                    .map(|p| p.db_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let name = match &r.name {
        Some(n) if !n.trim().is_empty() => n.trim().to_owned(),
        _ => default_name("unique", std::slice::from_ref(&r.label), &r.properties),
    };
    check_name(&name)?;
    let (pat, v) = pattern(r.entity, std::slice::from_ref(&r.label));
    let props: Vec<String> = r
        .properties
        .iter()
        .map(|p| format!("{v}.{}", quote(p)))
        .collect();
    Ok(Validated {
        cypher: format!(
            "CREATE CONSTRAINT {} FOR {pat} REQUIRE ({}) IS UNIQUE",
            quote(&name),
            props.join(", ")
        ),
        name,
    })
}

/// The columns of `SHOW INDEXES` the console shows (each index's reads are added per server).
const INDEX_COLUMNS: &str =
    "name, type, entityType, labelsOrTypes, properties, state, populationPercent, owningConstraint, indexProvider";
/// The columns of `SHOW CONSTRAINTS` the console shows.
const CONSTRAINT_COLUMNS: &str = "name, type, entityType, labelsOrTypes, properties, ownedIndex";

/// Indexes and constraints as the leader reports them, with each index's reads summed over every
/// server (each server counts its own reads).
pub async fn live(router: &graph::Router) -> Result<Value, graph::Error> {
    let leader = router.leader_client()?;
    let show = |what: &str, columns: &str| {
        Statement::new(format!("SHOW {what} YIELD {columns} RETURN {columns}"))
    };
    let indexes = leader
        .run(&show("INDEXES", INDEX_COLUMNS), AccessMode::Read)
        .await?
        .rows;
    let constraints = leader
        .run(&show("CONSTRAINTS", CONSTRAINT_COLUMNS), AccessMode::Read)
        .await?
        .rows;
    let mut reads: BTreeMap<String, (i64, Option<String>, Option<String>)> = BTreeMap::new();
    let mut servers = Vec::new();
    let mut unreachable = Vec::new();
    for (address, client) in router.server_clients() {
        let statement = Statement::new(
            "SHOW INDEXES YIELD name, readCount, lastRead, trackedSince RETURN name, readCount, toString(lastRead) AS lastRead, toString(trackedSince) AS trackedSince",
        );
        match client.run(&statement, AccessMode::Read).await {
            Ok(r) => {
                servers.push(address);
                for row in r.rows {
                    let Some(name) = row.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let e = reads.entry(name.to_owned()).or_default();
                    e.0 += row.get("readCount").and_then(Value::as_i64).unwrap_or(0);
                    let text = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_owned);
                    if let Some(last) = text("lastRead") {
                        if e.1.as_ref().is_none_or(|l| *l < last) {
                            e.1 = Some(last);
                        }
                    }
                    if let Some(since) = text("trackedSince") {
                        if e.2.as_ref().is_none_or(|s| *s > since) {
                            e.2 = Some(since);
                        }
                    }
                }
            }
            Err(error) => unreachable.push(json!({"address": address, "error": error.to_string()})),
        }
    }
    let indexes: Vec<Value> = indexes
        .into_iter()
        .map(|mut row| {
            let name = row.get("name").and_then(Value::as_str).unwrap_or("");
            let (count, last, since) = reads.get(name).cloned().unwrap_or_default();
            row.insert("readCount".into(), json!(count));
            row.insert("lastRead".into(), json!(last));
            row.insert("trackedSince".into(), json!(since));
            Value::Object(row)
        })
        .collect();
    let constraints: Vec<Value> = constraints.into_iter().map(Value::Object).collect();
    Ok(json!({
        "servers": servers,
        "unreachable": unreachable,
        "indexes": indexes,
        "constraints": constraints,
    }))
}

/// Properties the hot queries filter or sort on that no index serves, and indexes that no
/// server has read since it started tracking.
pub fn recommendations(
    cat: &Catalog,
    live: &Value,
    used: &[crate::hot_queries::UsedProperty],
) -> Value {
    let indexes = live["indexes"].as_array().cloned().unwrap_or_default();
    let served = |label: &str, property: &str, types: &[&str]| {
        indexes.iter().any(|i| {
            i["entityType"] == "NODE"
                && i["labelsOrTypes"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x == label))
                && i["properties"]
                    .as_array()
                    .and_then(|p| p.first())
                    .is_some_and(|p| p == property)
                && types.iter().any(|t| i["type"] == *t)
                && i["state"] != "FAILED"
        })
    };
    let mut missing = Vec::new();
    for u in used {
        let Ok(declared) = cat.properties(Entity::Node, &u.label) else {
            continue;
        };
        let Some(p) = declared.iter().find(|p| p.db_name == u.property) else {
            continue;
        };
        let ranged = u.usages.contains(&Usage::Filter) || u.usages.contains(&Usage::Sort);
        let kind = if ranged {
            (!served(&u.label, &u.property, &["RANGE"])).then_some(Kind::Range)
        } else if p.scalar.is_textual() {
            (!served(&u.label, &u.property, &["TEXT", "RANGE"])).then_some(Kind::Text)
        } else {
            None
        };
        let Some(kind) = kind else { continue };
        let request = IndexRequest {
            kind,
            entity: Entity::Node,
            labels: vec![u.label.clone()],
            properties: vec![u.property.clone()],
            name: None,
            dimensions: None,
            similarity: None,
        };
        let Ok(v) = validate_index(cat, &request) else {
            continue;
        };
        missing.push(json!({
            "label": u.label,
            "property": u.property,
            "uses": u.usages,
            "executions": u.executions,
            "shapes": u.shapes,
            "kind": kind.as_str(),
            "name": v.name,
            "cypher": v.cypher,
        }));
    }
    missing.sort_by(|a, b| b["executions"].as_u64().cmp(&a["executions"].as_u64()));
    let unused: Vec<Value> = indexes
        .iter()
        .filter(|i| {
            i["readCount"].as_i64() == Some(0)
                && i["type"] != "LOOKUP"
                && i["owningConstraint"].is_null()
        })
        .map(|i| {
            json!({
                "name": i["name"],
                "type": i["type"],
                "labelsOrTypes": i["labelsOrTypes"],
                "properties": i["properties"],
                "trackedSince": i["trackedSince"],
                "readCount": 0,
            })
        })
        .collect();
    json!({ "missingIndexes": missing, "unusedIndexes": unused })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let o = ontology::parse::parse_ontology(
            r#"
            type Person @node {
              handle: String! @unique
              name: String
              age: Int
              embedding: [Float!]
              teams: [Team!]! @relationship(type: "MEMBER_OF", direction: OUT, properties: "Membership")
            }
            type Team @node { name: String! }
            type Membership @relationshipProperties { role: String! }
            "#,
        )
        .expect("ontology");
        Catalog::new(&o)
    }

    fn req(kind: Kind, labels: &[&str], props: &[&str]) -> IndexRequest {
        IndexRequest {
            kind,
            entity: Entity::Node,
            labels: labels.iter().map(|s| s.to_string()).collect(),
            properties: props.iter().map(|s| s.to_string()).collect(),
            name: None,
            dimensions: None,
            similarity: None,
        }
    }

    #[test]
    fn builds_quoted_cypher_for_each_kind() {
        let c = catalog();
        let v = validate_index(&c, &req(Kind::Range, &["Person"], &["name", "age"])).expect("ok");
        assert_eq!(v.name, "range_Person_name_age");
        assert_eq!(
            v.cypher,
            "CREATE INDEX `range_Person_name_age` FOR (n:`Person`) ON (n.`name`, n.`age`)"
        );
        let v =
            validate_index(&c, &req(Kind::Fulltext, &["Person", "Team"], &["name"])).expect("ok");
        assert_eq!(
            v.cypher,
            "CREATE FULLTEXT INDEX `fulltext_Person_Team_name` FOR (n:`Person`|`Team`) ON EACH [n.`name`]"
        );
        let mut vector = req(Kind::Vector, &["Person"], &["embedding"]);
        vector.dimensions = Some(384);
        let v = validate_index(&c, &vector).expect("ok");
        assert!(
            v.cypher.contains("`vector.dimensions`: 384"),
            "{}",
            v.cypher
        );
        let mut rel = req(Kind::Text, &["MEMBER_OF"], &["role"]);
        rel.entity = Entity::Relationship;
        assert_eq!(
            validate_index(&c, &rel).expect("ok").cypher,
            "CREATE TEXT INDEX `text_MEMBER_OF_role` FOR ()-[r:`MEMBER_OF`]-() ON (r.`role`)"
        );
        let u = validate_constraint(
            &c,
            &ConstraintRequest {
                entity: Entity::Node,
                label: "Team".into(),
                properties: vec!["name".into()],
                name: None,
            },
        )
        .expect("ok");
        assert_eq!(
            u.cypher,
            "CREATE CONSTRAINT `unique_Team_name` FOR (n:`Team`) REQUIRE (n.`name`) IS UNIQUE"
        );
    }

    #[test]
    fn refuses_what_the_ontology_does_not_allow() {
        let c = catalog();
        let err = |r: IndexRequest| validate_index(&c, &r).expect_err("refused");
        assert!(err(req(Kind::Text, &["Person"], &["age"])).contains("`age` is Int"));
        assert!(
            err(req(Kind::Range, &["Robot"], &["name"])).contains("`Robot` is not a node label")
        );
        assert!(
            err(req(Kind::Range, &["Person"], &["salary"])).contains("`salary` is not a property")
        );
        assert!(err(req(Kind::Point, &["Person"], &["name"])).contains("Point"));
        assert!(err(req(Kind::Vector, &["Person"], &["embedding"])).contains("dimensions"));
        assert!(
            err(req(Kind::Text, &["Person"], &["name", "handle"])).contains("exactly one property")
        );
        let mut injected = req(Kind::Range, &["Person"], &["name"]);
        injected.name = Some("x` ON (n.y) //".into());
        assert!(err(injected).contains("is not valid"));
        let mut managed = req(Kind::Range, &["Person"], &["name"]);
        managed.name = Some("og_idx_Person_name".into());
        assert!(err(managed).contains("ontograph migrate"));
        let mut rel = req(Kind::Range, &["Person"], &["name"]);
        rel.entity = Entity::Relationship;
        assert!(err(rel).contains("not a relationship type"));
    }
}
