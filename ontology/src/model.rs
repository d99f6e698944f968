//! The ontology model: node types, their properties and relationships, as parsed and validated
//! from GraphQL SDL type definitions.

use indexmap::IndexMap;

/// The interface of the types with a global id (`@relayId`), and of `node(id:)`.
pub const NODE_INTERFACE: &str = "Node";

/// A validated ontology. Every name in it is safe to use as a label, relationship type or
/// property name in generated Cypher (they are still quoted with backticks there).
#[derive(Debug, Clone)]
pub struct Ontology {
    /// Node types by GraphQL type name, in declaration order.
    pub nodes: IndexMap<String, NodeType>,
    /// Interfaces (class hierarchy) by name, in declaration order.
    pub interfaces: IndexMap<String, InterfaceType>,
    /// Types marked `@relationshipProperties`, by name.
    pub relationship_properties: IndexMap<String, RelationshipPropertiesType>,
    /// Unions of node types (`union Production = Movie | Series`), by name.
    pub unions: IndexMap<String, UnionType>,
    /// User enums usable as property types, by name, with their values.
    pub enums: IndexMap<String, EnumType>,
    /// Object types without `@node`: the shapes of `@cypher` results (no queries of their own).
    pub objects: IndexMap<String, ObjectType>,
    /// Custom root fields: `type Query { … }` and `type Mutation { … }` fields with `@cypher`.
    pub query_fields: Vec<CypherField>,
    pub mutation_fields: Vec<CypherField>,
    /// `type JWT @jwt { … }`: the token's claims rules may test, each at its path.
    pub jwt: Option<crate::authorization::JwtType>,
    /// A stable fingerprint of the source text (FNV-1a, hex): the ontology version.
    pub version: String,
    /// The database's uniqueness constraints and range indexes adopted by
    /// [`Ontology::adopt_database`] (empty until then).
    pub database: DatabaseKeys,
    /// [`DatabaseKeys::constraints_digest`] of `database`, kept with it.
    pub keys_digest: String,
}

/// A type marked `@node`.
#[derive(Debug, Clone)]
pub struct NodeType {
    pub name: String,
    pub description: Option<String>,
    /// Labels the node carries; the first one is the main label used in MATCH patterns.
    pub labels: Vec<String>,
    /// The lower-camel-case plural used for root fields (`people`, `pullRequests`).
    pub plural: String,
    pub implements: Vec<String>,
    pub fields: Vec<Field>,
    /// `@authorization(filter: [{ where: { jwt: { … } } }])` rules that apply to reads: a
    /// caller sees nodes of this type when any holds (empty: everyone).
    pub read_rules: Vec<crate::authorization::ReadRule>,
    /// `@query`, `@mutation`, `@limit`: which operations the API offers and page sizes.
    pub operations: Operations,
    /// Fields computed by a Cypher statement (`@cypher`), in declaration order.
    pub cypher_fields: Vec<CypherField>,
    /// Full-text and vector indexes (`@fulltext`, `@vector`), each with its root query field.
    pub search_indexes: Vec<SearchIndex>,
}

/// A full-text or vector index on a node type's label, and the root query field that searches
/// it (`@fulltext(indexes: [{ indexName, fields, queryName }])`,
/// `@vector(indexes: [{ indexName, embeddingProperty, queryName }])`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchIndex {
    /// The index's name in Neo4j (`ontograph migrate` creates it under this name).
    pub index_name: String,
    /// The root query field.
    pub query_name: String,
    pub kind: SearchKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKind {
    /// A full-text index over these String or ID properties (database names).
    Fulltext { properties: Vec<String> },
    /// A vector index over the property holding each node's embedding (database name).
    Vector { property: String },
}

/// A field whose value a Cypher statement computes: `@cypher(statement:, columnName:)`.
#[derive(Debug, Clone)]
pub struct CypherField {
    pub name: String,
    pub description: Option<String>,
    /// The statement as written; `this` is the node the field is read on, `$<argument>` the
    /// field's arguments (passed as parameters).
    pub statement: String,
    /// The statement's column holding the value.
    pub column: String,
    /// The field's arguments as declared: name, GraphQL type text, default value (as JSON and
    /// as GraphQL text).
    pub args: Vec<CypherArgument>,
    /// What the column holds.
    pub result: CypherResult,
    /// `[T]`: the rows' values (each unwound if a list) make a list.
    pub list: bool,
    /// The declared GraphQL type, as written (`Int`, `[Actor!]!`).
    pub ty: String,
}

