//! Builds the executable GraphQL schema (async-graphql's dynamic schema) from the API SDL that
//! the ontology crate generates. Resolvers never touch Neo4j: the whole operation has already
//! been compiled to one Cypher statement and run (see [`crate::operation`]); root fields take
//! their value from the operation's result and nested fields read their parent's JSON.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::dynamic::{
    Enum, Field, FieldFuture, FieldValue, InputObject, InputValue, Interface, InterfaceField,
    Object, ResolverContext, Scalar, Schema, SchemaBuilder, TypeRef, Union,
};
use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Error, Value};

use crate::operation::OperationSlot;

/// The set of object/interface type names: their values are JSON maps, resolved field by field.
/// The object and interface types (values resolved field by field from a JSON object), and the
/// abstract ones (unions, interfaces: a value names its object type under
/// [`ontology::shape::TYPE_KEY`]).
#[derive(Debug, Default)]
struct Composite(HashSet<String>, HashSet<String>);

/// Why the generated SDL could not be turned into a schema (a bug, not a user error).
#[derive(Debug, thiserror::Error)]
pub enum SchemaBuildError {
    #[error("generated SDL does not parse: {0}")]
    Parse(String),
    #[error("schema assembly failed: {0}")]
    Finish(String),
}

/// Limits enforced on every operation.
#[derive(Debug, Clone)]
pub struct SchemaLimits {
    /// Deepest selection nesting of data fields; checked on the query IR so introspection (which
    /// GraphQL IDEs nest 13 levels deep) is not refused.
    pub max_depth: usize,
    /// Largest number of selected fields, checked during validation.
    pub max_complexity: usize,
}

/// A backstop on raw nesting, introspection included, far above what any IDE sends.
const VALIDATION_DEPTH_BACKSTOP: usize = 64;

/// Builds a schema builder from SDL; the caller adds data and extensions, then finishes it.
pub fn schema_from_sdl(
    sdl: &str,
    limits: &SchemaLimits,
) -> Result<SchemaBuilder, SchemaBuildError> {
    let doc = async_graphql::parser::parse_schema(sdl)
        .map_err(|e| SchemaBuildError::Parse(e.to_string()))?;
    let mut composite = Composite::default();
    for def in &doc.definitions {
        if let TypeSystemDefinition::Type(t) = def {
            if matches!(t.node.kind, TypeKind::Object(_) | TypeKind::Interface(_)) {
                composite.0.insert(t.node.name.node.to_string());
            }
            if matches!(t.node.kind, TypeKind::Union(_) | TypeKind::Interface(_)) {
                composite.1.insert(t.node.name.node.to_string());
            }
        }
    }
    let composite = Arc::new(composite);
    let has_mutation = doc.definitions.iter().any(
        |d| matches!(d, TypeSystemDefinition::Type(t) if t.node.name.node.as_str() == "Mutation"),
    );
    let mut builder = Schema::build("Query", has_mutation.then_some("Mutation"), None)
        .limit_depth(VALIDATION_DEPTH_BACKSTOP.max(limits.max_depth))
        .limit_complexity(limits.max_complexity);
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = t.node;
        let name = t.name.node.to_string();
        let description = t.description.map(|d| d.node);
        match t.kind {
            TypeKind::Object(o) => {
                let root = name == "Query" || name == "Mutation";
                let mut obj = Object::new(&name);
                if let Some(d) = &description {
                    obj = obj.description(d);
                }
                for i in &o.implements {
                    obj = obj.implement(i.node.as_str());
                }
                for f in o.fields {
                    let f = f.node;
                    let fname = f.name.node.to_string();
                    let ty = f.ty.node.clone();
                    let comp = composite.clone();
                    let mut field = if root {
                        Field::new(&fname, type_ref(&f.ty.node), move |ctx| {
                            let ty = ty.clone();
                            let comp = comp.clone();
                            FieldFuture::new(async move { resolve_root(&ctx, &ty, &comp) })
                        })
                    } else {
                        Field::new(&fname, type_ref(&f.ty.node), move |ctx| {
                            FieldFuture::Value(resolve_nested(&ctx, &ty, &comp))
                        })
                    };
                    if let Some(d) = f.description {
                        field = field.description(d.node);
                    }
                    for a in f.arguments {
                        field = field.argument(argument(a.node));
                    }
                    obj = obj.field(field);
                }
                builder = builder.register(obj);
            }
            TypeKind::Interface(i) => {
                let mut iface = Interface::new(&name);
                if let Some(d) = &description {
                    iface = iface.description(d);
                }
                for f in i.fields {
                    let mut field = InterfaceField::new(
                        f.node.name.node.to_string(),
                        type_ref(&f.node.ty.node),
                    );
                    if let Some(d) = f.node.description {
                        field = field.description(d.node);
                    }
                    for a in f.node.arguments {
                        field = field.argument(argument(a.node));
                    }
                    iface = iface.field(field);
                }
                builder = builder.register(iface);
            }
            TypeKind::InputObject(io) => {
                let mut input = InputObject::new(&name);
                if let Some(d) = &description {
                    input = input.description(d);
                }
                for f in io.fields {
                    let mut v =
                        InputValue::new(f.node.name.node.to_string(), type_ref(&f.node.ty.node));
                    if let Some(d) = f.node.description {
                        v = v.description(d.node);
                    }
                    // `@default`: the field may be left out (GraphQL's input default).
                    if let Some(d) = f.node.default_value {
                        v = v.default_value(d.node);
                    }
                    input = input.field(v);
                }
                builder = builder.register(input);
            }
            TypeKind::Enum(e) => {
                let mut en = Enum::new(&name);
                if let Some(d) = &description {
                    en = en.description(d);
                }
                for v in e.values {
                    en = en.item(v.node.value.node.to_string());
                }
                builder = builder.register(en);
            }
            TypeKind::Scalar => {
                let mut s = Scalar::new(&name);
                if name == "DateTime" {
                    s = s.validator(|v| matches!(v, Value::String(s) if looks_like_datetime(s)));
                }
                if let Some(d) = &description {
                    s = s.description(d);
                }
                builder = builder.register(s);
            }
            TypeKind::Union(u) => {
                let mut union = Union::new(&name);
                if let Some(d) = &description {
                    union = union.description(d);
                }
                for m in &u.members {
                    union = union.possible_type(m.node.as_str());
                }
                builder = builder.register(union);
            }
        }
    }
    Ok(builder)
}

