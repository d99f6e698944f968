//! Abstract types: unions of node types (`union Production = Movie | Series`) and interfaces
//! (`interface Production`, implemented by node types). Relationship fields targeting a union,
//! their connections and filters, and the root lists and connections of unions and interfaces.
//! Members (a union's, an interface's implementations) are read as the library reads them, one
//! branch per member in declaration order (`CALL { … UNION … }`), so that results without an
//! order come in the same order; a union `where` naming members keeps only those, an interface
//! `where` applies to every implementation (`typename` keeps the ones listed). A sorted
//! interface list is one label disjunction instead, sorted and cut once (the library sorts the
//! union of every branch: its issue #5061). Every value carries its member type under
//! [`TYPE_KEY`], which the response rendering reads.

use std::fmt::Write as _;

use serde_json::Value;

use crate::compile::{
    after_offset, finish_root_connection, needs_total, CompileError, Compiler, Owner, Related,
};
use crate::compile::{as_list, exists, labels_of, map_literal, quantified, quote};
use crate::ir::FieldSel;
use crate::model::{InterfaceType, NodeType, Property, Relationship, UnionType};
use crate::shape::{ConnectionShape, Shape, TYPE_KEY};

fn invalid(arg: &str, reason: impl Into<String>) -> CompileError {
    CompileError::InvalidArgument {
        arg: arg.to_string(),
        reason: reason.into(),
    }
}

impl Member<'_, '_> {
    /// Whether an interface `where` leaves this implementation out at its top level
    /// (`typename: [...]` not listing it; in a connection `where`, under `node`).
    fn excluded(&self, connection: bool) -> bool {
        let w = match (self.filter, connection) {
            (Some(w), false) => Some(w),
            (Some(w), true) => w.get("node"),
            (None, _) => None,
        };
        match w.and_then(|w| w.get("typename")).filter(|t| !t.is_null()) {
            Some(listed) => !as_list(listed)
                .iter()
                .any(|t| t.as_str() == Some(&self.node.name)),
            None => false,
        }
    }
}

/// The relationship of a member read at the root (not through a relationship).
fn unrelated() -> Relationship {
    Relationship {
        name: String::new(),
        description: None,
        rel_type: String::new(),
        direction: crate::model::Direction::Out,
        target: String::new(),
        list: true,
        properties: None,
        nested: Default::default(),
        undirected: false,
        aggregate: true,
    }
}

/// One member of a union relationship, as selected by a `where`.
struct Member<'a, 'w> {
    node: &'a NodeType,
    /// The relationship to this member.
    rel: Relationship,
    /// The member's part of the `where` (`None`: unfiltered).
    filter: Option<&'w Value>,
}

