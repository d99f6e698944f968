//! The GraphQL API generated from an ontology, as SDL text. Its core follows the query API of
//! @neo4j/graphql v7 (non-deprecated shape): list and connection root queries, `where` filters
//! with `eq`/`in`/`contains`/… operators, relationship filters `some`/`all`/`none`/`single`,
//! `sort`, `limit`/`offset`, nested relationship fields and connections, and create, update and
//! delete mutations.
//!
//! Naming is shared with the compiler through the functions at the bottom of this module.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::{
    upper_first, CypherField, CypherResult, NodeType, Ontology, Property, Relationship, Scalar,
    SearchKind, NODE_INTERFACE,
};

/// Builds the API SDL for an ontology.
pub fn api_sdl(o: &Ontology) -> String {
    let mut b = Sdl {
        unions: o.unions.keys().cloned().collect(),
        shared: o
            .interfaces
            .values()
            .flat_map(|i| {
                i.relationships.iter().flat_map(move |dr| {
                    let prefix = format!("{}{}", i.name, upper_first(&dr.name));
                    i.implementors
                        .iter()
                        .map(move |m| ((m.clone(), dr.name.clone()), prefix.clone()))
                })
            })
            .collect(),
        ..Sdl::default()
    };
    b.query_and_mutation(o);
    b.shared_types(o);
    for e in o.enums.values() {
        b.description(&e.description, "");
        let _ = writeln!(b.out, "enum {} {{", e.name);
        for v in &e.values {
            let _ = writeln!(b.out, "  {v}");
        }
        b.out.push_str("}\n\n");
    }
    for ob in o.objects.values() {
        b.description(&ob.description, "");
        let _ = writeln!(b.out, "type {} {{", ob.name);
        for (name, ty) in &ob.fields {
            let _ = writeln!(b.out, "  {name}: {ty}");
        }
        b.out.push_str("}\n\n");
    }
    if o.nodes.values().any(|n| n.relay_id().is_some()) {
        let _ = writeln!(b.out, "interface {NODE_INTERFACE} {{\n  id: ID!\n}}\n");
    }
    for i in o.interfaces.values() {
        b.interface_types(o, i);
    }
    for u in o.unions.values() {
        b.description(&u.description, "");
        let _ = writeln!(b.out, "union {} = {}\n", u.name, u.members.join(" | "));
        let mut w = format!("input {}Where {{\n", u.name);
        for m in &u.members {
            let _ = writeln!(w, "  {m}: {m}Where");
        }
        w.push_str("}\n\n");
        b.out.push_str(&w);
    }
    for rp in o.relationship_properties.values() {
        b.description(&rp.description, "");
        let _ = writeln!(b.out, "type {} {{", rp.name);
        for p in &rp.properties {
            b.property_field(p);
        }
        for c in &rp.cypher_fields {
            b.cypher_field_sdl(c);
        }
        b.out.push_str("}\n\n");
        // Scalar `@cypher` fields filter and sort as properties do.
        let mut read = rp.properties.clone();
        read.extend(rp.cypher_fields.iter().filter_map(|c| c.as_property()));
        b.where_input(&rp.name, &read, &[], "", &[]);
        // Relationship properties sort by list fields too, as in the library.
        b.sort_input(&rp.name, &read, true);
        b.create_input(&format!("{}CreateInput", rp.name), &rp.properties, None);
        b.update_input(
            &format!("{}UpdateInput", rp.name),
            &rp.properties,
            Vec::new(),
        );
    }
    for n in o.nodes.values() {
        b.node_types(o, n);
    }
    b.scalar_inputs();
    prune_unreachable(b.out.trim_end()) + "\n"
}

/// Drops the types no root field reaches (through field, argument and input field types, union
/// members and an interface's implementations), as the library's schema does: a type whose only
/// user an `@query`/`@mutation`/`@selectable` setting removed is not in the API either.
fn prune_unreachable(sdl: &str) -> String {
    use async_graphql_parser::types::{
        BaseType, FieldDefinition, Type, TypeKind, TypeSystemDefinition,
    };
    use async_graphql_parser::Positioned;
    use std::collections::{BTreeMap, BTreeSet};
    let Ok(doc) = async_graphql_parser::parse_schema(sdl) else {
        // Generated text always parses; if it ever did not, the schema build says why.
        return sdl.to_owned();
    };
    fn named(t: &Type) -> &str {
        match &t.base {
            BaseType::Named(n) => n.as_str(),
            BaseType::List(inner) => named(inner),
        }
    }
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut starts: Vec<(usize, String)> = Vec::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = &t.node;
        let name = t.name.node.to_string();
        let line = t
            .description
            .as_ref()
            .map_or(t.name.pos.line, |d| d.pos.line);
        starts.push((line, name.clone()));
        let used = uses.entry(name.clone()).or_default();
        let fields_use = |fields: &[Positioned<FieldDefinition>], used: &mut BTreeSet<String>| {
            for f in fields {
                used.insert(named(&f.node.ty.node).to_owned());
                used.extend(
                    f.node
                        .arguments
                        .iter()
                        .map(|a| named(&a.node.ty.node).to_owned()),
                );
            }
        };
        match &t.kind {
            TypeKind::Object(o) => {
                used.extend(o.implements.iter().map(|i| i.node.to_string()));
                fields_use(&o.fields, used);
            }
            TypeKind::Interface(i) => fields_use(&i.fields, used),
            TypeKind::InputObject(io) => {
                used.extend(io.fields.iter().map(|f| named(&f.node.ty.node).to_owned()));
            }
            TypeKind::Union(u) => used.extend(u.members.iter().map(|m| m.node.to_string())),
            TypeKind::Scalar | TypeKind::Enum(_) => {}
        }
        // An implementation is reachable with its interface.
        if let TypeKind::Object(o) = &t.kind {
            for i in &o.implements {
                uses.entry(i.node.to_string())
                    .or_default()
                    .insert(name.clone());
            }
        }
    }
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = vec!["Query".to_owned(), "Mutation".to_owned()];
    while let Some(t) = todo.pop() {
        if reached.insert(t.clone()) {
            todo.extend(uses.get(&t).into_iter().flatten().cloned());
        }
    }
    if starts.iter().all(|(_, n)| reached.contains(n)) {
        return sdl.to_owned();
    }
    let lines: Vec<&str> = sdl.lines().collect();
    let mut out = String::with_capacity(sdl.len());
    for (i, (start, name)) in starts.iter().enumerate() {
        if !reached.contains(name) {
            continue;
        }
        let end = starts.get(i + 1).map_or(lines.len() + 1, |(l, _)| *l);
        let block = lines[start - 1..end - 1].join("\n");
        out.push_str(block.trim_end());
        out.push_str("\n\n");
    }
    out.trim_end().to_owned()
}

#[derive(Default)]
struct Sdl {
    out: String,
    /// Scalar filter/mutation inputs used, emitted once at the end.
    scalar_inputs: BTreeSet<String>,
    /// `XRelationshipFilters` / `XConnectWhere` inputs already emitted.
    emitted: BTreeSet<String>,
    /// The ontology's unions (a relationship to one has per-member inputs).
    unions: BTreeSet<String>,
    /// `(node type, relationship)` implementing a relationship an interface declares, with the
    /// interface's prefix (`ProductionActors`): its connection, connection `where` and `sort`,
    /// and delete and disconnect inputs are the interface's, as in the library.
    shared: std::collections::BTreeMap<(String, String), String>,
}

impl Sdl {
    /// The prefix of the connection types and of the delete/disconnect inputs of relationship
    /// `r` of `n`: the declaring interface's when it implements a declared relationship, else
    /// its own.
    fn shared_prefix(&self, n: &NodeType, r: &Relationship) -> String {
        self.shared
            .get(&(n.name.clone(), r.name.clone()))
            .cloned()
            .unwrap_or_else(|| rel_input_prefix(n, r))
    }
}