impl CypherField {
    /// A scalar field as a property of the node, for the generated `where` and `sort` inputs
    /// (filtered when it takes no arguments, sorted when single-valued, as in the library).
    pub fn as_property(&self) -> Option<Property> {
        let CypherResult::Scalar(scalar) = &self.result else {
            return None;
        };
        Some(Property {
            name: self.name.clone(),
            db_name: self.name.clone(),
            description: None,
            scalar: scalar.clone(),
            list: self.list,
            required: false,
            autogenerate: false,
            unique: false,
            database_key: None,
            database_range_index: None,
            index: None,
            default: None,
            coalesce: None,
            timestamp: Timestamp::default(),
            exposure: Exposure {
                read: false,
                create: false,
                update: false,
                filter: self.args.is_empty(),
                aggregate: false,
                filter_aggregate: false,
            },
            relay_id: false,
        })
    }
}

/// An argument of a `@cypher` field, passed to its statement as a parameter.
#[derive(Debug, Clone)]
pub struct CypherArgument {
    pub name: String,
    /// The GraphQL type, as written (`String`, `Int!`).
    pub ty: String,
    /// The default value as JSON and as written.
    pub default: Option<(serde_json::Value, String)>,
}

/// The type of a `@cypher` field's values.
#[derive(Debug, Clone, PartialEq)]
pub enum CypherResult {
    Scalar(Scalar),
    /// A node type's nodes.
    Node(String),
    /// Maps shaped as an object type without `@node`.
    Object(String),
    /// Nodes of a union's members or an interface's implementations (nodes of none of them
    /// are left out, as by the library).
    Abstract(String),
}

/// An object type without `@node` (e.g. `type Stats { n: Int }`): a `@cypher` result's shape.
#[derive(Debug, Clone)]
pub struct ObjectType {
    pub name: String,
    pub description: Option<String>,
    /// Its fields: name and GraphQL type text (scalars, enums and other object types).
    pub fields: Vec<(String, String)>,
}

/// The operations a node type offers and its page sizes: `@query(read:)`,
/// `@mutation(operations:)`, `@limit(default:, max:)` (everything, no limits, by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operations {
    /// The root list and connection queries.
    pub read: bool,
    /// The root connection's `aggregate` field (`@query(aggregate:)`).
    pub aggregate: bool,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    /// Rows of a list or connection of this type when the operation gives no `limit`/`first`.
    pub default_limit: Option<u64>,
    /// Most rows of a list or connection of this type (a larger `limit`/`first` is lowered to it).
    pub max_limit: Option<u64>,
}

impl Default for Operations {
    fn default() -> Self {
        Operations {
            read: true,
            aggregate: true,
            create: true,
            update: true,
            delete: true,
            default_limit: None,
            max_limit: None,
        }
    }
}

/// A type marked `@relationshipProperties`.
#[derive(Debug, Clone)]
pub struct RelationshipPropertiesType {
    pub name: String,
    pub description: Option<String>,
    pub properties: Vec<Property>,
    /// Fields computed by a Cypher statement (`this` is the relationship), scalars only.
    pub cypher_fields: Vec<CypherField>,
}

/// An interface implemented by node types.
#[derive(Debug, Clone)]
pub struct InterfaceType {
    pub name: String,
    pub description: Option<String>,
    pub properties: Vec<Property>,
    /// Relationships it declares (`@declareRelationship`), each implementing type declaring
    /// them with its own `@relationship`.
    pub relationships: Vec<DeclaredRelationship>,
    /// Names of the node types that implement it.
    pub implementors: Vec<String>,
    /// The lower-camel-case plural of its root list and connection (`productions`).
    pub plural: String,
}

/// A union of node types: a relationship may target it, and the API offers a root list of it.
#[derive(Debug, Clone)]
pub struct UnionType {
    pub name: String,
    pub description: Option<String>,
    /// The member node types, in declaration order (the order results come in, as in the
    /// library).
    pub members: Vec<String>,
    /// The lower-camel-case plural of its root list (`productions`).
    pub plural: String,
}

