//! The result cache on the GraphQL read path (see the `cache` crate for the two levels).
//!
//! - **What is cached**: queries that succeed without errors, at the `eventual` and `session`
//!   consistency levels (a `strong` read always goes to the leader). Mutations are never cached.
//! - **Key**: SHA-256 over the normalized document ([`ontology::normalize`]), the operation name,
//!   the variables (keys sorted), the consistency level, the ontology version and the caller's
//!   authorization scope.
//! - **Policy** ([`CachePolicy`]): a default TTL, per-type TTLs (the shortest among the types a
//!   query reads wins; `0` turns caching off for queries reading the type), and per operation
//!   `query Q @cached(ttl: 30) { … }` (seconds; `0`: do not cache), which overrides both.
//! - **Hit path**: the operation text is looked up in a memo of prepared documents (parsed once
//!   per distinct text), the key is hashed, and the stored response bytes are returned as they
//!   are — no parsing, validation, resolvers or serialization.
//! - **Read-your-writes**: a session read that presents a bookmark is only served an entry read
//!   at that bookmark or later; older entries are recomputed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::Value as GqlValue;
use graph::bookmark::BookmarkPosition;
use graph::ConsistencyLevel;

/// How long results live.
#[derive(Debug, Clone, Default)]
pub struct CachePolicy {
    /// TTL of results with no more specific setting; `None`: caching is off.
    pub default_ttl: Option<Duration>,
    /// TTL per node type name (`0`: do not cache queries reading it).
    pub type_ttls: HashMap<String, Duration>,
}

