//! Shaping Neo4j's single result row into the GraphQL `data` object: connections come back as
//! raw rows and counts and are turned into `edges` (with cursors), `pageInfo`, `totalCount` and
//! `aggregate` here, following @neo4j/graphql's offset cursors (`arrayconnection:N`, base64).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::ir::FieldSel;

/// The key under which a value of a union (or interface) carries its concrete type's name;
/// not a GraphQL name, so no response key can collide with it.
pub const TYPE_KEY: &str = "#type";

/// What post-processing a projected value needs.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Already in its final form.
    Plain,
    /// A map (or each map of a list) whose listed keys need shaping.
    Object(Vec<(String, Shape)>),
    /// A connection value `{rows, total, nodes, agg}`.
    Connection(Box<ConnectionShape>),
    /// A `@relayId` field's value, returned as the node's global id (`<prefix><value>`,
    /// base64, as graphql-relay makes them; `prefix` is `Type:field:`).
    GlobalId(String),
}

#[derive(Debug, Clone)]
pub struct ConnectionShape {
    /// The connection field as selected (for its sub-selection and aliases).
    pub field: FieldSel,
    /// The offset of the first row (from `after`).
    pub offset: u64,
    /// The page size; one more row than this was fetched to learn `hasNextPage`.
    pub first: Option<u64>,
    /// Whether a page cut at `first` says `hasNextPage`: as in the library, only when the
    /// operation gave `first` (a page cut by `@limit` says `false`); also when Ontograph's own
    /// default limit cut it (which `extensions.truncated` reports too).
    pub reports_next: bool,
    /// Shapes of `node` selections inside `edges`, by response key.
    pub node_shapes: Vec<(String, Shape)>,
}

/// One root field of an operation: its response key, the result column it comes back in, and
/// the shaping its value needs.
#[derive(Debug, Clone)]
pub struct RootField {
    pub key: String,
    pub column: String,
    pub shape: Shape,
    /// The default page size this root list or connection got because the operation gave
    /// none: a list was fetched with one more row, to tell whether the default cut it.
    pub default_limit: Option<u64>,
}

/// A root list or connection that the default page size cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    /// The root field's response key.
    pub field: String,
    /// The page size it got.
    pub limit: u64,
}

/// The GraphQL `data` object, and the root fields the default page size cut.
#[derive(Debug, Clone, Default)]
pub struct Shaped {
    pub data: Map<String, Value>,
    pub truncated: Vec<Truncated>,
}

/// The opaque cursor for a position.
pub fn offset_to_cursor(offset: u64) -> String {
    STANDARD.encode(format!("arrayconnection:{offset}"))
}

/// A global id's type name, field name and value (`None`: not a global id).
pub fn from_global_id(id: &str) -> Option<(String, String, String)> {
    let text = String::from_utf8(STANDARD.decode(id).ok()?).ok()?;
    let mut parts = text.splitn(3, ':');
    Some((
        parts.next()?.to_owned(),
        parts.next()?.to_owned(),
        parts.next()?.to_owned(),
    ))
}

/// The position a cursor stands for, if it is one of ours.
pub fn cursor_to_offset(cursor: &str) -> Option<u64> {
    let bytes = STANDARD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("arrayconnection:")?.parse().ok()
}

/// Builds the GraphQL `data` object from the statement's row, and notes the root fields the
/// default page size cut (a list's extra row is dropped here).
pub fn shape_row(roots: &[RootField], mut row: Map<String, Value>) -> Shaped {
    let mut shaped = Shaped::default();
    for root in roots {
        let mut v = row.remove(&root.column).unwrap_or(Value::Null);
        if let Some(limit) = root.default_limit {
            if cut_by_default(&root.shape, &mut v, limit) {
                shaped.truncated.push(Truncated {
                    field: root.key.clone(),
                    limit,
                });
            }
        }
        shaped.data.insert(root.key.clone(), apply(&root.shape, v));
    }
    shaped
}

/// Whether a root value fetched under the default page size holds more than it: a list (fetched
/// with one extra row, dropped here) or a connection's rows (fetched with one extra row for
/// `hasNextPage`).
fn cut_by_default(shape: &Shape, v: &mut Value, limit: u64) -> bool {
    let rows = match (shape, v) {
        (Shape::Connection(_), Value::Object(c)) => match c.get("rows") {
            Some(Value::Array(rows)) => return rows.len() as u64 > limit,
            _ => return false,
        },
        (_, Value::Array(items)) => items,
        _ => return false,
    };
    let cut = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    cut
}

