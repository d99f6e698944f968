//! Mapping rules: how an event from an ingestion source becomes graph writes.
//!
//! A source's rules live in `schema/mappings/<source>.yaml` (YAML because the rules are nested
//! data written by hand, with comments; the schema is strict: unknown keys are errors):
//!
//! ```yaml
//! source: github
//! signature: { scheme: github }          # or { scheme: hmac, tolerance_seconds: 300 }
//! event_type: { header: X-GitHub-Event } # or { json_path: $.type }
//! idempotency: { header: X-GitHub-Delivery }  # or { json_path: $.id } or { body_hash: true }
//! max_body_bytes: 1048576
//! events:
//!   issues:
//!     upsert:
//!       - as: issue
//!         node: Issue
//!         key: { id: $.issue.node_id }
//!         set: { number: $.issue.number, title: $.issue.title, state: $.issue.state | upper }
//!     connect:
//!       - { from: issue, field: repository, to: repo }
//!     delete:
//!       - { node: Issue, key: { id: $.issue.node_id }, when: $.action == deleted }
//! ```
//!
//! Values are JSON paths (`$.a.b[0].c`) with optional transforms after `|` (`upper`, `lower`,
//! `trim`, `string`, `int`, `float`, `bool`, `datetime`); anything else is a literal. A missing or
//! null value leaves the property unchanged. [`Mapping::from_yaml`] validates the rules against the
//! ontology (types, unique keys, relationship fields and their targets, required properties) and
//! reports every problem with its place in the file. [`Mapping::map`] turns one event into
//! [`Op`]s; [`plan_batch`] turns the ops of many events into ONE parameterized Cypher statement of
//! `UNWIND … MERGE` blocks that applies them in event order — idempotent: applying a batch twice
//! gives the same graph.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::compile::quote;
use crate::model::{Direction, NodeType, Ontology, Property, Scalar};

/// A problem with a rules file; `at` says where (e.g. `events.issues.upsert[0].key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where in the file.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// All problems found in one rules file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping rules {file}:\n{}", .errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct RulesError {
    /// The file (or source) name.
    pub file: String,
    /// Every problem.
    pub errors: Vec<RuleError>,
}

/// Why one event cannot be applied (it goes to the dead-letter queue with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event `{event_type}`: {at}: {message}")]
pub struct MapError {
    /// The event type.
    pub event_type: String,
    /// Which rule.
    pub at: String,
    /// What is wrong with the event.
    pub message: String,
}

// ---------------------------------------------------------------- the file format

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    source: String,
    #[serde(default)]
    signature: Option<SignatureSpec>,
    event_type: Locator,
    idempotency: Locator,
    #[serde(default)]
    max_body_bytes: Option<usize>,
    #[serde(default)]
    events: IndexMap<String, EventFile>,
}

/// How a source signs its requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, tag = "scheme", rename_all = "lowercase")]
pub enum SignatureSpec {
    /// `X-Hub-Signature-256: sha256=<hex>` over the raw body.
    Github,
    /// `X-Ontograph-Signature: sha256=<hex>` over `<timestamp>.<body>`, with
    /// `X-Ontograph-Timestamp` within `tolerance_seconds` of now.
    Hmac {
        /// Header carrying the signature.
        #[serde(default = "default_signature_header")]
        signature_header: String,
        /// Header carrying the Unix timestamp.
        #[serde(default = "default_timestamp_header")]
        timestamp_header: String,
        /// Largest accepted clock distance, in seconds.
        #[serde(default = "default_tolerance")]
        tolerance_seconds: u64,
    },
}

fn default_signature_header() -> String {
    "X-Ontograph-Signature".to_owned()
}
fn default_timestamp_header() -> String {
    "X-Ontograph-Timestamp".to_owned()
}
fn default_tolerance() -> u64 {
    300
}

