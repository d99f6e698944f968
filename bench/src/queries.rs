//! The benchmark's read queries, one per shape: a point lookup, a filtered and sorted list, a
//! nested read through a relationship connection with relationship properties, a 2-hop read and
//! a root connection with totalCount. Filter values
//! are looked up in the database first, so every query returns data. Each query is compiled here,
//! in-process, exactly as Ontograph compiles it, to get the Cypher statement sent straight to
//! Neo4j.

use std::time::Instant;

use anyhow::{anyhow, bail, Context as _};
use graph::{AccessMode, Neo4jClient, Statement};
use hyper::body::Bytes;
use ontology::compile::{compile, CompileOptions, CompiledOperation};
use ontology::Ontology;
use serde_json::{json, Map, Value};

use crate::http::Connection;

/// One query of the benchmark, with the variables it is sent with.
#[derive(Debug, Clone)]
pub struct QuerySpec {
    /// Short identifier (`point`, `list`, `nested`, `twohop`, `connection`).
    pub id: &'static str,
    /// What shape of read it stands for.
    pub shape: &'static str,
    /// The GraphQL document.
    pub graphql: &'static str,
    /// The variables, filled from the data.
    pub variables: Value,
    /// How the variables were picked.
    pub picked: String,
}

const POINT: &str = r#"query PointLookup($handle: String!) {
  people(where: { handle: { eq: $handle } }) {
    id
    handle
    name
    email
    title
    joinedAt
  }
}"#;

const LIST: &str = r#"query IssuesByState($state: String!, $minPriority: Int!) {
  issues(
    where: { state: { eq: $state }, priority: { gte: $minPriority } }
    sort: [{ createdAt: DESC }, { id: ASC }]
    limit: 20
  ) {
    id
    number
    title
    state
    priority
    labels
    createdAt
  }
}"#;

const NESTED: &str = r#"query PersonTeams($handle: String!) {
  people(where: { handle: { eq: $handle } }) {
    handle
    name
    teamsConnection(first: 10, sort: [{ edge: { since: DESC } }, { node: { id: ASC } }]) {
      totalCount
      edges {
        properties {
          role
          since
        }
        node {
          id
          name
        }
      }
    }
  }
}"#;

const TWOHOP: &str = r#"query PersonTeamProjects($handle: String!) {
  people(where: { handle: { eq: $handle } }) {
    handle
    teams(limit: 10, sort: [{ name: ASC }, { id: ASC }]) {
      name
      projects(limit: 5, sort: [{ name: ASC }]) {
        name
        status
      }
    }
  }
}"#;

const CONNECTION: &str = r#"query IssuesPage($state: String!) {
  issuesConnection(
    first: 20
    where: { state: { eq: $state } }
    sort: [{ createdAt: DESC }, { id: ASC }]
  ) {
    totalCount
    edges {
      cursor
      node {
        number
        title
        priority
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}"#;

const UNION: &str = r#"query RepositoryContributions($name: String!) {
  repositories(where: { name: { eq: $name } }) {
    name
    contributions(limit: 20) {
      __typename
      ... on Issue {
        number
        title
        state
      }
      ... on PullRequest {
        number
        title
        mergedAt
      }
      ... on Commit {
        sha
        message
      }
    }
  }
}"#;

const INTERFACE: &str = r#"query WorkItemsByState($state: String!) {
  workItems(where: { state: { eq: $state } }, sort: [{ createdAt: DESC }, { id: ASC }], limit: 20) {
    __typename
    number
    title
    createdAt
    ... on Issue {
      priority
    }
    ... on PullRequest {
      mergedAt
    }
  }
}"#;

const TEMPORAL: &str = r#"query IssuesSince($since: DateTime!) {
  issues(where: { createdAt: { gte: $since } }, sort: [{ createdAt: ASC }, { id: ASC }], limit: 20) {
    number
    title
    createdAt
  }
}"#;

const CYPHER_LIST: &str = r#"query RepositoriesWithOpenIssues {
  repositories(sort: [{ name: ASC }], limit: 20) {
    name
    openIssueCount
  }
}"#;

