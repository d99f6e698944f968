//! Compilation of mutations: `createX`, `updateX` (scalar set/add/… operations and relationship
//! connect / disconnect / create / delete) and `deleteX`. Each becomes one `CALL { … }` block of
//! the operation's single statement; the `info` counters are computed in the same statement.

use std::fmt::Write as _;

use serde_json::Value;

use crate::compile::{as_list, map_literal, quote, unwrap_edge, CompileError, Compiler};
use crate::deps;
use crate::ir::FieldSel;
use crate::model::{NodeType, Property, Relationship};
use crate::shape::Shape;

fn invalid(arg: &str, reason: impl Into<String>) -> CompileError {
    CompileError::InvalidArgument {
        arg: arg.to_string(),
        reason: reason.into(),
    }
}

/// Counters accumulated while writing: constants known at compile time plus variables bound to
/// per-subquery counts.
#[derive(Default)]
struct Counters {
    nodes_created: u64,
    rels_created: u64,
    rels_deleted: u64,
    nodes_deleted: u64,
    dyn_rels_created: Vec<String>,
    dyn_nodes_created: Vec<String>,
    dyn_rels_deleted: Vec<String>,
    dyn_nodes_deleted: Vec<String>,
}

/// The value a create input gives a property: what it says, or the `@default` when it leaves
/// the field out (an explicit `null` stays null, as a GraphQL input default does).
fn given_or_default<'v>(
    p: &'v Property,
    obj: &'v serde_json::Map<String, Value>,
) -> Option<&'v Value> {
    match obj.get(&p.name) {
        Some(Value::Null) => None,
        Some(v) => Some(v),
        None => p.default.as_ref(),
    }
}

/// The property marking, within one upsert statement, a node that statement created (removed
/// before the statement ends).
const UPSERT_CREATED: &str = "__ontograph_upsert_created";

fn sum_expr(constant: u64, vars: &[String]) -> String {
    let mut parts = Vec::new();
    if constant > 0 || vars.is_empty() {
        parts.push(constant.to_string());
    }
    parts.extend(vars.iter().cloned());
    parts.join(" + ")
}

impl<'a> Compiler<'a> {
    pub(crate) fn root_mutation(
        &mut self,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        if let Some(c) = self.o.mutation_fields.iter().find(|c| c.name == f.name) {
            return self.root_cypher(c, f, column);
        }
        let find = |prefix: &str| {
            f.name
                .strip_prefix(prefix)
                .and_then(|rest| self.o.nodes.values().find(|n| n.plural_type_name() == rest))
        };
        if let Some(n) = find("create") {
            return self.create(n, f, column);
        }
        if let Some(n) = find("update").or_else(|| find("delete")) {
            // A write to one node by key also names it (degree statistics follow such writes).
            if let Some((prop, value)) = deps::key_lookup(n, f.arg("where")) {
                self.tags
                    .borrow_mut()
                    .insert(deps::node_tag(n.main_label(), prop, value));
            }
        }
        if let Some(n) = find("update") {
            return self.update(n, f, column);
        }
        if let Some(n) = find("delete") {
            return self.delete(n, f, column);
        }
        if let Some(n) = find("upsert").filter(|n| n.upsertable()) {
            return self.upsert(n, f, column);
        }
        Err(CompileError::UnknownRootField(f.name.clone()))
    }

    fn create(
        &mut self,
        n: &'a NodeType,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let input = f
            .arg("input")
            .ok_or_else(|| invalid("input", "is required"))?;
        let mut q = String::new();
        let mut counters = Counters::default();
        let mut created = Vec::new();
        for item in as_list(input) {
            let v = self.create_node(n, item, None, &mut q, &mut counters)?;
            created.push(v);
        }
        let shape = self.written_response(
            n,
            f,
            &created,
            |counter| match counter {
                "nodesCreated" => Some(sum_expr(
                    counters.nodes_created,
                    &counters.dyn_nodes_created,
                )),
                "relationshipsCreated" => {
                    Some(sum_expr(counters.rels_created, &counters.dyn_rels_created))
                }
                _ => None,
            },
            column,
            &mut q,
        )?;
        Ok((q, shape))
    }

    /// The `RETURN` of a create or an upsert: `info` with the counters `counter` gives (by field
    /// name), and the written nodes (`nodes`, their variables) as objects of the type.
    fn written_response(
        &mut self,
        n: &'a NodeType,
        f: &FieldSel,
        nodes: &[String],
        counter: impl Fn(&str) -> Option<String>,
        column: &str,
        q: &mut String,
    ) -> Result<Shape, CompileError> {
        let x = self.var("node");
        let mut parts = Vec::new();
        let mut shape = Shape::Plain;
        for s in &f.selection {
            match s.name.as_str() {
                "info" => {
                    let info: Vec<(String, String)> = s
                        .selection
                        .iter()
                        .filter_map(|i| Some((i.key.clone(), counter(&i.name)?)))
                        .collect();
                    parts.push((s.key.clone(), map_literal(&info)));
                }
                name if name == n.plural => {
                    let ((proj, sh), pre) =
                        self.hoisting(|this| this.project_node(n, &x, &s.selection))?;
                    let written = nodes.join(", ");
                    let value = if pre.is_empty() {
                        format!("[{x} IN [{written}] | {proj}]")
                    } else {
                        // Nested values come from subqueries, one row per written node.
                        let list = self.var("written");
                        // (`WITH *`: Neo4j wants one between a write and a `CALL`.)
                        let _ = writeln!(
                            q,
                            "WITH * CALL ({written}) {{ UNWIND [{written}] AS {x} {pre}RETURN collect({proj}) AS {list} }}"
                        );
                        list
                    };
                    parts.push((s.key.clone(), value));
                    if !matches!(sh, Shape::Plain) {
                        shape = Shape::Object(vec![(s.key.clone(), sh)]);
                    }
                }
                _ => {}
            }
        }
        let _ = write!(q, "RETURN {} AS {column}", map_literal(&parts));
        Ok(shape)
    }

