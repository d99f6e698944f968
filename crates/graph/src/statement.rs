//! What is run: one parameterized Cypher statement, and whether it only reads or may write.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

/// Whether a statement only reads or may write.
///
/// Both run in an explicit transaction that commits, or rolls back on error. Both use the same
/// pool today; replica routing will send reads elsewhere (neo4rs 0.8 cannot tell the server the
/// access mode, so routing has to pick the pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// The statement does not modify the graph.
    Read,
    /// The statement may modify the graph or the schema.
    Write,
}

impl AccessMode {
    /// `"read"` or `"write"` (the `access` metric label).
    pub const fn as_str(self) -> &'static str {
        match self {
            AccessMode::Read => "read",
            AccessMode::Write => "write",
        }
    }
}

impl fmt::Display for AccessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parameterized Cypher statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statement {
    /// The Cypher text, with `$name` parameter references.
    pub cypher: String,
    /// Parameter values by name.
    pub params: Map<String, Value>,
    /// Give up (with [`Error::Timeout`]) after this long, including the wait for a pooled
    /// connection; `None` waits indefinitely.
    pub timeout: Option<Duration>,
}

impl Statement {
    /// A statement without parameters or timeout.
    pub fn new(cypher: impl Into<String>) -> Self {
        Self {
            cypher: cypher.into(),
            ..Self::default()
        }
    }

    /// Adds (or replaces) one parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// Replaces all parameters.
    pub fn params(mut self, params: Map<String, Value>) -> Self {
        self.params = params;
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}