const HUB_AGGREGATE: &str = r#"query HubIssueAggregate($name: String!) {
  repositories(where: { name: { eq: $name } }) {
    name
    issuesConnection {
      aggregate {
        count {
          nodes
        }
        node {
          number {
            min
            max
            average
          }
          createdAt {
            min
            max
          }
        }
      }
    }
  }
}"#;

const AGGREGATION_FILTER: &str = r#"query Followed($n: Int!) {
  people(
    where: { followersConnection: { aggregate: { count: { nodes: { gt: $n } } } } }
    sort: [{ handle: ASC }]
    limit: 20
  ) {
    handle
  }
}"#;

const NESTED_UPDATE: &str = r#"mutation SetRole($handle: String!, $team: ID!, $role: String!) {
  updatePeople(
    where: { handle: { eq: $handle } }
    update: { teams: [{ update: { where: { node: { id: { eq: $team } } }, edge: { role: { set: $role } } } }] }
  ) {
    people {
      handle
      teamsConnection(where: { node: { id: { eq: $team } } }) {
        edges {
          properties {
            role
          }
        }
      }
    }
  }
}"#;

/// Runs a discovery statement and returns its only row.
async fn one_row(client: &Neo4jClient, cypher: &str) -> anyhow::Result<Map<String, Value>> {
    let result = client
        .run(&Statement::new(cypher), AccessMode::Read)
        .await
        .with_context(|| format!("discovery query failed: {cypher}"))?;
    result.rows.into_iter().next().ok_or_else(|| {
        anyhow!("the database holds no data for `{cypher}`: seed it first (`ontograph seed`)")
    })
}

fn field<'a>(row: &'a Map<String, Value>, name: &str) -> anyhow::Result<&'a Value> {
    match row.get(name) {
        Some(Value::Null) | None => {
            bail!("the database holds no usable `{name}`: seed it first (`ontograph seed`)")
        }
        Some(v) => Ok(v),
    }
}

/// Picks filter values that exist in the data and returns the five queries.
pub async fn discover(client: &Neo4jClient) -> anyhow::Result<Vec<QuerySpec>> {
    // Point lookup: the median handle in sort order (any existing person would do).
    let row = one_row(
        client,
        "MATCH (p:Person) WHERE p.handle IS NOT NULL WITH p.handle AS h ORDER BY h \
         WITH collect(h) AS hs WHERE size(hs) > 0 RETURN hs[size(hs) / 2] AS handle",
    )
    .await?;
    let point_handle = field(&row, "handle")?.clone();

    // List: the most frequent issue state, and the median priority as a second filter.
    let row = one_row(
        client,
        "MATCH (i:Issue) WHERE i.state IS NOT NULL \
         RETURN i.state AS state, count(*) AS n ORDER BY n DESC, state LIMIT 1",
    )
    .await?;
    let state = field(&row, "state")?.clone();
    let state_count = row.get("n").cloned().unwrap_or(Value::Null);
    let row = one_row(
        client,
        "MATCH (i:Issue) WHERE i.priority IS NOT NULL RETURN percentileDisc(i.priority, 0.5) AS p",
    )
    .await?;
    let min_priority = field(&row, "p")?.clone();

    // Nested: a person at the 90th percentile of team memberships (a busy but not extreme node).
    let row = one_row(
        client,
        "MATCH (p:Person)-[:MEMBER_OF]->(:Team) WITH p, count(*) AS d ORDER BY d DESC, p.handle \
         WITH collect({h: p.handle, d: d}) AS ps WHERE size(ps) > 0 \
         RETURN ps[size(ps) / 10].h AS handle, ps[size(ps) / 10].d AS degree",
    )
    .await?;
    let nested_handle = field(&row, "handle")?.clone();
    let degree = row.get("degree").cloned().unwrap_or(Value::Null);

    Ok(vec![
        QuerySpec {
            id: "point",
            shape: "point lookup by a unique field, a few scalar fields",
            graphql: POINT,
            variables: json!({ "handle": point_handle }),
            picked: "the median `Person.handle` in sort order".to_owned(),
        },
        QuerySpec {
            id: "list",
            shape: "filtered (indexed equality + range) and sorted list with a limit",
            graphql: LIST,
            variables: json!({ "state": state.clone(), "minPriority": min_priority }),
            picked: format!(
                "the most frequent `Issue.state` ({state_count} issues) and the median `Issue.priority`"
            ),
        },
        QuerySpec {
            id: "nested",
            shape: "1-hop connection with relationship properties and totalCount",
            graphql: NESTED,
            variables: json!({ "handle": nested_handle.clone() }),
            picked: format!(
                "the person at the 90th percentile of team memberships ({degree} teams)"
            ),
        },
        QuerySpec {
            id: "twohop",
            shape: "2-hop nested lists (person → teams → projects), sorted and limited",
            graphql: TWOHOP,
            variables: json!({ "handle": nested_handle }),
            picked: format!(
                "the person at the 90th percentile of team memberships ({degree} teams)"
            ),
        },
        QuerySpec {
            id: "connection",
            shape: "root connection: filtered, sorted, first page with totalCount and pageInfo",
            graphql: CONNECTION,
            variables: json!({ "state": state }),
            picked: format!("the most frequent `Issue.state` ({state_count} issues)"),
        },
    ])
}

