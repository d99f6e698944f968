#!/usr/bin/env node
// The reference peer: @neo4j/graphql v7 served by graphql-yoga over node:http.
//
// Usage: node server.mjs [--port 4000] [--typedefs <repo>/schema/ontology.graphql] [--apoc-shim auto|on|off]
// Env:   NEO4J_URI (bolt://127.0.0.1:17687), NEO4J_USER (neo4j), NEO4J_PASSWORD (password),
//        NEO4J_DATABASE (optional; the library's default, "neo4j", otherwise)
//        PEER_APOC_SHIM (auto|on|off, same as --apoc-shim; default auto)
// The library needs APOC (apoc.date.convertFormat) to return DateTime values. With
// --apoc-shim auto, a database without APOC gets an exact emulation of that one call
// (lib/apoc-shim.mjs) and a warning on stderr; "off" never emulates, "on" always does.
// Prints exactly one line `peer listening on http://127.0.0.1:PORT/graphql` when ready.
import { createServer } from "node:http";
import path from "node:path";
import neo4j from "neo4j-driver";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { createYoga } from "graphql-yoga";
import { DEFAULT_TYPEDEFS, loadTypeDefs, parseArgs } from "./lib/typedefs.mjs";
import { hasApocConvertFormat, wrapDriver } from "./lib/apoc-shim.mjs";

const args = parseArgs(process.argv.slice(2), {
  options: { port: "4000", typedefs: DEFAULT_TYPEDEFS, host: "127.0.0.1", apocShim: process.env.PEER_APOC_SHIM || "auto" },
});
const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${args.port}`);
  process.exit(2);
}

const uri = process.env.NEO4J_URI || "bolt://127.0.0.1:17687";
const user = process.env.NEO4J_USER || "neo4j";
const password = process.env.NEO4J_PASSWORD || "password";
const database = process.env.NEO4J_DATABASE || undefined;

const driver = neo4j.driver(uri, neo4j.auth.basic(user, password), {
  disableLosslessIntegers: false,
  maxConnectionPoolSize: 100,
});

// Wait (bounded) for Neo4j, so that "listening" really means ready to answer.
const connectDeadline = Date.now() + Number(process.env.PEER_CONNECT_TIMEOUT_MS || 60_000);
for (;;) {
  try {
    await driver.verifyConnectivity(database ? { database } : undefined);
    break;
  } catch (err) {
    if (Date.now() > connectDeadline) {
      console.error(`peer: cannot reach Neo4j at ${uri}: ${err.message}`);
      await driver.close().catch(() => {});
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

let useShim = args.apocShim === "on";
if (args.apocShim === "auto" && !(await hasApocConvertFormat(driver, database))) {
  console.error("peer: WARNING: Neo4j has no APOC (apoc.date.convertFormat); emulating it for DateTime values (lib/apoc-shim.mjs)");
  useShim = true;
} else if (!["auto", "on", "off"].includes(args.apocShim)) {
  console.error(`invalid --apoc-shim ${args.apocShim} (auto|on|off)`);
  process.exit(2);
}

const typeDefs = loadTypeDefs(path.resolve(args.typedefs));
const schema = await new Neo4jGraphQL({ typeDefs, driver: useShim ? wrapDriver(driver) : driver }).getSchema();

const yoga = createYoga({
  schema,
  graphqlEndpoint: "/graphql",
  graphiql: false,
  landingPage: false,
  maskedErrors: false,
  logging: false,
  context: database ? () => ({ sessionConfig: { database } }) : undefined,
});

const server = createServer(yoga);
server.keepAliveTimeout = 65_000;

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections?.();
  // Closing the driver is polite but can take a while; never let it delay the exit much.
  await Promise.race([driver.close().catch(() => {}), new Promise((r) => setTimeout(r, 300))]);
  process.exit(signal === "SIGINT" ? 130 : 0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

server.listen(port, args.host, () => {
  const { port: actual } = server.address();
  process.stdout.write(`peer listening on http://127.0.0.1:${actual}/graphql\n`);
});
