//! Keys and range indexes from the database: its uniqueness constraints and range indexes read
//! (`SHOW CONSTRAINTS`, `SHOW INDEXES`) and adopted into the served ontology
//! ([`ontology::served`]) at start, before each degree-store scan and on an interval, so a
//! constraint created or dropped while the service runs is used, or no longer used, as a key.

use std::sync::Arc;
use std::time::Duration;

use ontology::model::{DatabaseItem, DatabaseKeys};
use ontology::served::ServedOntology;

/// Reads the database's uniqueness constraints and range indexes on one node property each.
pub async fn read(neo4j: &graph::Router) -> Result<DatabaseKeys, graph::Error> {
    let items = |found: Vec<graph::SingleProperty>| -> Vec<DatabaseItem> {
        found
            .into_iter()
            .map(|k| DatabaseItem {
                name: k.name,
                label: k.label,
                property: k.property,
            })
            .collect()
    };
    Ok(DatabaseKeys {
        constraints: items(graph::uniqueness_constraints(neo4j).await?),
        range_indexes: items(graph::range_indexes(neo4j).await?),
    })
}

/// Reads what the database keeps now and adopts it, logging every key that appears or goes.
/// When the database cannot be read, what was adopted before stays in use (and the log says
/// so): a failed read never takes keys away. Returns whether the keys changed.
pub async fn adopt(served: &ServedOntology, neo4j: &graph::Router) -> bool {
    match read(neo4j).await {
        Ok(found) => {
            let changes = served.adopt(found);
            for (node, property, source) in &changes.added {
                tracing::info!(%node, %property, %source, "key adopted");
            }
            for (node, property, source) in &changes.removed {
                tracing::info!(%node, %property, %source, "key no longer in the database");
            }
            if !changes.is_empty() {
                metrics::counter!("ontograph_database_key_changes_total")
                    .increment((changes.added.len() + changes.removed.len()) as u64);
            }
            !changes.is_empty()
        }
        Err(error) => {
            tracing::warn!(
                %error,
                "cannot read the database's constraints and indexes: the keys in use stay as they are"
            );
            false
        }
    }
}

/// Re-reads the database's keys every `every` in the background (`Duration::ZERO`: never).
pub fn watch(served: Arc<ServedOntology>, neo4j: graph::Router, every: Duration) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            adopt(&served, &neo4j).await;
        }
    });
}
