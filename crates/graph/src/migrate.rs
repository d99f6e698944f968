//! Schema migrations: bring Neo4j's uniqueness constraints and indexes in line with a desired set.
//!
//! Ontograph owns the schema items whose names start with [`MANAGED_PREFIX`]. A run reads what
//! exists (`SHOW CONSTRAINTS YIELD *`, `SHOW INDEXES YIELD *`), creates what is missing with
//! `IF NOT EXISTS`, and reports managed items that are no longer wanted; those are dropped only
//! when asked to. A uniqueness constraint brings its own backing (range) index, so a desired range
//! index on the same label and property is not created, and backing indexes are never reported
//! for dropping.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use crate::client::Neo4jClient;
use crate::error::{Error, Result};
use crate::statement::{AccessMode, Statement};

/// Name prefix of the schema items Ontograph manages.
pub const MANAGED_PREFIX: &str = "og_";

/// The kind of a property index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// Range index: equality, ranges, prefix, existence, ordering.
    Range,
    /// Text index: `CONTAINS` / `ENDS WITH` on strings.
    Text,
    /// Full-text (Lucene) index over one or more string properties (`@fulltext`).
    Fulltext,
    /// Vector index over an embedding property (`@vector`).
    Vector,
}

impl IndexKind {
    /// Neo4j's name for it in `SHOW INDEXES` (`RANGE` / `TEXT`).
    pub const fn neo4j_type(self) -> &'static str {
        match self {
            IndexKind::Range => "RANGE",
            IndexKind::Text => "TEXT",
            IndexKind::Fulltext => "FULLTEXT",
            IndexKind::Vector => "VECTOR",
        }
    }
}

/// One schema item on a node label: a single property, or several for a full-text index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaItem {
    /// `REQUIRE n.property IS UNIQUE` (Neo4j creates a backing range index with the same name).
    UniqueConstraint {
        /// Constraint name, e.g. `og_uniq_Person_handle`.
        name: String,
        /// Node label.
        label: String,
        /// Property key.
        property: String,
    },
    /// A property index.
    Index {
        /// Index name, e.g. `og_idx_Person_name` or `og_text_Person_bio`; a full-text or
        /// vector index has the name its type definitions give it (`@fulltext(indexes: [{
        /// indexName }])`), which the queries use.
        name: String,
        /// Node label.
        label: String,
        /// Property keys: one, or several for a full-text index.
        properties: Vec<String>,
        kind: IndexKind,
    },
}

impl SchemaItem {
    /// A uniqueness constraint named `og_uniq_<label>_<property>`.
    pub fn unique(label: impl Into<String>, property: impl Into<String>) -> Self {
        let (label, property) = (label.into(), property.into());
        SchemaItem::UniqueConstraint {
            name: format!("{MANAGED_PREFIX}uniq_{label}_{property}"),
            label,
            property,
        }
    }

    /// An index named `og_idx_<label>_<property>` (range) or `og_text_<label>_<property>`.
    pub fn index(label: impl Into<String>, property: impl Into<String>, kind: IndexKind) -> Self {
        let (label, property) = (label.into(), property.into());
        let infix = match kind {
            IndexKind::Range => "idx",
            IndexKind::Text => "text",
            IndexKind::Fulltext => "fulltext",
            IndexKind::Vector => "vector",
        };
        SchemaItem::Index {
            name: format!("{MANAGED_PREFIX}{infix}_{label}_{property}"),
            label,
            properties: vec![property],
            kind,
        }
    }

    /// A full-text index under the name the type definitions give it.
    pub fn fulltext(
        name: impl Into<String>,
        label: impl Into<String>,
        properties: Vec<String>,
    ) -> Self {
        SchemaItem::Index {
            name: name.into(),
            label: label.into(),
            properties,
            kind: IndexKind::Fulltext,
        }
    }

    /// A vector index under the name the type definitions give it (its dimensions and
    /// similarity function are Neo4j's defaults: set by the first vectors stored).
    pub fn vector(
        name: impl Into<String>,
        label: impl Into<String>,
        property: impl Into<String>,
    ) -> Self {
        SchemaItem::Index {
            name: name.into(),
            label: label.into(),
            properties: vec![property.into()],
            kind: IndexKind::Vector,
        }
    }

    /// The item's name.
    pub fn name(&self) -> &str {
        match self {
            SchemaItem::UniqueConstraint { name, .. } | SchemaItem::Index { name, .. } => name,
        }
    }

