//! Deterministic sample data for any ontology: nodes and relationships with a heavy-tailed degree
//! distribution, produced lazily in batches.
//!
//! Nothing about a particular domain is known here: every value is derived from the model.
//!
//! - Every node type gets [`SeedOptions::scale`] nodes, numbered `0..scale`. A node row is a map
//!   from [`Property::db_name`] to a JSON value: `@id` and other `ID` values are UUID-shaped
//!   strings, `@unique` strings look like `handle-000123`, other strings are one to three words
//!   of a small neutral [`VOCABULARY`] picked with a skewed distribution (so that equality and
//!   `contains` filters match some rows), DateTime values are ISO strings
//!   (`2023-04-05T06:07:08Z`), BigInt values are decimal strings, enum values are skewed towards
//!   the first declared values, lists have 0–3 items, and nullable properties are null about 15%
//!   of the time.
//! - Each relationship type between two node types ([`RelationshipSpec`]) is generated once,
//!   however many fields declare it, in its canonical start → end direction. Edges are drawn
//!   from one side (the *source*): a side that declares the relationship single gets at most one
//!   partner per node (none about 10% of the time when the field is nullable); otherwise the
//!   OUT-declaring side (or the IN-declaring side when it alone declares it) gets a geometric
//!   number of partners with mean [`SeedOptions::avg_degree`]. Partners are chosen with a
//!   power law (Zipf exponent [`SeedOptions::zipf_exponent`]) over a per-relationship
//!   permutation of the other side, so a few nodes become supernodes. Self-loops and duplicate
//!   pairs are avoided.
//!
//! The output depends only on the ontology and the options (not on batch sizes): the same seed
//! always gives the same data.

use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::model::{
    Direction, EnumType, NodeType, Ontology, Property, Relationship, RelationshipPropertiesType,
    Scalar,
};

/// Default of [`SeedOptions::avg_degree`].
pub const DEFAULT_AVG_DEGREE: f64 = 4.0;
/// Default of [`SeedOptions::zipf_exponent`].
pub const DEFAULT_ZIPF_EXPONENT: f64 = 1.1;
/// How often a nullable property is null.
pub const NULL_PROBABILITY: f64 = 0.15;
/// How often a node has no partner for a nullable single relationship.
pub const MISSING_PARTNER_PROBABILITY: f64 = 0.10;
/// Most items in a generated list property.
pub const MAX_LIST_ITEMS: usize = 3;
/// The words generated strings are made of, most frequent first.
pub const VOCABULARY: &[&str] = &[
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo",
    "juniper", "kestrel", "lumen", "meadow", "nimbus", "onyx", "prairie", "quartz", "river",
    "sierra", "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr",
];

/// Attempts at drawing a partner that is neither the source itself nor already chosen.
const DRAW_ATTEMPTS: usize = 10;
/// Generated DateTime values fall in [2015-01-01, 2025-01-01).
const DATETIME_FROM: i64 = 1_420_070_400;
const DATETIME_TO: i64 = 1_735_689_600;
/// Unique DateTime values start at 2020-01-01 and are one minute apart.
const UNIQUE_DATETIME_BASE: i64 = 1_577_836_800;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedOptions {
    /// Nodes per node type (e.g. 50 for a small sample, 200 000 for benchmarks).
    pub scale: u64,
    /// Random seed: the same seed gives the same data.
    pub seed: u64,
    /// Mean number of edges per source node for list relationships.
    pub avg_degree: f64,
    /// Exponent of the power law choosing each edge's partner (0 is uniform; above 1 makes
    /// supernodes).
    pub zipf_exponent: f64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            scale: 50,
            seed: 42,
            avg_degree: DEFAULT_AVG_DEGREE,
            zipf_exponent: DEFAULT_ZIPF_EXPONENT,
        }
    }
}

/// One end of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The node the relationship starts from (`(start)-[:T]->(end)`).
    Start,
    /// The node the relationship points to.
    End,
}

/// How many partners each source node gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    /// A geometric number with mean [`SeedOptions::avg_degree`], each chosen by the power law.
    Many,
    /// One, chosen by the power law; none about 10% of the time (a single relationship is
    /// nullable).
    One,
    /// Both ends are single: a one-to-one matching; none about 10% of the time.
    OneToOne,
}

/// One relationship type between two node types, as it is generated.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipSpec {
    /// The Neo4j relationship type.
    pub rel_type: String,
    /// The node type edges start from.
    pub start: String,
    /// The node type edges point to.
    pub end: String,
    /// The `@relationshipProperties` type of the edges, if any.
    pub properties: Option<String>,
    /// The side whose nodes edges are drawn for.
    pub source: Side,
    pub cardinality: Cardinality,
    /// The fields declaring it, as `Type.field`, in declaration order.
    pub declared_by: Vec<String>,
}

impl RelationshipSpec {
    /// The node type of the source side.
    pub fn source_type(&self) -> &str {
        match self.source {
            Side::Start => &self.start,
            Side::End => &self.end,
        }
    }
}

