//! Full-text and vector search fields (`@fulltext`, `@vector`): a root connection over the
//! nodes an index finds, with their scores.
//!
//! `moviesByTitle(phrase:, where: { score: { min, max }, node }, sort: [{ score, node }], first,
//! after)` compiles to `CALL db.index.fulltext.queryNodes($index, $phrase) YIELD node, score`
//! (`db.index.vector.queryNodes($index, $k, $vector)` for a vector index), the node's labels
//! checked (an index may cover other labels' nodes too), the filters applied before paging,
//! as the library does. The index name is a parameter too: nothing of the request reaches the
//! statement's text.

use serde_json::Value;

use crate::compile::{
    finish_root_connection, invalid, map_literal, needs_total, CompileError, Compiler, Owner,
};
use crate::ir::FieldSel;
use crate::model::{NodeType, SearchIndex, SearchKind};
use crate::shape::{ConnectionShape, Shape};

/// Fewest neighbours a vector search asks the index for: the library's fixed number. A page
/// that needs more (`after` plus `first`, and one more row to tell `hasNextPage`) asks for that
/// many; the filters then apply to those neighbours, as in the library.
const VECTOR_NEIGHBOURS: u64 = 4;

impl<'a> Compiler<'a> {
    /// A search field's connection: `{rows: [{node, score}], total}`.
    pub(crate) fn search_root(
        &mut self,
        n: &'a NodeType,
        s: &SearchIndex,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let (offset, first, reports_next) = self.root_page(f, n)?;
        let fetch = first.map(|f| f + 1);
        let v = self.var("this");
        let score = self.var("score");
        let found = self.search_rows(n, s, f, &v, &score, offset + fetch.unwrap_or(0))?;
        let order = self.search_order(n, &v, &score, f.arg("sort"))?;
        let sorted = self.sort_values();
        let ((mut edge_parts, node_shapes), pre) = self
            .hoisting(|this| this.root_edge_rows(f, |this, sel| this.project_node(n, &v, sel)))?;
        for edges in f.selection.iter().filter(|e| e.name == "edges") {
            for sub in edges.selection.iter().filter(|e| e.name == "score") {
                if !edge_parts.iter().any(|(k, _)| *k == sub.key) {
                    edge_parts.push((sub.key.clone(), score.clone()));
                }
            }
        }
        let row = map_literal(&edge_parts);
        let rows = self.var("rows");
        let q = format!(
            "CALL {{\n{found}\n{sorted}WITH {v}, {score}{order}{}\n{pre}RETURN collect({row}) AS {rows}\n}}",
            self.skip_limit(offset, fetch)
        );
        let total = self.var("total");
        let count = if needs_total(f) {
            let (v2, score2) = (self.var("this"), self.var("score"));
            let found = self.search_rows(n, s, f, &v2, &score2, offset + fetch.unwrap_or(0))?;
            Some(format!("{found}\nRETURN count({v2})"))
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
            q, &rows, &total, count, None, column, shape,
        ))
    }

    /// The index call binding `v` and `score`, and the `WHERE` keeping nodes of `n` that pass
    /// `where`. `wanted`: the rows the page needs (a vector search asks for that many
    /// neighbours; 0: not bounded).
    fn search_rows(
        &mut self,
        n: &'a NodeType,
        s: &SearchIndex,
        f: &FieldSel,
        v: &str,
        score: &str,
        wanted: u64,
    ) -> Result<String, CompileError> {
        let index = self.param(Value::String(s.index_name.clone()));
        let call = match &s.kind {
            SearchKind::Fulltext { .. } => {
                let phrase = match f.arg("phrase") {
                    Some(Value::String(p)) if !p.trim().is_empty() => p.clone(),
                    _ => {
                        return Err(invalid(
                            "phrase",
                            "give the words to search for (Lucene query syntax)",
                        ))
                    }
                };
                let phrase = self.param(Value::String(phrase));
                format!("CALL db.index.fulltext.queryNodes({index}, {phrase})")
            }
            SearchKind::Vector { .. } => {
                let vector = match f.arg("vector") {
                    Some(Value::Array(xs)) if !xs.is_empty() && xs.iter().all(Value::is_number) => {
                        Value::Array(xs.clone())
                    }
                    Some(Value::Array(xs)) if xs.is_empty() => {
                        return Err(invalid("vector", "the query embedding is empty"))
                    }
                    _ => {
                        return Err(invalid(
                            "vector",
                            format!(
                                "`{}` searches by an embedding: give it as `vector: [Float!]` \
                                 (phrases need an embedding provider, which Ontograph does not call)",
                                s.query_name
                            ),
                        ))
                    }
                };
                let k = self.param(Value::from(wanted.max(VECTOR_NEIGHBOURS)));
                let vector = self.param(vector);
                format!("CALL db.index.vector.queryNodes({index}, {k}, {vector})")
            }
        };
        let mut conds = vec![format!("{v}{}", self.labels(n))];
        let w = f.arg("where").and_then(Value::as_object);
        if let Some(bounds) = w.and_then(|w| w.get("score")).and_then(Value::as_object) {
            for (k, op) in [("min", ">="), ("max", "<=")] {
                match bounds.get(k) {
                    None | Some(Value::Null) => {}
                    Some(x @ Value::Number(_)) => {
                        let p = self.param(x.clone());
                        conds.push(format!("{score} {op} {p}"));
                    }
                    Some(other) => {
                        return Err(invalid(
                            "where",
                            format!("score.{k} must be a Float, got {other}"),
                        ))
                    }
                }
            }
        }
        let node = w.and_then(|w| w.get("node")).filter(|x| !x.is_null());
        if let Some(c) = self.where_arg(Owner::Node(n), v, node)? {
            conds.push(format!("({c})"));
        }
        Ok(format!(
            "{call} YIELD node AS {v}, score AS {score}\nWHERE {}",
            conds.join(" AND ")
        ))
    }

    /// ` ORDER BY …` for `sort: [{ score, node }]`: each entry's node fields, then its score,
    /// entries in order (the library's order); nothing without `sort` (the index's order: best
    /// score first).
    fn search_order(
        &mut self,
        n: &'a NodeType,
        v: &str,
        score: &str,
        sort: Option<&Value>,
    ) -> Result<String, CompileError> {
        let mut keys = Vec::new();
        for entry in sort.map(crate::compile::as_list).unwrap_or_default() {
            let obj = entry.as_object().ok_or_else(|| {
                invalid(
                    "sort",
                    "each sort entry must be an object like { score: DESC }",
                )
            })?;
            if let Some(node) = obj.get("node").filter(|x| !x.is_null()) {
                keys.extend(self.sort_keys(Owner::Node(n), v, node)?);
            }
            match obj.get("score") {
                None | Some(Value::Null) => {}
                Some(Value::String(d)) if d == "ASC" || d == "DESC" => {
                    keys.push(format!("{score} {d}"))
                }
                Some(other) => {
                    return Err(invalid(
                        "sort",
                        format!("direction of `score` must be ASC or DESC, got {other}"),
                    ))
                }
            }
        }
        Ok(if keys.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", keys.join(", "))
        })
    }
}