    /// The node label.
    pub fn label(&self) -> &str {
        match self {
            SchemaItem::UniqueConstraint { label, .. } | SchemaItem::Index { label, .. } => label,
        }
    }

    /// The property keys.
    pub fn properties(&self) -> &[String] {
        match self {
            SchemaItem::UniqueConstraint { property, .. } => std::slice::from_ref(property),
            SchemaItem::Index { properties, .. } => properties,
        }
    }

    /// The idempotent Cypher that creates it.
    pub fn create_cypher(&self) -> String {
        match self {
            SchemaItem::UniqueConstraint {
                name,
                label,
                property,
            } => format!(
                "CREATE CONSTRAINT {} IF NOT EXISTS FOR (n:{}) REQUIRE n.{} IS UNIQUE",
                quote(name),
                quote(label),
                quote(property)
            ),
            SchemaItem::Index {
                name,
                label,
                properties,
                kind,
            } => {
                let on = |p: &String| format!("n.{}", quote(p));
                let (name, label) = (quote(name), quote(label));
                match kind {
                    IndexKind::Range | IndexKind::Text => format!(
                        "CREATE {}INDEX {name} IF NOT EXISTS FOR (n:{label}) ON ({})",
                        if *kind == IndexKind::Text {
                            "TEXT "
                        } else {
                            ""
                        },
                        properties.iter().map(on).collect::<Vec<_>>().join(", ")
                    ),
                    IndexKind::Fulltext => format!(
                        "CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR (n:{label}) ON EACH [{}]",
                        properties.iter().map(on).collect::<Vec<_>>().join(", ")
                    ),
                    IndexKind::Vector => format!(
                        "CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON ({})",
                        properties.iter().map(on).collect::<Vec<_>>().join(", ")
                    ),
                }
            }
        }
    }
}

/// How to run a migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationOptions {
    /// Only compute the report; change nothing.
    pub dry_run: bool,
    /// Drop managed items that are no longer desired (never done otherwise).
    pub drop: bool,
    /// Limit `would_drop` / dropping to items on these labels (`None`: every managed item).
    pub only_labels: Option<BTreeSet<String>>,
}

/// What a migration did (or, with `dry_run`, would do). Lists hold item names, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Items created (with `dry_run`: that would be created).
    pub created: Vec<String>,
    /// Desired items that already exist (by name, or an equivalent item under another name).
    pub kept: Vec<String>,
    /// For each kept item that exists under another name: (desired name, the existing item's
    /// name), e.g. `("og_uniq_Package_name", "pkg_name")`.
    pub kept_as: Vec<(String, String)>,
    /// Desired range indexes not created because a desired uniqueness constraint's backing index
    /// covers the same label and property.
    pub covered: Vec<String>,
    /// Desired items whose name is taken by an existing item with a different definition; left
    /// untouched (drop or rename by hand).
    pub conflicting: Vec<String>,
    /// Existing managed items that are no longer desired.
    pub would_drop: Vec<String>,
    /// Items actually dropped (only with `drop: true` and not `dry_run`).
    pub dropped: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// An existing constraint or index, as `SHOW ... YIELD *` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Existing {
    name: String,
    /// Constraint or index type, e.g. `UNIQUENESS`, `NODE_PROPERTY_UNIQUENESS`, `RANGE`, `TEXT`.
    kind: String,
    entity: String,
    labels: Vec<String>,
    properties: Vec<String>,
    /// For indexes: the constraint that owns it (a backing index).
    owner: Option<String>,
    is_constraint: bool,
}

impl Existing {
    fn from_row(row: &Map<String, Value>, is_constraint: bool) -> Option<Self> {
        let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
        let list = |key: &str| {
            row.get(key)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(Existing {
            name: text("name")?,
            kind: text("type").unwrap_or_default(),
            entity: text("entityType").unwrap_or_default(),
            labels: list("labelsOrTypes"),
            properties: list("properties"),
            owner: if is_constraint {
                None
            } else {
                text("owningConstraint")
            },
            is_constraint,
        })
    }

    fn on(&self, label: &str, properties: &[String]) -> bool {
        self.entity == "NODE" && self.labels == [label] && self.properties == properties
    }

    fn is_uniqueness(&self) -> bool {
        self.is_constraint && self.kind.contains("UNIQUENESS") && self.entity == "NODE"
    }

    /// Whether this existing item does what `item` asks for.
    fn satisfies(&self, item: &SchemaItem) -> bool {
        if !self.on(item.label(), item.properties()) {
            return false;
        }
        match item {
            SchemaItem::UniqueConstraint { .. } => self.is_uniqueness(),
            SchemaItem::Index { kind, .. } => !self.is_constraint && self.kind == kind.neo4j_type(),
        }
    }
}

/// The decisions of a migration, before anything runs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    create: Vec<SchemaItem>,
    kept: Vec<String>,
    kept_as: Vec<(String, String)>,
    covered: Vec<String>,
    conflicting: Vec<String>,
    /// (name, is_constraint)
    drop: Vec<(String, bool)>,
}

