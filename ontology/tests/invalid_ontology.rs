//! Invalid ontology files are rejected with the line, the column and a plain explanation.

use ontology::parse_ontology;

/// Parses `src`, expects failure, and returns the diagnostics as `line:col: message` lines.
fn errors(src: &str) -> Vec<String> {
    match parse_ontology(src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

fn assert_error(src: &str, line: usize, needle: &str) {
    let errs = errors(src);
    assert!(
        errs.iter()
            .any(|e| e.starts_with(&format!("{line}:")) && e.contains(needle)),
        "expected an error at line {line} containing {needle:?}, got {errs:#?}"
    );
}

#[test]
fn syntax_error_has_position() {
    assert_error("type A @node {\n  name: String!\n", 3, "syntax error");
}

#[test]
fn unknown_type() {
    assert_error(
        "type A @node {\n  name: Strin\n}",
        2,
        "unknown type `Strin`",
    );
}

#[test]
fn relationship_to_a_type_that_is_not_a_node() {
    let src = "type A @node {\n  id: ID!\n  props: P @relationship(type: \"R\", direction: OUT)\n}\ntype P @relationshipProperties {\n  x: Int\n}";
    assert_error(src, 3, "@relationshipProperties type");
}

#[test]
fn node_field_without_relationship_directive() {
    let src = "type A @node {\n  id: ID!\n  b: B\n}\ntype B @node {\n  id: ID!\n}";
    assert_error(src, 3, "has no @relationship");
}

#[test]
fn missing_node_directive() {
    // A type without @node is the shape of @cypher results: alone it makes no API.
    assert_error("type A {\n  id: ID!\n}", 1, "declares no @node type");
    // And only a @cypher field may return it.
    assert_error(
        "type A @node {\n  id: ID!\n  b: B\n}\ntype B {\n  x: Int\n}",
        3,
        "only a @cypher field can return it",
    );
}

#[test]
fn duplicate_type_and_field() {
    let src = "type A @node {\n  id: ID!\n  id: ID!\n}\ntype A @node {\n  x: Int\n}";
    let errs = errors(src);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("3:") && e.contains("declared twice")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("5:") && e.contains("type `A` is declared twice")),
        "{errs:#?}"
    );
}

#[test]
fn bad_directive_arguments() {
    let src = "type A @node {\n  id: ID!\n  b: [B!]! @relationship(type: \"R\", direction: SIDEWAYS)\n}\ntype B @node {\n  id: ID!\n}";
    assert_error(src, 3, "must be IN or OUT");
    let src = "type A @node {\n  id: ID!\n  b: [B!]! @relationship(direction: OUT)\n}\ntype B @node {\n  id: ID!\n}";
    assert_error(src, 3, "needs `type:");
    let src = "type A @node {\n  name: String @index(kind: FAST)\n}";
    assert_error(src, 2, "must be RANGE or TEXT");
    let src = "type A @node {\n  name: [String!] @unique\n}";
    assert_error(src, 2, "@unique on list field");
    let src = "type A @node {\n  n: Int @id\n}";
    assert_error(src, 2, "only a field of type `ID`");
}

#[test]
fn unknown_directive_and_missing_properties_type() {
    assert_error(
        "type A @node {\n  id: ID! @fancy\n}",
        2,
        "unknown directive @fancy",
    );
    let src = "type A @node {\n  id: ID!\n  b: [B!]! @relationship(type: \"R\", direction: OUT, properties: \"Nope\")\n}\ntype B @node {\n  id: ID!\n}";
    assert_error(src, 3, "names no @relationshipProperties type");
}

#[test]
fn interface_rules() {
    let src = "interface I {\n  name: String!\n}\ntype A implements I @node {\n  id: ID!\n}";
    assert_error(src, 1, "lacks its field `name`");
    let src = "type A implements Nope @node {\n  id: ID!\n}";
    assert_error(src, 1, "not a declared interface");
}

#[test]
fn plural_collision_and_reserved_names() {
    let src = "type Person @node {\n  id: ID!\n}\ntype People @node @plural(value: \"people\") {\n  id: ID!\n}";
    assert_error(src, 4, "share the plural");
    assert_error("type A @node {\n  AND: Int\n}", 2, "reserved");
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = "type A @node {\n  x: Nope\n  y: AlsoNope\n}";
    assert_eq!(errors(src).len(), 2);
}

