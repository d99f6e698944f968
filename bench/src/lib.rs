//! Ontograph's benchmarks. The `latency` binary sends read queries to a running Ontograph over
//! HTTP and, in the same run and interleaved with it, the very Cypher statement Ontograph
//! compiles them to straight to Neo4j over Bolt, then reports both latency distributions side
//! by side with their ratio. Benchmarks report; they never fail on a timing.

pub mod facts;
pub mod http;
pub mod measure;
pub mod queries;
pub mod report;
pub mod scrape;
pub mod stats;