/// A relationship field an interface declares (`actors: [Actor!]! @declareRelationship`).
#[derive(Debug, Clone)]
pub struct DeclaredRelationship {
    pub name: String,
    pub description: Option<String>,
    /// The type at the other end (a node type, an interface or a union).
    pub target: String,
    pub list: bool,
}

/// A user enum.
#[derive(Debug, Clone)]
pub struct EnumType {
    pub name: String,
    pub description: Option<String>,
    pub values: Vec<String>,
}

/// A field of a node type.
#[derive(Debug, Clone)]
pub enum Field {
    Property(Property),
    Relationship(Relationship),
}

impl Field {
    pub fn name(&self) -> &str {
        match self {
            Field::Property(p) => &p.name,
            Field::Relationship(r) => &r.name,
        }
    }
}

/// A scalar property stored on a node or relationship.
#[derive(Debug, Clone)]
pub struct Property {
    /// The GraphQL field name.
    pub name: String,
    /// The Neo4j property name (differs from `name` with `@alias`).
    pub db_name: String,
    pub description: Option<String>,
    pub scalar: Scalar,
    /// `[T]` rather than `T`.
    pub list: bool,
    /// `T!` (or `[T!]!` for lists: the list itself is non-null).
    pub required: bool,
    /// `@id`: a UUID is generated on create; not part of the create input.
    pub autogenerate: bool,
    /// `@unique`: a uniqueness constraint (which `ontograph migrate` creates).
    pub unique: bool,
    /// The name of a uniqueness constraint on this property found in the database
    /// ([`Ontology::adopt_database`]): v7 type definitions declare no keys, their users keep
    /// the constraints in the database.
    pub database_key: Option<String>,
    /// The name of a range index on this property found in the database
    /// ([`Ontology::adopt_database`]).
    pub database_range_index: Option<String>,
    /// `@index`: an index of the given kind.
    pub index: Option<IndexKind>,
    /// `@default(value:)`: stored on create when the input leaves the field out (the create
    /// input declares it as the field's default value, as the library does).
    pub default: Option<serde_json::Value>,
    /// `@coalesce(value:)`: read and filtered as this value where the node has none.
    pub coalesce: Option<serde_json::Value>,
    /// `@timestamp(operations:)`: set to the current date-time when the node (or relationship)
    /// is created and/or updated, and not part of the input of those operations.
    pub timestamp: Timestamp,
    /// `@selectable`, `@settable`, `@filterable`: where the field appears in the API.
    pub exposure: Exposure,
    /// `@relayId`: the node's global id (`id`, `node(id:)`) is made of this field's value.
    pub relay_id: bool,
}

/// Where a property appears in the generated API (`@selectable(onRead:)`,
/// `@settable(onCreate:, onUpdate:)`, `@filterable(byValue:)`; all `true` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    /// In the object type (it may still be sorted and filtered on, as in the library).
    pub read: bool,
    /// In the create input.
    pub create: bool,
    /// In the update input.
    pub update: bool,
    /// In the `where` input.
    pub filter: bool,
    /// In the aggregate selections (`@selectable(onAggregate:)`).
    pub aggregate: bool,
    /// In the aggregation filters (`@filterable(byAggregate:)`).
    pub filter_aggregate: bool,
}

impl Default for Exposure {
    fn default() -> Self {
        Exposure {
            read: true,
            create: true,
            update: true,
            filter: true,
            aggregate: true,
            filter_aggregate: true,
        }
    }
}

/// When a `@timestamp` property is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub on_create: bool,
    pub on_update: bool,
}

impl Property {
    /// In `aggregate { node { … } }` (and `edge { … }`): a single value of an aggregated type.
    pub fn in_aggregate(&self) -> bool {
        !self.list && self.scalar.is_aggregated() && self.exposure.aggregate
    }

    /// In the aggregation filters (`aggregate: { node: { <field>: { max: … } } }`).
    pub fn in_aggregation_filter(&self) -> bool {
        !self.list && self.scalar.is_aggregated() && self.exposure.filter_aggregate
    }