/// Picks values for the shapes of the vocabulary beyond the five reads (a union field, an
/// interface root list, a temporal filter, a nested update), compared with the peer only.
pub async fn discover_vocabulary(client: &Neo4jClient) -> anyhow::Result<Vec<QuerySpec>> {
    let row = one_row(
        client,
        "MATCH (r:Repository)<-[:IN_REPOSITORY]-() WITH r, count(*) AS d ORDER BY d DESC, r.name \
         WITH collect({n: r.name, d: d}) AS rs WHERE size(rs) > 0 \
         RETURN rs[size(rs) / 10].n AS name, rs[size(rs) / 10].d AS degree",
    )
    .await?;
    let repository = field(&row, "name")?.clone();
    let degree = row.get("degree").cloned().unwrap_or(Value::Null);
    let row = one_row(
        client,
        "MATCH (i:Issue) WHERE i.state IS NOT NULL \
         RETURN i.state AS state, count(*) AS n ORDER BY n DESC, state LIMIT 1",
    )
    .await?;
    let state = field(&row, "state")?.clone();
    let row = one_row(
        client,
        "MATCH (i:Issue) WHERE i.createdAt IS NOT NULL \
         WITH i.createdAt AS c ORDER BY c WITH collect(c) AS cs WHERE size(cs) > 0 \
         RETURN toString(cs[size(cs) / 2]) AS since",
    )
    .await?;
    let since = field(&row, "since")?.clone();
    let row = one_row(
        client,
        "MATCH (p:Person)-[m:MEMBER_OF]->(t:Team) WHERE m.role IS NOT NULL \
         RETURN p.handle AS handle, t.id AS team, m.role AS role ORDER BY p.handle, t.id LIMIT 1",
    )
    .await?;
    let (handle, team, role) = (
        field(&row, "handle")?.clone(),
        field(&row, "team")?.clone(),
        field(&row, "role")?.clone(),
    );
    let row = one_row(
        client,
        "MATCH (r:Repository)<-[:IN_REPOSITORY]-(:Issue) WITH r, count(*) AS d \
         RETURN r.name AS name, d AS degree ORDER BY d DESC, name LIMIT 1",
    )
    .await?;
    let hub = field(&row, "name")?.clone();
    let hub_degree = row.get("degree").cloned().unwrap_or(Value::Null);
    let row = one_row(
        client,
        "MATCH (p:Person) WITH p, COUNT { (p)<-[:FOLLOWS]-(:Person) } AS d ORDER BY d \
         WITH collect(d) AS ds WHERE size(ds) > 0 RETURN ds[size(ds) * 9 / 10] AS n",
    )
    .await?;
    let followers = field(&row, "n")?.clone();
    Ok(vec![
        QuerySpec {
            id: "cypherList",
            shape: "20 nodes, each with a `@cypher` field counting over its neighbourhood",
            graphql: CYPHER_LIST,
            variables: json!({}),
            picked: "the first 20 repositories by name; `openIssueCount` counts open issues"
                .to_owned(),
        },
        QuerySpec {
            id: "hubAggregate",
            shape: "`aggregate { count, min/max/average }` over a hub's relationships",
            graphql: HUB_AGGREGATE,
            variables: json!({ "name": hub }),
            picked: format!("the repository with the most issues ({hub_degree})"),
        },
        QuerySpec {
            id: "aggregationFilter",
            shape: "an aggregation filter (`count: { nodes: { gt: N } }`) over a label, limited",
            graphql: AGGREGATION_FILTER,
            variables: json!({ "n": followers }),
            picked: "N = the 90th percentile of people's follower counts".to_owned(),
        },
        QuerySpec {
            id: "union",
            shape: "a relationship to a union, with a fragment per member, limited",
            graphql: UNION,
            variables: json!({ "name": repository }),
            picked: format!("the repository at the 90th percentile of contributions ({degree})"),
        },
        QuerySpec {
            id: "interface",
            shape: "an interface's root list: filtered, sorted across implementations, limited",
            graphql: INTERFACE,
            variables: json!({ "state": state }),
            picked: "the most frequent `Issue.state`".to_owned(),
        },
        QuerySpec {
            id: "temporal",
            shape: "a DateTime range filter, sorted by it, limited",
            graphql: TEMPORAL,
            variables: json!({ "since": since }),
            picked: "the median `Issue.createdAt`".to_owned(),
        },
        QuerySpec {
            id: "nestedUpdate",
            shape: "a nested update of a relationship property (the same value: idempotent)",
            graphql: NESTED_UPDATE,
            variables: json!({ "handle": handle, "team": team, "role": role }),
            picked: "the first membership by handle and team id, set to its own role".to_owned(),
        },
    ])
}

