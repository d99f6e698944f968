//! Mapping rules: the shipped rules validate against the default ontology, events map to ops,
//! batches plan to one statement (snapshots), and bad rules are reported with their place.

use ontology::mapping::{plan_batch, property_types, Mapping, Op};
use serde_json::json;

fn ontology() -> ontology::Ontology {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/ontology.graphql");
    ontology::parse_ontology(&std::fs::read_to_string(path).expect("ontology")).expect("valid")
}

fn shipped(source: &str) -> Mapping {
    let path = format!(
        "{}/../schema/mappings/{source}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("rules file");
    Mapping::from_yaml(&ontology(), &path, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn github_issue(action: &str, id: &str, title: &str) -> serde_json::Value {
    json!({
        "action": action,
        "repository": { "full_name": "acme/graph", "language": "Rust", "stargazers_count": 42, "archived": false },
        "issue": {
            "node_id": id, "number": 7, "title": title, "state": "open",
            "label_names": ["bug", "p1"], "created_at": "2024-05-01T12:00:00Z",
            "user": { "login": "ada" }
        }
    })
}

#[test]
fn shipped_rules_validate() {
    let github = shipped("github");
    assert_eq!(github.source, "github");
    assert_eq!(
        github.event_types().collect::<Vec<_>>(),
        ["issues", "pull_request", "push"]
    );
    let internal = shipped("internal");
    assert!(internal.handles("membership.changed"));
    assert!(!internal.handles("unknown.event"));
}

#[test]
fn an_issue_event_maps_to_upserts_and_connects() {
    let ops = shipped("github")
        .map("issues", &github_issue("opened", "I_1", "Crash on start"))
        .expect("maps");
    assert_eq!(ops.len(), 5, "{ops:#?}");
    let Op::Upsert {
        target,
        props,
        generated_id,
        ..
    } = &ops[2]
    else {
        panic!("{ops:#?}")
    };
    assert_eq!(target.label, "Issue");
    assert_eq!(target.key, json!("I_1"));
    assert_eq!(props["state"], json!("OPEN"), "the upper transform ran");
    assert_eq!(props["labels"], json!(["bug", "p1"]));
    assert_eq!(generated_id, &None, "the key is the @id itself");
    let Op::Upsert { generated_id, .. } = &ops[0] else {
        panic!()
    };
    assert_eq!(
        generated_id.as_deref(),
        Some("id"),
        "a repository keyed by name gets a UUID id"
    );
    assert!(
        matches!(&ops[3], Op::Link { connect: true, rel_type, outgoing: true, single: true, .. } if rel_type == "IN_REPOSITORY")
    );
    assert!(matches!(&ops[4], Op::Link { rel_type, outgoing: false, .. } if rel_type == "OPENED"));
}

#[test]
fn conditions_choose_between_upsert_and_delete() {
    let ops = shipped("github")
        .map("issues", &github_issue("deleted", "I_1", "x"))
        .expect("maps");
    assert!(
        matches!(ops.last(), Some(Op::Delete { target }) if target.key == json!("I_1")),
        "{ops:#?}"
    );
    assert!(!ops
        .iter()
        .any(|o| matches!(o, Op::Upsert { target, .. } if target.label == "Issue")));
    assert!(
        !ops.iter()
            .any(|o| matches!(o, Op::Link { rel_type, .. } if rel_type == "IN_REPOSITORY")),
        "links of a skipped upsert are skipped"
    );
}

#[test]
fn unmapped_event_types_give_no_ops_and_bad_events_say_why() {
    let github = shipped("github");
    assert_eq!(github.map("star", &json!({})).expect("ignored"), vec![]);
    let mut event = github_issue("opened", "I_1", "t");
    event["issue"]
        .as_object_mut()
        .expect("object")
        .remove("node_id");
    let e = github.map("issues", &event).expect_err("no key");
    assert!(e.to_string().contains("key of `Issue` is missing"), "{e}");
    let mut event = github_issue("opened", "I_1", "t");
    event["issue"]["number"] = json!("seven");
    let e = github.map("issues", &event).expect_err("bad int");
    assert!(e.to_string().contains("number"), "{e}");
    let mut event = github_issue("opened", "I_1", "t");
    event["issue"]["created_at"] = json!("yesterday");
    let e = github.map("issues", &event).expect_err("bad date");
    assert!(e.to_string().contains("RFC 3339"), "{e}");
    let mut event = github_issue("opened", "I_1", "t");
    event["issue"]
        .as_object_mut()
        .expect("object")
        .remove("title");
    let e = github.map("issues", &event).expect_err("required");
    assert!(e.to_string().contains("required property `title`"), "{e}");
}

#[test]
fn a_batch_is_one_statement_in_event_order() {
    let o = ontology();
    let github = shipped("github");
    let mut ops = Vec::new();
    ops.extend(
        github
            .map("issues", &github_issue("opened", "I_1", "First"))
            .expect("maps"),
    );
    ops.extend(
        github
            .map("issues", &github_issue("edited", "I_1", "Second"))
            .expect("maps"),
    );
    ops.extend(
        github
            .map("issues", &github_issue("opened", "I_2", "Other"))
            .expect("maps"),
    );
    let plan = plan_batch(&ops, &property_types(&o));
    insta::assert_snapshot!("github_issue_batch", plan.cypher);
    // Rows keep event order: the later title comes after the earlier one for the same key.
    let issues = plan
        .params
        .values()
        .find_map(|v| {
            let rows = v.as_array()?;
            rows.iter().any(|r| r["k"] == json!("I_2")).then_some(rows)
        })
        .expect("issue rows");
    let titles: Vec<_> = issues.iter().map(|r| r["p"]["title"].clone()).collect();
    assert_eq!(titles, [json!("First"), json!("Second"), json!("Other")]);
    assert!(plan.labels.contains("Issue") && plan.rel_types.contains("OPENED"));
    assert!(
        !plan.cypher.contains("First"),
        "values are parameters, never Cypher text"
    );
}

#[test]
fn conflicting_ops_split_the_batch_into_ordered_segments() {
    let o = ontology();
    let github = shipped("github");
    let mut ops = Vec::new();
    ops.extend(
        github
            .map("issues", &github_issue("opened", "I_1", "Born"))
            .expect("maps"),
    );
    ops.extend(
        github
            .map("issues", &github_issue("deleted", "I_1", "x"))
            .expect("maps"),
    );
    ops.extend(
        github
            .map("issues", &github_issue("opened", "I_1", "Reborn"))
            .expect("maps"),
    );
    let plan = plan_batch(&ops, &property_types(&o));
    // upsert, delete | upsert: the re-creation must come after the delete.
    let delete_at = plan.cypher.find("DETACH DELETE").expect("delete block");
    let last_issue_merge = plan.cypher.rfind("MERGE (n:`Issue`").expect("merge");
    assert!(last_issue_merge > delete_at, "{}", plan.cypher);
    insta::assert_snapshot!("github_issue_recreated", plan.cypher);
}

#[test]
fn invalid_rules_are_reported_with_their_place() {
    let o = ontology();
    let cases = [
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Nope, key: { id: $.id } }\n",
         "events.e.upsert[0].node: unknown node type `Nope`"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Issue, key: { title: $.t }, set: { number: $.n } }\n",
         "`Issue.title` is not unique"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Issue, key: { id: $.id }, set: { number: $.n } }\n",
         "`Issue.title` is required (non-null) but not set"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Topic, key: { name: $.n } }\n      - { as: b, node: Topic, key: { name: $.m } }\n    connect:\n      - { from: a, field: nothing, to: b }\n",
         "`Topic` has no relationship field `nothing`"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Topic, key: { name: $.n } }\n      - { as: p, node: Person, key: { handle: $.h }, set: { name: $.h } }\n    connect:\n      - { from: a, field: parent, to: p }\n",
         "`Topic.parent` leads to `Topic`, but `p` is a `Person`"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: p, node: Person, key: { handle: $.h }, set: { name: $.h } }\n      - { as: t, node: Team, key: { id: $.t }, set: { name: $.n } }\n    connect:\n      - { from: p, field: teams, to: t }\n",
         "relationship property `role` is required but not set"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Topic, key: { name: \"$.n | shout\" } }\n",
         "unknown transform `shout`"),
        ("source: github\nevent_type: { header: X }\nidempotency: { header: Y }\nevents:\n  e:\n    upsert:\n      - { as: a, node: Topic, key: { name: $.n }, colour: red }\n",
         "unknown field `colour`"),
        ("source: github\nevent_type: { header: X }\nidempotency: { constant: same }\nevents:\n  e:\n    delete:\n      - { node: Topic, key: { name: $.n } }\n",
         "a constant idempotency key"),
    ];
    for (text, expected) in cases {
        let e = Mapping::from_yaml(&o, "test.yaml", text).expect_err(expected);
        let message = e.to_string();
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
        assert!(message.contains("test.yaml"), "{message}");
    }
}