    /// Appends `CREATE (v:Label) SET …` and the nested creates/connects of one create input;
    /// returns the new node's variable.
    fn create_node(
        &mut self,
        n: &'a NodeType,
        item: &Value,
        parent: Option<(&str, &Relationship, Option<&Value>)>,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<String, CompileError> {
        let obj = item
            .as_object()
            .ok_or_else(|| invalid("input", format!("each {} input must be an object", n.name)))?;
        let v = self.var("new");
        let labels = self.labels(n);
        match parent {
            None => {
                let _ = writeln!(q, "CREATE ({v}{labels})");
            }
            Some((from, r, edge)) => {
                let e = self.var("edge");
                let t = self.rel_type(r);
                let arrow = match r.direction {
                    crate::model::Direction::Out => format!("({from})-[{e}:{t}]->({v}{labels})"),
                    crate::model::Direction::In => format!("({from})<-[{e}:{t}]-({v}{labels})"),
                };
                let _ = writeln!(q, "CREATE {arrow}");
                counters.rels_created += 1;
                if edge.is_some() || r.properties.is_some() {
                    self.set_edge_props(r, &e, edge, true, q)?;
                }
            }
        }
        counters.nodes_created += 1;
        let mut sets = Vec::new();
        for p in n.properties() {
            if p.autogenerate {
                sets.push(format!("{v}.{} = randomUUID()", quote(&p.db_name)));
                continue;
            }
            if p.timestamp.on_create {
                sets.push(format!("{v}.{} = datetime()", quote(&p.db_name)));
                continue;
            }
            match given_or_default(p, obj) {
                None => {
                    if p.required {
                        return Err(invalid(
                            &p.name,
                            format!("{}.{} is required", n.name, p.name),
                        ));
                    }
                }
                Some(val) => {
                    let x = self.value_for(p, val.clone());
                    sets.push(format!("{v}.{} = {x}", quote(&p.db_name)));
                }
            }
        }
        if !sets.is_empty() {
            let _ = writeln!(q, "SET {}", sets.join(", "));
        }
        for r in n.relationships() {
            let Some(field_input) = obj.get(&r.name).filter(|x| !x.is_null()) else {
                continue;
            };
            for (r, field_input) in self.per_member(r, field_input)? {
                self.create_through(&v, &r, field_input, q, counters)?;
            }
        }
        Ok(v)
    }

    /// The nested `create` and `connect` of one relationship of a node being created.
    fn create_through(
        &mut self,
        v: &str,
        r: &Relationship,
        field_input: &Value,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let fi = field_input
            .as_object()
            .ok_or_else(|| invalid(&r.name, "must be an object with connect/create"))?;
        if let Some(creates) = fi.get("create") {
            for c in as_list(creates) {
                let node_input = c
                    .get("node")
                    .ok_or_else(|| invalid(&r.name, "create needs `node`"))?;
                for (r, node_input) in self.created(r, node_input)? {
                    let target = self.node(&r.target)?;
                    let parent = Some((v, &r, c.get("edge")));
                    self.create_node(target, node_input, parent, q, counters)?;
                }
            }
        }
        if let Some(connects) = fi.get("connect") {
            for c in as_list(connects) {
                for r in self.concrete(r) {
                    self.connect(v, &r, c, q, counters)?;
                }
            }
        }
        Ok(())
    }

    /// `CALL (v) { MATCH (t:Label) WHERE … MERGE (v)-[e:T]->(t) SET … RETURN count(*) AS k }`,
    /// then the connect input's own `connect` onward from each connected node.
    fn connect(
        &mut self,
        v: &str,
        r: &Relationship,
        c: &Value,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let target = self.node(&r.target)?;
        let t = self.var("target");
        let e = self.var("edge");
        let labels = self.labels(target);
        let pred = match c.get("where").and_then(|w| w.get("node")) {
            Some(w) if !w.is_null() => self.node_predicate(target, &t, w)?,
            _ => None,
        };
        let mut body = format!("MATCH ({t}{labels})");
        if let Some(p) = pred {
            let _ = write!(body, " WHERE {p}");
        }
        let rt = self.rel_type(r);
        let arrow = match r.direction {
            crate::model::Direction::Out => format!("({v})-[{e}:{rt}]->({t})"),
            crate::model::Direction::In => format!("({v})<-[{e}:{rt}]-({t})"),
        };
        let _ = writeln!(body, " MERGE {arrow}");
        if let Some(edge) = c.get("edge").filter(|x| !x.is_null()) {
            self.set_edge_props(r, &e, Some(edge), false, &mut body)?;
        }
        let mut inner = Counters {
            rels_created: 1,
            ..Counters::default()
        };
        if let Some(onward) = c.get("connect").filter(|x| !x.is_null()) {
            for item in as_list(onward) {
                self.each_nested(target, item, "ConnectInput", |this, r2, x| {
                    this.connect(&t, r2, x, &mut body, &mut inner)
                })?;
            }
        }
        let ret = self.export_counters(inner, counters);
        let _ = writeln!(q, "WITH *\nCALL ({v}) {{ {}\n{ret} }}", body.trim_end());
        Ok(())
    }

    /// A relationship field's input, per target: a relationship to a union takes one input per
    /// member (`{ Movie: …, Series: … }`), each applying to the relationship to that member;
    /// any other relationship takes its input as it is.
    fn per_member<'v>(
        &self,
        r: &Relationship,
        value: &'v Value,
    ) -> Result<Vec<(Relationship, &'v Value)>, CompileError> {
        let Some(members) = self.o.union_members(r) else {
            return Ok(vec![(r.clone(), value)]);
        };
        let obj = value.as_object().ok_or_else(|| {
            invalid(
                &r.name,
                "must be an object with one field per member of the union",
            )
        })?;
        let mut out = Vec::new();
        for (k, v) in obj.iter().filter(|(_, v)| !v.is_null()) {
            let m = members.iter().find(|m| &m.target == k).ok_or_else(|| {
                invalid(
                    &r.name,
                    format!("`{k}` is not a member of union `{}`", r.target),
                )
            })?;
            out.push((m.clone(), v));
        }
        Ok(out)
    }

