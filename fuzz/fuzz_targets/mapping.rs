//! Webhook events through the shipped mapping rules: any JSON maps or is refused without
//! panicking, and the batch statement never carries an event's values in its text. Strings the
//! fuzzer writes into the event start with `zqx`.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Rules {
    o: ontology::Ontology,
    internal: ontology::mapping::Mapping,
    github: ontology::mapping::Mapping,
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        let o = ontology::parse_ontology(include_str!("../../schema/ontology.graphql")).expect("valid");
        let internal = ontology::mapping::Mapping::from_yaml(
            &o,
            "internal",
            include_str!("../../schema/mappings/internal.yaml"),
        )
        .expect("internal rules");
        let github = ontology::mapping::Mapping::from_yaml(
            &o,
            "github",
            include_str!("../../schema/mappings/github.yaml"),
        )
        .expect("github rules");
        Rules { o, internal, github }
    })
}

#[derive(Arbitrary, Debug)]
struct Input {
    github: bool,
    event_type: u8,
    /// (json path segments, value) pairs written into a template event.
    fields: Vec<(u8, String)>,
    raw: Option<String>,
}

const PATHS: [&[&str]; 12] = [
    &["id"],
    &["data", "handle"],
    &["data", "name"],
    &["data", "email"],
    &["data", "teamId"],
    &["data", "role"],
    &["data", "joinedAt"],
    &["action"],
    &["issue", "title"],
    &["issue", "user", "login"],
    &["repository", "full_name"],
    &["pull_request", "title"],
];

fn set(v: &mut serde_json::Value, path: &[&str], value: serde_json::Value) {
    let mut cur = v;
    for (i, seg) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = serde_json::json!({});
        }
        let map = cur.as_object_mut().expect("object");
        if i + 1 == path.len() {
            map.insert((*seg).to_owned(), value);
            return;
        }
        cur = map.entry((*seg).to_owned()).or_insert_with(|| serde_json::json!({}));
    }
}

fuzz_target!(|input: Input| {
    let r = rules();
    let mapping = if input.github { &r.github } else { &r.internal };
    let types: Vec<&str> = mapping.event_types().collect();
    if types.is_empty() {
        return;
    }
    let event_type = types[input.event_type as usize % types.len()];
    let mut event = match input.raw.as_deref().map(serde_json::from_str::<serde_json::Value>) {
        Some(Ok(v)) => v,
        _ => serde_json::json!({"id": "zqx-id", "type": event_type, "data": {}}),
    };
    for (p, value) in input.fields.iter().take(12) {
        set(&mut event, PATHS[*p as usize % PATHS.len()], serde_json::json!(format!("zqx{value}")));
    }
    let Ok(ops) = mapping.map(event_type, &event) else { return };
    let types = ontology::mapping::property_types(&r.o);
    let plan = ontology::mapping::plan_batch(&ops, &types);
    assert!(
        !plan.cypher.contains("zqx"),
        "an event value reached the Cypher text:\n{}",
        plan.cypher
    );
});