/// Where a request-level value (event type, idempotency key) comes from: one of `header`,
/// `json_path`, `body_hash: true` or `constant`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "LocatorFile")]
pub enum Locator {
    /// A request header.
    Header(String),
    /// A JSON path into the body.
    JsonPath(String),
    /// The SHA-256 of the raw body (idempotency only).
    BodyHash(bool),
    /// A fixed value (event type only).
    Constant(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocatorFile {
    header: Option<String>,
    json_path: Option<String>,
    body_hash: Option<bool>,
    constant: Option<String>,
}

impl TryFrom<LocatorFile> for Locator {
    type Error = String;

    fn try_from(f: LocatorFile) -> Result<Self, String> {
        let mut found = Vec::new();
        if let Some(h) = f.header {
            found.push(Locator::Header(h));
        }
        if let Some(p) = f.json_path {
            found.push(Locator::JsonPath(p));
        }
        if let Some(b) = f.body_hash {
            found.push(Locator::BodyHash(b));
        }
        if let Some(c) = f.constant {
            found.push(Locator::Constant(c));
        }
        match (found.pop(), found.is_empty()) {
            (Some(one), true) => Ok(one),
            _ => Err(
                "give exactly one of `header`, `json_path`, `body_hash: true`, `constant`"
                    .to_owned(),
            ),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFile {
    #[serde(default)]
    upsert: Vec<UpsertFile>,
    #[serde(default)]
    connect: Vec<LinkFile>,
    #[serde(default)]
    disconnect: Vec<LinkFile>,
    #[serde(default)]
    delete: Vec<DeleteFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpsertFile {
    #[serde(rename = "as")]
    alias: String,
    node: String,
    key: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    set: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    when: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkFile {
    from: String,
    field: String,
    to: String,
    #[serde(default)]
    set: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    when: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteFile {
    node: String,
    key: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    when: Option<String>,
}

// ---------------------------------------------------------------- value expressions

/// A transform applied to a value taken from the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    /// Upper-case a string.
    Upper,
    /// Lower-case a string.
    Lower,
    /// Trim whitespace.
    Trim,
    /// Any scalar as a string.
    String,
    /// A number or numeric string as an integer.
    Int,
    /// A number or numeric string as a float.
    Float,
    /// `true`/`false` (also as strings).
    Bool,
    /// An RFC 3339 date-time, or Unix seconds, as a UTC date-time.
    DateTime,
}

impl Transform {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "upper" => Transform::Upper,
            "lower" => Transform::Lower,
            "trim" => Transform::Trim,
            "string" => Transform::String,
            "int" => Transform::Int,
            "float" => Transform::Float,
            "bool" => Transform::Bool,
            "datetime" => Transform::DateTime,
            _ => return None,
        })
    }

    fn apply(self, v: Value) -> Result<Value, String> {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match self {
            Transform::Upper | Transform::Lower | Transform::Trim => match v {
                Value::String(s) => Ok(Value::String(match self {
                    Transform::Upper => s.to_uppercase(),
                    Transform::Lower => s.to_lowercase(),
                    _ => s.trim().to_owned(),
                })),
                other => Err(format!("expected a string, got {other}")),
            },
            Transform::String => text(&v)
                .map(Value::String)
                .ok_or_else(|| format!("cannot turn {v} into a string")),
            Transform::Int => match &v {
                Value::Number(n) if n.is_i64() => Ok(v),
                Value::Number(n) => n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| Value::from(f as i64))
                    .ok_or_else(|| format!("{v} is not an integer")),
                Value::String(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("{s:?} is not an integer")),
                other => Err(format!("{other} is not an integer")),
            },
            Transform::Float => match &v {
                Value::Number(n) => n
                    .as_f64()
                    .map(Value::from)
                    .ok_or_else(|| format!("{v} is not a number")),
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .map(Value::from)
                    .map_err(|_| format!("{s:?} is not a number")),
                other => Err(format!("{other} is not a number")),
            },
            Transform::Bool => match &v {
                Value::Bool(_) => Ok(v),
                Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
                other => Err(format!("{other} is not a boolean")),
            },
            Transform::DateTime => normalize_datetime(&v),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC) from an RFC 3339 string or Unix seconds.
fn normalize_datetime(v: &Value) -> Result<Value, String> {
    match v {
        Value::Number(n) => {
            let secs = n
                .as_i64()
                .ok_or_else(|| format!("{n} is not whole Unix seconds"))?;
            let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
            let (y, m, d) = civil_from_days(days);
            Ok(Value::String(format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            )))
        }
        Value::String(s) => {
            let ok = s.len() >= 20
                && s.as_bytes().get(4) == Some(&b'-')
                && s.as_bytes()
                    .get(10)
                    .is_some_and(|c| *c == b'T' || *c == b't')
                && (s.ends_with('Z') || s.ends_with('z') || s[19..].contains(['+', '-']));
            if ok {
                Ok(Value::String(s.clone()))
            } else {
                Err(format!(
                    "{s:?} is not an RFC 3339 date-time with a zone (e.g. 2024-05-01T12:00:00Z)"
                ))
            }
        }
        other => Err(format!("{other} is not a date-time")),
    }
}

/// Days since 1970-01-01 to (year, month, day) — Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A value: a literal or a path into the event with transforms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ValueExpr {
    /// A fixed value.
    Literal(Value),
    /// `$.a.b[0] | t1 | t2`.
    Path {
        /// The path as written (for messages).
        text: String,
        steps: Vec<Step>,
        /// Applied in order.
        transforms: Vec<Transform>,
    },
}

impl ValueExpr {
    fn parse(v: &Value) -> Result<Self, String> {
        let Value::String(s) = v else {
            return Ok(ValueExpr::Literal(v.clone()));
        };
        if !s.trim_start().starts_with('$') {
            return Ok(ValueExpr::Literal(v.clone()));
        }
        let mut parts = s.split('|').map(str::trim);
        let path = parts.next().unwrap_or_default();
        let steps = parse_path(path)?;
        let transforms = parts
            .map(|t| {
                Transform::parse(t).ok_or_else(|| {
                    format!("unknown transform `{t}` (use upper, lower, trim, string, int, float, bool, datetime)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ValueExpr::Path {
            text: path.to_owned(),
            steps,
            transforms,
        })
    }

    /// The value for this event; `Ok(None)` when the path is missing or null.
    fn eval(&self, event: &Value) -> Result<Option<Value>, String> {
        match self {
            ValueExpr::Literal(v) => Ok(Some(v.clone())),
            ValueExpr::Path {
                text,
                steps,
                transforms,
            } => {
                let mut at = event;
                for step in steps {
                    let next = match step {
                        Step::Key(k) => at.get(k.as_str()),
                        Step::Index(i) => at.get(*i),
                    };
                    match next {
                        Some(v) => at = v,
                        None => return Ok(None),
                    }
                }
                if at.is_null() {
                    return Ok(None);
                }
                let mut v = at.clone();
                for t in transforms {
                    v = t.apply(v).map_err(|e| format!("{text}: {e}"))?;
                }
                Ok(Some(v))
            }
        }
    }
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("`{path}` must start with `$`"))?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                if key.is_empty() {
                    return Err(format!("`{path}` has an empty key"));
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut index = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    index.push(c);
                }
                let i = index
                    .parse::<usize>()
                    .map_err(|_| format!("`{path}`: `[{index}]` is not an array index"))?;
                steps.push(Step::Index(i));
            }
            other => return Err(format!("`{path}`: unexpected `{other}`")),
        }
    }
    Ok(steps)
}

/// `when: $.path == value` or `$.path != value` (value compared as a string).
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    path: ValueExpr,
    equal: bool,
    value: String,
}

impl Condition {
    fn parse(text: &str) -> Result<Self, String> {
        let (left, right, equal) = if let Some((l, r)) = text.split_once("!=") {
            (l, r, false)
        } else if let Some((l, r)) = text.split_once("==") {
            (l, r, true)
        } else {
            return Err(format!(
                "`{text}`: a condition is `$.path == value` or `$.path != value`"
            ));
        };
        let path = ValueExpr::parse(&Value::String(left.trim().to_owned()))?;
        if !matches!(path, ValueExpr::Path { .. }) {
            return Err(format!("`{text}`: the left side must be a `$.` path"));
        }
        Ok(Condition {
            path,
            equal,
            value: right.trim().trim_matches(['"', '\'']).to_owned(),
        })
    }