fn plan(desired: &[SchemaItem], existing: &[Existing], only: Option<&BTreeSet<String>>) -> Plan {
    let mut plan = Plan::default();
    let unique_on: HashSet<(&str, &[String])> = desired
        .iter()
        .filter(|i| matches!(i, SchemaItem::UniqueConstraint { .. }))
        .map(|i| (i.label(), i.properties()))
        .collect();
    let mut wanted: HashSet<&str> = HashSet::new();
    let mut seen: HashSet<&str> = HashSet::new();

    // Constraints first, so that their backing indexes exist before indexes are considered.
    let mut ordered: Vec<&SchemaItem> = desired.iter().collect();
    ordered.sort_by_key(|i| !matches!(i, SchemaItem::UniqueConstraint { .. }));
    for item in ordered {
        if !seen.insert(item.name()) {
            continue;
        }
        let covered = matches!(
            item,
            SchemaItem::Index {
                kind: IndexKind::Range,
                ..
            }
        ) && unique_on.contains(&(item.label(), item.properties()));
        if covered {
            plan.covered.push(item.name().to_owned());
            continue;
        }
        wanted.insert(item.name());
        let is_constraint = matches!(item, SchemaItem::UniqueConstraint { .. });
        match existing
            .iter()
            .find(|e| e.name == item.name() && e.is_constraint == is_constraint)
        {
            Some(found) if found.satisfies(item) => plan.kept.push(item.name().to_owned()),
            Some(_) => plan.conflicting.push(item.name().to_owned()),
            None if existing.iter().any(|e| e.name == item.name()) => {
                // Same name on the other kind of item (an index named like our constraint...).
                plan.conflicting.push(item.name().to_owned())
            }
            None => match existing.iter().find(|e| e.satisfies(item)) {
                Some(equivalent) => {
                    plan.kept.push(item.name().to_owned());
                    plan.kept_as
                        .push((item.name().to_owned(), equivalent.name.clone()));
                }
                None => plan.create.push(item.clone()),
            },
        }
    }

    for found in existing {
        let managed = found.name.starts_with(MANAGED_PREFIX);
        let backing_index = !found.is_constraint && found.owner.is_some();
        let in_scope = only.is_none_or(|labels| found.labels.iter().any(|l| labels.contains(l)));
        if managed && !backing_index && in_scope && !wanted.contains(found.name.as_str()) {
            plan.drop.push((found.name.clone(), found.is_constraint));
        }
    }

    plan.kept.sort();
    plan.kept_as.sort();
    plan.covered.sort();
    plan.conflicting.sort();
    plan.drop.sort();
    plan.drop.dedup();
    plan
}

/// Reads the existing schema, then creates (and optionally drops) items to match `desired`.
///
/// Creation uses `IF NOT EXISTS`, so concurrent runs are harmless. Drops run before creations
/// (a leftover range index would block a uniqueness constraint on the same property). The first
/// statement Neo4j rejects stops the run with its error; running again resumes.
pub async fn migrate(
    client: &Neo4jClient,
    desired: &[SchemaItem],
    options: &MigrationOptions,
) -> Result<MigrationReport> {
    let existing = read_existing(client).await?;
    let plan = plan(desired, &existing, options.only_labels.as_ref());
    let mut report = MigrationReport {
        created: plan.create.iter().map(|i| i.name().to_owned()).collect(),
        kept: plan.kept,
        kept_as: plan.kept_as,
        covered: plan.covered,
        conflicting: plan.conflicting,
        would_drop: plan.drop.iter().map(|(name, _)| name.clone()).collect(),
        dropped: Vec::new(),
        dry_run: options.dry_run,
    };
    report.created.sort();
    if options.dry_run {
        return Ok(report);
    }

    if options.drop {
        // Constraints first: dropping one also drops its backing index.
        let mut drops = plan.drop;
        drops.sort_by_key(|(_, is_constraint)| !is_constraint);
        for (name, is_constraint) in drops {
            let what = if is_constraint { "CONSTRAINT" } else { "INDEX" };
            let cypher = format!("DROP {what} {} IF EXISTS", quote(&name));
            run_schema(client, &cypher, &name).await?;
            tracing::info!(item = %name, "dropped schema item");
            report.dropped.push(name);
        }
        report.dropped.sort();
    }

    for item in &plan.create {
        run_schema(client, &item.create_cypher(), item.name()).await?;
        tracing::info!(item = %item.name(), "created schema item");
    }
    Ok(report)
}