impl Sdl {
    fn description(&mut self, d: &Option<String>, indent: &str) {
        if let Some(d) = d {
            let escaped = d.replace("\"\"\"", "\\\"\"\"");
            let _ = writeln!(
                self.out,
                "{indent}\"\"\"\n{indent}{escaped}\n{indent}\"\"\""
            );
        }
    }

    fn query_and_mutation(&mut self, o: &Ontology) {
        self.out.push_str("type Query {\n");
        if o.nodes.values().any(|n| n.relay_id().is_some()) {
            let _ = writeln!(self.out, "  node(id: ID!): {NODE_INTERFACE}");
        }
        for i in o.interfaces.values() {
            let (p, t) = (&i.plural, &i.name);
            let pt = upper_first(p);
            let _ = writeln!(
                self.out,
                "  {p}(where: {t}Where, limit: Int, offset: Int, sort: [{t}Sort!]): [{t}!]!"
            );
            let _ = writeln!(self.out, "  {p}Connection(first: Int, after: String, where: {t}Where, sort: [{t}Sort!]): {pt}Connection!");
        }
        for u in o.unions.values() {
            let _ = writeln!(
                self.out,
                "  {}(where: {u}Where, limit: Int, offset: Int): [{u}!]!",
                u.plural,
                u = u.name
            );
        }
        for n in o.nodes.values().filter(|n| n.operations.read) {
            let p = &n.plural;
            let pt = n.plural_type_name();
            let t = &n.name;
            let _ = writeln!(
                self.out,
                "  {p}(where: {t}Where, limit: Int, offset: Int, sort: [{t}Sort!]): [{t}!]!"
            );
            let _ = writeln!(self.out, "  {p}Connection(first: Int, after: String, where: {t}Where, sort: [{t}Sort!]): {pt}Connection!");
        }
        for n in o.nodes.values().filter(|n| n.operations.read) {
            let (t, pt) = (&n.name, n.plural_type_name());
            for s in &n.search_indexes {
                let q = &s.query_name;
                let paging = format!(
                    "where: {t}IndexWhere, sort: [{t}IndexSort!], first: Int, after: String"
                );
                let _ = match s.kind {
                    SearchKind::Fulltext { .. } => writeln!(
                        self.out,
                        "  {q}(phrase: String!, {paging}): {pt}IndexConnection!"
                    ),
                    SearchKind::Vector { .. } => writeln!(
                        self.out,
                        "  {q}({paging}, vector: [Float!]): {pt}IndexConnection!"
                    ),
                };
            }
        }
        for c in &o.query_fields {
            self.cypher_field_sdl(c);
        }
        self.out.push_str("}\n\n");
        let mut mutation = String::new();
        for c in &o.mutation_fields {
            let _ = writeln!(mutation, "  {}", cypher_field_definition(c));
        }
        for n in o.nodes.values() {
            let pt = n.plural_type_name();
            let t = &n.name;
            let ops = &n.operations;
            if ops.create {
                let _ = writeln!(
                    mutation,
                    "  create{pt}(input: [{t}CreateInput!]!): Create{pt}MutationResponse!"
                );
            }
            if ops.update {
                let _ = writeln!(mutation, "  update{pt}(where: {t}Where, update: {t}UpdateInput): Update{pt}MutationResponse!");
            }
            if ops.delete {
                let cascade = if n.nested_deletes().next().is_some() {
                    format!(", delete: {t}DeleteInput")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    mutation,
                    "  delete{pt}(where: {t}Where{cascade}): DeleteInfo!"
                );
            }
            if n.upsertable() {
                let _ = writeln!(
                    mutation,
                    "  upsert{pt}(input: [{t}UpsertInput!]!): Upsert{pt}MutationResponse!"
                );
            }
        }
        // `@mutation(operations: [])` everywhere: no Mutation type at all.
        if !mutation.is_empty() {
            let _ = write!(self.out, "type Mutation {{\n{mutation}}}\n\n");
        }
    }

    fn shared_types(&mut self, o: &Ontology) {
        let uses = |s: Scalar| {
            let name = s.graphql_name();
            let scalar = CypherResult::Scalar(s.clone());
            let bare = |ty: &str| ty.trim_matches(|c| c == '[' || c == ']' || c == '!') == name;
            let cypher = |c: &CypherField| c.result == scalar || c.args.iter().any(|a| bare(&a.ty));
            o.nodes.values().any(|n| {
                n.properties().any(|p| p.scalar == s) || n.cypher_fields.iter().any(cypher)
            }) || o.query_fields.iter().chain(&o.mutation_fields).any(cypher)
                || o.relationship_properties
                    .values()
                    .any(|r| r.properties.iter().any(|p| p.scalar == s))
                || o.objects
                    .values()
                    .any(|ob| ob.fields.iter().any(|(_, ty)| bare(ty)))
        };
        if uses(Scalar::DateTime) {
            self.out.push_str("\"\"\"\nA date and time, as an ISO-8601 string in UTC: `2024-05-01T08:20:30.500Z`.\n\"\"\"\nscalar DateTime\n\n");
        }
        if uses(Scalar::Point) {
            self.out.push_str(
                "\"\"\"\nA WGS-84 point: longitude and latitude in degrees, height in metres.\n\"\"\"\n\
type Point {\n  longitude: Float!\n  latitude: Float!\n  height: Float\n  crs: String!\n  srid: Int!\n}\n\n\
input PointInput {\n  longitude: Float!\n  latitude: Float!\n  height: Float\n}\n\n\
input PointDistanceFilters {\n  from: PointInput!\n  gt: Float\n  gte: Float\n  lt: Float\n  lte: Float\n  eq: Float\n}\n\n",
            );
        }
        if uses(Scalar::CartesianPoint) {
            self.out.push_str(
                "\"\"\"\nA point in a Cartesian plane or space.\n\"\"\"\n\
type CartesianPoint {\n  x: Float!\n  y: Float!\n  z: Float\n  crs: String!\n  srid: Int!\n}\n\n\
input CartesianPointInput {\n  x: Float!\n  y: Float!\n  z: Float\n}\n\n\
input CartesianDistancePointFilters {\n  from: CartesianPointInput!\n  gt: Float\n  gte: Float\n  lt: Float\n  lte: Float\n}\n\n",
            );
        }
        for (scalar, description) in [
            (Scalar::Date, "A date, as an ISO-8601 string: `2024-05-01`."),
            (
                Scalar::Time,
                "A time with an offset, as an RFC 3339 string: `08:20:30Z`, `08:20:30.5+02:00`.",
            ),
            (Scalar::LocalTime, "A time without a time zone: `08:20:30`."),
            (
                Scalar::LocalDateTime,
                "A date and time without a time zone: `2024-05-01T08:20:30`.",
            ),
            (
                Scalar::Duration,
                "A duration, as an ISO-8601 duration string: `P1Y2M3DT4H5M6S`.",
            ),
        ] {
            if uses(scalar.clone()) {
                let _ = write!(
                    self.out,
                    "\"\"\"\n{description}\n\"\"\"\nscalar {}\n\n",
                    scalar.graphql_name()
                );
            }
        }
        if uses(Scalar::BigInt) {
            self.out.push_str(
                "\"\"\"\nA 64-bit integer, as a string or number.\n\"\"\"\nscalar BigInt\n\n",
            );
        }
        self.out.push_str(
            "enum SortDirection {\n  ASC\n  DESC\n}\n\n\
type PageInfo {\n  hasNextPage: Boolean!\n  hasPreviousPage: Boolean!\n  startCursor: String\n  endCursor: String\n}\n\n\
type Count {\n  nodes: Int!\n}\n\n\
type CountConnection {\n  nodes: Int!\n  edges: Int!\n}\n\n\
type CreateInfo {\n  nodesCreated: Int!\n  relationshipsCreated: Int!\n}\n\n\
type UpdateInfo {\n  nodesCreated: Int!\n  nodesDeleted: Int!\n  relationshipsCreated: Int!\n  relationshipsDeleted: Int!\n}\n\n\
type DeleteInfo {\n  nodesDeleted: Int!\n  relationshipsDeleted: Int!\n}\n\n",
        );
    }