    fn holds(&self, event: &Value) -> bool {
        let actual = match self.path.eval(event) {
            Ok(Some(Value::String(s))) => Some(s),
            Ok(Some(v)) => Some(v.to_string()),
            _ => None,
        };
        (actual.as_deref() == Some(self.value.as_str())) == self.equal
    }
}

// ---------------------------------------------------------------- validated rules

/// A node reference: its type and unique key.
#[derive(Debug, Clone, PartialEq)]
struct KeyRule {
    node: String,
    label: String,
    extra_labels: Vec<String>,
    key_prop: String,
    key: ValueExpr,
}

#[derive(Debug, Clone, PartialEq)]
struct PropRule {
    /// The property's name in the database.
    db_name: String,
    scalar: Scalar,
    list: bool,
    required: bool,
    value: ValueExpr,
}

#[derive(Debug, Clone, PartialEq)]
struct UpsertRule {
    alias: String,
    target: KeyRule,
    /// The `@id` property to fill with a UUID when the node is created (when not the key).
    generated_id: Option<String>,
    set: Vec<PropRule>,
    when: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
struct LinkRule {
    from: String,
    to: String,
    rel_type: String,
    /// `true`: `(from)-[:T]->(to)`.
    outgoing: bool,
    /// A single (non-list) relationship: connecting replaces the old target.
    single: bool,
    set: Vec<PropRule>,
    when: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
struct DeleteRule {
    target: KeyRule,
    when: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct EventRules {
    upsert: Vec<UpsertRule>,
    connect: Vec<LinkRule>,
    disconnect: Vec<LinkRule>,
    delete: Vec<DeleteRule>,
}

/// A source's validated rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The source name (`/ingest/{source}`).
    pub source: String,
    /// How requests are signed (`None`: the source is unsigned — refused by the receiver unless
    /// explicitly allowed).
    pub signature: Option<SignatureSpec>,
    /// Where the event type comes from.
    pub event_type: Locator,
    /// Where the idempotency key comes from.
    pub idempotency: Locator,
    /// Largest accepted body.
    pub max_body_bytes: usize,
    events: IndexMap<String, EventRules>,
}

/// Default largest webhook body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

struct Checker<'o> {
    ontology: &'o Ontology,
    errors: Vec<RuleError>,
}

impl Checker<'_> {
    fn error(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.errors.push(RuleError {
            at: at.into(),
            message: message.into(),
        });
    }

    fn node(&mut self, at: &str, name: &str) -> Option<&NodeType> {
        let found = self.ontology.node(name);
        if found.is_none() {
            let known: Vec<&str> = self.ontology.nodes.keys().map(String::as_str).collect();
            self.error(
                at,
                format!(
                    "unknown node type `{name}` (the ontology has: {})",
                    known.join(", ")
                ),
            );
        }
        found
    }

