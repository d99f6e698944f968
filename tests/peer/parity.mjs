#!/usr/bin/env node
// Schema parity: for every type-definitions file of a corpus, the schema @neo4j/graphql 7.6
// generates and the one Ontograph generates (`ontograph --ontology FILE check`), compared type by
// type: the types, their fields with their types, the fields' arguments with their types, and
// the input types' fields. Every difference must be listed, with its reason, in the allow-list;
// a listed difference that no longer occurs fails too, so the list only shrinks.
//
// Usage: node parity.mjs --ontograph-bin target/debug/ontograph
//          [--corpus tests/parity/typedefs] [--allow tests/parity/allow.txt]
//          [--only substring] [--write-allow]   (rewrite the allow-list from what differs now,
//                                                keeping the reasons already written)
// No Neo4j connection is needed.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import {
  buildSchema,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  isEnumType,
  isScalarType,
} from "graphql";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { REPO_ROOT, parseArgs, stripOntographDirectives } from "./lib/typedefs.mjs";

const args = parseArgs(process.argv.slice(2), {
  flags: ["write-allow"],
  options: {
    ontographBin: path.join(REPO_ROOT, "target", "debug", "ontograph"),
    corpus: path.join(REPO_ROOT, "tests", "parity", "typedefs"),
    allow: path.join(REPO_ROOT, "tests", "parity", "allow.txt"),
    only: "",
  },
});

// Types every schema of the library has that say nothing about the type definitions.
const BUILTIN = new Set(["Query", "Mutation", "Subscription"]);

function kindOf(t) {
  if (isObjectType(t)) return "type";
  if (isInterfaceType(t)) return "interface";
  if (isUnionType(t)) return "union";
  if (isEnumType(t)) return "enum";
  if (isInputObjectType(t)) return "input";
  if (isScalarType(t)) return "scalar";
  return "other";
}

/** `Type.field(arg)` → type text, for everything the comparison looks at. A deprecated field,
 * argument or value is marked (` @deprecated`): Ontograph generates the library's
 * non-deprecated v7 shape, so lacking one is no difference, and neither is having one. */
function surface(schema) {
  const mark = (x) => (x.deprecationReason ? " @deprecated" : "");
  const dflt = (x) => (x.defaultValue === undefined ? "" : ` = ${JSON.stringify(x.defaultValue)}`);
  const out = new Map();
  for (const [name, t] of Object.entries(schema.getTypeMap())) {
    if (name.startsWith("__")) continue;
    if (isScalarType(t) && ["String", "Int", "Float", "Boolean", "ID"].includes(name)) continue;
    out.set(name, kindOf(t));
    if (isObjectType(t) || isInterfaceType(t)) {
      for (const f of Object.values(t.getFields())) {
        out.set(`${name}.${f.name}`, String(f.type) + mark(f));
        for (const a of f.args) out.set(`${name}.${f.name}(${a.name})`, String(a.type) + dflt(a) + mark(a) + mark(f));
      }
    } else if (isInputObjectType(t)) {
      for (const f of Object.values(t.getFields())) out.set(`${name}.${f.name}`, String(f.type) + dflt(f) + mark(f));
    } else if (isUnionType(t)) {
      out.set(`${name}|`, t.getTypes().map((m) => m.name).sort().join(" | "));
    } else if (isEnumType(t)) {
      out.set(`${name}|`, t.getValues().filter((v) => !v.deprecationReason).map((v) => v.name).sort().join(" "));
    }
  }
  return out;
}

/** The types reachable from the root types through fields, arguments and input fields that are
 * not deprecated (and from an interface to its implementations): a type only deprecated
 * fields use (e.g. `PointDistance`, for the v6-style `location_DISTANCE`) is deprecated too. */
function liveTypes(schema) {
  const named = (t) => {
    while (t.ofType) t = t.ofType;
    return t.name;
  };
  const seen = new Set();
  const todo = ["Query", "Mutation", "Subscription"].filter((n) => schema.getType(n));
  while (todo.length) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    const t = schema.getType(name);
    if (!t) continue;
    const next = [];
    if (isObjectType(t) || isInterfaceType(t)) {
      for (const f of Object.values(t.getFields())) {
        if (f.deprecationReason) continue;
        next.push(named(f.type), ...f.args.filter((a) => !a.deprecationReason).map((a) => named(a.type)));
      }
      if (isInterfaceType(t)) next.push(...schema.getPossibleTypes(t).map((x) => x.name));
    } else if (isInputObjectType(t)) {
      for (const f of Object.values(t.getFields())) if (!f.deprecationReason) next.push(named(f.type));
    } else if (isUnionType(t)) {
      next.push(...t.getTypes().map((x) => x.name));
    }
    todo.push(...next);
  }
  return seen;
}

/** The type a surface key belongs to (`Type.field(arg)` → `Type`). */
const typeOf = (k) => k.split(/[.|]/)[0];