    /// The result and input types of a node type's full-text and vector search fields (one
    /// set per type, shared by its indexes, as in the library).
    fn search_types(&mut self, n: &NodeType) {
        if n.search_indexes.is_empty() {
            return;
        }
        let (t, pt) = (&n.name, n.plural_type_name());
        let _ = writeln!(
            self.out,
            "type {pt}IndexConnection {{\n  totalCount: Int!\n  pageInfo: PageInfo!\n  edges: [{t}IndexEdge!]!\n}}\n\n\
type {t}IndexEdge {{\n  cursor: String!\n  node: {t}!\n  score: Float!\n}}\n\n\
\"\"\"\nThe input for filtering a full-text query on an index of {t}\n\"\"\"\n\
input {t}IndexWhere {{\n  score: FloatWhere\n  node: {t}Where\n}}\n\n\
\"\"\"\nThe input for sorting a Fulltext query on an index of {t}\n\"\"\"\n\
input {t}IndexSort {{\n  score: SortDirection\n  node: {t}Sort\n}}\n"
        );
        if self.emitted.insert("FloatWhere".to_owned()) {
            self.out.push_str("\"\"\"\nThe input for filtering a float\n\"\"\"\ninput FloatWhere {\n  min: Float\n  max: Float\n}\n\n");
        }
    }

    fn property_field(&mut self, p: &Property) {
        if !p.exposure.read {
            return;
        }
        self.description(&p.description, "  ");
        let _ = writeln!(self.out, "  {}: {}", p.name, output_type(p));
    }

    fn node_types(&mut self, o: &Ontology, n: &NodeType) {
        let t = &n.name;
        let pt = n.plural_type_name();
        // The object type.
        self.description(&n.description, "");
        let mut interfaces = n.implements.clone();
        if n.relay_id().is_some() {
            interfaces.push(NODE_INTERFACE.to_owned());
        }
        let implements = if interfaces.is_empty() {
            String::new()
        } else {
            format!(" implements {}", interfaces.join(" & "))
        };
        let _ = writeln!(self.out, "type {t}{implements} {{");
        for f in &n.fields {
            match f {
                crate::model::Field::Property(p) => self.property_field(p),
                crate::model::Field::Relationship(r) => {
                    self.description(&r.description, "  ");
                    let target = &r.target;
                    let conn = format!("{}Connection", self.shared_prefix(n, r));
                    if self.unions.contains(target) {
                        // No sort over a union's members, as in the library.
                        if r.list {
                            let _ = writeln!(
                                self.out,
                                "  {}(where: {target}Where, limit: Int, offset: Int): [{target}!]!",
                                r.name
                            );
                        } else {
                            let _ = writeln!(self.out, "  {}: {target}", r.name);
                        }
                        // Sorted by the relationship's properties only.
                        let sort = if r.properties.is_some() {
                            format!(", sort: [{conn}Sort!]")
                        } else {
                            String::new()
                        };
                        let _ = writeln!(self.out, "  {}Connection(where: {conn}Where, first: Int, after: String{sort}): {conn}!", r.name);
                        continue;
                    }
                    if r.list {
                        let _ = writeln!(self.out, "  {}(where: {target}Where, limit: Int, offset: Int, sort: [{target}Sort!]): [{target}!]!", r.name);
                    } else {
                        let _ = writeln!(self.out, "  {}: {target}", r.name);
                    }
                    let _ = writeln!(self.out, "  {}Connection(where: {conn}Where, first: Int, after: String, sort: [{conn}Sort!]): {conn}!", r.name);
                }
            }
        }
        for c in &n.cypher_fields {
            self.cypher_field_sdl(c);
        }
        if n.relay_id().is_some() {
            self.out.push_str("  id: ID!\n");
        }
        self.out.push_str("}\n\n");

        // Root connection.
        let _ = writeln!(
            self.out,
            "type {t}Edge {{\n  cursor: String!\n  node: {t}!\n}}\n"
        );
        self.search_types(n);
        self.root_aggregate(t, n.properties());
        let aggregate = if n.operations.aggregate {
            format!("  aggregate: {t}Aggregate!\n")
        } else {
            String::new()
        };
        let _ = writeln!(self.out, "type {pt}Connection {{\n  edges: [{t}Edge!]!\n  totalCount: Int!\n  pageInfo: PageInfo!\n{aggregate}}}\n");
        if n.operations.create {
            let _ = writeln!(
                self.out,
                "type Create{pt}MutationResponse {{\n  info: CreateInfo!\n  {}: [{t}!]!\n}}\n",
                n.plural
            );
        }
        if n.operations.update {
            let _ = writeln!(
                self.out,
                "type Update{pt}MutationResponse {{\n  info: UpdateInfo!\n  {}: [{t}!]!\n}}\n",
                n.plural
            );
        }
        if n.upsertable() {
            self.upsert_types(n);
        }

        // Relationship connections.
        for r in n.relationships() {
            let conn = rel_connection_type(n, r);
            let target = &r.target;
            let rel = upper_first(&r.name);
            let props = r
                .properties
                .as_ref()
                .map(|p| format!("\n  properties: {p}!"))
                .unwrap_or_default();
            let fi = rel_input_prefix(n, r);
            let (l, r_) = if r.list { ("[", "!]") } else { ("", "") };
            let shared = self.shared.contains_key(&(n.name.clone(), r.name.clone()));
            match o.union_members(r) {
                // The connection types are the declaring interface's.
                None if shared => {
                    let s = self.shared_prefix(n, r);
                    self.relationship_inputs(o, r, &fi, edge_types(o, r).as_ref(), Some(&s));
                }
                None => {
                    // As in the library, a single relationship's connection has no aggregate.
                    let prefix = format!("{t}{target}{rel}");
                    let aggregate = if r.aggregate && r.list {
                        format!("  aggregate: {prefix}AggregateSelection!\n")
                    } else {
                        String::new()
                    };
                    let _ = writeln!(self.out, "type {conn} {{\n  edges: [{t}{rel}Relationship!]!\n  totalCount: Int!\n  pageInfo: PageInfo!\n{aggregate}}}\n");
                    let mut s =
                        format!("type {prefix}AggregateSelection {{\n  count: CountConnection!\n");
                    let node = format!("{prefix}NodeAggregateSelection");
                    if self.aggregate_fields(&node, o.target_properties(target)) {
                        let _ = writeln!(s, "  node: {node}");
                    }
                    let edge = format!("{prefix}EdgeAggregateSelection");
                    if self.aggregate_fields(&edge, o.edge_properties(r)) {
                        let _ = writeln!(s, "  edge: {edge}");
                    }
                    s.push_str("}\n\n");
                    self.out.push_str(&s);
                    self.connection_where(&fi, target, edge_types(o, r).as_ref());
                    let mut s = format!("input {conn}Sort {{\n  node: {target}Sort\n");
                    if let Some(p) = &r.properties {
                        let _ = writeln!(s, "  edge: {p}Sort");
                    }
                    s.push_str("}\n\n");
                    self.out.push_str(&s);
                    self.relationship_inputs(o, r, &fi, edge_types(o, r).as_ref(), None);
                }
                Some(members) => {
                    // A union: the connection has no sort nor aggregate, and its `where` and
                    // mutation inputs have one field per member.
                    let _ = writeln!(self.out, "type {conn} {{\n  edges: [{t}{rel}Relationship!]!\n  totalCount: Int!\n  pageInfo: PageInfo!\n}}\n");
                    if let Some(p) = &r.properties {
                        let _ = writeln!(self.out, "input {conn}Sort {{\n  edge: {p}Sort\n}}\n");
                    }
                    let mut w = format!("input {conn}Where {{\n");
                    let mut inputs: [String; 5] = Default::default();
                    let names = ["Create", "Update", "Delete", "Connect", "Disconnect"];
                    for m in &members {
                        let mt = &m.target;
                        let fim = format!("{fi}{mt}");
                        let _ = writeln!(w, "  {mt}: {fim}ConnectionWhere");
                        let edge = edge_types(o, m);
                        self.connection_where(&fim, mt, edge.as_ref());
                        self.relationship_inputs(o, m, &fim, edge.as_ref(), None);
                        let ops = &m.nested;
                        let member_inputs = [
                            ops.on_create().then(|| format!("{fim}FieldInput")),
                            ops.on_update()
                                .then(|| format!("{l}{fim}UpdateFieldInput{r_}")),
                            ops.delete.then(|| format!("{l}{fim}DeleteFieldInput{r_}")),
                            ops.connect
                                .then(|| format!("{l}{fim}ConnectFieldInput{r_}")),
                            ops.disconnect
                                .then(|| format!("{l}{fim}DisconnectFieldInput{r_}")),
                        ];
                        for (acc, ty) in inputs.iter_mut().zip(member_inputs) {
                            if let Some(ty) = ty {
                                let _ = writeln!(acc, "  {mt}: {ty}");
                            }
                        }
                    }
                    w.push_str("}\n\n");
                    self.out.push_str(&w);
                    for (name, fields) in names.iter().zip(inputs) {
                        if !fields.is_empty() {
                            let _ = writeln!(self.out, "input {fi}{name}Input {{\n{fields}}}\n");
                        }
                    }
                }
            }
            if !shared {
                let _ = writeln!(
                    self.out,
                    "type {t}{rel}Relationship {{\n  cursor: String!\n  node: {target}!{props}\n}}\n"
                );
            }
            let w = format!("{}ConnectionWhere", self.shared_prefix(n, r));
            // Aggregation filters: not over a union's members, as in the library.
            let aggregate = if r.list && !self.unions.contains(target) {
                let node = format!("{}NodeAggregationWhereInput", rel_input_prefix(n, r));
                let node = self
                    .aggregation_where(&node, o.target_properties(target))
                    .then_some(node);
                let edge = r.properties.as_ref().and_then(|p| {
                    let name = format!("{p}AggregationWhereInput");
                    self.aggregation_where(&name, o.edge_properties(r))
                        .then_some(name)
                });
                self.connection_aggregate_input(&conn, node.as_deref(), edge.as_deref());
                format!("  aggregate: {conn}AggregateInput\n")
            } else {
                String::new()
            };
            let _ = writeln!(
                self.out,
                "input {conn}Filters {{\n  all: {w}\n  none: {w}\n  single: {w}\n  some: {w}\n{aggregate}}}\n"
            );
            self.relationship_filters(target);
        }

        // What nested connects, disconnects and deletes continue with from this type.
        let onward = |rels: Vec<&Relationship>, input: &str| {
            let mut s = format!("input {t}{input} {{\n");
            for r in &rels {
                let what = input.trim_end_matches("Input");
                let _ = writeln!(s, "  {}: {}", r.name, self.rel_input(n, r, what));
            }
            s.push_str("}\n\n");
            if rels.is_empty() {
                String::new()
            } else {
                s
            }
        };
        let connect = onward(n.nested_connects().collect(), "ConnectInput");
        let disconnect = onward(n.nested_disconnects().collect(), "DisconnectInput");
        let delete = onward(n.nested_deletes().collect(), "DeleteInput");
        self.out.push_str(&(connect + &disconnect + &delete));

        // Where, sort, create, update.
        let props: Vec<Property> = n.properties().cloned().collect();
        let rels: Vec<&Relationship> = n.relationships().collect();
        // Scalar @cypher fields are filtered (without arguments) and sorted (when every
        // argument may be left out) on too.
        let mut read: Vec<Property> = props.clone();
        read.extend(n.cypher_fields.iter().filter_map(|c| c.as_property()));
        self.where_input(t, &read, &rels, &n.name, &n.cypher_fields);
        read.retain(|p| {
            n.cypher_field(&p.name).is_none_or(|c| {
                c.args
                    .iter()
                    .all(|a| a.default.is_some() || !a.ty.ends_with('!'))
            })
        });
        self.sort_input(t, &read, false);
        self.create_input(&format!("{t}CreateInput"), &props, Some(n));
        let rels = n
            .relationships()
            .filter(|r| r.nested.on_update())
            .map(|r| (r.name.clone(), self.rel_input(n, r, "Update")))
            .collect();
        self.update_input(&format!("{t}UpdateInput"), &props, rels);
    }