async fn run_schema(client: &Neo4jClient, cypher: &str, name: &str) -> Result<()> {
    client
        .run(&Statement::new(cypher), AccessMode::Write)
        .await
        .map(drop)
        .map_err(|error| match error {
            Error::Cypher { code, message } => Error::Cypher {
                code,
                message: format!("schema item `{name}`: {message}"),
            },
            other => other,
        })
}

async fn read_existing(client: &Neo4jClient) -> Result<Vec<Existing>> {
    let mut existing = Vec::new();
    for (cypher, is_constraint) in [
        ("SHOW CONSTRAINTS YIELD *", true),
        ("SHOW INDEXES YIELD *", false),
    ] {
        let result = client
            .run(&Statement::new(cypher), AccessMode::Read)
            .await?;
        existing.extend(
            result
                .rows
                .iter()
                .filter_map(|row| Existing::from_row(row, is_constraint)),
        );
    }
    Ok(existing)
}

/// The database's uniqueness constraints on one property of one node label: keys that type
/// definitions written for `@neo4j/graphql` v7 (which has no `@unique`) rely on.
pub async fn uniqueness_constraints(router: &crate::Router) -> Result<Vec<SingleProperty>> {
    show(
        router,
        "SHOW CONSTRAINTS YIELD *",
        true,
        &["UNIQUENESS", "NODE_PROPERTY_UNIQUENESS"],
    )
    .await
}

/// The database's range indexes on one property of one node label (constraint-backing ones
/// included: they are range indexes too).
pub async fn range_indexes(router: &crate::Router) -> Result<Vec<SingleProperty>> {
    show(router, "SHOW INDEXES YIELD *", false, &["RANGE"]).await
}

async fn show(
    router: &crate::Router,
    cypher: &str,
    is_constraint: bool,
    kinds: &[&str],
) -> Result<Vec<SingleProperty>> {
    let routed = router
        .run(
            &Statement::new(cypher),
            AccessMode::Read,
            &crate::Consistency::default(),
        )
        .await?;
    Ok(routed
        .result
        .rows
        .iter()
        .filter_map(|row| Existing::from_row(row, is_constraint))
        .filter(|e| {
            e.entity == "NODE"
                && kinds.contains(&e.kind.as_str())
                && e.labels.len() == 1
                && e.properties.len() == 1
        })
        .map(|e| SingleProperty {
            name: e.name,
            label: e.labels[0].clone(),
            property: e.properties[0].clone(),
        })
        .collect())
}

/// A constraint or index on one property of one node label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleProperty {
    pub name: String,
    pub label: String,
    pub property: String,
}

