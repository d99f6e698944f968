//! The `ontograph` binary: `check` on good and bad files, `explain` against the stack's Neo4j, and
//! clear errors for a missing file or a Neo4j that is not there.

use std::path::PathBuf;
use std::process::Command;

fn ontograph() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontograph"));
    cmd.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    cmd.env_remove("ONTOGRAPH_ONTOLOGY")
        .env("RUST_LOG", "error");
    cmd
}

#[test]
fn check_prints_the_generated_sdl() {
    let out = ontograph().arg("check").output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sdl = String::from_utf8_lossy(&out.stdout);
    assert!(sdl.starts_with("type Query {"), "{sdl:.200}");
    assert!(sdl.contains("peopleConnection(first: Int, after: String, where: PersonWhere, sort: [PersonSort!]): PeopleConnection!"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ok: 11 node types"));
}

#[test]
fn check_rejects_a_bad_file_with_line_and_column() {
    let dir = std::env::temp_dir().join(format!("ontograph-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let bad = dir.join("bad.graphql");
    std::fs::write(
        &bad,
        "type Person @node {\n  name: Strin\n  team: Team\n}\ntype Team @node { id: ID! }\n",
    )
    .expect("write");
    let out = ontograph()
        .arg("--ontology")
        .arg(&bad)
        .arg("check")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.graphql:2:9: unknown type `Strin`"),
        "{err}"
    );
    assert!(err.contains("bad.graphql:3:3: field `Person.team` refers to node type `Team` but has no @relationship"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing is printed on stdout for a bad file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_file_and_unreachable_neo4j_are_named() {
    let out = ontograph()
        .args(["--ontology", "no/such/file.graphql", "check"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot read the ontology file no/such/file.graphql"));

    let out = ontograph()
        .args(["migrate", "--neo4j-uri", "bolt://127.0.0.1:1"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.to_lowercase().contains("unavailable") || err.contains("127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn explain_shows_plain_and_rewritten_cypher_and_measures_both() {
    let uri = std::env::var("NEO4J_URI")
        .unwrap_or_else(|_| panic!("NEO4J_URI is not set: run through scripts/test"));
    let out = ontograph()
        .env("NEO4J_URI", &uri)
        .env("NEO4J_READER_URIS", "")
        .args([
            "explain",
            "--query",
            r#"query($t: ID!) { teams(where: { id: { eq: $t } }) { name membersConnection { totalCount } } }"#,
            "--variables",
            r#"{"t": "no-such-team"}"#,
            "--measure",
            "--runs",
            "3",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(
        v["plain"]["cypher"]
            .as_str()
            .is_some_and(|c| c.contains("MEMBER_OF")),
        "{v}"
    );
    assert_eq!(
        v["plain"]["params"]["p0"], "no-such-team",
        "values stay parameters: {v}"
    );
    assert_eq!(
        v["decisions"],
        serde_json::json!([]),
        "no hub, no rule: {v}"
    );
    assert!(v["measured"]["plainMedianMs"].as_f64().is_some(), "{v}");
    // A bad operation is named.
    let bad = ontograph()
        .env("NEO4J_URI", &uri)
        .args([
            "explain",
            "--query",
            "{ teams(where: { nope: 1 }) { name } }",
        ])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("nope"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn check_validates_mapping_rules_only_when_ingestion_is_on_or_asked() {
    let dir = std::env::temp_dir().join(format!("ontograph-cli-maps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let other = dir.join("other.graphql");
    std::fs::write(&other, "type Widget @node {\n  code: String!\n}\n").expect("write");
    // From the repository root, another ontology: the shipped rules (about people and teams)
    // are not this ontology's business while ingestion is off.
    let out = ontograph()
        .env_remove("ONTOGRAPH_INGEST")
        .env_remove("ONTOGRAPH_INGEST_MAPPINGS")
        .arg("--ontology")
        .arg(&other)
        .arg("check")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("mapping rules not checked"), "{err}");
    // Asked for, they are validated against it, and refused naming the problem.
    for extra in [&["--with-mappings"][..], &[]] {
        let mut cmd = ontograph();
        cmd.arg("--ontology").arg(&other).arg("check").args(extra);
        if extra.is_empty() {
            cmd.env("ONTOGRAPH_INGEST", "on");
        }
        let out = cmd.output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("schema/mappings/github.yaml"), "{err}");
    }
    // The configured folder is the one checked.
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    let out = ontograph()
        .env("ONTOGRAPH_INGEST_MAPPINGS", &rules)
        .args(["check", "--with-mappings"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ok: mapping rules"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_names_the_existing_constraint_it_keeps() {
    let uri = std::env::var("NEO4J_URI")
        .unwrap_or_else(|_| panic!("NEO4J_URI is not set: run through scripts/test"));
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let label = format!("MigrateKeep{n}");
    let own = format!("users_own_{n}");
    let dir = std::env::temp_dir().join(format!("ontograph-cli-migrate-{n}"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let file = dir.join("keep.graphql");
    std::fs::write(
        &file,
        format!("type {label} @node {{\n  code: String! @unique\n}}\n"),
    )
    .expect("write");
    let cypher = |statement: String| {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let client = graph::Neo4jClient::connect(graph::Neo4jConfig::new(uri.clone()))
                .await
                .expect("client");
            client
                .run(&graph::Statement::new(statement), graph::AccessMode::Write)
                .await
                .expect("statement");
        });
    };
    // The user's own constraint, under the user's own name.
    cypher(format!(
        "CREATE CONSTRAINT {own} FOR (n:{label}) REQUIRE n.code IS UNIQUE"
    ));
    let out = ontograph()
        .env("NEO4J_URI", &uri)
        .env("NEO4J_READER_URIS", "")
        .arg("--ontology")
        .arg(&file)
        .args(["migrate", "--dry-run"])
        .output()
        .expect("runs");
    cypher(format!("DROP CONSTRAINT {own}"));
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "kept: {own} (existing; it is what og_uniq_{label}_code asks for)"
        )),
        "{text}"
    );
    assert!(!text.contains("would create: "), "{text}");
}