    fn key(&mut self, at: &str, node_name: &str, key: &IndexMap<String, Value>) -> Option<KeyRule> {
        let node = self.node(&format!("{at}.node"), node_name)?.clone();
        if key.len() != 1 {
            self.error(
                format!("{at}.key"),
                "the key names exactly one unique property: `key: { property: $.path }`",
            );
            return None;
        }
        let (prop_name, expr) = key.iter().next()?;
        let Some(prop) = node.property(prop_name) else {
            self.error(
                format!("{at}.key"),
                format!("`{node_name}` has no property `{prop_name}`"),
            );
            return None;
        };
        if !prop.is_key() {
            self.error(
                format!("{at}.key"),
                format!(
                    "`{node_name}.{prop_name}` is not unique: a key must be an `@id` or `@unique` \
                     property, or one a uniqueness constraint in the database covers, or MERGE \
                     could match several nodes"
                ),
            );
            return None;
        }
        let value = match ValueExpr::parse(expr) {
            Ok(v) => v,
            Err(e) => {
                self.error(format!("{at}.key.{prop_name}"), e);
                return None;
            }
        };
        Some(KeyRule {
            node: node.name.clone(),
            label: node.main_label().to_owned(),
            extra_labels: node.labels.iter().skip(1).cloned().collect(),
            key_prop: prop.db_name.clone(),
            key: value,
        })
    }

    fn props(
        &mut self,
        at: &str,
        owner: &str,
        available: &[Property],
        set: &IndexMap<String, Value>,
    ) -> Vec<PropRule> {
        let mut out = Vec::new();
        for (name, expr) in set {
            let Some(prop) = available.iter().find(|p| &p.name == name) else {
                self.error(
                    format!("{at}.set.{name}"),
                    format!("`{owner}` has no property `{name}`"),
                );
                continue;
            };
            match ValueExpr::parse(expr) {
                Ok(value) => out.push(PropRule {
                    db_name: prop.db_name.clone(),
                    scalar: prop.scalar.clone(),
                    list: prop.list,
                    required: prop.required,
                    value,
                }),
                Err(e) => self.error(format!("{at}.set.{name}"), e),
            }
        }
        out
    }