    /// `upsert<Plural>` (Ontograph's own: the library has no upsert): merge on one key, set
    /// `onCreate` when the node is new and `onUpdate` when it exists, connect either way.
    fn upsert_types(&mut self, n: &NodeType) {
        let t = &n.name;
        let pt = n.plural_type_name();
        let mut s = format!("\"\"\"\nOne key of a {t}: exactly one field is given.\n\"\"\"\ninput {t}UniqueWhere {{\n");
        for p in n.properties().filter(|p| p.is_key()) {
            let _ = writeln!(s, "  {}: {}", p.name, p.scalar.input_name());
        }
        s.push_str("}\n\n");
        let _ = write!(s, "\"\"\"\nWhat a new {t} gets besides its key: the create input's fields, each optional here (the required ones not given by `where` must be given).\n\"\"\"\ninput {t}UpsertCreateInput {{\n");
        let mut any = false;
        for p in n
            .properties()
            .filter(|p| !p.autogenerate && !p.timestamp.on_create && p.exposure.create)
        {
            let default = p
                .default
                .as_ref()
                .map(|d| format!(" = {}", graphql_literal(d, &p.scalar)))
                .unwrap_or_default();
            let _ = writeln!(s, "  {}: {}{default}", p.name, input_type(p));
            any = true;
        }
        if !any {
            s.push_str("  _emptyInput: Boolean\n");
        }
        s.push_str("}\n\n");
        let connects: Vec<String> = n
            .relationships()
            .filter(|r| r.nested.connect)
            .map(|r| format!("  {}: {}\n", r.name, self.rel_input(n, r, "Connect")))
            .collect();
        let connect = if connects.is_empty() {
            ""
        } else {
            let _ = write!(
                s,
                "\"\"\"\nRelationships a {t} gets whether it was created or updated (connecting twice connects once).\n\"\"\"\ninput {t}UpsertConnectInput {{\n{}}}\n\n",
                connects.concat()
            );
            "\n  connect: {t}UpsertConnectInput"
        };
        let connect = connect.replace("{t}", t);
        self.out.push_str(&s);
        s = String::new();
        let props: Vec<Property> = n.properties().cloned().collect();
        self.update_input(&format!("{t}UpsertUpdateInput"), &props, Vec::new());
        let _ = write!(
            s,
            "input {t}UpsertInput {{\n  where: {t}UniqueWhere!\n  onCreate: {t}UpsertCreateInput\n  onUpdate: {t}UpsertUpdateInput{connect}\n}}\n\n\
type Upsert{pt}MutationResponse {{\n  info: UpsertInfo!\n  {}: [{t}!]!\n}}\n\n",
            n.plural
        );
        if self.emitted.insert("UpsertInfo".to_owned()) {
            s.push_str("type UpsertInfo {\n  nodesCreated: Int!\n  nodesUpdated: Int!\n  relationshipsCreated: Int!\n}\n\n");
        }
        self.out.push_str(&s);
    }

