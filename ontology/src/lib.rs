//! Ontograph's pure core: the ontology model parsed and validated from GraphQL SDL type
//! definitions, the GraphQL API generated from it, and the compiler from GraphQL operations to
//! parameterized Cypher. No I/O and no async: everything here is a function of its inputs.

pub mod model;
pub mod parse;

pub use model::Ontology;
pub use parse::{parse_ontology, Diagnostic, OntologyError};
mod abstract_types;
mod aggregate;
pub mod api;
pub mod authorization;
pub mod compile;
pub mod cost;
mod cypher_fields;
pub mod deps;
pub mod ir;
pub mod mapping;
mod mutate;
pub mod naming;
pub mod normalize;
pub mod rewrite;
mod search;
pub mod seed;
pub mod served;
pub mod shape;
