//! The compiler from a GraphQL operation (query IR) to ONE parameterized Cypher statement.
//!
//! Every root field becomes a `CALL { … }` subquery returning one value; nested relationship
//! fields become `COLLECT { … }` subquery expressions, so the whole operation is one statement
//! and one round trip, whatever its depth. User values only ever reach Cypher as parameters;
//! labels, relationship types and property names only come from the ontology, and are quoted.
//!
//! Connections (`…Connection` fields) come back from Neo4j as raw rows plus counts; the
//! [`crate::shape`] module turns them into `edges`/`pageInfo`/`totalCount` with cursors.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::deps;
use crate::ir::{FieldSel, Operation, OperationKind};
use crate::model::{CypherResult, Direction, NodeType, Ontology, Property, Relationship, Scalar};
use crate::rewrite::{self, Anchor, DegreeStats, RewriteOptions, Rule};
use crate::shape::{ConnectionShape, RootField, Shape};

/// Limits applied while compiling.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// `limit` applied to root list queries (and `first` to root connections) that give none.
    pub default_limit: Option<u64>,
    /// The largest `limit`/`first` a client may ask for anywhere.
    pub max_limit: Option<u64>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            default_limit: Some(1000),
            max_limit: Some(10_000),
        }
    }
}

/// A compiled operation: one Cypher statement, its parameters, and how to shape its single row
/// into the GraphQL `data` object.
#[derive(Debug, Clone)]
pub struct CompiledOperation {
    pub cypher: String,
    pub params: Map<String, Value>,
    pub kind: OperationKind,
    /// One per root field, in selection order: the response key, the result column, the shape.
    pub roots: Vec<RootField>,
    /// What a query read, or what a mutation may change, as cache tags ([`crate::deps`]).
    pub tags: BTreeSet<String>,
    /// Supernode rules considered for this operation, applied or not ([`crate::rewrite`]).
    pub decisions: Vec<rewrite::Decision>,
    /// Node properties the statement filters or sorts on (for index recommendations).
    pub uses: BTreeSet<PropertyUse>,
    /// The statement embeds a `@cypher` field's statement, so whether it writes is not given
    /// by the operation type: Neo4j tells (`EXPLAIN`'s query type).
    pub user_cypher: bool,
    /// A `@cypher` statement reads the caller's token (`$jwt`), or a read rule decided on a
    /// claim other than the roles: the result is the caller's own, never shared through the
    /// cache (whose scope is the roles).
    pub per_caller: bool,
}

/// A node property an operation filters or sorts on, by its label and database name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyUse {
    pub label: String,
    pub property: String,
    pub usage: Usage,
}

/// How a property is used: the index kind that serves it follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Usage {
    /// Equality, ranges, `in`, `startsWith` (a range index serves it).
    Filter,
    /// `contains` / `endsWith` on a string (a text index serves it).
    TextFilter,
    /// `ORDER BY` (a range index serves it).
    Sort,
}

/// Why an operation could not be compiled. These are client errors (bad argument values);
/// schema-level mistakes are caught by GraphQL validation before compilation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    #[error("unknown root field `{0}`")]
    UnknownRootField(String),
    #[error("unknown field `{field}` on `{owner}`")]
    UnknownField { owner: String, field: String },
    #[error("invalid argument `{arg}`: {reason}")]
    InvalidArgument { arg: String, reason: String },
}

pub(crate) fn invalid(arg: &str, reason: impl Into<String>) -> CompileError {
    CompileError::InvalidArgument {
        arg: arg.to_string(),
        reason: reason.into(),
    }
}

/// Compiles an operation against an ontology (no statistics: no supernode rewrites).
pub fn compile(
    o: &Ontology,
    op: &Operation,
    opts: &CompileOptions,
) -> Result<CompiledOperation, CompileError> {
    compile_with(o, op, opts, &rewrite::NoStats, RewriteOptions::default())
}

/// Compiles an operation, rewriting traversals out of known hubs where that is cheaper.
pub fn compile_with(
    o: &Ontology,
    op: &Operation,
    opts: &CompileOptions,
    stats: &dyn DegreeStats,
    rewrite_options: RewriteOptions,
) -> Result<CompiledOperation, CompileError> {
    let op = &*op.settled(|on| o.conditional(on));
    let mut c = Compiler {
        o,
        opts,
        params: Map::new(),
        vars: 0,
        tags: RefCell::new(BTreeSet::new()),
        writing: op.kind == OperationKind::Mutation,
        stats,
        rewrite: rewrite_options,
        anchor: None,
        decisions: Vec::new(),
        uses: RefCell::new(BTreeSet::new()),
        roles: &op.roles,
        jwt: &op.jwt,
        authenticated: op.authenticated,
        per_caller: false,
        in_rule: false,
        defaulted: None,
        hoisted: Vec::new(),
        user_cypher: false,
        aggregate_reads: None,
        sort_values: Vec::new(),
    };
    let mut cypher = String::new();
    let mut roots = Vec::new();
    for (i, f) in op.fields.iter().enumerate() {
        if f.name == "__typename" || f.name.starts_with("__") {
            continue;
        }
        let column = format!("r{i}");
        let (body, shape) = match op.kind {
            OperationKind::Query => c.root_query(f, &column)?,
            OperationKind::Mutation => c.root_mutation(f, &column)?,
        };
        let _ = writeln!(cypher, "CALL {{\n{body}\n}}");
        roots.push(RootField {
            key: f.key.clone(),
            column,
            shape,
            default_limit: c.defaulted.take(),
        });
    }
    if roots.is_empty() {
        cypher.push_str("RETURN 1 AS none");
    } else {
        let cols: Vec<&str> = roots.iter().map(|r| r.column.as_str()).collect();
        let _ = write!(cypher, "RETURN {}", cols.join(", "));
    }
    Ok(CompiledOperation {
        cypher,
        params: c.params,
        kind: op.kind,
        roots,
        tags: c.tags.into_inner(),
        decisions: c.decisions,
        uses: c.uses.into_inner(),
        user_cypher: c.user_cypher,
        per_caller: c.per_caller,
    })
}

/// Quotes a label, relationship type, property name or map key for Cypher.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A projection's map entries `(key, expression)` and the shapes its values need, by key.
pub(crate) type ProjectedParts = (Vec<(String, String)>, Vec<(String, Shape)>);

pub(crate) fn labels_of(n: &NodeType) -> String {
    n.labels.iter().map(|l| format!(":{}", quote(l))).collect()
}

/// What a relationship aggregation reads: `source`, Cypher binding a row per relationship
/// (`e`) and related node (`t`) — `MATCH (this)-[e:ACTED_IN]->(t:Actor) WHERE …`, or the
/// member branches of an interface target — and the properties the two carry.
pub(crate) struct Related<'a, 's> {
    pub source: String,
    pub e: &'s str,
    pub t: &'s str,
    /// The related nodes' properties (a node type's, or an interface's).
    pub nodes: Vec<&'a Property>,
    /// The relationship properties' type name (empty: none) and its properties.
    pub edge_owner: &'s str,
    pub edges: &'a [Property],
    /// The relationship field, for errors.
    pub field: &'s str,
}

impl<'a, 's> Related<'a, 's> {
    /// What relationship `r` relates, its rows read by `source` (which binds `e` and `t`).
    pub(crate) fn new(
        o: &'a Ontology,
        r: &'s Relationship,
        source: String,
        e: &'s str,
        t: &'s str,
    ) -> Self {
        Related {
            source,
            e,
            t,
            nodes: o.target_properties(&r.target),
            edge_owner: r.properties.as_deref().unwrap_or_default(),
            edges: o.edge_properties(r),
            field: &r.name,
        }
    }

    /// The list of `ret`, an expression over `t` or `e`, for each related node (`nodes`,
    /// distinct) or each relationship: one pass over them.
    pub(crate) fn values(&self, nodes: bool, ret: &str) -> String {
        let distinct = if nodes {
            format!(" WITH DISTINCT {}", self.t)
        } else {
            String::new()
        };
        format!("COLLECT {{ {}{distinct} RETURN {ret} }}", self.source)
    }
}

/// What a `where` input filters: a node (properties and relationships) or a relationship's
/// properties.
#[derive(Clone, Copy)]
pub(crate) enum Owner<'a> {
    Node(&'a NodeType),
    Edge(&'a str, &'a [Property]),
}

impl<'a> Owner<'a> {
    fn name(&self) -> &str {
        match self {
            Owner::Node(n) => &n.name,
            Owner::Edge(name, _) => name,
        }
    }
    /// Declaration position of a property (for ordering multi-key sorts).
    fn position(&self, name: &str) -> usize {
        match self {
            Owner::Node(n) => n.properties().position(|p| p.name == name).or_else(|| {
                let c = n.cypher_fields.iter().position(|c| c.name == name)?;
                Some(n.properties().count() + c)
            }),
            Owner::Edge(_, props) => props.iter().position(|p| p.name == name),
        }
        .unwrap_or(usize::MAX)
    }

    fn property(&self, name: &str) -> Option<&'a Property> {
        match self {
            Owner::Node(n) => n.property(name),
            Owner::Edge(_, props) => props.iter().find(|p| p.name == name),
        }
    }
}

