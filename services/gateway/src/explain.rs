//! `explain`: for one GraphQL operation, the plain Cypher, the rewritten Cypher, the supernode
//! rules considered with their estimated costs and, when asked, both statements timed on the
//! live database (the admin API's `POST /admin/api/explain` and `ontograph explain`).

use std::time::Instant;

use graph::{AccessMode, Consistency, ConsistencyLevel, Statement};
use ontology::compile::{compile_with, CompiledOperation};
use ontology::rewrite::{NoStats, RewriteOptions};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::operation::Engine;

/// What to explain.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainRequest {
    pub query: String,
    #[serde(default)]
    pub variables: Option<Value>,
    #[serde(default)]
    pub operation_name: Option<String>,
    /// Run both statements (reads only) and report their median time.
    #[serde(default)]
    pub measure: bool,
    /// Runs per statement when measuring.
    #[serde(default)]
    pub runs: Option<usize>,
}

/// The explanation as JSON.
pub async fn explain(engine: &Engine, request: &ExplainRequest) -> Result<Value, String> {
    let doc = async_graphql::parser::parse_query(&request.query).map_err(|e| e.to_string())?;
    let variables =
        async_graphql::Variables::from_json(request.variables.clone().unwrap_or_else(|| json!({})));
    let op = ontology::ir::from_document(&doc, request.operation_name.as_deref(), &variables)
        .map_err(|e| e.to_string())?
        .ok_or("the operation selects only introspection fields")?;
    let store = engine.supernodes.as_ref().map(|s| s.current());
    let ontology = engine.ontology();
    let compile = |apply: bool| -> Result<CompiledOperation, String> {
        let options = RewriteOptions {
            apply,
            ..engine.rewrite
        };
        match &store {
            Some(stats) => compile_with(&ontology, &op, &engine.options, &**stats, options),
            None => compile_with(&ontology, &op, &engine.options, &NoStats, options),
        }
        .map_err(|e| e.to_string())
    };
    let rewritten = compile(true)?;
    let plain = compile(false)?;
    let mut out = json!({
        "supernodeStore": store.is_some(),
        // Supernode rules anchor on a lookup by a key: where each key comes from.
        "keys": ontology.keys().into_iter().map(|(node, property, source)| {
            json!({ "type": node, "property": property, "source": source })
        }).collect::<Vec<_>>(),
        "rewritten": rewritten.decisions.iter().any(|d| d.applied),
        "notConsidered": not_considered(engine, &ontology, &op, store.as_deref(), &rewritten),
        "decisions": rewritten.decisions,
        "plain": { "cypher": plain.cypher, "params": plain.params },
        "rewrittenCypher": { "cypher": rewritten.cypher, "params": rewritten.params },
    });
    if request.measure {
        if op.kind != ontology::ir::OperationKind::Query {
            return Err("only queries are measured (a mutation would write twice)".to_owned());
        }
        let runs = request.runs.unwrap_or(5).clamp(1, 50);
        let statement = |c: &CompiledOperation| Statement {
            cypher: c.cypher.clone(),
            params: c.params.clone(),
            timeout: Some(engine.timeout),
        };
        let time = |st: Statement| async move {
            let t = Instant::now();
            engine
                .neo4j
                .run(
                    &st,
                    AccessMode::Read,
                    &Consistency {
                        level: ConsistencyLevel::Eventual,
                        bookmark: None,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok::<f64, String>(t.elapsed().as_secs_f64() * 1000.0)
        };
        let same = plain.cypher == rewritten.cypher && plain.params == rewritten.params;
        let (mut plain_ms, mut rewritten_ms) = (Vec::new(), Vec::new());
        // A warm-up of each, then the two interleaved (the first alternating), so that caches
        // and the order of measurement favour neither; identical statements are run once and
        // measure equal.
        time(statement(&plain)).await?;
        if !same {
            time(statement(&rewritten)).await?;
        }
        for i in 0..runs {
            if same {
                plain_ms.push(time(statement(&plain)).await?);
                continue;
            }
            if i % 2 == 0 {
                plain_ms.push(time(statement(&plain)).await?);
                rewritten_ms.push(time(statement(&rewritten)).await?);
            } else {
                rewritten_ms.push(time(statement(&rewritten)).await?);
                plain_ms.push(time(statement(&plain)).await?);
            }
        }
        let median = |mut ms: Vec<f64>| {
            ms.sort_by(f64::total_cmp);
            ms[ms.len() / 2]
        };
        let plain_ms = median(plain_ms);
        let rewritten_ms = if same { plain_ms } else { median(rewritten_ms) };
        out["measured"] = json!({
            "runs": runs,
            "identicalStatements": same,
            "plainMedianMs": plain_ms,
            "rewrittenMedianMs": rewritten_ms,
            "speedup": plain_ms / rewritten_ms.max(1e-6),
        });
    }
    Ok(out)
}

/// Why no supernode rule was considered for a root field or one of its relationship fields
/// (the decisions list the ones that were, applied or not).
fn not_considered(
    engine: &Engine,
    ontology: &ontology::Ontology,
    op: &ontology::ir::Operation,
    store: Option<&crate::degree_store::Indexed>,
    compiled: &CompiledOperation,
) -> Vec<Value> {
    use ontology::rewrite::DegreeStats as _;
    let mut out = Vec::new();
    for f in &op.fields {
        let Some(n) = ontology.node_by_plural(&f.name).or_else(|| {
            f.name
                .strip_suffix("Connection")
                .and_then(|p| ontology.node_by_plural(p))
        }) else {
            continue;
        };
        let why = |field: String, reason: String| json!({ "field": field, "reason": reason });
        let Some(store) = store.filter(|_| engine.rewrite.apply) else {
            out.push(why(
                f.key.clone(),
                "supernode handling is off (ONTOGRAPH_SUPERNODES)".to_owned(),
            ));
            continue;
        };
        let Some((prop, value)) = ontology::deps::key_lookup(n, f.arg("where")) else {
            out.push(why(
                f.key.clone(),
                format!(
                    "the root `where` is not one key lookup (`{{key: {{eq: value}}}}` on a key of {}: {})",
                    n.name,
                    keys_of(n)
                ),
            ));
            continue;
        };
        for sub in &f.selection {
            let base = sub.name.strip_suffix("Connection").unwrap_or(&sub.name);
            let Some(r) = n.relationships().find(|r| r.name == base) else {
                continue;
            };
            let path = format!("{}.{}", f.key, sub.key);
            if compiled.decisions.iter().any(|d| d.field == path) {
                continue;
            }
            let reason = match store.degree(n.main_label(), prop, value, &r.rel_type, r.direction) {
                None => format!(
                    "{} {{{prop}: {value}}} is not a known hub for {} (below the supernode threshold, or not measured yet)",
                    n.main_label(),
                    r.rel_type
                ),
                Some(d) if d < engine.rewrite.min_degree => format!(
                    "its degree {d} is below the minimum of {}",
                    engine.rewrite.min_degree
                ),
                Some(_) => "no rule fits this selection (a count without a filter, a `where` on a key, or a sort on an indexed required property with a limit)".to_owned(),
            };
            out.push(why(path, reason));
        }
    }
    out
}

fn keys_of(n: &ontology::model::NodeType) -> String {
    let keys: Vec<String> = n
        .properties()
        .filter_map(|p| Some(format!("{} ({})", p.name, p.key_source()?)))
        .collect();
    if keys.is_empty() {
        "none — declare @unique, or create a uniqueness constraint in the database".to_owned()
    } else {
        keys.join(", ")
    }
}
