//! Parsing and validation of ontology files (GraphQL SDL in the @neo4j/graphql v7 vocabulary)
//! into an [`Ontology`], with line/column diagnostics that say plainly what is wrong.

use std::collections::{HashMap, HashSet};
use std::fmt;

use async_graphql_parser::types::{
    BaseType, ConstDirective, FieldDefinition, ServiceDocument, Type, TypeDefinition, TypeKind,
    TypeSystemDefinition,
};
use async_graphql_parser::{Pos, Positioned};
use async_graphql_value::ConstValue;
use indexmap::IndexMap;

use crate::authorization::{self, JwtClaim, JwtType, ReadRule};
use crate::model::{
    fingerprint, CypherArgument, CypherField, CypherResult, DeclaredRelationship, Direction,
    EnumType, Exposure, Field, IndexKind, InterfaceType, NestedOperations, NodeType, ObjectType,
    Ontology, Operations, Property, Relationship, RelationshipPropertiesType, Scalar, SearchIndex,
    SearchKind, Timestamp, UnionType,
};
use crate::naming::{plural_from_directive, plural_of};

/// One problem found in an ontology file, at a line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Why an ontology file was rejected: every problem found, in source order.
#[derive(Debug, Clone, thiserror::Error)]
pub struct OntologyError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for OntologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "invalid ontology ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl OntologyError {
    /// Renders each diagnostic as `file:line:column: message`.
    pub fn render(&self, file: &str) -> String {
        self.diagnostics
            .iter()
            .map(|d| format!("{file}:{}:{}: {}", d.line, d.column, d.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Directives understood on types.
const TYPE_DIRECTIVES: &[&str] = &[
    "node",
    "relationshipProperties",
    "plural",
    "authorization",
    "query",
    "mutation",
    "limit",
    "fulltext",
    "vector",
];
/// Directives understood on fields.
/// Directives of a scalar property, on node types and relationship properties alike.
const PROPERTY_DIRECTIVES: &[&str] = &[
    "alias",
    "id",
    "default",
    "coalesce",
    "timestamp",
    "selectable",
    "settable",
    "filterable",
];
/// Directives of a node type's scalar property besides [`PROPERTY_DIRECTIVES`] (Ontograph's own:
/// what `migrate` creates).
const NODE_PROPERTY_DIRECTIVES: &[&str] = &["unique", "index", "relayId"];
/// Field names that would collide with generated filter operators.
const RESERVED_FIELDS: &[&str] = &["AND", "OR", "NOT"];

/// Parses and validates an ontology.
pub fn parse_ontology(source: &str) -> Result<Ontology, OntologyError> {
    let doc = async_graphql_parser::parse_schema(source).map_err(|e| {
        let pos = e.positions().next().unwrap_or(Pos { line: 1, column: 1 });
        OntologyError {
            diagnostics: vec![Diagnostic {
                line: pos.line,
                column: pos.column,
                message: format!("syntax error: {}", syntax_message(&e)),
            }],
        }
    })?;
    let mut v = Validator::default();
    let doc = v.merge_extensions(doc);
    let ontology = v.build(&doc, source);
    if v.diagnostics.is_empty() {
        Ok(ontology)
    } else {
        v.diagnostics.sort_by_key(|d| (d.line, d.column));
        Err(OntologyError {
            diagnostics: v.diagnostics,
        })
    }
}

fn syntax_message(e: &async_graphql_parser::Error) -> String {
    match e {
        async_graphql_parser::Error::Syntax { message, .. } => {
            message.lines().last().unwrap_or(message).trim().to_string()
        }
        other => other.to_string(),
    }
}

/// Directives of `@neo4j/graphql` v7 not supported yet, with what to do instead.
const NOT_YET: &[(&str, &str)] = &[
    ("populatedBy", "compute the value before the mutation and pass it in the input"),
    ("customResolver", "resolve the field in a service in front of Ontograph"),
    ("cypher", "@cypher fields are supported on the fields of @node types, of @relationshipProperties types and of `type Query`/`type Mutation` (an interface's field may be computed by each implementation's own @cypher)"),
    ("subscription", "leave it out: Ontograph serves no subscriptions yet"),
    ("authentication", "use access control (ONTOGRAPH_JWT_SECRET and roles) or an `@authorization` filter on roles"),
    ("declareRelationship", "declare the relationship on each implementing type"),
    ("shareable", "federation is not supported yet"),
    ("key", "federation is not supported yet"),
];

/// The root operation types, which the API generates.
const ROOT_TYPES: &[&str] = &["Query", "Mutation", "Subscription"];

#[derive(Default)]
struct Validator {
    diagnostics: Vec<Diagnostic>,
    /// `extend schema @query(…) @mutation(…)`: the operations of every type that sets none.
    schema_directives: Vec<Positioned<ConstDirective>>,
}

/// What kind of type a name refers to, for field type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node,
    RelProps,
    /// An object type without `@node`: the shape of `@cypher` results.
    Object,
    /// `type Query` or `type Mutation`: custom root fields, each with `@cypher`.
    Root,
    /// `type JWT @jwt`: the token's claims, for authorization rules.
    Jwt,
    Interface,
    Union,
    Enum,
    Other,
}

impl Validator {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    /// Folds every `extend type` / `extend interface` / `extend enum` into the type it extends
    /// (its fields, interfaces, directives and values appended, as the library does), wherever
    /// in the file either appears; an extension of a type the file does not declare, or of
    /// another kind, is an error.
    fn merge_extensions(&mut self, doc: ServiceDocument) -> ServiceDocument {
        let mut out: Vec<TypeSystemDefinition> = Vec::with_capacity(doc.definitions.len());
        let mut extensions = Vec::new();
        for def in doc.definitions {
            match def {
                TypeSystemDefinition::Type(t) if t.node.extend => extensions.push(t),
                other => out.push(other),
            }
        }
        for ext in extensions {
            let name = ext.node.name.node.to_string();
            let base = out.iter_mut().find_map(|d| match d {
                TypeSystemDefinition::Type(t) if t.node.name.node == ext.node.name.node => Some(t),
                _ => None,
            });
            let Some(base) = base else {
                if ROOT_TYPES.contains(&name.as_str()) {
                    // `extend type Query` needs no `type Query`: judged as the root type it adds to.
                    let mut ext = ext;
                    ext.node.extend = false;
                    out.push(TypeSystemDefinition::Type(ext));
                    continue;
                }
                self.error(
                    ext.pos,
                    format!("`extend type {name}`: the file declares no type `{name}` to extend"),
                );
                continue;
            };
            let ext = ext.node;
            match (&mut base.node.kind, ext.kind) {
                (TypeKind::Object(b), TypeKind::Object(e)) => {
                    b.implements.extend(e.implements);
                    b.fields.extend(e.fields);
                }
                (TypeKind::Interface(b), TypeKind::Interface(e)) => {
                    b.implements.extend(e.implements);
                    b.fields.extend(e.fields);
                }
                (TypeKind::Enum(b), TypeKind::Enum(e)) => b.values.extend(e.values),
                _ => {
                    self.error(
                        ext.name.pos,
                        format!(
                            "the extension of `{name}` is not of the kind `{name}` is declared as"
                        ),
                    );
                    continue;
                }
            }
            base.node.directives.extend(ext.directives);
        }
        ServiceDocument { definitions: out }
    }

    fn build(&mut self, doc: &ServiceDocument, source: &str) -> Ontology {
        let mut kinds: HashMap<String, Kind> = HashMap::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        let mut types: Vec<&Positioned<TypeDefinition>> = Vec::new();

        for def in &doc.definitions {
            match def {
                TypeSystemDefinition::Type(t) => {
                    let name = t.node.name.node.to_string();
                    if let Some(first) = seen.get(&name) {
                        let line = first.line;
                        self.error(
                            t.node.name.pos,
                            format!("type `{name}` is declared twice (first at line {line})"),
                        );
                        continue;
                    }
                    seen.insert(name.clone(), t.node.name.pos);
                    let kind = match &t.node.kind {
                        TypeKind::Object(_) if name == "Subscription" => {
                            self.error(
                                t.node.name.pos,
                                "custom subscription fields (`type Subscription`) are not supported: Ontograph serves no subscriptions yet",
                            );
                            Kind::Other
                        }
                        TypeKind::Object(_) if ROOT_TYPES.contains(&name.as_str()) => Kind::Root,
                        TypeKind::Object(_) => {
                            if has_directive(&t.node.directives, "node") {
                                Kind::Node
                            } else if has_directive(&t.node.directives, "relationshipProperties") {
                                Kind::RelProps
                            } else if has_directive(&t.node.directives, "jwt") {
                                Kind::Jwt
                            } else {
                                Kind::Object
                            }
                        }
                        TypeKind::Interface(_) => Kind::Interface,
                        TypeKind::Enum(_) => Kind::Enum,
                        TypeKind::Union(_) => Kind::Union,
                        TypeKind::InputObject(_) => {
                            self.error(t.node.name.pos, format!("input type `{name}` does not belong in an ontology: inputs are generated"));
                            Kind::Other
                        }
                        TypeKind::Scalar => {
                            self.error(t.node.name.pos, format!("custom scalar `{name}` is not supported: use ID, String, Int, Float, Boolean, BigInt, DateTime, Date, Time, LocalTime, LocalDateTime or Duration"));
                            Kind::Other
                        }
                    };
                    kinds.insert(name, kind);
                    types.push(t);
                }
                TypeSystemDefinition::Schema(s) if s.node.extend => {
                    for d in &s.node.directives {
                        let name = d.node.name.node.as_str();
                        if ["query", "mutation"].contains(&name) {
                            if self
                                .schema_directives
                                .iter()
                                .any(|s| s.node.name.node == name)
                            {
                                self.error(
                                    d.pos,
                                    format!("`extend schema @{name}` is given twice"),
                                );
                            } else {
                                self.schema_directives.push(d.clone());
                            }
                        } else {
                            self.error(
                                d.pos,
                                format!("`extend schema @{name}`: this schema-wide directive is not supported yet; put it on each type"),
                            );
                        }
                    }
                }
                TypeSystemDefinition::Schema(s) => {
                    self.error(
                        s.pos,
                        "a `schema` definition is not allowed: the API schema is generated",
                    );
                }
                TypeSystemDefinition::Directive(d) => {
                    self.error(d.pos, format!("directive definition `@{}` is not allowed: Ontograph knows its directives", d.node.name.node));
                }
            }
        }

        // Enums first: property types may use them.
        let mut enums = IndexMap::new();
        for t in &types {
            if let TypeKind::Enum(e) = &t.node.kind {
                let name = t.node.name.node.to_string();
                enums.insert(
                    name.clone(),
                    EnumType {
                        name,
                        description: desc(&t.node.description),
                        values: e
                            .values
                            .iter()
                            .map(|v| v.node.value.node.to_string())
                            .collect(),
                    },
                );
            }
        }

        let mut interfaces: IndexMap<String, (Pos, InterfaceType)> = IndexMap::new();
        for t in &types {
            if let TypeKind::Interface(i) = &t.node.kind {
                let name = t.node.name.node.to_string();
                self.no_unknown_directives(&t.node.directives, &[], &format!("interface `{name}`"));
                let mut properties = Vec::new();
                let mut relationships = Vec::new();
                let mut field_names = HashSet::new();
                for f in &i.fields {
                    if !field_names.insert(f.node.name.node.to_string()) {
                        self.error(
                            f.node.name.pos,
                            format!(
                                "field `{}` is declared twice in interface `{name}`",
                                f.node.name.node
                            ),
                        );
                        continue;
                    }
                    let target = named_type(&f.node.ty.node);
                    if matches!(
                        kinds.get(target),
                        Some(Kind::Node | Kind::Interface | Kind::Union)
                    ) {
                        let fname = f.node.name.node.to_string();
                        self.no_unknown_directives(
                            &f.node.directives,
                            &["declareRelationship"],
                            &format!("relationship field `{name}.{fname}`"),
                        );
                        match directive(&f.node.directives, "declareRelationship") {
                            Some(d) if d.node.arguments.is_empty() => {
                                relationships.push(DeclaredRelationship {
                                    name: fname,
                                    description: desc(&f.node.description),
                                    target: target.to_owned(),
                                    list: matches!(f.node.ty.node.base, BaseType::List(_)),
                                });
                            }
                            Some(d) => self.error(d.pos, format!("`@declareRelationship` on `{name}.{fname}` takes no arguments here: set `nestedOperations` and `aggregate` on each implementation's @relationship")),
                            None => self.error(f.pos, format!("relationship field `{name}.{fname}` on an interface needs @declareRelationship (each implementing type then declares it with its own @relationship)")),
                        }
                        continue;
                    }
                    if let Some(p) = self.property(f, &enums, &format!("interface `{name}`"), false)
                    {
                        properties.push(p);
                    }
                }
                interfaces.insert(
                    name.clone(),
                    (
                        t.node.name.pos,
                        InterfaceType {
                            plural: crate::naming::plural_of(&name),
                            name,
                            description: desc(&t.node.description),
                            properties,
                            relationships,
                            implementors: Vec::new(),
                        },
                    ),
                );
            }
        }

        // Unions of node types: relationship targets (and root lists) over their members.
        let mut unions = IndexMap::new();
        for t in &types {
            let TypeKind::Union(u) = &t.node.kind else {
                continue;
            };
            let name = t.node.name.node.to_string();
            self.no_unknown_directives(&t.node.directives, &[], &format!("union `{name}`"));
            let mut members = Vec::new();
            for m in &u.members {
                let member = m.node.to_string();
                if kinds.get(&member) != Some(&Kind::Node) {
                    self.error(m.pos, format!("union `{name}` has member `{member}`, which is not a @node type: a union's members must be @node types"));
                } else if members.contains(&member) {
                    self.error(m.pos, format!("union `{name}` lists `{member}` twice"));
                } else {
                    members.push(member);
                }
            }
            unions.insert(
                name.clone(),
                UnionType {
                    plural: crate::naming::plural_of(&name),
                    name,
                    description: desc(&t.node.description),
                    members,
                },
            );
        }

        let jwt = self.jwt_type(&types, &kinds);

        let mut rel_props = IndexMap::new();
        for t in &types {
            if kinds.get(t.node.name.node.as_str()) != Some(&Kind::RelProps) {
                continue;
            }
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            let name = t.node.name.node.to_string();
            self.no_unknown_directives(
                &t.node.directives,
                &["relationshipProperties"],
                &format!("type `{name}`"),
            );
            let mut properties = Vec::new();
            let mut cypher_fields = Vec::new();
            let mut field_names = HashSet::new();
            for f in &o.fields {
                if !field_names.insert(f.node.name.node.to_string()) {
                    self.error(
                        f.node.name.pos,
                        format!(
                            "field `{}` is declared twice in type `{name}`",
                            f.node.name.node
                        ),
                    );
                    continue;
                }
                if has_directive(&f.node.directives, "cypher") {
                    if let Some(c) = self.cypher_field(f, &name, &kinds, &enums) {
                        if matches!(c.result, CypherResult::Scalar(_)) {
                            cypher_fields.push(c);
                        } else {
                            self.error(f.node.ty.pos, format!("@cypher field `{name}.{}` of relationship properties returns `{}`: only scalars and lists of scalars are supported there yet", c.name, c.ty));
                        }
                    }
                    continue;
                }
                if let Some(p) = self.property(
                    f,
                    &enums,
                    &format!("relationship properties `{name}`"),
                    false,
                ) {
                    properties.push(p);
                }
            }
            rel_props.insert(
                name.clone(),
                RelationshipPropertiesType {
                    name,
                    description: desc(&t.node.description),
                    properties,
                    cypher_fields,
                },
            );
        }

        let mut nodes = IndexMap::new();
        let mut plurals: HashMap<String, String> = HashMap::new();
        // (queryName, type, position) of every full-text and vector search field.
        let mut search_fields: Vec<(String, String, Pos)> = Vec::new();
        for t in &types {
            if kinds.get(t.node.name.node.as_str()) != Some(&Kind::Node) {
                continue;
            }
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            let name = t.node.name.node.to_string();
            self.no_unknown_directives(
                &t.node.directives,
                TYPE_DIRECTIVES,
                &format!("type `{name}`"),
            );
            let labels = self.labels(&t.node, &name);
            let plural = self.plural(&t.node, &name);
            let read_rules = self.read_rules(&t.node, &name, jwt.as_ref());
            let operations = self.operations(&t.node, &name);
            if let Some(other) = plurals.insert(plural.clone(), name.clone()) {
                self.error(t.node.name.pos, format!("types `{other}` and `{name}` share the plural `{plural}`: set @plural(value: \"…\") on one of them"));
            }
            let mut implements = Vec::new();
            for i in &o.implements {
                let iname = i.node.to_string();
                match interfaces.get_mut(&iname) {
                    Some((_, iface)) => {
                        iface.implementors.push(name.clone());
                        implements.push(iname);
                    }
                    None => self.error(
                        i.pos,
                        format!(
                            "type `{name}` implements `{iname}`, which is not a declared interface"
                        ),
                    ),
                }
            }
            let mut fields = Vec::new();
            let mut cypher_fields = Vec::new();
            let mut field_names = HashSet::new();
            for f in &o.fields {
                let fname = f.node.name.node.to_string();
                if !field_names.insert(fname.clone()) {
                    self.error(
                        f.node.name.pos,
                        format!("field `{fname}` is declared twice in type `{name}`"),
                    );
                    continue;
                }
                if RESERVED_FIELDS.contains(&fname.as_str()) || fname.starts_with("__") {
                    self.error(f.node.name.pos, format!("field name `{fname}` is reserved"));
                    continue;
                }
                if has_directive(&f.node.directives, "cypher") {
                    if let Some(c) = self.cypher_field(f, &name, &kinds, &enums) {
                        cypher_fields.push(c);
                    }
                    continue;
                }
                if !f.node.arguments.is_empty() {
                    self.error(
                        f.pos,
                        format!(
                            "field `{name}.{fname}` declares arguments: arguments are generated"
                        ),
                    );
                }
                let target = named_type(&f.node.ty.node);
                match kinds.get(target) {
                    Some(Kind::Node | Kind::Union | Kind::Interface) => {
                        if let Some(r) = self.relationship(f, &name, &kinds) {
                            fields.push(Field::Relationship(r));
                        }
                    }
                    Some(Kind::RelProps) => self.error(f.node.ty.pos, format!("field `{name}.{fname}` has type `{target}`, which is a @relationshipProperties type: name it in @relationship(properties: \"{target}\") instead")),
                    Some(Kind::Object) => self.error(f.node.ty.pos, format!("field `{name}.{fname}` has type `{target}`, an object type without @node: only a @cypher field can return it (mark `{target}` with @node to store it as nodes)")),
                    _ => {
                        if let Some(p) = self.property(f, &enums, &format!("type `{name}`"), true) {
                            fields.push(Field::Property(p));
                        }
                    }
                }
            }
            // Generated field names must not collide with declared ones.
            for r in fields.iter().filter_map(|f| match f {
                Field::Relationship(r) => Some(r),
                Field::Property(_) => None,
            }) {
                let generated = format!("{}Connection", r.name);
                if field_names.contains(&generated) {
                    let pos = o
                        .fields
                        .iter()
                        .find(|f| f.node.name.node == generated.as_str())
                        .map(|f| f.pos)
                        .unwrap_or(t.pos);
                    self.error(pos, format!("field `{name}.{generated}` collides with the connection field generated for relationship `{}`", r.name));
                }
            }
            if o.fields.is_empty() {
                self.error(t.node.name.pos, format!("node type `{name}` has no fields"));
            }
            // `@relayId`: one field, which the generated `id` (the global id) stands for.
            let relay: Vec<&Property> = fields
                .iter()
                .filter_map(|f| match f {
                    Field::Property(p) if p.relay_id => Some(p),
                    _ => None,
                })
                .collect();
            if relay.len() > 1 {
                self.error(t.node.name.pos, format!("type `{name}` has @relayId on more than one field: mark the one that identifies its nodes"));
            }
            if let Some(p) = relay.first() {
                if p.list {
                    self.error(
                        t.node.name.pos,
                        format!(
                            "@relayId on `{name}.{}`: a list cannot identify a node",
                            p.name
                        ),
                    );
                }
                if field_names.contains("id") {
                    self.error(t.node.name.pos, format!("type `{name}` has @relayId and a field named `id`: the generated global id is `id`; rename the field"));
                }
            }
            let search_indexes = self.search_indexes(&t.node, &name, &fields);
            for s in &search_indexes {
                search_fields.push((s.query_name.clone(), name.clone(), t.node.name.pos));
            }
            nodes.insert(
                name.clone(),
                NodeType {
                    name,
                    description: desc(&t.node.description),
                    labels,
                    plural,
                    implements,
                    fields,
                    read_rules,
                    operations,
                    cypher_fields,
                    search_indexes,
                },
            );
        }

        // A search field's name is a root field of its own: no other may have it.
        let mut taken: HashMap<String, String> = HashMap::new();
        for n in nodes.values() {
            taken.insert(n.plural.clone(), format!("the list of `{}`", n.name));
            taken.insert(
                format!("{}Connection", n.plural),
                format!("the connection of `{}`", n.name),
            );
        }
        for (query, owner, pos) in search_fields {
            if let Some(other) = taken.insert(query.clone(), format!("a search field of `{owner}`"))
            {
                self.error(pos, format!("the search field `{query}` of `{owner}` (queryName) is already {other}: give it another queryName"));
            }
        }

        // Implementing types must declare every interface field with the same type.
        for (iname, (ipos, iface)) in &interfaces {
            if iface.implementors.is_empty() {
                self.error(
                    *ipos,
                    format!("interface `{iname}` is implemented by no @node type"),
                );
            }
            for impl_name in &iface.implementors {
                let Some(node) = nodes.get(impl_name) else {
                    continue;
                };
                for dr in &iface.relationships {
                    match node.relationship(&dr.name) {
                        Some(r) if r.target == dr.target && r.list == dr.list => {}
                        Some(_) => self.error(*ipos, format!("type `{impl_name}` declares relationship `{}` with a type that differs from interface `{iname}`", dr.name)),
                        None => self.error(*ipos, format!("type `{impl_name}` implements `{iname}` but lacks its relationship `{}` (declare it with @relationship)", dr.name)),
                    }
                }
                for ip in &iface.properties {
                    // A scalar field may be computed by the type's own `@cypher` statement.
                    let computed = node.cypher_field(&ip.name).map(|c| {
                        c.result == CypherResult::Scalar(ip.scalar.clone()) && c.list == ip.list
                    });
                    match (node.property(&ip.name), computed) {
                        (None, Some(true)) => {}
                        (None, Some(false)) => self.error(*ipos, format!("type `{impl_name}` declares `{}` (a @cypher field) with a type that differs from interface `{iname}`", ip.name)),
                        (Some(p), _) if p.scalar == ip.scalar && p.list == ip.list && (p.required || !ip.required) => {}
                        (Some(_), _) => self.error(*ipos, format!("type `{impl_name}` declares `{}` with a type that differs from interface `{iname}`", ip.name)),
                        (None, None) => self.error(*ipos, format!("type `{impl_name}` implements `{iname}` but lacks its field `{}`", ip.name)),
                    }
                }
            }
        }

        // Node types declared as relationship targets must exist (checked above by kind); the
        // relationship properties named must exist and be @relationshipProperties types.
        for t in &types {
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            for f in &o.fields {
                if let Some(d) = directive(&f.node.directives, "relationship") {
                    if let Some((props, pos)) = string_arg(&d.node, "properties") {
                        if !rel_props.contains_key(&props) {
                            self.error(pos, format!("@relationship(properties: \"{props}\") names no @relationshipProperties type"));
                        }
                    }
                }
            }
        }

        if nodes.is_empty() && self.diagnostics.is_empty() {
            self.error(
                Pos { line: 1, column: 1 },
                "the ontology declares no @node type",
            );
        }

        // Object types without @node: the shapes of @cypher results.
        let mut objects = IndexMap::new();
        for t in &types {
            if kinds.get(t.node.name.node.as_str()) != Some(&Kind::Object) {
                continue;
            }
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            let name = t.node.name.node.to_string();
            self.no_unknown_directives(&t.node.directives, &[], &format!("type `{name}`"));
            let mut fields = Vec::new();
            for f in &o.fields {
                let fname = f.node.name.node.to_string();
                self.no_unknown_directives(
                    &f.node.directives,
                    &[],
                    &format!("field `{name}.{fname}`"),
                );
                let target = named_type(&f.node.ty.node);
                let known = Scalar::from_graphql_name(target, &enums).is_some()
                    || kinds.get(target) == Some(&Kind::Object);
                if !known {
                    self.error(f.node.ty.pos, format!("field `{name}.{fname}` of object type `{name}` has type `{target}`: a type without @node holds scalars, enums and other such types"));
                }
                fields.push((fname, f.node.ty.node.to_string()));
            }
            objects.insert(
                name.clone(),
                ObjectType {
                    name,
                    description: desc(&t.node.description),
                    fields,
                },
            );
        }

        // Custom root fields: every field of `type Query`/`type Mutation` runs its statement.
        let mut query_fields = Vec::new();
        let mut mutation_fields = Vec::new();
        for t in &types {
            let name = t.node.name.node.as_str();
            if kinds.get(name) != Some(&Kind::Root) {
                continue;
            }
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            self.no_unknown_directives(&t.node.directives, &[], &format!("type `{name}`"));
            for f in &o.fields {
                if !has_directive(&f.node.directives, "cypher") {
                    self.error(f.pos, format!("custom root field `{name}.{}` needs @cypher(statement:, columnName:): Ontograph generates the other root fields", f.node.name.node));
                    continue;
                }
                if let Some(c) = self.cypher_field(f, name, &kinds, &enums) {
                    if name == "Query" {
                        query_fields.push(c);
                    } else {
                        mutation_fields.push(c);
                    }
                }
            }
        }

        Ontology {
            nodes,
            interfaces: interfaces.into_iter().map(|(k, (_, v))| (k, v)).collect(),
            query_fields,
            mutation_fields,
            jwt,
            relationship_properties: rel_props,
            enums,
            unions,
            objects,
            version: fingerprint(source),
            database: Default::default(),
            keys_digest: String::new(),
        }
    }

    fn no_unknown_directives(
        &mut self,
        directives: &[Positioned<ConstDirective>],
        allowed: &[&str],
        what: &str,
    ) {
        for d in directives {
            let name = d.node.name.node.as_str();
            if !allowed.contains(&name) {
                let hint = if allowed.is_empty() {
                    "no directives are allowed here".to_string()
                } else {
                    format!(
                        "allowed here: {}",
                        allowed
                            .iter()
                            .map(|a| format!("@{a}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let message = match NOT_YET.iter().find(|(n, _)| *n == name) {
                    Some((_, instead)) => format!(
                        "@{name} on {what} is a @neo4j/graphql directive Ontograph does not support yet: {instead}"
                    ),
                    None => format!("unknown directive @{name} on {what} ({hint})"),
                };
                self.error(d.pos, message);
            }
        }
    }

    /// Reports the arguments of `d` not among `known`.
    fn check_args(&mut self, d: &Positioned<ConstDirective>, known: &[&str]) {
        for (a, _) in &d.node.arguments {
            if !known.contains(&a.node.as_str()) {
                self.error(
                    a.pos,
                    format!(
                        "@{} has no argument `{}` (it takes {})",
                        d.node.name.node,
                        a.node,
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// `@fulltext(indexes: [{ indexName, fields, queryName }])` and `@vector(indexes: [{
    /// indexName, embeddingProperty, queryName }])` on a node type, checked as the library
    /// checks them (String or ID fields, names unique on the type), with names valid as
    /// Neo4j identifiers.
    fn search_indexes(
        &mut self,
        t: &TypeDefinition,
        name: &str,
        fields: &[Field],
    ) -> Vec<SearchIndex> {
        let mut out: Vec<SearchIndex> = Vec::new();
        for dname in ["fulltext", "vector"] {
            let ds: Vec<_> = t
                .directives
                .iter()
                .filter(|d| d.node.name.node.as_str() == dname)
                .collect();
            if ds.len() > 1 {
                self.error(
                    ds[1].pos,
                    format!("The directive \"@{dname}\" can only be used once at this location."),
                );
            }
            let Some(d) = ds.first() else { continue };
            self.check_args(d, &["indexes"]);
            let Some(arg) = d.node.get_argument("indexes") else {
                self.error(
                    d.pos,
                    format!("@{dname} on `{name}` needs `indexes: [...]`"),
                );
                continue;
            };
            let items: Vec<&ConstValue> = match &arg.node {
                ConstValue::List(items) => items.iter().collect(),
                one => vec![one],
            };
            for item in items {
                let ConstValue::Object(ix) = item else {
                    self.error(
                        arg.pos,
                        format!("@{dname}(indexes:) on `{name}` takes a list of objects"),
                    );
                    continue;
                };
                let allowed: &[&str] = if dname == "fulltext" {
                    &["indexName", "fields", "queryName"]
                } else {
                    &[
                        "indexName",
                        "embeddingProperty",
                        "queryName",
                        "provider",
                        "maxPhraseLength",
                    ]
                };
                for key in ix.keys() {
                    if !allowed.contains(&key.as_str()) {
                        self.error(
                            arg.pos,
                            format!(
                                "@{dname}(indexes:) on `{name}`: unknown key `{key}` (allowed: {})",
                                allowed.join(", ")
                            ),
                        );
                    }
                }
                let text = |this: &mut Self, key: &str| -> Option<String> {
                    match ix.get(key) {
                        Some(ConstValue::String(s)) if valid_identifier(s) => Some(s.clone()),
                        Some(ConstValue::String(s)) => {
                            this.error(arg.pos, format!("@{dname}(indexes:) on `{name}`: {key} `{s}` is not a valid name (letters, digits and underscores)"));
                            None
                        }
                        _ => {
                            this.error(arg.pos, format!("@{dname}(indexes:) on `{name}` needs `{key}: String!` in every index"));
                            None
                        }
                    }
                };
                let (Some(index_name), Some(query_name)) =
                    (text(self, "indexName"), text(self, "queryName"))
                else {
                    continue;
                };
                let kind = if dname == "fulltext" {
                    let mut properties = Vec::new();
                    let names: Vec<&ConstValue> = match ix.get("fields") {
                        Some(ConstValue::List(items)) if !items.is_empty() => {
                            items.iter().collect()
                        }
                        Some(one @ ConstValue::String(_)) => vec![one],
                        _ => {
                            self.error(arg.pos, format!("@fulltext(indexes:) on `{name}` needs `fields: [String!]!`, the String fields to index, in index `{index_name}`"));
                            continue;
                        }
                    };
                    for f in names {
                        let found = match f {
                            ConstValue::String(f) => fields
                                .iter()
                                .find_map(|x| match x {
                                    Field::Property(p)
                                        if p.name == *f
                                            && !p.list
                                            && matches!(p.scalar, Scalar::String | Scalar::Id) =>
                                    {
                                        Some(p.db_name.clone())
                                    }
                                    _ => None,
                                })
                                .ok_or_else(|| f.to_string()),
                            other => Err(other.to_string()),
                        };
                        match found {
                            Ok(db) => properties.push(db),
                            Err(f) => self.error(arg.pos, format!("@fulltext.indexes invalid value for: {index_name}. Field {f} is not of type String or ID.")),
                        }
                    }
                    SearchKind::Fulltext { properties }
                } else {
                    if ix.contains_key("provider") || ix.contains_key("maxPhraseLength") {
                        self.error(arg.pos, format!("@vector(indexes:) on `{name}`, index `{index_name}`: `provider` (querying by phrase through an embedding provider) is not supported; leave it out and query `{query_name}` with `vector:`, embeddings computed by the caller"));
                        continue;
                    }
                    let Some(property) = text(self, "embeddingProperty") else {
                        continue;
                    };
                    // Declared or not (the library does not require it), a declared one must
                    // hold a list of floats.
                    let declared = fields.iter().find_map(|x| match x {
                        Field::Property(p) if p.db_name == property || p.name == property => {
                            Some(p)
                        }
                        _ => None,
                    });
                    match declared {
                        Some(p) if !(p.list && p.scalar == Scalar::Float) => {
                            self.error(arg.pos, format!("@vector.indexes invalid value for: {index_name}. Field {} holds the embedding and must be of type [Float!].", p.name));
                            continue;
                        }
                        Some(p) => SearchKind::Vector {
                            property: p.db_name.clone(),
                        },
                        None => SearchKind::Vector { property },
                    }
                };
                if out.iter().any(|s| s.index_name == index_name) {
                    self.error(arg.pos, format!("@{dname}.indexes invalid value for: {index_name}. Duplicate index name."));
                    continue;
                }
                if out.iter().any(|s| s.query_name == query_name) {
                    self.error(arg.pos, format!("@{dname}.indexes invalid value for: {query_name}. Duplicate query name."));
                    continue;
                }
                out.push(SearchIndex {
                    index_name,
                    query_name,
                    kind,
                });
            }
        }
        out
    }

    /// `@query(read:, aggregate:)`, `@mutation(operations: [CREATE, UPDATE, DELETE])`,
    /// `@limit(default:, max:)` on a node type.
    fn operations(&mut self, t: &TypeDefinition, name: &str) -> Operations {
        let mut ops = Operations::default();
        // A type's own @query/@mutation, else the schema's; never both (as the library says).
        let schema = std::mem::take(&mut self.schema_directives);
        let configured = |this: &mut Self, directive_name: &str| {
            let own = directive(&t.directives, directive_name);
            let wide = schema.iter().find(|d| d.node.name.node == directive_name);
            if let (Some(d), Some(_)) = (own, wide) {
                this.error(d.pos, format!("@{directive_name} on `{name}` and on the schema (`extend schema @{directive_name}`): use one location, either the schema or the types"));
            }
            own.or(wide).cloned()
        };
        let query = configured(self, "query");
        let mutation = configured(self, "mutation");
        self.schema_directives = schema;
        if let Some(d) = &query {
            self.check_args(d, &["read", "aggregate"]);
            match d.node.get_argument("read").map(|v| (&v.node, v.pos)) {
                None => {}
                Some((ConstValue::Boolean(b), _)) => ops.read = *b,
                Some((_, pos)) => self.error(
                    pos,
                    format!("@query(read:) on `{name}` must be true or false"),
                ),
            }
            match d.node.get_argument("aggregate").map(|v| (&v.node, v.pos)) {
                None => {}
                Some((ConstValue::Boolean(b), _)) => ops.aggregate = *b,
                Some((_, pos)) => self.error(
                    pos,
                    format!("@query(aggregate:) on `{name}` must be true or false"),
                ),
            }
        }
        if let Some(d) = &mutation {
            self.check_args(d, &["operations"]);
            if let Some(arg) = d.node.get_argument("operations") {
                ops.create = false;
                ops.update = false;
                ops.delete = false;
                for op in enum_list(&arg.node) {
                    match op {
                        Some("CREATE") => ops.create = true,
                        Some("UPDATE") => ops.update = true,
                        Some("DELETE") => ops.delete = true,
                        _ => self.error(
                            arg.pos,
                            format!("@mutation(operations:) on `{name}` takes CREATE, UPDATE and DELETE"),
                        ),
                    }
                }
            }
        }
        if let Some(d) = directive(&t.directives, "limit") {
            self.check_args(d, &["default", "max"]);
            let positive = |this: &mut Self, arg: &str| -> Option<u64> {
                let v = d.node.get_argument(arg)?;
                match &v.node {
                    ConstValue::Number(n) if n.as_u64().is_some_and(|n| n > 0) => n.as_u64(),
                    _ => {
                        this.error(
                            v.pos,
                            format!("@limit({arg}:) on `{name}` must be a positive Int"),
                        );
                        None
                    }
                }
            };
            ops.default_limit = positive(self, "default");
            ops.max_limit = positive(self, "max");
            if let (Some(default), Some(max)) = (ops.default_limit, ops.max_limit) {
                if default > max {
                    self.error(
                        d.pos,
                        format!(
                            "@limit on `{name}`: default ({default}) is larger than max ({max})"
                        ),
                    );
                }
            }
        }
        ops
    }

    fn labels(&mut self, t: &TypeDefinition, name: &str) -> Vec<String> {
        let Some(d) = directive(&t.directives, "node") else {
            return vec![name.to_string()];
        };
        let mut labels = Vec::new();
        for (arg, value) in &d.node.arguments {
            if arg.node.as_str() != "labels" {
                self.error(
                    arg.pos,
                    format!(
                        "@node has no argument `{}` (it takes `labels: [String!]`)",
                        arg.node
                    ),
                );
                continue;
            }
            match &value.node {
                ConstValue::List(items) if !items.is_empty() => {
                    for item in items {
                        match item {
                            ConstValue::String(s) if valid_identifier(s) => labels.push(s.clone()),
                            ConstValue::String(s) => self.error(value.pos, format!("label `{s}` is not a valid label: use letters, digits and underscores")),
                            _ => self.error(value.pos, "@node(labels:) takes a list of strings"),
                        }
                    }
                }
                _ => self.error(
                    value.pos,
                    "@node(labels:) takes a non-empty list of strings, e.g. [\"Person\"]",
                ),
            }
        }
        if labels.is_empty() {
            labels.push(name.to_string());
        }
        labels
    }

    /// `type JWT @jwt { claim: T @jwtClaim(path: "a.b") }`: at most one, scalar or list fields.
    fn jwt_type(
        &mut self,
        types: &[&Positioned<TypeDefinition>],
        kinds: &HashMap<String, Kind>,
    ) -> Option<JwtType> {
        let mut found: Option<JwtType> = None;
        for t in types {
            let name = t.node.name.node.to_string();
            if kinds.get(&name) != Some(&Kind::Jwt) {
                continue;
            }
            self.no_unknown_directives(&t.node.directives, &["jwt"], &format!("type `{name}`"));
            if let Some(first) = &found {
                self.error(t.node.name.pos, format!("types `{}` and `{name}` are both @jwt: declare the token's claims in one type", first.name));
                continue;
            }
            let TypeKind::Object(o) = &t.node.kind else {
                continue;
            };
            let mut claims = Vec::new();
            for f in &o.fields {
                let fname = f.node.name.node.to_string();
                self.no_unknown_directives(
                    &f.node.directives,
                    &["jwtClaim"],
                    &format!("claim `{name}.{fname}`"),
                );
                let path = match directive(&f.node.directives, "jwtClaim") {
                    Some(d) => match string_arg(&d.node, "path") {
                        Some((p, _)) if !p.is_empty() => authorization::claim_path(&p),
                        _ => {
                            self.error(d.pos, format!("@jwtClaim on `{name}.{fname}` needs `path: String!`, the claim's path in the token"));
                            continue;
                        }
                    },
                    None => vec![fname.clone()],
                };
                claims.push(JwtClaim { name: fname, path });
            }
            found = Some(JwtType { name, claims });
        }
        found
    }

    /// `@authorization(filter: [{ operations, requireAuthentication, where: { jwt, node } }])`:
    /// the rules that apply to reads (`operations` absent or naming READ), each a condition on
    /// the caller's token and/or on the node (values may be `"$jwt.<claim>"`). Other arguments
    /// (`validate`) and `$context` values are refused, naming what is supported.
    fn read_rules(
        &mut self,
        t: &TypeDefinition,
        name: &str,
        jwt: Option<&JwtType>,
    ) -> Vec<ReadRule> {
        let Some(d) = directive(&t.directives, "authorization") else {
            return Vec::new();
        };
        const SUPPORTED: &str = "Ontograph supports `@authorization(filter: [{ operations, requireAuthentication, where: { jwt: { <claim>: { eq | in | includes | … } }, node: { <field>: { eq: \"$jwt.<claim>\" } } } }])`";
        let mut rules = Vec::new();
        for (arg, value) in &d.node.arguments {
            if arg.node.as_str() != "filter" {
                self.error(
                    arg.pos,
                    format!(
                        "@authorization({}:) on `{name}` is not supported yet: {SUPPORTED}",
                        arg.node
                    ),
                );
                continue;
            }
            let ConstValue::List(list) = &value.node else {
                self.error(
                    value.pos,
                    format!(
                        "@authorization(filter:) on `{name}` takes a list of rules: {SUPPORTED}"
                    ),
                );
                continue;
            };
            for rule in list {
                let ConstValue::Object(r) = rule else {
                    self.error(
                        value.pos,
                        format!(
                            "an @authorization rule on `{name}` must be an object: {SUPPORTED}"
                        ),
                    );
                    continue;
                };
                if let Some(k) = r.keys().find(|k| {
                    !matches!(k.as_str(), "where" | "operations" | "requireAuthentication")
                }) {
                    self.error(value.pos, format!("an @authorization rule on `{name}` has `{k}`, which is not supported yet: {SUPPORTED}"));
                    continue;
                }
                let reads = match r.get("operations") {
                    None => true,
                    Some(ops) => enum_list(ops).contains(&Some("READ")),
                };
                let require_authentication = !matches!(
                    r.get("requireAuthentication"),
                    Some(ConstValue::Boolean(false))
                );
                let (on_token, on_node) = match r.get("where") {
                    Some(ConstValue::Object(w)) => {
                        if let Some(k) = w.keys().find(|k| !matches!(k.as_str(), "jwt" | "node")) {
                            self.error(value.pos, format!("an @authorization rule on `{name}` filters on `{k}`: only `jwt` and `node` conditions are supported ({SUPPORTED})"));
                            continue;
                        }
                        (
                            w.get("jwt").and_then(|c| c.clone().into_json().ok()),
                            w.get("node").and_then(|c| c.clone().into_json().ok()),
                        )
                    }
                    _ => (None, None),
                };
                if on_token.is_none() && on_node.is_none() {
                    self.error(value.pos, format!("an @authorization rule on `{name}` needs `where: {{ jwt: {{ … }} }}` or `where: {{ node: {{ … }} }}`: {SUPPORTED}"));
                    continue;
                }
                let condition = on_token.unwrap_or_else(|| serde_json::json!({}));
                if let Err(problem) = check_jwt_condition(&condition, jwt) {
                    self.error(
                        value.pos,
                        format!("an @authorization rule on `{name}`: {problem}"),
                    );
                    continue;
                }
                if on_node
                    .as_ref()
                    .is_some_and(|n| n.to_string().contains("\"$context."))
                {
                    self.error(value.pos, format!("an @authorization rule on `{name}` reads `$context`, which is not supported yet: use claims of the token (`$jwt.<claim>`)"));
                    continue;
                }
                if reads {
                    rules.push(ReadRule {
                        jwt: condition,
                        node: on_node,
                        require_authentication,
                    });
                }
            }
        }
        rules
    }

    fn plural(&mut self, t: &TypeDefinition, name: &str) -> String {
        match directive(&t.directives, "plural") {
            Some(d) => match string_arg(&d.node, "value") {
                Some((v, pos)) if valid_identifier(&v) => {
                    let p = plural_from_directive(&v);
                    if p == crate::naming::camel_case(name) {
                        self.error(pos, format!("@plural(value: \"{v}\") equals the singular: root fields would collide"));
                    }
                    p
                }
                Some((v, pos)) => {
                    self.error(
                        pos,
                        format!("@plural(value: \"{v}\") is not a valid GraphQL name"),
                    );
                    plural_of(name)
                }
                None => {
                    self.error(d.pos, "@plural needs `value: String!`");
                    plural_of(name)
                }
            },
            None => plural_of(name),
        }
    }

    fn relationship(
        &mut self,
        f: &Positioned<FieldDefinition>,
        owner: &str,
        kinds: &HashMap<String, Kind>,
    ) -> Option<Relationship> {
        let fname = f.node.name.node.to_string();
        self.no_unknown_directives(
            &f.node.directives,
            &["relationship"],
            &format!("relationship field `{owner}.{fname}`"),
        );
        if has_directive(&f.node.directives, "cypher") {
            // Reported above (a library directive not supported yet); it is no relationship.
            return None;
        }
        let Some(d) = directive(&f.node.directives, "relationship") else {
            self.error(f.pos, format!("field `{owner}.{fname}` refers to node type `{}` but has no @relationship(type:, direction:) directive", named_type(&f.node.ty.node)));
            return None;
        };
        for (arg, _) in &d.node.arguments {
            if ![
                "type",
                "direction",
                "properties",
                "queryDirection",
                "nestedOperations",
                "aggregate",
            ]
            .contains(&arg.node.as_str())
            {
                self.error(
                    arg.pos,
                    format!(
                        "@relationship has no argument `{}` (it takes type, direction, properties)",
                        arg.node
                    ),
                );
            }
        }
        let rel_type = match string_arg(&d.node, "type") {
            Some((t, _)) if valid_identifier(&t) => Some(t),
            Some((t, pos)) => {
                self.error(
                    pos,
                    format!(
                        "relationship type `{t}` is not valid: use letters, digits and underscores"
                    ),
                );
                None
            }
            None => {
                self.error(
                    d.pos,
                    format!("@relationship on `{owner}.{fname}` needs `type: \"REL_TYPE\"`"),
                );
                None
            }
        };
        let direction = match d.node.get_argument("direction").map(|v| &v.node) {
            Some(ConstValue::Enum(e)) if e.as_str() == "IN" => Some(Direction::In),
            Some(ConstValue::Enum(e)) if e.as_str() == "OUT" => Some(Direction::Out),
            Some(_) => {
                let pos = d
                    .node
                    .get_argument("direction")
                    .map(|v| v.pos)
                    .unwrap_or(d.pos);
                self.error(
                    pos,
                    "@relationship(direction:) must be IN or OUT (unquoted)",
                );
                None
            }
            None => {
                self.error(d.pos, format!("@relationship on `{owner}.{fname}` needs `direction: IN` or `direction: OUT`"));
                None
            }
        };
        let undirected = match d
            .node
            .get_argument("queryDirection")
            .map(|v| (&v.node, v.pos))
        {
            None => false,
            Some((ConstValue::Enum(e), _)) if e.as_str() == "DIRECTED" => false,
            Some((ConstValue::Enum(e), _)) if e.as_str() == "UNDIRECTED" => true,
            Some((_, pos)) => {
                self.error(
                    pos,
                    "@relationship(queryDirection:) must be DIRECTED or UNDIRECTED (unquoted)",
                );
                false
            }
        };
        let properties = string_arg(&d.node, "properties").map(|(p, _)| p);
        let aggregate = match d.node.get_argument("aggregate").map(|v| (&v.node, v.pos)) {
            None => true,
            Some((ConstValue::Boolean(b), _)) => *b,
            Some((_, pos)) => {
                self.error(
                    pos,
                    format!("@relationship(aggregate:) on `{owner}.{fname}` must be true or false"),
                );
                true
            }
        };
        let nested = match d.node.get_argument("nestedOperations") {
            None => NestedOperations::default(),
            Some(v) => {
                let mut n = NestedOperations {
                    create: false,
                    connect: false,
                    disconnect: false,
                    update: false,
                    delete: false,
                };
                for op in enum_list(&v.node) {
                    match op {
                        Some("CREATE") => n.create = true,
                        Some("CONNECT") => n.connect = true,
                        Some("DISCONNECT") => n.disconnect = true,
                        Some("UPDATE") => n.update = true,
                        Some("DELETE") => n.delete = true,
                        // v7 dropped connectOrCreate: nothing to offer.
                        Some("CONNECT_OR_CREATE") => {}
                        Some(other) => self.error(v.pos, format!("@relationship(nestedOperations:) on `{owner}.{fname}`: unknown operation `{other}` (CREATE, CONNECT, DISCONNECT, UPDATE, DELETE)")),
                        None => self.error(v.pos, format!("@relationship(nestedOperations:) on `{owner}.{fname}` takes a list of CREATE, CONNECT, DISCONNECT, UPDATE, DELETE")),
                    }
                }
                n
            }
        };
        let ty = &f.node.ty.node;
        let target_name = named_type(ty);
        let list = match &ty.base {
            // As in @neo4j/graphql: a single related node may be missing, so the field is nullable.
            BaseType::Named(_) if !ty.nullable => {
                self.error(
                    f.node.ty.pos,
                    format!("relationship `{owner}.{fname}` cannot be non-null (`{target_name}!`): a single relationship may be missing; use `{target_name}`"),
                );
                false
            }
            BaseType::Named(_) => false,
            BaseType::List(inner) => {
                if ty.nullable || inner.nullable || matches!(inner.base, BaseType::List(_)) {
                    self.error(
                        f.node.ty.pos,
                        format!(
                            "relationship `{owner}.{fname}` must have type `[{target_name}!]!` (a list relationship is non-null with non-null entries) or `{target_name}`",
                        ),
                    );
                }
                true
            }
        };
        let target = named_type(ty).to_string();
        debug_assert!(matches!(
            kinds.get(&target),
            Some(&Kind::Node | &Kind::Union | &Kind::Interface)
        ));
        Some(Relationship {
            name: fname,
            description: desc(&f.node.description),
            rel_type: rel_type?,
            direction: direction?,
            target,
            list,
            properties,
            nested,
            undirected,
            aggregate,
        })
    }

    fn property(
        &mut self,
        f: &Positioned<FieldDefinition>,
        enums: &IndexMap<String, EnumType>,
        owner: &str,
        on_node: bool,
    ) -> Option<Property> {
        let fname = f.node.name.node.to_string();
        let mut allowed = PROPERTY_DIRECTIVES.to_vec();
        if on_node {
            allowed.extend_from_slice(NODE_PROPERTY_DIRECTIVES);
        }
        self.no_unknown_directives(
            &f.node.directives,
            &allowed,
            &format!("field `{fname}` of {owner}"),
        );
        let ty = &f.node.ty.node;
        let tname = named_type(ty);
        let Some(scalar) = Scalar::from_graphql_name(tname, enums) else {
            self.error(f.node.ty.pos, format!("unknown type `{tname}` for field `{fname}` of {owner} (expected a @node type, an enum, or one of ID, String, Int, Float, Boolean, BigInt, DateTime, Date, Time, LocalTime, LocalDateTime, Duration)"));
            return None;
        };
        let (list, required) = match &ty.base {
            BaseType::Named(_) => (false, !ty.nullable),
            BaseType::List(inner) => {
                if matches!(inner.base, BaseType::List(_)) {
                    self.error(
                        f.node.ty.pos,
                        format!(
                            "field `{fname}` of {owner}: lists of lists cannot be stored in Neo4j"
                        ),
                    );
                } else if inner.nullable {
                    self.error(
                        f.node.ty.pos,
                        format!(
                            "field `{fname}` of {owner}: a list of nullable elements (`[{tname}]`) cannot be stored in Neo4j (its lists hold no nulls); use `[{tname}!]`"
                        ),
                    );
                }
                (true, !ty.nullable)
            }
        };
        let autogenerate = has_directive(&f.node.directives, "id");
        if autogenerate && (scalar != Scalar::Id || list) {
            self.error(
                f.pos,
                format!(
                    "@id on `{fname}` of {owner}: only a field of type `ID` can be autogenerated"
                ),
            );
        }
        let unique = has_directive(&f.node.directives, "unique");
        if unique && list {
            self.error(
                f.pos,
                format!(
                    "@unique on list field `{fname}` of {owner}: uniqueness needs a single value"
                ),
            );
        }
        let index = directive(&f.node.directives, "index").and_then(|d| {
            match d.node.get_argument("kind").map(|v| &v.node) {
                None => Some(IndexKind::Range),
                Some(ConstValue::Enum(e)) if e.as_str() == "RANGE" => Some(IndexKind::Range),
                Some(ConstValue::Enum(e)) if e.as_str() == "TEXT" => {
                    if scalar != Scalar::String && scalar != Scalar::Id {
                        self.error(d.pos, format!("@index(kind: TEXT) on `{fname}` of {owner}: text indexes need a String or ID field"));
                    }
                    Some(IndexKind::Text)
                }
                Some(_) => {
                    self.error(d.pos, format!("@index(kind:) on `{fname}` of {owner} must be RANGE or TEXT"));
                    None
                }
            }
        });
        if let Some(d) = directive(&f.node.directives, "index") {
            for (arg, _) in &d.node.arguments {
                if arg.node.as_str() != "kind" {
                    self.error(
                        arg.pos,
                        format!(
                            "@index has no argument `{}` (it takes `kind: RANGE | TEXT`)",
                            arg.node
                        ),
                    );
                }
            }
        }
        let db_name = match directive(&f.node.directives, "alias") {
            Some(d) => match string_arg(&d.node, "property") {
                Some((p, _)) if valid_identifier(&p) => p,
                Some((p, pos)) => {
                    self.error(
                        pos,
                        format!("@alias(property: \"{p}\") is not a valid property name"),
                    );
                    fname.clone()
                }
                None => {
                    self.error(d.pos, "@alias needs `property: String!`");
                    fname.clone()
                }
            },
            None => fname.clone(),
        };
        let mut value_of = |name: &str| {
            let d = directive(&f.node.directives, name)?;
            let Some(v) = d.node.get_argument("value") else {
                self.error(d.pos, format!("@{name} needs `value:`"));
                return None;
            };
            match literal(&v.node, &scalar, list, enums) {
                Ok(json) => Some(json),
                Err(expected) => {
                    self.error(
                        v.pos,
                        format!("@{name}(value:) on `{fname}` of {owner}: expected {expected}"),
                    );
                    None
                }
            }
        };
        let default = value_of("default");
        let coalesce = value_of("coalesce");
        let timestamp = self.timestamp(f, &scalar, list, owner);
        let exposure = self.exposure(f, owner);
        if autogenerate && default.is_some() {
            self.error(
                f.pos,
                format!("`{fname}` of {owner}: @id generates the value; it takes no @default"),
            );
        }
        Some(Property {
            name: fname,
            db_name,
            description: desc(&f.node.description),
            scalar,
            list,
            required,
            autogenerate,
            unique,
            database_key: None,
            database_range_index: None,
            index,
            default,
            coalesce,
            timestamp,
            exposure,
            relay_id: has_directive(&f.node.directives, "relayId"),
        })
    }

    /// `@selectable(onRead:, onAggregate:)`, `@settable(onCreate:, onUpdate:)`,
    /// `@filterable(byValue:, byAggregate:)`: each argument `true` unless given.
    /// `field(args): T @cypher(statement: "…", columnName: "…")` on node type `owner`.
    fn cypher_field(
        &mut self,
        f: &Positioned<FieldDefinition>,
        owner: &str,
        kinds: &HashMap<String, Kind>,
        enums: &IndexMap<String, EnumType>,
    ) -> Option<CypherField> {
        let fname = f.node.name.node.to_string();
        let what = format!("@cypher field `{owner}.{fname}`");
        self.no_unknown_directives(&f.node.directives, &["cypher"], &what);
        let d = directive(&f.node.directives, "cypher")?;
        for (arg, _) in &d.node.arguments {
            if !["statement", "columnName"].contains(&arg.node.as_str()) {
                self.error(
                    arg.pos,
                    format!(
                        "@cypher has no argument `{}` (it takes statement, columnName)",
                        arg.node
                    ),
                );
            }
        }
        let Some((statement, _)) = string_arg(&d.node, "statement") else {
            self.error(
                d.pos,
                format!("{what} needs `statement:`, a Cypher statement returning the value"),
            );
            return None;
        };
        let Some((column, pos)) = string_arg(&d.node, "columnName") else {
            self.error(
                d.pos,
                format!("{what} needs `columnName:`, the statement's column holding the value"),
            );
            return None;
        };
        if !valid_identifier(&column) {
            self.error(
                pos,
                format!("{what}: columnName `{column}` is not a Cypher identifier"),
            );
            return None;
        }
        let target = named_type(&f.node.ty.node);
        let result = match (Scalar::from_graphql_name(target, enums), kinds.get(target)) {
            (Some(s), _) => CypherResult::Scalar(s),
            (None, Some(Kind::Node)) => CypherResult::Node(target.to_owned()),
            (None, Some(Kind::Object)) => CypherResult::Object(target.to_owned()),
            (None, Some(Kind::Union | Kind::Interface)) => {
                CypherResult::Abstract(target.to_owned())
            }
            _ => {
                self.error(f.node.ty.pos, format!("{what} returns `{target}`, which is not a scalar, enum, @node type or object type"));
                return None;
            }
        };
        let mut args = Vec::new();
        for a in &f.node.arguments {
            let default = a
                .node
                .default_value
                .as_ref()
                .and_then(|v| Some((v.node.clone().into_json().ok()?, v.node.to_string())));
            args.push(CypherArgument {
                name: a.node.name.node.to_string(),
                ty: a.node.ty.node.to_string(),
                default,
            });
        }
        Some(CypherField {
            name: fname,
            description: desc(&f.node.description),
            statement,
            column,
            args,
            result,
            list: matches!(f.node.ty.node.base, BaseType::List(_)),
            ty: f.node.ty.node.to_string(),
        })
    }

    fn exposure(&mut self, f: &Positioned<FieldDefinition>, owner: &str) -> Exposure {
        let fname = &f.node.name.node;
        let mut flag = |directive_name: &str, arg: &str, known: &[&str]| -> bool {
            let Some(d) = directive(&f.node.directives, directive_name) else {
                return true;
            };
            for (a, _) in &d.node.arguments {
                if !known.contains(&a.node.as_str()) {
                    self.error(
                        a.pos,
                        format!(
                            "@{directive_name} has no argument `{}` (it takes {})",
                            a.node,
                            known.join(", ")
                        ),
                    );
                }
            }
            match d.node.get_argument(arg).map(|v| (&v.node, v.pos)) {
                None => true,
                Some((ConstValue::Boolean(b), _)) => *b,
                Some((_, pos)) => {
                    self.error(
                        pos,
                        format!("@{directive_name}({arg}:) on `{fname}` of {owner} must be true or false"),
                    );
                    true
                }
            }
        };
        Exposure {
            read: flag("selectable", "onRead", &["onRead", "onAggregate"]),
            create: flag("settable", "onCreate", &["onCreate", "onUpdate"]),
            update: flag("settable", "onUpdate", &["onCreate", "onUpdate"]),
            filter: flag("filterable", "byValue", &["byValue", "byAggregate"]),
            aggregate: flag("selectable", "onAggregate", &["onRead", "onAggregate"]),
            filter_aggregate: flag("filterable", "byAggregate", &["byValue", "byAggregate"]),
        }
    }

    /// `@timestamp(operations: [CREATE, UPDATE])` (both when `operations` is left out), on a
    /// single `DateTime`.
    fn timestamp(
        &mut self,
        f: &Positioned<FieldDefinition>,
        scalar: &Scalar,
        list: bool,
        owner: &str,
    ) -> Timestamp {
        let Some(d) = directive(&f.node.directives, "timestamp") else {
            return Timestamp::default();
        };
        let fname = &f.node.name.node;
        if *scalar != Scalar::DateTime || list {
            self.error(
                d.pos,
                format!("@timestamp on `{fname}` of {owner}: only a single `DateTime` is set to the current time"),
            );
        }
        let Some(ops) = d.node.get_argument("operations") else {
            return Timestamp {
                on_create: true,
                on_update: true,
            };
        };
        let mut t = Timestamp::default();
        for op in enum_list(&ops.node) {
            match op {
                Some("CREATE") => t.on_create = true,
                Some("UPDATE") => t.on_update = true,
                _ => self.error(
                    ops.pos,
                    format!("@timestamp(operations:) on `{fname}` of {owner} takes CREATE and/or UPDATE"),
                ),
            }
        }
        t
    }
}

/// A directive's value for a property of this type, as JSON (what it is compiled with), or what
/// was expected instead.
fn literal(
    v: &ConstValue,
    scalar: &Scalar,
    list: bool,
    enums: &IndexMap<String, EnumType>,
) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    if list {
        let ConstValue::List(items) = v else {
            return Err(format!("a list of {}", scalar.graphql_name()));
        };
        return items
            .iter()
            .map(|i| literal(i, scalar, false, enums))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    let expected = || format!("a {} value", scalar.graphql_name());
    match (scalar, v) {
        (Scalar::String | Scalar::Id, ConstValue::String(s)) => Ok(Value::from(s.as_str())),
        (Scalar::Id, ConstValue::Number(n)) if n.is_i64() => Ok(Value::from(n.to_string())),
        (Scalar::Int, ConstValue::Number(n)) => n
            .as_i64()
            .filter(|i| i32::try_from(*i).is_ok())
            .map(Value::from)
            .ok_or_else(|| "a 32-bit Int value".to_owned()),
        (Scalar::BigInt, ConstValue::Number(n)) if n.is_i64() => Ok(Value::from(n.to_string())),
        (Scalar::BigInt, ConstValue::String(s)) if s.parse::<i64>().is_ok() => {
            Ok(Value::from(s.as_str()))
        }
        (Scalar::Float, ConstValue::Number(n)) => n.as_f64().map(Value::from).ok_or_else(expected),
        (Scalar::Boolean, ConstValue::Boolean(b)) => Ok(Value::from(*b)),
        (Scalar::DateTime, ConstValue::String(s))
            if chrono::DateTime::parse_from_rfc3339(s).is_ok() =>
        {
            Ok(Value::from(s.as_str()))
        }
        (Scalar::DateTime, _) => Err("an ISO 8601 date-time string".to_owned()),
        // Neo4j parses the text (`date(…)`, `duration(…)`) where the value is used.
        (
            Scalar::Date
            | Scalar::Time
            | Scalar::LocalTime
            | Scalar::LocalDateTime
            | Scalar::Duration,
            ConstValue::String(s),
        ) => Ok(Value::from(s.as_str())),
        (Scalar::Enum(e), ConstValue::Enum(value)) => {
            if enums
                .get(e)
                .is_some_and(|t| t.values.iter().any(|x| x == value.as_str()))
            {
                Ok(Value::from(value.as_str()))
            } else {
                Err(format!("a value of enum `{e}`"))
            }
        }
        _ => Err(expected()),
    }
}

fn desc(d: &Option<Positioned<String>>) -> Option<String> {
    d.as_ref().map(|d| d.node.trim().to_string())
}

fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(n) => n.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

fn directive<'a>(
    ds: &'a [Positioned<ConstDirective>],
    name: &str,
) -> Option<&'a Positioned<ConstDirective>> {
    ds.iter().find(|d| d.node.name.node.as_str() == name)
}

fn has_directive(ds: &[Positioned<ConstDirective>], name: &str) -> bool {
    directive(ds, name).is_some()
}

/// An argument that takes enum values, one or a list (`operations: [CREATE, UPDATE]`,
/// `operations: CREATE`): each value's name, `None` for one that is no enum value.
fn enum_list(v: &ConstValue) -> Vec<Option<&str>> {
    fn one(x: &ConstValue) -> Option<&str> {
        match x {
            ConstValue::Enum(e) => Some(e.as_str()),
            _ => None,
        }
    }
    match v {
        ConstValue::List(items) => items.iter().map(one).collect(),
        x => vec![one(x)],
    }
}

fn string_arg(d: &ConstDirective, name: &str) -> Option<(String, Pos)> {
    match d.get_argument(name) {
        Some(Positioned {
            node: ConstValue::String(s),
            pos,
        }) => Some((s.clone(), *pos)),
        _ => None,
    }
}

/// Checks a rule's `jwt` condition: claims of the typed JWT or the standard ones, known
/// operators, `AND`/`OR` lists and `NOT` objects.
fn check_jwt_condition(cond: &serde_json::Value, jwt: Option<&JwtType>) -> Result<(), String> {
    let serde_json::Value::Object(m) = cond else {
        return Err("a `jwt` condition must be an object".to_owned());
    };
    for (k, v) in m {
        match k.as_str() {
            "AND" | "OR" => {
                let items = v
                    .as_array()
                    .ok_or_else(|| format!("`{k}` takes a list of conditions"))?;
                for item in items {
                    check_jwt_condition(item, jwt)?;
                }
            }
            "NOT" => check_jwt_condition(v, jwt)?,
            key => {
                let (claim, op) = authorization::split_key(key);
                let known = jwt.is_some_and(|j| j.claims.iter().any(|c| c.name == claim))
                    || authorization::STANDARD_CLAIMS.contains(&claim);
                if !known {
                    return Err(format!("the token has no claim `{claim}` (declare it in a `type JWT @jwt`; standard claims: {})", authorization::STANDARD_CLAIMS.join(", ")));
                }
                if op.is_none() {
                    if let serde_json::Value::Object(ops) = v {
                        if let Some(bad) = ops
                            .keys()
                            .find(|o| !authorization::OPERATORS.contains(&o.as_str()))
                        {
                            return Err(format!(
                                "`{claim}` has no operator `{bad}` (operators: {})",
                                authorization::OPERATORS.join(", ")
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Labels, relationship types and property names: letters, digits, underscores, not starting
/// with a digit. Generated Cypher quotes them anyway; this keeps them portable.
fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