    fn condition(&mut self, at: &str, when: &Option<String>) -> Option<Condition> {
        let text = when.as_ref()?;
        match Condition::parse(text) {
            Ok(c) => Some(c),
            Err(e) => {
                self.error(format!("{at}.when"), e);
                None
            }
        }
    }
}

impl Mapping {
    /// Parses and validates a rules file against the ontology. `file` names it in errors.
    pub fn from_yaml(ontology: &Ontology, file: &str, text: &str) -> Result<Self, RulesError> {
        let fail = |errors| RulesError {
            file: file.to_owned(),
            errors,
        };
        let raw: RulesFile = serde_yaml_ng::from_str(text).map_err(|e| {
            fail(vec![RuleError {
                at: e
                    .location()
                    .map(|l| format!("line {}, column {}", l.line(), l.column()))
                    .unwrap_or_else(|| "file".to_owned()),
                message: e.to_string(),
            }])
        })?;
        let mut c = Checker {
            ontology,
            errors: Vec::new(),
        };
        if raw.source.is_empty()
            || !raw
                .source
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.error("source", "a source name is letters, digits, `-` and `_`");
        }
        if matches!(raw.event_type, Locator::BodyHash(_)) {
            c.error(
                "event_type",
                "the event type comes from a header, a json_path or a constant",
            );
        }
        if matches!(raw.idempotency, Locator::Constant(_)) {
            c.error(
                "idempotency",
                "a constant idempotency key would make every event a duplicate",
            );
        }
        for (at, locator) in [
            ("event_type", &raw.event_type),
            ("idempotency", &raw.idempotency),
        ] {
            if let Locator::JsonPath(p) = locator {
                if let Err(e) = parse_path(p) {
                    c.error(at, e);
                }
            }
        }
        let mut events = IndexMap::new();
        for (event, spec) in &raw.events {
            let base = format!("events.{event}");
            let mut rules = EventRules::default();
            let mut aliases: IndexMap<String, String> = IndexMap::new();
            for (i, u) in spec.upsert.iter().enumerate() {
                let at = format!("{base}.upsert[{i}]");
                if aliases.contains_key(&u.alias) {
                    c.error(
                        format!("{at}.as"),
                        format!("alias `{}` is used twice", u.alias),
                    );
                }
                let Some(target) = c.key(&at, &u.node, &u.key) else {
                    continue;
                };
                let Some(node) = ontology.node(&u.node) else {
                    continue;
                };
                let node_props: Vec<Property> = node.properties().cloned().collect();
                let set = c.props(&at, &u.node, &node_props, &u.set);
                let key_name = u.key.keys().next().cloned().unwrap_or_default();
                // A created node must be valid for the API: every required property is given.
                for p in node.properties() {
                    let given = p.name == key_name || u.set.contains_key(&p.name);
                    if p.required && !p.autogenerate && !given {
                        c.error(
                            format!("{at}.set"),
                            format!(
                                "`{}.{}` is required (non-null) but not set: a node this rule \
                                 creates would break queries",
                                u.node, p.name
                            ),
                        );
                    }
                }
                let generated_id = node
                    .properties()
                    .find(|p| p.autogenerate && p.name != key_name && !u.set.contains_key(&p.name))
                    .map(|p| p.db_name.clone());
                let when = c.condition(&at, &u.when);
                aliases.insert(u.alias.clone(), u.node.clone());
                rules.upsert.push(UpsertRule {
                    alias: u.alias.clone(),
                    target,
                    generated_id,
                    set,
                    when,
                });
            }
            for (kind, links) in [("connect", &spec.connect), ("disconnect", &spec.disconnect)] {
                for (i, l) in links.iter().enumerate() {
                    let at = format!("{base}.{kind}[{i}]");
                    let (Some(from_type), Some(to_type)) =
                        (aliases.get(&l.from).cloned(), aliases.get(&l.to).cloned())
                    else {
                        for alias in [&l.from, &l.to] {
                            if !aliases.contains_key(alias) {
                                c.error(
                                    at.clone(),
                                    format!("`{alias}` is not an alias of an upsert of this event"),
                                );
                            }
                        }
                        continue;
                    };
                    let Some(from_node) = ontology.node(&from_type) else {
                        continue;
                    };
                    let Some(rel) = from_node.relationship(&l.field) else {
                        c.error(
                            format!("{at}.field"),
                            format!("`{from_type}` has no relationship field `{}`", l.field),
                        );
                        continue;
                    };
                    let to_node = ontology.node(&to_type);
                    let fits = rel.target == to_type
                        || to_node.is_some_and(|n| n.implements.contains(&rel.target));
                    if !fits {
                        c.error(
                            format!("{at}.to"),
                            format!(
                                "`{from_type}.{}` leads to `{}`, but `{}` is a `{to_type}`",
                                l.field, rel.target, l.to
                            ),
                        );
                        continue;
                    }
                    let edge_props: Vec<Property> = rel
                        .properties
                        .as_deref()
                        .and_then(|n| ontology.relationship_properties(n))
                        .map(|t| t.properties.clone())
                        .unwrap_or_default();
                    let set = c.props(
                        &at,
                        &format!("{from_type}.{}", l.field),
                        &edge_props,
                        &l.set,
                    );
                    if kind == "connect" {
                        for p in &edge_props {
                            if p.required && !l.set.contains_key(&p.name) {
                                c.error(
                                    format!("{at}.set"),
                                    format!(
                                        "relationship property `{}` is required but not set",
                                        p.name
                                    ),
                                );
                            }
                        }
                    } else if !l.set.is_empty() {
                        c.error(format!("{at}.set"), "a disconnect sets nothing");
                    }
                    let link = LinkRule {
                        from: l.from.clone(),
                        to: l.to.clone(),
                        rel_type: rel.rel_type.clone(),
                        outgoing: rel.direction == Direction::Out,
                        single: !rel.list,
                        set,
                        when: c.condition(&at, &l.when),
                    };
                    if kind == "connect" {
                        rules.connect.push(link);
                    } else {
                        rules.disconnect.push(link);
                    }
                }
            }
            for (i, d) in spec.delete.iter().enumerate() {
                let at = format!("{base}.delete[{i}]");
                if let Some(target) = c.key(&at, &d.node, &d.key) {
                    let when = c.condition(&at, &d.when);
                    rules.delete.push(DeleteRule { target, when });
                }
            }
            if spec.upsert.is_empty() && spec.delete.is_empty() {
                c.error(base.clone(), "an event rule upserts or deletes something");
            }
            events.insert(event.clone(), rules);
        }
        if raw.events.is_empty() {
            c.error("events", "no event types are mapped");
        }
        if !c.errors.is_empty() {
            return Err(fail(c.errors));
        }
        Ok(Mapping {
            source: raw.source,
            signature: raw.signature,
            event_type: raw.event_type,
            idempotency: raw.idempotency,
            max_body_bytes: raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            events,
        })
    }