    /// A key: single-valued and unique — `@id`, `@unique`, or a uniqueness constraint in the
    /// database — and read as stored (a `@coalesce` value would stand for every node without
    /// one). Lookups by a key read one node; supernode rules anchor on them; cache tags and
    /// ingestion rules name nodes by them.
    pub fn is_key(&self) -> bool {
        !self.list
            && self.coalesce.is_none()
            && (self.unique || self.autogenerate || self.database_key.is_some())
    }

    /// Where the key comes from (`None`: not a key).
    pub fn key_source(&self) -> Option<String> {
        if !self.is_key() {
            return None;
        }
        Some(if self.autogenerate {
            "@id".to_owned()
        } else if self.unique {
            "@unique".to_owned()
        } else {
            format!(
                "database constraint `{}`",
                self.database_key.as_deref().unwrap_or_default()
            )
        })
    }
}

/// A uniqueness constraint or index found in the database: one node label, one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseItem {
    /// The constraint's or index's name.
    pub name: String,
    pub label: String,
    /// The property's database name.
    pub property: String,
}

/// What the database keeps that the ontology uses: uniqueness constraints (keys) and range
/// indexes, each on one label and one property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseKeys {
    pub constraints: Vec<DatabaseItem>,
    pub range_indexes: Vec<DatabaseItem>,
}

impl DatabaseKeys {
    /// A fingerprint of the constraints (FNV-1a, hex; empty when there are none): results cached
    /// under one set of keys are tagged by them, so a change of keys changes cache keys too.
    pub fn constraints_digest(&self) -> String {
        if self.constraints.is_empty() {
            return String::new();
        }
        let mut items: Vec<String> = self
            .constraints
            .iter()
            .map(|c| format!("{}\u{1}{}\u{1}{}", c.name, c.label, c.property))
            .collect();
        items.sort();
        fingerprint(&items.join("\u{2}"))
    }
}

/// A relationship field: `[Person!]! @relationship(type: "MEMBER_OF", direction: IN)`.
#[derive(Debug, Clone)]
pub struct Relationship {
    pub name: String,
    pub description: Option<String>,
    /// The Neo4j relationship type.
    pub rel_type: String,
    pub direction: Direction,
    /// The node type at the other end.
    pub target: String,
    /// `[T!]!` rather than `T` (a single related node may be missing: the field is nullable).
    pub list: bool,
    /// The `@relationshipProperties` type carried by the relationship.
    pub properties: Option<String>,
    /// `@relationship(nestedOperations:)`: what create and update inputs may do through it.
    pub nested: NestedOperations,
    /// `@relationship(queryDirection: UNDIRECTED)`: reads, and the matching of related nodes by
    /// updates, disconnects and deletes, follow it both ways (creates and connects keep
    /// `direction`).
    pub undirected: bool,
    /// `@relationship(aggregate:)`: whether its connection offers `aggregate` (true unless set
    /// false).
    pub aggregate: bool,
}

/// The nested operations a relationship field offers in create and update inputs (all of them
/// unless `@relationship(nestedOperations: [...])` lists fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedOperations {
    pub create: bool,
    pub connect: bool,
    pub disconnect: bool,
    pub update: bool,
    pub delete: bool,
}

impl Default for NestedOperations {
    fn default() -> Self {
        NestedOperations {
            create: true,
            connect: true,
            disconnect: true,
            update: true,
            delete: true,
        }
    }
}

impl NestedOperations {
    /// Whether a create input offers anything through the relationship.
    pub fn on_create(&self) -> bool {
        self.create || self.connect
    }

    /// Whether an update input offers anything through the relationship.
    pub fn on_update(&self) -> bool {
        self.create || self.connect || self.disconnect || self.update || self.delete
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `(this)-[:T]->(other)`
    Out,
    /// `(this)<-[:T]-(other)`
    In,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Range,
    Text,
}

/// Property types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Id,
    String,
    Int,
    Float,
    Boolean,
    DateTime,
    BigInt,
    Date,
    Time,
    LocalTime,
    LocalDateTime,
    Duration,
    /// A WGS-84 point (`longitude`, `latitude`, `height`).
    Point,
    /// A Cartesian point (`x`, `y`, `z`).
    CartesianPoint,
    Enum(String),
}

