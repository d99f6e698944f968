//! The `ontograph` binary's commands that need no server: `check` on good and bad files, and
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
