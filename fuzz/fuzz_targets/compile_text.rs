//! Any text as a GraphQL document against the default ontology: parsing, the IR and the compiler
//! never panic; whatever compiles carries every string literal of the document as a parameter,
//! never in the Cypher text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn ontology() -> &'static ontology::Ontology {
    static O: OnceLock<ontology::Ontology> = OnceLock::new();
    O.get_or_init(|| {
        ontology::parse_ontology(include_str!("../../schema/ontology.graphql")).expect("valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = async_graphql_parser::parse_query(text) else { return };
    let variables = async_graphql_value::Variables::default();
    let Ok(Some(op)) = ontology::ir::from_document(&doc, None, &variables) else { return };
    let Ok(compiled) = ontology::compile::compile(ontology(), &op, &Default::default()) else {
        return;
    };
    // Values marked by the fuzzer's input (`zqx…`) must only ever be parameters.
    assert!(
        !compiled.cypher.contains("zqx"),
        "a literal reached the Cypher text:\n{}",
        compiled.cypher
    );
});