#[test]
fn rendered_error_names_file_line_and_column() {
    let err = parse_ontology("type A @node {\n  x: Nope\n}").expect_err("invalid");
    assert_eq!(
        err.render("schema/bad.graphql"),
        "schema/bad.graphql:2:6: unknown type `Nope` for field `x` of type `A` (expected a @node type, an enum, or one of ID, String, Int, Float, Boolean, BigInt, DateTime, Date, Time, LocalTime, LocalDateTime, Duration)"
    );
}

/// What `@neo4j/graphql` 7.6 refuses, refused too, each saying what to write instead.
#[test]
fn the_librarys_refusals() {
    let single = "type A @node {\n  id: ID!\n  b: B! @relationship(type: \"R\", direction: OUT)\n}\ntype B @node {\n  id: ID!\n}";
    assert_error(single, 3, "cannot be non-null (`B!`)");
    for list in ["[B]!", "[B!]", "[B]"] {
        let src = format!("type A @node {{\n  id: ID!\n  b: {list} @relationship(type: \"R\", direction: OUT)\n}}\ntype B @node {{\n  id: ID!\n}}");
        assert_error(&src, 3, "must have type `[B!]!`");
    }
    assert_error(
        "type A @node {\n  id: ID!\n  tags: [String]\n}",
        3,
        "a list of nullable elements (`[String]`)",
    );
    let rel_props = "type A @node {\n  id: ID!\n  b: [A!]! @relationship(type: \"R\", direction: OUT, properties: \"P\")\n}\ntype P @relationshipProperties {\n  roles: [String]\n}";
    assert_error(rel_props, 6, "use `[String!]`");
    let direction = |d: &str| {
        format!("type A @node {{\n  id: ID!\n  b: [A!]! @relationship(type: \"R\", direction: OUT, queryDirection: {d})\n}}")
    };
    assert_error(&direction("SIDEWAYS"), 3, "must be DIRECTED or UNDIRECTED");
    parse_ontology(&direction("DIRECTED")).expect("DIRECTED is the default");
}

#[test]
fn union_and_declared_relationship_rules() {
    let src = "union U = A | P\ntype A @node {\n  id: ID!\n}\ntype P @relationshipProperties {\n  x: Int\n}";
    assert_error(src, 1, "member `P`, which is not a @node type");
    let src = "interface I {\n  friends: [A!]!\n}\ntype A implements I @node {\n  id: ID!\n  friends: [A!]! @relationship(type: \"F\", direction: OUT)\n}";
    assert_error(src, 2, "needs @declareRelationship");
    let src = "interface I {\n  friends: [A!]! @declareRelationship\n}\ntype A implements I @node {\n  id: ID!\n}";
    assert_error(src, 1, "lacks its relationship `friends`");
    let src = "interface I {\n  friends: [A!]! @declareRelationship\n}\ntype A implements I @node {\n  id: ID!\n  friends: [B!]! @relationship(type: \"F\", direction: OUT)\n}\ntype B @node {\n  id: ID!\n}";
    assert_error(src, 1, "with a type that differs");
}

#[test]
fn schema_wide_configuration_in_one_location() {
    let src = "type A @node @mutation(operations: [DELETE]) {\n  id: ID!\n}\nextend schema @mutation(operations: [CREATE])";
    assert_error(src, 1, "use one location");
    let src = "type A @node {\n  id: ID!\n}\nextend schema @authentication";
    assert_error(src, 4, "schema-wide directive is not supported yet");
}