impl Scalar {
    /// The GraphQL type name.
    pub fn graphql_name(&self) -> &str {
        match self {
            Scalar::Id => "ID",
            Scalar::String => "String",
            Scalar::Int => "Int",
            Scalar::Float => "Float",
            Scalar::Boolean => "Boolean",
            Scalar::DateTime => "DateTime",
            Scalar::BigInt => "BigInt",
            Scalar::Date => "Date",
            Scalar::Time => "Time",
            Scalar::LocalTime => "LocalTime",
            Scalar::LocalDateTime => "LocalDateTime",
            Scalar::Duration => "Duration",
            Scalar::Point => "Point",
            Scalar::CartesianPoint => "CartesianPoint",
            Scalar::Enum(name) => name,
        }
    }

    pub fn from_graphql_name(name: &str, enums: &IndexMap<String, EnumType>) -> Option<Scalar> {
        Some(match name {
            "ID" => Scalar::Id,
            "String" => Scalar::String,
            "Int" => Scalar::Int,
            "Float" => Scalar::Float,
            "Boolean" => Scalar::Boolean,
            "DateTime" => Scalar::DateTime,
            "BigInt" => Scalar::BigInt,
            "Date" => Scalar::Date,
            "Time" => Scalar::Time,
            "LocalTime" => Scalar::LocalTime,
            "LocalDateTime" => Scalar::LocalDateTime,
            "Duration" => Scalar::Duration,
            "Point" => Scalar::Point,
            "CartesianPoint" => Scalar::CartesianPoint,
            other if enums.contains_key(other) => Scalar::Enum(other.to_string()),
            _ => return None,
        })
    }

    /// Whether a property of this type is aggregated (min/max, shortest/longest, …) by
    /// `aggregate { node { … } }` and the aggregation filters, as in the library: strings,
    /// numbers and the temporal types other than `Date`.
    pub fn is_aggregated(&self) -> bool {
        matches!(
            self,
            Scalar::String
                | Scalar::Int
                | Scalar::Float
                | Scalar::BigInt
                | Scalar::DateTime
                | Scalar::LocalDateTime
                | Scalar::LocalTime
                | Scalar::Time
                | Scalar::Duration
        )
    }

    /// Whether values of this type are ordered (`lt`, `gt`… filters).
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Scalar::Int | Scalar::Float | Scalar::BigInt | Scalar::Duration
        ) || self.temporal_function().is_some()
    }

    /// The Cypher function that makes a value of this temporal type from its ISO-8601 text
    /// (`date("2024-05-01")`); `None` for the other types.
    pub fn temporal_function(&self) -> Option<&'static str> {
        Some(match self {
            Scalar::DateTime => "datetime",
            Scalar::Date => "date",
            Scalar::Time => "time",
            Scalar::LocalTime => "localtime",
            Scalar::LocalDateTime => "localdatetime",
            Scalar::Duration => "duration",
            _ => return None,
        })
    }

    /// The coordinates of a spatial type, with the one that only 3-D points have last
    /// (`None` for the other types).
    pub fn coordinates(&self) -> Option<[&'static str; 3]> {
        match self {
            Scalar::Point => Some(["longitude", "latitude", "height"]),
            Scalar::CartesianPoint => Some(["x", "y", "z"]),
            _ => None,
        }
    }

    /// The Cypher that makes a stored value of this type from `expr`, a parameter holding what
    /// JSON carries: `date(expr)`, `toInteger(expr)` for a BigInt, `point(expr)`, or `expr`.
    pub fn cypher_value(&self, expr: &str) -> String {
        match (self.temporal_function(), self) {
            (Some(f), _) => format!("{f}({expr})"),
            (None, Scalar::BigInt) => format!("toInteger({expr})"),
            (None, Scalar::Point | Scalar::CartesianPoint) => format!("point({expr})"),
            _ => expr.to_owned(),
        }
    }

    /// [`Scalar::cypher_value`] for each element of the list `expr`.
    pub fn cypher_list(&self, expr: &str) -> String {
        match self.cypher_value("x") {
            x if x == "x" => expr.to_owned(),
            converted => format!("[x IN {expr} | {converted}]"),
        }
    }

    /// The input type of a value: `PointInput` for the spatial types, the type itself otherwise.
    pub fn input_name(&self) -> String {
        match self.coordinates() {
            Some(_) => format!("{}Input", self.graphql_name()),
            None => self.graphql_name().to_owned(),
        }
    }

    /// Whether values are strings that support `contains`, `startsWith`, `endsWith`.
    pub fn is_textual(&self) -> bool {
        matches!(self, Scalar::String | Scalar::Id)
    }
}