pub(crate) struct Compiler<'a> {
    pub(crate) o: &'a Ontology,
    pub(crate) opts: &'a CompileOptions,
    pub(crate) params: Map<String, Value>,
    pub(crate) vars: usize,
    /// Cache tags of everything the statement reads or writes.
    pub(crate) tags: RefCell<BTreeSet<String>>,
    /// A mutation: every node type touched also gets its `k:` tag.
    pub(crate) writing: bool,
    pub(crate) stats: &'a dyn DegreeStats,
    pub(crate) rewrite: RewriteOptions,
    /// The node a root key lookup selected, while its fields are compiled.
    pub(crate) anchor: Option<Anchor>,
    pub(crate) decisions: Vec<rewrite::Decision>,
    /// Node properties filtered or sorted on.
    pub(crate) uses: RefCell<BTreeSet<PropertyUse>>,
    /// The caller's roles (the ontology's read rules).
    pub(crate) roles: &'a BTreeSet<String>,
    /// The caller's token payload (`$jwt` in `@cypher` statements).
    pub(crate) jwt: &'a Map<String, Value>,
    /// Whether the caller authenticated (a token or an API key).
    pub(crate) authenticated: bool,
    /// A `@cypher` statement read `$jwt`, or a read rule read a claim other than the roles.
    pub(crate) per_caller: bool,
    /// While a read rule's `node` condition is compiled (rules do not nest).
    pub(crate) in_rule: bool,
    /// The default page size the root field being compiled got (no `limit`/`first` given).
    pub(crate) defaulted: Option<u64>,
    /// Subqueries (`CALL (x) { … }`) the projection being compiled reads its nested values
    /// from, to run between its rows' last clause and its `RETURN` (see [`Compiler::hoist`]).
    pub(crate) hoisted: Vec<String>,
    /// Subqueries computing the `@cypher` values a sort being compiled orders by, to run
    /// before its `ORDER BY` (see [`Compiler::sort_values`]).
    pub(crate) sort_values: Vec<String>,
    /// A `@cypher` field's statement was embedded.
    pub(crate) user_cypher: bool,
    /// While compiling aggregates that share one pass: each property read they need, once
    /// (the read and the variable it is bound to before the aggregation; see
    /// [`Compiler::connection_value`]). A property read once per row instead of once per
    /// aggregate function made a hub's aggregates twice as fast.
    pub(crate) aggregate_reads: Option<Vec<(String, String)>>,
}

impl<'a> Compiler<'a> {
    /// Runs `project` (a projection of the rows bound at one level) and takes the subqueries it
    /// hoisted: text, each followed by a space, to put between those rows' last clause and the
    /// projection's `RETURN` — after paging, so they run for the rows returned only.
    pub(crate) fn hoisting<T>(
        &mut self,
        project: impl FnOnce(&mut Self) -> Result<T, CompileError>,
    ) -> Result<(T, String), CompileError> {
        let outer = std::mem::take(&mut self.hoisted);
        let projected = project(self);
        let mine = std::mem::replace(&mut self.hoisted, outer);
        Ok((projected?, mine.iter().map(|c| format!("{c} ")).collect()))
    }

    /// Hoists `CALL (v) { <body> <pre>RETURN <ret> AS x }` into the projection being compiled
    /// and returns `x`. Nested values (related rows, aggregates) are computed by such
    /// subqueries, never inside the projection's expressions: Neo4j refuses an aggregate
    /// function anywhere inside a projection that aggregates or groups, even within a subquery
    /// expression.
    pub(crate) fn hoist(&mut self, v: &str, body: &str, pre: &str, ret: &str) -> String {
        let x = self.var("sub");
        self.hoisted
            .push(format!("CALL ({v}) {{ {body} {pre}RETURN {ret} AS {x} }}"));
        x
    }

    /// The subqueries the sort just compiled needs before its `ORDER BY` (each followed by a
    /// space; empty when it sorts by no `@cypher` field).
    pub(crate) fn sort_values(&mut self) -> String {
        std::mem::take(&mut self.sort_values)
            .iter()
            .map(|c| format!("{c} "))
            .collect()
    }

    /// Refuses a sort by a `@cypher` field where `what` is sorted (lists and connections of
    /// node types sort by one).
    pub(crate) fn no_sort_values(&mut self, what: &str) -> Result<(), CompileError> {
        if self.sort_values.is_empty() {
            return Ok(());
        }
        self.sort_values.clear();
        Err(invalid(
            "sort",
            format!("{what} cannot be sorted by a @cypher field yet (lists and connections of node types can)"),
        ))
    }

    /// Records a filter or sort on a node property (reads only: writes match by key).
    fn uses(&self, n: &NodeType, p: &Property, usage: Usage) {
        if !self.writing {
            self.uses.borrow_mut().insert(PropertyUse {
                label: n.main_label().to_owned(),
                property: p.db_name.clone(),
                usage,
            });
        }
    }

    /// Adds a parameter and returns its reference (`$p3`).
    pub(crate) fn param(&mut self, v: Value) -> String {
        let name = format!("p{}", self.params.len());
        self.params.insert(name.clone(), v);
        format!("${name}")
    }

    /// How a property of `var` is read in projections and filters: the stored value, or with
    /// `@coalesce` the stored value falling back to the declared one (as the library reads it).
    pub(crate) fn read(&mut self, var: &str, p: &Property) -> String {
        let stored = format!("{var}.{}", quote(&p.db_name));
        match &p.coalesce {
            Some(value) => {
                let fallback = self.param(value.clone());
                format!("coalesce({stored}, {fallback})")
            }
            None => stored,
        }
    }

    /// How a property of `var` is returned, as selected by `f`: as [`Compiler::read`] reads it,
    /// a `Duration` as the text the library returns (the JavaScript driver's ISO form, e.g.
    /// `P1Y2M3DT4H5M6S`), a point as the object of the coordinates `f` selects.
    pub(crate) fn project(&mut self, var: &str, p: &Property, f: &FieldSel) -> String {
        let read = self.read(var, p);
        let each = match (&p.scalar, p.scalar.coordinates()) {
            (Scalar::Duration, _) => Some(("dur", duration_text("dur"))),
            // The library returns a BigInt as its decimal text.
            (Scalar::BigInt, _) => Some(("big", "toString(big)".to_owned())),
            (_, Some(coordinates)) => Some(("pt", point_object(&p.scalar, coordinates, f))),
            _ => None,
        };
        match (each, p.list) {
            (None, _) => read,
            (Some((x, text)), false) => format!("[{x} IN [{read}] | {text}][0]"),
            (Some((x, text)), true) => format!("[{x} IN {read} | {text}]"),
        }
    }

    /// A fresh Cypher variable name.
    pub(crate) fn var(&mut self, prefix: &str) -> String {
        self.vars += 1;
        format!("{prefix}{}", self.vars)
    }