/** The differences, one line each: `lacks X`, `adds X`, `differs X: ours vs library's`. A type
 * one side lacks is one difference, not one per field. */
function compare(library, ours, live) {
  const diffs = [];
  const one = (k, other) => k === typeOf(k) || other.has(typeOf(k)) || BUILTIN.has(typeOf(k));
  const deprecated = (v) => v.endsWith(" @deprecated");
  const bare = (v) => v.replace(/( @deprecated)+$/, "");
  for (const [k, v] of library) {
    if (BUILTIN.has(k)) continue;
    if (!ours.has(k)) {
      if (!deprecated(v) && live.has(typeOf(k)) && one(k, ours)) diffs.push(`lacks ${k}`);
    } else if (bare(ours.get(k)) !== bare(v)) diffs.push(`differs ${k}: ${bare(ours.get(k))} vs ${bare(v)}`);
  }
  for (const k of ours.keys()) {
    if (!BUILTIN.has(k) && !library.has(k) && one(k, library)) diffs.push(`adds ${k}`);
  }
  return diffs.sort();
}

async function librarySchema(source) {
  // The library warns on the console about what it refuses; its error says the same.
  const { warn, error } = console;
  console.warn = console.error = () => {};
  try {
    const schema = await new Neo4jGraphQL({ typeDefs: stripOntographDirectives(source) }).getSchema();
    return { schema };
  } catch (e) {
    return { error: String(e.message || e).split("\n")[0] };
  } finally {
    Object.assign(console, { warn, error });
  }
}

function ontographSchema(file) {
  try {
    const sdl = execFileSync(args.ontographBin, ["--ontology", file, "check"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ONTOGRAPH_INGEST: "off", RUST_BACKTRACE: "0" },
    });
    // `check` prints the SDL, then a summary line (`ok: …`).
    const text = sdl.split("\n").filter((l) => !l.startsWith("ok: ")).join("\n");
    return { schema: buildSchema(text) };
  } catch (e) {
    // `Error: FILE is not a valid ontology:` then one `FILE:LINE:COLUMN: problem` per problem:
    // the first problem, without the file name.
    const stderr = (e.stderr || String(e)).trim().split("\n");
    const first = stderr.find((l) => l.startsWith(file + ":")) || stderr[0];
    return { error: first.startsWith(file + ":") ? first.slice(file.length + 1) : first };
  }
}

/** Reasons written by `--write-allow` for entries that have none yet, by what they concern
 * (first match). Entries no rule matches are written without a reason and fail the test until
 * one is given by hand. */
