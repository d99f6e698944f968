//! Facts that make a benchmark report comparable: the machine (from `/proc`), the source
//! revision, the Neo4j server and the size of the dataset.

use graph::{AccessMode, Neo4jClient, Statement};
use serde_json::Value;

/// The machine the benchmark ran on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpu_model: String,
    /// Logical processors listed in `/proc/cpuinfo`.
    pub cpus: usize,
    /// Processors this process may use (cgroup and affinity limits included).
    pub available: usize,
    pub memory_gib: f64,
    pub kernel: String,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages when the run started.
    pub load: String,
}

/// Reads `/proc`; unknown values are reported as such rather than failing the benchmark.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned());
    Machine {
        cpu_model,
        cpus,
        available: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib: memory_kib / (1024.0 * 1024.0),
        kernel,
        load,
    }
}

/// `git describe`-like revision of the working tree, `unknown` outside a checkout.
pub fn revision() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev} (with uncommitted changes)")
            } else {
                rev
            }
        }
        None => "unknown".to_owned(),
    }
}

/// The Neo4j server and the dataset.
#[derive(Debug, Clone)]
pub struct Database {
    pub version: String,
    pub nodes: i64,
    pub relationships: i64,
    /// `Label: count` for each label, largest first.
    pub labels: Vec<(String, i64)>,
}

async fn rows(
    client: &Neo4jClient,
    cypher: &str,
) -> anyhow::Result<Vec<serde_json::Map<String, Value>>> {
    Ok(client
        .run(&Statement::new(cypher), AccessMode::Read)
        .await?
        .rows)
}

fn int(row: Option<&serde_json::Map<String, Value>>, key: &str) -> i64 {
    row.and_then(|r| r.get(key))
        .and_then(Value::as_i64)
        .unwrap_or(-1)
}

/// Neo4j's version (`CALL dbms.components()`) and node/relationship counts.
pub async fn database(client: &Neo4jClient) -> anyhow::Result<Database> {
    let components = rows(
        client,
        "CALL dbms.components() YIELD name, versions, edition \
         RETURN name, versions[0] AS version, edition",
    )
    .await?;
    let version = components
        .first()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
            format!("{} {} ({})", s("name"), s("version"), s("edition"))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let nodes = rows(client, "MATCH (n) RETURN count(n) AS n").await?;
    let relationships = rows(client, "MATCH ()-[r]->() RETURN count(r) AS n").await?;
    let labels = rows(
        client,
        "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n ORDER BY n DESC, label",
    )
    .await
    .unwrap_or_default()
    .iter()
    .map(|r| {
        (
            r.get("label")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            int(Some(r), "n"),
        )
    })
    .collect();
    Ok(Database {
        version,
        nodes: int(nodes.first(), "n"),
        relationships: int(relationships.first(), "n"),
        labels,
    })
}
