//! Value conversion: JSON parameters to Bolt values, and Bolt result rows to JSON objects.
//!
//! Results are decoded straight from neo4rs's row representation with a serde visitor (neo4rs
//! 0.8 exposes rows only through serde), so every Bolt type is seen with its raw fields:
//!
//! | Bolt                 | JSON                                                                 |
//! |----------------------|----------------------------------------------------------------------|
//! | null, bool, string   | the same                                                             |
//! | integer              | integer                                                              |
//! | float                | number (NaN and ±infinity, which JSON cannot carry, become `null`)   |
//! | list, map            | array, object (map keys sorted, Bolt maps have no order)             |
//! | node, relationship   | object of its properties                                             |
//! | path                 | `{"nodes": [..], "relationships": [..]}` in traversal order          |
//! | bytes                | base64 string (standard alphabet, padded)                            |
//! | point                | `{"srid", "x", "y"[, "z"]}`                                          |
//! | DateTime (offset/zone)| `YYYY-MM-DDTHH:MM:SS.mmmZ`: UTC, milliseconds (like `@neo4j/graphql`)|
//! | LocalDateTime        | `YYYY-MM-DDTHH:MM:SS[.nnnnnnnnn]` (like the JS driver's `toString`)  |
//! | Date                 | `YYYY-MM-DD`                                                         |
//! | Time                 | `HH:MM:SS[.nnnnnnnnn]` + `Z` or `±HH:MM`                             |
//! | LocalTime            | `HH:MM:SS[.nnnnnnnnn]`                                               |
//! | Duration             | `P0M0DT<seconds>[.nnnnnnnnn]S` — see the note below                  |
//!
//! Duration: neo4rs 0.8 folds a row's Duration into `(seconds, nanoseconds)` before any caller
//! sees it (a month counts as 2 629 800 s, a day as 86 400 s), so months and days cannot be
//! recovered. The compiler never returns a raw duration: it returns the text the library returns
//! (`ontology::compile`'s `duration_text`).
//!
//! Small negative integers: neo4rs 0.8.0 decodes the one-byte Bolt integers -16..=-1 as
//! 240..=255; the workspace patches it (see `third_party/neo4rs/PATCHED.md`).
//!
//! DateTime with a zone id: Bolt 4.4 sends local wall-clock time plus the zone name; the instant
//! is resolved with the tz database (the earlier instant in a DST overlap).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use base64::Engine as _;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use neo4rs::{
    BoltBoolean, BoltDateTimeZoneId, BoltFloat, BoltInteger, BoltList, BoltMap, BoltNull,
    BoltString, BoltType, Row,
};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// Converts a JSON parameter map into the Bolt map sent with a statement.
///
/// JSON integers become Bolt integers (an unsigned value beyond `i64::MAX` is an error), other
/// numbers become floats; arrays become lists and objects become maps, recursively.
pub fn params_to_bolt(params: &Map<String, Value>) -> Result<BoltMap> {
    let mut map = BoltMap::with_capacity(params.len());
    for (key, value) in params {
        map.put(BoltString::from(key.as_str()), json_to_bolt(value, key)?);
    }
    Ok(map)
}

/// Converts one JSON value into a Bolt value; `path` names it in errors (e.g. `ids[3]`).
pub fn json_to_bolt(value: &Value, path: &str) -> Result<BoltType> {
    Ok(match value {
        Value::Null => BoltType::Null(BoltNull),
        Value::Bool(b) => BoltType::Boolean(BoltBoolean::new(*b)),
        Value::Number(n) => number_to_bolt(n, path)?,
        Value::String(s) => BoltType::String(BoltString::from(s.as_str())),
        Value::Array(items) => {
            let mut list = BoltList::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                list.push(json_to_bolt(item, &format!("{path}[{i}]"))?);
            }
            BoltType::List(list)
        }
        Value::Object(fields) => {
            let mut map = BoltMap::with_capacity(fields.len());
            for (key, item) in fields {
                map.put(
                    BoltString::from(key.as_str()),
                    json_to_bolt(item, &format!("{path}.{key}"))?,
                );
            }
            BoltType::Map(map)
        }
    })
}