    /// The event types this source maps.
    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.events.keys().map(String::as_str)
    }

    /// Whether events of this type are mapped (others are acknowledged and ignored).
    pub fn handles(&self, event_type: &str) -> bool {
        self.events.contains_key(event_type)
    }

    /// The first node the rules for this event name (`Label:key`), cheaply: events about the
    /// same entity share it, so the receiver uses it to pick the partition. `None` when the
    /// event type is not mapped or the key is missing.
    pub fn partition_key(&self, event_type: &str, event: &Value) -> Option<String> {
        let rules = self.events.get(event_type)?;
        let first = rules
            .upsert
            .iter()
            .find(|u| u.when.as_ref().is_none_or(|w| w.holds(event)))
            .map(|u| &u.target)
            .or_else(|| rules.delete.first().map(|d| &d.target))?;
        let key = first.key.eval(event).ok()??;
        Some(format!("{}:{}", first.label, key))
    }

    /// The graph writes one event asks for, in order: upserts, connects, disconnects, deletes.
    /// An unmapped event type gives no ops.
    pub fn map(&self, event_type: &str, event: &Value) -> Result<Vec<Op>, MapError> {
        let Some(rules) = self.events.get(event_type) else {
            return Ok(Vec::new());
        };
        let err = |at: String, message: String| MapError {
            event_type: event_type.to_owned(),
            at,
            message,
        };
        let mut ops = Vec::new();
        let mut refs: BTreeMap<&str, NodeRef> = BTreeMap::new();
        for (i, u) in rules.upsert.iter().enumerate() {
            let at = format!("upsert[{i}] ({})", u.alias);
            if u.when.as_ref().is_some_and(|w| !w.holds(event)) {
                continue;
            }
            let target = node_ref(&u.target, event).map_err(|m| err(at.clone(), m))?;
            let props = eval_props(&u.set, event, true).map_err(|m| err(at.clone(), m))?;
            refs.insert(u.alias.as_str(), target.clone());
            ops.push(Op::Upsert {
                target,
                extra_labels: u.target.extra_labels.clone(),
                generated_id: u.generated_id.clone(),
                props,
            });
        }
        for (kind, links, connect) in [
            ("connect", &rules.connect, true),
            ("disconnect", &rules.disconnect, false),
        ] {
            for (i, l) in links.iter().enumerate() {
                if l.when.as_ref().is_some_and(|w| !w.holds(event)) {
                    continue;
                }
                // An upsert skipped by its condition skips the links that use it.
                let (Some(from), Some(to)) = (refs.get(l.from.as_str()), refs.get(l.to.as_str()))
                else {
                    continue;
                };
                let props = eval_props(&l.set, event, connect)
                    .map_err(|m| err(format!("{kind}[{i}]"), m))?;
                ops.push(Op::Link {
                    connect,
                    from: from.clone(),
                    to: to.clone(),
                    rel_type: l.rel_type.clone(),
                    outgoing: l.outgoing,
                    single: l.single,
                    props,
                });
            }
        }
        for (i, d) in rules.delete.iter().enumerate() {
            if d.when.as_ref().is_some_and(|w| !w.holds(event)) {
                continue;
            }
            let target = node_ref(&d.target, event).map_err(|m| err(format!("delete[{i}]"), m))?;
            ops.push(Op::Delete { target });
        }
        Ok(ops)
    }
}

fn node_ref(rule: &KeyRule, event: &Value) -> Result<NodeRef, String> {
    let key = match rule.key.eval(event)? {
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v,
        Some(other) => {
            return Err(format!(
                "the key of `{}` is not a scalar: {other}",
                rule.node
            ))
        }
        None => {
            return Err(format!(
                "the key of `{}` is missing from the event",
                rule.node
            ))
        }
    };
    Ok(NodeRef {
        label: rule.label.clone(),
        key_prop: rule.key_prop.clone(),
        key,
    })
}

/// Typed property values; missing or null values are left out (the property stays unchanged),
/// except a missing required one, which makes the event invalid when `require` is set.
fn eval_props(
    rules: &[PropRule],
    event: &Value,
    require: bool,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for p in rules {
        let Some(v) = p.value.eval(event)? else {
            if p.required && require {
                return Err(format!(
                    "required property `{}` is missing from the event",
                    p.db_name
                ));
            }
            continue;
        };
        let v = if p.list {
            match v {
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|x| typed(&p.scalar, x))
                        .collect::<Result<_, _>>()
                        .map_err(|e| format!("`{}`: {e}", p.db_name))?,
                ),
                other => return Err(format!("`{}` expects a list, got {other}", p.db_name)),
            }
        } else {
            typed(&p.scalar, v).map_err(|e| format!("`{}`: {e}", p.db_name))?
        };
        out.insert(p.db_name.clone(), v);
    }
    Ok(out)
}

/// Checks a value against the property's scalar type (converting where it is lossless).
fn typed(scalar: &Scalar, v: Value) -> Result<Value, String> {
    match scalar {
        Scalar::Int | Scalar::BigInt => Transform::Int.apply(v),
        Scalar::Float => Transform::Float.apply(v),
        Scalar::Boolean => Transform::Bool.apply(v),
        Scalar::DateTime => normalize_datetime(&v),
        Scalar::Id => Transform::String.apply(v),
        Scalar::Point | Scalar::CartesianPoint => match v {
            Value::Object(_) => Ok(v),
            other => Err(format!("expected a point object, got {other}")),
        },
        // Neo4j parses the ISO-8601 text (`date(…)`, `duration(…)`) when the batch runs.
        Scalar::String
        | Scalar::Enum(_)
        | Scalar::Date
        | Scalar::Time
        | Scalar::LocalTime
        | Scalar::LocalDateTime
        | Scalar::Duration => match v {
            Value::String(_) => Ok(v),
            other => Err(format!("expected a string, got {other}")),
        },
    }
}

// ---------------------------------------------------------------- ops and batch plans

/// A node by its unique key.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRef {
    /// Its (main) label.
    pub label: String,
    /// The key property's name in the database.
    pub key_prop: String,
    /// The key value.
    pub key: Value,
}

impl NodeRef {
    fn id(&self) -> String {
        format!("{}\u{1}{}\u{1}{}", self.label, self.key_prop, self.key)
    }
}

