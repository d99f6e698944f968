//! Structured operations on the default ontology and on the differential suites' type
//! definitions (temporal types, `@default`, `@coalesce`, `@timestamp`, `@limit`…): root lists and
//! connections, filters with every operator on every textual and temporal property, sorts,
//! limits, nested relationships, variables and inline literals, and distance filters on every
//! spatial property. Whatever the values, none of them appears in the Cypher text. Every text
//! value the fuzzer chooses starts with `zqx`, which nothing else in a statement contains; every
//! coordinate and distance has a long fraction (`1142.857142…`) that nothing else contains.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use std::sync::OnceLock;

fn ontologies() -> &'static [ontology::Ontology; 3] {
    static O: OnceLock<[ontology::Ontology; 3]> = OnceLock::new();
    O.get_or_init(|| {
        let suites = [
            include_str!("../../tests/differential/suites/temporal/typedefs.graphql"),
            include_str!("../../tests/differential/suites/defaults/typedefs.graphql"),
            include_str!("../../tests/differential/suites/timestamps/typedefs.graphql"),
            include_str!("../../tests/differential/suites/configuration/typedefs.graphql"),
            include_str!("../../tests/differential/suites/exposure/typedefs.graphql"),
            include_str!("../../tests/differential/suites/spatial/typedefs.graphql"),
            include_str!("../../tests/differential/suites/nested-operations/typedefs.graphql"),
        ]
        .join("\n");
        let abstract_types = [
            include_str!("../../tests/differential/suites/unions/typedefs.graphql"),
            include_str!("../../tests/differential/suites/relay-id/typedefs.graphql"),
            include_str!("../../tests/differential/suites/query-direction/typedefs.graphql"),
        ]
        .join("\n");
        [
            ontology::parse_ontology(include_str!("../../schema/ontology.graphql")).expect("valid"),
            ontology::parse_ontology(&suites).expect("the suites' type definitions, together"),
            ontology::parse_ontology(&abstract_types).expect("unions, relay ids, query direction"),
        ]
    })
}

#[derive(Arbitrary, Debug)]
struct Filter {
    property: u8,
    operator: u8,
    value: String,
    as_variable: bool,
    number: u32,
}

/// A number with a long fraction, from a fuzzer's choice, and the text that must not appear in
/// the Cypher (its first ten characters).
fn marker_number(seed: u32, salt: u32, markers: &mut Vec<String>) -> f64 {
    let x = 1000.0 + f64::from(seed.wrapping_add(salt) % 1_000_000) / 7.0 + 0.000_123_4;
    markers.push(format!("{x}").chars().take(10).collect());
    x
}

#[derive(Arbitrary, Debug)]
struct Input {
    vocabulary: u8,
    root: u8,
    connection: bool,
    filters: Vec<Filter>,
    limit: Option<u16>,
    sort: Option<(u8, bool)>,
    nested: Vec<(u8, Option<u16>, Vec<Filter>)>,
    alias: Option<String>,
}

const OPS: [&str; 7] = ["eq", "in", "contains", "startsWith", "endsWith", "lt", "gte"];

