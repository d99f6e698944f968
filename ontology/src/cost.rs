//! Operation limits checked before anything runs: aliases, root fields, and an estimated cost
//! from real cardinalities — how many nodes carry each label and how many relationships nodes
//! have on average (the degree store's statistics) — not only from the query's shape.
//!
//! The cost is the number of rows the statement is expected to touch: a root list reads
//! `min(limit, nodes of the label)` (one for a lookup by a unique key), and each nested list
//! multiplies by `min(limit, mean degree)`. Without statistics, the limits stand in for the
//! counts (a safe upper bound).

use crate::ir::{FieldSel, Operation, OperationKind};
use crate::model::{NodeType, Ontology};
use crate::rewrite::DegreeStats;

/// The limits (each `None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_cost: Option<f64>,
    pub max_aliases: Option<usize>,
    pub max_root_fields: Option<usize>,
    /// The `limit`/`first` applied when a list gives none (as the compiler does).
    pub default_limit: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cost: Some(1_000_000.0),
            max_aliases: Some(30),
            max_root_fields: Some(20),
            default_limit: 1000,
        }
    }
}

/// One list the operation reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// `people.teams.members`
    pub path: String,
    /// Rows per parent row (for a root: rows).
    pub per_parent: f64,
    /// Rows in all.
    pub rows: f64,
    /// Where the field is in the document: (line, column).
    pub pos: Option<(usize, usize)>,
}

/// The estimated cost and where it comes from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Estimate {
    pub cost: f64,
    pub parts: Vec<Part>,
}

impl Estimate {
    /// The part that reads the most rows.
    pub fn largest(&self) -> Option<&Part> {
        self.parts.iter().max_by(|a, b| a.rows.total_cmp(&b.rows))
    }

    /// The largest parts, for an error message.
    pub fn breakdown(&self, n: usize) -> String {
        let mut parts: Vec<&Part> = self.parts.iter().collect();
        parts.sort_by(|a, b| b.rows.total_cmp(&a.rows));
        parts
            .iter()
            .take(n)
            .map(|p| {
                format!(
                    "{} {} rows ({} per parent)",
                    p.path,
                    thousands(p.rows),
                    short(p.per_parent)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why an operation was refused before running.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    #[error("the operation has {count} aliases; the limit is {max}")]
    Aliases { count: usize, max: usize },
    #[error("the operation has {count} root fields; the limit is {max}")]
    RootFields { count: usize, max: usize },
    #[error("the operation's estimated cost is {}, above the limit of {} (largest: {breakdown}); ask for fewer rows with `limit`/`first` or fewer nested lists", thousands(*cost), thousands(*max))]
    Cost {
        cost: f64,
        max: f64,
        breakdown: String,
        /// Where the field that costs most is in the document: (line, column).
        at: Option<(usize, usize)>,
    },
}

impl LimitError {
    /// The place in the document the error is about (the field that costs most).
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            LimitError::Cost { at, .. } => *at,
            _ => None,
        }
    }

    /// A stable code for GraphQL errors.
    pub fn code(&self) -> &'static str {
        match self {
            LimitError::Aliases { .. } => "TOO_MANY_ALIASES",
            LimitError::RootFields { .. } => "TOO_MANY_ROOT_FIELDS",
            LimitError::Cost { .. } => "COST_LIMIT_EXCEEDED",
        }
    }
}

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short(v: f64) -> String {
    if v >= 10.0 || v.fract() == 0.0 {
        thousands(v)
    } else {
        format!("{v:.1}")
    }
}

/// Checks the limits; on success, the estimate.
pub fn check(
    o: &Ontology,
    op: &Operation,
    stats: &dyn DegreeStats,
    limits: &Limits,
) -> Result<Estimate, LimitError> {
    let roots = op
        .fields
        .iter()
        .filter(|f| !f.name.starts_with("__"))
        .count();
    if let Some(max) = limits.max_root_fields {
        if roots > max {
            return Err(LimitError::RootFields { count: roots, max });
        }
    }
    let aliases = count_aliases(&op.fields);
    if let Some(max) = limits.max_aliases {
        if aliases > max {
            return Err(LimitError::Aliases {
                count: aliases,
                max,
            });
        }
    }
    let estimate = estimate(o, op, stats, limits.default_limit);
    if let Some(max) = limits.max_cost {
        if estimate.cost > max {
            return Err(LimitError::Cost {
                cost: estimate.cost,
                max,
                breakdown: estimate.breakdown(3),
                at: estimate.largest().and_then(|p| p.pos),
            });
        }
    }
    Ok(estimate)
}

fn count_aliases(fields: &[FieldSel]) -> usize {
    fields
        .iter()
        .map(|f| usize::from(f.key != f.name) + count_aliases(&f.selection))
        .sum()
}

/// The estimated rows a query touches (a mutation: one per root field and input item).
pub fn estimate(
    o: &Ontology,
    op: &Operation,
    stats: &dyn DegreeStats,
    default_limit: u64,
) -> Estimate {
    let mut e = Estimate::default();
    if op.kind == OperationKind::Mutation {
        e.cost = op
            .fields
            .iter()
            .map(|f| match f.arg("input") {
                Some(serde_json::Value::Array(items)) => items.len().max(1) as f64,
                _ => 1.0,
            })
            .sum();
        return e;
    }
    let walker = Walker {
        o,
        stats,
        default_limit: default_limit.max(1) as f64,
    };
    for f in &op.fields {
        if let Some(n) = o.node_by_plural(&f.name) {
            let rows = if walker.by_unique_key(n, f) {
                1.0
            } else {
                walker.bounded(f.arg("limit"), walker.label_count(n))
            };
            walker.list(n, f, &f.key, rows, rows, &mut e);
        } else if let Some(n) = f
            .name
            .strip_suffix("Connection")
            .and_then(|p| o.node_by_plural(p))
        {
            let count = walker.label_count(n);
            let rows = walker.bounded(f.arg("first"), count);
            walker.connection(n, f, &f.key, 1.0, rows, count, &mut e);
        } else if let Some((n, _)) = o.search_field(&f.name) {
            // A search reads what the index finds: at most the label, paged like a connection.
            let count = walker.label_count(n);
            let rows = walker.bounded(f.arg("first"), count);
            walker.connection(n, f, &f.key, 1.0, rows, count, &mut e);
        }
    }
    e
}

struct Walker<'a> {
    o: &'a Ontology,
    stats: &'a dyn DegreeStats,
    default_limit: f64,
}

