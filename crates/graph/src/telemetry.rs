//! Metrics (through the `metrics` facade) recorded for every statement.

use std::time::Duration;

use crate::error::ErrorKind;
use crate::statement::AccessMode;

/// Histogram of statement durations in seconds, labelled `access` = `read` | `write`.
pub const STATEMENT_SECONDS: &str = "ontograph_neo4j_statement_seconds";
/// Counter of failed statements, labelled `kind` (see [`ErrorKind::as_str`]).
pub const ERRORS_TOTAL: &str = "ontograph_neo4j_errors_total";

/// Registers descriptions of this crate's metrics with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        STATEMENT_SECONDS,
        metrics::Unit::Seconds,
        "Time to run one Neo4j statement and collect its rows"
    );
    metrics::describe_counter!(ERRORS_TOTAL, "Neo4j statements that failed, by error kind");
}

pub(crate) fn record_statement(access: AccessMode, elapsed: Duration) {
    metrics::histogram!(STATEMENT_SECONDS, "access" => access.as_str())
        .record(elapsed.as_secs_f64());
}

pub(crate) fn record_error(kind: ErrorKind) {
    metrics::counter!(ERRORS_TOTAL, "kind" => kind.as_str()).increment(1);
}