    /// The properties carried by a relationship (empty when it has none).
    pub(crate) fn edge_props(&self, r: &Relationship) -> &'a [Property] {
        self.o.edge_properties(r)
    }

    pub(crate) fn node(&self, name: &str) -> Result<&'a NodeType, CompileError> {
        let n = self
            .o
            .node(name)
            .ok_or_else(|| CompileError::UnknownField {
                owner: "ontology".into(),
                field: name.into(),
            })?;
        self.depends_on(n);
        Ok(n)
    }

    /// Records that the statement reads (or writes) nodes of this type.
    pub(crate) fn depends_on(&self, n: &NodeType) {
        let mut tags = self.tags.borrow_mut();
        tags.extend(n.labels.iter().map(|l| deps::label_tag(l)));
        if self.writing {
            tags.insert(deps::keyed_tag(n.main_label()));
        }
    }

    /// The anchor and its degree when `v` is a root key lookup's node and the degree store
    /// knows it as a hub for this relationship.
    fn hub(&self, n: &NodeType, r: &Relationship, v: &str) -> Option<(Anchor, u64)> {
        // The degree store counts one direction: a read both ways is not rewritten.
        if r.undirected {
            return None;
        }
        // Rewrites count and seek without looking at the far end: never over hidden nodes.
        if self
            .o
            .node(&r.target)
            .is_some_and(|t| !t.read_rules.is_empty())
        {
            return None;
        }
        let anchor = self.anchor.as_ref().filter(|a| a.var == v)?;
        if anchor.label != n.main_label() {
            return None;
        }
        let degree = self.stats.degree(
            &anchor.label,
            &anchor.key_prop,
            &anchor.key,
            &r.rel_type,
            r.direction,
        )?;
        (degree >= self.rewrite.min_degree).then(|| (anchor.clone(), degree))
    }

    /// `CALL (v) { RETURN COLLECT { … } AS fast }`: the first `wanted` neighbours met walking the
    /// target's `prop` index in `dir` order, looking at no more than `window` index entries.
    #[allow(clippy::too_many_arguments)]
    fn bounded_walk(
        &mut self,
        v: &str,
        r: &Relationship,
        target: &NodeType,
        t: &str,
        prop: &str,
        dir: &str,
        window: u64,
        wanted: u64,
    ) -> Result<(String, String), CompileError> {
        let fast = self.var("fast");
        let adjacent = self.pattern(v, r, "", t, false)?;
        let p = quote(prop);
        let m = self.param(Value::from(window));
        let sk = self.param(Value::from(wanted));
        let walk = format!(
            "CALL ({v}) {{ RETURN COLLECT {{ MATCH ({t}{labels}) WHERE {t}.{p} IS NOT NULL WITH {t} ORDER BY {t}.{p} {dir}, elementId({t}) LIMIT {m} \
             WITH {t} WHERE EXISTS {{ {adjacent} }} WITH {t} LIMIT {sk} RETURN {t} }} AS {fast} }}",
            labels = labels_of(target)
        );
        Ok((fast, walk))
    }

    /// Records a rule's decision; `Some(rule)` when it is applied.
    fn decide(
        &mut self,
        rule: Rule,
        anchor: &Anchor,
        r: &Relationship,
        f: &FieldSel,
        degree: u64,
        cost_rewritten: f64,
    ) -> Option<Rule> {
        let cost_plain = rewrite::expand_cost(degree);
        let applied =
            self.rewrite.apply && cost_rewritten <= cost_plain * self.rewrite.max_cost_ratio;
        self.decisions.push(rewrite::Decision {
            rule,
            field: format!("{}.{}", anchor.field, f.key),
            anchor: anchor.describe(),
            rel_type: r.rel_type.clone(),
            degree,
            cost_plain,
            cost_rewritten,
            applied,
        });
        applied.then_some(rule)
    }

    /// Records a dependency on every node type and relationship type of the ontology: what a
    /// `@cypher` statement reads cannot be told from its text.
    pub(crate) fn depends_on_everything(&self) {
        for n in self.o.nodes.values() {
            self.depends_on(n);
            for r in n.relationships() {
                self.tags.borrow_mut().insert(deps::rel_tag(&r.rel_type));
            }
        }
    }

    /// `:Label` for a node type, recorded as a dependency.
    pub(crate) fn labels(&self, n: &NodeType) -> String {
        self.depends_on(n);
        labels_of(n)
    }

    /// The quoted relationship type, recorded as a dependency.
    pub(crate) fn rel_type(&self, r: &Relationship) -> String {
        self.tags.borrow_mut().insert(deps::rel_tag(&r.rel_type));
        quote(&r.rel_type)
    }

    fn root_query(&mut self, f: &FieldSel, column: &str) -> Result<(String, Shape), CompileError> {
        if let Some(c) = self.o.query_fields.iter().find(|c| c.name == f.name) {
            return self.root_cypher(c, f, column);
        }
        if let Some((n, s)) = self.o.search_field(&f.name) {
            return self.search_root(n, s, f, column);
        }
        if let Some(n) = self.o.node_by_plural(&f.name) {
            let v = self.var("this");
            // A key lookup depends on one node, not on every node of the label; its first hops
            // may be rewritten when the node is a hub.
            let mut anchor = None;
            match deps::key_lookup(n, f.arg("where")) {
                Some((prop, value)) => {
                    let mut tags = self.tags.borrow_mut();
                    tags.insert(deps::node_tag(n.main_label(), prop, value));
                    tags.insert(deps::keyed_tag(n.main_label()));
                    anchor = Some(Anchor {
                        var: v.clone(),
                        label: n.main_label().to_owned(),
                        key_prop: prop.to_owned(),
                        key: value.clone(),
                        field: f.key.clone(),
                    });
                }
                None => self.depends_on(n),
            }
            let mut q = format!("MATCH ({v}{})", labels_of(n));
            let where_ = self.where_arg(Owner::Node(n), &v, f.arg("where"))?;
            if let Some(w) = with_index_order(n, &v, f.arg("sort"), false, where_) {
                let _ = write!(q, "\nWHERE {w}");
            }
            let order = self.order_by(Owner::Node(n), &v, f.arg("sort"))?;
            let sorted = self.sort_values();
            let offset = self.non_negative(f, "offset")?.unwrap_or(0);
            let limit = self.limit(f, "limit", true, n)?;
            // A defaulted limit fetches one more row, so the shaper can say the list was cut.
            let fetch = match self.root_default(f, "limit", n)? {
                Some(default) => Some(default + 1),
                None => limit,
            };
            let _ = write!(
                q,
                "\n{sorted}WITH {v}{order}{}",
                self.skip_limit(offset, fetch)
            );
            self.anchor = anchor;
            let projected = self.hoisting(|this| this.project_node(n, &v, &f.selection));
            self.anchor = None;
            let ((proj, shape), pre) = projected?;
            let _ = write!(q, "\n{pre}RETURN collect({proj}) AS {column}");
            return Ok((q, shape));
        }
        if let Some(n) = f
            .name
            .strip_suffix("Connection")
            .and_then(|p| self.o.node_by_plural(p))
        {
            return self.root_connection(n, f, column);
        }
        if let Some(u) = self.o.unions.values().find(|u| u.plural == f.name) {
            return self.union_root(u, f, column);
        }
        if f.name == "node" {
            return self.node_by_global_id(f, column);
        }
        if let Some(i) = self.o.interfaces.values().find(|i| i.plural == f.name) {
            return self.interface_root(i, f, column, false);
        }
        if let Some(i) = f
            .name
            .strip_suffix("Connection")
            .and_then(|p| self.o.interfaces.values().find(|i| i.plural == p))
        {
            return self.interface_root(i, f, column, true);
        }
        Err(CompileError::UnknownRootField(f.name.clone()))
    }

    fn root_connection(
        &mut self,
        n: &'a NodeType,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let (offset, first, reports_next) = self.root_page(f, n)?;
        let v = self.var("this");
        let where_ = self.where_arg(Owner::Node(n), &v, f.arg("where"))?;
        let where_ = with_index_order(n, &v, f.arg("sort"), true, where_);
        let order = self.order_by(Owner::Node(n), &v, f.arg("sort"))?;
        let sorted = self.sort_values();
        let ((edge_parts, node_shapes), pre) = self
            .hoisting(|this| this.root_edge_rows(f, |this, sel| this.project_node(n, &v, sel)))?;
        let row = map_literal(&edge_parts);
        let fetch = first.map(|f| f + 1);
        let rows = self.var("rows");
        let mut q = format!("CALL {{\nMATCH ({v}{})", self.labels(n));
        if let Some(w) = &where_ {
            let _ = write!(q, "\nWHERE {w}");
        }
        let _ = write!(
            q,
            "\n{sorted}WITH {v}{order}{}\n{pre}RETURN collect({row}) AS {rows}\n}}",
            self.skip_limit(offset, fetch)
        );
        let total = self.var("total");
        let mut agg = None;
        let count = if needs_total(f) {
            let v2 = self.var("this");
            let w2 = self.where_arg(Owner::Node(n), &v2, f.arg("where"))?;
            let where_ = w2.map(|w| format!("\nWHERE {w}")).unwrap_or_default();
            let props: Vec<&Property> = n.properties().collect();
            agg = self.aggregate_parts(f, |this, s| {
                (s.name == "node")
                    .then(|| this.aggregate_fields(&props, &v2, s))
                    .transpose()
            })?;
            Some(format!(
                "MATCH ({v2}{}){where_}\nRETURN count({v2})",
                labels_of(n)
            ))
        } else {
            None
        };
        let shape = ConnectionShape {
            field: f.clone(),
            offset,
            first,
            reports_next,
            node_shapes,
        };
        Ok(finish_root_connection(
            q, &rows, &total, count, agg, column, shape,
        ))
    }

    /// A root connection's page of `n`: the offset after `after`, the page size (`first`, else
    /// the default) and whether a page cut at that size says `hasNextPage`.
    pub(crate) fn root_page(
        &mut self,
        f: &FieldSel,
        n: &NodeType,
    ) -> Result<(u64, Option<u64>, bool), CompileError> {
        let offset = after_offset(f)?;
        let first = self.limit(f, "first", true, n)?;
        let reports_next =
            self.non_negative(f, "first")?.is_some() || self.root_default(f, "first", n)?.is_some();
        Ok((offset, first, reports_next))
    }

    /// The entries of a root connection's row (each `edges` selection's `node`, by `project`)
    /// and the shapes of their values.
    pub(crate) fn root_edge_rows(
        &mut self,
        f: &FieldSel,
        mut project: impl FnMut(&mut Self, &[FieldSel]) -> Result<(String, Shape), CompileError>,
    ) -> Result<ProjectedParts, CompileError> {
        let mut edge_parts: Vec<(String, String)> = Vec::new();
        let mut node_shapes = Vec::new();
        for edges in f.selection.iter().filter(|s| s.name == "edges") {
            for sub in edges.selection.iter().filter(|s| s.name == "node") {
                if !edge_parts.iter().any(|(k, _)| *k == sub.key) {
                    let (proj, shape) = project(self, &sub.selection)?;
                    edge_parts.push((sub.key.clone(), proj));
                    node_shapes.push((sub.key.clone(), shape));
                }
            }
        }
        Ok((edge_parts, node_shapes))
    }

    /// `{key: v.prop, rel: COLLECT { … }, …}` for a node's selection set.
    pub(crate) fn project_node(
        &mut self,
        n: &'a NodeType,
        v: &str,
        sel: &[FieldSel],
    ) -> Result<(String, Shape), CompileError> {
        let (parts, shapes) = self.project_parts(n, v, sel)?;
        let shape = if shapes.is_empty() {
            Shape::Plain
        } else {
            Shape::Object(shapes)
        };
        Ok((map_literal(&parts), shape))
    }

    /// The entries of [`Compiler::project_node`]'s map, and the shapes they need (by key): the
    /// fields of the selection that apply to `n` (see [`crate::ir::applicable`]).
    pub(crate) fn project_parts(
        &mut self,
        n: &'a NodeType,
        v: &str,
        sel: &[FieldSel],
    ) -> Result<ProjectedParts, CompileError> {
        let sel = crate::ir::applicable(sel, |on| self.o.meets(n, on));
        let mut parts: Vec<(String, String)> = Vec::new();
        let mut shapes = Vec::new();
        for f in sel.iter() {
            if f.name == "__typename" {
                parts.push((f.key.clone(), format!("'{}'", n.name)));
                continue;
            }
            if let Some(p) = n.property(&f.name) {
                let read = self.project(v, p, f);
                parts.push((f.key.clone(), read));
                continue;
            }
            if let Some(p) = n.relay_id().filter(|_| f.name == "id") {
                // The global id, made from the value by the shaper.
                parts.push((f.key.clone(), self.read(v, p)));
                shapes.push((
                    f.key.clone(),
                    Shape::GlobalId(format!("{}:{}:", n.name, p.name)),
                ));
                continue;
            }
            if let Some(r) = n.relationship(&f.name) {
                let (expr, shape) = if self.o.is_abstract(&r.target) {
                    self.abstract_field(r, v, f)?
                } else if r.list {
                    self.rel_list(n, r, v, f)?
                } else {
                    self.rel_single(r, v, f)?
                };
                parts.push((f.key.clone(), expr));
                if !matches!(shape, Shape::Plain) {
                    shapes.push((f.key.clone(), shape));
                }
                continue;
            }
            if let Some(r) = f
                .name
                .strip_suffix("Connection")
                .and_then(|rn| n.relationship(rn))
            {
                let (expr, shape) = if self.o.is_abstract(&r.target) {
                    self.abstract_connection(n, r, v, f)?
                } else {
                    self.rel_connection(n, r, v, f)?
                };
                parts.push((f.key.clone(), expr));
                shapes.push((f.key.clone(), shape));
                continue;
            }
            if let Some(c) = n.cypher_field(&f.name) {
                let (expr, shape) = self.cypher_field(c, v, f)?;
                parts.push((f.key.clone(), expr));
                if !matches!(shape, Shape::Plain) {
                    shapes.push((f.key.clone(), shape));
                }
                continue;
            }
            return Err(CompileError::UnknownField {
                owner: n.name.clone(),
                field: f.name.clone(),
            });
        }
        Ok((parts, shapes))
    }

    /// A relationship's `properties` (`typed`: with its type, for a relationship implementing
    /// one an interface declares, whose `properties` is a union of the implementations' types).
    pub(crate) fn project_edge(
        &mut self,
        props: &[Property],
        owner: &str,
        e: &str,
        sel: &[FieldSel],
        typed: bool,
    ) -> Result<String, CompileError> {
        let mut parts = Vec::new();
        if typed {
            parts.push((crate::shape::TYPE_KEY.to_owned(), format!("'{owner}'")));
        }
        for f in sel {
            if f.name == "__typename" {
                parts.push((f.key.clone(), format!("'{owner}'")));
                continue;
            }
            // A `@cypher` field of the relationship properties: its statement, `this` the
            // relationship, in a subquery hoisted like a node's.
            let computed = self
                .o
                .relationship_properties(owner)
                .and_then(|rp| rp.cypher_fields.iter().find(|c| c.name == f.name));
            if let Some(c) = computed {
                let (value, _) = self.cypher_field(c, e, f)?;
                parts.push((f.key.clone(), value));
                continue;
            }
            let p = props.iter().find(|p| p.name == f.name).ok_or_else(|| {
                CompileError::UnknownField {
                    owner: owner.to_string(),
                    field: f.name.clone(),
                }
            })?;
            let read = self.project(e, p, f);
            parts.push((f.key.clone(), read));
        }
        Ok(map_literal(&parts))
    }

    /// `(from)-[e:TYPE]->(to:Label)` for reading a relationship field (both ways with
    /// `queryDirection: UNDIRECTED`).
    pub(crate) fn pattern(
        &self,
        from: &str,
        r: &Relationship,
        e: &str,
        to: &str,
        to_labels: bool,
    ) -> Result<String, CompileError> {
        let target = self.node(&r.target)?;
        let labels = if to_labels {
            labels_of(target)
        } else {
            String::new()
        };
        let t = self.rel_type(r);
        Ok(match (r.undirected, r.direction) {
            (true, _) => format!("({from})-[{e}:{t}]-({to}{labels})"),
            (false, Direction::Out) => format!("({from})-[{e}:{t}]->({to}{labels})"),
            (false, Direction::In) => format!("({from})<-[{e}:{t}]-({to}{labels})"),
        })
    }

    fn rel_list(
        &mut self,
        n: &NodeType,
        r: &Relationship,
        v: &str,
        f: &FieldSel,
    ) -> Result<(String, Shape), CompileError> {
        let target = self.node(&r.target)?;
        let t = self.var("this");
        let where_ = self.where_arg(Owner::Node(target), &t, f.arg("where"))?;
        let mut order = self.order_by(Owner::Node(target), &t, f.arg("sort"))?;
        let sorted = self.sort_values();
        let offset = self.non_negative(f, "offset")?.unwrap_or(0);
        let limit = self.limit(f, "limit", false, target)?;
        let mut window = 0;
        let rule = match self.hub(n, r, v) {
            Some((anchor, degree)) => {
                let seek = seek_values(target, f.arg("where"));
                let walk = ordered_sort(target, f.arg("sort"), false)
                    .filter(|_| where_.is_none() && limit.is_some());
                let choice = match (seek, &walk) {
                    (Some(values), _) => Some((Rule::IndexSeekNeighbours, 2.0 * values as f64)),
                    (None, Some(_)) => {
                        let count = self
                            .stats
                            .label_count(target.main_label())
                            .unwrap_or(u64::MAX);
                        let wanted = offset + limit.unwrap_or(0);
                        window = rewrite::walk_window(wanted, degree, count);
                        Some((
                            Rule::IndexOrderedTopK,
                            rewrite::ordered_walk_cost(wanted, degree, count),
                        ))
                    }
                    _ => None,
                };
                let rule =
                    choice.and_then(|(rule, cost)| self.decide(rule, &anchor, r, f, degree, cost));
                // The walk breaks ties by element id; so does the plain form it is compared
                // with (explain, tests: `apply: false`). A plain plan kept in service is left as
                // it was.
                if walk.is_some() && (rule == Some(Rule::IndexOrderedTopK) || !self.rewrite.apply) {
                    let _ = write!(order, ", elementId({t})");
                }
                rule
            }
            None => None,
        };
        let mut q = match rule {
            Some(Rule::IndexSeekNeighbours) => {
                // Seek the far side by its key, then check adjacency (from the small side).
                let adjacent = self.pattern(v, r, "", &t, false)?;
                let w = where_.unwrap_or_else(|| "true".to_owned());
                format!(
                    "MATCH ({t}{}) WHERE {w} AND EXISTS {{ {adjacent} }}",
                    labels_of(target)
                )
            }
            Some(_) => {
                // Walk the sort key's index in order over a bounded window and stop after
                // offset + limit neighbours; when the window holds fewer (the hub's neighbours
                // sit elsewhere in the index), expand the hub after all.
                let (p, dir) = ordered_sort(target, f.arg("sort"), false)
                    .map(|(p, d)| (p.db_name.clone(), d))
                    .unwrap_or_default();
                let wanted = offset + limit.unwrap_or(0);
                let (fast, walk) = self.bounded_walk(v, r, target, &t, &p, &dir, window, wanted)?;
                let plain = self.pattern(v, r, "", &t, true)?;
                let sk = self.param(Value::from(wanted));
                format!(
                    "{walk} CALL ({v}, {fast}) {{ WITH {fast} WHERE size({fast}) >= {sk} UNWIND {fast} AS {t} RETURN {t} \
                     UNION ALL WITH {v}, {fast} WHERE size({fast}) < {sk} MATCH {plain} RETURN {t} }}"
                )
            }
            None => {
                let mut q = format!("MATCH {}", self.pattern(v, r, "", &t, true)?);
                if let Some(w) = &where_ {
                    let _ = write!(q, " WHERE {w}");
                }
                q
            }
        };
        // Parallel relationships must not repeat a node (as @neo4j/graphql does).
        let page = self.skip_limit(offset, limit);
        if sorted.is_empty() {
            let _ = write!(q, " WITH DISTINCT {t}{order}{page}");
        } else {
            let _ = write!(q, " WITH DISTINCT {t} {sorted}WITH {t}{order}{page}");
        }
        let ((proj, shape), pre) =
            self.hoisting(|this| this.project_node(target, &t, &f.selection))?;
        // Shapes apply element-wise to lists, so the list keeps its element's shape.
        Ok((self.hoist(v, &q, &pre, &format!("collect({proj})")), shape))
    }

    fn rel_single(
        &mut self,
        r: &Relationship,
        v: &str,
        f: &FieldSel,
    ) -> Result<(String, Shape), CompileError> {
        let target = self.node(&r.target)?;
        let t = self.var("this");
        let pattern = self.pattern(v, r, "", &t, true)?;
        let ((proj, shape), pre) =
            self.hoisting(|this| this.project_node(target, &t, &f.selection))?;
        let body = format!("MATCH {pattern} WITH {t} LIMIT 1");
        Ok((
            self.hoist(v, &body, &pre, &format!("head(collect({proj}))")),
            shape,
        ))
    }

    fn rel_connection(
        &mut self,
        n: &NodeType,
        r: &Relationship,
        v: &str,
        f: &FieldSel,
    ) -> Result<(String, Shape), CompileError> {
        let target = self.node(&r.target)?;
        let props = self.edge_props(r);
        let edge_owner = r.properties.clone().unwrap_or_default();
        let offset = after_offset(f)?;
        let first = self.limit(f, "first", false, target)?;
        let reports_next = self.non_negative(f, "first")?.is_some();
        let e = self.var("edge");
        let t = self.var("this");
        let pattern = self.pattern(v, r, &e, &t, true)?;
        let where_ = match f.arg("where") {
            Some(w) => self.connection_where(target, &edge_owner, props, &e, &t, w)?,
            None => None,
        };
        // Hidden nodes are neither edges nor counted.
        let where_ = and_all(
            where_
                .into_iter()
                .chain(self.visible(target, &t)?)
                .collect(),
        );
        let mut order = Vec::new();
        if let Some(sorts) = f.arg("sort") {
            for s in as_list(sorts) {
                let obj = s
                    .as_object()
                    .ok_or_else(|| invalid("sort", "each sort entry must be an object"))?;
                for (k, val) in obj {
                    match k.as_str() {
                        "node" => order.push(self.sort_keys(Owner::Node(target), &t, val)?),
                        "edge" => {
                            let val = unwrap_edge(&edge_owner, props, val);
                            order.push(self.sort_keys(Owner::Edge(&edge_owner, props), &e, val)?)
                        }
                        other => {
                            return Err(invalid(
                                "sort",
                                format!("unknown key `{other}` (expected node or edge)"),
                            ))
                        }
                    }
                }
            }
        }
        let sorted = self.sort_values();
        let mut order: Vec<String> = order.into_iter().flatten().collect();
        // Supernode rules for the rows (an ordered page) and the count.
        let mut page_rule = None;
        let mut page_window = 0;
        let mut count_rule = None;
        if let Some((anchor, degree)) = self.hub(n, r, v) {
            let walk = ordered_sort(target, f.arg("sort"), true)
                .filter(|_| where_.is_none() && first.is_some());
            if walk.is_some() {
                let count = self
                    .stats
                    .label_count(target.main_label())
                    .unwrap_or(u64::MAX);
                let wanted = offset + first.unwrap_or(0) + 1;
                page_window = rewrite::walk_window(wanted, degree, count);
                let cost = rewrite::ordered_walk_cost(wanted, degree, count);
                page_rule = self.decide(Rule::IndexOrderedPage, &anchor, r, f, degree, cost);
                if page_rule.is_some() || !self.rewrite.apply {
                    order.push(format!("elementId({t})"));
                    order.push(format!("elementId({e})"));
                }
            }
            if where_.is_none() && needs_total(f) && rewrite::far_end_guaranteed(self.o, n, r) {
                count_rule = self.decide(Rule::CountFromDegree, &anchor, r, f, degree, 1.0);
            }
        }
        let order = if order.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", order.join(", "))
        };
        let ((row_parts, node_shapes), pre) = self.hoisting(|this| {
            this.edge_rows(n, r, f, &e, |this, sel| this.project_node(target, &t, sel))
        })?;
        let where_clause = where_
            .as_ref()
            .map(|w| format!(" WHERE {w}"))
            .unwrap_or_default();
        let fetch = first.map(|f| f + 1);
        let mut rows = match page_rule {
            Some(_) => {
                // As for lists: a bounded ordered walk for the first offset + first + 1 far
                // nodes (all their parallel relationships follow), else the plain expansion.
                let (p, dir) = ordered_sort(target, f.arg("sort"), true)
                    .map(|(p, d)| (p.db_name.clone(), d))
                    .unwrap_or_default();
                let wanted = offset + first.unwrap_or(0) + 1;
                let (fast, walk) =
                    self.bounded_walk(v, r, target, &t, &p, &dir, page_window, wanted)?;
                let edges = self.pattern(v, r, &e, &t, false)?;
                let sk = self.param(Value::from(wanted));
                format!(
                    "{walk} CALL ({v}, {fast}) {{ WITH {v}, {fast} WHERE size({fast}) >= {sk} UNWIND {fast} AS {t} MATCH {edges} RETURN {e}, {t} \
                     UNION ALL WITH {v}, {fast} WHERE size({fast}) < {sk} MATCH {pattern} RETURN {e}, {t} }}"
                )
            }
            None => format!("MATCH {pattern}{where_clause}"),
        };
        if !order.is_empty() || offset > 0 || fetch.is_some() {
            let _ = write!(
                rows,
                " {sorted}WITH {e}, {t}{order}{}",
                self.skip_limit(offset, fetch)
            );
        }
        // Only counts selected: no rows to fetch (a hub's would be all of its relationships).
        let rows = if f
            .selection
            .iter()
            .any(|s| s.name == "edges" || s.name == "pageInfo")
        {
            self.hoist(
                v,
                &rows,
                &pre,
                &format!("collect({})", map_literal(&row_parts)),
            )
        } else {
            "[]".to_owned()
        };
        let aggregated = f.selection.iter().any(|s| s.name == "aggregate");
        let total = if count_rule.is_some() {
            // The degree store: no expansion, no far-end label check.
            let bare = self.pattern(v, r, "", "", false)?;
            Some(format!("COUNT {{ {bare} }}"))
        } else if needs_total(f) && aggregated {
            // Counted with the aggregates, in their pass.
            None
        } else if needs_total(f) && where_.is_some() {
            let source = format!("MATCH {pattern}{where_clause}");
            Some(self.hoist(v, &source, "", "count(*)"))
        } else if needs_total(f) {
            Some(format!("COUNT {{ MATCH {pattern}{where_clause} }}"))
        } else {
            Some("null".to_string())
        };
        let source = format!("MATCH {pattern}{where_clause}");
        let related = Related::new(self.o, r, source, &e, &t);
        let expr = self.connection_value(v, f, &rows, total.as_deref(), &related)?;
        let shape = Shape::Connection(Box::new(ConnectionShape {
            field: f.clone(),
            offset,
            first,
            reports_next,
            node_shapes,
        }));
        Ok((expr, shape))
    }

    /// The entries of a relationship connection's row (each `edges` selection's `node`, by
    /// `project`, and `properties` of the relationship `e`) and the shapes of the `node` values.
    pub(crate) fn edge_rows(
        &mut self,
        n: &NodeType,
        r: &Relationship,
        f: &FieldSel,
        e: &str,
        mut project: impl FnMut(&mut Self, &[FieldSel]) -> Result<(String, Shape), CompileError>,
    ) -> Result<ProjectedParts, CompileError> {
        let props = self.edge_props(r);
        let edge_owner = r.properties.clone().unwrap_or_default();
        let mut row_parts: Vec<(String, String)> = Vec::new();
        let mut node_shapes = Vec::new();
        for edges in f.selection.iter().filter(|s| s.name == "edges") {
            for sub in &edges.selection {
                if row_parts.iter().any(|(k, _)| *k == sub.key) {
                    continue;
                }
                match sub.name.as_str() {
                    "node" => {
                        let (proj, shape) = project(self, &sub.selection)?;
                        row_parts.push((sub.key.clone(), proj));
                        node_shapes.push((sub.key.clone(), shape));
                    }
                    "properties" => {
                        let typed = self.o.declaring_interface(n, r).is_some();
                        let proj =
                            self.project_edge(props, &edge_owner, e, &sub.selection, typed)?;
                        row_parts.push((sub.key.clone(), proj));
                    }
                    _ => {}
                }
            }
        }
        Ok((row_parts, node_shapes))
    }

    /// The predicate of a connection `where`: `{node: …, edge: …, AND, OR, NOT}`.
    pub(crate) fn connection_where(
        &mut self,
        target: &'a NodeType,
        edge_owner: &str,
        props: &'a [Property],
        e: &str,
        t: &str,
        w: &Value,
    ) -> Result<Option<String>, CompileError> {
        let obj = w
            .as_object()
            .ok_or_else(|| invalid("where", "must be an object"))?;
        let mut parts = Vec::new();
        for (k, val) in obj {
            if val.is_null() {
                continue;
            }
            let part = match k.as_str() {
                "node" => self.where_(Owner::Node(target), t, val)?,
                "edge" => {
                    // The owner name only labels errors; props are what matter.
                    let owner = Owner::Edge(if edge_owner.is_empty() { "edge" } else { edge_owner }, props);
                    self.where_edge(owner, e, unwrap_edge(edge_owner, props, val))?
                }
                "AND" | "OR" => {
                    let mut subs = Vec::new();
                    for item in as_list(val) {
                        if let Some(p) = self.connection_where(target, edge_owner, props, e, t, item)? {
                            subs.push(p);
                        }
                    }
                    combine(k, subs)
                }
                "NOT" => self.connection_where(target, edge_owner, props, e, t, val)?.map(|p| format!("NOT ({p})")),
                other => return Err(invalid("where", format!("unknown key `{other}` in a connection filter (expected node, edge, AND, OR, NOT)"))),
            };
            parts.extend(part);
        }
        Ok(and_all(parts))
    }

    fn where_edge(
        &mut self,
        owner: Owner<'_>,
        e: &str,
        w: &Value,
    ) -> Result<Option<String>, CompileError> {
        // Edge owners have no relationships: reuse the node path with a borrowed owner.
        let Owner::Edge(name, props) = owner else {
            return Ok(None);
        };
        let obj = w
            .as_object()
            .ok_or_else(|| invalid("where", "must be an object"))?;
        let mut parts = Vec::new();
        for (k, val) in obj {
            if val.is_null() && !matches!(k.as_str(), "AND" | "OR" | "NOT") {
                continue;
            }
            match k.as_str() {
                "AND" | "OR" => {
                    let mut subs = Vec::new();
                    for item in as_list(val) {
                        if let Some(p) = self.where_edge(Owner::Edge(name, props), e, item)? {
                            subs.push(p);
                        }
                    }
                    parts.extend(combine(k, subs));
                }
                "NOT" => {
                    if !val.is_null() {
                        if let Some(p) = self.where_edge(Owner::Edge(name, props), e, val)? {
                            parts.push(format!("NOT ({p})"));
                        }
                    }
                }
                field => {
                    if let Some((c, s)) = self.edge_cypher_scalar(name, field) {
                        let expr = self.cypher_scalar(c, e);
                        parts.extend(self.value_filter(&c.name, s, c.list, &expr, val)?);
                        continue;
                    }
                    let p = props.iter().find(|p| p.name == field).ok_or_else(|| {
                        CompileError::UnknownField {
                            owner: name.to_string(),
                            field: field.to_string(),
                        }
                    })?;
                    let read = self.read(e, p);
                    parts.extend(self.property_filter(p, &read, val)?);
                }
            }
        }
        Ok(and_all(parts))
    }

    /// The `@cypher` scalar field `field` (without arguments) of the relationship properties
    /// type `owner`, and its scalar.
    fn edge_cypher_scalar(
        &self,
        owner: &str,
        field: &str,
    ) -> Option<(&'a crate::model::CypherField, &'a Scalar)> {
        let rp = self.o.relationship_properties(owner)?;
        let c = rp
            .cypher_fields
            .iter()
            .find(|c| c.name == field && c.args.is_empty())?;
        match &c.result {
            CypherResult::Scalar(s) => Some((c, s)),
            _ => None,
        }
    }

    pub(crate) fn node_predicate(
        &mut self,
        n: &'a NodeType,
        v: &str,
        w: &Value,
    ) -> Result<Option<String>, CompileError> {
        self.where_(Owner::Node(n), v, w)
    }

    pub(crate) fn connection_predicate(
        &mut self,
        r: &Relationship,
        e: &str,
        t: &str,
        w: Option<&Value>,
    ) -> Result<Option<String>, CompileError> {
        let Some(w) = w.filter(|w| !w.is_null()) else {
            return Ok(None);
        };
        let target = self.node(&r.target)?;
        let props = self.edge_props(r);
        let owner = r.properties.clone().unwrap_or_default();
        self.connection_where(target, &owner, props, e, t, w)
    }

    pub(crate) fn where_arg(
        &mut self,
        owner: Owner<'a>,
        v: &str,
        w: Option<&Value>,
    ) -> Result<Option<String>, CompileError> {
        match (w, owner) {
            (Some(w), _) => self.where_(owner, v, w),
            (None, Owner::Node(n)) => self.visible(n, v),
            (None, Owner::Edge(..)) => Ok(None),
        }
    }

    /// `v.<relayId field> = $value` for a global id of a node of `n` (refused, as by the
    /// library, for one of another type or not a global id); `None` for a null id.
    fn global_id_match(
        &mut self,
        n: &NodeType,
        v: &str,
        id: &Value,
    ) -> Result<Option<String>, CompileError> {
        let Some(p) = n.relay_id() else {
            return Ok(None);
        };
        let id = match id {
            Value::Null => return Ok(None),
            Value::String(s) => s,
            _ => return Err(invalid("id", "a global id is a string")),
        };
        Ok(Some(match crate::shape::from_global_id(id) {
            Some((t, field, value)) if t == n.name && field == p.name => {
                let value = match p.scalar {
                    Scalar::Int | Scalar::BigInt => value
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::String(value)),
                    _ => Value::String(value),
                };
                let read = self.read(v, p);
                format!("{read} = {}", self.param(value))
            }
            _ => {
                return Err(invalid(
                    "id",
                    format!(
                        "Cannot query Relay Id on \"{}\": not a global id of a {}",
                        n.name, n.name
                    ),
                ))
            }
        }))
    }

    /// `node(id:)`: the node a global id names (of any type with `@relayId`), or null.
    fn node_by_global_id(
        &mut self,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let id = f.arg("id").cloned().unwrap_or(Value::Null);
        let named = id
            .as_str()
            .and_then(crate::shape::from_global_id)
            .and_then(|(t, _, _)| self.o.nodes.get(&t))
            .filter(|n| n.relay_id().is_some());
        let Some(n) = named else {
            return Ok((format!("RETURN null AS {column}"), Shape::Plain));
        };
        let t = self.var("this");
        let Some(pred) = self.global_id_match(n, &t, &id)? else {
            return Ok((format!("RETURN null AS {column}"), Shape::Plain));
        };
        let pred = and_all(std::iter::once(pred).chain(self.visible(n, &t)?).collect());
        let where_ = pred.map(|p| format!(" WHERE {p}")).unwrap_or_default();
        self.depends_on(n);
        let ((proj, shape), pre) =
            self.hoisting(|this| this.project_members(&[n], &t, &f.selection))?;
        Ok((
            format!(
                "OPTIONAL MATCH ({t}{}){where_}\nWITH {t} LIMIT 1\n{pre}RETURN {proj} AS {column}",
                labels_of(n)
            ),
            shape,
        ))
    }

    /// The read rules of node type `n` over its node `v`, as a predicate (`None`: the type is
    /// public). The conditions on the token are decided here: a rule without a `node` condition
    /// that holds makes the predicate one `true` parameter, none holding one `false` parameter
    /// (hidden nodes then match nothing, and an index seek stays a seek); the `node` conditions
    /// of the rules that hold, their `$jwt` values filled in, are OR-ed. Rules of other types
    /// are not applied inside a rule's condition.
    pub(crate) fn visible(
        &mut self,
        n: &'a NodeType,
        v: &str,
    ) -> Result<Option<String>, CompileError> {
        if n.read_rules.is_empty() || self.in_rule {
            return Ok(None);
        }
        let token = crate::authorization::Token {
            claims: self.jwt,
            roles: self.roles,
            authenticated: self.authenticated,
            jwt: self.o.jwt.as_ref(),
        };
        // A rule on other claims than the roles: the answer is this caller's own.
        if n.read_rules.iter().any(|r| r.reads_claims()) {
            self.per_caller = true;
        }
        let mut on_node = Vec::new();
        for rule in n.read_rules.iter().filter(|r| r.holds(&token)) {
            match rule.node_condition(&token) {
                // A claim the condition names is missing: the rule holds for no node.
                None => {}
                Some(None) => return Ok(Some(self.param(Value::Bool(true)))),
                Some(Some(w)) => {
                    self.in_rule = true;
                    let pred = self.where_(Owner::Node(n), v, &w);
                    self.in_rule = false;
                    match pred? {
                        Some(p) => on_node.push(p),
                        None => return Ok(Some(self.param(Value::Bool(true)))),
                    }
                }
            }
        }
        Ok(Some(match on_node.len() {
            0 => self.param(Value::Bool(false)),
            1 => format!("({})", on_node[0]),
            _ => format!("({})", on_node.join(" OR ")),
        }))
    }

    /// A connection filter's predicate, restricted to related nodes the caller may read: edges
    /// to hidden nodes do not count (an edge-only filter would otherwise see them; a node filter
    /// has the visibility already). An empty filter stays empty.
    pub(crate) fn and_visible(
        &mut self,
        target: &'a NodeType,
        t: &str,
        pred: Option<String>,
    ) -> Result<Option<String>, CompileError> {
        let Some(pred) = pred else {
            return Ok(None);
        };
        Ok(Some(match self.visible(target, t)? {
            Some(visible) => format!("{pred} AND {visible}"),
            None => pred,
        }))
    }

    /// The predicate of a `where` input over variable `v`.
    pub(crate) fn where_(
        &mut self,
        owner: Owner<'a>,
        v: &str,
        w: &Value,
    ) -> Result<Option<String>, CompileError> {
        let Owner::Node(n) = owner else {
            return self.where_edge(owner, v, w);
        };
        let obj = w
            .as_object()
            .ok_or_else(|| invalid("where", "must be an object"))?;
        let mut parts = Vec::new();
        for (k, val) in obj {
            match k.as_str() {
                "AND" | "OR" => {
                    let mut subs = Vec::new();
                    for item in as_list(val) {
                        if let Some(p) = self.where_(owner, v, item)? {
                            subs.push(p);
                        }
                    }
                    parts.extend(combine(k, subs));
                }
                "NOT" => {
                    if !val.is_null() {
                        if let Some(p) = self.where_(owner, v, val)? {
                            parts.push(format!("NOT ({p})"));
                        }
                    }
                }
                // An interface's `where`, read for one implementation: whether it is one of
                // the types listed.
                // (A parameter, not a literal: the planner folds a literal `false` badly.)
                "typename" if !val.is_null() => {
                    let listed = as_list(val).iter().any(|t| t.as_str() == Some(&n.name));
                    parts.push(self.param(Value::Bool(listed)));
                }
                "typename" => {}
                "id" if n.relay_id().is_some() && n.property("id").is_none() => {
                    if let Some(p) = self.global_id_match(n, v, val)? {
                        parts.push(p);
                    }
                }
                field => {
                    if let Some(p) = n.property(field) {
                        if !val.is_null() {
                            let text = val.as_object().is_some_and(|ops| {
                                ops.keys().any(|op| op == "contains" || op == "endsWith")
                            });
                            let usage = if text {
                                Usage::TextFilter
                            } else {
                                Usage::Filter
                            };
                            self.uses(n, p, usage);
                            let read = self.read(v, p);
                            parts.extend(self.property_filter(p, &read, val)?);
                        }
                    } else if let Some(pred) = self.cypher_filter(n, v, field, val)? {
                        parts.extend(pred);
                    } else if let Some(r) = n.relationship(field) {
                        if self.o.is_abstract(&r.target) {
                            parts.extend(self.abstract_filter(r, v, val, false)?);
                        } else {
                            parts.extend(self.relationship_filter(r, v, val)?);
                        }
                    } else if let Some(r) = field
                        .strip_suffix("Connection")
                        .and_then(|rn| n.relationship(rn))
                    {
                        if self.o.is_abstract(&r.target) {
                            parts.extend(self.abstract_filter(r, v, val, true)?);
                        } else {
                            parts.extend(self.connection_filter(r, v, val)?);
                        }
                    } else {
                        return Err(CompileError::UnknownField {
                            owner: format!("{}Where", owner.name()),
                            field: field.to_string(),
                        });
                    }
                }
            }
        }
        // Filters over a hidden type match nothing (relationship filters included).
        parts.extend(self.visible(n, v)?);
        Ok(and_all(parts))
    }

    /// `{eq: …, in: …, contains: …}` on one property expression.
    fn property_filter(
        &mut self,
        p: &Property,
        expr: &str,
        ops: &Value,
    ) -> Result<Vec<String>, CompileError> {
        self.value_filter(&p.name, &p.scalar, p.list, expr, ops)
    }

    /// `{eq: …, in: …, contains: …}` on an expression of type `s` (`list`: a list of them),
    /// the filtered field named `name` in errors.
    pub(crate) fn value_filter(
        &mut self,
        name: &str,
        s: &Scalar,
        list: bool,
        expr: &str,
        ops: &Value,
    ) -> Result<Vec<String>, CompileError> {
        let obj = ops
            .as_object()
            .ok_or_else(|| invalid(name, "a filter must be an object like { eq: … }"))?;
        let mut parts = Vec::new();
        for (op, val) in obj {
            if val.is_null() {
                if op == "eq" {
                    parts.push(format!("{expr} IS NULL"));
                }
                continue;
            }
            let part = match (op.as_str(), list) {
                ("eq", true) => {
                    let list = self.typed_list(s, val.clone());
                    format!("{expr} = {list}")
                }
                ("includes", true) => {
                    let x = self.typed(s, val.clone());
                    format!("{x} IN {expr}")
                }
                ("eq", false) => {
                    let x = self.typed(s, val.clone());
                    format!("{expr} = {x}")
                }
                ("in", false) => {
                    let list = self.typed_list(s, val.clone());
                    format!("{expr} IN {list}")
                }
                ("distance", false) if s.coordinates().is_some() => {
                    // `{ from: <point>, lt: <metres>, … }`: Neo4j's distance, as the library.
                    let d = val
                        .as_object()
                        .ok_or_else(|| invalid(name, "distance must be an object with `from`"))?;
                    let from = d
                        .get("from")
                        .filter(|x| !x.is_null())
                        .ok_or_else(|| invalid(name, "distance needs `from`"))?;
                    let from = self.typed(s, from.clone());
                    let mut cmp = Vec::new();
                    for (op, sym) in [
                        ("lt", "<"),
                        ("lte", "<="),
                        ("gt", ">"),
                        ("gte", ">="),
                        ("eq", "="),
                    ] {
                        if let Some(x) = d.get(op).filter(|x| !x.is_null()) {
                            let x = self.param(x.clone());
                            cmp.push(format!("point.distance({expr}, {from}) {sym} {x}"));
                        }
                    }
                    if cmp.is_empty() {
                        continue;
                    }
                    cmp.join(" AND ")
                }
                ("contains", false) => format!("{expr} CONTAINS {}", self.param(val.clone())),
                ("startsWith", false) => format!("{expr} STARTS WITH {}", self.param(val.clone())),
                ("endsWith", false) => format!("{expr} ENDS WITH {}", self.param(val.clone())),
                ("lt" | "lte" | "gt" | "gte", false) => {
                    let sym = match op.as_str() {
                        "lt" => "<",
                        "lte" => "<=",
                        "gt" => ">",
                        _ => ">=",
                    };
                    let x = self.typed(s, val.clone());
                    if *s == Scalar::Duration {
                        // Durations have no order of their own: compared, as the library
                        // compares them, as the instants they lead to from now.
                        format!("datetime() + {expr} {sym} datetime() + {x}")
                    } else {
                        format!("{expr} {sym} {x}")
                    }
                }
                (other, _) => {
                    return Err(invalid(name, format!("unknown filter operator `{other}`")))
                }
            };
            parts.push(part);
        }
        Ok(parts)
    }

    /// A parameter converted to the property's Neo4j type where JSON cannot carry it.
    pub(crate) fn typed(&mut self, s: &Scalar, v: Value) -> String {
        let p = self.param(spatial_input(s, v));
        s.cypher_value(&p)
    }

    pub(crate) fn typed_list(&mut self, s: &Scalar, v: Value) -> String {
        let v = match v {
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|i| spatial_input(s, i)).collect())
            }
            other => other,
        };
        let p = self.param(v);
        s.cypher_list(&p)
    }

    /// `rel: { some | all | none | single: TargetWhere }` (list) or `rel: TargetWhere` (single).
    fn relationship_filter(
        &mut self,
        r: &Relationship,
        v: &str,
        val: &Value,
    ) -> Result<Vec<String>, CompileError> {
        let target = self.node(&r.target)?;
        let t = self.var("this");
        let pattern = self.pattern(v, r, "", &t, true)?;
        if !r.list {
            if val.is_null() {
                // A hidden node does not count as a related one.
                let visible = self.visible(target, &t)?;
                return Ok(vec![format!(
                    "NOT {}",
                    exists(&pattern, visible.as_deref())
                )]);
            }
            let pred = self.where_(Owner::Node(target), &t, val)?;
            return Ok(vec![exists(&pattern, pred.as_deref())]);
        }
        let obj = val
            .as_object()
            .ok_or_else(|| invalid(&r.name, "must be an object like { some: … }"))?;
        let mut parts = Vec::new();
        for (q, inner) in obj {
            if inner.is_null() {
                continue;
            }
            let pred = self.where_(Owner::Node(target), &t, inner)?;
            parts.extend(quantified(q, &pattern, pred.as_deref(), &r.name)?);
        }
        Ok(parts)
    }

    /// `relConnection: { some | all | none | single: ConnectionWhere }` or a single
    /// relationship's `relConnection: ConnectionWhere`.
    fn connection_filter(
        &mut self,
        r: &Relationship,
        v: &str,
        val: &Value,
    ) -> Result<Vec<String>, CompileError> {
        let target = self.node(&r.target)?;
        let props = self.edge_props(r);
        let owner = r.properties.clone().unwrap_or_default();
        let e = self.var("edge");
        let t = self.var("this");
        let pattern = self.pattern(v, r, &e, &t, true)?;
        if !r.list {
            if val.is_null() {
                let visible = self.visible(target, &t)?;
                return Ok(vec![format!(
                    "NOT {}",
                    exists(&pattern, visible.as_deref())
                )]);
            }
            // Existence of the related node: a hidden one does not count, even unfiltered.
            let pred = match self.connection_where(target, &owner, props, &e, &t, val)? {
                Some(p) => self.and_visible(target, &t, Some(p))?,
                None => self.visible(target, &t)?,
            };
            return Ok(vec![exists(&pattern, pred.as_deref())]);
        }
        let obj = val.as_object().ok_or_else(|| {
            invalid(
                &format!("{}Connection", r.name),
                "must be an object like { some: … }",
            )
        })?;
        let mut parts = Vec::new();
        for (q, inner) in obj {
            if inner.is_null() {
                continue;
            }
            if q == "aggregate" {
                let visible = self.visible(target, &t)?;
                let where_ = visible.map(|w| format!(" WHERE {w}")).unwrap_or_default();
                let source = format!("MATCH {pattern}{where_}");
                let related = Related::new(self.o, r, source, &e, &t);
                parts.extend(self.aggregation_filter(&related, inner)?);
                continue;
            }
            let pred = self.connection_where(target, &owner, props, &e, &t, inner)?;
            let pred = self.and_visible(target, &t, pred)?;
            parts.extend(quantified(q, &pattern, pred.as_deref(), &r.name)?);
        }
        Ok(parts)
    }

    pub(crate) fn order_by(
        &mut self,
        owner: Owner<'a>,
        v: &str,
        sort: Option<&Value>,
    ) -> Result<String, CompileError> {
        let Some(sort) = sort else {
            return Ok(String::new());
        };
        let mut keys = Vec::new();
        for s in as_list(sort) {
            keys.extend(self.sort_keys(owner, v, s)?);
        }
        Ok(if keys.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", keys.join(", "))
        })
    }

    pub(crate) fn sort_keys(
        &mut self,
        owner: Owner<'_>,
        v: &str,
        s: &Value,
    ) -> Result<Vec<String>, CompileError> {
        let obj = s.as_object().ok_or_else(|| {
            invalid(
                "sort",
                "each sort entry must be an object like { name: ASC }",
            )
        })?;
        // Several keys in one object apply in the type's field order, as @neo4j/graphql does.
        let mut keys = Vec::new();
        for (k, dir) in obj {
            if dir.is_null() {
                continue;
            }
            let position = owner.position(k);
            // A scalar @cypher field sorts by its value (with its arguments' defaults).
            let cypher = match owner {
                Owner::Node(n) => n
                    .cypher_field(k)
                    .filter(|c| !c.list && matches!(c.result, CypherResult::Scalar(_))),
                Owner::Edge(name, _) => self
                    .edge_cypher_scalar(name, k)
                    .map(|(c, _)| c)
                    .filter(|c| !c.list),
            };
            if let Some(c) = cypher {
                let dir = if dir.as_str() == Some("DESC") {
                    "DESC"
                } else {
                    "ASC"
                };
                keys.push((position, format!("{} {dir}", self.cypher_sort_key(c, v))));
                continue;
            }
            let p = owner
                .property(k)
                .ok_or_else(|| CompileError::UnknownField {
                    owner: format!("{}Sort", owner.name()),
                    field: k.clone(),
                })?;
            let dir = match dir.as_str() {
                Some("ASC") => "ASC",
                Some("DESC") => "DESC",
                _ => {
                    return Err(invalid(
                        "sort",
                        format!("direction of `{k}` must be ASC or DESC"),
                    ))
                }
            };
            if let Owner::Node(n) = owner {
                self.uses(n, p, Usage::Sort);
            }
            keys.push((position, format!("{v}.{} {dir}", quote(&p.db_name))));
        }
        keys.sort_by_key(|(position, _)| *position);
        Ok(keys.into_iter().map(|(_, k)| k).collect())
    }

    pub(crate) fn non_negative(
        &self,
        f: &FieldSel,
        arg: &str,
    ) -> Result<Option<u64>, CompileError> {
        match f.arg(arg) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                // 0 means "not given", as in @neo4j/graphql.
                Some(0) => Ok(None),
                Some(n) if n > 0 => Ok(Some(n as u64)),
                _ => Err(invalid(
                    arg,
                    format!("must be a non-negative integer, got {v}"),
                )),
            },
        }
    }

    /// `limit`/`first` of a list or connection of `target`: as the library reads it, the
    /// argument, else the type's `@limit(default:)`, else its `@limit(max:)`, lowered to that max;
    /// without `@limit`, defaulted (at the root) and capped by the options.
    fn limit(
        &self,
        f: &FieldSel,
        arg: &str,
        root: bool,
        target: &NodeType,
    ) -> Result<Option<u64>, CompileError> {
        let given = self.non_negative(f, arg)?;
        let (default, max) = (target.operations.default_limit, target.operations.max_limit);
        if default.is_some() || max.is_some() {
            let limit = given.or(default).or(max);
            return Ok(match (limit, max) {
                (Some(l), Some(m)) => Some(l.min(m)),
                _ => limit,
            });
        }
        self.plain_limit(f, arg, root)
    }

    /// `limit`/`first` where no `@limit` applies: the argument, checked against the options'
    /// maximum, else (at the root) the options' default.
    pub(crate) fn plain_limit(
        &self,
        f: &FieldSel,
        arg: &str,
        root: bool,
    ) -> Result<Option<u64>, CompileError> {
        let given = self.non_negative(f, arg)?;
        if let (Some(n), Some(max)) = (given, self.opts.max_limit) {
            if n > max {
                return Err(invalid(arg, format!("{n} exceeds the maximum of {max} (page through results with offset or after)")));
            }
        }
        Ok(given.or(if root { self.opts.default_limit } else { None }))
    }

    /// The default page size when a root field gives no `limit`/`first` (recorded in
    /// [`Compiler::defaulted`] for the root field's [`RootField::default_limit`]); none when the
    /// type's `@limit` sets its page sizes (the type definitions chose them: no notice).
    fn root_default(
        &mut self,
        f: &FieldSel,
        arg: &str,
        target: &NodeType,
    ) -> Result<Option<u64>, CompileError> {
        let by_type =
            target.operations.default_limit.is_some() || target.operations.max_limit.is_some();
        let defaulted = match self.non_negative(f, arg)? {
            Some(_) => None,
            None if by_type => None,
            None => self.opts.default_limit,
        };
        self.defaulted = defaulted;
        Ok(defaulted)
    }

    pub(crate) fn skip_limit(&mut self, offset: u64, limit: Option<u64>) -> String {
        let mut s = String::new();
        if offset > 0 {
            let _ = write!(s, " SKIP {}", self.param(Value::from(offset)));
        }
        if let Some(l) = limit {
            let _ = write!(s, " LIMIT {}", self.param(Value::from(l)));
        }
        s
    }
}

