//! `ontograph seed`: loads the deterministic sample data of [`ontology::seed`] into Neo4j.
//!
//! Nodes are created type by type with `UNWIND $rows AS row CREATE (n:Label) SET …` in batches of
//! [`NODE_BATCH`] rows; their element ids are kept, in node-index order, to connect them with
//! `MATCH … WHERE elementId(a) = row.a` in batches of [`RELATIONSHIP_BATCH`] edges. Labels,
//! relationship types and property names come from the ontology (quoted with backticks), never
//! from data; values travel as parameters.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use graph::{AccessMode, Neo4jClient, Statement};
use ontology::model::{NodeType, Property};
use ontology::seed::{RelationshipSpec, SeedOptions, SeedPlan};
use ontology::Ontology;
use serde_json::{Map, Value};

/// Nodes created per statement.
const NODE_BATCH: usize = 5_000;
/// Relationships created per statement.
const RELATIONSHIP_BATCH: usize = 10_000;
/// Relationships, then nodes, deleted per statement by a reset.
const DELETE_RELATIONSHIP_BATCH: u64 = 50_000;
const DELETE_NODE_BATCH: u64 = 10_000;
/// Time limit of one statement.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(600);

/// What a seed run loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    /// Nodes created.
    pub nodes: u64,
    /// Relationships created.
    pub relationships: u64,
    /// Time spent creating them (not counting a reset).
    pub elapsed: Duration,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "seeded {} nodes and {} relationships in {secs:.2} s",
            thousands(self.nodes),
            thousands(self.relationships),
        )?;
        if secs > 0.0 {
            let rate = (self.nodes + self.relationships) as f64 / secs;
            write!(f, " ({} items/s)", thousands(rate.round() as u64))?;
        }
        Ok(())
    }
}