    /// An interface, its root connection's types, and the inputs that filter, sort, create
    /// (one field per implementation) and update (its fields) its implementations.
    fn interface_types(&mut self, o: &Ontology, i: &crate::model::InterfaceType) {
        let t = &i.name;
        let pt = upper_first(&i.plural);
        self.description(&i.description, "");
        let _ = writeln!(self.out, "interface {t} {{");
        for p in &i.properties {
            self.property_field(p);
        }
        for dr in &i.relationships {
            self.description(&dr.description, "  ");
            let target = &dr.target;
            let conn = format!("{t}{}Connection", upper_first(&dr.name));
            // No sort over a union's members, as in the library.
            let sort = if self.unions.contains(target) {
                String::new()
            } else {
                format!(", sort: [{target}Sort!]")
            };
            if dr.list {
                let _ = writeln!(
                    self.out,
                    "  {}(where: {target}Where, limit: Int, offset: Int{sort}): [{target}!]!",
                    dr.name
                );
            } else {
                let _ = writeln!(self.out, "  {}: {target}", dr.name);
            }
            let _ = writeln!(self.out, "  {}Connection(where: {conn}Where, first: Int, after: String, sort: [{conn}Sort!]): {conn}!", dr.name);
        }
        self.out.push_str("}\n\n");
        let _ = writeln!(
            self.out,
            "enum {t}Implementation {{\n{}}}\n",
            i.implementors
                .iter()
                .map(|m| format!("  {m}\n"))
                .collect::<String>()
        );
        let _ = writeln!(
            self.out,
            "type {t}Edge {{\n  cursor: String!\n  node: {t}!\n}}\n"
        );
        self.root_aggregate(t, &i.properties);
        let _ = writeln!(self.out, "type {pt}Connection {{\n  edges: [{t}Edge!]!\n  totalCount: Int!\n  pageInfo: PageInfo!\n  aggregate: {t}Aggregate!\n}}\n");
        let mut w = format!("input {t}Where {{\n");
        for p in i.properties.iter().filter(|p| p.exposure.filter) {
            let f = filter_input(p);
            let _ = writeln!(w, "  {}: {f}", p.name);
            self.scalar_inputs.insert(f);
        }
        let _ = writeln!(
            w,
            "  OR: [{t}Where!]\n  AND: [{t}Where!]\n  NOT: {t}Where\n  typename: [{t}Implementation!]"
        );
        for dr in &i.relationships {
            let conn = format!("{t}{}Connection", upper_first(&dr.name));
            if dr.list {
                let _ = writeln!(w, "  {}: {}RelationshipFilters", dr.name, dr.target);
                let _ = writeln!(w, "  {}Connection: {conn}Filters", dr.name);
            } else {
                let _ = writeln!(w, "  {}: {}Where", dr.name, dr.target);
                let _ = writeln!(w, "  {}Connection: {conn}Where", dr.name);
            }
        }
        w.push_str("}\n\n");
        self.out.push_str(&w);
        self.sort_input(t, &i.properties, false);
        let _ = writeln!(
            self.out,
            "input {t}CreateInput {{\n{}}}\n",
            i.implementors
                .iter()
                .map(|m| format!("  {m}: {m}CreateInput\n"))
                .collect::<String>()
        );
        let mut rels = Vec::new();
        let (mut connects, mut disconnects, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
        for dr in &i.relationships {
            let fi = format!("{t}{}", upper_first(&dr.name));
            let (l, r_) = if dr.list { ("[", "!]") } else { ("", "") };
            rels.push((dr.name.clone(), format!("{l}{fi}UpdateFieldInput{r_}")));
            deletes.push(format!("  {}: {l}{fi}DeleteFieldInput{r_}\n", dr.name));
            if dr.list {
                connects.push(format!("  {}: [{fi}ConnectFieldInput!]\n", dr.name));
                disconnects.push(format!("  {}: [{fi}DisconnectFieldInput!]\n", dr.name));
            }
            self.declared_relationship(o, i, dr, &fi);
        }
        self.update_input(&format!("{t}UpdateInput"), &i.properties, rels);
        for (input, fields) in [
            ("ConnectInput", connects),
            ("DisconnectInput", disconnects),
            ("DeleteInput", deletes),
        ] {
            if !fields.is_empty() {
                let _ = writeln!(self.out, "input {t}{input} {{\n{}}}\n", fields.concat());
            }
        }
    }

    /// The types of a relationship an interface declares (`fi`: `<Interface><Rel>`): its
    /// connection and inputs, with the implementations' relationship properties wrapped by
    /// type name (`edge: { ActedIn: { … } }`) and returned as a union, as in the library.
    fn declared_relationship(
        &mut self,
        o: &Ontology,
        i: &crate::model::InterfaceType,
        dr: &crate::model::DeclaredRelationship,
        fi: &str,
    ) {
        let target = &dr.target;
        let conn = format!("{fi}Connection");
        let implemented = o.declared_by(i, &dr.name);
        let mut props: Vec<&String> = implemented
            .iter()
            .filter_map(|r| r.properties.as_ref())
            .collect();
        props.dedup();
        let _ = writeln!(self.out, "type {conn} {{\n  edges: [{fi}Relationship!]!\n  totalCount: Int!\n  pageInfo: PageInfo!\n}}\n");
        let properties = if props.is_empty() {
            String::new()
        } else {
            let members: Vec<&str> = props.iter().map(|p| p.as_str()).collect();
            let _ = writeln!(
                self.out,
                "union {fi}RelationshipProperties = {}\n",
                members.join(" | ")
            );
            format!("\n  properties: {fi}RelationshipProperties!")
        };
        let _ = writeln!(
            self.out,
            "type {fi}Relationship {{\n  cursor: String!\n  node: {target}!{properties}\n}}\n"
        );
        let edge = if props.is_empty() {
            None
        } else {
            let required = props.iter().any(|p| {
                o.relationship_properties(p)
                    .is_some_and(|rp| rp.properties.iter().any(|p| p.required))
            });
            for (what, bang) in [
                ("Where", ""),
                ("Sort", ""),
                ("CreateInput", if required { "!" } else { "" }),
                ("UpdateInput", ""),
            ] {
                let fields: String = props
                    .iter()
                    .map(|p| format!("  {p}: {p}{what}{bang}\n"))
                    .collect();
                let _ = writeln!(self.out, "input {fi}Edge{what} {{\n{fields}}}\n");
            }
            Some(EdgeTypes {
                base: format!("{fi}Edge"),
                required,
            })
        };
        self.connection_where(fi, target, edge.as_ref());
        let mut s = format!("input {conn}Sort {{\n  node: {target}Sort\n");
        if edge.is_some() {
            let _ = writeln!(s, "  edge: {fi}EdgeSort");
        }
        s.push_str("}\n\n");
        self.out.push_str(&s);
        let node = format!("{fi}NodeAggregationWhereInput");
        let node = self
            .aggregation_where(&node, o.target_properties(target))
            .then_some(node);
        // The implementations' relationship properties, by type name.
        let mut edges = String::new();
        for p in &props {
            let name = format!("{p}AggregationWhereInput");
            let fields = o
                .relationship_properties(p)
                .map(|rp| rp.properties.as_slice())
                .unwrap_or_default();
            if self.aggregation_where(&name, fields) {
                let _ = writeln!(edges, "  {p}: {name}");
            }
        }
        let edge_aggregate = (!edges.is_empty()).then(|| {
            let name = format!("{fi}EdgeAggregationWhereInput");
            let _ = writeln!(self.out, "input {name} {{\n{edges}}}\n");
            name
        });
        self.connection_aggregate_input(&conn, node.as_deref(), edge_aggregate.as_deref());
        let _ = writeln!(self.out, "input {conn}Filters {{\n  all: {conn}Where\n  none: {conn}Where\n  single: {conn}Where\n  some: {conn}Where\n  aggregate: {conn}AggregateInput\n}}\n");
        self.relationship_filters(target);
        // The inputs, as a relationship to the target with the first implementation's nested
        // operations.
        let r = Relationship {
            name: dr.name.clone(),
            description: None,
            rel_type: String::new(),
            direction: crate::model::Direction::Out,
            target: target.clone(),
            list: dr.list,
            properties: None,
            nested: implemented.first().map(|r| r.nested).unwrap_or_default(),
            undirected: false,
            aggregate: false,
        };
        self.relationship_inputs(o, &r, fi, edge.as_ref(), None);
    }

    /// The input type of a relationship field in `<Type><What>Input` (`what`: Create, Update,
    /// Delete, Connect, Disconnect): `[<Type><Rel><What>FieldInput!]` (`<Type><Rel>FieldInput`
    /// for Create), or for a union target `<Type><Rel><What>Input`, which has one field per
    /// member.
    fn rel_input(&self, n: &NodeType, r: &Relationship, what: &str) -> String {
        let fi = rel_input_prefix(n, r);
        if self.unions.contains(&r.target) {
            return format!("{fi}{what}Input");
        }
        let (l, r_) = if r.list { ("[", "!]") } else { ("", "") };
        match what {
            "Create" => format!("{fi}FieldInput"),
            "Delete" | "Disconnect" => {
                format!("{l}{}{what}FieldInput{r_}", self.shared_prefix(n, r))
            }
            _ => format!("{l}{fi}{what}FieldInput{r_}"),
        }
    }

    /// `input <fi>ConnectionWhere { AND OR NOT node edge }` for a relationship to `target`
    /// (`edge`: the relationship properties' input types, see [`edge_types`]).
    fn connection_where(&mut self, fi: &str, target: &str, edge: Option<&EdgeTypes>) {
        let conn = format!("{fi}Connection");
        let mut w = format!("input {conn}Where {{\n  AND: [{conn}Where!]\n  OR: [{conn}Where!]\n  NOT: {conn}Where\n  node: {target}Where\n");
        if let Some(e) = edge {
            let _ = writeln!(w, "  edge: {}Where", e.base);
        }
        w.push_str("}\n\n");
        self.out.push_str(&w);
    }

    /// The mutation inputs of a relationship to a node type (`<fi>ConnectFieldInput`,
    /// `<fi>CreateFieldInput`, … `<fi>UpdateFieldInput`); `fi` is the relationship's input
    /// prefix (`ActorMovies`, or `ActorActedInMovie` for a union member).
    /// With `shared` (the prefix of the interface declaring the relationship), the connection
    /// `where` and the delete and disconnect inputs are the interface's (not emitted here).
    fn relationship_inputs(
        &mut self,
        o: &Ontology,
        r: &Relationship,
        fi: &str,
        edge_types: Option<&EdgeTypes>,
        shared: Option<&str>,
    ) {
        let target = &r.target;
        let own = shared.unwrap_or(fi);
        let conn = format!("{own}Connection");
        let edge = edge_types
            .map(|e| {
                let bang = if e.required { "!" } else { "" };
                format!("\n  edge: {}CreateInput{bang}", e.base)
            })
            .unwrap_or_default();
        let (l, r_) = if r.list { ("[", "!]") } else { ("", "") };
        // What a nested connect, disconnect or delete may continue with on the target: a node
        // type's own relationships, or the relationships an interface declares.
        let (connects, disconnects, deletes, onward_list) =
            match (o.node(target), o.interfaces.get(target)) {
                (Some(t), _) => (
                    t.nested_connects().next().is_some(),
                    t.nested_disconnects().next().is_some(),
                    t.nested_deletes().next().is_some(),
                    r.list,
                ),
                (None, Some(i)) => {
                    let declares = !i.relationships.is_empty();
                    (declares, declares, declares, false)
                }
                _ => (false, false, false, false),
            };
        let (ol, or_) = if onward_list { ("[", "!]") } else { ("", "") };
        let then_connect = if connects {
            format!("\n  connect: {ol}{target}ConnectInput{or_}")
        } else {
            String::new()
        };
        let then_disconnect = if disconnects {
            format!("\n  disconnect: {target}DisconnectInput")
        } else {
            String::new()
        };
        let then_delete = if deletes {
            format!("\n  delete: {target}DeleteInput")
        } else {
            String::new()
        };
        let _ = writeln!(
            self.out,
            "input {fi}ConnectFieldInput {{\n  where: {target}ConnectWhere{edge}{then_connect}\n}}\n"
        );
        let _ = writeln!(
            self.out,
            "input {fi}CreateFieldInput {{\n  node: {target}CreateInput!{edge}\n}}\n"
        );
        if shared.is_none() {
            let _ = writeln!(
                self.out,
                "input {fi}DisconnectFieldInput {{\n  where: {conn}Where{then_disconnect}\n}}\n"
            );
            let _ = writeln!(
                self.out,
                "input {fi}DeleteFieldInput {{\n  where: {conn}Where{then_delete}\n}}\n"
            );
        }
        let edge_update = edge_types
            .map(|e| format!("\n  edge: {}UpdateInput", e.base))
            .unwrap_or_default();
        let _ = writeln!(
            self.out,
            "input {fi}UpdateConnectionInput {{\n  node: {target}UpdateInput\n  where: {conn}Where{edge_update}\n}}\n"
        );
        let ops = &r.nested;
        let field = |on: bool, name: &str, input: &str| {
            let prefix = if name == "delete" || name == "disconnect" {
                own
            } else {
                fi
            };
            if on {
                format!("  {name}: {l}{prefix}{input}{r_}\n")
            } else {
                String::new()
            }
        };
        if ops.on_create() {
            let _ = writeln!(
                self.out,
                "input {fi}FieldInput {{\n{}{}}}\n",
                field(ops.connect, "connect", "ConnectFieldInput"),
                field(ops.create, "create", "CreateFieldInput"),
            );
        }
        if ops.on_update() {
            let _ = writeln!(
                self.out,
                "input {fi}UpdateFieldInput {{\n{}{}{}{}{}}}\n",
                field(ops.connect, "connect", "ConnectFieldInput"),
                field(ops.disconnect, "disconnect", "DisconnectFieldInput"),
                field(ops.create, "create", "CreateFieldInput"),
                if ops.update {
                    format!("  update: {fi}UpdateConnectionInput\n")
                } else {
                    String::new()
                },
                field(ops.delete, "delete", "DeleteFieldInput"),
            );
        }
        self.connect_where(target);
    }

    fn relationship_filters(&mut self, target: &str) {
        let name = format!("{target}RelationshipFilters");
        if self.emitted.insert(name.clone()) {
            let _ = writeln!(self.out, "input {name} {{\n  all: {target}Where\n  none: {target}Where\n  single: {target}Where\n  some: {target}Where\n}}\n");
        }
    }

    fn connect_where(&mut self, target: &str) {
        let name = format!("{target}ConnectWhere");
        if self.emitted.insert(name.clone()) {
            let _ = writeln!(self.out, "input {name} {{\n  node: {target}Where!\n}}\n");
        }
    }

    fn where_input(
        &mut self,
        t: &str,
        props: &[Property],
        rels: &[&Relationship],
        node: &str,
        cypher: &[CypherField],
    ) {
        let mut w = format!("input {t}Where {{\n");
        for p in props.iter().filter(|p| p.exposure.filter) {
            let f = filter_input(p);
            let _ = writeln!(w, "  {}: {f}", p.name);
            self.scalar_inputs.insert(f);
        }
        let _ = writeln!(w, "  OR: [{t}Where!]\n  AND: [{t}Where!]\n  NOT: {t}Where");
        // `@relayId`: filter by the global id.
        if props.iter().any(|p| p.relay_id) {
            w.push_str("  id: ID\n");
        }
        for r in rels {
            let conn = format!("{node}{}Connection", upper_first(&r.name));
            if r.list {
                let _ = writeln!(w, "  {}: {}RelationshipFilters", r.name, r.target);
                let _ = writeln!(w, "  {}Connection: {conn}Filters", r.name);
            } else {
                let _ = writeln!(w, "  {}: {}Where", r.name, r.target);
                let _ = writeln!(w, "  {}Connection: {conn}Where", r.name);
            }
        }
        // `@cypher` fields returning nodes (without arguments), as the library filters them.
        for c in cypher.iter().filter(|c| c.args.is_empty()) {
            let CypherResult::Node(target) = &c.result else {
                continue;
            };
            if c.list {
                let _ = writeln!(w, "  {}: {target}RelationshipFilters", c.name);
                for q in ["ALL", "NONE", "SINGLE", "SOME"] {
                    let _ = writeln!(w, "  {}_{q}: {target}Where", c.name);
                }
                self.relationship_filters(target);
            } else {
                let _ = writeln!(w, "  {}: {target}Where", c.name);
            }
        }
        w.push_str("}\n\n");
        self.out.push_str(&w);
    }

    fn sort_input(&mut self, t: &str, props: &[Property], lists: bool) {
        let sortable: Vec<&Property> = props.iter().filter(|p| lists || !p.list).collect();
        if sortable.is_empty() {
            // GraphQL inputs need a field; keep the type for uniform argument shapes.
            let _ = writeln!(self.out, "input {t}Sort {{\n  _: SortDirection\n}}\n");
            return;
        }
        let mut s = format!("input {t}Sort {{\n");
        for p in sortable {
            let _ = writeln!(s, "  {}: SortDirection", p.name);
        }
        s.push_str("}\n\n");
        self.out.push_str(&s);
    }

    fn create_input(&mut self, name: &str, props: &[Property], node: Option<&NodeType>) {
        let mut s = format!("input {name} {{\n");
        let mut any = false;
        for p in props
            .iter()
            .filter(|p| !p.autogenerate && !p.timestamp.on_create && p.exposure.create)
        {
            let bang = if p.required { "!" } else { "" };
            let default = p
                .default
                .as_ref()
                .map(|d| format!(" = {}", graphql_literal(d, &p.scalar)))
                .unwrap_or_default();
            let _ = writeln!(s, "  {}: {}{bang}{default}", p.name, input_type(p));
            any = true;
        }
        if let Some(n) = node {
            for r in n.relationships().filter(|r| r.nested.on_create()) {
                let _ = writeln!(s, "  {}: {}", r.name, self.rel_input(n, r, "Create"));
                any = true;
            }
        }
        if !any {
            s.push_str("  _emptyInput: Boolean\n");
        }
        s.push_str("}\n\n");
        self.out.push_str(&s);
    }

    /// `input <name>` of the update operations of `props` and the relationship fields `rels`
    /// (`(field, input type)`).
    fn update_input(&mut self, name: &str, props: &[Property], rels: Vec<(String, String)>) {
        let mut s = format!("input {name} {{\n");
        let mut any = false;
        for p in props
            .iter()
            .filter(|p| !p.autogenerate && !p.timestamp.on_update && p.exposure.update)
        {
            let m = mutation_input(p);
            let _ = writeln!(s, "  {}: {m}", p.name);
            self.scalar_inputs.insert(m);
            any = true;
        }
        for (field, ty) in rels {
            let _ = writeln!(s, "  {field}: {ty}");
            any = true;
        }
        if !any {
            s.push_str("  _emptyInput: Boolean\n");
        }
        s.push_str("}\n\n");
        self.out.push_str(&s);
    }

    /// `type <t>Aggregate { count: Count! node: <t>AggregateNode! }`: a root connection's
    /// aggregate (`node` when some property is aggregated).
    fn root_aggregate<'p>(&mut self, t: &str, props: impl IntoIterator<Item = &'p Property>) {
        let node = format!("{t}AggregateNode");
        let node = if self.aggregate_fields(&node, props) {
            format!("  node: {node}!\n")
        } else {
            String::new()
        };
        let _ = writeln!(
            self.out,
            "type {t}Aggregate {{\n  count: Count!\n{node}}}\n"
        );
    }