impl<'a> Compiler<'a> {
    /// The node types a value of the union or interface `name` may be.
    pub(crate) fn abstract_members(&self, name: &str) -> Result<Vec<&'a NodeType>, CompileError> {
        let names = match (self.o.unions.get(name), self.o.interfaces.get(name)) {
            (Some(u), _) => &u.members,
            (None, Some(i)) => &i.implementors,
            (None, None) => {
                return Err(CompileError::UnknownField {
                    owner: "ontology".into(),
                    field: name.into(),
                })
            }
        };
        names.iter().map(|m| self.node(m)).collect()
    }

    /// The implementations of interface `i`, each with the whole `where` as its filter (its
    /// `typename` is read per implementation) and its relationship from `r`'s source.
    fn implementations<'w>(
        &self,
        i: &InterfaceType,
        r: Option<&Relationship>,
        w: Option<&'w Value>,
    ) -> Result<Vec<Member<'a, 'w>>, CompileError> {
        i.implementors
            .iter()
            .map(|m| {
                let base = r.cloned().unwrap_or_else(unrelated);
                Ok(Member {
                    node: self.node(m)?,
                    rel: Relationship {
                        target: m.clone(),
                        ..base
                    },
                    filter: w,
                })
            })
            .collect()
    }

    /// The members a relationship to an abstract type reads, as its `where` selects them: a
    /// union's ([`Compiler::selected`]) or an interface's implementations.
    fn members<'w>(
        &self,
        r: &Relationship,
        w: Option<&'w Value>,
    ) -> Result<Vec<Member<'a, 'w>>, CompileError> {
        match self.o.interfaces.get(&r.target) {
            Some(i) => self.implementations(i, Some(r), w),
            None => self.selected(&r.target, Some(r), w),
        }
    }

    /// The `ORDER BY` of a `sort` over the members' nodes (the same text for each: they must
    /// store the sorted fields alike); empty without a sort.
    fn member_order(
        &mut self,
        owner: &str,
        members: &[&'a NodeType],
        t: &str,
        sort: Option<&Value>,
    ) -> Result<String, CompileError> {
        let mut orders = Vec::new();
        for m in members {
            orders.push(self.order_by(Owner::Node(m), t, sort)?);
        }
        self.no_sort_values(&format!("a list of `{owner}`"))?;
        let order = orders.first().cloned().unwrap_or_default();
        if orders.iter().any(|o| *o != order) {
            return Err(invalid(
                "sort",
                format!("the implementations of `{owner}` store a sorted field under different property names (@alias): sort each type's own list instead"),
            ));
        }
        Ok(order)
    }

    /// The members of union `union` a `where` selects, with each one's filter: every member
    /// when the `where` is absent or empty, else the members it names.
    fn selected<'w>(
        &self,
        union: &str,
        r: Option<&Relationship>,
        w: Option<&'w Value>,
    ) -> Result<Vec<Member<'a, 'w>>, CompileError> {
        let u = self.union_type(union)?;
        let obj =
            match w {
                None => None,
                Some(w) => Some(w.as_object().ok_or_else(|| {
                    invalid("where", "must be an object with one field per member")
                })?),
            };
        if let Some(obj) = obj {
            if let Some(k) = obj.keys().find(|k| !u.members.contains(k)) {
                return Err(CompileError::UnknownField {
                    owner: format!("{union}Where"),
                    field: k.clone(),
                });
            }
        }
        let mut members = Vec::new();
        for m in &u.members {
            let filter = match obj {
                Some(obj) if !obj.is_empty() => match obj.get(m) {
                    None | Some(Value::Null) => continue,
                    Some(f) => Some(f),
                },
                _ => None,
            };
            let base = r.cloned().unwrap_or_else(unrelated);
            members.push(Member {
                node: self.node(m)?,
                rel: Relationship {
                    target: m.clone(),
                    ..base
                },
                filter,
            });
        }
        Ok(members)
    }

    fn union_type(&self, name: &str) -> Result<&'a UnionType, CompileError> {
        self.o
            .unions
            .get(name)
            .ok_or_else(|| CompileError::UnknownField {
                owner: "ontology".into(),
                field: name.into(),
            })
    }

    /// `CASE WHEN t:Movie THEN {#type: 'Movie', …} … END`: each member's projection of the
    /// selection (the fields its type conditions give it), and the shapes they need.
    pub(crate) fn project_members(
        &mut self,
        members: &[&'a NodeType],
        t: &str,
        sel: &[FieldSel],
    ) -> Result<(String, Shape), CompileError> {
        let mut cases = String::from("CASE");
        let mut shapes: Vec<(String, Shape)> = Vec::new();
        for m in members {
            let (mut parts, member_shapes) = self.project_parts(m, t, sel)?;
            parts.insert(0, (TYPE_KEY.to_owned(), format!("'{}'", m.name)));
            let _ = write!(
                cases,
                " WHEN {t}:{} THEN {}",
                quote(m.main_label()),
                map_literal(&parts)
            );
            for (k, s) in member_shapes {
                if !shapes.iter().any(|(k2, _)| *k2 == k) {
                    shapes.push((k, s));
                }
            }
        }
        cases.push_str(" END");
        let shape = if shapes.is_empty() {
            Shape::Plain
        } else {
            Shape::Object(shapes)
        };
        Ok((cases, shape))
    }

    /// `CALL (v) { MATCH … RETURN t UNION MATCH … RETURN t }`: the branches of the selected
    /// members (`e`: the relationship variable to return too, for connections), each with its
    /// filter; `None` when no member is selected.
    fn branches(
        &mut self,
        v: Option<&str>,
        members: &[Member<'a, '_>],
        e: Option<&str>,
        t: &str,
        connection: bool,
    ) -> Result<Option<String>, CompileError> {
        let mut branches = Vec::new();
        for m in members {
            let pattern = match v {
                Some(v) => self.pattern(v, &m.rel, e.unwrap_or(""), t, true)?,
                None => {
                    self.depends_on(m.node);
                    format!("({t}{})", labels_of(m.node))
                }
            };
            if m.excluded(connection) {
                continue;
            }
            let pred = match (connection, m.filter, e) {
                (true, Some(w), Some(e)) => {
                    let props = self.edge_props(&m.rel);
                    let owner = m.rel.properties.clone().unwrap_or_default();
                    let pred = self.connection_where(m.node, &owner, props, e, t, w)?;
                    match self.and_visible(m.node, t, pred)? {
                        Some(p) => Some(p),
                        None => self.visible(m.node, t)?,
                    }
                }
                _ => self.where_arg(Owner::Node(m.node), t, m.filter)?,
            };
            let where_ = pred.map(|p| format!(" WHERE {p}")).unwrap_or_default();
            let ret = match e {
                Some(e) => format!("{e}, {t}"),
                None => t.to_owned(),
            };
            branches.push(format!("MATCH {pattern}{where_} RETURN {ret}"));
        }
        if branches.is_empty() {
            return Ok(None);
        }
        // `UNION` also drops repeats (parallel relationships), as a DISTINCT would; the rows of
        // a connection are relationships, distinct already.
        let union = if connection { " UNION ALL " } else { " UNION " };
        let scope = v.map(|v| format!("({v}) ")).unwrap_or_default();
        Ok(Some(format!("CALL {scope}{{ {} }}", branches.join(union))))
    }

    /// A relationship field to a union or an interface: `[Production!]!` (with `where`,
    /// `limit`, `offset`, and for an interface `sort`) or a single `Production`.
    pub(crate) fn abstract_field(
        &mut self,
        r: &Relationship,
        v: &str,
        f: &FieldSel,
    ) -> Result<(String, Shape), CompileError> {
        let members = self.members(r, f.arg("where"))?;
        let t = self.var("this");
        let nodes: Vec<&'a NodeType> = members.iter().map(|m| m.node).collect();
        let order = self.member_order(&r.target, &nodes, &t, f.arg("sort"))?;
        let Some(call) = self.branches(Some(v), &members, None, &t, false)? else {
            return Ok((if r.list { "[]" } else { "null" }.to_owned(), Shape::Plain));
        };
        let ((proj, shape), pre) =
            self.hoisting(|this| this.project_members(&nodes, &t, &f.selection))?;
        if !r.list {
            let body = format!("{call} WITH {t} LIMIT 1");
            return Ok((
                self.hoist(v, &body, &pre, &format!("head(collect({proj}))")),
                shape,
            ));
        }
        let offset = self.non_negative(f, "offset")?.unwrap_or(0);
        let limit = self.plain_limit(f, "limit", false)?;
        let page = self.skip_limit(offset, limit);
        let body = format!("{call} WITH {t}{order}{page}");
        Ok((
            self.hoist(v, &body, &pre, &format!("collect({proj})")),
            shape,
        ))
    }

    /// The connection of a relationship to a union (`where` per member, sorted by `edge`) or
    /// to an interface (`where: { node, edge }`, sorted by `node` and `edge`): `edges` (cursor,
    /// node, properties), `totalCount`, `pageInfo`.
    pub(crate) fn abstract_connection(
        &mut self,
        n: &NodeType,
        r: &Relationship,
        v: &str,
        f: &FieldSel,
    ) -> Result<(String, Shape), CompileError> {
        let members = self.members(r, f.arg("where"))?;
        let nodes: Vec<&'a NodeType> = members.iter().map(|m| m.node).collect();
        let props = self.edge_props(r);
        let edge_owner = r.properties.clone().unwrap_or_default();
        let offset = after_offset(f)?;
        let first = self.plain_limit(f, "first", false)?;
        let reports_next = self.non_negative(f, "first")?.is_some();
        let e = self.var("edge");
        let t = self.var("this");
        // A union's members share no fields: it sorts by the relationship's properties only.
        let interface = self.o.interfaces.contains_key(&r.target);
        let mut order = Vec::new();
        if let Some(sorts) = f.arg("sort") {
            for s in as_list(sorts) {
                let obj = s
                    .as_object()
                    .ok_or_else(|| invalid("sort", "each sort entry must be an object"))?;
                for (k, val) in obj {
                    match k.as_str() {
                        "edge" => order.extend(self.sort_keys(
                            Owner::Edge(&edge_owner, props),
                            &e,
                            val,
                        )?),
                        "node" if interface => {
                            let keys = self.member_order(&r.target, &nodes, &t, Some(val))?;
                            order.extend(
                                keys.strip_prefix(" ORDER BY ")
                                    .map(str::to_owned)
                                    .filter(|k| !k.is_empty()),
                            );
                        }
                        other => {
                            return Err(invalid(
                                "sort",
                                format!("unknown key `{other}` in a sort of `{}`", r.name),
                            ))
                        }
                    }
                }
            }
        }
        let order = if order.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", order.join(", "))
        };
        let ((row_parts, node_shapes), pre) = self.hoisting(|this| {
            this.edge_rows(n, r, f, &e, |this, sel| {
                this.project_members(&nodes, &t, sel)
            })
        })?;
        let expr = match self.branches(Some(v), &members, Some(&e), &t, true)? {
            None => "{rows: [], total: 0, nodes: 0}".to_owned(),
            Some(call) => {
                let fetch = first.map(|f| f + 1);
                let rows = if f
                    .selection
                    .iter()
                    .any(|s| s.name == "edges" || s.name == "pageInfo")
                {
                    let body = format!(
                        "{call} WITH {e}, {t}{order}{}",
                        self.skip_limit(offset, fetch)
                    );
                    let row = format!("collect({})", map_literal(&row_parts));
                    self.hoist(v, &body, &pre, &row)
                } else {
                    "[]".to_owned()
                };
                let filtered = f.arg("where").is_some();
                let aggregated = f.selection.iter().any(|s| s.name == "aggregate");
                let total = match (needs_total(f), filtered) {
                    // Counted with the aggregates, in their pass.
                    (true, _) if aggregated => None,
                    (true, true) => Some(self.hoist(v, &call, "", "count(*)")),
                    (true, false) => Some(format!("COUNT {{ {call} }}")),
                    (false, _) => Some("null".to_owned()),
                };
                let related = Related::new(self.o, r, call, &e, &t);
                self.connection_value(v, f, &rows, total.as_deref(), &related)?
            }
        };
        let shape = Shape::Connection(Box::new(ConnectionShape {
            field: f.clone(),
            offset,
            first,
            reports_next,
            node_shapes,
        }));
        Ok((expr, shape))
    }

    /// A union's root list (`productions(where:, limit:, offset:)`).
    pub(crate) fn union_root(
        &mut self,
        u: &'a UnionType,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let members = self.selected(&u.name, None, f.arg("where"))?;
        let nodes: Vec<&'a NodeType> = members.iter().map(|m| m.node).collect();
        let t = self.var("this");
        let Some(call) = self.branches(None, &members, None, &t, false)? else {
            return Ok((format!("RETURN [] AS {column}"), Shape::Plain));
        };
        let offset = self.non_negative(f, "offset")?.unwrap_or(0);
        let limit = self.plain_limit(f, "limit", true)?;
        // A defaulted limit fetches one more row, so the shaper can say the list was cut.
        let fetch = match self.non_negative(f, "limit")? {
            None => {
                self.defaulted = self.opts.default_limit;
                self.opts.default_limit.map(|d| d + 1)
            }
            Some(_) => limit,
        };
        let ((proj, shape), pre) =
            self.hoisting(|this| this.project_members(&nodes, &t, &f.selection))?;
        let page = self.skip_limit(offset, fetch);
        Ok((
            format!("{call}\nWITH {t}{page}\n{pre}RETURN collect({proj}) AS {column}"),
            shape,
        ))
    }

    /// An interface's root list (`productions(where:, limit:, offset:, sort:)`) or, with
    /// `connection`, its root connection (`productionsConnection(where:, first:, after:,
    /// sort:)`). Unsorted: one branch per implementation, as the library reads it. Sorted: one
    /// label disjunction over the implementations, each with its filter, sorted and cut once.
    pub(crate) fn interface_root(
        &mut self,
        i: &'a InterfaceType,
        f: &FieldSel,
        column: &str,
        connection: bool,
    ) -> Result<(String, Shape), CompileError> {
        let members = self.implementations(i, None, f.arg("where"))?;
        let t = self.var("this");
        let (page_arg, offset) = if connection {
            ("first", after_offset(f)?)
        } else {
            ("limit", self.non_negative(f, "offset")?.unwrap_or(0))
        };
        let given = self.non_negative(f, page_arg)?;
        let limit = self.plain_limit(f, page_arg, true)?;
        if given.is_none() {
            self.defaulted = self.opts.default_limit;
        }
        // One more row: for `hasNextPage`, or to tell that the default limit cut a list.
        let fetch = match (connection, given) {
            (true, _) | (false, None) => limit.map(|l| l + 1),
            (false, Some(_)) => limit,
        };
        // The implementations' filters and sort keys (the same text when they store the
        // fields alike, which the disjunction needs).
        let mut preds = Vec::new();
        let mut orders = Vec::new();
        let mut selected = Vec::new();
        for m in members.iter().filter(|m| !m.excluded(false)) {
            let pred = self.where_arg(Owner::Node(m.node), &t, m.filter)?;
            orders.push(self.order_by(Owner::Node(m.node), &t, f.arg("sort"))?);
            preds.push((m.node, pred));
            selected.push(m.node);
        }
        let order = orders.first().cloned().unwrap_or_default();
        if orders.iter().any(|o| *o != order) {
            return Err(invalid(
                "sort",
                format!("the implementations of `{}` store a sorted field under different property names (@alias): sort each type's own list instead", i.name),
            ));
        }
        let sorted = !order.is_empty();
        let source = if selected.is_empty() {
            None
        } else if sorted {
            // The pattern scans the main labels; each implementation is then checked for all
            // its labels (one by one: a label expression may not mix `|` with `:A:B`).
            let labels: Vec<String> = selected.iter().map(|m| quote(m.main_label())).collect();
            let pred = preds
                .iter()
                .map(|(m, p)| {
                    let is = m
                        .labels
                        .iter()
                        .map(|l| format!("{t}:{}", quote(l)))
                        .chain(p.clone())
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    format!("({is})")
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            for m in &selected {
                self.depends_on(m);
            }
            Some(format!("MATCH ({t}:{}) WHERE {pred}", labels.join("|")))
        } else {
            self.branches(None, &members, None, &t, false)?
        };
        let empty = if connection {
            "{rows: [], total: 0}"
        } else {
            "[]"
        };
        let Some(source) = source else {
            return Ok((format!("RETURN {empty} AS {column}"), Shape::Plain));
        };
        let page = self.skip_limit(offset, fetch);
        let order = if sorted { order } else { String::new() };
        if !connection {
            let ((proj, shape), pre) =
                self.hoisting(|this| this.project_members(&selected, &t, &f.selection))?;
            return Ok((
                format!("{source}\nWITH {t}{order}{page}\n{pre}RETURN collect({proj}) AS {column}"),
                shape,
            ));
        }
        // Rows carry each `node` selection under its key, as a node type's root connection.
        let ((edge_parts, node_shapes), pre) = self.hoisting(|this| {
            this.root_edge_rows(f, |this, sel| this.project_members(&selected, &t, sel))
        })?;
        let rows = self.var("rows");
        let total = self.var("total");
        let q = format!(
            "CALL {{\n{source}\nWITH {t}{order}{page}\n{pre}RETURN collect({}) AS {rows}\n}}",
            map_literal(&edge_parts)
        );
        let count = needs_total(f).then(|| format!("{source}\nRETURN count({t})"));
        let props: Vec<&Property> = i.properties.iter().collect();
        let agg = self.aggregate_parts(f, |this, s| {
            (s.name == "node")
                .then(|| this.aggregate_fields(&props, &t, s))
                .transpose()
        })?;
        let shape = ConnectionShape {
            field: f.clone(),
            offset,
            first: limit,
            reports_next: given.is_some() || self.defaulted.is_some(),
            node_shapes,
        };
        Ok(finish_root_connection(
            q, &rows, &total, count, agg, column, shape,
        ))
    }

    /// `rel: { some | all | none | single: UnionWhere }` (list) or `rel: UnionWhere` (single)
    /// over a union relationship (with `connection`, `relConnection: { some: { Movie: { node,
    /// edge } } }`). As in the library, each member the `where` names is filtered as a
    /// relationship to that member with the same quantifier, and the members' filters combine
    /// with OR for `some` and for a single relationship (even `rel: null`), XOR for `single`,
    /// AND for `all` and `none`.
    pub(crate) fn abstract_filter(
        &mut self,
        r: &Relationship,
        v: &str,
        val: &Value,
        connection: bool,
    ) -> Result<Vec<String>, CompileError> {
        let field = if connection {
            format!("{}Connection", r.name)
        } else {
            r.name.clone()
        };
        let quantifiers: Vec<(&str, &Value)> = if !r.list {
            vec![(if val.is_null() { "none" } else { "some" }, val)]
        } else {
            val.as_object()
                .ok_or_else(|| invalid(&field, "must be an object like { some: … }"))?
                .iter()
                .filter(|(_, inner)| !inner.is_null())
                .map(|(q, inner)| (q.as_str(), inner))
                .collect()
        };
        let mut parts = Vec::new();
        for (q, inner) in quantifiers {
            // An empty filter filters nothing.
            if inner.as_object().is_some_and(|o| o.is_empty()) {
                continue;
            }
            if q == "aggregate" && connection {
                let members = self.members(r, None)?;
                let (e, t) = (self.var("edge"), self.var("this"));
                let Some(source) = self.branches(Some(v), &members, Some(&e), &t, true)? else {
                    continue;
                };
                let related = Related::new(self.o, r, source, &e, &t);
                parts.extend(self.aggregation_filter(&related, inner)?);
                continue;
            }
            let w = (!inner.is_null()).then_some(inner);
            let members = self.members(r, w)?;
            let mut filters = Vec::new();
            for m in &members {
                let e = self.var("edge");
                let t = self.var("this");
                let pattern = self.pattern(v, &m.rel, &e, &t, true)?;
                let pred = match (m.filter, connection) {
                    (None, _) => self.visible(m.node, &t)?,
                    (Some(w), true) => {
                        let props = self.edge_props(&m.rel);
                        let owner = m.rel.properties.clone().unwrap_or_default();
                        let pred = self.connection_where(m.node, &owner, props, &e, &t, w)?;
                        match self.and_visible(m.node, &t, pred)? {
                            Some(p) => Some(p),
                            None => self.visible(m.node, &t)?,
                        }
                    }
                    (Some(w), false) => self.where_(Owner::Node(m.node), &t, w)?,
                };
                let pred = pred.unwrap_or_else(|| "true".to_owned());
                if q == "none" && !r.list {
                    filters.push(format!("NOT {}", exists(&pattern, Some(&pred))));
                } else {
                    filters.extend(quantified(q, &pattern, Some(&pred), &field)?);
                }
            }
            let op = match q {
                _ if !r.list => " OR ",
                "some" => " OR ",
                "single" => " XOR ",
                _ => " AND ",
            };
            parts.extend(match filters.len() {
                0 => None,
                1 => filters.pop(),
                _ => Some(format!("({})", filters.join(op))),
            });
        }
        Ok(parts)
    }
}