impl Walker<'_> {
    fn label_count(&self, n: &NodeType) -> f64 {
        self.stats
            .label_count(n.main_label())
            .map_or(self.default_limit, |c| c as f64)
    }

    /// `min(limit or the default, available)`.
    fn bounded(&self, limit: Option<&serde_json::Value>, available: f64) -> f64 {
        let limit = limit
            .and_then(serde_json::Value::as_u64)
            .filter(|l| *l > 0)
            .map_or(self.default_limit, |l| l as f64);
        limit.min(available)
    }

    fn by_unique_key(&self, n: &NodeType, f: &FieldSel) -> bool {
        let Some(serde_json::Value::Object(w)) = f.arg("where") else {
            return false;
        };
        w.iter().any(|(k, v)| {
            n.property(k).is_some_and(|p| p.is_key()) && v.get("eq").is_some_and(|x| !x.is_null())
        })
    }

    /// A list of `n` nodes, `rows` of them in all (`per` for each parent).
    fn list(&self, n: &NodeType, f: &FieldSel, path: &str, per: f64, rows: f64, e: &mut Estimate) {
        e.cost += rows;
        e.parts.push(Part {
            path: path.to_owned(),
            per_parent: per,
            rows,
            pos: f.pos,
        });
        self.nested(n, &f.selection, path, rows, e);
    }

    #[allow(clippy::too_many_arguments)]
    fn connection(
        &self,
        n: &NodeType,
        f: &FieldSel,
        path: &str,
        parents: f64,
        per: f64,
        count_per_parent: f64,
        e: &mut Estimate,
    ) {
        // `totalCount` reads every match (filtered), or the count store (unfiltered).
        let counts = f.selection.iter().any(|s| s.name == "totalCount");
        if counts {
            let filtered = f.arg("where").is_some() || parents > 1.0;
            let touched = if filtered {
                parents * count_per_parent
            } else {
                1.0
            };
            e.cost += touched;
            e.parts.push(Part {
                path: format!("{path}.totalCount"),
                per_parent: if filtered { count_per_parent } else { 1.0 },
                rows: touched,
                pos: f.pos,
            });
        }
        let rows = parents * per;
        let nodes: Vec<&FieldSel> = f
            .selection
            .iter()
            .filter(|s| s.name == "edges")
            .flat_map(|edges| edges.selection.iter().filter(|s| s.name == "node"))
            .collect();
        if nodes.is_empty() && !f.selection.iter().any(|s| s.name == "edges") {
            return;
        }
        e.cost += rows;
        e.parts.push(Part {
            path: format!("{path}.edges"),
            per_parent: per,
            rows,
            pos: f.pos,
        });
        for node in nodes {
            self.nested(n, &node.selection, path, rows, e);
        }
    }

    fn nested(
        &self,
        n: &NodeType,
        fields: &[FieldSel],
        path: &str,
        parents: f64,
        e: &mut Estimate,
    ) {
        for f in fields {
            let child_path = format!("{path}.{}", f.key);
            if let Some(r) = n.relationship(&f.name) {
                let Some(target) = self.o.node(&r.target) else {
                    continue;
                };
                let mean = self.mean(n, &r.rel_type, r.direction);
                let per = if r.list {
                    self.bounded(f.arg("limit"), mean)
                } else {
                    mean.min(1.0)
                };
                self.list(target, f, &child_path, per, parents * per, e);
            } else if let Some(r) = f
                .name
                .strip_suffix("Connection")
                .and_then(|rn| n.relationship(rn))
            {
                let Some(target) = self.o.node(&r.target) else {
                    continue;
                };
                let mean = self.mean(n, &r.rel_type, r.direction);
                let per = self.bounded(f.arg("first"), mean);
                self.connection(target, f, &child_path, parents, per, mean, e);
            }
        }
    }

    /// The mean degree of `n` nodes for a relationship, or the default limit when unknown.
    fn mean(&self, n: &NodeType, rel_type: &str, direction: crate::model::Direction) -> f64 {
        self.stats
            .mean_degree(n.main_label(), rel_type, direction)
            .unwrap_or(self.default_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Direction;
    use serde_json::{json, Value};

    struct Stats;
    impl DegreeStats for Stats {
        fn degree(&self, _: &str, _: &str, _: &Value, _: &str, _: Direction) -> Option<u64> {
            None
        }
        fn label_count(&self, label: &str) -> Option<u64> {
            match label {
                "Person" => Some(1_000_000),
                "Team" => Some(2_000),
                _ => None,
            }
        }
        fn mean_degree(&self, label: &str, rel: &str, _: Direction) -> Option<f64> {
            match (label, rel) {
                ("Team", "MEMBER_OF") => Some(500.0),
                ("Person", "MEMBER_OF") => Some(2.0),
                _ => None,
            }
        }
    }

    fn ontology() -> Ontology {
        crate::parse_ontology(
            r#"
            type Person @node {
              handle: String! @unique
              name: String
              teams: [Team!]! @relationship(type: "MEMBER_OF", direction: OUT)
            }
            type Team @node {
              id: ID! @id @unique
              name: String!
              members: [Person!]! @relationship(type: "MEMBER_OF", direction: IN)
            }
            "#,
        )
        .expect("ontology")
    }

    fn field(name: &str, args: Value, selection: Vec<FieldSel>) -> FieldSel {
        FieldSel {
            args: args.as_object().cloned().unwrap_or_default(),
            selection,
            ..FieldSel::new(name)
        }
    }

    fn query(fields: Vec<FieldSel>) -> Operation {
        Operation {
            kind: OperationKind::Query,
            fields,
            roles: Default::default(),
            jwt: Default::default(),
            authenticated: false,
        }
    }

    #[test]
    fn costs_follow_the_real_cardinalities() {
        let o = ontology();
        // 100 teams × min(1000, 500 members) = 50,000 rows, plus the 100 teams.
        let op = query(vec![field(
            "teams",
            json!({"limit": 100}),
            vec![field("members", json!({}), vec![FieldSel::new("handle")])],
        )]);
        let e = estimate(&o, &op, &Stats, 1000);
        assert_eq!(e.cost, 50_100.0);
        // The same shape from people: 1000 × 2 teams.
        let op = query(vec![field(
            "people",
            json!({}),
            vec![field("teams", json!({}), vec![FieldSel::new("name")])],
        )]);
        assert_eq!(estimate(&o, &op, &Stats, 1000).cost, 3_000.0);
        // A lookup by a unique key reads one node.
        let op = query(vec![field(
            "teams",
            json!({"where": {"id": {"eq": "t1"}}}),
            vec![field("members", json!({"limit": 10}), vec![])],
        )]);
        assert_eq!(estimate(&o, &op, &Stats, 1000).cost, 11.0);
    }

    #[test]
    fn limits_refuse_with_the_estimate_and_where_it_comes_from() {
        let o = ontology();
        let deep = query(vec![field(
            "teams",
            json!({"limit": 2000}),
            vec![field(
                "members",
                json!({}),
                vec![field("teams", json!({}), vec![FieldSel::new("name")])],
            )],
        )]);
        let err = check(&o, &deep, &Stats, &Limits::default()).expect_err("too costly");
        assert_eq!(err.code(), "COST_LIMIT_EXCEEDED");
        let text = err.to_string();
        assert!(text.contains("estimated cost is 3,002,000"), "{text}");
        assert!(
            text.contains("teams.members.teams 2,000,000 rows (2 per parent)"),
            "{text}"
        );
        let aliased = query(
            (0..31)
                .map(|i| FieldSel {
                    key: format!("a{i}"),
                    ..FieldSel::new("teams")
                })
                .collect(),
        );
        let limits = Limits {
            max_root_fields: None,
            ..Limits::default()
        };
        assert_eq!(
            check(&o, &aliased, &Stats, &limits)
                .expect_err("aliases")
                .code(),
            "TOO_MANY_ALIASES"
        );
        assert_eq!(
            check(&o, &aliased, &Stats, &Limits::default())
                .expect_err("roots")
                .to_string(),
            "the operation has 31 root fields; the limit is 20"
        );
    }
}