    /// A `@cypher` field of an object type (with its description).
    fn cypher_field_sdl(&mut self, c: &CypherField) {
        self.description(&c.description, "  ");
        let _ = writeln!(self.out, "  {}", cypher_field_definition(c));
    }

    /// `<Scalar>AggregateSelection` (once), the type of a property's aggregate.
    fn aggregate_selection(&mut self, s: &Scalar) -> String {
        let t = s.graphql_name();
        let name = format!("{t}AggregateSelection");
        if self.emitted.insert(name.clone()) {
            let body = match s {
                Scalar::String => "  shortest: String
  longest: String
"
                .to_owned(),
                Scalar::Int => "  max: Int
  min: Int
  average: Float
  sum: Int
"
                .to_owned(),
                Scalar::Float | Scalar::BigInt => {
                    format!(
                        "  max: {t}
  min: {t}
  average: {t}
  sum: {t}
"
                    )
                }
                _ => format!(
                    "  min: {t}
  max: {t}
"
                ),
            };
            let _ = writeln!(
                self.out,
                "type {name} {{
{body}}}
"
            );
        }
        name
    }

    /// `type <name> { <field>: <Scalar>AggregateSelection! … }` over the aggregated properties;
    /// `false` (and nothing emitted) when there are none.
    fn aggregate_fields<'p>(
        &mut self,
        name: &str,
        props: impl IntoIterator<Item = &'p Property>,
    ) -> bool {
        let mut fields = String::new();
        for p in props.into_iter().filter(|p| p.in_aggregate()) {
            let ty = self.aggregate_selection(&p.scalar);
            let _ = writeln!(fields, "  {}: {ty}!", p.name);
        }
        if !fields.is_empty() {
            let _ = writeln!(
                self.out,
                "type {name} {{
{fields}}}
"
            );
        }
        !fields.is_empty()
    }

    /// `<Scalar>ScalarAggregationFilters` (once): the filters on a property's aggregate.
    fn aggregation_filters(&mut self, s: &Scalar) -> String {
        let t = s.graphql_name();
        let name = format!("{t}ScalarAggregationFilters");
        if self.emitted.insert(name.clone()) {
            let own = format!("{t}ScalarFilters");
            let float = "FloatScalarFilters".to_owned();
            let fields: Vec<(&str, String)> = match s {
                Scalar::String => vec![
                    ("averageLength", float),
                    ("shortestLength", "IntScalarFilters".to_owned()),
                    ("longestLength", "IntScalarFilters".to_owned()),
                ],
                Scalar::Int => vec![
                    ("average", float),
                    ("max", own.clone()),
                    ("min", own.clone()),
                    ("sum", own),
                ],
                Scalar::Float | Scalar::BigInt => vec![
                    ("average", own.clone()),
                    ("max", own.clone()),
                    ("min", own.clone()),
                    ("sum", own),
                ],
                Scalar::Duration => {
                    vec![("max", own.clone()), ("min", own.clone()), ("average", own)]
                }
                _ => vec![("max", own.clone()), ("min", own)],
            };
            let mut body = String::new();
            for (field, ty) in fields {
                let _ = writeln!(body, "  {field}: {ty}");
                self.scalar_inputs.insert(ty);
            }
            let _ = writeln!(
                self.out,
                "input {name} {{
{body}}}
"
            );
        }
        name
    }

    /// `input <name> { AND OR NOT <field>: <Scalar>ScalarAggregationFilters … }` over the
    /// properties filtered by aggregate (once); `false` when there are none.
    fn aggregation_where<'p>(
        &mut self,
        name: &str,
        props: impl IntoIterator<Item = &'p Property>,
    ) -> bool {
        if self.emitted.contains(name) {
            return true;
        }
        let mut fields = String::new();
        for p in props.into_iter().filter(|p| p.in_aggregation_filter()) {
            let ty = self.aggregation_filters(&p.scalar);
            let _ = writeln!(fields, "  {}: {ty}", p.name);
        }
        if fields.is_empty() {
            return false;
        }
        self.emitted.insert(name.to_owned());
        let _ = writeln!(
            self.out,
            "input {name} {{
  AND: [{name}!]
  OR: [{name}!]
  NOT: {name}
{fields}}}
"
        );
        true
    }

    /// `input <conn>AggregateInput { count AND OR NOT node edge }`: the `aggregate` filter of
    /// a relationship's connection (`node`, `edge`: their aggregation `where` types, if any).
    fn connection_aggregate_input(&mut self, conn: &str, node: Option<&str>, edge: Option<&str>) {
        let name = format!("{conn}AggregateInput");
        let mut s = format!(
            "input {name} {{
  count: ConnectionAggregationCountFilterInput
  AND: [{name}!]
  OR: [{name}!]
  NOT: {name}
"
        );
        if let Some(node) = node {
            let _ = writeln!(s, "  node: {node}");
        }
        if let Some(edge) = edge {
            let _ = writeln!(s, "  edge: {edge}");
        }
        s.push_str(
            "}

",
        );
        self.out.push_str(&s);
        if self
            .emitted
            .insert("ConnectionAggregationCountFilterInput".to_owned())
        {
            self.out.push_str(
                "input ConnectionAggregationCountFilterInput {
  nodes: IntScalarFilters
  edges: IntScalarFilters
}

",
            );
            self.scalar_inputs.insert("IntScalarFilters".to_owned());
        }
    }

    fn scalar_inputs(&mut self) {
        let inputs = std::mem::take(&mut self.scalar_inputs);
        for name in inputs {
            let body = scalar_input_body(&name);
            let _ = writeln!(self.out, "input {name} {{\n{body}}}\n");
        }
    }
}