impl Ontology {
    /// Adopts what the database keeps, replacing what an earlier call adopted: a property that
    /// a uniqueness constraint covers (on its node type's main label) becomes a key, as `@unique`
    /// makes it one; a range index is recorded on the property it covers (an ordered walk of a
    /// hub's neighbours can use it, as it uses `@index`). Constraints and indexes on labels or
    /// properties the ontology does not have are ignored.
    pub fn adopt_database(&mut self, found: DatabaseKeys) {
        for n in self.nodes.values_mut() {
            let label = n.main_label().to_owned();
            for f in &mut n.fields {
                let Field::Property(p) = f else { continue };
                let on = |i: &&DatabaseItem| i.label == label && i.property == p.db_name;
                p.database_key = found.constraints.iter().find(on).map(|k| k.name.clone());
                p.database_range_index =
                    found.range_indexes.iter().find(on).map(|i| i.name.clone());
            }
        }
        self.keys_digest = found.constraints_digest();
        self.database = found;
    }

    /// Every key: `(node type, property, where it comes from)` (see [`Property::key_source`]).
    pub fn keys(&self) -> Vec<(String, String, String)> {
        self.nodes
            .values()
            .flat_map(|n| {
                n.properties()
                    .filter_map(move |p| Some((n.name.clone(), p.name.clone(), p.key_source()?)))
            })
            .collect()
    }

    pub fn node(&self, name: &str) -> Option<&NodeType> {
        self.nodes.get(name)
    }

    /// For a relationship targeting a union, one relationship per member (the same field,
    /// type and direction, targeting that member), in member order; `None` for other targets.
    pub fn union_members(&self, r: &Relationship) -> Option<Vec<Relationship>> {
        let u = self.unions.get(&r.target)?;
        Some(
            u.members
                .iter()
                .map(|m| Relationship {
                    target: m.clone(),
                    ..r.clone()
                })
                .collect(),
        )
    }

    /// The interface of `n` declaring its relationship `r` (`@declareRelationship`), if any.
    pub fn declaring_interface(&self, n: &NodeType, r: &Relationship) -> Option<&InterfaceType> {
        n.implements
            .iter()
            .filter_map(|i| self.interfaces.get(i))
            .find(|i| i.relationships.iter().any(|dr| dr.name == r.name))
    }

    /// The implementations' relationships of a relationship `name` interface `i` declares.
    pub fn declared_by(&self, i: &InterfaceType, name: &str) -> Vec<&Relationship> {
        i.implementors
            .iter()
            .filter_map(|m| self.nodes.get(m)?.relationship(name))
            .collect()
    }

    /// Whether `name` is a union or an interface (a relationship to one reads its members).
    pub fn is_abstract(&self, name: &str) -> bool {
        self.unions.contains_key(name) || self.interfaces.contains_key(name)
    }

    /// Whether an object of node type `n` meets the type condition `on` (`... on X`): `X` is
    /// the type, an interface it implements or a union it belongs to.
    pub fn meets(&self, n: &NodeType, on: &str) -> bool {
        n.name == on
            || (on == NODE_INTERFACE && n.relay_id().is_some())
            || n.implements.iter().any(|i| i == on)
            || self
                .unions
                .get(on)
                .is_some_and(|u| u.members.contains(&n.name))
    }

    /// Whether a type condition naming `name` can fail to hold where it appears: it names a
    /// union, an interface, or a node type that belongs to one (anywhere else a valid fragment's
    /// condition always holds).
    pub fn conditional(&self, name: &str) -> bool {
        name == NODE_INTERFACE
            || self.nodes.get(name).is_some_and(|n| n.relay_id().is_some())
            || self.unions.contains_key(name)
            || self.interfaces.contains_key(name)
            || self
                .unions
                .values()
                .any(|u| u.members.iter().any(|m| m == name))
            || self
                .nodes
                .get(name)
                .is_some_and(|n| !n.implements.is_empty())
    }