/// A query ready to be sent both ways.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub spec: QuerySpec,
    /// The HTTP request body: `{"query", "variables"}`.
    pub http_body: Bytes,
    /// The Cypher and parameters Ontograph runs for it (no timeout: the raw baseline).
    pub statement: Statement,
    pub compiled: CompiledOperation,
    /// Median in-process cost of parse + IR + compile, in microseconds.
    pub compile_micros: f64,
}

/// Parses, lowers and compiles a GraphQL read exactly as the gateway does.
pub fn compile_query(
    ontology: &Ontology,
    graphql: &str,
    variables: &Value,
    options: &CompileOptions,
) -> anyhow::Result<CompiledOperation> {
    let doc = async_graphql_parser::parse_query(graphql).context("GraphQL parse error")?;
    let vars = async_graphql_value::Variables::from_json(variables.clone());
    let op = ontology::ir::from_document(&doc, None, &vars)?
        .ok_or_else(|| anyhow!("the query only asks for introspection"))?;
    Ok(compile(ontology, &op, options)?)
}

/// Compiles a query and times the compilation (median of `iterations`).
pub fn prepare(
    ontology: &Ontology,
    spec: QuerySpec,
    options: &CompileOptions,
    iterations: usize,
) -> anyhow::Result<Prepared> {
    let compiled = compile_query(ontology, spec.graphql, &spec.variables, options)
        .with_context(|| format!("query `{}` does not compile", spec.id))?;
    let mut micros = Vec::with_capacity(iterations.max(1));
    for _ in 0..iterations.max(1) {
        let started = Instant::now();
        let again = compile_query(ontology, spec.graphql, &spec.variables, options)?;
        micros.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(again);
    }
    micros.sort_by(f64::total_cmp);
    let compile_micros = micros[micros.len() / 2];
    let http_body = Bytes::from(serde_json::to_vec(
        &json!({ "query": spec.graphql, "variables": spec.variables }),
    )?);
    let statement = Statement {
        cypher: compiled.cypher.clone(),
        params: compiled.params.clone(),
        timeout: None,
    };
    Ok(Prepared {
        spec,
        http_body,
        statement,
        compiled,
        compile_micros,
    })
}