fn number_to_bolt(n: &Number, path: &str) -> Result<BoltType> {
    if let Some(i) = n.as_i64() {
        return Ok(BoltType::Integer(BoltInteger::new(i)));
    }
    if n.is_u64() {
        return Err(Error::Parameter {
            path: path.to_owned(),
            reason: format!("integer {n} does not fit in a signed 64-bit Neo4j integer"),
        });
    }
    match n.as_f64() {
        Some(f) => Ok(BoltType::Float(BoltFloat::new(f))),
        None => Err(Error::Parameter {
            path: path.to_owned(),
            reason: format!("number {n} is not representable"),
        }),
    }
}

/// Converts one result row into a JSON object (column name → value, columns sorted by name:
/// neo4rs 0.8 does not keep the column order).
pub fn row_to_json(row: &Row) -> Result<Map<String, Value>> {
    let columns: BTreeMap<String, BoltJson> = row
        .to_strict()
        .map_err(|e| Error::Conversion(e.to_string()))?;
    Ok(columns.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// Converts a single Bolt value into JSON, following the table in the module docs.
pub fn bolt_to_json(value: &BoltType) -> Result<Value> {
    let fields = BoltList::from(vec![BoltType::from("value")]);
    let row = Row::new(fields, BoltList::from(vec![value.clone()]));
    let mut object = row_to_json(&row)?;
    Ok(object.remove("value").unwrap_or(Value::Null))
}

/// A JSON value decoded from a Bolt value.
struct BoltJson(Value);

impl<'de> Deserialize<'de> for BoltJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // neo4rs hands out the tagged Bolt value (kind + raw fields) only to a visitor that asks
        // for an enum named exactly like `BoltType`.
        deserializer
            .deserialize_enum(std::any::type_name::<BoltType>(), &[], KindVisitor)
            .map(BoltJson)
    }
}

/// The name of a Bolt kind, or of a field inside a structured value.
struct Ident(String);

impl<'de> Deserialize<'de> for Ident {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdentVisitor;
        impl Visitor<'_> for IdentVisitor {
            type Value = Ident;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ident, E> {
                Ok(Ident(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ident, E> {
                Ok(Ident(v.to_string()))
            }
        }
        deserializer.deserialize_identifier(IdentVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt value")
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess as _;
        let (Ident(kind), variant) = data.variant::<Ident>()?;
        match kind.as_str() {
            "null" | "string" | "boolean" | "integer" | "float" | "list" | "map" | "bytes" => {
                variant.tuple_variant(1, PlainVisitor)
            }
            "node" | "relation" | "unbounded_relation" => variant.tuple_variant(1, ElementVisitor),
            "path" => variant.tuple_variant(1, PathVisitor),
            "point2_d" | "point2d" => variant.tuple_variant(3, PointVisitor { dimensions: 2 }),
            "point3_d" | "point3d" => variant.tuple_variant(4, PointVisitor { dimensions: 3 }),
            "duration" => variant.tuple_variant(2, DurationVisitor),
            "date" | "time" | "local_time" | "date_time" | "local_date_time"
            | "date_time_zone_id" => variant.tuple_variant(1, TemporalVisitor { kind: &kind }),
            other => Err(de::Error::custom(format!(
                "unsupported Bolt type `{other}`"
            ))),
        }
    }
}

/// Scalars, lists, maps and bytes.
struct PlainVisitor;

impl<'de> Visitor<'de> for PlainVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt scalar, list or map")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(v),
        ))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(BoltJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((key, BoltJson(value))) = map.next_entry::<String, BoltJson>()? {
            entries.insert(key, value);
        }
        Ok(Value::Object(entries.into_iter().collect()))
    }
}

/// Nodes and relationships: only their properties.
struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt node or relationship")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut properties = Value::Object(Map::new());
        while let Some(Ident(key)) = map.next_key()? {
            if key == "properties" {
                properties = map.next_value_seed(PlainSeed)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(properties)
    }
}

/// Deserializes a plain map or list (used for element properties).
struct PlainSeed;