    /// The node type and index a full-text or vector root query field searches.
    pub fn search_field(&self, field: &str) -> Option<(&NodeType, &SearchIndex)> {
        self.nodes.values().find_map(|n| {
            n.search_indexes
                .iter()
                .find(|s| s.query_name == field)
                .map(|s| (n, s))
        })
    }

    /// Finds the node type whose list root field is `field` (e.g. `people`).
    pub fn node_by_plural(&self, field: &str) -> Option<&NodeType> {
        self.nodes.values().find(|n| n.plural == field)
    }

    /// The properties of a relationship's target: a node type's or an interface's (none for
    /// a union).
    pub fn target_properties(&self, target: &str) -> Vec<&Property> {
        match (self.node(target), self.interfaces.get(target)) {
            (Some(n), _) => n.properties().collect(),
            (None, Some(i)) => i.properties.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The properties a relationship carries (its `@relationshipProperties` type's; empty when
    /// it has none).
    pub fn edge_properties(&self, r: &Relationship) -> &[Property] {
        r.properties
            .as_ref()
            .and_then(|p| self.relationship_properties(p))
            .map(|rp| rp.properties.as_slice())
            .unwrap_or_default()
    }

    pub fn relationship_properties(&self, name: &str) -> Option<&RelationshipPropertiesType> {
        self.relationship_properties.get(name)
    }
}

impl NodeType {
    pub fn main_label(&self) -> &str {
        // Validation guarantees at least one label.
        self.labels
            .first()
            .map(String::as_str)
            .unwrap_or(&self.name)
    }

    pub fn properties(&self) -> impl Iterator<Item = &Property> {
        self.fields.iter().filter_map(|f| match f {
            Field::Property(p) => Some(p),
            Field::Relationship(_) => None,
        })
    }

    pub fn relationships(&self) -> impl Iterator<Item = &Relationship> {
        self.fields.iter().filter_map(|f| match f {
            Field::Relationship(r) => Some(r),
            Field::Property(_) => None,
        })
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties().find(|p| p.name == name)
    }

    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships().find(|r| r.name == name)
    }

    pub fn cypher_field(&self, name: &str) -> Option<&CypherField> {
        self.cypher_fields.iter().find(|c| c.name == name)
    }

    /// Whether the API offers `upsert<Plural>`: the type can be created and updated and has a key
    /// to merge on (`@id`, `@unique` or a database uniqueness constraint).
    pub fn upsertable(&self) -> bool {
        self.operations.create && self.operations.update && self.properties().any(Property::is_key)
    }

    /// The field `@relayId` marks: the type implements `Node`, with a global `id`.
    pub fn relay_id(&self) -> Option<&Property> {
        self.properties().find(|p| p.relay_id)
    }

    /// The relationships a nested connect can continue through (`<Type>ConnectInput`): the
    /// lists offering connect, as in the library.
    pub fn nested_connects(&self) -> impl Iterator<Item = &Relationship> {
        self.relationships().filter(|r| r.list && r.nested.connect)
    }

    /// The relationships a nested disconnect can continue through (`<Type>DisconnectInput`).
    pub fn nested_disconnects(&self) -> impl Iterator<Item = &Relationship> {
        self.relationships()
            .filter(|r| r.list && r.nested.disconnect)
    }

    /// The relationships a delete can cascade through (`<Type>DeleteInput`).
    pub fn nested_deletes(&self) -> impl Iterator<Item = &Relationship> {
        self.relationships().filter(|r| r.nested.delete)
    }

    /// The type name of the plural, upper camel case (`People`, `PullRequests`).
    pub fn plural_type_name(&self) -> String {
        upper_first(&self.plural)
    }
}

impl RelationshipPropertiesType {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// `pullRequests` → `PullRequests`.
pub fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `PullRequest` → `pullRequest`.
pub fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// FNV-1a 64-bit over a text (the ontology version is the source text's), as 16 hex digits.
pub(crate) fn fingerprint(source: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in source.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