/// How many key values a `where` seeks when it is exactly `{<unique prop>: {eq: v}}` or
/// `{<unique prop>: {in: [...]}}` on the target.
fn seek_values(target: &NodeType, w: Option<&Value>) -> Option<usize> {
    let obj = w?.as_object()?;
    let (field, ops) = obj.iter().next().filter(|_| obj.len() == 1)?;
    target
        .property(field)
        .filter(|p| rewrite::unique_index(p))?;
    let ops = ops.as_object().filter(|o| o.len() == 1)?;
    let (op, v) = ops.iter().next()?;
    match (op.as_str(), v) {
        ("eq", v) if !v.is_null() => Some(1),
        ("in", Value::Array(items)) if !items.is_empty() => Some(items.len()),
        _ => None,
    }
}

/// `v.p IS NOT NULL` for a root page sorted by one required property `p` with an ordered
/// index: it lets the planner walk that index in order and stop at the page's end, instead of
/// filtering and sorting the whole label (a `where` that most nodes pass, on a label of a
/// million, goes from seconds to milliseconds). A node without a value for a required property
/// breaks the type definitions, and could not be returned anyway (the library answers with an
/// error for it); such a node is left out of the page.
fn with_index_order(
    n: &NodeType,
    v: &str,
    sort: Option<&Value>,
    connection: bool,
    where_: Option<String>,
) -> Option<String> {
    let hint = ordered_sort(n, sort, connection)
        .filter(|(p, _)| p.required && !p.list)
        .map(|(p, _)| format!("{v}.{} IS NOT NULL", quote(&p.db_name)));
    match (hint, where_) {
        (Some(h), Some(w)) => Some(format!("{h} AND ({w})")),
        (h, w) => h.or(w),
    }
}

