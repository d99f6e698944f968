//! Supernode rewrites: cheaper, equivalent Cypher for the first hop from a very dense node.
//!
//! A query that looks one node up by key (`teams(where: {id: {eq: "t1"}})`) and then traverses
//! its relationships normally expands every relationship of that node. When the degree store
//! says the node is a hub for that relationship type and direction, the compiler weighs each
//! rule below against the plain expansion and applies it when it is clearly cheaper:
//!
//! | rule | shape | instead of expanding the hub |
//! |---|---|---|
//! | `count-from-degree` | `xConnection { totalCount }` (no filter) | `COUNT { (hub)-[:T]->() }`: Neo4j reads the degree in constant time; the far-end label check is dropped because the ontology guarantees it |
//! | `index-seek-neighbours` | `x(where: {key: {eq/in: …}})` | seek the far side through its unique index, then check adjacency from the low-degree side |
//! | `index-ordered-top-k` | `x(sort: [{p: ASC}], limit: k, offset: s)` on an indexed, required `p` | walk `p`'s index in order and stop after `s + k` neighbours |
//! | `index-ordered-page` | `xConnection(sort: [{node: {p: ASC}}], first: k, after: …)` | the same walk for a connection page |
//!
//! Equivalence holds under what the ontology declares: relationship types connect the declared
//! types only, required properties are present, `@unique` properties are unique. Where a rule
//! reorders rows, ties in the sort key are broken by element id — in the rewritten *and* the
//! plain form — so both return the same rows in the same order.

use serde_json::Value;

use crate::model::{Direction, IndexKind, NodeType, Ontology, Property, Relationship};

/// What the compiler may know about degrees (the degree store).
pub trait DegreeStats {
    /// The degree of the node `label {key_prop: key}` for `rel_type` in `direction` (seen from
    /// that node), if it is known (known for nodes above the store's threshold).
    fn degree(
        &self,
        label: &str,
        key_prop: &str,
        key: &Value,
        rel_type: &str,
        direction: Direction,
    ) -> Option<u64>;
    /// How many nodes carry the label.
    fn label_count(&self, label: &str) -> Option<u64>;
    /// The mean degree of the label's nodes for `rel_type` in `direction`, if measured.
    fn mean_degree(&self, _label: &str, _rel_type: &str, _direction: Direction) -> Option<f64> {
        None
    }
    /// Whether the statistics were measured at all (a cost estimate needs them).
    fn measured(&self) -> bool {
        false
    }
}

/// No statistics: nothing is rewritten.
pub struct NoStats;

impl DegreeStats for NoStats {
    fn degree(&self, _: &str, _: &str, _: &Value, _: &str, _: Direction) -> Option<u64> {
        None
    }
    fn label_count(&self, _: &str) -> Option<u64> {
        None
    }
}

/// How the compiler uses the statistics.
#[derive(Debug, Clone, Copy)]
pub struct RewriteOptions {
    /// Apply rules (`false`: only consider them, so `explain` can show the plain form with the
    /// same tie-breaking).
    pub apply: bool,
    /// Smallest degree at which rules are considered.
    pub min_degree: u64,
    /// A rule applies when its estimated cost is at most this fraction of the plain one.
    pub max_cost_ratio: f64,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        RewriteOptions {
            apply: true,
            min_degree: 1_000,
            max_cost_ratio: 0.1,
        }
    }
}

/// A rule family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    CountFromDegree,
    IndexSeekNeighbours,
    IndexOrderedTopK,
    IndexOrderedPage,
}

impl Rule {
    pub const fn name(self) -> &'static str {
        match self {
            Rule::CountFromDegree => "count-from-degree",
            Rule::IndexSeekNeighbours => "index-seek-neighbours",
            Rule::IndexOrderedTopK => "index-ordered-top-k",
            Rule::IndexOrderedPage => "index-ordered-page",
        }
    }
}