/// Quotes a Cypher identifier with backticks.
pub fn quote(identifier: &str) -> String {
    format!("`{}`", identifier.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(name: &str, label: &str, property: &str) -> Existing {
        Existing {
            name: name.into(),
            kind: "UNIQUENESS".into(),
            entity: "NODE".into(),
            labels: vec![label.into()],
            properties: vec![property.into()],
            owner: None,
            is_constraint: true,
        }
    }

    fn index(name: &str, kind: &str, label: &str, property: &str, owner: Option<&str>) -> Existing {
        Existing {
            name: name.into(),
            kind: kind.into(),
            entity: "NODE".into(),
            labels: vec![label.into()],
            properties: vec![property.into()],
            owner: owner.map(Into::into),
            is_constraint: false,
        }
    }

    #[test]
    fn names_are_deterministic() {
        assert_eq!(
            SchemaItem::unique("Person", "handle").name(),
            "og_uniq_Person_handle"
        );
        assert_eq!(
            SchemaItem::index("Person", "name", IndexKind::Range).name(),
            "og_idx_Person_name"
        );
        assert_eq!(
            SchemaItem::index("Person", "bio", IndexKind::Text).name(),
            "og_text_Person_bio"
        );
    }

    #[test]
    fn create_statements_quote_identifiers() {
        assert_eq!(
            SchemaItem::unique("Per`son", "handle").create_cypher(),
            "CREATE CONSTRAINT `og_uniq_Per``son_handle` IF NOT EXISTS FOR (n:`Per``son`) REQUIRE n.`handle` IS UNIQUE"
        );
        assert_eq!(
            SchemaItem::index("Person", "bio", IndexKind::Text).create_cypher(),
            "CREATE TEXT INDEX `og_text_Person_bio` IF NOT EXISTS FOR (n:`Person`) ON (n.`bio`)"
        );
        assert_eq!(
            SchemaItem::index("Person", "name", IndexKind::Range).create_cypher(),
            "CREATE INDEX `og_idx_Person_name` IF NOT EXISTS FOR (n:`Person`) ON (n.`name`)"
        );
    }

    #[test]
    fn creates_missing_and_keeps_existing() {
        let desired = [
            SchemaItem::unique("Person", "handle"),
            SchemaItem::index("Person", "name", IndexKind::Range),
        ];
        let existing = [
            constraint("og_uniq_Person_handle", "Person", "handle"),
            index(
                "og_uniq_Person_handle",
                "RANGE",
                "Person",
                "handle",
                Some("og_uniq_Person_handle"),
            ),
        ];
        let plan = plan(&desired, &existing, None);
        assert_eq!(plan.kept, ["og_uniq_Person_handle"]);
        assert_eq!(plan.create, [desired[1].clone()]);
        assert!(
            plan.drop.is_empty(),
            "backing index must not be dropped: {plan:?}"
        );
    }

    #[test]
    fn a_range_index_under_a_uniqueness_constraint_is_covered() {
        let desired = [
            SchemaItem::index("Person", "handle", IndexKind::Range),
            SchemaItem::unique("Person", "handle"),
            SchemaItem::index("Person", "handle", IndexKind::Text),
        ];
        let plan = plan(&desired, &[], None);
        assert_eq!(plan.covered, ["og_idx_Person_handle"]);
        let names: Vec<_> = plan.create.iter().map(SchemaItem::name).collect();
        assert_eq!(names, ["og_uniq_Person_handle", "og_text_Person_handle"]);
    }

    #[test]
    fn reports_undesired_managed_items_only() {
        let existing = [
            constraint("og_uniq_Old_x", "Old", "x"),
            index("og_idx_Old_y", "RANGE", "Old", "y", None),
            index("og_uniq_Old_x", "RANGE", "Old", "x", Some("og_uniq_Old_x")),
            index("user_index", "RANGE", "Old", "z", None),
            index("og_idx_Other_y", "RANGE", "Other", "y", None),
        ];
        let all = plan(&[], &existing, None);
        let names: Vec<_> = all.drop.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["og_idx_Old_y", "og_idx_Other_y", "og_uniq_Old_x"]);
        let only: BTreeSet<String> = ["Old".to_owned()].into();
        let scoped = plan(&[], &existing, Some(&only));
        let names: Vec<_> = scoped.drop.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["og_idx_Old_y", "og_uniq_Old_x"]);
    }

    #[test]
    fn equivalents_under_other_names_are_kept_and_name_clashes_conflict() {
        let desired = [
            SchemaItem::unique("Person", "handle"),
            SchemaItem::index("Person", "name", IndexKind::Range),
        ];
        let existing = [
            constraint("person_handle", "Person", "handle"),
            index("og_idx_Person_name", "TEXT", "Person", "name", None),
        ];
        let plan = plan(&desired, &existing, None);
        assert_eq!(plan.kept, ["og_uniq_Person_handle"]);
        assert_eq!(
            plan.kept_as,
            [(
                "og_uniq_Person_handle".to_owned(),
                "person_handle".to_owned()
            )]
        );
        assert_eq!(plan.conflicting, ["og_idx_Person_name"]);
        assert!(plan.create.is_empty());
        assert!(plan.drop.is_empty());
    }

    #[test]
    fn parses_show_rows() {
        let row = serde_json::json!({
            "name": "og_uniq_A_b", "type": "UNIQUENESS", "entityType": "NODE",
            "labelsOrTypes": ["A"], "properties": ["b"], "ownedIndex": "og_uniq_A_b"
        });
        let parsed = Existing::from_row(row.as_object().expect("object"), true).expect("row");
        assert!(parsed.satisfies(&SchemaItem::unique("A", "b")));
        let row = serde_json::json!({
            "name": "og_uniq_A_b", "type": "RANGE", "entityType": "NODE",
            "labelsOrTypes": ["A"], "properties": ["b"], "owningConstraint": "og_uniq_A_b"
        });
        let parsed = Existing::from_row(row.as_object().expect("object"), false).expect("row");
        assert_eq!(parsed.owner.as_deref(), Some("og_uniq_A_b"));
    }
}
