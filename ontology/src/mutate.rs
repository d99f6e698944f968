//! Compilation of mutations: `createX`, `updateX` (scalar set/add/… operations and relationship
//! connect / disconnect / create / delete) and `deleteX`. Each becomes one `CALL { … }` block of
//! the operation's single statement; the `info` counters are computed in the same statement.

use std::fmt::Write as _;

use serde_json::Value;

use crate::compile::{as_list, map_literal, quote, CompileError, Compiler};
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
                    let (proj, sh) = self.project_node(n, &x, &s.selection)?;
                    parts.push((
                        s.key.clone(),
                        format!("[{x} IN [{}] | {proj}]", nodes.join(", ")),
                    ));
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
            let fi = field_input
                .as_object()
                .ok_or_else(|| invalid(&r.name, "must be an object with connect/create"))?;
            if let Some(creates) = fi.get("create") {
                for c in as_list(creates) {
                    let node_input = c
                        .get("node")
                        .ok_or_else(|| invalid(&r.name, "create needs `node`"))?;
                    let target = self.node(&r.target)?;
                    self.create_node(
                        target,
                        node_input,
                        Some((&v, r, c.get("edge"))),
                        q,
                        counters,
                    )?;
                }
            }
            if let Some(connects) = fi.get("connect") {
                for c in as_list(connects) {
                    let k = self.connect(&v, r, c, q)?;
                    counters.dyn_rels_created.push(k);
                }
            }
        }
        Ok(v)
    }

    /// `CALL (v) { MATCH (t:Label) WHERE … MERGE (v)-[e:T]->(t) SET … RETURN count(*) AS k }`.
    fn connect(
        &mut self,
        v: &str,
        r: &Relationship,
        c: &Value,
        q: &mut String,
    ) -> Result<String, CompileError> {
        let target = self.node(&r.target)?;
        let t = self.var("target");
        let e = self.var("edge");
        let k = self.var("connected");
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
        let _ = write!(body, " MERGE {arrow}");
        let mut edge_sets = String::new();
        if let Some(edge) = c.get("edge").filter(|x| !x.is_null()) {
            self.set_edge_props(r, &e, Some(edge), false, &mut edge_sets)?;
        }
        let _ = writeln!(
            q,
            "WITH *\nCALL ({v}) {{ {body} {} RETURN count(*) AS {k} }}",
            edge_sets.trim()
        );
        Ok(k)
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
                x.as_object()
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
        let mut per_node_nodes_created = 0u64;
        let mut per_node_rels_created = 0u64;
        if let Some(update) = f.arg("update") {
            let obj = update
                .as_object()
                .ok_or_else(|| invalid("update", "must be an object"))?;
            // `@timestamp(operations: [UPDATE])`: every update of the node sets it.
            let mut sets: Vec<String> = n
                .properties()
                .filter(|p| p.timestamp.on_update)
                .map(|p| format!("{u}.{} = datetime()", quote(&p.db_name)))
                .collect();
            for (k, ops) in obj {
                if ops.is_null() {
                    continue;
                }
                if let Some(p) = n.property(k) {
                    sets.extend(self.scalar_update(n, p, &u, ops)?);
                    continue;
                }
                let Some(r) = n.relationship(k) else {
                    return Err(CompileError::UnknownField {
                        owner: format!("{}UpdateInput", n.name),
                        field: k.clone(),
                    });
                };
                // Relationship operations come after the scalar SETs; collect them first.
                let _ = r;
            }
            if !sets.is_empty() {
                let _ = writeln!(q, "SET {}", sets.join(", "));
            }
            for (k, ops) in obj {
                let Some(r) = n.relationship(k) else { continue };
                for op in as_list(ops) {
                    let op = op.as_object().ok_or_else(|| {
                        invalid(k, "must be an object with connect/disconnect/create/delete")
                    })?;
                    if let Some(ds) = op.get("disconnect") {
                        for d in as_list(ds) {
                            let c = self.disconnect(&u, r, d.get("where"), &mut q)?;
                            counters.dyn_rels_deleted.push(c);
                        }
                    }
                    if let Some(ds) = op.get("delete") {
                        for d in as_list(ds) {
                            let (nd, rd) = self.delete_related(&u, r, d.get("where"), &mut q)?;
                            counters.dyn_nodes_deleted.push(nd);
                            counters.dyn_rels_deleted.push(rd);
                        }
                    }
                    if let Some(cs) = op.get("connect") {
                        for c in as_list(cs) {
                            if !r.list {
                                let d = self.disconnect(&u, r, None, &mut q)?;
                                counters.dyn_rels_deleted.push(d);
                            }
                            let k = self.connect(&u, r, c, &mut q)?;
                            counters.dyn_rels_created.push(k);
                        }
                    }
                    if let Some(cs) = op.get("create") {
                        for c in as_list(cs) {
                            let node_input = c
                                .get("node")
                                .ok_or_else(|| invalid(k, "create needs `node`"))?;
                            let target = self.node(&r.target)?;
                            let mut inner = Counters::default();
                            let mut body = String::new();
                            self.create_node(
                                target,
                                node_input,
                                Some((&u, r, c.get("edge"))),
                                &mut body,
                                &mut inner,
                            )?;
                            if !inner.dyn_rels_created.is_empty() {
                                // Nested connects inside a nested create are counted per node.
                                counters
                                    .dyn_rels_created
                                    .extend(inner.dyn_rels_created.iter().cloned());
                            }
                            let _ = writeln!(q, "WITH *\nCALL ({u}) {{\n{body}}}");
                            per_node_nodes_created += inner.nodes_created;
                            per_node_rels_created += inner.rels_created;
                        }
                    }
                }
            }
        }
        // Aggregate everything into one row, even when nothing matched.
        let x = u.clone();
        let mut parts = Vec::new();
        let mut shape = Shape::Plain;
        let mut aggregates = vec![format!("count({u}) AS updated")];
        let mut sums = |vars: &[String], name: &str| -> String {
            if vars.is_empty() {
                return "0".to_string();
            }
            aggregates.push(format!("sum({}) AS {name}", vars.join(" + ")));
            name.to_string()
        };
        let rc = sums(&counters.dyn_rels_created, "relsConnected");
        let rd = sums(&counters.dyn_rels_deleted, "relsDeleted");
        let nd = sums(&counters.dyn_nodes_deleted, "nodesDeleted");
        let mut projection = None;
        for s in &f.selection {
            if s.name == n.plural {
                let (proj, sh) = self.project_node(n, &x, &s.selection)?;
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
                            "nodesCreated" => format!("updated * {per_node_nodes_created}"),
                            "relationshipsCreated" => {
                                format!("updated * {per_node_rels_created} + {rc}")
                            }
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
        let mut connected = Vec::new();
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
                    sets.extend(self.scalar_update(n, p, &v, ops)?);
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
                    for c in as_list(cs) {
                        connected.push(self.connect(&v, r, c, &mut q)?);
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
                "relationshipsCreated" => Some(sum_expr(0, &connected)),
                _ => None,
            },
            column,
            &mut q,
        )?;
        Ok((q, shape))
    }

    fn scalar_update(
        &mut self,
        n: &NodeType,
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
                                format!(
                                    "{}.{} is required and cannot be set to null",
                                    n.name, p.name
                                ),
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

    /// Deletes the relationships of `r` from `u` matching a connection `where`; returns the
    /// variable holding how many were deleted.
    fn disconnect(
        &mut self,
        u: &str,
        r: &Relationship,
        w: Option<&Value>,
        q: &mut String,
    ) -> Result<String, CompileError> {
        let e = self.var("edge");
        let t = self.var("other");
        let k = self.var("disconnected");
        let pattern = self.pattern(u, r, &e, &t, true)?;
        let pred = self.connection_predicate(r, &e, &t, w)?;
        let where_ = pred.map(|p| format!(" WHERE {p}")).unwrap_or_default();
        let _ = writeln!(q, "WITH *\nCALL ({u}) {{ OPTIONAL MATCH {pattern}{where_} DELETE {e} RETURN count({e}) AS {k} }}");
        Ok(k)
    }

    /// Detach-deletes the related nodes of `r` matching a connection `where`.
    fn delete_related(
        &mut self,
        u: &str,
        r: &Relationship,
        w: Option<&Value>,
        q: &mut String,
    ) -> Result<(String, String), CompileError> {
        let e = self.var("edge");
        let t = self.var("other");
        let ts = self.var("doomed");
        let nd = self.var("deletedNodes");
        let rd = self.var("deletedRels");
        let pattern = self.pattern(u, r, &e, &t, true)?;
        let pred = self.connection_predicate(r, &e, &t, w)?;
        let where_ = pred.map(|p| format!(" WHERE {p}")).unwrap_or_default();
        let _ = writeln!(
            q,
            "WITH *\nCALL ({u}) {{ OPTIONAL MATCH {pattern}{where_} WITH collect(DISTINCT {t}) AS {ts} \
CALL ({ts}) {{ UNWIND {ts} AS x OPTIONAL MATCH (x)-[rel]-() RETURN count(DISTINCT rel) AS {rd} }} \
CALL ({ts}) {{ UNWIND {ts} AS x DETACH DELETE x }} RETURN size({ts}) AS {nd}, {rd} }}"
        );
        Ok((nd, rd))
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
        let _ = writeln!(
            q,
            "WITH collect({d}) AS {ds}\n\
CALL ({ds}) {{ UNWIND {ds} AS x OPTIONAL MATCH (x)-[rel]-() RETURN count(DISTINCT rel) AS {rels} }}\n\
CALL ({ds}) {{ UNWIND {ds} AS x DETACH DELETE x }}"
        );
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
