//! The fast response path: the operation's shaped data is checked against the generated
//! schema's output types and rendered in selection order, without running a resolver per field.
//!
//! Rendering gives up (`None`) whenever the data does not fit the types — a `null` where the
//! schema says non-null, a missing composite value, introspection — and the caller then falls
//! back to async-graphql's resolvers, which produce the errors and null propagation the GraphQL
//! specification requires. So the fast path changes speed, never answers.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use ontology::ir::{FieldSel, OperationKind};
use ontology::shape::TYPE_KEY;
use serde_json::{Map, Value};

/// Output field types of every object type in the generated SDL.
#[derive(Debug, Default)]
pub struct TypeIndex {
    fields: HashMap<String, HashMap<String, Type>>,
    composite: HashSet<String>,
    /// Unions and interfaces, with the object types that belong to them.
    possible: HashMap<String, HashSet<String>>,
}

impl TypeIndex {
    pub fn from_sdl(sdl: &str) -> Result<Self, String> {
        let doc = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut index = TypeIndex::default();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(t) = def else {
                continue;
            };
            let name = t.node.name.node.to_string();
            let fields = match t.node.kind {
                TypeKind::Object(o) => {
                    for i in &o.implements {
                        index
                            .possible
                            .entry(i.node.to_string())
                            .or_default()
                            .insert(name.clone());
                    }
                    o.fields
                }
                TypeKind::Interface(i) => {
                    index.possible.entry(name.clone()).or_default();
                    i.fields
                }
                TypeKind::Union(u) => {
                    let members = u.members.iter().map(|m| m.node.to_string()).collect();
                    index.possible.insert(name, members);
                    continue;
                }
                _ => continue,
            };
            index.composite.insert(name.clone());
            let by_name = fields
                .into_iter()
                .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                .collect();
            index.fields.insert(name, by_name);
        }
        Ok(index)
    }

    /// Renders the root fields of an operation from the shaped data, or `None` to fall back.
    pub fn render(
        &self,
        kind: OperationKind,
        fields: &[FieldSel],
        mut data: Map<String, Value>,
    ) -> Option<Value> {
        let root = match kind {
            OperationKind::Query => "Query",
            OperationKind::Mutation => "Mutation",
        };
        self.object(root, fields, &mut data)
    }

    fn object(
        &self,
        type_name: &str,
        selection: &[FieldSel],
        data: &mut Map<String, Value>,
    ) -> Option<Value> {
        let types = self.fields.get(type_name)?;
        let selection = ontology::ir::applicable(selection, |on| {
            on == type_name || self.possible.get(on).is_some_and(|m| m.contains(type_name))
        });
        let mut out = Map::with_capacity(selection.len());
        for f in selection.iter() {
            if f.name == "__typename" {
                out.insert(f.key.clone(), Value::String(type_name.to_string()));
                continue;
            }
            let ty = types.get(&f.name)?;
            let value = data.remove(&f.key).unwrap_or(Value::Null);
            out.insert(f.key.clone(), self.value(ty, &f.selection, value)?);
        }
        Some(Value::Object(out))
    }

    fn value(&self, ty: &Type, selection: &[FieldSel], value: Value) -> Option<Value> {
        if value.is_null() {
            return ty.nullable.then_some(Value::Null);
        }
        match &ty.base {
            BaseType::List(inner) => match value {
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| self.value(inner, selection, item))
                    .collect::<Option<Vec<_>>>()
                    .map(Value::Array),
                _ => None,
            },
            // A union or interface value names its object type.
            BaseType::Named(name) if self.possible.contains_key(name.as_str()) => match value {
                Value::Object(mut map) => {
                    let concrete = match map.remove(TYPE_KEY) {
                        Some(Value::String(t)) => t,
                        _ => return None,
                    };
                    if !self.possible[name.as_str()].contains(&concrete) {
                        return None;
                    }
                    self.object(&concrete, selection, &mut map)
                }
                _ => None,
            },
            BaseType::Named(name) if self.composite.contains(name.as_str()) => match value {
                Value::Object(mut map) => self.object(name, selection, &mut map),
                _ => None,
            },
            BaseType::Named(_) => Some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SDL: &str = "type Query { people(limit: Int): [Person!]! }\n\
                       type Person { name: String! nick: String friends: [Person!]! }";

    fn sel(name: &str, key: &str, sub: Vec<FieldSel>) -> FieldSel {
        let mut f = FieldSel::new(name);
        f.key = key.to_string();
        f.selection = sub;
        f
    }

    #[test]
    fn renders_in_selection_order_with_typename() {
        let index = TypeIndex::from_sdl(SDL).expect("sdl");
        let fields = vec![sel(
            "people",
            "people",
            vec![
                sel("nick", "nick", vec![]),
                sel("__typename", "__typename", vec![]),
                sel("name", "n", vec![]),
            ],
        )];
        let data = json!({ "people": [{ "n": "Ada", "nick": null }] });
        let Value::Object(data) = data else {
            unreachable!()
        };
        let out = index
            .render(OperationKind::Query, &fields, data)
            .expect("renders");
        assert_eq!(
            serde_json::to_string(&out).unwrap_or_default(),
            r#"{"people":[{"nick":null,"__typename":"Person","n":"Ada"}]}"#
        );
    }

    #[test]
    fn falls_back_on_null_in_non_null_field() {
        let index = TypeIndex::from_sdl(SDL).expect("sdl");
        let fields = vec![sel("people", "people", vec![sel("name", "name", vec![])])];
        let Value::Object(data) = json!({ "people": [{ "name": null }] }) else {
            unreachable!()
        };
        assert!(index.render(OperationKind::Query, &fields, data).is_none());
    }

    #[test]
    fn falls_back_on_introspection_fields() {
        let index = TypeIndex::from_sdl(SDL).expect("sdl");
        let fields = vec![sel("__schema", "__schema", vec![])];
        assert!(index
            .render(OperationKind::Query, &fields, Map::new())
            .is_none());
    }
}