/// Consecutive nodes of one node type.
#[derive(Debug, Clone)]
pub struct NodeBatch<'a> {
    pub node_type: &'a NodeType,
    /// Index of the first row's node (rows are nodes `first..first + rows.len()`).
    pub first: u64,
    /// Property values by [`Property::db_name`]; every property of the type is present.
    pub rows: Vec<Map<String, Value>>,
}

/// One generated edge: indexes of its start and end nodes within their node types.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipRow {
    pub start: u64,
    pub end: u64,
    /// Edge property values by [`Property::db_name`] (empty without `@relationshipProperties`).
    pub properties: Map<String, Value>,
}

/// Consecutive edges of one relationship spec.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipBatch<'a> {
    pub spec: &'a RelationshipSpec,
    pub rows: Vec<RelationshipRow>,
}

/// What to generate for an ontology; hands out lazy batch iterators.
#[derive(Debug, Clone)]
pub struct SeedPlan<'o> {
    ontology: &'o Ontology,
    options: SeedOptions,
    relationships: Vec<RelationshipSpec>,
}

impl<'o> SeedPlan<'o> {
    /// Plans sample data for `ontology`. Out-of-range options are clamped: a negative or
    /// non-finite degree or exponent counts as 0 (resp. the default).
    pub fn new(ontology: &'o Ontology, options: SeedOptions) -> Self {
        let mut options = options;
        if !options.avg_degree.is_finite() || options.avg_degree < 0.0 {
            options.avg_degree = if options.avg_degree.is_finite() {
                0.0
            } else {
                DEFAULT_AVG_DEGREE
            };
        }
        if !options.zipf_exponent.is_finite() || options.zipf_exponent < 0.0 {
            options.zipf_exponent = if options.zipf_exponent.is_finite() {
                0.0
            } else {
                DEFAULT_ZIPF_EXPONENT
            };
        }
        Self {
            ontology,
            options,
            relationships: plan_relationships(ontology),
        }
    }

    pub fn ontology(&self) -> &'o Ontology {
        self.ontology
    }

    /// The options in effect (after clamping).
    pub fn options(&self) -> &SeedOptions {
        &self.options
    }

    /// Nodes generated for every node type.
    pub fn nodes_per_type(&self) -> u64 {
        self.options.scale
    }

    /// The relationship types to generate, in declaration order of their first field.
    pub fn relationships(&self) -> &[RelationshipSpec] {
        &self.relationships
    }

    /// The nodes of `node_type`, `batch_size` rows at a time (at least 1).
    pub fn node_batches(&self, node_type: &'o NodeType, batch_size: usize) -> NodeBatches<'o> {
        let seed = self.options.seed;
        let type_hash = fnv1a(&node_type.name);
        NodeBatches {
            node_type,
            values: ValueGenerator::new(
                &self.ontology.enums,
                node_type.properties().cloned().collect(),
                seed,
                type_hash,
            ),
            rng: StdRng::seed_from_u64(mix(seed ^ mix(type_hash ^ 0x6e6f_6465))),
            next: 0,
            count: self.options.scale,
            batch_size: batch_size.max(1),
        }
    }

    /// The edges of `spec` (one of [`SeedPlan::relationships`]), `batch_size` rows at a time.
    pub fn relationship_batches<'p>(
        &'p self,
        spec: &'p RelationshipSpec,
        batch_size: usize,
    ) -> RelationshipBatches<'p> {
        let seed = self.options.seed;
        let spec_hash = fnv1a(&format!("{}:{}:{}", spec.rel_type, spec.start, spec.end));
        let properties = spec
            .properties
            .as_deref()
            .and_then(|name| self.ontology.relationship_properties(name))
            .map(|t: &RelationshipPropertiesType| t.properties.clone())
            .unwrap_or_default();
        let mut rng = StdRng::seed_from_u64(mix(seed ^ mix(spec_hash ^ 0x6564_6765)));
        let targets = self.options.scale;
        let permutation = Affine::random(targets, &mut rng);
        RelationshipBatches {
            spec,
            values: ValueGenerator::new(&self.ontology.enums, properties, seed, spec_hash),
            rng,
            sources: self.options.scale,
            targets,
            same_type: spec.start == spec.end,
            law: PowerLaw::new(targets, self.options.zipf_exponent),
            permutation,
            mean_degree: self.options.avg_degree,
            next_source: 0,
            edges: 0,
            pending: Vec::new(),
            chosen: Vec::new(),
            batch_size: batch_size.max(1),
        }
    }
}