#[test]
fn configuration_directive_values() {
    assert_error(
        "type A @node @limit(default: 0) {\n  id: ID!\n}",
        1,
        "@limit(default:) on `A` must be a positive Int",
    );
    assert_error(
        "type A @node @limit(max: -3) {\n  id: ID!\n}",
        1,
        "@limit(max:) on `A` must be a positive Int",
    );
    assert_error(
        "type A @node {\n  id: ID!\n  at: String @timestamp\n}",
        3,
        "only a single `DateTime`",
    );
    assert_error(
        "type A @node {\n  id: ID!\n  at: DateTime @timestamp(operations: [DELETE])\n}",
        3,
        "takes CREATE and/or UPDATE",
    );
    assert_error(
        "type A @node {\n  id: ID!\n  b: [A!]! @relationship(type: \"R\", direction: OUT, nestedOperations: [MERGE])\n}",
        3,
        "unknown operation `MERGE`",
    );
    assert_error(
        "type A @node {\n  id: ID!\n  b: [A!]! @relationship(type: \"R\", direction: OUT, nestedOperations: \"CREATE\")\n}",
        3,
        "takes a list of CREATE",
    );
    assert_error(
        "type A @node {\n  sku: ID! @relayId\n  code: ID! @relayId\n}",
        1,
        "@relayId on more than one field",
    );
    assert_error(
        "type A @node {\n  sku: ID! @relayId\n  id: ID!\n}",
        1,
        "a field named `id`",
    );
}

#[test]
fn cypher_field_needs_statement_and_column_and_a_known_result() {
    assert_error(
        "type A @node {\n  id: ID!\n  n: Int @cypher(statement: \"RETURN 1 AS n\")\n}",
        3,
        "needs `columnName:`",
    );
    assert_error(
        "type A @node {\n  id: ID!\n  n: Int @cypher(columnName: \"n\")\n}",
        3,
        "needs `statement:`",
    );
    assert_error(
        "type A @node {\n  id: ID!\n  n: Int @cypher(statement: \"RETURN 1 AS n\", columnName: \"n m\")\n}",
        3,
        "is not a Cypher identifier",
    );
    // A union or interface result is accepted (its members resolved by labels).
    let o = parse_ontology(
        "type A @node {\n  id: ID!\n  u: [U!]! @cypher(statement: \"MATCH (x) RETURN x\", columnName: \"x\")\n}\ntype B @node {\n  id: ID!\n}\nunion U = A | B",
    )
    .expect("a @cypher field may return a union");
    assert!(o.node("A").is_some_and(|a| a.cypher_field("u").is_some()));
}

#[test]
fn fulltext_indexes_string_fields_under_unique_names() {
    let ok = "type M @node @fulltext(indexes: [{ indexName: \"MTitle\", fields: [\"title\"], queryName: \"mByTitle\" }]) {\n  title: String!\n}";
    let o = parse_ontology(ok).expect("valid");
    let (n, s) = o.search_field("mByTitle").expect("the search field");
    assert_eq!((n.name.as_str(), s.index_name.as_str()), ("M", "MTitle"));
    assert_error(
        "type M @node @fulltext(indexes: [{ indexName: \"MYear\", fields: [\"year\"], queryName: \"mByYear\" }]) {\n  year: Int\n}",
        1,
        "Field year is not of type String or ID",
    );
    assert_error(
        "type M @node @fulltext(indexes: [{ indexName: \"I\", fields: [\"a\"], queryName: \"q1\" }, { indexName: \"I\", fields: [\"a\"], queryName: \"q2\" }]) {\n  a: String\n}",
        1,
        "Duplicate index name",
    );
    assert_error(
        "type M @node @fulltext(indexes: [{ indexName: \"I\", fields: [\"a\"], queryName: \"ms\" }]) {\n  a: String\n}",
        1,
        "is already the list of `M`",
    );
    assert_error(
        "type M @node @fulltext(indexes: [{ indexName: \"bad name\", fields: [\"a\"], queryName: \"q\" }]) {\n  a: String\n}",
        1,
        "is not a valid name",
    );
}

#[test]
fn vector_indexes_hold_float_lists_and_providers_are_refused() {
    assert_error(
        "type D @node @vector(indexes: [{ indexName: \"E\", embeddingProperty: \"e\", queryName: \"like\" }]) {\n  e: String\n}",
        1,
        "must be of type [Float!]",
    );
    assert_error(
        "type D @node @vector(indexes: [{ indexName: \"E\", embeddingProperty: \"e\", queryName: \"like\", provider: OPEN_AI }]) {\n  e: [Float!]\n}",
        1,
        "`provider` (querying by phrase through an embedding provider) is not supported",
    );
}