impl<'de> de::DeserializeSeed<'de> for PlainSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(PlainVisitor)
    }
}

/// Paths: nodes and relationships in traversal order.
struct PathVisitor;

impl<'de> Visitor<'de> for PathVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt path")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut nodes: Vec<Value> = Vec::new();
        let mut rels: Vec<Value> = Vec::new();
        let mut indices: Vec<i64> = Vec::new();
        while let Some(Ident(key)) = map.next_key()? {
            match key.as_str() {
                "nodes" => {
                    nodes = map
                        .next_value::<Vec<BoltJson>>()?
                        .into_iter()
                        .map(|v| v.0)
                        .collect()
                }
                "relationships" => {
                    rels = map
                        .next_value::<Vec<BoltJson>>()?
                        .into_iter()
                        .map(|v| v.0)
                        .collect()
                }
                "indices" => indices = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        path_in_order(nodes, rels, &indices).map_err(de::Error::custom)
    }
}

/// Orders a Bolt path: `indices` alternates a 1-based (signed for direction) relationship index
/// and a node index, starting from `nodes[0]`.
fn path_in_order(nodes: Vec<Value>, rels: Vec<Value>, indices: &[i64]) -> Result<Value, String> {
    let bad = || format!("malformed path indices {indices:?}");
    let mut seq_nodes = Vec::with_capacity(indices.len() / 2 + 1);
    let mut seq_rels = Vec::with_capacity(indices.len() / 2);
    if let Some(first) = nodes.first() {
        seq_nodes.push(first.clone());
    }
    for pair in indices.chunks(2) {
        let [rel, node] = pair else { return Err(bad()) };
        let rel_index = usize::try_from(rel.unsigned_abs()).map_err(|_| bad())?;
        let rel = rels.get(rel_index.wrapping_sub(1)).ok_or_else(bad)?;
        let node = usize::try_from(*node)
            .ok()
            .and_then(|i| nodes.get(i))
            .ok_or_else(bad)?;
        seq_rels.push(rel.clone());
        seq_nodes.push(node.clone());
    }
    let mut object = Map::new();
    object.insert("nodes".into(), Value::Array(seq_nodes));
    object.insert("relationships".into(), Value::Array(seq_rels));
    Ok(Value::Object(object))
}

struct PointVisitor {
    dimensions: usize,
}

impl<'de> Visitor<'de> for PointVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt point")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // neo4rs's point sequence never reports its end: read exactly the expected fields.
        let missing = || de::Error::custom("point with missing coordinates");
        let srid: i64 = seq.next_element()?.ok_or_else(missing)?;
        let mut object = Map::new();
        object.insert("srid".into(), Value::from(srid));
        for axis in ["x", "y", "z"].into_iter().take(self.dimensions) {
            let coordinate: f64 = seq.next_element()?.ok_or_else(missing)?;
            object.insert(
                axis.into(),
                Number::from_f64(coordinate).map_or(Value::Null, Value::Number),
            );
        }
        Ok(Value::Object(object))
    }
}

struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt duration")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let missing = || de::Error::custom("duration with missing fields");
        let seconds: i64 = seq.next_element()?.ok_or_else(missing)?;
        let nanos: i64 = seq.next_element()?.ok_or_else(missing)?;
        Ok(Value::String(format_duration(0, 0, seconds, nanos)))
    }
}

struct TemporalVisitor<'k> {
    kind: &'k str,
}

#[derive(Default)]
struct TemporalFields {
    seconds: Option<i64>,
    nanoseconds: Option<i64>,
    tz_offset_seconds: Option<i64>,
    days: Option<i64>,
    tz_id: Option<String>,
}

impl<'de> Visitor<'de> for TemporalVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bolt temporal value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = TemporalFields::default();
        while let Some(Ident(key)) = map.next_key()? {
            match key.as_str() {
                "seconds" => fields.seconds = Some(map.next_value()?),
                "nano_seconds" | "nanoseconds" => fields.nanoseconds = Some(map.next_value()?),
                "tz_offset_seconds" => fields.tz_offset_seconds = Some(map.next_value()?),
                "days" => fields.days = Some(map.next_value()?),
                "tz_info" | "tz_id" => fields.tz_id = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        temporal_to_string(self.kind, fields)
            .map(Value::String)
            .map_err(de::Error::custom)
    }
}

