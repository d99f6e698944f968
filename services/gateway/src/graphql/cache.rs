//! The result cache on the GraphQL read path (see the `cache` crate for the two levels).
//!
//! - **What is cached**: queries that succeed without errors, at the `eventual` and `session`
//!   consistency levels (a `strong` read always goes to the leader). Mutations are never cached.
//! - **Key**: SHA-256 over the normalized document ([`ontology::normalize`]), the operation name,
//!   the variables (keys sorted), the consistency level, the ontology version with the database
//!   keys it adopted, and the caller's authorization scope.
//! - **Policy** ([`CachePolicy`]): a default TTL, per-type TTLs (the shortest among the types a
//!   query reads wins; `0` turns caching off for queries reading the type), and per operation
//!   `query Q @cached(ttl: 30) { … }` (seconds; `0`: do not cache), which overrides both.
//! - **Hit path**: the document comes prepared from the memo of the document stage (parsed once
//!   per distinct text), the key is hashed, and the stored response bytes are returned as they
//!   are — no parsing, validation, resolvers or serialization.
//! - **Read-your-writes**: a session read that presents a bookmark is only served an entry read
//!   at that bookmark or later; older entries are recomputed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_graphql::Value as GqlValue;
use graph::bookmark::BookmarkPosition;
use graph::ConsistencyLevel;

use super::document::Prepared;

/// How long results live.
#[derive(Debug, Clone, Default)]
pub struct CachePolicy {
    /// TTL of results with no more specific setting; `None`: caching is off.
    pub default_ttl: Option<Duration>,
    /// TTL per node type name (`0`: do not cache queries reading it).
    pub type_ttls: HashMap<String, Duration>,
}

/// The result cache as the gateway uses it.
pub struct ResultCache {
    pub cache: cache::Cache,
    pub policy: CachePolicy,
    /// Node type name → main label, to apply per-type TTLs to tags.
    type_ttl_by_label: HashMap<String, Duration>,
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

    /// The cache key of a request, under the ontology it is compiled with: its version and the
    /// database keys it has adopted (results are tagged by keys; when they change, entries
    /// tagged by the old ones are no longer looked up).
    pub fn key(
        &self,
        ontology: &ontology::Ontology,
        prepared: &Prepared,
        variables: &async_graphql::Variables,
        level: ConsistencyLevel,
        scope: &str,
    ) -> String {
        let mut vars = Vec::with_capacity(64);
        canonical_object(variables.iter().map(|(k, v)| (k.as_str(), v)), &mut vars);
        cache::key(&[
            b"graphql-v1",
            ontology.version.as_bytes(),
            ontology.keys_digest.as_bytes(),
            scope.as_bytes(),
            level.as_str().as_bytes(),
            prepared.normalized().as_bytes(),
            prepared.operation_name().unwrap_or("").as_bytes(),
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
