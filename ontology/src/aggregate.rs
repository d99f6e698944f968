//! Aggregations, in the library's v7 shape: a connection's `aggregate { count { nodes edges }
//! node { <field> { min max average sum shortest longest } } edge { … } }`, and the aggregation
//! filters of a relationship's connection filter (`actorsConnection: { aggregate: { count: {
//! nodes: { gt: 2 } }, node: { name: { longestLength: { gt: 5 } } } } }`).
//!
//! As in the library, `node` aggregates (and `count.nodes`) are over the distinct related nodes,
//! `edge` aggregates (and `count.edges`) over the relationships. Counts are `count(…)` and
//! `COUNT { … }`, which Neo4j answers from its count store and degree store where it can.
//!
//! Selected aggregates are aggregate functions, one pass over their rows: a root connection's in
//! the `CALL` that counts it, a relationship's in a subquery hoisted out of the projection
//! ([`Compiler::hoist`]) and run for the rows returned only. A string's `shortest` and
//! `longest` are the least and the greatest `[size, value]` pair (the library sorts and collects
//! every value). Aggregation filters sit inside `WHERE`, possibly of a nested level, where Neo4j
//! refuses aggregate functions: they read the related values in one pass (`COLLECT { … }`) and
//! fold them with `reduce`, computing what the functions compute (the running mean of `avg`).

use serde_json::Value;

use crate::compile::{
    agg_entry, as_list, duration_text, map_literal, unwrap_edge, CompileError, Compiler, Related,
};
use crate::ir::FieldSel;
use crate::model::{Property, Scalar};

fn invalid(arg: &str, reason: impl Into<String>) -> CompileError {
    CompileError::InvalidArgument {
        arg: arg.to_string(),
        reason: reason.into(),
    }
}

/// An aggregate of a `Duration` or a `BigInt` as the text the library returns.
fn aggregate_value(s: &Scalar, e: String) -> String {
    match s {
        Scalar::Duration => format!("[dur IN [{e}] | {}][0]", duration_text("dur")),
        Scalar::BigInt => format!("toString({e})"),
        _ => e,
    }
}

/// A fold of the list of values `l` (nulls skipped) with the aggregate function `op` (`min`,
/// `max`, `sum`, `average`), as the function computes it; `float`: the
/// mean of these values is a float (not a `Duration`).
fn fold(op: &str, float: bool, l: &str) -> Option<String> {
    let keep = |cond: &str| {
        format!("reduce(m = null, v IN {l} | CASE WHEN v IS NULL OR {cond} THEN m ELSE v END)")
    };
    Some(match op {
        "min" => keep("m <= v"),
        "max" => keep("m >= v"),
        "sum" => format!("reduce(s = 0, v IN {l} | CASE WHEN v IS NULL THEN s ELSE s + v END)"),
        "average" => {
            let first = if float { "toFloat(v)" } else { "v" };
            format!(
                "reduce(a = [null, 0], v IN {l} | CASE WHEN v IS NULL THEN a WHEN a[1] = 0 THEN [{first}, 1] \
                 ELSE [a[0] + (v - a[0]) / (a[1] + 1), a[1] + 1] END)[0]"
            )
        }
        _ => return None,
    })
}

/// Whether an `aggregate` selection asks for `count { nodes }`.
fn counts_nodes(f: &FieldSel) -> bool {
    f.selection
        .iter()
        .filter(|s| s.name == "aggregate")
        .flat_map(|a| a.selection.iter().filter(|s| s.name == "count"))
        .any(|c| c.selection.iter().any(|s| s.name == "nodes"))
}

/// Whether a `node { … }` aggregate selection only asks for what a node counted twice does not
/// change (`min`, `max`, `shortest`, `longest`; not `average` or `sum`).
fn duplicates_ignored(sel: &FieldSel) -> bool {
    sel.selection.iter().all(|f| {
        f.selection.iter().all(|op| {
            op.name.starts_with("__")
                || matches!(op.name.as_str(), "min" | "max" | "shortest" | "longest")
        })
    })
}