fn temporal_to_string(kind: &str, f: TemporalFields) -> Result<String, String> {
    let need = |v: Option<i64>, name: &str| v.ok_or_else(|| format!("{kind} without {name}"));
    match kind {
        "date" => format_date_from_days(need(f.days, "days")?),
        "local_time" => format_time_of_day(need(f.nanoseconds, "nanoseconds")?),
        "time" => {
            let time = format_time_of_day(need(f.nanoseconds, "nanoseconds")?)?;
            Ok(time + &format_offset(need(f.tz_offset_seconds, "offset")?))
        }
        "local_date_time" => {
            let local = naive(
                need(f.seconds, "seconds")?,
                need(f.nanoseconds, "nanoseconds")?,
            )?;
            Ok(format_local_date_time(&local))
        }
        "date_time" => {
            // Bolt 4.4 (no "utc" patch): seconds are local wall-clock seconds.
            let offset = need(f.tz_offset_seconds, "offset")?;
            let utc_seconds = need(f.seconds, "seconds")?
                .checked_sub(offset)
                .ok_or_else(|| "datetime out of range".to_owned())?;
            format_utc_millis(utc_seconds, need(f.nanoseconds, "nanoseconds")?)
        }
        "date_time_zone_id" => {
            let local = naive(
                need(f.seconds, "seconds")?,
                need(f.nanoseconds, "nanoseconds")?,
            )?;
            let zone = f.tz_id.ok_or_else(|| format!("{kind} without zone id"))?;
            let resolved = DateTime::<FixedOffset>::try_from(&BoltDateTimeZoneId::from((
                local,
                zone.as_str(),
            )));
            match resolved {
                Ok(dt) => format_utc_millis(dt.timestamp(), i64::from(dt.nanosecond())),
                // Unknown zone name: keep what Neo4j said, in the JS driver's notation.
                Err(_) => Ok(format!("{}[{zone}]", format_local_date_time(&local))),
            }
        }
        other => Err(format!("unsupported temporal type {other}")),
    }
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

fn nanos_u32(nanos: i64) -> Result<u32, String> {
    u32::try_from(nanos)
        .ok()
        .filter(|n| i64::from(*n) < NANOS_PER_SECOND)
        .ok_or_else(|| format!("nanoseconds {nanos} out of range"))
}

fn naive(seconds: i64, nanos: i64) -> Result<NaiveDateTime, String> {
    DateTime::from_timestamp(seconds, nanos_u32(nanos)?)
        .map(|dt| dt.naive_utc())
        .ok_or_else(|| format!("timestamp {seconds} out of range"))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly JavaScript's `Date.prototype.toISOString` (which is how
/// `@neo4j/graphql` renders a DateTime): UTC, milliseconds truncated, 6-digit signed years
/// outside 0..=9999.
pub fn format_utc_millis(utc_seconds: i64, nanos: i64) -> Result<String, String> {
    let dt = naive(utc_seconds, nanos)?;
    let year = dt.year();
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!(
            "{}{:06}",
            if year < 0 { '-' } else { '+' },
            year.unsigned_abs()
        )
    };
    Ok(format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() / 1_000_000
    ))
}

/// The JS driver's date notation: at least 4 year digits, `-` for negative years.
fn format_date(date: NaiveDate) -> String {
    let year = date.year();
    let sign = if year < 0 { "-" } else { "" };
    format!(
        "{sign}{:04}-{:02}-{:02}",
        year.unsigned_abs(),
        date.month(),
        date.day()
    )
}

fn format_date_from_days(days: i64) -> Result<String, String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("no epoch")?;
    let date = chrono::Duration::try_days(days)
        .and_then(|d| epoch.checked_add_signed(d))
        .ok_or_else(|| format!("date {days} days from epoch out of range"))?;
    Ok(format_date(date))
}