fn apply(shape: &Shape, v: Value) -> Value {
    match (shape, v) {
        (Shape::Plain, v) => v,
        (Shape::GlobalId(_), Value::Null) => Value::Null,
        (Shape::GlobalId(prefix), v) => {
            let id = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            Value::String(STANDARD.encode(format!("{prefix}{id}")))
        }
        (_, Value::Array(items)) => {
            Value::Array(items.into_iter().map(|i| apply(shape, i)).collect())
        }
        (Shape::Object(children), Value::Object(mut m)) => {
            for (k, s) in children {
                if let Some(x) = m.get_mut(k) {
                    *x = apply(s, x.take());
                }
            }
            Value::Object(m)
        }
        (Shape::Connection(c), Value::Object(m)) => connection(c, m),
        (_, v) => v,
    }
}

fn connection(c: &ConnectionShape, mut raw: Map<String, Value>) -> Value {
    let mut rows = match raw.remove("rows") {
        Some(Value::Array(rows)) => rows,
        _ => Vec::new(),
    };
    let total = raw.remove("total").unwrap_or(Value::Null);
    let nodes = raw.remove("nodes").unwrap_or(Value::Null);
    let mut aggregates = match raw.remove("agg") {
        Some(Value::Object(a)) => a,
        _ => Map::new(),
    };
    let has_next = match c.first {
        Some(first) if rows.len() as u64 > first => {
            rows.truncate(first as usize);
            c.reports_next
        }
        _ => false,
    };
    let len = rows.len() as u64;
    let mut out = Map::new();
    for sel in &c.field.selection {
        let value = match sel.name.as_str() {
            "edges" => Value::Array(
                rows.iter()
                    .enumerate()
                    .map(|(i, row)| edge(c, &sel.selection, row, c.offset + i as u64))
                    .collect(),
            ),
            "totalCount" => total.clone(),
            "pageInfo" => {
                let mut p = Map::new();
                for s in &sel.selection {
                    let v = match s.name.as_str() {
                        "hasNextPage" => Value::Bool(has_next),
                        "hasPreviousPage" => Value::Bool(c.offset > 0),
                        "startCursor" if len > 0 => Value::String(offset_to_cursor(c.offset)),
                        "endCursor" if len > 0 => {
                            Value::String(offset_to_cursor(c.offset + len - 1))
                        }
                        _ => Value::Null,
                    };
                    p.insert(s.key.clone(), v);
                }
                Value::Object(p)
            }
            "aggregate" => {
                let mut a = Map::new();
                // The `node` and `edge` parts come computed, under the aggregate's key.
                let mut parts = match aggregates.remove(&sel.key) {
                    Some(Value::Object(p)) => p,
                    _ => Map::new(),
                };
                for s in &sel.selection {
                    if s.name == "node" || s.name == "edge" {
                        let part = parts.remove(&s.key).unwrap_or(Value::Null);
                        a.insert(s.key.clone(), part);
                    }
                    if s.name == "count" {
                        let mut count = Map::new();
                        for cs in &s.selection {
                            let v = match cs.name.as_str() {
                                // Root connections count nodes only; relationship connections
                                // count distinct nodes and edges.
                                "nodes" if !nodes.is_null() => nodes.clone(),
                                "nodes" | "edges" => total.clone(),
                                _ => Value::Null,
                            };
                            count.insert(cs.key.clone(), v);
                        }
                        a.insert(s.key.clone(), Value::Object(count));
                    }
                }
                Value::Object(a)
            }
            _ => continue,
        };
        out.insert(sel.key.clone(), value);
    }
    Value::Object(out)
}

fn edge(c: &ConnectionShape, selection: &[FieldSel], row: &Value, position: u64) -> Value {
    let mut e = Map::new();
    for s in selection {
        match s.name.as_str() {
            "cursor" => {
                e.insert(s.key.clone(), Value::String(offset_to_cursor(position)));
            }
            // `score`: a search field's edge (see `crate::search`).
            "node" | "properties" | "score" => {
                let v = row.get(&s.key).cloned().unwrap_or(Value::Null);
                let v = match c.node_shapes.iter().find(|(k, _)| *k == s.key) {
                    Some((_, shape)) if s.name == "node" => apply(shape, v),
                    _ => v,
                };
                e.insert(s.key.clone(), v);
            }
            _ => {}
        }
    }
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_match_relay_offsets() {
        assert_eq!(offset_to_cursor(0), "YXJyYXljb25uZWN0aW9uOjA=");
        assert_eq!(cursor_to_offset(&offset_to_cursor(41)), Some(41));
        assert_eq!(cursor_to_offset("not a cursor"), None);
    }
}
