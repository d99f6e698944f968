#!/usr/bin/env node
// Differential test: every query in tests/differential/queries/ must give the same `data` on
// Ontograph and on the reference peer (@neo4j/graphql v7), and no `errors` on either side.
//
//   node differential.mjs --ontograph http://127.0.0.1:8080/graphql --peer http://127.0.0.1:4000/graphql
//   node differential.mjs --ontograph URL                 # starts its own peer (server.mjs, random port)
//   node differential.mjs --peer-only [--peer URL]        # only checks that every query runs on the peer
//
// Options:
//   --queries DIR     query folder (default <repo>/tests/differential/queries)
//   --only SUBSTR     run only query files whose name contains SUBSTR (comma-separated list)
//   --dump-dir DIR    write each side's response to DIR/<name>.<side>.json
//   --min-leaves N    (peer-only) fail a query whose peer data has fewer than N leaf values
//   --timeout MS      per-request timeout (default 30000)
//   --typedefs FILE   ontology the queries are written against (default <repo>/schema/ontology.graphql);
//                     every query is first validated against the schema the peer generates from it,
//                     deprecated fields and arguments (the v6-style `_EQ`, `_SOME`, ...) are refused.
//
// Query files: NN-name.graphql, with optional NN-name.variables.json. A query that is meant to
// fail on both sides carries a line `# expect: errors`; then both sides must return errors and
// the same `data`. Cursor values (fields named cursor, startCursor, endCursor, under any alias)
// are opaque and system-specific, so only their presence (null or not) is compared.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { Kind, parse, validate, specifiedRules, NoDeprecatedCustomRule } from "graphql";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { DEFAULT_TYPEDEFS, PEER_DIR, REPO_ROOT, loadTypeDefs, parseArgs } from "./lib/typedefs.mjs";

const args = parseArgs(process.argv.slice(2), {
  flags: ["peer-only"],
  options: {
    ontograph: "",
    peer: "",
    typedefs: DEFAULT_TYPEDEFS,
    queries: path.join(REPO_ROOT, "tests", "differential", "queries"),
    only: "",
    dumpDir: "",
    minLeaves: "0",
    timeout: "30000",
  },
});
if (!args.peerOnly && !args.ontograph) {
  console.error("differential: give --ontograph URL (and optionally --peer URL), or --peer-only");
  process.exit(2);
}
const TIMEOUT = Number(args.timeout);
const MIN_LEAVES = Number(args.minLeaves);
const CURSOR_FIELDS = new Set(["cursor", "startCursor", "endCursor"]);

// ---------------------------------------------------------------- query files
export function loadQueries(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".graphql")).sort();
  const only = args.only ? args.only.split(",").filter(Boolean) : [];
  return files
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .map((file) => {
      const name = file.replace(/\.graphql$/, "");
      const query = readFileSync(path.join(dir, file), "utf8");
      const varsFile = path.join(dir, `${name}.variables.json`);
      const variables = existsSync(varsFile) ? JSON.parse(readFileSync(varsFile, "utf8")) : undefined;
      const expectErrors = /^\s*#\s*expect:\s*errors\b/m.test(query);
      return { name, query, variables, expectErrors };
    });
}

// ---------------------------------------------------------------- helpers
async function post(url, query, variables) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(variables === undefined ? { query } : { query, variables }),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, body };
}

/**
 * Replace cursor values by a marker that only keeps their null-ness. Walks the data together
 * with the query's selection sets, so that aliased cursor fields (`c: cursor`) are found and
 * a field merely aliased `cursor` is not masked. Type conditions are ignored (fragments are
 * flattened), which is exact for the field names that matter here.
 */
export function normalize(value, document) {
  const fragments = new Map();
  let operation = null;
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (def.kind === Kind.OPERATION_DEFINITION && !operation) operation = def;
  }
  const fieldsByKey = (selectionSets) => {
    const out = new Map();
    const visitSet = (set) => {
      for (const sel of set?.selections ?? []) {
        if (sel.kind === Kind.FIELD) {
          const key = sel.alias?.value ?? sel.name.value;
          if (!out.has(key)) out.set(key, []);
          out.get(key).push(sel);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) visitSet(sel.selectionSet);
        else if (sel.kind === Kind.FRAGMENT_SPREAD) visitSet(fragments.get(sel.name.value)?.selectionSet);
      }
    };
    selectionSets.forEach(visitSet);
    return out;
  };
  const walk = (v, selectionSets) => {
    if (Array.isArray(v)) return v.map((x) => walk(x, selectionSets));
    if (v === null || typeof v !== "object") return v;
    const fields = fieldsByKey(selectionSets);
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const nodes = fields.get(k) ?? [];
      if (nodes.length > 0 && CURSOR_FIELDS.has(nodes[0].name.value)) out[k] = x === null || x === undefined ? null : "<cursor>";
      else out[k] = walk(x, nodes.map((n) => n.selectionSet).filter(Boolean));
    }
    return out;
  };
  return walk(value, operation ? [operation.selectionSet] : []);
}

const typeOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** First path at which a and b differ, or null when deep-equal (key order ignored). */
export function firstDifference(a, b, p = "data") {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta !== tb) return { path: p, a, b };
  if (ta === "array") {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const d = firstDifference(a[i], b[i], `${p}[${i}]`);
      if (d) return d;
    }
    if (a.length !== b.length) return { path: `${p}.length`, a: a.length, b: b.length };
    return null;
  }
  if (ta === "object") {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      if (!(k in a) || !(k in b)) return { path: `${p}.${k}`, a: k in a ? a[k] : "<missing>", b: k in b ? b[k] : "<missing>" };
      const d = firstDifference(a[k], b[k], `${p}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, b) || a === b ? null : { path: p, a, b };
}

/** Counts leaf (scalar, non-null) values and non-empty lists in a response's data. */
export function stats(value, acc = { leaves: 0, nulls: 0, lists: 0, nonEmptyLists: 0 }) {
  if (value === null || value === undefined) acc.nulls++;
  else if (Array.isArray(value)) {
    acc.lists++;
    if (value.length > 0) acc.nonEmptyLists++;
    value.forEach((v) => stats(v, acc));
  } else if (typeof value === "object") Object.values(value).forEach((v) => stats(v, acc));
  else acc.leaves++;
  return acc;
}

const show = (v, max = 600) => {
  const s = JSON.stringify(v, null, 0);
  return s === undefined ? String(v) : s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
};
const showErrors = (errors) =>
  errors.map((e) => `  - ${e.message}${e.path ? ` (at ${e.path.join(".")})` : ""}`).join("\n");

// ---------------------------------------------------------------- peer lifecycle
async function startPeer() {
  const child = spawn(process.execPath, [path.join(PEER_DIR, "server.mjs"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: process.env,
  });
  const url = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error("peer did not start within 90 s")), 90_000);
    rl.on("line", (line) => {
      const m = /^peer listening on (\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited with code ${code} before listening`));
    });
  });
  // Never leave the peer behind, whatever way this process ends.
  process.on("exit", () => child.kill("SIGTERM"));
  return { url, stop: () => child.kill("SIGTERM") };
}

// ---------------------------------------------------------------- the tests
const queries = loadQueries(path.resolve(args.queries));
if (queries.length === 0) {
  console.error(`differential: no .graphql files in ${args.queries}`);
  process.exit(2);
}

let peerUrl = args.peer;
if (!peerUrl) {
  const peer = await startPeer();
  peerUrl = peer.url;
  after(() => peer.stop());
}
const ontographUrl = args.ontograph;
if (args.dumpDir) mkdirSync(args.dumpDir, { recursive: true });
const dump = (name, side, body) => {
  if (args.dumpDir) writeFileSync(path.join(args.dumpDir, `${name}.${side}.json`), JSON.stringify(body, null, 2) + "\n");
};

// The schema the peer generates (no Neo4j needed), to validate the queries themselves.
const peerSchema = await new Neo4jGraphQL({ typeDefs: loadTypeDefs(path.resolve(args.typedefs)) }).getSchema();
const RULES = [...specifiedRules, NoDeprecatedCustomRule];

for (const q of queries) {
  test(q.name, async (t) => {
    const document = parse(q.query);
    const problems = validate(peerSchema, document, RULES);
    assert.equal(problems.length, 0, `query is not valid against the v7 schema (non-deprecated API):\n${problems.map((e) => `  - ${e.message}`).join("\n")}`);
    const peer = await post(peerUrl, q.query, q.variables);
    dump(q.name, "peer", peer.body);
    const peerErrors = peer.body.errors ?? [];
    const peerData = normalize(peer.body.data ?? null, document);
    const s = stats(peerData);
    t.diagnostic(`peer: ${s.leaves} leaf values, ${s.nonEmptyLists}/${s.lists} non-empty lists, ${s.nulls} nulls`);

    if (q.expectErrors) {
      assert.ok(peerErrors.length > 0, `expected errors from the peer, got data ${show(peer.body.data)}`);
    } else {
      assert.equal(peerErrors.length, 0, `peer returned errors:\n${showErrors(peerErrors)}`);
    }
    if (args.peerOnly) {
      if (!q.expectErrors && MIN_LEAVES > 0) {
        assert.ok(s.leaves >= MIN_LEAVES, `peer data has only ${s.leaves} leaf values (< --min-leaves ${MIN_LEAVES}): ${show(peerData)}`);
      }
      return;
    }

    const og = await post(ontographUrl, q.query, q.variables);
    dump(q.name, "ontograph", og.body);
    const ogErrors = og.body.errors ?? [];
    if (q.expectErrors) {
      assert.ok(ogErrors.length > 0, `expected errors from Ontograph (the peer said:\n${showErrors(peerErrors)}), got data ${show(og.body.data)}`);
    } else {
      assert.equal(ogErrors.length, 0, `Ontograph returned errors:\n${showErrors(ogErrors)}`);
    }
    const ogData = normalize(og.body.data ?? null, document);
    const d = firstDifference(ogData, peerData);
    if (d) {
      assert.fail(
        [
          `data differs at ${d.path}`,
          `  ontograph: ${show(d.a)}`,
          `  peer:      ${show(d.b)}`,
          `(run with --dump-dir DIR --only ${q.name} to see both whole responses)`,
        ].join("\n"),
      );
    }
  });
}
