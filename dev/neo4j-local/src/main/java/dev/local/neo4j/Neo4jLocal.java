package dev.local.neo4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * One JVM = one independent embedded Neo4j instance, reachable over Bolt on loopback only, auth disabled.
 *
 * <pre>
 *   java -jar target/neo4j-local.jar --port 17687 --data-dir DIR [--log-file FILE] [--config neo4j.conf]
 *   java -jar target/neo4j-local.jar --self-test DIR
 * </pre>
 *
 * {@code --self-test} starts a throw-away instance in DIR on a free port, checks the Cypher features the project
 * relies on and exits 0/1; scripts/stack runs it after each build (it doubles as the training run for the
 * class-data-sharing archive that cuts JVM start time).
 *
 * Memory knobs (env): NEO4J_PAGECACHE (default 256m), NEO4J_TX_MEMORY (default 512m). The heap is set on the
 * java command line (scripts/stack uses NEO4J_HEAP, default 768m).
 *
 * Prints {@code NEO4J-LOCAL READY bolt://127.0.0.1:PORT} once a Bolt handshake succeeds; on SIGTERM the shutdown
 * hook stops the DBMS and prints {@code NEO4J-LOCAL STOPPED}.
 */
public final class Neo4jLocal {
    public static final String READY_MARKER = "NEO4J-LOCAL READY";
    private static final String HOST = "127.0.0.1";

    private static PrintStream logFile;

    private Neo4jLocal() {}

    public static void main(String[] args) throws Exception {
        int port = -1;
        Path dataDir = null;
        Path log = null;
        Path extraConf = null;
        Path selfTest = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = (i + 1 < args.length) ? args[i + 1] : null;
            switch (a) {
                case "--port" -> { port = Integer.parseInt(require(a, v)); i++; }
                case "--data-dir" -> { dataDir = Path.of(require(a, v)); i++; }
                case "--log-file" -> { log = Path.of(require(a, v)); i++; }
                case "--config" -> { extraConf = Path.of(require(a, v)); i++; }
                case "--self-test" -> { selfTest = Path.of(require(a, v)); i++; }
                case "-h", "--help" -> { usage(); return; }
                default -> { System.err.println("unknown argument: " + a); usage(); System.exit(2); }
            }
        }
        if (selfTest != null) {
            System.exit(SelfTest.run(selfTest));
        }
        if (port <= 0 || dataDir == null) {
            usage();
            System.exit(2);
        }
        dataDir = dataDir.toAbsolutePath();
        Files.createDirectories(dataDir);
        if (log == null) {
            log = dataDir.resolve("logs").resolve("neo4j-local.log");
        }
        Files.createDirectories(log.toAbsolutePath().getParent());
        logFile = new PrintStream(Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND),
                true, StandardCharsets.UTF_8);

        info("starting embedded Neo4j (bolt " + HOST + ":" + port + ", home " + dataDir + ", pagecache "
                + env("NEO4J_PAGECACHE", "256m") + ", heap max " + Runtime.getRuntime().maxMemory() / (1024 * 1024)
                + "m)");
        Instant t0 = Instant.now();
        DatabaseManagementService dbms = builder(port, dataDir, extraConf).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            info("shutdown requested, stopping Neo4j");
            try {
                dbms.shutdown();
                info("NEO4J-LOCAL STOPPED");
            } catch (Throwable t) {
                info("error during shutdown: " + t);
            } finally {
                stopped.countDown();
            }
        }, "neo4j-local-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        awaitReady(db, port);
        info(READY_MARKER + " bolt://" + HOST + ":" + port + " (neo4j "
                + org.neo4j.kernel.internal.Version.getNeo4jVersion() + ", started in "
                + Duration.between(t0, Instant.now()).toMillis() + " ms, pid " + ProcessHandle.current().pid() + ")");
        stopped.await();
    }

    /** Waits for the default database, runs a trivial transaction and a Bolt handshake; exits the JVM on failure. */
    static void awaitReady(GraphDatabaseService db, int port) throws InterruptedException {
        if (!db.isAvailable(Duration.ofMinutes(5).toMillis())) {
            info("FATAL: default database did not become available");
            System.exit(1);
        }
        try (var tx = db.beginTx()) {
            tx.execute("RETURN 1").close();
            tx.commit();
        }
        waitForBoltHandshake(port, Duration.ofMinutes(2));
    }

    static DatabaseManagementServiceBuilder builder(int port, Path dataDir, Path extraConf) {
        long pagecache = parseBytes(env("NEO4J_PAGECACHE", "256m"));
        long txMemory = parseBytes(env("NEO4J_TX_MEMORY", "512m"));
        SocketAddress bolt = new SocketAddress(HOST, port);
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(dataDir)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                .setConfig(BoltConnector.advertised_address, bolt)
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pagecache)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemory)
                // The server-side routing connector would otherwise bind a fixed port (7688) per instance.
                .setConfig(GraphDatabaseSettings.routing_enabled, false)
                // Dev data: keep transaction logs small.
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
                .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress(HOST))
                // Bolt's Netty shutdown otherwise idles 2 x 5 s on every stop.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5));
        if (extraConf != null) {
            builder.loadPropertiesFromFile(extraConf);
        }
        return builder;
    }

    /** Connects to the Bolt port and does the Bolt version handshake, retrying until it succeeds. */
    static void waitForBoltHandshake(int port, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        // magic 0x6060B017, then four version proposals: 5.x (range 5.0-5.4), 4.4, none, none
        byte[] hello = {
            0x60, 0x60, (byte) 0xB0, 0x17,
            0x00, 0x04, 0x04, 0x05,
            0x00, 0x00, 0x04, 0x04,
            0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00
        };
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(HOST, port), 2000);
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(hello);
                out.flush();
                InputStream in = s.getInputStream();
                byte[] resp = in.readNBytes(4);
                if (resp.length == 4 && (resp[2] != 0 || resp[3] != 0)) {
                    return;
                }
                last = new IOException("unexpected handshake response of " + resp.length + " bytes");
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(200);
        }
        info("FATAL: Bolt did not answer on " + HOST + ":" + port + ": " + last);
        System.exit(1);
    }

    private static String require(String flag, String value) {
        if (value == null) {
            System.err.println("missing value for " + flag);
            System.exit(2);
        }
        return value;
    }

    static String env(String name, String dflt) {
        String v = System.getenv(name);
        return (v == null || v.isBlank()) ? dflt : v.trim();
    }

    static long parseBytes(String s) {
        String v = s.trim().toLowerCase();
        long mult = 1;
        char last = v.charAt(v.length() - 1);
        if (last == 'k' || last == 'm' || last == 'g') {
            mult = switch (last) {
                case 'k' -> 1024L;
                case 'm' -> 1024L * 1024;
                default -> 1024L * 1024 * 1024;
            };
            v = v.substring(0, v.length() - 1);
        }
        return Long.parseLong(v) * mult;
    }

    static synchronized void info(String msg) {
        String line = Instant.now() + " [neo4j-local] " + msg;
        System.out.println(line);
        System.out.flush();
        if (logFile != null) {
            logFile.println(line);
        }
    }

    private static void usage() {
        System.err.println("usage: neo4j-local --port PORT --data-dir DIR [--log-file FILE] [--config neo4j.conf]\n"
                + "       neo4j-local --self-test DIR\n"
                + "  env: NEO4J_PAGECACHE (default 256m), NEO4J_TX_MEMORY (default 512m)");
    }
}