/// One graph write of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// MERGE the node by key, then set the given properties.
    Upsert {
        /// The node.
        target: NodeRef,
        /// Further labels of the type, set on create.
        extra_labels: Vec<String>,
        /// `@id` property filled with a UUID on create.
        generated_id: Option<String>,
        /// Properties to set (database names).
        props: Map<String, Value>,
    },
    /// MERGE (or delete) the relationship between two nodes.
    Link {
        /// Connect (true) or disconnect.
        connect: bool,
        /// The node owning the relationship field.
        from: NodeRef,
        /// The other end.
        to: NodeRef,
        /// The relationship type.
        rel_type: String,
        /// `(from)-[:T]->(to)` when true.
        outgoing: bool,
        /// The field is single: connecting replaces the old target.
        single: bool,
        /// Relationship properties to set.
        props: Map<String, Value>,
    },
    /// DETACH DELETE the node.
    Delete {
        /// The node.
        target: NodeRef,
    },
}

/// One Cypher statement applying a batch, and what it touches (for cache invalidation and
/// degree statistics).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    /// The statement.
    pub cypher: String,
    /// Its parameters.
    pub params: Map<String, Value>,
    /// Labels of the nodes written.
    pub labels: BTreeSet<String>,
    /// Relationship types written.
    pub rel_types: BTreeSet<String>,
    /// `(label, key property, key value)` of every node written.
    pub nodes: Vec<(String, String, Value)>,
}

/// Block kinds in the order a segment applies them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Block {
    Upsert {
        label: String,
        key_prop: String,
        extra_labels: Vec<String>,
        generated_id: Option<String>,
    },
    Link {
        connect: bool,
        from: (String, String),
        to: (String, String),
        rel_type: String,
        outgoing: bool,
        single: bool,
    },
    Delete {
        label: String,
        key_prop: String,
    },
}

/// Turns the ops of a batch of events (in arrival order) into ONE statement.
///
/// Ops are grouped into `UNWIND $rows … MERGE` blocks by kind and shape. Within a segment the
/// blocks run upserts, then relationship changes, then deletes; rows keep event order, so the
/// last update of a property wins. Grouping must not reorder conflicting ops: a new segment
/// starts before an op that touches a node deleted earlier in the segment, or a relationship
/// that the segment changed the other way.
pub fn plan_batch(ops: &[Op], property_types: &dyn Fn(&str, &str) -> Option<Scalar>) -> BatchPlan {
    let mut segments: Vec<BTreeMap<Block, Vec<Value>>> = vec![BTreeMap::new()];
    let mut deleted: HashSet<String> = HashSet::new();
    let mut linked: HashSet<String> = HashSet::new();
    let mut unlinked: HashSet<String> = HashSet::new();
    let mut plan = BatchPlan {
        cypher: String::new(),
        params: Map::new(),
        labels: BTreeSet::new(),
        rel_types: BTreeSet::new(),
        nodes: Vec::new(),
    };
    for op in ops {
        let conflict = match op {
            Op::Upsert { target, .. } => deleted.contains(&target.id()),
            Op::Link {
                connect,
                from,
                to,
                rel_type,
                ..
            } => {
                let pair = format!("{}\u{2}{rel_type}\u{2}{}", from.id(), to.id());
                deleted.contains(&from.id())
                    || deleted.contains(&to.id())
                    || if *connect {
                        unlinked.contains(&pair)
                    } else {
                        linked.contains(&pair)
                    }
            }
            Op::Delete { .. } => false,
        };
        if conflict {
            segments.push(BTreeMap::new());
            deleted.clear();
            linked.clear();
            unlinked.clear();
        }
        let Some(segment) = segments.last_mut() else {
            continue;
        };
        match op {
            Op::Upsert {
                target,
                extra_labels,
                generated_id,
                props,
            } => {
                plan.labels.insert(target.label.clone());
                plan.nodes.push((
                    target.label.clone(),
                    target.key_prop.clone(),
                    target.key.clone(),
                ));
                segment
                    .entry(Block::Upsert {
                        label: target.label.clone(),
                        key_prop: target.key_prop.clone(),
                        extra_labels: extra_labels.clone(),
                        generated_id: generated_id.clone(),
                    })
                    .or_default()
                    .push(serde_json::json!({ "k": target.key, "p": props }));
            }
            Op::Link {
                connect,
                from,
                to,
                rel_type,
                outgoing,
                single,
                props,
            } => {
                let pair = format!("{}\u{2}{rel_type}\u{2}{}", from.id(), to.id());
                if *connect {
                    linked.insert(pair);
                } else {
                    unlinked.insert(pair);
                }
                plan.rel_types.insert(rel_type.clone());
                plan.labels.insert(from.label.clone());
                plan.labels.insert(to.label.clone());
                // A link may create a missing end (MERGE): key lookups of both ends may change.
                for end in [from, to] {
                    plan.nodes
                        .push((end.label.clone(), end.key_prop.clone(), end.key.clone()));
                }
                segment
                    .entry(Block::Link {
                        connect: *connect,
                        from: (from.label.clone(), from.key_prop.clone()),
                        to: (to.label.clone(), to.key_prop.clone()),
                        rel_type: rel_type.clone(),
                        outgoing: *outgoing,
                        single: *single,
                    })
                    .or_default()
                    .push(serde_json::json!({ "a": from.key, "b": to.key, "p": props }));
            }
            Op::Delete { target } => {
                deleted.insert(target.id());
                plan.labels.insert(target.label.clone());
                plan.nodes.push((
                    target.label.clone(),
                    target.key_prop.clone(),
                    target.key.clone(),
                ));
                segment
                    .entry(Block::Delete {
                        label: target.label.clone(),
                        key_prop: target.key_prop.clone(),
                    })
                    .or_default()
                    .push(serde_json::json!({ "k": target.key }));
            }
        }
    }
    let mut blocks = Vec::new();
    for segment in segments {
        for (block, rows) in segment {
            let param = format!("b{}", plan.params.len());
            let body = block_cypher(&block, &param, &rows, property_types);
            plan.params.insert(param, Value::Array(rows));
            blocks.push(format!("CALL () {{\n  {body}\n}}"));
        }
    }
    blocks.push("RETURN count(*) AS applied".to_owned());
    plan.cypher = blocks.join("\n");
    plan
}