/// What the compiler decided for one relationship field at a hub.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub rule: Rule,
    /// The response path of the field (`teams.members`).
    pub field: String,
    /// `Label {prop: value}` of the hub.
    pub anchor: String,
    pub rel_type: String,
    pub degree: u64,
    /// Estimated rows touched, plain and rewritten.
    pub cost_plain: f64,
    pub cost_rewritten: f64,
    pub applied: bool,
}

/// The hub a root key lookup selected, with the Cypher variable bound to it.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub var: String,
    pub label: String,
    pub key_prop: String,
    pub key: Value,
    /// The root field's response key (paths of decisions start with it).
    pub field: String,
}

impl Anchor {
    pub fn describe(&self) -> String {
        let key = match &self.key {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        format!("{} {{{}: {key}}}", self.label, self.key_prop)
    }
}

/// Whether every relationship of this type leaving `n` in `r`'s direction ends at `r`'s target,
/// as far as the ontology says: no other relationship field uses the type between other types.
pub fn far_end_guaranteed(o: &Ontology, n: &NodeType, r: &Relationship) -> bool {
    let Some(target) = o.node(&r.target) else {
        return false;
    };
    // Normalize every use of the type to (start label, end label).
    let wanted = match r.direction {
        Direction::Out => (n.main_label(), target.main_label()),
        Direction::In => (target.main_label(), n.main_label()),
    };
    o.nodes.values().all(|owner| {
        owner
            .relationships()
            .filter(|other| other.rel_type == r.rel_type)
            .all(|other| {
                let Some(t) = o.node(&other.target) else {
                    return false;
                };
                let pair = match other.direction {
                    Direction::Out => (owner.main_label(), t.main_label()),
                    Direction::In => (t.main_label(), owner.main_label()),
                };
                pair == wanted
            })
    })
}

/// A property whose index can be walked in order and never holds nulls for nodes the ontology
/// describes: required, single-valued, with a uniqueness constraint or a range index, declared
/// or found in the database (a uniqueness constraint is backed by a range index).
pub fn ordered_index(p: &Property) -> bool {
    p.required
        && !p.list
        && p.coalesce.is_none()
        && (p.unique
            || p.index == Some(IndexKind::Range)
            || p.database_key.is_some()
            || p.database_range_index.is_some())
}

/// A single-valued property with a uniqueness constraint, declared or found in the database (an
/// index seek finds at most one node per value), read as stored (no `@coalesce`).
pub fn unique_index(p: &Property) -> bool {
    (p.unique || p.database_key.is_some()) && !p.list && p.coalesce.is_none()
}

/// The share of the far label's nodes that are the hub's neighbours (at most 1), assuming an even
/// spread over the index.
fn density(degree: u64, label_count: u64) -> f64 {
    (degree.max(1) as f64 / label_count.max(1) as f64).min(1.0)
}

/// Estimated rows an ordered index walk touches to find `wanted` neighbours of a hub of
/// `degree` among `label_count` nodes (neighbours assumed spread evenly through the index).
pub fn ordered_walk_cost(wanted: u64, degree: u64, label_count: u64) -> f64 {
    let density = density(degree, label_count);
    (wanted.max(1) as f64 / density).min(label_count.max(1) as f64) * 2.0
}

/// How many index entries an ordered walk may look at before it gives up and the plain expansion
/// runs instead: ten times what an even spread of neighbours needs, and at least a quarter of the
/// hub's degree (neighbours are rarely spread evenly: other nodes may sort first), between 1,000
/// and 250,000. The walk stops as soon as it has found what it needs, so the window only costs
/// when the neighbours sit elsewhere in the index — then the plain plan runs after a walk no
/// longer than a quarter of its own work.
pub fn walk_window(wanted: u64, degree: u64, label_count: u64) -> u64 {
    let density = density(degree, label_count);
    let even = 10.0 * wanted.max(1) as f64 / density;
    (even.max(degree as f64 / 4.0) as u64).clamp(1_000, 250_000)
}

/// Estimated rows the plain expansion touches (expand every relationship, then sort or filter).
pub fn expand_cost(degree: u64) -> f64 {
    degree.max(1) as f64
}