/// Groups relationship fields by (type, start, end) and decides how each group is generated.
fn plan_relationships(ontology: &Ontology) -> Vec<RelationshipSpec> {
    struct Group<'a> {
        out: Option<&'a Relationship>,
        inward: Option<&'a Relationship>,
        properties: Option<String>,
        declared_by: Vec<String>,
    }
    let mut groups: IndexMap<(String, String, String), Group<'_>> = IndexMap::new();
    for node in ontology.nodes.values() {
        for r in node.relationships() {
            if !ontology.nodes.contains_key(&r.target) {
                continue;
            }
            let (start, end) = match r.direction {
                Direction::Out => (node.name.clone(), r.target.clone()),
                Direction::In => (r.target.clone(), node.name.clone()),
            };
            let group = groups
                .entry((r.rel_type.clone(), start, end))
                .or_insert_with(|| Group {
                    out: None,
                    inward: None,
                    properties: None,
                    declared_by: Vec::new(),
                });
            group.declared_by.push(format!("{}.{}", node.name, r.name));
            if group.properties.is_none() {
                group.properties.clone_from(&r.properties);
            }
            let slot = match r.direction {
                Direction::Out => &mut group.out,
                Direction::In => &mut group.inward,
            };
            if slot.is_none() {
                *slot = Some(r);
            }
        }
    }
    groups
        .into_iter()
        .filter_map(|((rel_type, start, end), g)| {
            let (source, cardinality) = match (g.out, g.inward) {
                (Some(o), Some(i)) if !o.list && !i.list => (Side::Start, Cardinality::OneToOne),
                (Some(o), _) if !o.list => (Side::Start, Cardinality::One),
                (_, Some(i)) if !i.list => (Side::End, Cardinality::One),
                (Some(_), _) => (Side::Start, Cardinality::Many),
                (None, Some(_)) => (Side::End, Cardinality::Many),
                (None, None) => return None,
            };
            Some(RelationshipSpec {
                rel_type,
                start,
                end,
                properties: g.properties,
                source,
                cardinality,
                declared_by: g.declared_by,
            })
        })
        .collect()
}

/// The nodes of one node type, in batches. See [`SeedPlan::node_batches`].
#[derive(Debug, Clone)]
pub struct NodeBatches<'a> {
    node_type: &'a NodeType,
    values: ValueGenerator<'a>,
    rng: StdRng,
    next: u64,
    count: u64,
    batch_size: usize,
}

impl<'a> Iterator for NodeBatches<'a> {
    type Item = NodeBatch<'a>;

    fn next(&mut self) -> Option<NodeBatch<'a>> {
        if self.next >= self.count {
            return None;
        }
        let first = self.next;
        let end = self.count.min(first.saturating_add(self.batch_size as u64));
        let rows = (first..end)
            .map(|index| self.values.row(&mut self.rng, index))
            .collect();
        self.next = end;
        Some(NodeBatch {
            node_type: self.node_type,
            first,
            rows,
        })
    }
}

/// The edges of one relationship spec, in batches. See [`SeedPlan::relationship_batches`].
#[derive(Debug, Clone)]
pub struct RelationshipBatches<'a> {
    spec: &'a RelationshipSpec,
    values: ValueGenerator<'a>,
    rng: StdRng,
    sources: u64,
    targets: u64,
    same_type: bool,
    law: PowerLaw,
    permutation: Affine,
    mean_degree: f64,
    next_source: u64,
    /// Edges generated so far (the index for unique edge properties).
    edges: u64,
    /// Edges generated but not yet handed out.
    pending: Vec<RelationshipRow>,
    /// Partners of the current source (to avoid duplicates).
    chosen: Vec<u64>,
    batch_size: usize,
}

impl<'a> Iterator for RelationshipBatches<'a> {
    type Item = RelationshipBatch<'a>;

    fn next(&mut self) -> Option<RelationshipBatch<'a>> {
        while self.pending.len() < self.batch_size && self.next_source < self.sources {
            let source = self.next_source;
            self.next_source += 1;
            self.generate(source);
        }
        if self.pending.is_empty() {
            return None;
        }
        let take = self.pending.len().min(self.batch_size);
        let rows = self.pending.drain(..take).collect();
        Some(RelationshipBatch {
            spec: self.spec,
            rows,
        })
    }
}

impl RelationshipBatches<'_> {
    /// Generates the edges of one source node into `pending`.
    fn generate(&mut self, source: u64) {
        if self.targets == 0 {
            return;
        }
        self.chosen.clear();
        match self.spec.cardinality {
            Cardinality::OneToOne => {
                if self.rng.gen_bool(MISSING_PARTNER_PROBABILITY) {
                    return;
                }
                if source < self.targets {
                    let target = self.permutation.apply(source);
                    if !(self.same_type && target == source) {
                        self.chosen.push(target);
                    }
                }
            }
            Cardinality::One => {
                if self.rng.gen_bool(MISSING_PARTNER_PROBABILITY) {
                    return;
                }
                self.draw(source);
            }
            Cardinality::Many => {
                let available = self.targets - u64::from(self.same_type && source < self.targets);
                let degree = geometric(&mut self.rng, self.mean_degree).min(available);
                for _ in 0..degree {
                    self.draw(source);
                }
            }
        }
        for &partner in &self.chosen {
            let (start, end) = match self.spec.source {
                Side::Start => (source, partner),
                Side::End => (partner, source),
            };
            let properties = self.values.row(&mut self.rng, self.edges);
            self.edges += 1;
            self.pending.push(RelationshipRow {
                start,
                end,
                properties,
            });
        }
    }

    /// Draws one partner for `source` that is neither itself nor already chosen (gives up after
    /// a few attempts: with a steep power law the head can be exhausted).
    fn draw(&mut self, source: u64) {
        for _ in 0..DRAW_ATTEMPTS {
            let target = self.permutation.apply(self.law.sample(&mut self.rng));
            if (self.same_type && target == source) || self.chosen.contains(&target) {
                continue;
            }
            self.chosen.push(target);
            return;
        }
    }
}

