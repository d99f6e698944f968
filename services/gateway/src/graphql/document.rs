//! The document stage: a request's text parsed once, whatever else is configured. Parsed
//! documents are remembered per (text, operation name), so a repeated operation is not parsed
//! again; the `@cached` directive is read and removed here (the executor does not know it), and
//! what the later stages ask of a document — its operation type, whether it introspects — is
//! computed once with it.

use std::collections::HashSet;
use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::Value as GqlValue;
use axum::http::StatusCode;

use crate::respond::Refusal;

/// A document parsed once per distinct text.
pub struct Prepared {
    text: String,
    operation_name: Option<String>,
    /// The document with `@cached` removed.
    pub doc: ExecutableDocument,
    /// The selected operation's type (`None` when the name selects nothing).
    pub kind: Option<OperationType>,
    /// `@cached(ttl:)` on the operation.
    pub ttl: Option<Duration>,
    /// Whether it selects `__schema` or `__type` (see [`selects_introspection`]).
    pub introspects: bool,
    /// SHA-256 of the normalized text (computed when the result cache first asks).
    normalized: OnceLock<String>,
}

impl Prepared {
    /// The operation name the request gave.
    pub fn operation_name(&self) -> Option<&str> {
        self.operation_name.as_deref()
    }

    /// The request's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the normalized text: equal for texts that differ only in whitespace, commas
    /// and comments.
    pub fn normalized(&self) -> &str {
        self.normalized
            .get_or_init(|| cache::key(&[ontology::normalize::normalize(&self.text).as_bytes()]))
    }
}

/// The memo of prepared documents.
pub struct Documents {
    prepared: moka::sync::Cache<u64, Arc<Prepared>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for Documents {
    fn default() -> Self {
        Documents {
            prepared: moka::sync::Cache::builder()
                .weigher(|_, p: &Arc<Prepared>| {
                    u32::try_from(p.text.len() * 4 + 256).unwrap_or(u32::MAX)
                })
                .max_capacity(32 * 1024 * 1024)
                .build(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl Documents {
    /// The prepared document for this text and operation name (parsed on first sight). A text
    /// that does not parse is a GraphQL request error; a malformed `@cached` a 400.
    pub fn prepare(
        &self,
        text: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, Refusal> {
        let mut h = self.hasher.build_hasher();
        text.hash(&mut h);
        operation_name.hash(&mut h);
        let id = h.finish();
        if let Some(p) = self.prepared.get(&id) {
            if p.text == text && p.operation_name.as_deref() == operation_name {
                return Ok(p);
            }
        }
        let mut doc = async_graphql::parser::parse_query(text).map_err(|e| {
            metrics::counter!("ontograph_graphql_requests_total", "type" => "unknown", "outcome" => "parse_error").increment(1);
            Refusal::request_errors(vec![e.into()])
        })?;
        let ttl = strip_cached(&mut doc, operation_name)
            .map_err(|msg| Refusal::new(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", msg))?;
        let kind = operation_type(&doc, operation_name);
        let introspects = selects_introspection(&doc);
        let prepared = Arc::new(Prepared {
            text: text.to_owned(),
            operation_name: operation_name.map(str::to_owned),
            doc,
            kind,
            ttl,
            introspects,
            normalized: OnceLock::new(),
        });
        self.prepared.insert(id, prepared.clone());
        Ok(prepared)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
