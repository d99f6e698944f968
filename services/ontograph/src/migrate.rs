//! `ontograph migrate`: the constraints and indexes an ontology asks for, applied on the leader.

use graph::{MigrationOptions, MigrationReport};
use ontology::Ontology;

pub use gateway::admin::indexes::desired_items;

pub async fn run(
    o: &Ontology,
    client: &graph::Neo4jClient,
    dry_run: bool,
    drop: bool,
) -> anyhow::Result<MigrationReport> {
    let options = MigrationOptions {
        dry_run,
        drop,
        ..MigrationOptions::default()
    };
    Ok(graph::migrate(client, &desired_items(o), &options).await?)
}

/// The report as printed by `ontograph migrate`.
pub fn render(r: &MigrationReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run { "would create" } else { "created" };
    for i in &r.created {
        out.push_str(&format!("{verb}: {i}\n"));
    }
    for kept in &r.kept {
        match r.kept_as.iter().find(|(desired, _)| desired == kept) {
            Some((_, existing)) => out.push_str(&format!(
                "kept: {existing} (existing; it is what {kept} asks for)\n"
            )),
            None => out.push_str(&format!("kept: {kept}\n")),
        }
    }
    for (label, items) in [
        ("covered by an existing item", &r.covered),
        ("conflicting (left as is)", &r.conflicting),
        ("dropped", &r.dropped),
    ] {
        for i in items {
            out.push_str(&format!("{label}: {i}\n"));
        }
    }
    for i in &r.would_drop {
        if !r.dropped.contains(i) {
            out.push_str(&format!("would drop (run with --drop): {i}\n"));
        }
    }
    out.push_str(&format!(
        "{} {verb}, {} kept, {} would drop{}\n",
        r.created.len(),
        r.kept.len(),
        r.would_drop.len().saturating_sub(r.dropped.len()),
        if r.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    ));
    out
}