/// What a one-off request of each kind returned, before measuring.
#[derive(Debug, Clone)]
pub struct Check {
    /// Ontograph's `data` equals the raw row shaped by the same code Ontograph uses.
    pub identical: bool,
    /// Bytes of Ontograph's HTTP response body.
    pub http_bytes: usize,
    /// Bytes of the raw row as JSON.
    pub raw_bytes: usize,
    /// Items in each root list (`people: 1`).
    pub items: String,
}

/// Whether a GraphQL response body reports errors (cheap byte search, no parsing).
pub fn has_errors(body: &[u8]) -> bool {
    body.windows(9).any(|w| w == b"\"errors\":")
}

/// Sends the query both ways once, checks that both return the same, non-empty data.
pub async fn verify(
    http: &mut Connection,
    neo4j: &Neo4jClient,
    prepared: &Prepared,
) -> anyhow::Result<Check> {
    let id = prepared.spec.id;
    let reply = http.post_json(prepared.http_body.clone()).await?;
    let text = String::from_utf8_lossy(&reply.body);
    if !reply.status.is_success() {
        bail!("query `{id}`: Ontograph answered {}: {text}", reply.status);
    }
    let response: Value = serde_json::from_slice(&reply.body)
        .with_context(|| format!("query `{id}`: Ontograph's answer is not JSON: {text}"))?;
    if let Some(errors) = response.get("errors") {
        bail!("query `{id}`: Ontograph answered errors: {errors}");
    }
    let data = response
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| anyhow!("query `{id}`: Ontograph's answer has no data: {text}"))?;

    let result = neo4j
        .run(&prepared.statement, AccessMode::Read)
        .await
        .with_context(|| format!("query `{id}`: the compiled Cypher failed on Neo4j"))?;
    if result.rows.len() != 1 {
        bail!(
            "query `{id}`: the compiled Cypher returned {} rows, not 1",
            result.rows.len()
        );
    }
    let row = result.rows.into_iter().next().unwrap_or_default();
    let raw_bytes = serde_json::to_vec(&row)?.len();
    let shaped = ontology::shape::shape_row(&prepared.compiled.roots, row).data;

    let mut items = Vec::new();
    let mut total = 0;
    for (key, value) in &data {
        let n = value.as_array().map_or(1, Vec::len);
        total += n;
        items.push(format!("{key}: {n}"));
    }
    if total == 0 {
        bail!("query `{id}` returned no data; the benchmark needs a seeded database");
    }
    Ok(Check {
        identical: shaped == data,
        http_bytes: reply.body.len(),
        raw_bytes,
        items: items.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ontology() -> anyhow::Result<Ontology> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/ontology.graphql");
        let source = std::fs::read_to_string(path)?;
        ontology::parse_ontology(&source).map_err(|e| anyhow!("{e:?}"))
    }

    #[test]
    fn all_queries_compile_against_the_default_ontology() -> anyhow::Result<()> {
        let o = ontology()?;
        let opts = CompileOptions::default();
        for (text, vars) in [
            (POINT, json!({"handle": "handle-000001"})),
            (LIST, json!({"state": "amber", "minPriority": 2})),
            (NESTED, json!({"handle": "handle-000001"})),
            (TWOHOP, json!({"handle": "handle-000001"})),
            (CONNECTION, json!({"state": "amber"})),
        ] {
            let compiled = compile_query(&o, text, &vars, &opts)?;
            assert!(compiled.cypher.contains("MATCH"), "{}", compiled.cypher);
            assert!(!compiled.params.is_empty());
        }
        Ok(())
    }

    #[test]
    fn spots_errors() {
        assert!(has_errors(br#"{"data":null,"errors":[{"message":"x"}]}"#));
        assert!(!has_errors(br#"{"data":{"people":[]}}"#));
    }
}
