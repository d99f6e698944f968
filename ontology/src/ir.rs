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
    /// The type condition of the fragment the field was selected in (`... on Movie { … }`);
    /// `None` outside fragments. Where the parent is abstract (a union or an interface) only the
    /// fields whose condition the concrete type meets apply: see [`applicable`].
    pub on: Option<String>,
}

impl FieldSel {
    pub fn new(name: &str) -> Self {
        FieldSel {
            name: name.to_string(),
            key: name.to_string(),
            args: Map::new(),
            selection: Vec::new(),
            pos: None,
            on: None,
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
    /// The caller's token payload, `$jwt` in `@cypher` statements (set by the gateway; empty
    /// without a token, as the library's `{}`).
    pub jwt: serde_json::Map<String, serde_json::Value>,
    /// Whether the caller authenticated (read rules with `requireAuthentication` need it).
    pub authenticated: bool,
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

impl Operation {
    /// The operation with the type conditions `keep` rejects dropped (their fields merged
    /// with the unconditioned ones of the same key): conditions that always hold where they
    /// appear need no checking downstream. Borrowed when there are none.
    pub fn settled(&self, keep: impl Fn(&str) -> bool + Copy) -> std::borrow::Cow<'_, Operation> {
        fn any_dropped(fields: &[FieldSel], keep: impl Fn(&str) -> bool + Copy) -> bool {
            fields.iter().any(|f| {
                f.on.as_deref().is_some_and(|on| !keep(on)) || any_dropped(&f.selection, keep)
            })
        }
        fn settle(fields: Vec<FieldSel>, keep: impl Fn(&str) -> bool + Copy) -> Vec<FieldSel> {
            let mut out: Vec<FieldSel> = Vec::with_capacity(fields.len());
            for mut f in fields {
                f.selection = settle(std::mem::take(&mut f.selection), keep);
                if f.on.as_deref().is_some_and(|on| !keep(on)) {
                    f.on = None;
                }
                merge_into(&mut out, f);
            }
            out
        }
        if !any_dropped(&self.fields, keep) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut op = self.clone();
        op.fields = settle(std::mem::take(&mut op.fields), keep);
        std::borrow::Cow::Owned(op)
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
    collect_fields(doc, &op.node.selection_set.node, &vars, None, &mut fields)?;
    if fields.iter().all(|f| f.name.starts_with("__")) {
        return Ok(None);
    }
    Ok(Some(Operation {
        kind,
        fields,
        roles: Default::default(),
        jwt: Default::default(),
        authenticated: false,
    }))
}

/// The fields of a selection set that apply to an object of the concrete type `concrete`, with
/// fields of the same response key merged: those selected outside fragments and those whose
/// fragment's type condition `meets` says the type meets (its own name, an interface it
/// implements, a union it belongs to). Borrowed when no field has a condition.
pub fn applicable<'s>(
    selection: &'s [FieldSel],
    meets: impl Fn(&str) -> bool,
) -> std::borrow::Cow<'s, [FieldSel]> {
    if selection.iter().all(|f| f.on.is_none()) {
        return std::borrow::Cow::Borrowed(selection);
    }
    let mut out: Vec<FieldSel> = Vec::with_capacity(selection.len());
    for f in selection {
        if f.on.as_deref().is_some_and(|on| !meets(on)) {
            continue;
        }
        let f = FieldSel {
            on: None,
            ..f.clone()
        };
        match out.iter_mut().find(|e| e.key == f.key) {
            Some(existing) => {
                for s in f.selection {
                    merge_into(&mut existing.selection, s);
                }
            }
            None => out.push(f),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn collect_fields(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    vars: &Variables,
    on: Option<&str>,
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
                collect_fields(doc, &f.selection_set.node, vars, None, &mut selection)?;
                // Fields with the same response key (and type condition) merge (validation
                // made them compatible).
                if let Some(existing) = out
                    .iter_mut()
                    .find(|e| e.key == key && e.on.as_deref() == on)
                {
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
                        on: on.map(str::to_owned),
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
                let cond = frag.node.type_condition.node.on.node.as_str();
                collect_fields(
                    doc,
                    &frag.node.selection_set.node,
                    vars,
                    Some(cond),
                    &mut inner,
                )?;
                for s in inner {
                    merge_into(out, s);
                }
            }
            Selection::InlineFragment(i) => {
                if skipped(&i.node.directives, vars) {
                    continue;
                }
                let mut inner = Vec::new();
                let cond = i
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| c.node.on.node.as_str())
                    .or(on);
                collect_fields(doc, &i.node.selection_set.node, vars, cond, &mut inner)?;
                for s in inner {
                    merge_into(out, s);
                }
            }
        }
    }
    Ok(())
}

fn merge_into(out: &mut Vec<FieldSel>, f: FieldSel) {
    if let Some(existing) = out.iter_mut().find(|e| e.key == f.key && e.on == f.on) {
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
