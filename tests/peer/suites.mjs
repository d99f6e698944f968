#!/usr/bin/env node
// Differential suites: type definitions other than the default ontology, each with its own
// fixture and operations, run through @neo4j/graphql 7.6 (in this process) and through Ontograph
// (`ontograph --ontology <suite>/typedefs.graphql serve`, started here) on the same Neo4j.
//
//   tests/differential/suites/<name>/typedefs.graphql   the type definitions
//   tests/differential/suites/<name>/fixture.cypher     statements separated by `;` lines
//   tests/differential/suites/<name>/operations/NN-*.graphql  (+ NN-*.variables.json)
//
// Before every operation the database is wiped and the fixture loaded. A query must return the
// same `data` from both. A mutation runs on the library, the graph is read back (every node's
// labels and properties, every relationship's type, properties and ends), the fixture is loaded
// again, the mutation runs on Ontograph, and both the returned `data` and the graph must be
// equal. Type definitions that declare @fulltext or @vector get their indexes from
// `ontograph migrate`, as a user would create them, before the suite runs. An operation file
// may say:
//   # expect: errors        both must answer with errors (and the same data)
//   # generated: id, at     properties whose values each system generates (ids, timestamps):
//                           compared as present or absent, not by value
//   # caller: {"sub": "u1", "roles": ["read", "hr"]}   the operation runs as this caller: both
//                           get the same signed HS256 token with these claims (the library
//                           verifies it with `features.authorization`); `# caller: anonymous`
//                           sends no credential.
//   # expect data: {...}    where the library is known to answer otherwise (a documented
//                           deviation, e.g. the library leaking what a read rule hides through a
//                           relationship filter), Ontograph's `data` must equal this instead;
//                           the library's answer is printed.
// A suite with callers runs Ontograph with access control on (a secret made up for the run,
// anonymous reads allowed); its other operations run as a caller with roles read and write,
// the library's unauthenticated.
//
// THIS WIPES THE DATABASE at NEO4J_URI. Usage:
//   node suites.mjs --ontograph-bin target/debug/ontograph [--only NAME[,NAME]] [--keep-going]
import { execFileSync, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { graphql } from "graphql";
import neo4j from "neo4j-driver";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { REPO_ROOT, parseArgs, stripOntographDirectives } from "./lib/typedefs.mjs";
import { hasApocConvertFormat, wrapDriver } from "./lib/apoc-shim.mjs";

const args = parseArgs(process.argv.slice(2), {
  flags: ["keep-going"],
  options: {
    ontographBin: path.join(REPO_ROOT, "target", "debug", "ontograph"),
    suites: path.join(REPO_ROOT, "tests", "differential", "suites"),
    only: "",
  },
});

const uri = process.env.NEO4J_URI || "bolt://127.0.0.1:17687";
const driver = neo4j.driver(uri, neo4j.auth.basic(process.env.NEO4J_USER || "neo4j", process.env.NEO4J_PASSWORD || "password"));
const shim = !(await hasApocConvertFormat(driver, undefined));

async function run(cypher, params = {}) {
  const session = driver.session();
  try {
    return await session.run(cypher, params);
  } finally {
    await session.close();
  }
}

async function reset(fixture, searched) {
  // In batches: the database may hold far more than one transaction's memory allows.
  await run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS");
  await run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS");
  for (const st of fixture) await run(st);
  // Search indexes see the fixture once they are online.
  if (searched) await run("CALL db.awaitIndexes(60)");
}

/** A Neo4j value as plain JSON (integers as numbers, temporal and spatial values as text). */
function plain(v) {
  if (v === null || v === undefined) return null;
  if (neo4j.isInt(v)) return v.toNumber();
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") {
    if (typeof v.toString === "function" && v.constructor && v.constructor.name !== "Object") return v.toString();
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

const sortKeys = (v) =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
      : v;

/** Every node (labels, properties) and relationship (type, properties, ends), canonical. */
async function graphState(generated) {
  const mask = (props) =>
    Object.fromEntries(Object.entries(props).map(([k, v]) => [k, generated.has(k) ? (v === null ? null : "<generated>") : v]));
  const nodes = (await run("MATCH (n) RETURN elementId(n) AS id, labels(n) AS l, properties(n) AS p")).records.map((r) => ({
    id: r.get("id"),
    labels: [...r.get("l")].sort(),
    props: mask(plain(r.get("p"))),
  }));
  const text = new Map(nodes.map((n) => [n.id, JSON.stringify(sortKeys({ l: n.labels, p: n.props }))]));
  const rels = (await run("MATCH (a)-[r]->(b) RETURN elementId(a) AS a, type(r) AS t, properties(r) AS p, elementId(b) AS b")).records.map(
    (r) => JSON.stringify(sortKeys({ from: text.get(r.get("a")), type: r.get("t"), props: mask(plain(r.get("p"))), to: text.get(r.get("b")) })),
  );
  return { nodes: [...text.values()].sort(), relationships: rels.sort() };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** The HS256 secret of the Ontograph instances that check callers (made up for this run). */
const JWT_SECRET = randomBytes(24).toString("hex");

/** A signed HS256 token with these claims, valid for ten minutes. */
function token(claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
  return `${body}.${createHmac("sha256", JWT_SECRET).update(body).digest("base64url")}`;
}

async function startOntograph(typedefs, checksCallers) {
  const port = await freePort();
  const log = [];
  const child = spawn(args.ontographBin, ["--ontology", typedefs, "serve", "--listen", `127.0.0.1:${port}`], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NEO4J_URI: uri,
      NEO4J_READER_URIS: "",
      ONTOGRAPH_INGEST: "off",
      ONTOGRAPH_CACHE_TTL: "off",
      ...(checksCallers ? { ONTOGRAPH_JWT_SECRET: JWT_SECRET, ONTOGRAPH_ANONYMOUS_READS: "true" } : {}),
      RUST_LOG: "warn",
      RUST_BACKTRACE: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => log.push(String(d)));
  child.stderr.on("data", (d) => log.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let last = "";
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ontograph serve exited:\n${log.join("")}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
      last = await r.text();
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`ontograph serve did not get ready (${last}):\n${log.slice(0, 20).join("")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url: `${url}/graphql`, stop: () => child.kill("SIGTERM"), log };
}

function loadOperations(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => {
      const text = readFileSync(path.join(dir, f), "utf8");
      const vars = path.join(dir, f.replace(/\.graphql$/, ".variables.json"));
      const generated = (text.match(/^# generated:(.*)$/m)?.[1] || "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      return {
        name: f.replace(/\.graphql$/, ""),
        text,
        variables: existsSync(vars) ? JSON.parse(readFileSync(vars, "utf8")) : {},
        expectErrors: /^# expect: errors\s*$/m.test(text),
        caller: text.match(/^# caller:(.*)$/m)?.[1].trim(),
        expectData: text.match(/^# expect data:(.*)$/m)?.[1].trim(),
        mutation: /^\s*mutation\b/m.test(text.replace(/^#.*$/gm, "")),
        generated: new Set(generated),
      };
    });
}

/** The caller's claims (`null`: anonymous; `undefined`: the suite's default caller). */
function claimsOf(op) {
  if (op.caller === undefined) return undefined;
  return op.caller === "anonymous" ? null : JSON.parse(op.caller);
}

async function viaOntograph(url, op, checksCallers) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const claims = claimsOf(op);
  if (checksCallers && claims !== null) {
    headers.authorization = `Bearer ${token(claims ?? { sub: "suite", roles: ["read", "write"] })}`;
  }
  const r = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query: op.text, variables: op.variables }) });
  return r.json();
}

async function viaLibrary(schema, op) {
  const claims = claimsOf(op);
  const contextValue = claims ? { token: `Bearer ${token(claims)}` } : {};
  const result = await graphql({ schema, source: op.text, variableValues: op.variables, contextValue });
  return JSON.parse(JSON.stringify(result));
}

/** `data` with generated properties compared as present or absent. */
function maskData(data, generated) {
  if (Array.isArray(data)) return data.map((d) => maskData(d, generated));
  if (data && typeof data === "object") {
    return Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, generated.has(k) && v !== null && typeof v !== "object" ? "<generated>" : maskData(v, generated)]),
    );
  }
  return data;
}

const only = args.only ? args.only.split(",") : [];
const suites = readdirSync(args.suites)
  .filter((d) => existsSync(path.join(args.suites, d, "typedefs.graphql")))
  .filter((d) => only.length === 0 || only.some((o) => d.includes(o)))
  .sort();
let failures = 0;
let total = 0;
for (const suite of suites) {
  const dir = path.join(args.suites, suite);
  const typedefs = path.join(dir, "typedefs.graphql");
  const fixture = readFileSync(path.join(dir, "fixture.cypher"), "utf8")
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\/\/.*$/gm, "").trim())
    .filter(Boolean);
  const operations = loadOperations(path.join(dir, "operations"));
  const checksCallers = operations.some((op) => op.caller !== undefined);
  const schema = await new Neo4jGraphQL({
    typeDefs: stripOntographDirectives(readFileSync(typedefs, "utf8")),
    driver: shim ? wrapDriver(driver) : driver,
    ...(checksCallers ? { features: { authorization: { key: JWT_SECRET } } } : {}),
  }).getSchema();
  const searched = /@(fulltext|vector)\b/.test(readFileSync(typedefs, "utf8"));
  if (searched) {
    execFileSync(args.ontographBin, ["--ontology", typedefs, "migrate"], {
      cwd: REPO_ROOT,
      env: { ...process.env, NEO4J_URI: uri, NEO4J_READER_URIS: "" },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const og = await startOntograph(typedefs, checksCallers);
  try {
    for (const op of operations) {
      total++;
      const label = `${suite}/${op.name}`;
      const problems = [];
      await reset(fixture, searched);
      const lib = await viaLibrary(schema, op);
      const libGraph = op.mutation ? await graphState(op.generated) : null;
      if (op.mutation) await reset(fixture, searched);
      const ours = await viaOntograph(og.url, op, checksCallers);
      const ourGraph = op.mutation ? await graphState(op.generated) : null;
      const libErr = (lib.errors || []).length > 0;
      const ourErr = (ours.errors || []).length > 0;
      if (op.expectErrors) {
        if (!libErr) problems.push(`the library answered without errors: ${JSON.stringify(lib.data)}`);
        if (!ourErr) problems.push(`Ontograph answered without errors: ${JSON.stringify(ours.data)}`);
      } else {
        if (libErr) problems.push(`the library answered with errors: ${JSON.stringify(lib.errors.map((e) => e.message))}`);
        if (ourErr) problems.push(`Ontograph answered with errors: ${JSON.stringify(ours.errors.map((e) => e.message))}`);
      }
      const a = maskData(ours.data ?? null, op.generated);
      const b = op.expectData ? JSON.parse(op.expectData) : maskData(lib.data ?? null, op.generated);
      if (!isDeepStrictEqual(a, b)) problems.push(`data differs:\n  ontograph: ${JSON.stringify(a)}\n  ${op.expectData ? "expected" : "library"}:   ${JSON.stringify(b)}`);
      if (op.expectData) console.log(`# ${suite}/${op.name}: the library answers ${JSON.stringify(lib.data ?? null)} (a documented deviation)`);
      if (op.mutation && !isDeepStrictEqual(ourGraph, libGraph)) {
        const only = (x, y) => x.filter((e) => !y.includes(e));
        problems.push(
          "the graphs differ after the mutation:\n" +
            [
              ...only(ourGraph.nodes, libGraph.nodes).map((n) => `  only Ontograph's node: ${n}`),
              ...only(libGraph.nodes, ourGraph.nodes).map((n) => `  only the library's node: ${n}`),
              ...only(ourGraph.relationships, libGraph.relationships).map((r) => `  only Ontograph's relationship: ${r}`),
              ...only(libGraph.relationships, ourGraph.relationships).map((r) => `  only the library's relationship: ${r}`),
            ].join("\n"),
        );
      }
      if (problems.length) {
        failures++;
        console.log(`not ok ${label}\n${problems.map((p) => "  " + p).join("\n")}`);
        if (!args.keepGoing) break;
      } else {
        console.log(`ok ${label}${op.mutation ? " (data and graph)" : ""}`);
      }
    }
  } finally {
    og.stop();
  }
  if (failures && !args.keepGoing) break;
}
await driver.close();
console.log(`differential suites: ${suites.length} suites, ${total} operations, ${failures} failed`);
process.exit(failures ? 1 : 0);