/// `HH:MM:SS` plus `.nnnnnnnnn` when the nanoseconds are not zero (JS driver notation).
fn format_hms_nanos(hour: u32, minute: u32, second: u32, nanos: u32) -> String {
    let mut s = format!("{hour:02}:{minute:02}:{second:02}");
    if nanos != 0 {
        let _ = write!(s, ".{nanos:09}");
    }
    s
}

fn format_time_of_day(nanos_of_day: i64) -> Result<String, String> {
    if !(0..86_400 * NANOS_PER_SECOND).contains(&nanos_of_day) {
        return Err(format!("time of day {nanos_of_day}ns out of range"));
    }
    let seconds = nanos_of_day / NANOS_PER_SECOND;
    let nanos = nanos_of_day % NANOS_PER_SECOND;
    // In range by the check above.
    let part = |v: i64| u32::try_from(v).unwrap_or_default();
    Ok(format_hms_nanos(
        part(seconds / 3600),
        part(seconds / 60 % 60),
        part(seconds % 60),
        part(nanos),
    ))
}

fn format_local_date_time(dt: &NaiveDateTime) -> String {
    format!(
        "{}T{}",
        format_date(dt.date()),
        format_hms_nanos(dt.hour(), dt.minute(), dt.second(), dt.nanosecond())
    )
}