fn output_type(p: &Property) -> String {
    let base = p.scalar.graphql_name();
    match (p.list, p.required) {
        (false, true) => format!("{base}!"),
        (false, false) => base.to_string(),
        (true, true) => format!("[{base}!]!"),
        (true, false) => format!("[{base}!]"),
    }
}

fn input_type(p: &Property) -> String {
    let base = p.scalar.input_name();
    if p.list {
        format!("[{base}!]")
    } else {
        base.to_string()
    }
}

/// The input types of a relationship's properties: `<base>Where`, `<base>Sort`,
/// `<base>CreateInput` (`required`: it has required fields), `<base>UpdateInput`.
pub(crate) struct EdgeTypes {
    pub base: String,
    pub required: bool,
}

/// `name(arg: T = default, …): Type` of a `@cypher` field.
fn cypher_field_definition(c: &CypherField) -> String {
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| match &a.default {
            Some((_, text)) => format!("{}: {} = {text}", a.name, a.ty),
            None => format!("{}: {}", a.name, a.ty),
        })
        .collect();
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({})", args.join(", "))
    };
    format!("{}{args}: {}", c.name, c.ty)
}

/// The relationship properties type of `r` as its edge input types, if it has one.
fn edge_types(o: &Ontology, r: &Relationship) -> Option<EdgeTypes> {
    let p = r.properties.as_ref()?;
    let required = o
        .relationship_properties(p)
        .is_some_and(|rp| rp.properties.iter().any(|p| p.required));
    Some(EdgeTypes {
        base: p.clone(),
        required,
    })
}