/// Accepts ISO-8601 dates and date-times such as `2024-05-01`, `2024-05-01T10:20:30Z` or
/// `…+02:00`; Neo4j's
/// `datetime()` does the exact parsing.
fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b.len() == 10 || b[10] == b'T' || b[10] == b't')
}

/// A field argument as declared in the SDL (with its default value).
fn argument(a: InputValueDefinition) -> InputValue {
    let mut v = InputValue::new(a.name.node.to_string(), type_ref(&a.ty.node));
    if let Some(d) = a.default_value {
        v = v.default_value(d.node);
    }
    v
}

fn type_ref(ty: &Type) -> TypeRef {
    let base = match &ty.base {
        BaseType::Named(n) => TypeRef::named(n.to_string()),
        BaseType::List(inner) => TypeRef::List(Box::new(type_ref(inner))),
    };
    if ty.nullable {
        base
    } else {
        TypeRef::NonNull(Box::new(base))
    }
}

fn response_key<'a>(ctx: &'a ResolverContext<'a>) -> &'a str {
    let f = ctx.ctx.field();
    f.alias().unwrap_or_else(|| f.name())
}

fn resolve_root(
    ctx: &ResolverContext<'_>,
    ty: &Type,
    comp: &Composite,
) -> Result<Option<FieldValue<'static>>, Error> {
    let slot = ctx.ctx.data::<Arc<OperationSlot>>()?;
    let value = slot.take_root(response_key(ctx)).ok_or_else(|| {
        Error::new("internal error: the operation produced no value for this field")
    })?;
    Ok(to_field_value(value, ty, comp))
}

fn resolve_nested(
    ctx: &ResolverContext<'_>,
    ty: &Type,
    comp: &Composite,
) -> Option<FieldValue<'static>> {
    let parent = ctx.parent_value.downcast_ref::<serde_json::Value>()?;
    let value = parent
        .get(response_key(ctx))
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    to_field_value(value, ty, comp)
}

fn to_field_value(
    value: serde_json::Value,
    ty: &Type,
    comp: &Composite,
) -> Option<FieldValue<'static>> {
    if value.is_null() {
        return None;
    }
    match &ty.base {
        BaseType::List(inner) => match value {
            serde_json::Value::Array(items) => {
                Some(FieldValue::list(items.into_iter().map(|i| {
                    to_field_value(i, inner, comp).unwrap_or(FieldValue::NULL)
                })))
            }
            other => to_field_value(other, inner, comp).map(|v| FieldValue::list([v])),
        },
        BaseType::Named(n) if comp.1.contains(n.as_str()) => {
            let concrete = value.get(ontology::shape::TYPE_KEY)?.as_str()?.to_owned();
            Some(FieldValue::owned_any(value).with_type(concrete))
        }
        BaseType::Named(n) if comp.0.contains(n.as_str()) => Some(FieldValue::owned_any(value)),
        BaseType::Named(_) => Value::from_json(value).ok().map(FieldValue::value),
    }
}