/// `Z`, `±HH:MM` or `±HH:MM:SS` (JS driver notation).
fn format_offset(offset_seconds: i64) -> String {
    if offset_seconds == 0 {
        return "Z".to_owned();
    }
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let abs = offset_seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// The JS driver's duration notation `P<months>M<days>DT<seconds>[.<nanos>]S`.
pub fn format_duration(months: i64, days: i64, seconds: i64, nanos: i64) -> String {
    // Normalize so that 0 <= nanos < 1e9 (seconds absorb the rest).
    let seconds = seconds.saturating_add(nanos.div_euclid(NANOS_PER_SECOND));
    let nanos = nanos.rem_euclid(NANOS_PER_SECOND);
    let seconds_text = if seconds < 0 && nanos > 0 {
        // -1.25s is stored as (-2 s, 750_000_000 ns).
        if seconds == -1 {
            "-0".to_owned()
        } else {
            (seconds + 1).to_string()
        }
    } else {
        seconds.to_string()
    };
    let nanos_text = match (nanos, seconds < 0) {
        (0, _) => String::new(),
        (n, true) => format!(".{:09}", NANOS_PER_SECOND - n),
        (n, false) => format!(".{n:09}"),
    };
    format!("P{months}M{days}DT{seconds_text}{nanos_text}S")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeZone};
    use neo4rs::{
        BoltBytes, BoltDate, BoltDateTime, BoltDuration, BoltLocalDateTime, BoltLocalTime,
        BoltNode, BoltPath, BoltPoint2D, BoltPoint3D, BoltRelation, BoltTime,
        BoltUnboundedRelation,
    };
    use serde_json::json;

    fn to_json(value: BoltType) -> Value {
        bolt_to_json(&value).expect("conversion")
    }

    fn props(entries: &[(&str, BoltType)]) -> BoltMap {
        entries
            .iter()
            .map(|(k, v)| (BoltString::from(*k), v.clone()))
            .collect()
    }

    #[test]
    fn json_integers_become_bolt_integers_and_floats_stay_floats() {
        let params = json!({"i": 42, "neg": -7, "f": 1.5, "whole_float": 2.0, "max": i64::MAX});
        let bolt = params_to_bolt(params.as_object().expect("object")).expect("params");
        assert_eq!(bolt.value["i"], BoltType::Integer(BoltInteger::new(42)));
        assert_eq!(bolt.value["neg"], BoltType::Integer(BoltInteger::new(-7)));
        assert_eq!(bolt.value["f"], BoltType::Float(BoltFloat::new(1.5)));
        assert_eq!(
            bolt.value["whole_float"],
            BoltType::Float(BoltFloat::new(2.0))
        );
        assert_eq!(
            bolt.value["max"],
            BoltType::Integer(BoltInteger::new(i64::MAX))
        );
    }

    #[test]
    fn u64_beyond_i64_is_a_parameter_error_with_its_path() {
        let params = json!({"outer": {"ids": [1, u64::MAX]}});
        let error = params_to_bolt(params.as_object().expect("object")).expect_err("must fail");
        match error {
            Error::Parameter { path, .. } => assert_eq!(path, "outer.ids[1]"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn nested_params_convert_recursively() {
        let params = json!({"m": {"a": [true, null, "s", {"b": 1}]}});
        let bolt = params_to_bolt(params.as_object().expect("object")).expect("params");
        let inner = props(&[("b", BoltType::from(1_i64))]);
        let list = BoltList::from(vec![
            BoltType::from(true),
            BoltType::Null(BoltNull),
            BoltType::from("s"),
            BoltType::Map(inner),
        ]);
        let expected = BoltType::Map(props(&[("a", BoltType::List(list))]));
        assert_eq!(bolt.value["m"], expected);
    }

    #[test]
    fn params_round_trip_through_result_conversion() {
        let params = json!({"v": {"a": [1, 2.5, "x", null, false], "b": {"c": -3}}});
        let bolt = params_to_bolt(params.as_object().expect("object")).expect("params");
        assert_eq!(to_json(bolt.value["v"].clone()), params["v"]);
    }

    #[test]
    fn scalars() {
        assert_eq!(to_json(BoltType::Null(BoltNull)), Value::Null);
        assert_eq!(to_json(BoltType::from(true)), json!(true));
        assert_eq!(to_json(BoltType::from(i64::MIN)), json!(i64::MIN));
        assert!(to_json(BoltType::from(7_i64)).is_i64());
        assert_eq!(to_json(BoltType::from(0.25_f64)), json!(0.25));
        assert_eq!(to_json(BoltType::from(f64::NAN)), Value::Null);
        assert_eq!(to_json(BoltType::from("héllo")), json!("héllo"));
    }

    #[test]
    fn bytes_become_base64() {
        let bytes = BoltType::Bytes(BoltBytes::new(vec![0_u8, 1, 2, 250].into()));
        assert_eq!(to_json(bytes), json!("AAEC+g=="));
    }

    #[test]
    fn maps_sort_their_keys_and_nest() {
        let inner = BoltType::List(BoltList::from(vec![
            BoltType::from(1_i64),
            BoltType::Map(props(&[("z", BoltType::from("deep"))])),
        ]));
        let map = BoltType::Map(props(&[("b", inner), ("a", BoltType::Null(BoltNull))]));
        let value = to_json(map);
        assert_eq!(value, json!({"a": null, "b": [1, {"z": "deep"}]}));
        let keys: Vec<_> = value.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn nodes_and_relationships_become_their_properties() {
        let node = BoltNode::new(
            BoltInteger::new(1),
            BoltList::from(vec![BoltType::from("Person")]),
            props(&[
                ("name", BoltType::from("Ada")),
                (
                    "born",
                    BoltType::Date(NaiveDate::from_ymd_opt(1815, 12, 10).expect("date").into()),
                ),
            ]),
        );
        assert_eq!(
            to_json(BoltType::Node(node)),
            json!({"born": "1815-12-10", "name": "Ada"})
        );
        let rel = BoltRelation {
            id: BoltInteger::new(5),
            start_node_id: BoltInteger::new(1),
            end_node_id: BoltInteger::new(2),
            typ: BoltString::from("KNOWS"),
            properties: props(&[("since", BoltType::from(2020_i64))]),
        };
        assert_eq!(to_json(BoltType::Relation(rel)), json!({"since": 2020}));
    }

    #[test]
    fn paths_follow_their_indices() {
        let node = |id: i64, name: &str| {
            BoltType::Node(BoltNode::new(
                BoltInteger::new(id),
                BoltList::new(),
                props(&[("name", BoltType::from(name))]),
            ))
        };
        let rel = |id: i64| {
            BoltType::UnboundedRelation(BoltUnboundedRelation::new(
                BoltInteger::new(id),
                BoltString::from("R"),
                props(&[("id", BoltType::from(id))]),
            ))
        };
        // a -[r1]-> b <-[r2]- c
        let path = BoltPath {
            nodes: BoltList::from(vec![node(1, "a"), node(2, "b"), node(3, "c")]),
            rels: BoltList::from(vec![rel(10), rel(20)]),
            indices: BoltList::from(vec![
                BoltType::from(1_i64),
                BoltType::from(1_i64),
                BoltType::from(-2_i64),
                BoltType::from(2_i64),
            ]),
        };
        assert_eq!(
            to_json(BoltType::Path(path)),
            json!({
                "nodes": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                "relationships": [{"id": 10}, {"id": 20}]
            })
        );
    }

    #[test]
    fn paths_follow_backward_steps() {
        let node = |id: i64| {
            BoltType::Node(BoltNode::new(
                BoltInteger::new(id),
                BoltList::new(),
                props(&[("id", BoltType::from(id))]),
            ))
        };
        let rel = BoltType::UnboundedRelation(BoltUnboundedRelation::new(
            BoltInteger::new(7),
            BoltString::from("R"),
            BoltMap::new(),
        ));
        // b <-[r]- a: the relationship index -1 marks a backward step.
        let path = BoltPath {
            nodes: BoltList::from(vec![node(2), node(1)]),
            rels: BoltList::from(vec![rel]),
            indices: BoltList::from(vec![BoltType::from(-1_i64), BoltType::from(1_i64)]),
        };
        assert_eq!(
            to_json(BoltType::Path(path)),
            json!({"nodes": [{"id": 2}, {"id": 1}], "relationships": [{}]})
        );
    }

    #[test]
    fn points() {
        let p2 = BoltPoint2D {
            sr_id: BoltInteger::new(7203),
            x: BoltFloat::new(1.5),
            y: BoltFloat::new(-2.0),
        };
        assert_eq!(
            to_json(BoltType::Point2D(p2)),
            json!({"srid": 7203, "x": 1.5, "y": -2.0})
        );
        let p3 = BoltPoint3D {
            sr_id: BoltInteger::new(4979),
            x: BoltFloat::new(12.5),
            y: BoltFloat::new(55.5),
            z: BoltFloat::new(10.0),
        };
        assert_eq!(
            to_json(BoltType::Point3D(p3)),
            json!({"srid": 4979, "x": 12.5, "y": 55.5, "z": 10.0})
        );
    }

    #[test]
    fn datetime_with_offset_renders_like_neo4j_graphql() {
        let dt = FixedOffset::east_opt(2 * 3600)
            .expect("offset")
            .with_ymd_and_hms(2024, 5, 1, 10, 20, 30)
            .single()
            .expect("datetime")
            + chrono::Duration::milliseconds(500);
        let bolt = BoltType::DateTime(BoltDateTime::from(dt));
        assert_eq!(to_json(bolt), json!("2024-05-01T08:20:30.500Z"));
    }

    #[test]
    fn datetime_truncates_to_milliseconds_and_crosses_midnight_to_utc() {
        let dt = FixedOffset::west_opt(5 * 3600)
            .expect("offset")
            .with_ymd_and_hms(1999, 12, 31, 22, 0, 0)
            .single()
            .expect("datetime")
            + chrono::Duration::nanoseconds(123_999_999);
        let bolt = BoltType::DateTime(BoltDateTime::from(dt));
        assert_eq!(to_json(bolt), json!("2000-01-01T03:00:00.123Z"));
    }

    #[test]
    fn datetime_with_zone_id_resolves_the_zone() {
        let local = NaiveDate::from_ymd_opt(2024, 1, 15)
            .and_then(|d| d.and_hms_milli_opt(12, 0, 0, 250))
            .expect("local");
        let bolt = BoltType::DateTimeZoneId(BoltDateTimeZoneId::from((local, "Europe/Berlin")));
        assert_eq!(to_json(bolt), json!("2024-01-15T11:00:00.250Z"));
        let bolt = BoltType::DateTimeZoneId(BoltDateTimeZoneId::from((local, "Mars/Olympus")));
        assert_eq!(
            to_json(bolt),
            json!("2024-01-15T12:00:00.250000000[Mars/Olympus]")
        );
    }

    #[test]
    fn local_date_time_date_and_times() {
        let local = NaiveDate::from_ymd_opt(2024, 5, 1)
            .and_then(|d| d.and_hms_nano_opt(10, 20, 30, 123_456_789))
            .expect("local");
        assert_eq!(
            to_json(BoltType::LocalDateTime(BoltLocalDateTime::from(local))),
            json!("2024-05-01T10:20:30.123456789")
        );
        let whole = NaiveDate::from_ymd_opt(2024, 5, 1)
            .and_then(|d| d.and_hms_opt(10, 20, 30))
            .expect("local");
        assert_eq!(
            to_json(BoltType::LocalDateTime(BoltLocalDateTime::from(whole))),
            json!("2024-05-01T10:20:30")
        );
        let old = NaiveDate::from_ymd_opt(-44, 3, 15).expect("date");
        assert_eq!(
            to_json(BoltType::Date(BoltDate::from(old))),
            json!("-0044-03-15")
        );
        let time = NaiveTime::from_hms_milli_opt(10, 20, 30, 250).expect("time");
        let offset = FixedOffset::east_opt(2 * 3600).expect("offset");
        assert_eq!(
            to_json(BoltType::Time(BoltTime::from((time, offset)))),
            json!("10:20:30.250000000+02:00")
        );
        let utc = FixedOffset::east_opt(0).expect("offset");
        assert_eq!(
            to_json(BoltType::Time(BoltTime::from((time, utc)))),
            json!("10:20:30.250000000Z")
        );
        let odd = FixedOffset::west_opt(3 * 3600 + 30 * 60 + 15).expect("offset");
        assert_eq!(
            to_json(BoltType::Time(BoltTime::from((time, odd)))),
            json!("10:20:30.250000000-03:30:15")
        );
        let lt = NaiveTime::from_hms_opt(23, 59, 59).expect("time");
        assert_eq!(
            to_json(BoltType::LocalTime(BoltLocalTime::from(lt))),
            json!("23:59:59")
        );
    }

    #[test]
    fn durations_are_folded_into_seconds_by_neo4rs() {
        let d = BoltDuration::new(
            BoltInteger::new(0),
            BoltInteger::new(1),
            BoltInteger::new(3600),
            BoltInteger::new(5),
        );
        assert_eq!(
            to_json(BoltType::Duration(d)),
            json!("P0M0DT90000.000000005S")
        );
    }

    #[test]
    fn duration_notation_matches_the_js_driver() {
        assert_eq!(format_duration(14, 16, 43200, 0), "P14M16DT43200S");
        assert_eq!(format_duration(0, 0, 1, 500_000_000), "P0M0DT1.500000000S");
        assert_eq!(
            format_duration(0, 0, -2, 750_000_000),
            "P0M0DT-1.250000000S"
        );
        assert_eq!(
            format_duration(0, 0, -1, 500_000_000),
            "P0M0DT-0.500000000S"
        );
        assert_eq!(format_duration(0, 0, 0, -1), "P0M0DT-0.000000001S");
    }

    #[test]
    fn utc_millis_handles_extreme_years_like_javascript() {
        assert_eq!(
            format_utc_millis(0, 0).as_deref(),
            Ok("1970-01-01T00:00:00.000Z")
        );
        // 10000-01-01T00:00:00Z
        assert_eq!(
            format_utc_millis(253_402_300_800, 0).as_deref(),
            Ok("+010000-01-01T00:00:00.000Z")
        );
        assert_eq!(
            format_utc_millis(-62_198_755_200, 0).as_deref(),
            Ok("-000001-01-01T00:00:00.000Z")
        );
        assert!(format_utc_millis(0, NANOS_PER_SECOND).is_err());
    }

    #[test]
    fn rows_keep_every_column() {
        let fields = BoltList::from(vec![BoltType::from("b"), BoltType::from("a")]);
        let data = BoltList::from(vec![BoltType::from(2_i64), BoltType::from("x")]);
        let row = Row::new(fields, data);
        let object = row_to_json(&row).expect("row");
        assert_eq!(Value::Object(object), json!({"a": "x", "b": 2}));
    }
}
