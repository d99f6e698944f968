//! The query IR: a GraphQL operation after validation, with fragments flattened, variables
//! substituted and `@skip`/`@include` applied. The gateway builds it; the compiler consumes it.

use async_graphql_parser::types::{
    Directive, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql_parser::Positioned;
use async_graphql_value::{ConstValue, Name, Variables};
use serde_json::{Map, Value};

/// Why a document could not be turned into IR.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct IrError(pub String);

/// Whether an operation reads (served by replicas) or writes (served by the leader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
}

/// One selected field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSel {
    /// The schema field name.
    pub name: String,
    /// The response key: the alias if there is one, else the name.
    pub key: String,
    /// Argument values, variables substituted, enums as strings.
    pub args: Map<String, Value>,
    /// Sub-selections (empty for leaves).
    pub selection: Vec<FieldSel>,
    /// Where the field is in the document: (line, column), both from 1.
    pub pos: Option<(usize, usize)>,
}

impl FieldSel {
    pub fn new(name: &str) -> Self {
        FieldSel {
            name: name.to_string(),
            key: name.to_string(),
            args: Map::new(),
            selection: Vec::new(),
            pos: None,
        }
    }

    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args.get(name).filter(|v| !v.is_null())
    }
}

/// A whole operation: its kind and root fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OperationKind,
    pub fields: Vec<FieldSel>,
    /// The caller's roles, for the ontology's read rules (set by the gateway; empty: none).
    pub roles: std::collections::BTreeSet<String>,
}

impl Operation {
    /// The deepest nesting of selections (a root field with only leaves has depth 1).
    /// Introspection fields (`__schema`, `__type`) do not count: they never reach Neo4j.
    pub fn depth(&self) -> usize {
        fn depth(fields: &[FieldSel]) -> usize {
            fields
                .iter()
                .filter(|f| !f.name.starts_with("__"))
                .map(|f| 1 + depth(&f.selection))
                .max()
                .unwrap_or(0)
        }
        depth(&self.fields)
    }
}

/// Builds the query IR of the selected operation; `None` when it only asks for introspection.
pub fn from_document(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<Option<Operation>, IrError> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get(name)
            .ok_or_else(|| IrError(format!("unknown operation `{name}`")))?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .values()
            .next()
            .ok_or_else(|| IrError("no operation".into()))?,
        (DocumentOperations::Multiple(_), None) => {
            return Err(IrError("operation name required".into()))
        }
    };
    let kind = match op.node.ty {
        OperationType::Query => OperationKind::Query,
        OperationType::Mutation => OperationKind::Mutation,
        OperationType::Subscription => {
            return Err(IrError("subscriptions are not supported".into()))
        }
    };
    // Variables the request left out take their declared defaults.
    let mut vars = variables.clone();
    for def in &op.node.variable_definitions {
        let name = &def.node.name.node;
        if !vars.contains_key(name) {
            if let Some(default) = &def.node.default_value {
                vars.insert(name.clone(), default.node.clone());
            }
        }
    }
    let mut fields = Vec::new();
    collect_fields(doc, &op.node.selection_set.node, &vars, &mut fields)?;
    if fields.iter().all(|f| f.name.starts_with("__")) {
        return Ok(None);
    }
    Ok(Some(Operation {
        kind,
        fields,
        roles: Default::default(),
    }))
}

fn collect_fields(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    vars: &Variables,
    out: &mut Vec<FieldSel>,
) -> Result<(), IrError> {
    for item in &set.items {
        match &item.node {
            Selection::Field(positioned) => {
                let pos = (positioned.pos.line, positioned.pos.column);
                let f = &positioned.node;
                if skipped(&f.directives, vars) {
                    continue;
                }
                let name = f.name.node.to_string();
                let key = f
                    .alias
                    .as_ref()
                    .map(|a| a.node.to_string())
                    .unwrap_or_else(|| name.clone());
                let mut args = Map::new();
                for (arg, value) in &f.arguments {
                    let v = value
                        .node
                        .clone()
                        .into_const_with(|var| {
                            Ok::<_, IrError>(vars.get(&var).cloned().unwrap_or(ConstValue::Null))
                        })?
                        .into_json()
                        .map_err(|e| IrError(format!("argument `{}`: {e}", arg.node)))?;
                    args.insert(arg.node.to_string(), v);
                }
                let mut selection = Vec::new();
                collect_fields(doc, &f.selection_set.node, vars, &mut selection)?;
                // Fields with the same response key merge (validation made them compatible).
                if let Some(existing) = out.iter_mut().find(|e| e.key == key) {
                    for s in selection {
                        merge_into(&mut existing.selection, s);
                    }
                } else {
                    out.push(FieldSel {
                        name,
                        key,
                        args,
                        selection,
                        pos: Some(pos),
                    });
                }
            }
            Selection::FragmentSpread(s) => {
                if skipped(&s.node.directives, vars) {
                    continue;
                }
                let frag = doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .ok_or_else(|| {
                        IrError(format!("unknown fragment `{}`", s.node.fragment_name.node))
                    })?;
                let mut inner = Vec::new();
                collect_fields(doc, &frag.node.selection_set.node, vars, &mut inner)?;
                for s in inner {
                    merge_into(out, s);
                }
            }
            Selection::InlineFragment(i) => {
                if skipped(&i.node.directives, vars) {
                    continue;
                }
                let mut inner = Vec::new();
                collect_fields(doc, &i.node.selection_set.node, vars, &mut inner)?;
                for s in inner {
                    merge_into(out, s);
                }
            }
        }
    }
    Ok(())
}

fn merge_into(out: &mut Vec<FieldSel>, f: FieldSel) {
    if let Some(existing) = out.iter_mut().find(|e| e.key == f.key) {
        for s in f.selection {
            merge_into(&mut existing.selection, s);
        }
    } else {
        out.push(f);
    }
}

/// `@skip(if: true)` or `@include(if: false)`.
fn skipped(directives: &[Positioned<Directive>], vars: &Variables) -> bool {
    directives.iter().any(|d| {
        let cond = d.node.get_argument("if").and_then(|v| {
            v.node
                .clone()
                .into_const_with(|var: Name| {
                    Ok::<_, ()>(vars.get(&var).cloned().unwrap_or(ConstValue::Null))
                })
                .ok()
        });
        matches!(
            (d.node.name.node.as_str(), cond),
            ("skip", Some(ConstValue::Boolean(true)))
                | ("include", Some(ConstValue::Boolean(false)))
        )
    })
}
