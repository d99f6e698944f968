//! Neo4j access for Ontograph: moves Cypher text, JSON parameters and JSON rows over Bolt.
//!
//! - [`Neo4jClient`] wraps a neo4rs 0.8 connection pool; [`Neo4jClient::run`] executes one
//!   [`Statement`] as a read or a write and returns every row as a JSON object.
//! - [`value`] converts JSON parameters to Bolt and Bolt results to JSON (temporal values as
//!   ISO-8601 strings, DateTime in `@neo4j/graphql`'s UTC-millisecond form).
//! - [`Router`] sends reads to healthy read replicas and writes to the leader (static or
//!   discovered topology, health checks, consistency levels; see [`routing`]).
//! - [`mod@migrate`] brings uniqueness constraints and indexes in line with a desired set.
//! - [`Error`] classifies failures (unavailable, Cypher, timeout, ...) for the gateway.
//!
//! This crate knows nothing about GraphQL or the ontology.

pub mod bookmark;
mod client;
mod config;
mod error;
pub mod migrate;
pub mod routing;
mod statement;
mod telemetry;
pub mod value;

pub use client::{Counters, Neo4jClient, QueryResult, PING_TIMEOUT, STATEMENT_ID_PARAM};
pub use config::Neo4jConfig;
pub use error::{Error, ErrorKind, Result, CONSTRAINT_VIOLATION_CODE};
pub use migrate::{
    migrate, range_indexes, uniqueness_constraints, IndexKind, MigrationOptions, MigrationReport,
    SchemaItem, SingleProperty,
};
pub use routing::{
    Consistency, ConsistencyLevel, HealthState, Role, Routed, Router, RoutingConfig, TopologySource,
};
pub use statement::{AccessMode, Statement};
pub use telemetry::{describe_metrics, ERRORS_TOTAL, STATEMENT_SECONDS};
