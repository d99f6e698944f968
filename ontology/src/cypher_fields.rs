//! `@cypher` fields: a value computed by the type definitions' own Cypher statement, with
//! `this` bound to the node the field is read on and the field's arguments as parameters.
//!
//! The statement is kept as written; only its references to the field's arguments (`$name`)
//! are renamed to the operation's parameters (`$p3`), as the library renames them, so a value
//! never enters the text (an argument left out and without default reads `NULL`). It runs in a
//! subquery hoisted out of the projection ([`Compiler::hoist`]): after the level's rows are
//! paged, for the rows returned only (the library's issue #591 runs it before the limit).

use serde_json::Value;

use crate::compile::{map_literal, quote, CompileError, Compiler};
use crate::ir::FieldSel;
use crate::model::{CypherField, CypherResult, NodeType, Scalar};
use crate::shape::Shape;

impl<'a> Compiler<'a> {
    /// `CALL (v) { WITH v AS this <statement> }` (`CALL { <statement> }` for a root field,
    /// `this` being `None`): the statement's rows, its argument references bound to `args` (the
    /// field's arguments as given).
    fn cypher_rows(
        &mut self,
        c: &CypherField,
        this: Option<&str>,
        args: &serde_json::Map<String, Value>,
    ) -> String {
        // Cache tags: the labels and types the statement names, when its text tells what it
        // reads; else every type of the ontology.
        match crate::deps::statement_tags(&c.statement) {
            Some(tags) => self.tags.borrow_mut().extend(tags),
            None => self.depends_on_everything(),
        }
        self.user_cypher = true;
        let mut statement = c.statement.clone();
        let mut names: Vec<&str> = c.args.iter().map(|a| a.name.as_str()).collect();
        // Longest first, so `$limitX` is not read as `$limit` followed by `X`.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for name in names {
            let arg = c.args.iter().find(|a| a.name == name);
            let value = args
                .get(name)
                .cloned()
                .or_else(|| arg.and_then(|a| a.default.as_ref().map(|(v, _)| v.clone())))
                .filter(|v| !v.is_null());
            let replacement = match value {
                Some(v) => self.param(v),
                None => "NULL".to_owned(),
            };
            statement = replace_parameter(&statement, name, &replacement);
        }
        // `$jwt`: the caller's token payload (`{}` without one), as the library passes it.
        if !c.args.iter().any(|a| a.name == "jwt") && mentions_parameter(&statement, "jwt") {
            let jwt = self.param(Value::Object(self.jwt.clone()));
            statement = replace_parameter(&statement, "jwt", &jwt);
            self.per_caller = true;
        }
        match this {
            Some(v) => format!("CALL ({v}) {{ WITH {v} AS this {statement} }}"),
            None => format!("CALL {{ {statement} }}"),
        }
    }

    /// A `@cypher` field selected as `f` (on node `this`, or at the root): the clauses reading
    /// its rows, the subqueries its projection hoisted, the value to return (one, or the list
    /// of them) and the shape of that value.
    fn cypher_value(
        &mut self,
        c: &'a CypherField,
        this: Option<&str>,
        f: &FieldSel,
    ) -> Result<(String, String, String, Shape), CompileError> {
        let rows = self.cypher_rows(c, this, &f.args);
        let col = quote(&c.column);
        let collected = |value: String| {
            if c.list {
                format!("collect({value})")
            } else {
                format!("head(collect({value}))")
            }
        };
        Ok(match &c.result {
            CypherResult::Scalar(s) => {
                let x = self.var("value");
                let value = scalar_value(s, &x);
                let body = format!("{rows} UNWIND {col} AS {x}");
                (body, String::new(), collected(value), Shape::Plain)
            }
            CypherResult::Node(target) => {
                let target: &'a NodeType = self.node(target)?;
                let t = self.var("this");
                let ((proj, shape), pre) =
                    self.hoisting(|this| this.project_node(target, &t, &f.selection))?;
                let limit = if c.list { "" } else { " LIMIT 1" };
                let body = format!("{rows} WITH {col} AS {t} WHERE {t} IS NOT NULL{limit}");
                (body, pre, collected(proj), shape)
            }
            CypherResult::Object(object) => {
                let x = self.var("value");
                let proj = self.object_projection(object, &x, &f.selection)?;
                let body = format!("{rows} WITH {col} AS {x} WHERE {x} IS NOT NULL");
                (body, String::new(), collected(proj), Shape::Plain)
            }
            CypherResult::Abstract(name) => {
                let members = self.abstract_members(name)?;
                let t = self.var("this");
                let ((proj, shape), pre) =
                    self.hoisting(|this| this.project_members(&members, &t, &f.selection))?;
                let any: Vec<String> = members
                    .iter()
                    .map(|m| format!("{t}:{}", quote(m.main_label())))
                    .collect();
                let limit = if c.list { "" } else { " LIMIT 1" };
                let body = format!(
                    "{rows} WITH {col} AS {t} WHERE {t} IS NOT NULL AND ({}){limit}",
                    any.join(" OR ")
                );
                (body, pre, collected(proj), shape)
            }
        })
    }

    /// A `@cypher` field of node `v`, selected as `f`: the hoisted subquery's variable and the
    /// shape of its value.
    pub(crate) fn cypher_field(
        &mut self,
        c: &'a CypherField,
        v: &str,
        f: &FieldSel,
    ) -> Result<(String, Shape), CompileError> {
        let (body, pre, ret, shape) = self.cypher_value(c, Some(v), f)?;
        Ok((self.hoist(v, &body, &pre, &ret), shape))
    }

    /// A custom root field (`type Query`/`type Mutation` with `@cypher`), returned as `column`.
    pub(crate) fn root_cypher(
        &mut self,
        c: &'a CypherField,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let (body, pre, ret, shape) = self.cypher_value(c, None, f)?;
        Ok((format!("{body}\n{pre}RETURN {ret} AS {column}"), shape))
    }

    /// The selected keys of a map shaped as the object type `object`.
    fn object_projection(
        &mut self,
        object: &str,
        x: &str,
        sel: &[FieldSel],
    ) -> Result<String, CompileError> {
        let ob = self
            .o
            .objects
            .get(object)
            .ok_or_else(|| CompileError::UnknownField {
                owner: "ontology".into(),
                field: object.into(),
            })?;
        let mut parts = Vec::new();
        for f in sel {
            if f.name == "__typename" {
                parts.push((f.key.clone(), format!("'{object}'")));
                continue;
            }
            let Some((_, ty)) = ob.fields.iter().find(|(name, _)| *name == f.name) else {
                return Err(CompileError::UnknownField {
                    owner: object.to_owned(),
                    field: f.name.clone(),
                });
            };
            let value = format!("{x}.{}", quote(&f.name));
            let nested = ty.trim_matches(|c| c == '[' || c == ']' || c == '!');
            let value = if self.o.objects.contains_key(nested) && !f.selection.is_empty() {
                let y = self.var("value");
                let inner = self.object_projection(nested, &y, &f.selection)?;
                if ty.starts_with('[') {
                    format!("[{y} IN {value} | {inner}]")
                } else {
                    format!("[{y} IN [{value}] WHERE {y} IS NOT NULL | {inner}][0]")
                }
            } else {
                value
            };
            parts.push((f.key.clone(), value));
        }
        Ok(map_literal(&parts))
    }

    /// A `where` entry `field: val` of node type `n` (node `v`) that names a `@cypher` field:
    /// a scalar's filters (`actorCount: { gt: 2 }`), a node result's (`lead: ActorWhere`,
    /// `similar: { some: MovieWhere }`, `similar_SOME: MovieWhere`). `None`: no such field.
    pub(crate) fn cypher_filter(
        &mut self,
        n: &'a NodeType,
        v: &str,
        field: &str,
        val: &Value,
    ) -> Result<Option<Vec<String>>, CompileError> {
        let (name, quantifier) = match field.rsplit_once('_') {
            Some((name, q @ ("ALL" | "NONE" | "SINGLE" | "SOME"))) => (name, Some(q)),
            _ => (field, None),
        };
        let Some(c) = n.cypher_field(name).filter(|c| c.args.is_empty()) else {
            return Ok(None);
        };
        match (&c.result, quantifier) {
            (CypherResult::Scalar(s), None) => {
                if val.is_null() {
                    return Ok(Some(Vec::new()));
                }
                let expr = self.cypher_scalar(c, v);
                Ok(Some(self.value_filter(&c.name, s, c.list, &expr, val)?))
            }
            (CypherResult::Node(target), q) => {
                let target: &'a NodeType = self.node(target)?;
                let rows = self.cypher_rows(c, Some(v), &serde_json::Map::new());
                let t = self.var("this");
                let col = quote(&c.column);
                let base = format!("{rows} WITH {col} AS {t} WHERE {t} IS NOT NULL");
                let some = |pred: Option<String>| match pred {
                    Some(p) => format!("EXISTS {{ {base} AND ({p}) RETURN {t} }}"),
                    None => format!("EXISTS {{ {base} RETURN {t} }}"),
                };
                let quantified: Vec<(&str, &Value)> = match (q, c.list) {
                    (Some(q), true) => vec![(q, val)],
                    (None, true) => val
                        .as_object()
                        .ok_or_else(|| CompileError::InvalidArgument {
                            arg: c.name.clone(),
                            reason: "must be an object like { some: … }".into(),
                        })?
                        .iter()
                        .filter(|(_, w)| !w.is_null())
                        .map(|(q, w)| (q.as_str(), w))
                        .collect(),
                    (_, false) if val.is_null() => {
                        return Ok(Some(vec![format!("NOT {}", some(None))]))
                    }
                    (_, false) => vec![("SOME", val)],
                };
                let mut parts = Vec::new();
                for (q, w) in quantified {
                    let pred = self.where_(crate::compile::Owner::Node(target), &t, w)?;
                    parts.push(match q.to_ascii_uppercase().as_str() {
                        "SOME" => some(pred),
                        // As Cypher's `none()`: false where one is unknown.
                        "NONE" => match pred {
                            Some(p) => format!(
                                "NOT EXISTS {{ {base} AND coalesce(({p}), true) RETURN {t} }}"
                            ),
                            None => format!("NOT {}", some(None)),
                        },
                        // As Cypher's `all()`: true for no values, false where one is unknown.
                        "ALL" => match pred {
                            Some(p) => format!(
                                "NOT EXISTS {{ {base} AND NOT coalesce(({p}), false) RETURN {t} }}"
                            ),
                            None => "true".to_owned(),
                        },
                        "SINGLE" => {
                            let p = pred.map(|p| format!(" AND ({p})")).unwrap_or_default();
                            format!("COUNT {{ {base}{p} RETURN {t} }} = 1")
                        }
                        other => {
                            return Err(CompileError::InvalidArgument {
                                arg: c.name.clone(),
                                reason: format!("unknown quantifier `{other}`"),
                            })
                        }
                    });
                }
                Ok(Some(parts))
            }
            _ => Ok(None),
        }
    }

    /// A sort key of node `v` by the scalar `@cypher` field `c` (with its arguments' defaults):
    /// a variable its subquery binds before the `ORDER BY` (Neo4j refuses an aggregate inside
    /// an `ORDER BY` expression), recorded in `sort_values`.
    pub(crate) fn cypher_sort_key(&mut self, c: &CypherField, v: &str) -> String {
        let rows = self.cypher_rows(c, Some(v), &serde_json::Map::new());
        let x = self.var("sorted");
        let col = quote(&c.column);
        self.sort_values.push(format!(
            "CALL ({v}) {{ {rows} RETURN head(collect({col})) AS {x} }}"
        ));
        x
    }

    /// The value of a scalar `@cypher` field of node `v` in a filter: its first row's value
    /// (every row's, for a list).
    pub(crate) fn cypher_scalar(&mut self, c: &CypherField, v: &str) -> String {
        let rows = self.cypher_rows(c, Some(v), &serde_json::Map::new());
        let col = quote(&c.column);
        let x = self.var("value");
        if c.list {
            format!("COLLECT {{ {rows} UNWIND {col} AS {x} RETURN {x} }}")
        } else {
            format!("head(COLLECT {{ {rows} RETURN {col} AS {x} }})")
        }
    }
}