/// A GraphQL string literal.
fn literal(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn filters(
    n: &ontology::model::NodeType,
    fs: &[Filter],
    vars: &mut serde_json::Map<String, serde_json::Value>,
    decls: &mut Vec<String>,
    markers: &mut Vec<String>,
) -> String {
    let props: Vec<_> = n
        .properties()
        .filter(|p| {
            (p.scalar.is_textual()
                || p.scalar.temporal_function().is_some()
                || p.scalar.coordinates().is_some())
                && !p.list
        })
        .collect();
    if props.is_empty() || fs.is_empty() {
        return String::new();
    }
    let mut parts = Vec::new();
    for f in fs.iter().take(4) {
        let p = props[f.property as usize % props.len()];
        if let Some([x, y, _]) = p.scalar.coordinates() {
            let op = ["lt", "lte", "gt", "gte", "eq"][f.operator as usize % 5];
            let (a, b, d) = (
                marker_number(f.number, 1, markers),
                marker_number(f.number, 2, markers),
                marker_number(f.number, 3, markers),
            );
            let from = format!("{{ {x}: {a}, {y}: {b} }}");
            let rendered = if f.as_variable {
                let name = format!("v{}", vars.len());
                let input = p.scalar.input_name();
                vars.insert(name.clone(), serde_json::json!({ x: a, y: b }));
                decls.push(format!("${name}: {input}"));
                format!("${name}")
            } else {
                from
            };
            parts.push(format!("{}: {{ distance: {{ from: {rendered}, {op}: {d} }} }}", p.name));
            continue;
        }
        let op = OPS[f.operator as usize % OPS.len()];
        let value = format!("zqx{}", f.value);
        let rendered = if f.as_variable {
            let name = format!("v{}", vars.len());
            let scalar = p.scalar.graphql_name();
            let ty = if op == "in" { format!("[{scalar}!]") } else { scalar.to_owned() };
            let json = if op == "in" {
                serde_json::json!([value])
            } else {
                serde_json::json!(value)
            };
            vars.insert(name.clone(), json);
            decls.push(format!("${name}: {ty}"));
            format!("${name}")
        } else if op == "in" {
            format!("[{}]", literal(&value))
        } else {
            literal(&value)
        };
        parts.push(format!("{}: {{ {op}: {rendered} }}", p.name));
    }
    format!("where: {{ {} }}", parts.join(", "))
}

fuzz_target!(|input: Input| {
    let o = &ontologies()[usize::from(input.vocabulary % 3)];
    let nodes: Vec<_> = o.nodes.values().collect();
    let n = nodes[input.root as usize % nodes.len()];
    let mut vars = serde_json::Map::new();
    let mut decls = Vec::new();
    let mut args = Vec::new();
    let mut markers = Vec::new();
    let w = filters(n, &input.filters, &mut vars, &mut decls, &mut markers);
    if !w.is_empty() {
        args.push(w);
    }
    if let Some(l) = input.limit {
        args.push(format!("{}: {}", if input.connection { "first" } else { "limit" }, l % 200));
    }
    if let Some((i, asc)) = input.sort {
        let props: Vec<_> = n.properties().filter(|p| !p.list).collect();
        if !props.is_empty() {
            let p = props[i as usize % props.len()];
            let dir = if asc { "ASC" } else { "DESC" };
            args.push(format!("sort: [{{ {}: {dir} }}]", p.name));
        }
    }
    let mut selection = String::from("__typename");
    for p in n.properties().take(3) {
        let _ = write!(selection, " {}", p.name);
    }
    let rels: Vec<_> = n.relationships().collect();
    for (i, limit, fs) in input.nested.iter().take(3) {
        if rels.is_empty() {
            break;
        }
        let r = rels[*i as usize % rels.len()];
        let Some(target) = o.node(&r.target) else { continue };
        let mut rargs = Vec::new();
        let w = filters(target, fs, &mut vars, &mut decls, &mut markers);
        if !w.is_empty() {
            rargs.push(w);
        }
        if let (Some(l), true) = (limit, r.list) {
            rargs.push(format!("limit: {}", l % 100));
        }
        let first = target.properties().next().map(|p| p.name.clone()).unwrap_or_default();
        let rargs = if rargs.is_empty() { String::new() } else { format!("({})", rargs.join(", ")) };
        let _ = write!(selection, " {}{rargs} {{ {first} }}", r.name);
    }
    let alias = input
        .alias
        .as_deref()
        .filter(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric()) && a.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .map(|a| format!("{a}: "))
        .unwrap_or_default();
    let field = if input.connection {
        format!("{}Connection", n.plural)
    } else {
        n.plural.clone()
    };
    let body = if input.connection {
        format!("{{ totalCount edges {{ node {{ {selection} }} }} }}")
    } else {
        format!("{{ {selection} }}")
    };
    let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
    let decls = if decls.is_empty() { String::new() } else { format!("({})", decls.join(", ")) };
    let text = format!("query Q{decls} {{ {alias}{field}{args} {body} }}");
    let Ok(doc) = async_graphql_parser::parse_query(&text) else { return };
    let variables = async_graphql_value::Variables::from_json(serde_json::Value::Object(vars));
    let Ok(Some(op)) = ontology::ir::from_document(&doc, None, &variables) else { return };
    let Ok(compiled) = ontology::compile::compile(o, &op, &Default::default()) else { return };
    assert!(
        !compiled.cypher.contains("zqx"),
        "a value reached the Cypher text:\n{text}\n{}",
        compiled.cypher
    );
    for m in &markers {
        assert!(
            !compiled.cypher.contains(m.as_str()),
            "the number {m}… reached the Cypher text:\n{text}\n{}",
            compiled.cypher
        );
    }
});