    /// The relationships an operation through `r` acts on: to every implementation of an
    /// interface `r` targets (a connect, update, delete or disconnect applies to the related
    /// nodes of each), else `r` itself.
    fn concrete(&self, r: &Relationship) -> Vec<Relationship> {
        match self.o.interfaces.get(&r.target) {
            Some(i) => i
                .implementors
                .iter()
                .map(|m| Relationship {
                    target: m.clone(),
                    ..r.clone()
                })
                .collect(),
            None => vec![r.clone()],
        }
    }

    /// The relationships and node inputs of a nested create through `r`: to an interface, the
    /// input names the implementations to create (`{ Movie: { … } }`; one node for each, as in
    /// the library).
    fn created<'v>(
        &self,
        r: &Relationship,
        node_input: &'v Value,
    ) -> Result<Vec<(Relationship, &'v Value)>, CompileError> {
        let Some(i) = self.o.interfaces.get(&r.target) else {
            return Ok(vec![(r.clone(), node_input)]);
        };
        let obj = node_input.as_object().ok_or_else(|| {
            invalid(
                &r.name,
                format!(
                    "a create through interface `{}` names its implementations",
                    i.name
                ),
            )
        })?;
        let mut out = Vec::new();
        for (m, input) in obj.iter().filter(|(_, v)| !v.is_null()) {
            if !i.implementors.contains(m) {
                return Err(invalid(
                    &r.name,
                    format!("`{m}` does not implement `{}`", i.name),
                ));
            }
            let r = Relationship {
                target: m.clone(),
                ..r.clone()
            };
            out.push((r, input));
        }
        Ok(out)
    }

    /// Calls `each` with every (relationship, item) of a nested `connect`, `disconnect` or
    /// `delete` input of `n` (`{ actors: [{ where: … }], … }`, a union relationship's items per
    /// member); `input` names its type in errors.
    fn each_nested(
        &mut self,
        n: &'a NodeType,
        value: &Value,
        input: &str,
        mut each: impl FnMut(&mut Self, &Relationship, &Value) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        let obj = value
            .as_object()
            .ok_or_else(|| invalid(input, "must be an object"))?;
        for (k, items) in obj.iter().filter(|(_, x)| !x.is_null()) {
            let r = n
                .relationship(k)
                .ok_or_else(|| CompileError::UnknownField {
                    owner: format!("{}{input}", n.name),
                    field: k.clone(),
                })?;
            for (r, items) in self.per_member(r, items)? {
                for item in as_list(items) {
                    for r in self.concrete(&r) {
                        each(self, &r, item)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets a new relationship's properties from its `edge` input (the input's defaults when the
    /// input is given); one made by a nested create also gets its `@timestamp(CREATE)`
    /// properties, as in the library (a connect does not).
    fn set_edge_props(
        &mut self,
        r: &Relationship,
        e: &str,
        edge: Option<&Value>,
        created: bool,
        q: &mut String,
    ) -> Result<(), CompileError> {
        let Some(rp_name) = &r.properties else {
            return Err(invalid(&r.name, "this relationship has no properties"));
        };
        let rp = self
            .o
            .relationship_properties(rp_name)
            .ok_or_else(|| invalid(&r.name, "unknown relationship properties"))?;
        let obj = match edge.filter(|x| !x.is_null()) {
            Some(x) => Some(
                unwrap_edge(rp_name, &rp.properties, x)
                    .as_object()
                    .ok_or_else(|| invalid("edge", "must be an object"))?,
            ),
            None => None,
        };
        let mut sets = Vec::new();
        for p in &rp.properties {
            if p.timestamp.on_create {
                if created {
                    sets.push(format!("{e}.{} = datetime()", quote(&p.db_name)));
                }
                continue;
            }
            // Without an `edge` input there is nothing to set (nor defaults to apply).
            let Some(obj) = obj else { continue };
            match given_or_default(p, obj) {
                None => {
                    if p.required {
                        return Err(invalid(
                            &p.name,
                            format!("{rp_name}.{} is required", p.name),
                        ));
                    }
                }
                Some(val) => {
                    let x = self.value_for(p, val.clone());
                    sets.push(format!("{e}.{} = {x}", quote(&p.db_name)));
                }
            }
        }
        if !sets.is_empty() {
            let _ = writeln!(q, "SET {}", sets.join(", "));
        }
        Ok(())
    }

    fn value_for(&mut self, p: &Property, v: Value) -> String {
        if p.list {
            self.typed_list(&p.scalar, v)
        } else {
            self.typed(&p.scalar, v)
        }
    }

    fn update(
        &mut self,
        n: &'a NodeType,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let u = self.var("this");
        let labels = self.labels(n);
        let mut q = format!("MATCH ({u}{labels})\n");
        if let Some(w) = f.arg("where") {
            if let Some(p) = self.node_predicate(n, &u, w)? {
                let _ = writeln!(q, "WHERE {p}");
            }
        }
        let mut counters = Counters::default();
        let update = f.arg("update").cloned().unwrap_or(Value::Null);
        self.update_node(n, &u, &update, None, &mut q, &mut counters)?;
        // Aggregate everything into one row, even when nothing matched.
        let mut aggregates = vec![format!("count({u}) AS updated")];
        let mut sums = |vars: &[String], name: &str| -> String {
            if vars.is_empty() {
                return "0".to_string();
            }
            aggregates.push(format!("sum({}) AS {name}", vars.join(" + ")));
            name.to_string()
        };
        let nc = sums(&counters.dyn_nodes_created, "nodesCreated");
        let rc = sums(&counters.dyn_rels_created, "relsCreated");
        let rd = sums(&counters.dyn_rels_deleted, "relsDeleted");
        let nd = sums(&counters.dyn_nodes_deleted, "nodesDeleted");
        let mut parts = Vec::new();
        let mut shape = Shape::Plain;
        let mut projection = None;
        for s in &f.selection {
            if s.name == n.plural {
                let ((proj, sh), pre) =
                    self.hoisting(|this| this.project_node(n, &u, &s.selection))?;
                if !pre.is_empty() {
                    // (`WITH *`: Neo4j wants one between a write and a `CALL`.)
                    let _ = write!(q, "WITH * {pre}");
                }
                projection = Some((s.key.clone(), proj));
                if !matches!(sh, Shape::Plain) {
                    shape = Shape::Object(vec![(s.key.clone(), sh)]);
                }
            }
        }
        if let Some((key, proj)) = &projection {
            aggregates.push(format!("collect({proj}) AS {}", quote(key)));
        }
        let _ = writeln!(q, "WITH {}", aggregates.join(", "));
        for s in &f.selection {
            match s.name.as_str() {
                "info" => {
                    let mut info = Vec::new();
                    for i in &s.selection {
                        let e = match i.name.as_str() {
                            "nodesCreated" => nc.clone(),
                            "relationshipsCreated" => rc.clone(),
                            "nodesDeleted" => nd.clone(),
                            "relationshipsDeleted" => rd.clone(),
                            _ => continue,
                        };
                        info.push((i.key.clone(), e));
                    }
                    parts.push((s.key.clone(), map_literal(&info)));
                }
                name if name == n.plural => {
                    parts.push((s.key.clone(), quote(&s.key)));
                }
                _ => {}
            }
        }
        let _ = write!(q, "RETURN {} AS {column}", map_literal(&parts));
        Ok((q, shape))
    }

    /// Appends the writes of one update input (`<Type>UpdateInput`) to the node `u`: its SETs
    /// (with `@timestamp(UPDATE)` properties), and when `u` was reached through a relationship
    /// (`edge`: the relationship, its variable and its `edge` update input) that relationship's
    /// SETs; then, per relationship field in input order, the nested `update`, `create`,
    /// `connect`, `delete` and `disconnect` operations, in the library's order.
    fn update_node(
        &mut self,
        n: &'a NodeType,
        u: &str,
        update: &Value,
        edge: Option<(&Relationship, &str, Option<&Value>)>,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let empty = serde_json::Map::new();
        let obj = match update {
            Value::Null => &empty,
            v => v
                .as_object()
                .ok_or_else(|| invalid("update", "must be an object"))?,
        };
        // `@timestamp(operations: [UPDATE])`: every update of the node sets it.
        let mut sets: Vec<String> = n
            .properties()
            .filter(|p| p.timestamp.on_update)
            .map(|p| format!("{u}.{} = datetime()", quote(&p.db_name)))
            .collect();
        for (k, ops) in obj.iter().filter(|(_, ops)| !ops.is_null()) {
            if let Some(p) = n.property(k) {
                sets.extend(self.scalar_update(&n.name, p, u, ops)?);
            } else if n.relationship(k).is_none() {
                return Err(CompileError::UnknownField {
                    owner: format!("{}UpdateInput", n.name),
                    field: k.clone(),
                });
            }
        }
        if let Some((r, e, edge_input)) = edge {
            let props = self.edge_props(r);
            let owner = r.properties.clone().unwrap_or_default();
            sets.extend(
                props
                    .iter()
                    .filter(|p| p.timestamp.on_update)
                    .map(|p| format!("{e}.{} = datetime()", quote(&p.db_name))),
            );
            if let Some(edge_obj) = edge_input.filter(|x| !x.is_null()) {
                let edge_obj = unwrap_edge(&owner, props, edge_obj)
                    .as_object()
                    .ok_or_else(|| invalid("edge", "must be an object"))?;
                for (k, ops) in edge_obj.iter().filter(|(_, ops)| !ops.is_null()) {
                    let p = props.iter().find(|p| &p.name == k).ok_or_else(|| {
                        CompileError::UnknownField {
                            owner: format!("{owner}UpdateInput"),
                            field: k.clone(),
                        }
                    })?;
                    sets.extend(self.scalar_update(&owner, p, e, ops)?);
                }
            }
        }
        if !sets.is_empty() {
            let _ = writeln!(q, "SET {}", sets.join(", "));
        }
        for (k, ops) in obj.iter().filter(|(_, ops)| !ops.is_null()) {
            let Some(r) = n.relationship(k) else { continue };
            for (r, ops) in self.per_member(r, ops)? {
                self.update_through(u, &r, ops, q, counters)?;
            }
        }
        Ok(())
    }

    /// The update operations (`[{ update, create, connect, delete, disconnect }]`) of one
    /// relationship of `u`, in the library's order.
    fn update_through(
        &mut self,
        u: &str,
        r: &Relationship,
        ops: &Value,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let k = &r.name;
        for op in as_list(ops) {
            let op = op.as_object().ok_or_else(|| {
                invalid(
                    k,
                    "must be an object with update/create/connect/delete/disconnect",
                )
            })?;
            let given = |name: &str| op.get(name).filter(|x| !x.is_null());
            let concrete = self.concrete(r);
            if let Some(nested) = given("update") {
                for r in &concrete {
                    self.update_related(u, r, nested, q, counters)?;
                }
            }
            if let Some(cs) = given("create") {
                for c in as_list(cs) {
                    let node_input = c
                        .get("node")
                        .ok_or_else(|| invalid(k, "create needs `node`"))?;
                    for (r, node_input) in self.created(r, node_input)? {
                        let target = self.node(&r.target)?;
                        let mut inner = Counters::default();
                        let mut body = String::new();
                        self.create_node(
                            target,
                            node_input,
                            Some((u, &r, c.get("edge"))),
                            &mut body,
                            &mut inner,
                        )?;
                        let ret = self.export_counters(inner, counters);
                        let _ = writeln!(q, "WITH *\nCALL ({u}) {{\n{body}{ret}\n}}");
                    }
                }
            }
            if let Some(cs) = given("connect") {
                for c in as_list(cs) {
                    if !r.list {
                        for r in &concrete {
                            self.disconnect(u, r, &Value::Null, q, counters)?;
                        }
                    }
                    for r in &concrete {
                        self.connect(u, r, c, q, counters)?;
                    }
                }
            }
            if let Some(ds) = given("delete") {
                for d in as_list(ds) {
                    for r in &concrete {
                        self.delete_related(u, r, d, q, counters)?;
                    }
                }
            }
            if let Some(ds) = given("disconnect") {
                for d in as_list(ds) {
                    for r in &concrete {
                        self.disconnect(u, r, d, q, counters)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `MATCH (from)-[e]->(t) WHERE <connection where>` over the relationships of `r` an update,
    /// disconnect or delete acts on (both ways with `queryDirection: UNDIRECTED`, as the library
    /// matches them): the relationship and node variables (`t` named after `node`) and the
    /// clause.
    fn match_related(
        &mut self,
        from: &str,
        r: &Relationship,
        w: Option<&Value>,
        node: &str,
    ) -> Result<(String, String, String), CompileError> {
        let e = self.var("edge");
        let t = self.var(node);
        let pattern = self.pattern(from, r, &e, &t, true)?;
        let pred = self.connection_predicate(r, &e, &t, w)?;
        let where_ = pred.map(|p| format!(" WHERE {p}")).unwrap_or_default();
        Ok((e, t, format!("MATCH {pattern}{where_}")))
    }

    /// A nested `update: { where, node, edge }`: every related node of `r` matching `where` is
    /// updated by `node`, its relationship by `edge`.
    fn update_related(
        &mut self,
        u: &str,
        r: &Relationship,
        nested: &Value,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let target = self.node(&r.target)?;
        let (e, t, matched) = self.match_related(u, r, nested.get("where"), "other")?;
        let mut body = format!("{matched}\n");
        let mut inner = Counters::default();
        let node = nested.get("node").cloned().unwrap_or(Value::Null);
        let edge = nested.get("edge").filter(|x| !x.is_null());
        if edge.is_some() && r.properties.is_none() {
            return Err(invalid(&r.name, "this relationship has no properties"));
        }
        let edge = r.properties.as_ref().map(|_| (r, e.as_str(), edge));
        self.update_node(target, &t, &node, edge, &mut body, &mut inner)?;
        let ret = self.export_counters(inner, counters);
        let _ = writeln!(q, "WITH *\nCALL ({u}) {{\n{body}{ret}\n}}");
        Ok(())
    }

    /// Ends a subquery each of whose rows made `inner`'s writes: its `RETURN`, aggregated so that
    /// the calling row survives when nothing matched, exporting the counts `outer` then sums.
    fn export_counters(&mut self, inner: Counters, outer: &mut Counters) -> String {
        let mut items = Vec::new();
        let counts = [
            (inner.nodes_created, inner.dyn_nodes_created, 0usize),
            (inner.rels_created, inner.dyn_rels_created, 1),
            (inner.nodes_deleted, inner.dyn_nodes_deleted, 2),
            (inner.rels_deleted, inner.dyn_rels_deleted, 3),
        ];
        for (per_row, vars, which) in counts {
            let mut terms = Vec::new();
            match per_row {
                0 => {}
                1 => terms.push("count(*)".to_owned()),
                k => terms.push(format!("count(*) * {k}")),
            }
            if !vars.is_empty() {
                terms.push(format!("sum({})", vars.join(" + ")));
            }
            if terms.is_empty() {
                continue;
            }
            let v = self.var("written");
            items.push(format!("{} AS {v}", terms.join(" + ")));
            match which {
                0 => outer.dyn_nodes_created.push(v),
                1 => outer.dyn_rels_created.push(v),
                2 => outer.dyn_nodes_deleted.push(v),
                _ => outer.dyn_rels_deleted.push(v),
            }
        }
        if items.is_empty() {
            items.push(format!("count(*) AS {}", self.var("rows")));
        }
        format!("RETURN {}", items.join(", "))
    }

    /// `upsert<Plural>`: per input item, `MERGE` on its one key (a uniqueness constraint makes
    /// concurrent identical upserts meet on one node), `onCreate` set on a new node (with its
    /// generated ids, timestamps and defaults, its required properties checked), `onUpdate` on an
    /// existing one (with its update timestamps), then the connects either way (`MERGE`: a second
    /// run connects nothing new). A flag property marks a node this statement created until its
    /// creation is counted, and is removed in the same statement.
    fn upsert(
        &mut self,
        n: &'a NodeType,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let input = f
            .arg("input")
            .ok_or_else(|| invalid("input", "is required"))?;
        let mut q = String::new();
        let mut nodes = Vec::new();
        let mut created_flags = Vec::new();
        let mut connected = Counters::default();
        let labels = self.labels(n);
        for item in as_list(input) {
            let where_ = item
                .get("where")
                .and_then(Value::as_object)
                .ok_or_else(|| invalid("where", "each upsert needs `where` with one key"))?;
            let given: Vec<(&String, &Value)> =
                where_.iter().filter(|(_, v)| !v.is_null()).collect();
            let [(key, value)] = given[..] else {
                return Err(invalid(
                    "where",
                    format!("give exactly one key of {} (got {})", n.name, given.len()),
                ));
            };
            let key_prop = n
                .property(key)
                .filter(|p| p.is_key())
                .ok_or_else(|| invalid("where", format!("`{key}` is no key of {}", n.name)))?;
            self.tags
                .borrow_mut()
                .insert(deps::node_tag(n.main_label(), &key_prop.db_name, value));
            let v = self.var("node");
            let k = self.typed(&key_prop.scalar, value.clone());
            let _ = writeln!(
                q,
                "MERGE ({v}{labels} {{{}: {k}}})",
                quote(&key_prop.db_name)
            );
            // On create: the key, generated ids, timestamps, onCreate (with defaults).
            let empty = serde_json::Map::new();
            let on_create = match item.get("onCreate").filter(|x| !x.is_null()) {
                Some(x) => x
                    .as_object()
                    .ok_or_else(|| invalid("onCreate", "must be an object"))?,
                None => &empty,
            };
            let flag = quote(UPSERT_CREATED);
            let mut sets = vec![format!("{v}.{flag} = true")];
            for p in n.properties() {
                if p.name == key_prop.name {
                    continue;
                }
                if p.autogenerate {
                    sets.push(format!("{v}.{} = randomUUID()", quote(&p.db_name)));
                } else if p.timestamp.on_create {
                    sets.push(format!("{v}.{} = datetime()", quote(&p.db_name)));
                } else if let Some(val) = given_or_default(p, on_create) {
                    let x = self.value_for(p, val.clone());
                    sets.push(format!("{v}.{} = {x}", quote(&p.db_name)));
                } else if p.required {
                    return Err(invalid(
                        "onCreate",
                        format!("{}.{} is required: give it in `onCreate`", n.name, p.name),
                    ));
                }
            }
            let _ = writeln!(q, "ON CREATE SET {}", sets.join(", "));
            // On match: update timestamps, onUpdate.
            let mut sets: Vec<String> = n
                .properties()
                .filter(|p| p.timestamp.on_update)
                .map(|p| format!("{v}.{} = datetime()", quote(&p.db_name)))
                .collect();
            if let Some(on_update) = item.get("onUpdate").filter(|x| !x.is_null()) {
                let obj = on_update
                    .as_object()
                    .ok_or_else(|| invalid("onUpdate", "must be an object"))?;
                for (name, ops) in obj.iter().filter(|(_, o)| !o.is_null()) {
                    let p = n.property(name).ok_or_else(|| CompileError::UnknownField {
                        owner: format!("{}UpsertUpdateInput", n.name),
                        field: name.clone(),
                    })?;
                    sets.extend(self.scalar_update(&n.name, p, &v, ops)?);
                }
            }
            if !sets.is_empty() {
                let _ = writeln!(q, "ON MATCH SET {}", sets.join(", "));
            }
            let created = self.var("created");
            let _ = writeln!(
                q,
                "WITH *, coalesce({v}.{flag}, false) AS {created}\nREMOVE {v}.{flag}"
            );
            if let Some(connect) = item.get("connect").filter(|x| !x.is_null()) {
                let obj = connect
                    .as_object()
                    .ok_or_else(|| invalid("connect", "must be an object"))?;
                for (name, cs) in obj.iter().filter(|(_, c)| !c.is_null()) {
                    let r = n
                        .relationship(name)
                        .ok_or_else(|| CompileError::UnknownField {
                            owner: format!("{}UpsertConnectInput", n.name),
                            field: name.clone(),
                        })?;
                    for (r, cs) in self.per_member(r, cs)? {
                        for c in as_list(cs) {
                            for r in self.concrete(&r) {
                                self.connect(&v, &r, c, &mut q, &mut connected)?;
                            }
                        }
                    }
                }
            }
            nodes.push(v);
            created_flags.push(created);
        }
        let count = |when: &str| -> String {
            if created_flags.is_empty() {
                return "0".to_owned();
            }
            created_flags
                .iter()
                .map(|c| format!("CASE WHEN {when}{c} THEN 1 ELSE 0 END"))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let shape = self.written_response(
            n,
            f,
            &nodes,
            |counter| match counter {
                "nodesCreated" => Some(count("")),
                "nodesUpdated" => Some(count("NOT ")),
                "relationshipsCreated" => Some(sum_expr(0, &connected.dyn_rels_created)),
                _ => None,
            },
            column,
            &mut q,
        )?;
        Ok((q, shape))
    }

    fn scalar_update(
        &mut self,
        owner: &str,
        p: &Property,
        u: &str,
        ops: &Value,
    ) -> Result<Vec<String>, CompileError> {
        let obj = ops
            .as_object()
            .ok_or_else(|| invalid(&p.name, "must be an object like { set: … }"))?;
        let target = format!("{u}.{}", quote(&p.db_name));
        let mut sets = Vec::new();
        for (op, val) in obj {
            if op != "set" && val.is_null() {
                continue;
            }
            let expr = match op.as_str() {
                "set" => {
                    if val.is_null() {
                        if p.required {
                            return Err(invalid(
                                &p.name,
                                format!("{owner}.{} is required and cannot be set to null", p.name),
                            ));
                        }
                        "null".to_string()
                    } else {
                        self.value_for(p, val.clone())
                    }
                }
                "add" => format!("{target} + {}", self.typed(&p.scalar, val.clone())),
                "subtract" => format!("{target} - {}", self.typed(&p.scalar, val.clone())),
                "multiply" => format!("{target} * {}", self.param(val.clone())),
                "divide" => {
                    if val.as_f64() == Some(0.0) {
                        return Err(invalid(&p.name, "cannot divide by zero"));
                    }
                    format!("{target} / {}", self.param(val.clone()))
                }
                "push" => format!(
                    "coalesce({target}, []) + {}",
                    self.typed_list(&p.scalar, val.clone())
                ),
                "pop" => {
                    let k = self.param(val.clone());
                    format!("{target}[..size({target}) - {k}]")
                }
                other => {
                    return Err(invalid(
                        &p.name,
                        format!("unknown update operation `{other}`"),
                    ))
                }
            };
            sets.push(format!("{target} = {expr}"));
        }
        if sets.len() > 1 {
            return Err(invalid(
                &p.name,
                "give one operation per field (set, add, subtract, …)",
            ));
        }
        Ok(sets)
    }

    /// Deletes the relationships of `r` from `u` matching a disconnect input's `where`, then
    /// goes on with its `disconnect` from each node disconnected.
    fn disconnect(
        &mut self,
        u: &str,
        r: &Relationship,
        d: &Value,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let target = self.node(&r.target)?;
        let (e, t, matched) = self.match_related(u, r, d.get("where"), "other")?;
        let mut body = format!("{matched} DELETE {e}\n");
        let mut inner = Counters {
            rels_deleted: 1,
            ..Counters::default()
        };
        if let Some(onward) = d.get("disconnect").filter(|x| !x.is_null()) {
            self.each_nested(target, onward, "DisconnectInput", |this, r2, x| {
                this.disconnect(&t, r2, x, &mut body, &mut inner)
            })?;
        }
        let ret = self.export_counters(inner, counters);
        let _ = writeln!(q, "WITH *\nCALL ({u}) {{ {}\n{ret} }}", body.trim_end());
        Ok(())
    }

    /// The nodes a delete input's item dooms through `r` from `x`: the body of a subquery
    /// matching them (and, through the item's own `delete`, the nodes they doom in turn) and
    /// the aggregate expression listing them all.
    fn doomed_through(
        &mut self,
        x: &str,
        r: &Relationship,
        item: &Value,
    ) -> Result<(String, String, bool), CompileError> {
        let target = self.node(&r.target)?;
        let (_, t, matched) = self.match_related(x, r, item.get("where"), "doomed")?;
        let mut body = format!("{matched}\n");
        let onward = self.doomed_by(target, &t, item.get("delete"), &mut body)?;
        Ok((body, doomed_list(&t, &onward), !onward.is_empty()))
    }

    /// Appends one subquery per item of a `<Type>DeleteInput` of the node `x`, each binding a
    /// list of the nodes it dooms; returns those lists' variables.
    fn doomed_by(
        &mut self,
        n: &'a NodeType,
        x: &str,
        input: Option<&Value>,
        q: &mut String,
    ) -> Result<Vec<String>, CompileError> {
        let mut lists = Vec::new();
        let Some(input) = input.filter(|v| !v.is_null()) else {
            return Ok(lists);
        };
        self.each_nested(n, input, "DeleteInput", |this, r, item| {
            let (body, list, _) = this.doomed_through(x, r, item)?;
            let l = this.var("doomedList");
            let _ = writeln!(q, "WITH *\nCALL ({x}) {{\n{body}RETURN {list} AS {l}\n}}");
            lists.push(l);
            Ok(())
        })?;
        Ok(lists)
    }

    /// Detach-deletes the related nodes of `r` matching a delete input's `where`, with the
    /// nodes its own `delete` dooms in turn.
    fn delete_related(
        &mut self,
        u: &str,
        r: &Relationship,
        item: &Value,
        q: &mut String,
        counters: &mut Counters,
    ) -> Result<(), CompileError> {
        let (body, list, merged) = self.doomed_through(u, r, item)?;
        let ts = self.var("doomed");
        let nd = self.var("deletedNodes");
        let rd = self.var("deletedRels");
        let _ = writeln!(
            q,
            "WITH *\nCALL ({u}) {{\n{body}{}RETURN size({ts}) AS {nd}, {rd}\n}}",
            detach_delete(&list, merged, &ts, &rd)
        );
        counters.dyn_nodes_deleted.push(nd);
        counters.dyn_rels_deleted.push(rd);
        Ok(())
    }

    fn delete(
        &mut self,
        n: &'a NodeType,
        f: &FieldSel,
        column: &str,
    ) -> Result<(String, Shape), CompileError> {
        let d = self.var("this");
        let ds = self.var("doomed");
        let rels = self.var("rels");
        let labels = self.labels(n);
        let mut q = format!("MATCH ({d}{labels})\n");
        if let Some(w) = f.arg("where") {
            if let Some(p) = self.node_predicate(n, &d, w)? {
                let _ = writeln!(q, "WHERE {p}");
            }
        }
        let onward = self.doomed_by(n, &d, f.arg("delete"), &mut q)?;
        q.push_str(&detach_delete(
            &doomed_list(&d, &onward),
            !onward.is_empty(),
            &ds,
            &rels,
        ));
        let mut parts = Vec::new();
        for s in &f.selection {
            let e = match s.name.as_str() {
                "nodesDeleted" => format!("size({ds})"),
                "relationshipsDeleted" => rels.clone(),
                _ => continue,
            };
            parts.push((s.key.clone(), e));
        }
        let _ = write!(q, "RETURN {} AS {column}", map_literal(&parts));
        Ok((q, Shape::Plain))
    }
}

/// The aggregate listing the nodes `t` (one per row) and the nodes in the lists `onward` (one
/// per row each): `collect(DISTINCT t) + …`.
fn doomed_list(t: &str, onward: &[String]) -> String {
    if onward.is_empty() {
        return format!("collect(DISTINCT {t})");
    }
    format!(
        "collect(DISTINCT {t}) + reduce(acc = [], l IN collect({}) | acc + l)",
        onward.join(" + ")
    )
}

/// `WITH <list> …`: binds `ds` to the distinct nodes of the aggregate `list` (made of several
/// lists when `merged`), `rels` to how many relationships they have (each counted once), and
/// detach-deletes them.
fn detach_delete(list: &str, merged: bool, ds: &str, rels: &str) -> String {
    let distinct = if merged {
        format!("UNWIND {ds} AS x WITH collect(DISTINCT x) AS {ds}\n")
    } else {
        String::new()
    };
    format!(
        "WITH {list} AS {ds}\n{distinct}\
CALL ({ds}) {{ UNWIND {ds} AS x OPTIONAL MATCH (x)-[rel]-() RETURN count(DISTINCT rel) AS {rels} }}\n\
CALL ({ds}) {{ UNWIND {ds} AS x DETACH DELETE x }}\n"
    )
}