/// The filter input for a property: `StringScalarFilters`, `IntListFilters`, `ColorEnumScalarFilters`.
pub fn filter_input(p: &Property) -> String {
    match (&p.scalar, p.list) {
        (Scalar::Enum(e), false) => format!("{e}EnumScalarFilters"),
        (Scalar::Enum(e), true) => format!("{e}ListEnumScalarFilters"),
        (s, false) if s.coordinates().is_some() => format!("{}Filters", s.graphql_name()),
        (s, false) => format!("{}ScalarFilters", s.graphql_name()),
        (s, true) => format!("{}ListFilters", s.graphql_name()),
    }
}

/// The update input for a property: `StringScalarMutations`, `ListStringMutations`.
pub fn mutation_input(p: &Property) -> String {
    match (&p.scalar, p.list) {
        (Scalar::Enum(e), false) => format!("{e}EnumScalarMutations"),
        (Scalar::Enum(e), true) => format!("{e}ListEnumScalarMutations"),
        (s, false) if s.coordinates().is_some() => format!("{}Mutations", s.graphql_name()),
        (s, true) if s.coordinates().is_some() => format!("List{}Mutations", s.input_name()),
        (s, false) => format!("{}ScalarMutations", s.graphql_name()),
        (s, true) => format!("List{}Mutations", s.graphql_name()),
    }
}

fn scalar_input_body(name: &str) -> String {
    // The spatial types' inputs (the point types themselves come with `shared_types`).
    for (point, distance) in [
        ("Point", "PointDistanceFilters"),
        ("CartesianPoint", "CartesianDistancePointFilters"),
    ] {
        let input = format!("{point}Input");
        if name == format!("{point}Filters") {
            return format!("  eq: {input}\n  in: [{input}!]\n  distance: {distance}\n");
        }
        if name == format!("{point}ListFilters") {
            return format!("  eq: [{input}!]\n  includes: {input}\n");
        }
        if name == format!("{point}Mutations") {
            return format!("  set: {input}\n");
        }
        if name == format!("List{input}Mutations") {
            return format!("  set: [{input}!]\n  push: [{input}!]\n  pop: Int\n");
        }
    }
    let (base, kind) = if let Some(b) = name.strip_suffix("ListEnumScalarFilters") {
        (b.to_string(), "list_filters")
    } else if let Some(b) = name.strip_suffix("ListEnumScalarMutations") {
        (b.to_string(), "list_mutations")
    } else if let Some(b) = name.strip_suffix("EnumScalarFilters") {
        (b.to_string(), "enum_filters")
    } else if let Some(b) = name.strip_suffix("ScalarFilters") {
        (b.to_string(), "filters")
    } else if let Some(b) = name.strip_suffix("ListFilters") {
        (b.to_string(), "list_filters")
    } else if let Some(b) = name.strip_suffix("EnumScalarMutations") {
        (b.to_string(), "set")
    } else if let Some(b) = name
        .strip_prefix("List")
        .and_then(|n| n.strip_suffix("Mutations"))
    {
        (b.to_string(), "list_mutations")
    } else if let Some(b) = name.strip_suffix("ScalarMutations") {
        (b.to_string(), "mutations")
    } else {
        (name.to_string(), "set")
    };
    let b = &base;
    match kind {
        "filters" => match b.as_str() {
            "String" | "ID" => format!(
                "  eq: {b}\n  in: [{b}!]\n  contains: {b}\n  endsWith: {b}\n  startsWith: {b}\n"
            ),
            "Boolean" => format!("  eq: {b}\n"),
            _ => format!("  eq: {b}\n  gt: {b}\n  gte: {b}\n  in: [{b}!]\n  lt: {b}\n  lte: {b}\n"),
        },
        "enum_filters" => format!("  eq: {b}\n  in: [{b}!]\n"),
        "list_filters" => format!("  eq: [{b}!]\n  includes: {b}\n"),
        "mutations" => match b.as_str() {
            "Int" | "BigInt" => format!("  set: {b}\n  add: {b}\n  subtract: {b}\n"),
            "Float" => {
                format!("  set: {b}\n  add: {b}\n  subtract: {b}\n  multiply: {b}\n  divide: {b}\n")
            }
            _ => format!("  set: {b}\n"),
        },
        "list_mutations" => format!("  set: [{b}!]\n  push: [{b}!]\n  pop: Int\n"),
        _ => format!("  set: {b}\n"),
    }
}

/// `MovieActorsConnection`: the connection type of a relationship field.
pub fn rel_connection_type(n: &NodeType, r: &Relationship) -> String {
    format!("{}{}Connection", n.name, upper_first(&r.name))
}

/// `MovieActors`: the prefix of a relationship's mutation inputs.
pub fn rel_input_prefix(n: &NodeType, r: &Relationship) -> String {
    format!("{}{}", n.name, upper_first(&r.name))
}

/// A value in GraphQL's literal syntax: strings quoted (JSON's escapes are GraphQL's), enum
/// values bare, lists bracketed.
fn graphql_literal(v: &serde_json::Value, scalar: &Scalar) -> String {
    match v {
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| graphql_literal(i, scalar))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::Value::String(s) if matches!(scalar, Scalar::Enum(_)) => s.clone(),
        other => other.to_string(),
    }
}