/// Generates property rows for one list of properties.
#[derive(Debug, Clone)]
struct ValueGenerator<'a> {
    enums: &'a IndexMap<String, EnumType>,
    properties: Vec<Property>,
    /// Per-property salt for unique values.
    salts: Vec<u64>,
}

impl<'a> ValueGenerator<'a> {
    fn new(
        enums: &'a IndexMap<String, EnumType>,
        properties: Vec<Property>,
        seed: u64,
        owner_hash: u64,
    ) -> Self {
        let salts = properties
            .iter()
            .map(|p| mix(seed ^ mix(owner_hash ^ mix(fnv1a(&p.db_name)))))
            .collect();
        Self {
            enums,
            properties,
            salts,
        }
    }

    fn row(&self, rng: &mut StdRng, index: u64) -> Map<String, Value> {
        self.properties
            .iter()
            .zip(&self.salts)
            .map(|(p, salt)| (p.db_name.clone(), self.value(rng, p, *salt, index)))
            .collect()
    }

    fn value(&self, rng: &mut StdRng, p: &Property, salt: u64, index: u64) -> Value {
        if p.unique || p.autogenerate {
            let v = unique_value(p, self.enum_values(&p.scalar), salt, index);
            return if p.list { Value::Array(vec![v]) } else { v };
        }
        if !p.required && rng.gen_bool(NULL_PROBABILITY) {
            return Value::Null;
        }
        if p.list {
            let n = rng.gen_range(0..=MAX_LIST_ITEMS);
            Value::Array((0..n).map(|_| self.scalar(rng, &p.scalar)).collect())
        } else {
            self.scalar(rng, &p.scalar)
        }
    }

    fn enum_values(&self, scalar: &Scalar) -> &'a [String] {
        match scalar {
            Scalar::Enum(name) => self
                .enums
                .get(name)
                .map(|e| e.values.as_slice())
                .unwrap_or(&[]),
            _ => &[],
        }
    }

    fn scalar(&self, rng: &mut StdRng, scalar: &Scalar) -> Value {
        match scalar {
            Scalar::Id => Value::String(uuid(rng.gen(), rng.gen())),
            Scalar::String => {
                let words = match rng.gen_range(0..20) {
                    0..=10 => 1,
                    11..=16 => 2,
                    _ => 3,
                };
                let text: Vec<&str> = (0..words)
                    .map(|_| VOCABULARY[skewed_index(rng, VOCABULARY.len())])
                    .collect();
                Value::String(text.join(" "))
            }
            // Log-uniform in 0..=1000: mostly small numbers, some large.
            Scalar::Int => Value::from((1001f64.powf(rng.gen::<f64>()) - 1.0).floor() as i64),
            Scalar::Float => {
                let x = 10_000f64.powf(rng.gen::<f64>()) - 1.0;
                Value::from((x * 100.0).round() / 100.0)
            }
            Scalar::Boolean => Value::Bool(rng.gen_bool(0.35)),
            Scalar::DateTime
            | Scalar::Date
            | Scalar::Time
            | Scalar::LocalTime
            | Scalar::LocalDateTime => Value::String(temporal_text(
                scalar,
                rng.gen_range(DATETIME_FROM..DATETIME_TO),
            )),
            // Anywhere on Earth; a Cartesian point in a 1 km square.
            Scalar::Point => serde_json::json!({
                "longitude": (rng.gen_range(-180_000_000..180_000_000) as f64) / 1e6,
                "latitude": (rng.gen_range(-90_000_000..90_000_000) as f64) / 1e6,
            }),
            Scalar::CartesianPoint => serde_json::json!({
                "x": (rng.gen_range(0..1_000_000) as f64) / 1e3,
                "y": (rng.gen_range(0..1_000_000) as f64) / 1e3,
            }),
            // Up to a year, in days and hours.
            Scalar::Duration => Value::String(format!(
                "P{}DT{}H",
                rng.gen_range(0..365),
                rng.gen_range(0..24)
            )),
            // Log-uniform in 1e9..1e15, as a decimal string (beyond JavaScript's safe integers).
            Scalar::BigInt => {
                let x = 1e9 * 1e6f64.powf(rng.gen::<f64>());
                Value::String(format!("{}", x as i64))
            }
            Scalar::Enum(_) => {
                let values = self.enum_values(scalar);
                if values.is_empty() {
                    Value::Null
                } else {
                    Value::String(values[skewed_index(rng, values.len())].clone())
                }
            }
        }
    }
}

