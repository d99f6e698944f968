package dev.local.neo4j;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Transaction;

/**
 * Build-time check that the embedded DBMS starts with Bolt and supports the Cypher the project uses:
 * COLLECT/COUNT/EXISTS subquery expressions, CALL subqueries, constraints and indexes with IF NOT EXISTS,
 * SHOW INDEXES YIELD *, and the routing-table procedure.
 */
final class SelfTest {
    private SelfTest() {}

    static int run(Path dir) throws Exception {
        deleteRecursively(dir);
        Files.createDirectories(dir);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> failures = new ArrayList<>();
        DatabaseManagementService dbms = Neo4jLocal.builder(port, dir, null).build();
        try {
            GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            Neo4jLocal.awaitReady(db, port);

            exec(db, "CREATE CONSTRAINT selftest_id IF NOT EXISTS FOR (n:SelfTest) REQUIRE n.id IS UNIQUE");
            exec(db, "CREATE CONSTRAINT selftest_id IF NOT EXISTS FOR (n:SelfTest) REQUIRE n.id IS UNIQUE");
            exec(db, "CREATE INDEX selftest_name IF NOT EXISTS FOR (n:SelfTest) ON (n.name)");
            exec(db, "CREATE INDEX selftest_name IF NOT EXISTS FOR (n:SelfTest) ON (n.name)");
            exec(db, "CALL db.awaitIndexes(60)");
            exec(db, "UNWIND range(1, 4) AS i CREATE (:SelfTest {id: i, name: 'n' + i})");
            exec(db, "MATCH (a:SelfTest {id: 1}), (b:SelfTest) WHERE b.id > 1 CREATE (a)-[:R]->(b)");

            check(failures, db, "COLLECT { }",
                    "MATCH (a:SelfTest {id: 1}) RETURN COLLECT { MATCH (a)-[:R]->(b) RETURN b.id ORDER BY b.id } AS v",
                    List.of(2L, 3L, 4L));
            check(failures, db, "COUNT { }", "MATCH (a:SelfTest {id: 1}) RETURN COUNT { (a)-[:R]->() } AS v", 3L);
            check(failures, db, "EXISTS { }",
                    "MATCH (a:SelfTest) WHERE EXISTS { (a)-[:R]->() } RETURN count(a) AS v", 1L);
            check(failures, db, "CALL (x) { }",
                    "MATCH (a:SelfTest {id: 1}) CALL (a) { MATCH (a)-[:R]->(b) RETURN max(b.id) AS m } RETURN m AS v",
                    4L);
            check(failures, db, "CALL { WITH x }",
                    "MATCH (a:SelfTest {id: 1}) CALL { WITH a MATCH (a)-[:R]->(b) RETURN min(b.id) AS m } RETURN m AS v",
                    2L);
            check(failures, db, "SHOW INDEXES YIELD *",
                    "SHOW INDEXES YIELD * WHERE name IN ['selftest_id', 'selftest_name'] AND state = 'ONLINE' "
                            + "RETURN count(*) AS v",
                    2L);
            try (Transaction tx = db.beginTx()) {
                tx.execute("CREATE (:SelfTest {id: 1})").close();
                tx.commit();
                failures.add("unique constraint was not enforced");
            } catch (RuntimeException expected) {
                Neo4jLocal.info("self-test ok: unique constraint enforced");
            }
            try (Transaction tx = db.beginTx()) {
                var r = tx.execute("CALL dbms.routing.getRoutingTable({}, 'neo4j') YIELD ttl, servers "
                        + "RETURN ttl, servers");
                Neo4jLocal.info("self-test routing table: " + (r.hasNext() ? r.next() : "(no rows)"));
                r.close();
            } catch (RuntimeException e) {
                Neo4jLocal.info("self-test routing table: not available: " + e.getMessage());
            }
        } catch (RuntimeException e) {
            failures.add("unexpected error: " + e);
        } finally {
            dbms.shutdown();
            deleteRecursively(dir);
        }
        if (failures.isEmpty()) {
            Neo4jLocal.info("SELF-TEST PASSED (neo4j " + org.neo4j.kernel.internal.Version.getNeo4jVersion() + ")");
            return 0;
        }
        failures.forEach(f -> Neo4jLocal.info("SELF-TEST FAILURE: " + f));
        return 1;
    }

    private static void exec(GraphDatabaseService db, String cypher) {
        try (Transaction tx = db.beginTx()) {
            tx.execute(cypher).close();
            tx.commit();
        }
    }

    private static void check(List<String> failures, GraphDatabaseService db, String what, String cypher,
            Object expected) {
        try (Transaction tx = db.beginTx()) {
            var r = tx.execute(cypher);
            Map<String, Object> row = r.hasNext() ? r.next() : Map.of();
            r.close();
            Object actual = row.get("v");
            if (Objects.equals(actual, expected)) {
                Neo4jLocal.info("self-test ok: " + what);
            } else {
                failures.add(what + ": expected " + expected + " but got " + actual);
            }
        } catch (RuntimeException e) {
            failures.add(what + ": " + e.getMessage());
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