/// The property and direction of a sort that is exactly one key on an ordered index of the
/// target (`[{p: ASC}]`, or `[{node: {p: ASC}}]` for a connection).
fn ordered_sort<'n>(
    target: &'n NodeType,
    sort: Option<&Value>,
    connection: bool,
) -> Option<(&'n Property, String)> {
    let entries = as_list(sort?);
    let [entry] = entries.as_slice() else {
        return None;
    };
    let mut obj = entry.as_object()?;
    if connection {
        obj = obj.get("node").filter(|_| obj.len() == 1)?.as_object()?;
    }
    let (field, dir) = obj.iter().next().filter(|_| obj.len() == 1)?;
    let p = target
        .property(field)
        .filter(|p| rewrite::ordered_index(p))?;
    let dir = dir.as_str().filter(|d| *d == "ASC" || *d == "DESC")?;
    Some((p, dir.to_owned()))
}

pub(crate) fn exists(pattern: &str, pred: Option<&str>) -> String {
    match pred {
        Some(p) => format!("EXISTS {{ MATCH {pattern} WHERE {p} }}"),
        None => format!("EXISTS {{ MATCH {pattern} }}"),
    }
}

pub(crate) fn quantified(
    q: &str,
    pattern: &str,
    pred: Option<&str>,
    field: &str,
) -> Result<Option<String>, CompileError> {
    Ok(match (q, pred) {
        // An empty filter (`some: {}`) filters nothing, as in @neo4j/graphql.
        ("some" | "none" | "single" | "all", None) => None,
        ("some", Some(p)) => Some(exists(pattern, Some(p))),
        ("none", Some(p)) => Some(format!("NOT {}", exists(pattern, Some(p)))),
        ("single", Some(p)) => Some(format!("COUNT {{ MATCH {pattern} WHERE {p} }} = 1")),
        // Every related node matches, and there is at least one (as @neo4j/graphql does).
        ("all", Some(p)) => Some(format!(
            "({} AND NOT EXISTS {{ MATCH {pattern} WHERE NOT ({p}) }})",
            exists(pattern, Some(p))
        )),
        (other, _) => {
            return Err(invalid(
                field,
                format!("unknown quantifier `{other}` (expected some, all, none, single)"),
            ))
        }
    })
}