/// The value of a `@unique` or `@id` property for node (or edge) `index`. Booleans and enums
/// cannot be unique beyond their few values: they cycle through them.
fn unique_value(p: &Property, enum_values: &[String], salt: u64, index: u64) -> Value {
    if p.autogenerate {
        return Value::String(index_uuid(salt, index));
    }
    match &p.scalar {
        Scalar::Id => Value::String(index_uuid(salt, index)),
        Scalar::String => Value::String(format!("{}-{index:06}", kebab(&p.name))),
        Scalar::Int => Value::from(index as i64),
        Scalar::Float => Value::from(index as f64 + 0.5),
        Scalar::Boolean => Value::Bool(index % 2 == 1),
        Scalar::DateTime | Scalar::LocalDateTime => Value::String(temporal_text(
            &p.scalar,
            UNIQUE_DATETIME_BASE.saturating_add((index as i64).saturating_mul(60)),
        )),
        // A day apart, a second apart, a minute apart: distinct within each type's range.
        Scalar::Date => Value::String(temporal_text(
            &p.scalar,
            UNIQUE_DATETIME_BASE.saturating_add((index as i64).saturating_mul(86_400)),
        )),
        Scalar::Time | Scalar::LocalTime => {
            Value::String(temporal_text(&p.scalar, (index % 86_400) as i64))
        }
        Scalar::Duration => Value::String(format!("PT{index}M")),
        // Distinct points along a line.
        Scalar::Point => {
            serde_json::json!({ "longitude": (index % 360) as f64 - 180.0, "latitude": (index / 360 % 180) as f64 - 90.0 })
        }
        Scalar::CartesianPoint => serde_json::json!({ "x": index as f64, "y": 0.0 }),
        Scalar::BigInt => Value::String(format!("{}", 1_000_000_000_000u64.saturating_add(index))),
        Scalar::Enum(_) => match enum_values.len() {
            0 => Value::Null,
            n => Value::String(enum_values[(index % n as u64) as usize].clone()),
        },
    }
}

/// A UUID-shaped string, distinct for distinct `index` with the same `salt` (all 64 bits of a
/// bijective mix of the index appear in it).
fn index_uuid(salt: u64, index: u64) -> String {
    let hi = mix(index.wrapping_add(salt));
    let lo = mix(hi ^ salt.rotate_left(32));
    uuid(hi, lo)
}

/// Formats 128 bits as a version-4 UUID, keeping every bit of `hi`.
fn uuid(hi: u64, lo: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        0x4000 | ((lo >> 52) & 0x0fff),
        0x8000 | ((lo >> 36) & 0x3fff),
        ((hi & 0xffff) << 32) | (lo & 0xffff_ffff),
    )
}