/// Loads sample data for `ontology` (see [`ontology::seed`]); with `reset`, deletes everything
/// in the database first.
pub async fn run_seed(
    ontology: &Ontology,
    client: &Neo4jClient,
    opts: &SeedOptions,
    reset: bool,
) -> anyhow::Result<SeedReport> {
    if reset {
        let reset_started = Instant::now();
        reset_graph(client).await?;
        tracing::info!(
            ms = reset_started.elapsed().as_millis() as u64,
            "reset done"
        );
    }
    let started = Instant::now();
    let plan = SeedPlan::new(ontology, *opts);
    tracing::info!(
        node_types = ontology.nodes.len(),
        relationship_types = plan.relationships().len(),
        scale = opts.scale,
        seed = opts.seed,
        "seeding"
    );

    let mut nodes = 0u64;
    let mut ids: HashMap<&str, ElementIds> = HashMap::with_capacity(ontology.nodes.len());
    for node in ontology.nodes.values() {
        let cypher = node_cypher(node);
        let mut store = ElementIds::default();
        for batch in plan.node_batches(node, NODE_BATCH) {
            let batch_started = Instant::now();
            let count = batch.rows.len();
            let rows: Vec<Value> = batch
                .rows
                .into_iter()
                .enumerate()
                .map(|(i, properties)| {
                    let mut row = Map::with_capacity(2);
                    row.insert("i".to_owned(), Value::from(i));
                    row.insert("p".to_owned(), Value::Object(properties));
                    Value::Object(row)
                })
                .collect();
            let statement = Statement::new(cypher.as_str())
                .param("rows", rows)
                .timeout(STATEMENT_TIMEOUT);
            let result = client
                .run(&statement, AccessMode::Write)
                .await
                .with_context(|| format!("cannot create {} nodes", node.name))?;
            // Place the returned ids by row number rather than trusting the result order.
            let mut batch_ids: Vec<Option<String>> = vec![None; count];
            for row in result.rows {
                let index = row.get("i").and_then(Value::as_u64);
                let id = row.get("id").and_then(Value::as_str);
                match (index, id) {
                    (Some(i), Some(id)) if (i as usize) < count => {
                        batch_ids[i as usize] = Some(id.to_owned());
                    }
                    _ => bail!("unexpected row creating {} nodes: {row:?}", node.name),
                }
            }
            for id in batch_ids {
                match id {
                    Some(id) => store.push(id),
                    None => bail!("Neo4j did not return every created {} node", node.name),
                }
            }
            nodes += count as u64;
            tracing::info!(
                node_type = %node.name,
                first = batch.first,
                rows = count,
                total = nodes,
                ms = batch_started.elapsed().as_millis() as u64,
                "created nodes"
            );
        }
        ids.insert(node.name.as_str(), store);
    }

    let mut relationships = 0u64;
    for spec in plan.relationships() {
        let (Some(start_ids), Some(end_ids)) =
            (ids.get(spec.start.as_str()), ids.get(spec.end.as_str()))
        else {
            bail!("no nodes were created for {} or {}", spec.start, spec.end);
        };
        let properties: &[Property] = spec
            .properties
            .as_deref()
            .and_then(|name| ontology.relationship_properties(name))
            .map(|t| t.properties.as_slice())
            .unwrap_or(&[]);
        let cypher = relationship_cypher(spec, properties);
        for batch in plan.relationship_batches(spec, RELATIONSHIP_BATCH) {
            let batch_started = Instant::now();
            let count = batch.rows.len() as u64;
            let mut rows = Vec::with_capacity(batch.rows.len());
            for edge in batch.rows {
                let (Some(a), Some(b)) = (start_ids.get(edge.start), end_ids.get(edge.end)) else {
                    bail!(
                        "{} edge {}→{} refers to a node that was not created",
                        spec.rel_type,
                        edge.start,
                        edge.end
                    );
                };
                let mut row = Map::with_capacity(3);
                row.insert("a".to_owned(), Value::String(a));
                row.insert("b".to_owned(), Value::String(b));
                if !properties.is_empty() {
                    row.insert("p".to_owned(), Value::Object(edge.properties));
                }
                rows.push(Value::Object(row));
            }
            let statement = Statement::new(cypher.as_str())
                .param("rows", rows)
                .timeout(STATEMENT_TIMEOUT);
            let result = client
                .run(&statement, AccessMode::Write)
                .await
                .with_context(|| {
                    format!(
                        "cannot create {} relationships from {} to {}",
                        spec.rel_type, spec.start, spec.end
                    )
                })?;
            let created = result
                .rows
                .first()
                .and_then(|row| row.get("created"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if created != count {
                bail!(
                    "created {created} of {count} {} relationships from {} to {}: some nodes were not found (deleted meanwhile?)",
                    spec.rel_type, spec.start, spec.end
                );
            }
            relationships += created;
            tracing::info!(
                rel_type = %spec.rel_type,
                start = %spec.start,
                end = %spec.end,
                rows = created,
                total = relationships,
                ms = batch_started.elapsed().as_millis() as u64,
                "created relationships"
            );
        }
    }

    let report = SeedReport {
        nodes,
        relationships,
        elapsed: started.elapsed(),
    };
    tracing::info!(%report, "seed done");
    Ok(report)
}

/// Deletes every relationship, then every node, a batch per transaction.
async fn reset_graph(client: &Neo4jClient) -> anyhow::Result<()> {
    let relationships = delete_all(
        client,
        &format!(
            "MATCH ()-[r]->() WITH r LIMIT {DELETE_RELATIONSHIP_BATCH} DELETE r RETURN count(*) AS deleted"
        ),
        "relationships",
    )
    .await?;
    let nodes = delete_all(
        client,
        &format!(
            "MATCH (n) WITH n LIMIT {DELETE_NODE_BATCH} DETACH DELETE n RETURN count(*) AS deleted"
        ),
        "nodes",
    )
    .await?;
    tracing::info!(nodes, relationships, "reset: deleted existing data");
    Ok(())
}

/// Runs a `… RETURN count(*) AS deleted` statement until it deletes nothing.
async fn delete_all(client: &Neo4jClient, cypher: &str, what: &str) -> anyhow::Result<u64> {
    let statement = Statement::new(cypher).timeout(STATEMENT_TIMEOUT);
    let mut total = 0u64;
    loop {
        let result = client
            .run(&statement, AccessMode::Write)
            .await
            .with_context(|| format!("cannot delete existing {what}"))?;
        let deleted = result
            .rows
            .first()
            .and_then(|row| row.get("deleted"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if deleted == 0 {
            return Ok(total);
        }
        total += deleted;
        tracing::info!(deleted, total, "reset: deleted {what}");
    }
}

/// `UNWIND $rows AS row CREATE (n:`A`:`B`) SET n.`x` = row.p.`x`, … RETURN row.i AS i, elementId(n) AS id`.
fn node_cypher(node: &NodeType) -> String {
    let labels: String = node
        .labels
        .iter()
        .map(|l| format!(":{}", quote(l)))
        .collect();
    let sets: Vec<String> = node.properties().map(|p| assignment("n", p)).collect();
    let set = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    format!("UNWIND $rows AS row CREATE (n{labels}){set} RETURN row.i AS i, elementId(n) AS id")
}

/// `UNWIND $rows AS row MATCH (a) … CREATE (a)-[r:`T`]->(b) SET r.`x` = row.p.`x` RETURN count(r) AS created`.
fn relationship_cypher(spec: &RelationshipSpec, properties: &[Property]) -> String {
    let sets: Vec<String> = properties.iter().map(|p| assignment("r", p)).collect();
    let set = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    format!(
        "UNWIND $rows AS row \
         MATCH (a) WHERE elementId(a) = row.a \
         MATCH (b) WHERE elementId(b) = row.b \
         CREATE (a)-[r:{}]->(b){set} RETURN count(r) AS created",
        quote(&spec.rel_type)
    )
}

/// `v.`db` = <row.p.`db` converted to the property's Neo4j type>`.
fn assignment(var: &str, p: &Property) -> String {
    let name = quote(&p.db_name);
    let value = format!("row.p.{name}");
    let typed = if p.list {
        p.scalar.cypher_list(&value)
    } else {
        p.scalar.cypher_value(&value)
    };
    format!("{var}.{name} = {typed}")
}

/// A backtick-quoted Cypher name.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// 1234567 → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // A comma goes before every digit with a multiple of three digits after it.
    let phase = digits.len() % 3;
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == phase {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Element ids of one node type in node-index order. Neo4j 5 ids look like
/// `4:<database uuid>:<number>`: they are kept as one shared prefix and numbers while they all
/// fit that shape (a few bytes per node instead of ~60), as plain strings otherwise.
#[derive(Debug)]
enum ElementIds {
    Compact { prefix: String, numbers: Vec<u64> },
    Plain(Vec<String>),
}

impl Default for ElementIds {
    fn default() -> Self {
        ElementIds::Compact {
            prefix: String::new(),
            numbers: Vec::new(),
        }
    }
}

impl ElementIds {
    fn push(&mut self, id: String) {
        match self {
            ElementIds::Compact { prefix, numbers } => {
                if let Some((p, n)) = split_element_id(&id) {
                    if numbers.is_empty() {
                        p.clone_into(prefix);
                    }
                    if p == prefix.as_str() {
                        numbers.push(n);
                        return;
                    }
                }
                let mut plain: Vec<String> =
                    numbers.iter().map(|n| format!("{prefix}{n}")).collect();
                plain.push(id);
                *self = ElementIds::Plain(plain);
            }
            ElementIds::Plain(ids) => ids.push(id),
        }
    }

    fn get(&self, index: u64) -> Option<String> {
        let index = usize::try_from(index).ok()?;
        match self {
            ElementIds::Compact { prefix, numbers } => {
                numbers.get(index).map(|n| format!("{prefix}{n}"))
            }
            ElementIds::Plain(ids) => ids.get(index).cloned(),
        }
    }
}

/// `4:abc:123` → (`4:abc:`, 123) when the number round-trips exactly.
fn split_element_id(id: &str) -> Option<(&str, u64)> {
    let cut = id.rfind(':')? + 1;
    let (prefix, digits) = id.split_at(cut);
    let n: u64 = digits.parse().ok()?;
    (n.to_string() == digits).then_some((prefix, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_ids_round_trip() {
        let mut ids = ElementIds::default();
        ids.push("4:db:10".to_owned());
        ids.push("4:db:7".to_owned());
        assert!(matches!(ids, ElementIds::Compact { .. }));
        assert_eq!(ids.get(1).as_deref(), Some("4:db:7"));
        ids.push("4:db:007".to_owned());
        ids.push("odd".to_owned());
        assert!(matches!(ids, ElementIds::Plain(_)));
        assert_eq!(ids.get(0).as_deref(), Some("4:db:10"));
        assert_eq!(ids.get(2).as_deref(), Some("4:db:007"));
        assert_eq!(ids.get(3).as_deref(), Some("odd"));
        assert_eq!(ids.get(4), None);
    }

    #[test]
    fn report_reads_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(123_456), "123,456");
        let report = SeedReport {
            nodes: 1_500,
            relationships: 1_234_567,
            elapsed: Duration::from_millis(2_500),
        };
        assert_eq!(
            report.to_string(),
            "seeded 1,500 nodes and 1,234,567 relationships in 2.50 s (494,427 items/s)"
        );
    }

    #[test]
    fn cypher_converts_types_and_quotes_names() {
        let source = r#"
            type Weight @relationshipProperties { at: DateTime }
            type A @node(labels: ["A", "Thing"]) {
              when: DateTime
              big: [BigInt!]
              name: String @alias(property: "full_name")
              bs: [A!]! @relationship(type: "LINKS", direction: OUT, properties: "Weight")
            }
        "#;
        let o = ontology::parse_ontology(source).expect("valid");
        let node = &o.nodes["A"];
        assert_eq!(
            node_cypher(node),
            "UNWIND $rows AS row CREATE (n:`A`:`Thing`) SET n.`when` = datetime(row.p.`when`), \
             n.`big` = [x IN row.p.`big` | toInteger(x)], n.`full_name` = row.p.`full_name` \
             RETURN row.i AS i, elementId(n) AS id"
        );
        let plan = SeedPlan::new(&o, SeedOptions::default());
        let spec = &plan.relationships()[0];
        let props = &o.relationship_properties["Weight"].properties;
        assert!(relationship_cypher(spec, props).ends_with(
            "CREATE (a)-[r:`LINKS`]->(b) SET r.`at` = datetime(row.p.`at`) RETURN count(r) AS created"
        ));
    }
}
