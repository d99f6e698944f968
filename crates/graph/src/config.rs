//! Connection settings for one Neo4j deployment.

use std::fmt;

/// How to reach Neo4j. Cheap to clone; the password is never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Neo4jConfig {
    /// Bolt URI of the server, e.g. `bolt://127.0.0.1:7687` (`bolt+s://` for TLS). neo4rs 0.8
    /// accepts `neo4j://` too but does not route: every statement goes to this one address.
    pub uri: String,
    /// User name for basic authentication (ignored by a server with auth disabled).
    pub user: String,
    /// Password for basic authentication.
    pub password: String,
    /// Upper bound of pooled Bolt connections (at least 1). Each running statement holds one.
    pub max_connections: usize,
    /// Rows fetched per PULL round trip while streaming a result (at least 1).
    pub fetch_size: usize,
    /// Database to run statements on; `None` means the server's default database.
    pub database: Option<String>,
}

impl Neo4jConfig {
    /// Settings for `uri` with the defaults for everything else.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            ..Self::default()
        }
    }
}

impl Default for Neo4jConfig {
    fn default() -> Self {
        Self {
            uri: "bolt://127.0.0.1:7687".to_owned(),
            user: "neo4j".to_owned(),
            password: String::new(),
            max_connections: 16,
            fetch_size: 500,
            database: None,
        }
    }
}

impl fmt::Debug for Neo4jConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Neo4jConfig")
            .field("uri", &self.uri)
            .field("user", &self.user)
            .field("password", &"***")
            .field("max_connections", &self.max_connections)
            .field("fetch_size", &self.fetch_size)
            .field("database", &self.database)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = Neo4jConfig {
            password: "s3cret".into(),
            ..Neo4jConfig::new("bolt://db:7687")
        };
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"));
        assert!(text.contains("bolt://db:7687"));
    }
}