/// `pullRequest` → `pull-request`.
fn kebab(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.extend(c.to_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// An index in `0..n` with probability proportional to `1 / (i + 1)`.
fn skewed_index(rng: &mut StdRng, n: usize) -> usize {
    let total: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut u = rng.gen::<f64>() * total;
    for k in 0..n {
        u -= 1.0 / (k + 1) as f64;
        if u < 0.0 {
            return k;
        }
    }
    n.saturating_sub(1)
}

/// A geometric count (number of failures before a success) with the given mean.
fn geometric(rng: &mut StdRng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    // P(k) = (1 - p)^k p with p = 1 / (1 + mean); inversion: floor(ln(U) / ln(1 - p)).
    let q = mean / (1.0 + mean);
    let u = 1.0 - rng.gen::<f64>(); // in (0, 1]
    let k = (u.ln() / q.ln()).floor();
    if k.is_finite() && k > 0.0 {
        k as u64
    } else {
        0
    }
}

/// A discretized, truncated power law over ranks `0..n`: P(rank ≥ r) falls like r^(1-s).
#[derive(Debug, Clone, Copy)]
struct PowerLaw {
    n: u64,
    exponent: f64,
    /// (n + 1)^(1 - s) - 1, or ln(n + 1) when s = 1.
    span: f64,
}

impl PowerLaw {
    fn new(n: u64, exponent: f64) -> Self {
        let top = n as f64 + 1.0;
        let span = if (exponent - 1.0).abs() < 1e-9 {
            top.ln()
        } else {
            top.powf(1.0 - exponent) - 1.0
        };
        Self { n, exponent, span }
    }

    fn sample(&self, rng: &mut StdRng) -> u64 {
        if self.n <= 1 {
            return 0;
        }
        let u = rng.gen::<f64>();
        // Inverse of the continuous CDF on [1, n + 1), then floor: rank 0 is the most likely.
        let x = if (self.exponent - 1.0).abs() < 1e-9 {
            (u * self.span).exp()
        } else {
            (1.0 + u * self.span).powf(1.0 / (1.0 - self.exponent))
        };
        let rank = if x.is_finite() && x >= 1.0 {
            x as u64 - 1
        } else {
            0
        };
        rank.min(self.n - 1)
    }
}

/// A permutation of `0..n`: `i ↦ (a·i + b) mod n` with `a` coprime to `n`.
#[derive(Debug, Clone, Copy)]
struct Affine {
    n: u64,
    a: u64,
    b: u64,
}

impl Affine {
    fn random(n: u64, rng: &mut StdRng) -> Self {
        if n <= 1 {
            return Self { n, a: 1, b: 0 };
        }
        let b = rng.gen_range(0..n);
        let mut a = rng.gen_range(1..n);
        while gcd(a, n) != 1 {
            a = if a + 1 >= n { 1 } else { a + 1 };
        }
        Self { n, a, b }
    }

    fn apply(&self, i: u64) -> u64 {
        if self.n <= 1 {
            return 0;
        }
        ((u128::from(self.a) * u128::from(i) + u128::from(self.b)) % u128::from(self.n)) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The SplitMix64 finalizer: a bijection on `u64` that scatters bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a hash that is stable across builds and platforms.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Seconds since the Unix epoch → `YYYY-MM-DDTHH:MM:SSZ`.
/// The instant `secs` (Unix seconds) as text of a temporal type: `2023-04-05T06:07:08Z`,
/// `2023-04-05`, `06:07:08Z`, `06:07:08`, `2023-04-05T06:07:08`.
fn temporal_text(scalar: &Scalar, secs: i64) -> String {
    let full = format_datetime(secs);
    match scalar {
        Scalar::Date => full[..10].to_owned(),
        Scalar::Time => full[11..].to_owned(),
        Scalar::LocalTime => full[11..19].to_owned(),
        Scalar::LocalDateTime => full[..19].to_owned(),
        _ => full,
    }
}

fn format_datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::parse_ontology;

    const DEFAULT: &str = include_str!("../../schema/ontology.graphql");

    const TINY: &str = r#"
        enum Color { RED GREEN BLUE }
        type Weight @relationshipProperties { kg: Float!, at: DateTime, tag: [String!] }
        type Box @node {
          id: ID! @id @unique
          code: String! @unique
          size: BigInt
          color: Color!
          seen: [DateTime!]
          day: Date
          at: Time
          opens: LocalTime
          local: LocalDateTime
          lasts: Duration
          where: Point
          spot: CartesianPoint
          inside: Box @relationship(type: "INSIDE", direction: OUT)
          holds: [Box!]! @relationship(type: "INSIDE", direction: IN)
          links: [Shelf!]! @relationship(type: "ON", direction: OUT, properties: "Weight")
        }
        type Shelf @node {
          label: String
          twin: Shelf @relationship(type: "TWIN", direction: OUT)
          partner: Shelf @relationship(type: "TWIN", direction: IN)
          owner: Box @relationship(type: "OWNS", direction: IN)
        }
    "#;

    fn ontology(source: &str) -> Ontology {
        parse_ontology(source).expect("valid ontology")
    }

    fn options(scale: u64, seed: u64) -> SeedOptions {
        SeedOptions {
            scale,
            seed,
            ..SeedOptions::default()
        }
    }

    /// Every node row and edge of the plan, as JSON, in order.
    fn dump(plan: &SeedPlan<'_>, batch: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for node in plan.ontology().nodes.values() {
            for b in plan.node_batches(node, batch) {
                out.extend(b.rows.into_iter().map(Value::Object));
            }
        }
        for spec in plan.relationships() {
            for b in plan.relationship_batches(spec, batch) {
                for r in b.rows {
                    out.push(serde_json::json!([
                        spec.rel_type,
                        r.start,
                        r.end,
                        r.properties
                    ]));
                }
            }
        }
        out
    }

    fn edges(plan: &SeedPlan<'_>, spec: &RelationshipSpec) -> Vec<(u64, u64)> {
        plan.relationship_batches(spec, 1000)
            .flat_map(|b| b.rows.into_iter().map(|r| (r.start, r.end)))
            .collect()
    }

    fn spec<'a>(
        plan: &'a SeedPlan<'_>,
        rel_type: &str,
        start: &str,
        end: &str,
    ) -> &'a RelationshipSpec {
        plan.relationships()
            .iter()
            .find(|s| s.rel_type == rel_type && s.start == start && s.end == end)
            .expect("relationship is planned")
    }

    #[test]
    fn same_seed_same_data_regardless_of_batch_size() {
        let o = ontology(DEFAULT);
        let a = dump(&SeedPlan::new(&o, options(60, 7)), 17);
        let b = dump(&SeedPlan::new(&o, options(60, 7)), 1000);
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }

    #[test]
    fn different_seed_different_data() {
        let o = ontology(DEFAULT);
        let a = dump(&SeedPlan::new(&o, options(60, 7)), 100);
        let b = dump(&SeedPlan::new(&o, options(60, 8)), 100);
        assert_ne!(a, b);
    }

    #[test]
    fn relationships_are_deduplicated_and_oriented() {
        let o = ontology(DEFAULT);
        let plan = SeedPlan::new(&o, options(10, 1));
        let keys: HashSet<_> = plan
            .relationships()
            .iter()
            .map(|s| (&s.rel_type, &s.start, &s.end))
            .collect();
        assert_eq!(
            keys.len(),
            plan.relationships().len(),
            "one spec per (type, start, end)"
        );
        let follows = spec(&plan, "FOLLOWS", "Person", "Person");
        assert_eq!(
            (follows.source, follows.cardinality),
            (Side::Start, Cardinality::Many)
        );
        assert_eq!(follows.declared_by, ["Person.follows", "Person.followers"]);
        let member = spec(&plan, "MEMBER_OF", "Person", "Team");
        assert_eq!(
            (member.source, member.cardinality),
            (Side::Start, Cardinality::Many)
        );
        assert_eq!(member.properties.as_deref(), Some("Membership"));
        // Issue.repository is single from the issue's side.
        let in_repo = spec(&plan, "IN_REPOSITORY", "Issue", "Repository");
        assert_eq!(in_repo.source, Side::Start);
        assert_eq!(in_repo.cardinality, Cardinality::One);
        // Organization.teams is a list but Team.organization is single: drawn from the team.
        let has_team = spec(&plan, "HAS_TEAM", "Organization", "Team");
        assert_eq!(has_team.source, Side::End);
        assert_eq!(has_team.cardinality, Cardinality::One);
        // Three IN_REPOSITORY specs, one per start type.
        assert_eq!(
            plan.relationships()
                .iter()
                .filter(|s| s.rel_type == "IN_REPOSITORY")
                .count(),
            3
        );
    }

    #[test]
    fn every_node_type_and_relationship_gets_data() {
        for source in [DEFAULT, TINY] {
            let o = ontology(source);
            let plan = SeedPlan::new(&o, options(200, 3));
            for node in o.nodes.values() {
                let rows: usize = plan.node_batches(node, 64).map(|b| b.rows.len()).sum();
                assert_eq!(rows, 200, "{}", node.name);
            }
            assert!(!plan.relationships().is_empty());
            for s in plan.relationships() {
                assert!(
                    !edges(&plan, s).is_empty(),
                    "{} {}->{}",
                    s.rel_type,
                    s.start,
                    s.end
                );
            }
        }
    }

    #[test]
    fn single_sides_and_pairs_are_respected() {
        let o = ontology(DEFAULT);
        let plan = SeedPlan::new(&o, options(500, 11));
        for s in plan.relationships() {
            let e = edges(&plan, s);
            let pairs: HashSet<_> = e.iter().collect();
            assert_eq!(pairs.len(), e.len(), "duplicate pair in {}", s.rel_type);
            if s.start == s.end {
                assert!(e.iter().all(|(a, b)| a != b), "self-loop in {}", s.rel_type);
            }
            if let Cardinality::One | Cardinality::OneToOne = s.cardinality {
                let mut seen = HashSet::new();
                for (a, b) in &e {
                    let key = match s.source {
                        Side::Start => a,
                        Side::End => b,
                    };
                    assert!(
                        seen.insert(*key),
                        "{} has two partners in {}",
                        key,
                        s.rel_type
                    );
                }
            }
        }
        // Optional single relationships leave roughly 10% of nodes without a partner.
        let n = edges(&plan, spec(&plan, "IN_REPOSITORY", "Issue", "Repository")).len();
        assert!((400..=480).contains(&n), "{n}");
    }

    #[test]
    fn unique_fields_are_unique_and_values_are_well_formed() {
        for source in [DEFAULT, TINY] {
            let o = ontology(source);
            let plan = SeedPlan::new(&o, options(3000, 5));
            for node in o.nodes.values() {
                let rows: Vec<_> = plan.node_batches(node, 700).flat_map(|b| b.rows).collect();
                for p in node.properties() {
                    let values: Vec<&Value> = rows.iter().map(|r| &r[&p.db_name]).collect();
                    if p.unique || p.autogenerate {
                        let set: HashSet<String> = values.iter().map(|v| v.to_string()).collect();
                        assert_eq!(set.len(), rows.len(), "{}.{}", node.name, p.name);
                    }
                    let nulls = values.iter().filter(|v| v.is_null()).count();
                    if p.required {
                        assert_eq!(nulls, 0, "{}.{}", node.name, p.name);
                    } else {
                        assert!(
                            (300..=600).contains(&nulls),
                            "{}.{}: {nulls}",
                            node.name,
                            p.name
                        );
                    }
                    for v in values {
                        let items = match v {
                            Value::Array(items) => {
                                assert!(p.list && items.len() <= MAX_LIST_ITEMS);
                                items.iter().collect()
                            }
                            Value::Null => vec![],
                            other => vec![other],
                        };
                        for item in items {
                            check_scalar(&o, &p.scalar, item);
                        }
                    }
                }
            }
        }
    }

    fn check_scalar(o: &Ontology, scalar: &Scalar, v: &Value) {
        match scalar {
            Scalar::Id => {
                let s = v.as_str().expect("string");
                let parts: Vec<usize> = s.split('-').map(str::len).collect();
                assert_eq!(parts, [8, 4, 4, 4, 12], "{s}");
            }
            Scalar::String => assert!(v.as_str().is_some_and(|s| !s.is_empty())),
            Scalar::Int => assert!(v.is_i64()),
            Scalar::Float => assert!(v.is_f64()),
            Scalar::Boolean => assert!(v.is_boolean()),
            Scalar::DateTime => {
                let s = v.as_str().expect("string");
                assert_eq!(s.len(), 20, "{s}");
                assert!(
                    s.starts_with("20") && s.ends_with('Z') && &s[10..11] == "T",
                    "{s}"
                );
            }
            Scalar::BigInt => assert!(v.as_str().is_some_and(|s| s.parse::<i64>().is_ok())),
            Scalar::Date => assert_eq!(v.as_str().map(str::len), Some(10), "{v}"),
            Scalar::Time => assert!(
                v.as_str().is_some_and(|s| s.len() == 9 && s.ends_with('Z')),
                "{v}"
            ),
            Scalar::LocalTime => assert_eq!(v.as_str().map(str::len), Some(8), "{v}"),
            Scalar::LocalDateTime => assert_eq!(v.as_str().map(str::len), Some(19), "{v}"),
            Scalar::Duration => assert!(v.as_str().is_some_and(|s| s.starts_with('P')), "{v}"),
            Scalar::Point => assert!(v["longitude"].is_f64() && v["latitude"].is_f64(), "{v}"),
            Scalar::CartesianPoint => assert!(v["x"].is_f64() && v["y"].is_f64(), "{v}"),
            Scalar::Enum(name) => {
                let s = v.as_str().expect("string");
                assert!(o.enums[name].values.iter().any(|x| x == s), "{s}");
            }
        }
    }

    #[test]
    fn strings_come_from_a_skewed_vocabulary() {
        let o = ontology(TINY);
        let plan = SeedPlan::new(&o, options(2000, 9));
        let shelf = &o.nodes["Shelf"];
        let labels: Vec<String> = plan
            .node_batches(shelf, 500)
            .flat_map(|b| b.rows)
            .filter_map(|r| r["label"].as_str().map(str::to_owned))
            .collect();
        let exact = labels.iter().filter(|s| *s == VOCABULARY[0]).count();
        let rare = labels
            .iter()
            .filter(|s| *s == VOCABULARY[VOCABULARY.len() - 1])
            .count();
        let contains = labels.iter().filter(|s| s.contains(VOCABULARY[1])).count();
        assert!(exact > 5 * rare.max(1), "{exact} vs {rare}");
        assert!(contains > 100, "{contains}");
        assert!(labels
            .iter()
            .all(|s| s.split(' ').all(|w| VOCABULARY.contains(&w))));
    }

    #[test]
    fn degrees_are_heavy_tailed() {
        let o = ontology(DEFAULT);
        let plan = SeedPlan::new(&o, options(2000, 42));
        for s in plan
            .relationships()
            .iter()
            .filter(|s| s.cardinality == Cardinality::Many)
        {
            let e = edges(&plan, s);
            // Degree of the side the partners are drawn from.
            let mut in_degree: HashMap<u64, u64> = HashMap::new();
            for (start, end) in &e {
                let partner = if s.source == Side::Start { end } else { start };
                *in_degree.entry(*partner).or_default() += 1;
            }
            let mean = e.len() as f64 / 2000.0;
            let max = in_degree.values().copied().max().unwrap_or(0) as f64;
            assert!((2.5..=5.0).contains(&mean), "{}: mean {mean}", s.rel_type);
            assert!(
                max >= 10.0 * mean,
                "{}: max {max} vs mean {mean}",
                s.rel_type
            );
        }
        // Single relationships make supernodes on the list side too (a repository with many issues).
        let s = spec(&plan, "IN_REPOSITORY", "Issue", "Repository");
        let mut in_degree: HashMap<u64, u64> = HashMap::new();
        for (_, end) in edges(&plan, s) {
            *in_degree.entry(end).or_default() += 1;
        }
        assert!(in_degree.values().copied().max().unwrap_or(0) >= 10);
    }

    #[test]
    fn tiny_ontology_one_to_one_and_edge_properties() {
        let o = ontology(TINY);
        let plan = SeedPlan::new(&o, options(100, 4));
        let twin = spec(&plan, "TWIN", "Shelf", "Shelf");
        assert_eq!(twin.cardinality, Cardinality::OneToOne);
        let e = edges(&plan, twin);
        let ends: HashSet<_> = e.iter().map(|(_, b)| b).collect();
        assert_eq!(ends.len(), e.len(), "one-to-one");
        let owns = spec(&plan, "OWNS", "Box", "Shelf");
        assert_eq!(
            (owns.source, owns.cardinality),
            (Side::End, Cardinality::One)
        );
        let owned = edges(&plan, owns).len();
        assert!(
            (80..100).contains(&owned),
            "a single side has a partner about 90% of the time: {owned}"
        );
        let on = spec(&plan, "ON", "Box", "Shelf");
        for b in plan.relationship_batches(on, 50) {
            for r in b.rows {
                assert!(r.properties["kg"].is_f64());
                assert!(r.properties.contains_key("at") && r.properties.contains_key("tag"));
            }
        }
    }

    #[test]
    fn ids_and_dates_are_formatted() {
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_datetime(1_680_674_828), "2023-04-05T06:07:08Z");
        assert_eq!(format_datetime(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(kebab("pullRequest"), "pull-request");
        let a = index_uuid(3, 0);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, index_uuid(3, 1));
        assert_eq!(a, index_uuid(3, 0));
    }

    #[test]
    fn zero_scale_generates_nothing() {
        let o = ontology(DEFAULT);
        let plan = SeedPlan::new(&o, options(0, 1));
        assert!(dump(&plan, 10).is_empty());
    }
}