const REASONS = [
  [/: refuses \(.*`extend schema @/, "schema-wide directives other than @query and @mutation are not supported yet (issue 20: @authentication, @authorization)"],
  [/: refuses \(.*@(populatedBy|customResolver)\b/, "refused: the library runs a JavaScript callback or resolver here, which a Rust service cannot (issue 18, item 5 lets it be refused)"],
  [/: refuses \(.*@subscription\b/, "refused until subscriptions are served (after issue 22): the library would add a Subscription type nothing answers"],
  [/: refuses \(.*@(query|mutation|selectable|settable|filterable|limit)\b/, "this schema configuration directive is not supported yet (issue 18, item 6)"],
  [/: refuses \(.*@cypher/, "@cypher fields are not supported yet (issue 19)"],
  [/: refuses \(.*@(fulltext|vector)\b/, "full-text and vector search are not supported yet (issue 19)"],
  [/: refuses \(.*(@(authorization|authentication|jwt|jwtClaim)\b|@jwt)/, "this authorization rule is not supported yet (issue 20)"],
  [/: accepts what the library refuses \(.*roles_INCLUDES/, "Ontograph's one rule form reads `roles` without a typed JWT, which v7 refuses; issue 20 brings typed JWTs"],
  [/: accepts what the library refuses/, "the library's refusal is not reproduced yet (issue 18, item 7)"],
  [/: lacks .*(DeleteInput|DeleteFieldInput\.delete|\(delete\))/, "nested delete and the `delete` argument of deleteX are not generated yet (issue 18, item 8)"],
  [/: lacks .*(UpdateFieldInput\.update|UpdateConnectionInput)|: lacks (\w+UpdateInput|\w+Mutations)$/, "nested update is not generated yet (issue 18, item 8)"],
  [/: lacks .*(ConnectInput|ConnectFieldInput\.connect|DisconnectInput|DisconnectFieldInput\.disconnect)/, "nested operations inside connect/disconnect are not generated yet (issue 18, item 8)"],
  [/ConnectWhere! vs /, "`connect` without `where` is not accepted yet (issue 18, item 8)"],
  [/: adds (Mutation\.upsert\w+(\(input\))?|\w+(UniqueWhere|UpsertInput|UpsertCreateInput|UpsertUpdateInput|UpsertConnectInput)|Upsert\w+MutationResponse|UpsertInfo)$/, "on purpose: `upsert<Plural>`, which the library lacks (issue 18, item 9)"],
  [/: differs \w+ListEnumScalarMutations\.pop: Int vs \w+$/, "on purpose: the library declares `pop:` of an enum list as the enum; it is a count, an Int"],
  [/: adds (\w+\.\w+Connection\((after|first|sort|where)\)|\w+(ConnectFieldInput|DisconnectFieldInput|ConnectionFilters|ConnectionSort|UpdateFieldInput|UpdateConnectionInput|UpdateInput|ConnectInput|DisconnectInput|ConnectWhere|RelationshipFilters)|\w+FieldInput\.connect|\w+UpdateInput\.\w+)$/,
    "on purpose: on a non-list relationship the library 7.6 offers only nested create and an argument-less connection; Ontograph keeps connect, disconnect, update and the connection's arguments there"],
  [/(Create|Update|Delete)\w*FieldInput|FieldInput\.create/, "`@relationship(nestedOperations:)` is not applied yet (issue 18, item 6)"],
];

/** `file: difference  # reason` lines; reasons are kept when the list is rewritten. */
function readAllow(file) {
  const entries = new Map();
  if (!existsSync(file)) return entries;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const hash = t.indexOf("  # ");
    const entry = (hash >= 0 ? t.slice(0, hash) : t).trim();
    const reason = hash >= 0 ? t.slice(hash + 4).trim() : "";
    entries.set(entry, reason);
  }
  return entries;
}

const files = readdirSync(args.corpus)
  .filter((f) => f.endsWith(".graphql") && f.includes(args.only))
  .sort()
  .map((f) => path.join(args.corpus, f));
// The differential suites' type definitions are checked too (no corpus file repeats them).
const suites = path.join(REPO_ROOT, "tests", "differential", "suites");
files.push(
  ...readdirSync(suites)
    .map((d) => path.join(suites, d, "typedefs.graphql"))
    .filter((f) => existsSync(f) && f.includes(args.only))
    .sort(),
);
files.push(path.join(REPO_ROOT, "schema", "ontology.graphql"));

const allow = readAllow(args.allow);
const found = new Map(); // entry -> reason (from the list, or empty)
let identical = 0;
let refusedByBoth = 0;
for (const file of files) {
  const name = path.relative(REPO_ROOT, file);
  const source = readFileSync(file, "utf8");
  const lib = await librarySchema(source);
  const og = ontographSchema(file);
  const lines = [];
  if (lib.error && og.error) {
    refusedByBoth++;
    continue;
  }
  if (lib.error) lines.push(`accepts what the library refuses (${lib.error})`);
  else if (og.error) lines.push(`refuses (${og.error})`);
  else {
    const d = compare(surface(lib.schema), surface(og.schema), liveTypes(lib.schema));
    if (d.length === 0) identical++;
    lines.push(...d);
  }
  for (const l of lines) {
    const entry = `${name}: ${l}`;
    found.set(entry, allow.get(entry) ?? "");
  }
}

const unlisted = [...found.keys()].filter((e) => !allow.has(e));
const stale = [...allow.keys()].filter((e) => !found.has(e) && (!args.only || e.includes(args.only)));
const withoutReason = [...found].filter(([e, r]) => allow.has(e) && !r).map(([e]) => e);

if (args.writeAllow) {
  const header = [
    "# Schema parity allow-list (tests/peer/parity.mjs): every difference between the schema",
    "# @neo4j/graphql 7.6 generates and Ontograph's, per type-definitions file, with its reason.",
    "# `lacks` = the library has it and Ontograph does not; `adds` = Ontograph's own; `differs` =",
    "# ours vs the library's. The test fails on a difference not listed here and on a listed one",
    "# that no longer occurs. Format: `file: difference  # reason`.",
    "",
  ];
  const reasonFor = (e, r) => r || (REASONS.find(([re]) => re.test(e)) || [])[1] || "";
  const body = [...found]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([e, r]) => [e, reasonFor(e, r)])
    .map(([e, r]) => (r ? `${e}  # ${r}` : e));
  writeFileSync(args.allow, header.concat(body).join("\n") + "\n");
  console.log(`wrote ${found.size} entries to ${path.relative(REPO_ROOT, args.allow)}`);
  process.exit(0);
}

console.log(
  `schema parity: ${files.length} type-definitions files, ${identical} identical, ` +
    `${refusedByBoth} refused by both, ${found.size} differences (allow-list: ${allow.size})`,
);
let failed = false;
if (unlisted.length) {
  failed = true;
  console.log(`\n${unlisted.length} differences not in the allow-list:`);
  for (const e of unlisted) console.log(`  ${e}`);
}
if (stale.length) {
  failed = true;
  console.log(`\n${stale.length} allow-list entries no longer occur (remove them):`);
  for (const e of stale) console.log(`  ${e}`);
}
if (withoutReason.length) {
  failed = true;
  console.log(`\n${withoutReason.length} allow-list entries give no reason:`);
  for (const e of withoutReason) console.log(`  ${e}`);
}
process.exit(failed ? 1 : 0);