impl<'a> Compiler<'a> {
    /// `{<field key>: {<op key>: <aggregate function>, …}, …}`: the aggregate selection `sel`
    /// (`node { … }` or `edge { … }`) over the properties `props` of `var`, evaluated where
    /// `var` is bound to every row aggregated.
    pub(crate) fn aggregate_fields(
        &mut self,
        props: &[&'a Property],
        var: &str,
        sel: &FieldSel,
    ) -> Result<String, CompileError> {
        let mut fields = Vec::new();
        for f in sel.selection.iter().filter(|f| !f.name.starts_with("__")) {
            let p = *props
                .iter()
                .find(|p| p.name == f.name && p.in_aggregate())
                .ok_or_else(|| CompileError::UnknownField {
                    owner: sel.name.clone(),
                    field: f.name.clone(),
                })?;
            let mut x = self.read(var, p);
            if self.aggregate_reads.is_some() {
                let alias = self.var("read");
                if let Some(reads) = self.aggregate_reads.as_mut() {
                    x = match reads.iter().find(|(read, _)| *read == x) {
                        Some((_, bound)) => bound.clone(),
                        None => {
                            reads.push((x, alias.clone()));
                            alias
                        }
                    };
                }
            }
            let mut ops = Vec::new();
            for op in f.selection.iter().filter(|o| !o.name.starts_with("__")) {
                let e = match (op.name.as_str(), &p.scalar) {
                    ("shortest", Scalar::String) => {
                        format!("min(CASE WHEN {x} IS NOT NULL THEN [size({x}), {x}] END)[1]")
                    }
                    ("longest", Scalar::String) => {
                        format!("max(CASE WHEN {x} IS NOT NULL THEN [size({x}), {x}] END)[1]")
                    }
                    ("average" | "sum", Scalar::Int | Scalar::Float | Scalar::BigInt) => {
                        let function = if op.name == "sum" { "sum" } else { "avg" };
                        format!("{function}({x})")
                    }
                    ("min" | "max", s) if *s != Scalar::String => format!("{}({x})", op.name),
                    (other, _) => {
                        return Err(CompileError::UnknownField {
                            owner: format!("{}AggregateSelection", p.scalar.graphql_name()),
                            field: other.to_owned(),
                        })
                    }
                };
                ops.push((op.key.clone(), aggregate_value(&p.scalar, e)));
            }
            fields.push((f.key.clone(), map_literal(&ops)));
        }
        Ok(map_literal(&fields))
    }

    /// The `node` and `edge` parts of connection `f`'s `aggregate` selections, as
    /// `{<aggregate key>: {<part key>: …}}` (`None`: none selects one); `part` makes each part
    /// (`None` to leave it out). Counts are the connection's `total` and `nodes`.
    pub(crate) fn aggregate_parts(
        &mut self,
        f: &FieldSel,
        mut part: impl FnMut(&mut Self, &FieldSel) -> Result<Option<String>, CompileError>,
    ) -> Result<Option<String>, CompileError> {
        let mut aggregates = Vec::new();
        for a in f.selection.iter().filter(|s| s.name == "aggregate") {
            let mut parts = Vec::new();
            for s in a
                .selection
                .iter()
                .filter(|s| s.name == "node" || s.name == "edge")
            {
                if let Some(e) = part(self, s)? {
                    parts.push((s.key.clone(), e));
                }
            }
            if !parts.is_empty() {
                aggregates.push((a.key.clone(), map_literal(&parts)));
            }
        }
        Ok((!aggregates.is_empty()).then(|| map_literal(&aggregates)))
    }

    /// A relationship connection's raw value `{rows, total, nodes, agg}` (see
    /// [`crate::shape`]). `total`: the count when something cheaper than a pass over the
    /// relationships gave it (the degree store), or `None`.
    ///
    /// Everything else one pass over the relationships can compute comes from one hoisted
    /// subquery: the count, the distinct related nodes (`count.nodes`), the `edge` aggregates,
    /// and the `node` aggregates that a node reached twice does not change (`min`, `max`,
    /// `shortest`, `longest`). Only a node `average` or `sum` needs a pass of its own, over
    /// the distinct nodes. On a hub of a million relationships that is one expansion instead
    /// of one per part.
    pub(crate) fn connection_value(
        &mut self,
        v: &str,
        f: &FieldSel,
        rows: &str,
        total: Option<&str>,
        rel: &Related<'a, '_>,
    ) -> Result<String, CompileError> {
        let pass = self.var("sub");
        let mut in_pass: Vec<(String, String)> = Vec::new();
        let total = match total {
            Some(t) => t.to_owned(),
            None => {
                in_pass.push(("total".to_owned(), "count(*)".to_owned()));
                format!("{pass}.`total`")
            }
        };
        let nodes = if counts_nodes(f) {
            in_pass.push(("nodes".to_owned(), format!("count(DISTINCT {})", rel.t)));
            format!("{pass}.`nodes`")
        } else {
            "null".to_owned()
        };
        let mut reads = Vec::new();
        let agg = self.aggregate_parts(f, |this, s| {
            let node = s.name == "node";
            let shared = !node || duplicates_ignored(s);
            if shared {
                this.aggregate_reads = Some(std::mem::take(&mut reads));
            }
            let fields = if node {
                this.aggregate_fields(&rel.nodes, rel.t, s)
            } else {
                let edges: Vec<&Property> = rel.edges.iter().collect();
                this.aggregate_fields(&edges, rel.e, s)
            };
            if shared {
                reads = this.aggregate_reads.take().unwrap_or_default();
            }
            let fields = fields?;
            if !shared {
                let distinct = format!("{} WITH DISTINCT {}", rel.source, rel.t);
                return Ok(Some(this.hoist(v, &distinct, "", &fields)));
            }
            let key = format!("part{}", in_pass.len());
            let value = format!("{pass}.`{key}`");
            in_pass.push((key, fields));
            Ok(Some(value))
        })?;
        if !in_pass.is_empty() {
            let bound = if reads.is_empty() {
                String::new()
            } else {
                let reads: Vec<String> = reads
                    .iter()
                    .map(|(read, x)| format!(", {read} AS {x}"))
                    .collect();
                format!(" WITH {}, {}{}", rel.e, rel.t, reads.concat())
            };
            self.hoisted.push(format!(
                "CALL ({v}) {{ {}{bound} RETURN {} AS {pass} }}",
                rel.source,
                map_literal(&in_pass)
            ));
        }
        Ok(format!(
            "{{rows: {rows}, total: {total}, nodes: {nodes}{}}}",
            agg_entry(agg)
        ))
    }

    /// A connection filter's `aggregate: { count: { nodes, edges }, node: { … }, edge: { … },
    /// AND, OR, NOT }` over `rel`: each condition aggregates every related node (distinct) or
    /// relationship, and compares as the library does (a null aggregate, e.g. the minimum of
    /// nothing, satisfies no comparison).
    pub(crate) fn aggregation_filter(
        &mut self,
        rel: &Related<'a, '_>,
        val: &Value,
    ) -> Result<Option<String>, CompileError> {
        let what = format!("{}Connection.aggregate", rel.field);
        let obj = val
            .as_object()
            .ok_or_else(|| invalid(&what, "must be an object like { count: … }"))?;
        let mut parts = Vec::new();
        for (k, v) in obj.iter().filter(|(_, v)| !v.is_null()) {
            match k.as_str() {
                "AND" | "OR" | "NOT" => parts
                    .extend(self.logical(k, v, |this, item| this.aggregation_filter(rel, item))?),
                "count" => {
                    let counts = v.as_object().ok_or_else(|| {
                        invalid(&what, "count must be an object like { nodes: … }")
                    })?;
                    for (which, ops) in counts.iter().filter(|(_, v)| !v.is_null()) {
                        let count = match which.as_str() {
                            "nodes" => {
                                format!("COUNT {{ {} RETURN DISTINCT {} }}", rel.source, rel.t)
                            }
                            "edges" => format!("COUNT {{ {} RETURN {} }}", rel.source, rel.e),
                            other => {
                                return Err(invalid(
                                    &what,
                                    format!("count has no `{other}` (expected nodes or edges)"),
                                ))
                            }
                        };
                        parts.extend(self.value_filter(
                            "count",
                            &Scalar::Int,
                            false,
                            &count,
                            ops,
                        )?);
                    }
                }
                "node" => {
                    let props = rel.nodes.clone();
                    parts.extend(self.property_aggregation_filter(rel, true, &props, v)?);
                }
                "edge" => {
                    let v = unwrap_edge(rel.edge_owner, rel.edges, v);
                    let props: Vec<&Property> = rel.edges.iter().collect();
                    parts.extend(self.property_aggregation_filter(rel, false, &props, v)?);
                }
                other => {
                    return Err(invalid(
                        &what,
                        format!(
                            "unknown key `{other}` (expected count, node, edge, AND, OR or NOT)"
                        ),
                    ))
                }
            }
        }
        Ok(crate::compile::and_all(parts))
    }

    /// `{ <field>: { longestLength: { gt: 5 } }, AND, OR, NOT }` over the related nodes
    /// (`nodes`) or relationships.
    fn property_aggregation_filter(
        &mut self,
        rel: &Related<'a, '_>,
        nodes: bool,
        props: &[&'a Property],
        val: &Value,
    ) -> Result<Option<String>, CompileError> {
        let side = if nodes { "node" } else { "edge" };
        let obj = val
            .as_object()
            .ok_or_else(|| invalid(side, "an aggregation filter must be an object"))?;
        let var = if nodes { rel.t } else { rel.e };
        let mut parts = Vec::new();
        for (k, v) in obj.iter().filter(|(_, v)| !v.is_null()) {
            match k.as_str() {
                "AND" | "OR" | "NOT" => parts.extend(self.logical(k, v, |this, item| {
                    this.property_aggregation_filter(rel, nodes, props, item)
                })?),
                field => {
                    let p = props
                        .iter()
                        .find(|p| p.name == field && p.in_aggregation_filter())
                        .ok_or_else(|| CompileError::UnknownField {
                            owner: format!("{}AggregationWhereInput", rel.field),
                            field: field.to_owned(),
                        })?;
                    let x = self.read(var, p);
                    let aggregations = v.as_object().ok_or_else(|| {
                        invalid(field, "must be an object like { max: { gt: … } }")
                    })?;
                    for (agg, ops) in aggregations.iter().filter(|(_, v)| !v.is_null()) {
                        let size = format!("size({x})");
                        let (value, op, result) = match (agg.as_str(), &p.scalar) {
                            ("averageLength", Scalar::String) => (&size, "average", Scalar::Float),
                            ("shortestLength", Scalar::String) => (&size, "min", Scalar::Int),
                            ("longestLength", Scalar::String) => (&size, "max", Scalar::Int),
                            ("average", Scalar::Int) => (&x, "average", Scalar::Float),
                            ("min" | "max", s) if *s != Scalar::String => {
                                (&x, agg.as_str(), s.clone())
                            }
                            ("sum", s @ (Scalar::Int | Scalar::Float | Scalar::BigInt)) => {
                                (&x, "sum", s.clone())
                            }
                            (
                                "average",
                                s @ (Scalar::Float | Scalar::BigInt | Scalar::Duration),
                            ) => (&x, "average", s.clone()),
                            (other, s) => {
                                return Err(invalid(
                                    field,
                                    format!("a {} aggregation has no `{other}`", s.graphql_name()),
                                ))
                            }
                        };
                        let values = rel.values(nodes, value);
                        let folded =
                            fold(op, p.scalar != Scalar::Duration, "l").unwrap_or_default();
                        let aggregated = format!("[l IN [{values}] | {folded}][0]");
                        parts.extend(self.value_filter(field, &result, false, &aggregated, ops)?);
                    }
                }
            }
        }
        Ok(crate::compile::and_all(parts))
    }

    /// `AND`/`OR` (a list of inputs) or `NOT` (one) over inputs that `each` compiles.
    fn logical(
        &mut self,
        op: &str,
        v: &Value,
        mut each: impl FnMut(&mut Self, &Value) -> Result<Option<String>, CompileError>,
    ) -> Result<Option<String>, CompileError> {
        if op == "NOT" {
            return Ok(each(self, v)?.map(|p| format!("NOT ({p})")));
        }
        let mut subs = Vec::new();
        for item in as_list(v) {
            subs.extend(each(self, item)?);
        }
        Ok(crate::compile::combine(op, subs))
    }
}
