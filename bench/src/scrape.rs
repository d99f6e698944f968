//! Ontograph's own timings from its Prometheus `/metrics`: the `_sum`/`_count` of the GraphQL
//! request and Neo4j statement summaries, read before and after a measurement, give the mean
//! time spent inside the service and, of that, inside Neo4j statements.

use std::time::Duration;

use crate::http::{get_once, Endpoint};

const REQUEST: &str = "ontograph_graphql_request_seconds";
const STATEMENT: &str = "ontograph_neo4j_statement_seconds";

/// Cumulative sums (seconds) and counts of the two summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerTotals {
    pub request_sum: f64,
    pub request_count: f64,
    pub statement_sum: f64,
    pub statement_count: f64,
}

/// Mean server-side times of the requests between two scrapes, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerMeans {
    /// GraphQL handler: parse, validate, IR, compile, Neo4j, shape (no HTTP, no serialization).
    pub handler_ms: f64,
    /// Neo4j statement as the service sees it (pool, Bolt, row conversion).
    pub statement_ms: f64,
    pub requests: f64,
}

impl ServerTotals {
    /// Reads the totals from a Prometheus text exposition.
    pub fn parse(text: &str) -> Self {
        let mut t = ServerTotals::default();
        for line in text.lines() {
            let Some((name_labels, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<f64>() else {
                continue;
            };
            let (name, labels) = match name_labels.split_once('{') {
                Some((n, l)) => (n, l),
                None => (name_labels, ""),
            };
            let slot = match name.strip_prefix(REQUEST) {
                Some("_sum") if labels.contains("type=\"query\"") => &mut t.request_sum,
                Some("_count") if labels.contains("type=\"query\"") => &mut t.request_count,
                _ => match name.strip_prefix(STATEMENT) {
                    Some("_sum") if labels.contains("access=\"read\"") => &mut t.statement_sum,
                    Some("_count") if labels.contains("access=\"read\"") => &mut t.statement_count,
                    _ => continue,
                },
            };
            *slot += value;
        }
        t
    }

    /// Means of what happened between `before` and `self`; `None` when nothing did.
    pub fn since(&self, before: &ServerTotals) -> Option<ServerMeans> {
        let requests = self.request_count - before.request_count;
        let statements = self.statement_count - before.statement_count;
        if requests <= 0.0 || statements <= 0.0 {
            return None;
        }
        Some(ServerMeans {
            handler_ms: (self.request_sum - before.request_sum) / requests * 1e3,
            statement_ms: (self.statement_sum - before.statement_sum) / statements * 1e3,
            requests,
        })
    }
}

/// Scrapes `/metrics`; `None` (with a note on stderr) when the service exposes none.
pub async fn scrape(metrics: &Endpoint) -> Option<ServerTotals> {
    match get_once(metrics, Duration::from_secs(5)).await {
        Ok(reply) if reply.status.is_success() => {
            Some(ServerTotals::parse(&String::from_utf8_lossy(&reply.body)))
        }
        Ok(reply) => {
            eprintln!(
                "latency: /metrics answered {}; no server-side breakdown",
                reply.status
            );
            None
        }
        Err(error) => {
            eprintln!("latency: cannot scrape /metrics ({error:#}); no server-side breakdown");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_summaries_and_differences() {
        let before = ServerTotals::parse(
            "# TYPE ontograph_graphql_request_seconds summary\n\
             ontograph_graphql_request_seconds{type=\"query\",quantile=\"0.5\"} 0.002\n\
             ontograph_graphql_request_seconds_sum{type=\"query\"} 1\n\
             ontograph_graphql_request_seconds_count{type=\"query\"} 100\n\
             ontograph_graphql_request_seconds_sum{type=\"mutation\"} 9\n\
             ontograph_neo4j_statement_seconds_sum{access=\"read\"} 0.5\n\
             ontograph_neo4j_statement_seconds_count{access=\"read\"} 101\n",
        );
        assert_eq!(before.request_count, 100.0);
        let after = ServerTotals {
            request_sum: 1.3,
            request_count: 200.0,
            statement_sum: 0.7,
            statement_count: 201.0,
        };
        let means = after.since(&before).expect("means");
        assert!((means.handler_ms - 3.0).abs() < 1e-9);
        assert!((means.statement_ms - 2.0).abs() < 1e-9);
        assert!(before.since(&before).is_none());
    }
}
