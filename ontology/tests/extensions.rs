//! `extend type`, `extend interface` and `extend enum` fold into the type they extend, as
//! `@neo4j/graphql` does, wherever in the file they appear.

use ontology::model::Field;
use ontology::parse_ontology;

#[test]
fn extensions_add_fields_interfaces_directives_and_values() {
    let o = parse_ontology(
        r#"
extend type Movie @plural(value: "films") {
  released: Int
  status: Status
}

interface Titled {
  title: String!
}

type Movie implements Titled @node {
  title: String!
}

extend type Movie {
  actors: [Actor!]! @relationship(type: "ACTED_IN", direction: IN)
}

type Actor @node {
  name: String!
}

extend interface Titled {
  subtitle: String
}

extend type Movie {
  subtitle: String
}

enum Status {
  DRAFT
}

extend enum Status {
  RELEASED
}
"#,
    )
    .expect("valid");
    let movie = o.node("Movie").expect("Movie");
    let names: Vec<&str> = movie
        .fields
        .iter()
        .map(|f| match f {
            Field::Property(p) => p.name.as_str(),
            Field::Relationship(r) => r.name.as_str(),
        })
        .collect();
    assert_eq!(names, ["title", "released", "status", "actors", "subtitle"]);
    assert_eq!(movie.plural, "films");
    assert_eq!(movie.implements, ["Titled"]);
    assert!(o.interfaces["Titled"]
        .properties
        .iter()
        .any(|p| p.name == "subtitle"));
    assert_eq!(o.enums["Status"].values, ["DRAFT", "RELEASED"]);
}

#[test]
fn an_extension_needs_what_it_extends() {
    let errs = parse_ontology("type A @node {\n  id: ID!\n}\nextend type B {\n  x: Int\n}\n")
        .expect_err("B is not declared")
        .diagnostics;
    assert!(
        errs.iter()
            .any(|d| d.line == 4 && d.message.contains("declares no type `B`")),
        "{errs:?}"
    );
    let errs = parse_ontology("type A @node {\n  id: ID!\n}\nextend interface A {\n  x: Int\n}\n")
        .expect_err("A is no interface")
        .diagnostics;
    assert!(
        errs.iter().any(|d| d.message.contains("not of the kind")),
        "{errs:?}"
    );
    // `extend type Query` needs no `type Query`: its fields are custom root fields.
    let o = parse_ontology(
        "type A @node {\n  id: ID!\n}\nextend type Query {\n  as: [A!]! @cypher(statement: \"MATCH (a:A) RETURN a\", columnName: \"a\")\n}\n",
    )
    .expect("custom root fields");
    assert_eq!(o.query_fields.len(), 1);
    let errs =
        parse_ontology("type A @node {\n  id: ID!\n}\nextend type Query {\n  as: [A!]!\n}\n")
            .expect_err("a root field without @cypher")
            .diagnostics;
    assert!(
        errs.iter()
            .any(|d| d.line == 5 && d.message.contains("needs @cypher")),
        "{errs:?}"
    );
    let errs = parse_ontology("type A @node {\n  id: ID!\n}\nextend schema @authentication\n")
        .expect_err("schema directives")
        .diagnostics;
    assert!(
        errs.iter()
            .any(|d| d.line == 4 && d.message.contains("`extend schema @authentication`")),
        "{errs:?}"
    );
    // `extend schema @query/@mutation` configures every type.
    let o = parse_ontology(
        "type A @node {\n  id: ID!\n}\nextend schema @mutation(operations: [CREATE])\n",
    )
    .expect("schema-wide @mutation");
    let ops = o.nodes["A"].operations;
    assert!(ops.create && !ops.update && !ops.delete);
}