/// A scalar as the library returns it: a `BigInt` as its decimal text, a `Duration` as its ISO
/// text.
fn scalar_value(s: &Scalar, x: &str) -> String {
    match s {
        Scalar::BigInt => format!("toString({x})"),
        Scalar::Duration => format!(
            "[dur IN [{x}] | {}][0]",
            crate::compile::duration_text("dur")
        ),
        _ => x.to_owned(),
    }
}

/// `statement` with every reference to parameter `$name` (not `$nameMore`) replaced.
/// Whether `statement` refers to the parameter `$name` (not `$nameX`).
fn mentions_parameter(statement: &str, name: &str) -> bool {
    replace_parameter(statement, name, "") != statement
}

fn replace_parameter(statement: &str, name: &str, replacement: &str) -> String {
    let pattern = format!("${name}");
    let mut out = String::with_capacity(statement.len());
    let mut rest = statement;
    while let Some(i) = rest.find(&pattern) {
        let after = &rest[i + pattern.len()..];
        let continues = after
            .chars()
            .next()
            .is_some_and(|ch| ch.is_alphanumeric() || ch == '_');
        out.push_str(&rest[..i]);
        out.push_str(if continues { &pattern } else { replacement });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::replace_parameter;

    #[test]
    fn only_whole_parameter_names_are_replaced() {
        assert_eq!(
            replace_parameter("RETURN $limit + $limitX + $limit", "limit", "$p0"),
            "RETURN $p0 + $limitX + $p0"
        );
        assert_eq!(replace_parameter("RETURN 1", "limit", "$p0"), "RETURN 1");
    }
}
