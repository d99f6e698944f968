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
    let compile = |apply: bool| -> Result<CompiledOperation, String> {
        let options = RewriteOptions {
            apply,
            ..engine.rewrite
        };
        match &store {
            Some(stats) => compile_with(&engine.ontology, &op, &engine.options, &**stats, options),
            None => compile_with(&engine.ontology, &op, &engine.options, &NoStats, options),
        }
        .map_err(|e| e.to_string())
    };
    let rewritten = compile(true)?;
    let plain = compile(false)?;
    let mut out = json!({
        "supernodeStore": store.is_some(),
        // Supernode rules anchor on a lookup by a key: where each key comes from.
        "keys": engine.ontology.keys().into_iter().map(|(node, property, source)| {
            json!({ "type": node, "property": property, "source": source })
        }).collect::<Vec<_>>(),
        "rewritten": rewritten.decisions.iter().any(|d| d.applied),
        "decisions": rewritten.decisions,
        "plain": { "cypher": plain.cypher, "params": plain.params },
        "rewrittenCypher": { "cypher": rewritten.cypher, "params": rewritten.params },
    });
    if request.measure {
        if op.kind != ontology::ir::OperationKind::Query {
            return Err("only queries are measured (a mutation would write twice)".to_owned());
        }
        let runs = request.runs.unwrap_or(5).clamp(1, 50);
        let time = |c: &CompiledOperation| {
            let st = Statement {
                cypher: c.cypher.clone(),
                params: c.params.clone(),
                timeout: Some(engine.timeout),
            };
            async move {
                let mut ms = Vec::with_capacity(runs);
                for _ in 0..runs {
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
                    ms.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                ms.sort_by(f64::total_cmp);
                Ok::<f64, String>(ms[ms.len() / 2])
            }
        };
        let plain_ms = time(&plain).await?;
        let rewritten_ms = time(&rewritten).await?;
        out["measured"] = json!({
            "runs": runs,
            "plainMedianMs": plain_ms,
            "rewrittenMedianMs": rewritten_ms,
            "speedup": plain_ms / rewritten_ms.max(1e-6),
        });
    }
    Ok(out)
}