/// The SET items for the properties that appear in any row, each kept when the row has no
/// value for it.
fn set_items(
    var: &str,
    label: &str,
    rows: &[Value],
    types: &dyn Fn(&str, &str) -> Option<Scalar>,
) -> Vec<String> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for row in rows {
        if let Some(p) = row.get("p").and_then(Value::as_object) {
            names.extend(p.keys().map(String::as_str));
        }
    }
    names
        .into_iter()
        .map(|name| {
            let q = quote(name);
            let raw = format!("row.p.{q}");
            let value = match types(label, name) {
                Some(Scalar::BigInt) | None => raw,
                Some(s) => s.cypher_value(&raw),
            };
            format!("{var}.{q} = coalesce({value}, {var}.{q})")
        })
        .collect()
}

fn block_cypher(
    block: &Block,
    param: &str,
    rows: &[Value],
    types: &dyn Fn(&str, &str) -> Option<Scalar>,
) -> String {
    match block {
        Block::Upsert {
            label,
            key_prop,
            extra_labels,
            generated_id,
        } => {
            let mut s = format!(
                "UNWIND ${param} AS row\n  MERGE (n:{} {{{}: row.k}})",
                quote(label),
                quote(key_prop)
            );
            let mut on_create: Vec<String> = extra_labels
                .iter()
                .map(|l| format!("n:{}", quote(l)))
                .collect();
            if let Some(id) = generated_id {
                on_create.push(format!("n.{} = randomUUID()", quote(id)));
            }
            if !on_create.is_empty() {
                s.push_str(&format!("\n  ON CREATE SET {}", on_create.join(", ")));
            }
            let items = set_items("n", label, rows, types);
            if !items.is_empty() {
                s.push_str(&format!("\n  SET {}", items.join(", ")));
            }
            s
        }
        Block::Link {
            connect,
            from,
            to,
            rel_type,
            outgoing,
            single,
        } => {
            let a = format!("(a:{} {{{}: row.a}})", quote(&from.0), quote(&from.1));
            let b = format!("(b:{} {{{}: row.b}})", quote(&to.0), quote(&to.1));
            let t = quote(rel_type);
            let (l, r) = if *outgoing { ("-", "->") } else { ("<-", "-") };
            let mut s = format!("UNWIND ${param} AS row\n  MATCH {a}\n  MATCH {b}");
            if *connect {
                let items = set_items("r", rel_type, rows, types);
                let set = if items.is_empty() {
                    String::new()
                } else {
                    format!("\n    SET {}", items.join(", "))
                };
                if *single {
                    // Cypher applies each clause to all rows before the next one, so replacing
                    // the old target must happen row by row (a subquery per row), or a later
                    // row's delete would run before an earlier row's MERGE.
                    s.push_str(&format!(
                        "\n  CALL (a, b, row) {{\n    OPTIONAL MATCH (a){l}[old:{t}]{r}(other) WHERE other <> b\n    DELETE old\n    MERGE (a){l}[r:{t}]{r}(b){set}\n  }}"
                    ));
                } else {
                    s.push_str(&format!(
                        "\n  MERGE (a){l}[r:{t}]{r}(b){}",
                        set.replace("\n    ", "\n  ")
                    ));
                }
            } else {
                s.push_str(&format!("\n  MATCH (a){l}[r:{t}]{r}(b)\n  DELETE r"));
            }
            s
        }
        Block::Delete { label, key_prop } => format!(
            "UNWIND ${param} AS row\n  MATCH (n:{} {{{}: row.k}})\n  DETACH DELETE n",
            quote(label),
            quote(key_prop)
        ),
    }
}

/// Property types by (label or relationship type, database property name), for [`plan_batch`].
pub fn property_types(ontology: &Ontology) -> impl Fn(&str, &str) -> Option<Scalar> + '_ {
    move |owner: &str, prop: &str| {
        for node in ontology.nodes.values() {
            if node.main_label() == owner {
                if let Some(p) = node.properties().find(|p| p.db_name == prop) {
                    return Some(p.scalar.clone());
                }
            }
            for rel in node.relationships() {
                if rel.rel_type == owner {
                    let found = rel
                        .properties
                        .as_deref()
                        .and_then(|n| ontology.relationship_properties(n))
                        .and_then(|t| t.properties.iter().find(|p| p.db_name == prop));
                    if let Some(p) = found {
                        return Some(p.scalar.clone());
                    }
                }
            }
        }
        None
    }
}