pub(crate) fn combine(op: &str, subs: Vec<String>) -> Option<String> {
    match subs.len() {
        0 => None,
        1 => subs.into_iter().next(),
        _ => Some(format!(
            "({})",
            subs.join(if op == "OR" { " OR " } else { " AND " })
        )),
    }
}

pub(crate) fn and_all(parts: Vec<String>) -> Option<String> {
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(parts.join(" AND ")),
    }
}

/// An `edge` input as given through an interface that declares the relationship, wrapped by
/// relationship properties type (`{ ActedIn: { role: … } }`), unwrapped; any other as it is.
pub(crate) fn unwrap_edge<'v>(owner: &str, props: &[Property], v: &'v Value) -> &'v Value {
    match v.as_object() {
        Some(obj) if obj.len() == 1 && !props.iter().any(|p| p.name == owner) => {
            obj.get(owner).unwrap_or(v)
        }
        _ => v,
    }
}

/// Ends a root connection's statement `q`, whose page is in `rows`: the total (variable `total`)
/// from `count`, a subquery body ending in `RETURN count(…)` when `totalCount` or `aggregate`
/// is selected, with it (in the same pass) `agg`, the aggregates of the same rows, and
/// `RETURN {rows, total, agg} AS <column>`.
pub(crate) fn finish_root_connection(
    mut q: String,
    rows: &str,
    total: &str,
    count: Option<String>,
    agg: Option<String>,
    column: &str,
    shape: ConnectionShape,
) -> (String, Shape) {
    let aggregates = format!("{total}agg");
    let (total, agg) = match (count, agg) {
        (Some(count), agg) => {
            let extra = match &agg {
                Some(a) => format!(", {a} AS {aggregates}"),
                None => String::new(),
            };
            let _ = write!(q, "\nCALL {{\n{count} AS {total}{extra}\n}}");
            (total, agg.map(|_| aggregates))
        }
        (None, _) => ("null", None),
    };
    let _ = write!(
        q,
        "\nRETURN {{rows: {rows}, total: {total}{}}} AS {column}",
        agg_entry(agg)
    );
    (q, Shape::Connection(Box::new(shape)))
}

