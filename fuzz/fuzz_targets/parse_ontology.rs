//! Any text given as an ontology: parsed and validated without panicking; a valid result
//! generates its API SDL without panicking either.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(o) = ontology::parse_ontology(text) {
            let _ = ontology::api::api_sdl(&o);
        }
    }
});