impl CachePolicy {
    /// Parses `Person=30s,Issue=0,Team=5m` (units `ms`, `s`, `m`, `h`; bare numbers are seconds).
    pub fn parse_type_ttls(text: &str) -> Result<HashMap<String, Duration>, String> {
        let mut out = HashMap::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, ttl) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}`: expected Type=duration, e.g. Person=30s"))?;
            out.insert(name.trim().to_owned(), parse_duration(ttl.trim())?);
        }
        Ok(out)
    }
}

/// `250ms`, `30s`, `5m`, `1h`, or a number of seconds; `off` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "off" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 250ms, 5m or 1h"))?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => return Err(format!("`{text}`: unknown unit `{other}` (ms, s, m or h)")),
    })
}

/// A document parsed once per distinct text.
pub struct Prepared {
    text: String,
    operation_name: Option<String>,
    /// The document with `@cached` removed (async-graphql does not know the directive).
    pub doc: ExecutableDocument,
    /// The selected operation's type (`None` when the name selects nothing).
    pub kind: Option<OperationType>,
    /// `@cached(ttl:)` on the operation.
    pub ttl: Option<Duration>,
    /// Whether it selects `__schema` or `__type` (see [`selects_introspection`]).
    pub introspects: bool,
    /// SHA-256 of the normalized text.
    normalized: String,
}

impl Prepared {
    /// The operation name the request gave.
    pub fn operation_name(&self) -> Option<&str> {
        self.operation_name.as_deref()
    }
}

/// The result cache as the gateway uses it.
pub struct ResultCache {
    pub cache: cache::Cache,
    pub policy: CachePolicy,
    /// Node type name → main label, to apply per-type TTLs to tags.
    type_ttl_by_label: HashMap<String, Duration>,
    ontology_version: String,
    prepared: moka::sync::Cache<u64, Arc<Prepared>>,
    hasher: std::collections::hash_map::RandomState,
}

impl ResultCache {
    pub fn new(cache: cache::Cache, policy: CachePolicy, ontology: &ontology::Ontology) -> Self {
        let type_ttl_by_label = policy
            .type_ttls
            .iter()
            .filter_map(|(name, ttl)| Some((ontology.node(name)?.main_label().to_owned(), *ttl)))
            .collect();
        ResultCache {
            cache,
            policy,
            type_ttl_by_label,
            ontology_version: ontology.version.clone(),
            prepared: moka::sync::Cache::builder()
                .weigher(|_, p: &Arc<Prepared>| {
                    u32::try_from(p.text.len() * 4 + 256).unwrap_or(u32::MAX)
                })
                .max_capacity(32 * 1024 * 1024)
                .build(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Unknown type names in the per-type settings (a configuration mistake).
    pub fn unknown_types(policy: &CachePolicy, ontology: &ontology::Ontology) -> Vec<String> {
        let mut unknown: Vec<String> = policy
            .type_ttls
            .keys()
            .filter(|n| ontology.node(n).is_none())
            .cloned()
            .collect();
        unknown.sort();
        unknown
    }

    /// The prepared document for this text and operation name (parsed on first sight).
    /// `Err` carries the parse or `@cached` error for the client.
    pub fn prepare(
        &self,
        text: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, String> {
        let mut h = self.hasher.build_hasher();
        text.hash(&mut h);
        operation_name.hash(&mut h);
        let id = h.finish();
        if let Some(p) = self.prepared.get(&id) {
            if p.text == text && p.operation_name.as_deref() == operation_name {
                return Ok(p);
            }
        }
        let mut doc = async_graphql::parser::parse_query(text).map_err(|e| e.to_string())?;
        let ttl = strip_cached(&mut doc, operation_name)?;
        let kind = operation_type(&doc, operation_name);
        let introspects = selects_introspection(&doc);
        let prepared = Arc::new(Prepared {
            text: text.to_owned(),
            operation_name: operation_name.map(str::to_owned),
            doc,
            kind,
            ttl,
            introspects,
            normalized: cache::key(&[ontology::normalize::normalize(text).as_bytes()]),
        });
        self.prepared.insert(id, prepared.clone());
        Ok(prepared)
    }

    /// The cache key of a request.
    pub fn key(
        &self,
        prepared: &Prepared,
        variables: &async_graphql::Variables,
        level: ConsistencyLevel,
        scope: &str,
    ) -> String {
        let mut vars = Vec::with_capacity(64);
        canonical_object(variables.iter().map(|(k, v)| (k.as_str(), v)), &mut vars);
        cache::key(&[
            b"graphql-v1",
            self.ontology_version.as_bytes(),
            scope.as_bytes(),
            level.as_str().as_bytes(),
            prepared.normalized.as_bytes(),
            prepared.operation_name.as_deref().unwrap_or("").as_bytes(),
            &vars,
        ])
    }

    /// The TTL of a result reading these tags (`None`: do not cache).
    pub fn ttl_for(&self, prepared: &Prepared, tags: &[String]) -> Option<Duration> {
        let ttl = match prepared.ttl {
            Some(ttl) => ttl,
            None => {
                let default = self.policy.default_ttl?;
                tags.iter()
                    .filter_map(|t| tag_label(t))
                    .map(|label| {
                        self.type_ttl_by_label
                            .get(label)
                            .copied()
                            .unwrap_or(default)
                    })
                    .min()
                    .unwrap_or(default)
            }
        };
        (!ttl.is_zero()).then_some(ttl)
    }
}

/// Whether an entry read at `version` may answer a read that has seen `bookmark`.
pub fn covers(bookmark: Option<&str>, version: &str) -> bool {
    let Some(bookmark) = bookmark else {
        return true;
    };
    match (
        BookmarkPosition::parse(bookmark),
        BookmarkPosition::parse(version),
    ) {
        (Some(wanted), Some(read)) => wanted.is_covered_by(&read),
        _ => false,
    }
}

/// The label a tag names (`l:`, `k:` and `n:` tags).
fn tag_label(tag: &str) -> Option<&str> {
    let rest = tag
        .strip_prefix("l:")
        .or_else(|| tag.strip_prefix("k:"))
        .or_else(|| tag.strip_prefix("n:"))?;
    Some(rest.split(':').next().unwrap_or(rest))
}

/// Removes `@cached(ttl: N)` from every operation and returns the selected operation's TTL.
pub fn strip_cached(
    doc: &mut ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<Option<Duration>, String> {
    let mut selected = None;
    let ops: Vec<_> = match &mut doc.operations {
        DocumentOperations::Single(op) => vec![(None, op)],
        DocumentOperations::Multiple(map) => map
            .iter_mut()
            .map(|(name, op)| (Some(name.to_string()), op))
            .collect(),
    };
    let single = ops.len() == 1;
    for (name, op) in ops {
        let mut ttl = None;
        let directives = &mut op.node.directives;
        for d in directives.iter() {
            if d.node.name.node.as_str() != "cached" {
                continue;
            }
            let arg = d
                .node
                .get_argument("ttl")
                .map(|v| v.node.clone().into_const());
            ttl =
                Some(match arg {
                    Some(Some(GqlValue::Number(n))) if n.as_u64().is_some() => {
                        Duration::from_secs(n.as_u64().unwrap_or(0))
                    }
                    _ => return Err(
                        "@cached needs `ttl:` as a literal non-negative integer number of seconds"
                            .to_owned(),
                    ),
                });
        }
        directives.retain(|d| d.node.name.node.as_str() != "cached");
        let is_selected = match operation_name {
            Some(wanted) => name.as_deref() == Some(wanted),
            None => single,
        };
        if is_selected {
            selected = ttl;
        }
    }
    Ok(selected)
}

/// Whether an operation of the document selects `__schema` or `__type` on the root type:
/// directly, or through inline fragments and fragment spreads nested to any depth (the only
/// ways a root field can be selected).
pub(crate) fn selects_introspection(doc: &ExecutableDocument) -> bool {
    fn walk<'a>(
        set: &'a SelectionSet,
        doc: &'a ExecutableDocument,
        seen: &mut HashSet<&'a str>,
    ) -> bool {
        set.items.iter().any(|s| match &s.node {
            Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(i) => walk(&i.node.selection_set.node, doc, seen),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                seen.insert(name.as_str())
                    && doc
                        .fragments
                        .get(name)
                        .is_some_and(|f| walk(&f.node.selection_set.node, doc, seen))
            }
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| walk(&op.node.selection_set.node, doc, &mut HashSet::new()))
}

pub(crate) fn operation_type(
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> Option<OperationType> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(n)) => ops.get(n).map(|o| o.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|o| o.node.ty)
        }
        _ => None,
    }
}

/// Writes a value with object keys sorted, so equal variables give equal bytes.
/// An object's entries in key order, whatever order they came in.
fn canonical_object<'a>(entries: impl Iterator<Item = (&'a str, &'a GqlValue)>, out: &mut Vec<u8>) {
    let sorted: BTreeMap<&str, &GqlValue> = entries.collect();
    out.push(b'{');
    for (k, v) in sorted {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        canonical(v, out);
    }
    out.push(b'}');
}

fn canonical(v: &GqlValue, out: &mut Vec<u8>) {
    match v {
        GqlValue::Object(map) => canonical_object(map.iter().map(|(k, v)| (k.as_str(), v)), out),
        GqlValue::List(items) => {
            out.push(b'[');
            for item in items {
                canonical(item, out);
            }
            out.push(b']');
        }
        other => {
            let text = other.to_string();
            out.extend_from_slice(&(text.len() as u32).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_type_ttls_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("off"), Ok(Duration::ZERO));
        assert!(parse_duration("5 parsecs").is_err());
        let t = CachePolicy::parse_type_ttls("Person=30s, Issue=0").expect("parses");
        assert_eq!(t["Person"], Duration::from_secs(30));
        assert_eq!(t["Issue"], Duration::ZERO);
        assert!(CachePolicy::parse_type_ttls("Person").is_err());
    }

    #[test]
    fn cached_directive_is_read_and_removed() {
        let mut doc = async_graphql::parser::parse_query(
            "query A @cached(ttl: 30) { people { name } } query B { people { name } }",
        )
        .expect("parses");
        assert_eq!(
            strip_cached(&mut doc, Some("A")),
            Ok(Some(Duration::from_secs(30)))
        );
        let mut doc = async_graphql::parser::parse_query(
            "query A @cached(ttl: 30) { people { name } } query B { people { name } }",
        )
        .expect("parses");
        assert_eq!(strip_cached(&mut doc, Some("B")), Ok(None));
        let DocumentOperations::Multiple(ops) = &doc.operations else {
            panic!("two operations")
        };
        assert!(ops.values().all(|o| o.node.directives.is_empty()));
        let mut bad =
            async_graphql::parser::parse_query("query @cached(ttl: -1) { people { name } }")
                .expect("parses");
        assert!(strip_cached(&mut bad, None).is_err());
    }

    #[test]
    fn introspection_is_found_however_it_is_nested() {
        let introspects = |q: &str| {
            selects_introspection(&async_graphql::parser::parse_query(q).expect("parses"))
        };
        assert!(introspects("{ __schema { queryType { name } } }"));
        assert!(introspects(
            "{ people { name } __type(name: \"Person\") { name } }"
        ));
        assert!(introspects(
            "{ ... on Query { ... on Query { __schema { types { name } } } } }"
        ));
        assert!(introspects(
            "query { ...A } fragment A on Query { ... on Query { ...B } } fragment B on Query { __schema { types { name } } }"
        ));
        assert!(introspects(
            "query Data { people { name } } query Schema { __schema { types { name } } }"
        ));
        // Fragments that spread each other (invalid, refused later) do not loop.
        assert!(!introspects(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A people { name } }"
        ));
        // `__typename` and fields that merely look alike are data.
        assert!(!introspects("{ __typename people { __typename name } }"));
        assert!(!introspects(
            "{ people(where: { name: \"__schema\" }) { name } }"
        ));
    }

    #[test]
    fn variables_key_ignores_object_key_order() {
        let a: async_graphql::Variables =
            serde_json::from_str(r#"{"a": 1, "w": {"x": "1", "y": [1, 2]}}"#).expect("json");
        let b: async_graphql::Variables =
            serde_json::from_str(r#"{"w": {"y": [1, 2], "x": "1"}, "a": 1}"#).expect("json");
        let c: async_graphql::Variables =
            serde_json::from_str(r#"{"w": {"y": [2, 1], "x": "1"}, "a": 1}"#).expect("json");
        let bytes = |v: &async_graphql::Variables| {
            let mut out = Vec::new();
            canonical(&v.clone().into_value(), &mut out);
            out
        };
        assert_eq!(bytes(&a), bytes(&b));
        assert_ne!(bytes(&a), bytes(&c));
    }

    #[test]
    fn tags_name_their_labels() {
        assert_eq!(tag_label("l:Person"), Some("Person"));
        assert_eq!(tag_label("n:Person:id:a:b"), Some("Person"));
        assert_eq!(tag_label("r:WROTE"), None);
    }
}