/// `, agg: <expr>`: a connection value's computed aggregates, if any (see [`crate::shape`]).
pub(crate) fn agg_entry(agg: Option<String>) -> String {
    agg.map(|a| format!(", agg: {a}")).unwrap_or_default()
}

/// GraphQL input coercion: a single value stands for a one-element list.
pub(crate) fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

pub(crate) fn map_literal(parts: &[(String, String)]) -> String {
    let inner: Vec<String> = parts
        .iter()
        .map(|(k, e)| format!("{}: {e}", quote(k)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// The offset after the `after` cursor (0 when absent).
pub(crate) fn after_offset(f: &FieldSel) -> Result<u64, CompileError> {
    match f.arg("after") {
        None => Ok(0),
        Some(Value::String(c)) => crate::shape::cursor_to_offset(c)
            .map(|o| o + 1)
            .ok_or_else(|| invalid("after", "not a cursor returned by this API")),
        Some(_) => Err(invalid("after", "must be a cursor string")),
    }
}

pub(crate) fn needs_total(f: &FieldSel) -> bool {
    f.selection
        .iter()
        .any(|s| s.name == "totalCount" || s.name == "aggregate")
}

/// The Cypher text of the duration `d` in the JavaScript driver's ISO form (what the library
/// returns): years and months from the months, days, then after `T` hours (not wrapped at a
/// day), minutes and seconds with nine-digit nanoseconds, each part left out when zero, and
/// `PT0S` for no duration; negative parts carry their sign.
pub(crate) fn duration_text(d: &str) -> String {
    let secs = format!(
        "CASE WHEN {d}.nanosecondsOfSecond > 0 AND {d}.seconds < 0 THEN {d}.seconds + 1 ELSE {d}.seconds END"
    );
    let part = |value: &str, unit: &str| {
        format!("CASE WHEN {value} <> 0 THEN toString({value}) + '{unit}' ELSE '' END")
    };
    let seconds_text = format!(
        "CASE WHEN {d}.seconds < 0 AND {d}.nanosecondsOfSecond > 0 \
         THEN (CASE WHEN ({d}.seconds + 1) % 60 = 0 THEN '-0' ELSE toString(({d}.seconds + 1) % 60) END) \
         + '.' + right('000000000' + toString(1000000000 - {d}.nanosecondsOfSecond), 9) \
         ELSE toString({d}.seconds % 60) + CASE WHEN {d}.nanosecondsOfSecond > 0 \
         THEN '.' + right('000000000' + toString({d}.nanosecondsOfSecond), 9) ELSE '' END END"
    );
    format!(
        "CASE WHEN {d} IS NULL THEN null \
         WHEN {d}.months = 0 AND {d}.days = 0 AND {d}.seconds = 0 AND {d}.nanosecondsOfSecond = 0 THEN 'PT0S' \
         ELSE 'P' + {years} + {months} + {days} + 'T' + {hours} + {minutes} \
         + [st IN [{seconds_text}] | CASE WHEN st = '0' THEN '' ELSE st + 'S' END][0] END",
        years = part(&format!("{d}.months / 12"), "Y"),
        months = part(&format!("{d}.months % 12"), "M"),
        days = part(&format!("{d}.days"), "D"),
        hours = part(&format!("({secs}) / 3600"), "H"),
        minutes = part(&format!("({secs}) / 60 % 60"), "M"),
    )
}

/// A point input without its absent coordinates (`height: null` given to `point()` is an
/// error, left out it makes a 2-D point); other values as they are.
fn spatial_input(s: &Scalar, v: Value) -> Value {
    match (s.coordinates(), v) {
        (Some(_), Value::Object(m)) => {
            Value::Object(m.into_iter().filter(|(_, x)| !x.is_null()).collect())
        }
        (_, v) => v,
    }
}

/// The Cypher map of the point `pt` with the fields `f` selects (aliases kept): the coordinates
/// (the third only for a 3-D point), `crs`, `srid`, `__typename`; `null` for no point.
fn point_object(s: &Scalar, [first, second, third]: [&str; 3], f: &FieldSel) -> String {
    let parts: Vec<(String, String)> = f
        .selection
        .iter()
        .filter_map(|sub| {
            let expr = match sub.name.as_str() {
                n if n == first || n == second => format!("pt.{n}"),
                n if n == third => format!("CASE WHEN pt.crs ENDS WITH '-3d' THEN pt.{n} END"),
                "crs" => "pt.crs".to_owned(),
                "srid" => "pt.srid".to_owned(),
                "__typename" => format!("'{}'", s.graphql_name()),
                _ => return None,
            };
            Some((sub.key.clone(), expr))
        })
        .collect();
    format!(
        "CASE WHEN pt IS NULL THEN null ELSE {} END",
        map_literal(&parts)
    )
}
