#!/usr/bin/env node
// Deterministic test fixture for the default ontology (schema/ontology.graphql).
//
//   node fixture.mjs --yes-wipe     wipe the database (MATCH (n) DETACH DELETE n) and load the fixture
//   node fixture.mjs                load only if the database is empty; refuse otherwise
//   node fixture.mjs --dump         print the generated fixture as JSON (no Neo4j needed)
//
// Env: NEO4J_URI (bolt://127.0.0.1:17687), NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE.
//
// ~160 nodes of every @node type and ~500 relationships of every @relationship type, generated
// from a fixed seed. It deliberately contains: nodes of much higher degree than the rest,
// nulls in every nullable property, empty and null lists, duplicate values of non-unique
// properties (team, person, event names), mixed-case strings (code-point sort order),
// DateTimes with and without fractional seconds and with non-UTC offsets, whole-number
// Floats, a project without an organization, an issue without an author, a commit without a
// pull request, a topic tree, and people with no relationships at all.
import neo4j from "neo4j-driver";
import { parseArgs } from "./lib/typedefs.mjs";

const args = parseArgs(process.argv.slice(2), { flags: ["yes-wipe", "dump"], options: { seed: "20240611" } });

// ---------------------------------------------------------------- deterministic randomness
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(Number(args.seed));
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
/** Skewed pick: low indices are chosen much more often (gives high-degree nodes). */
const pickSkewed = (xs) => xs[Math.floor(Math.pow(rand(), 2.2) * xs.length)];
const chance = (p) => rand() < p;
const pad = (n, w = 3) => String(n).padStart(w, "0");

// ---------------------------------------------------------------- values
// DateTimes travel as ISO strings in the generated data and become Neo4j DateTime values
// (with the given offset and sub-second precision) when loaded.
const BASE = Date.UTC(2019, 0, 1);
const DAY = 86_400_000;
let dtCounter = 0;
function dateTime(dayFrom, dayTo) {
  const ms = BASE + randInt(dayFrom, dayTo) * DAY + randInt(0, 86_399) * 1000;
  dtCounter++;
  const d = new Date(ms);
  const iso = d.toISOString(); // 2021-03-04T05:06:07.000Z
  // Vary the representation: most whole-second UTC, some with millis, some with micro/nanos,
  // some with a non-UTC offset (same instant), to exercise DateTime formatting.
  switch (dtCounter % 7) {
    case 3:
      return iso.replace(".000Z", `.${pad(randInt(1, 999), 3)}Z`);
    case 5:
      return iso.replace(".000Z", `.${pad(randInt(1, 999_999), 6)}Z`);
    case 6: {
      const local = new Date(ms + 2 * 3600_000).toISOString().replace(".000Z", "");
      return `${local}+02:00`;
    }
    default:
      return iso.replace(".000Z", "Z");
  }
}
const maybe = (p, f) => (chance(p) ? f() : null);

// ---------------------------------------------------------------- nodes
const ORG_NAMES = ["Acme Corp", "Globex", "Initech", "umbrella labs"];
const organizations = ORG_NAMES.map((name, i) => ({
  id: `org-${pad(i + 1, 2)}`,
  name,
  founded: i === 3 ? null : [1998, 2004, 2011][i],
}));

const TEAM_NAMES = ["Platform", "Data", "Frontend", "Platform", "Security", "Developer Experience", "data", "Infra", "Mobile"];
const teams = TEAM_NAMES.map((name, i) => ({ id: `team-${pad(i + 1, 2)}`, name }));

const FIRST = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Edsger", "Radia", "Tim", "Anita", "Bjarne", "Guido", "Hedy", "John", "Katherine", "Niklaus", "Sophie", "Yukihiro", "Leslie", "Donald", "Shafi", "Alex", "Alex", "zoe", "Émile", "Ole", "Brian", "Rob", "Ida"];
const LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Turing", "Dijkstra", "Perlman", "Berners-Lee", "Borg", "Stroustrup", "van Rossum", "Lamarr", "McCarthy", "Johnson", "Wirth", "Wilson", "Matsumoto", "Lamport", "Knuth", "Goldwasser", "Kim", "Kim", "Ng", "Durand", "Dahl", "Kernighan", "Pike", "Rhodes"];
const TITLES = ["Engineer", "Senior Engineer", "Staff Engineer", "Engineering Manager", "Designer", "Principal Engineer"];
const people = FIRST.map((first, i) => {
  const handle = i === 25 ? "alexkim2" : `${first.toLowerCase().replace("é", "e")}${LAST[i].toLowerCase().replace(/[^a-z]/g, "")}`.slice(0, 14);
  return {
    id: `person-${pad(i + 1)}`,
    handle: i === 24 ? "alexkim" : handle,
    name: `${first} ${LAST[i]}`,
    email: i % 6 === 5 ? null : `${handle}@example.com`,
    title: i % 5 === 4 ? null : TITLES[i % TITLES.length],
    joinedAt: i % 8 === 7 ? null : dateTime(0, 1500),
  };
});

const PROJECT_NAMES = ["Atlas", "Beacon", "Comet", "Delta", "Eclipse", "Falcon", "Geyser", "Horizon", "iris"];
const STATUSES = ["active", "planned", "archived", "active", "paused"];
const projects = PROJECT_NAMES.map((name, i) => ({
  id: `proj-${pad(i + 1, 2)}`,
  name,
  status: STATUSES[i % STATUSES.length],
  startedAt: i === 4 ? null : dateTime(0, 1200),
  budget: [250000.5, 120000, 99999.99, null, 1e6, 0.25, 42, 75000.125, null][i],
}));

const LANGS = ["Rust", "TypeScript", "Go", "Python", "Rust", null, "Java", "TypeScript", "Rust", "Go", null, "C++"];
const repositories = LANGS.map((language, i) => ({
  id: `repo-${pad(i + 1, 2)}`,
  name: `${["core", "web", "api", "ml", "cli", "docs", "sdk", "ui", "engine", "gateway", "infra", "native"][i]}-${["x", "y", "z"][i % 3]}`,
  language,
  stars: i === 10 ? null : [1520, 87, 430, 12, 9000, 3, 250, 87, 4100, 610, null, 0][i],
  archived: i % 4 === 3 ? true : i % 5 === 0 ? null : false,
}));

const LABELS = ["bug", "feature", "docs", "perf", "good-first-issue", "security"];
const ISSUE_WORDS = ["Crash", "Slow", "Add", "Fix", "Improve", "Remove", "Document", "Refactor"];
const ISSUE_OBJECTS = ["login", "query planner", "export", "CLI flags", "cache", "schema parser", "dashboard", "retries"];
const issues = [];
for (let i = 0; i < 32; i++) {
  const nLabels = i % 9 === 8 ? null : randInt(0, 3);
  let labels = null;
  if (nLabels !== null) {
    labels = [];
    while (labels.length < nLabels) {
      const l = pick(LABELS);
      if (!labels.includes(l)) labels.push(l);
    }
  }
  issues.push({
    id: `issue-${pad(i + 1)}`,
    number: 100 + i,
    title: `${pick(ISSUE_WORDS)} ${pick(ISSUE_OBJECTS)}`,
    state: i % 3 === 0 ? "closed" : "open",
    priority: i % 7 === 6 ? null : randInt(1, 4),
    labels,
    createdAt: i === 11 ? null : dateTime(400, 1800),
  });
}

const pullRequests = [];
for (let i = 0; i < 22; i++) {
  const state = ["merged", "open", "merged", "closed"][i % 4];
  const createdAt = dateTime(500, 1800);
  pullRequests.push({
    id: `pr-${pad(i + 1)}`,
    number: 500 + i,
    title: `${pick(["Fix", "Add", "Speed up", "Refactor", "Bump"])} ${pick(ISSUE_OBJECTS)}`,
    state,
    createdAt,
    mergedAt: state === "merged" ? dateTime(1801, 1900) : null,
    additions: i === 9 ? null : randInt(0, 800),
    deletions: i === 9 ? null : randInt(0, 300),
  });
}

const hex = () => {
  let s = "";
  for (let k = 0; k < 40; k++) s += "0123456789abcdef"[Math.floor(rand() * 16)];
  return s;
};
const commits = [];
for (let i = 0; i < 26; i++) {
  commits.push({
    sha: hex(),
    message: `${pick(["fix", "feat", "chore", "docs", "perf"])}: ${pick(ISSUE_OBJECTS)} (#${i})`,
    committedAt: i === 4 ? null : dateTime(500, 1900),
    additions: i % 6 === 5 ? null : randInt(1, 400),
  });
}

const documents = [
  "Architecture overview", "Onboarding guide", "Runbook: paging", "RFC 12: caching", "API style guide",
  "Postmortem 2021-07", "architecture decisions", "Release checklist",
].map((title, i) => ({
  id: `doc-${pad(i + 1, 2)}`,
  title,
  url: i % 3 === 2 ? null : `https://docs.example.com/${i + 1}`,
  updatedAt: i === 5 ? null : dateTime(300, 1900),
}));

const TOPICS = [
  ["databases", null, "Storing and querying data"],
  ["graph-databases", "databases", "Nodes, relationships, Cypher"],
  ["sql", "databases", null],
  ["languages", null, "Programming languages"],
  ["rust", "languages", "Systems programming"],
  ["javascript", "languages", null],
  ["go", "languages", "Go"],
  ["infrastructure", null, null],
  ["kubernetes", "infrastructure", "Container orchestration"],
  ["observability", "infrastructure", "Metrics, logs, traces"],
  ["security", null, "AppSec and infosec"],
];
const topics = TOPICS.map(([name, , description], i) => ({ id: `topic-${pad(i + 1, 2)}`, name, description }));
const topicByName = Object.fromEntries(topics.map((t) => [t.name, t]));

const events = [
  ["GraphConf", "conference", "London"],
  ["Rust Meetup", "meetup", "Berlin"],
  ["GraphConf", "conference", "San Francisco"],
  ["Incident drill", "workshop", null],
  ["Hack week", "workshop", "Remote"],
  ["KubeCon", "conference", "Paris"],
  ["Lunch & learn", "meetup", null],
].map(([name, kind, location], i) => ({
  id: `event-${pad(i + 1, 2)}`,
  name,
  kind,
  startsAt: i === 6 ? null : dateTime(200, 1900),
  location,
}));

// ---------------------------------------------------------------- relationships
const rels = []; // { type, from: [Label, key], to: [Label, key], props }
const seen = new Set();
function rel(type, fromLabel, from, toLabel, to, props = {}) {
  const k = `${type}|${from}|${to}`;
  if (seen.has(k)) return false;
  seen.add(k);
  rels.push({ type, fromLabel, from, toLabel, to, props });
  return true;
}
const key = (n) => n.sha ?? n.id;

// Organization -HAS_TEAM-> Team: first org gets most teams; last team has no organization.
teams.forEach((t, i) => {
  if (i === teams.length - 1) return;
  rel("HAS_TEAM", "Organization", organizations[i < 4 ? 0 : i < 7 ? 1 : 2].id, "Team", t.id);
});
// Organization -OWNS-> Project: last-but-one project is unowned; org 4 owns nothing.
projects.forEach((p, i) => {
  if (i === 7) return;
  rel("OWNS", "Organization", organizations[i % 3].id, "Project", p.id);
});
// Person -MEMBER_OF {role, since}-> Team. person-001 is in many teams; the last 3 people in none.
const ROLES = ["member", "lead", "member", "contributor", "member"];
for (let i = 0; i < people.length - 3; i++) {
  const n = i === 0 ? 6 : i < 5 ? 3 : randInt(1, 2);
  let guard = 0;
  for (let k = 0; k < n && guard < 50; guard++) {
    const team = i === 0 ? teams[k] : pickSkewed(teams);
    if (rel("MEMBER_OF", "Person", people[i].id, "Team", team.id, {
      role: i === 0 && k === 0 ? "lead" : pick(ROLES),
      since: maybe(0.8, () => dateTime(0, 1700)),
    })) k++;
  }
}
// Team -WORKS_ON-> Project
teams.forEach((t, i) => {
  const n = i === 0 ? 4 : randInt(0, 2);
  for (let k = 0; k < n; k++) rel("WORKS_ON", "Team", t.id, "Project", (i === 0 ? projects[k] : pick(projects)).id);
});
// Person -FOLLOWS-> Person: skewed towards the first people (high in-degree).
for (let i = 0; i < people.length - 3; i++) {
  const n = i === 1 ? 10 : randInt(0, 3);
  for (let k = 0; k < n; k++) {
    const other = i === 1 ? people[k + 2] : pickSkewed(people);
    if (other.id !== people[i].id) rel("FOLLOWS", "Person", people[i].id, "Person", other.id);
  }
}
// Person -OPENED-> Issue (issue-004 has no author); Issue -ASSIGNED_TO-> Person
issues.forEach((iss, i) => {
  if (i !== 3) rel("OPENED", "Person", pickSkewed(people.slice(0, -3)).id, "Issue", iss.id);
  const n = i % 5 === 0 ? 0 : randInt(1, 3);
  for (let k = 0; k < n; k++) rel("ASSIGNED_TO", "Issue", iss.id, "Person", pickSkewed(people.slice(0, -3)).id);
});
// Person -AUTHORED-> PullRequest; Person -REVIEWED {verdict, submittedAt}-> PullRequest
const VERDICTS = ["approved", "changes_requested", "commented", "approved"];
pullRequests.forEach((pr, i) => {
  const author = pickSkewed(people.slice(0, -3));
  rel("AUTHORED", "Person", author.id, "PullRequest", pr.id);
  const n = i % 6 === 5 ? 0 : randInt(1, 3);
  for (let k = 0; k < n; k++) {
    const reviewer = pickSkewed(people.slice(0, -3));
    if (reviewer.id === author.id) continue;
    rel("REVIEWED", "Person", reviewer.id, "PullRequest", pr.id, {
      verdict: pick(VERDICTS),
      submittedAt: maybe(0.85, () => dateTime(1000, 1900)),
    });
  }
});
// Person -COMMITTED-> Commit (one commit without author)
commits.forEach((c, i) => {
  if (i !== 7) rel("COMMITTED", "Person", pickSkewed(people.slice(0, -3)).id, "Commit", c.sha);
});
// Person -WROTE-> Document
documents.forEach((d, i) => {
  const n = i === 0 ? 4 : randInt(1, 2);
  for (let k = 0; k < n; k++) rel("WROTE", "Person", (i === 0 ? people[k] : pick(people.slice(0, -3))).id, "Document", d.id);
});
// Person -KNOWS {level}-> Topic
for (let i = 0; i < people.length - 3; i++) {
  const n = i === 0 ? 5 : randInt(0, 2);
  for (let k = 0; k < n; k++) {
    rel("KNOWS", "Person", people[i].id, "Topic", (i === 0 ? topics[k] : pickSkewed(topics)).id, { level: neo4j.int(randInt(1, 5)) });
  }
}
// Person -ATTENDED-> Event
for (let i = 0; i < people.length - 3; i++) {
  const n = randInt(0, 2);
  for (let k = 0; k < n; k++) rel("ATTENDED", "Person", people[i].id, "Event", pickSkewed(events).id);
}
// Project -HAS_REPOSITORY-> Repository (last repository has no project)
repositories.forEach((r, i) => {
  if (i !== repositories.length - 1) rel("HAS_REPOSITORY", "Project", projects[i < 4 ? 0 : i % projects.length].id, "Repository", r.id);
});
// Issue / PullRequest / Commit -IN_REPOSITORY-> Repository (skewed: repo-01 is busy)
issues.forEach((x) => rel("IN_REPOSITORY", "Issue", x.id, "Repository", pickSkewed(repositories).id));
pullRequests.forEach((x) => rel("IN_REPOSITORY", "PullRequest", x.id, "Repository", pickSkewed(repositories).id));
commits.forEach((x, i) => {
  if (i !== 3) rel("IN_REPOSITORY", "Commit", x.sha, "Repository", pickSkewed(repositories).id);
});
// PullRequest -FIXES-> Issue
pullRequests.forEach((pr, i) => {
  const n = i % 3 === 2 ? 0 : randInt(1, 2);
  for (let k = 0; k < n; k++) rel("FIXES", "PullRequest", pr.id, "Issue", pick(issues).id);
});
// Commit -PART_OF-> PullRequest (some commits in no PR)
commits.forEach((c, i) => {
  if (i % 4 !== 3) rel("PART_OF", "Commit", c.sha, "PullRequest", pickSkewed(pullRequests).id);
});
// Project / Issue / Document -TAGGED-> Topic
projects.forEach((p, i) => {
  const n = i === 0 ? 4 : randInt(0, 2);
  for (let k = 0; k < n; k++) rel("TAGGED", "Project", p.id, "Topic", (i === 0 ? topics[k * 2] : pick(topics)).id);
});
issues.forEach((x) => {
  const n = randInt(0, 2);
  for (let k = 0; k < n; k++) rel("TAGGED", "Issue", x.id, "Topic", pickSkewed(topics).id);
});
documents.forEach((d) => {
  const n = randInt(1, 2);
  for (let k = 0; k < n; k++) rel("TAGGED", "Document", d.id, "Topic", pick(topics).id);
});
// Document -DOCUMENTS-> Project (one document without project)
documents.forEach((d, i) => {
  if (i !== 4) rel("DOCUMENTS", "Document", d.id, "Project", projects[i === 0 ? 0 : randInt(0, projects.length - 1)].id);
});
// Parallel relationships (same type, same two nodes): a second review by the same reviewer
// of the same pull request, and a person who attended the same event twice. These make
// count { nodes } and count { edges } differ, and repeat nodes in relationship lists.
{
  const firstReview = rels.find((r) => r.type === "REVIEWED" && r.to === "pr-001");
  rels.push({ ...firstReview, props: { verdict: "commented", submittedAt: dateTime(1901, 1950) } });
  const firstAttended = rels.find((r) => r.type === "ATTENDED" && r.from === "person-001") ?? rels.find((r) => r.type === "ATTENDED");
  rels.push({ ...firstAttended, props: {} });
}
// Topic -SUBTOPIC_OF-> Topic
TOPICS.forEach(([name, parent]) => {
  if (parent) rel("SUBTOPIC_OF", "Topic", topicByName[name].id, "Topic", topicByName[parent].id);
});

export const fixture = {
  nodes: {
    Organization: organizations,
    Team: teams,
    Person: people,
    Project: projects,
    Repository: repositories,
    Issue: issues,
    PullRequest: pullRequests,
    Commit: commits,
    Document: documents,
    Topic: topics,
    Event: events,
  },
  relationships: rels,
};

// Property kinds, to send exact Neo4j types (JS numbers would otherwise all be Floats).
const INT_PROPS = new Set(["founded", "stars", "number", "priority", "additions", "deletions", "level"]);
const DATETIME_PROPS = new Set(["joinedAt", "startedAt", "createdAt", "mergedAt", "committedAt", "updatedAt", "startsAt", "since", "submittedAt"]);
const FLOAT_PROPS = new Set(["budget"]);

function toNeo4jDateTime(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) throw new Error(`bad datetime ${iso}`);
  const [, y, mo, d, h, mi, s, frac = "", tz] = m;
  const nanos = Number(frac.padEnd(9, "0"));
  let offset = 0;
  if (tz !== "Z") offset = (tz[0] === "-" ? -1 : 1) * (Number(tz.slice(1, 3)) * 3600 + Number(tz.slice(4, 6)) * 60);
  return new neo4j.types.DateTime(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), nanos, offset);
}
function toNeo4jProps(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined) continue;
    if (neo4j.isInt(v)) out[k] = v;
    else if (INT_PROPS.has(k)) out[k] = neo4j.int(v);
    else if (DATETIME_PROPS.has(k)) out[k] = toNeo4jDateTime(v);
    else if (FLOAT_PROPS.has(k)) out[k] = v; // JS numbers are sent as Float
    else out[k] = v;
  }
  return out;
}

function jsonReplacer(_k, v) {
  return neo4j.isInt(v) ? v.toNumber() : v;
}

async function load() {
  const uri = process.env.NEO4J_URI || "bolt://127.0.0.1:17687";
  const driver = neo4j.driver(uri, neo4j.auth.basic(process.env.NEO4J_USER || "neo4j", process.env.NEO4J_PASSWORD || "password"));
  const database = process.env.NEO4J_DATABASE || undefined;
  const session = driver.session({ database });
  try {
    const existing = (await session.run("MATCH (n) RETURN count(n) AS c")).records[0].get("c").toNumber();
    if (existing > 0) {
      if (!args.yesWipe) {
        console.error(`fixture: the database at ${uri} holds ${existing} nodes; pass --yes-wipe to delete them all and load the fixture`);
        process.exitCode = 2;
        return;
      }
      await session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").catch(async (err) => {
        // Older Cypher without the CALL (n) scope syntax: fall back to a plain delete.
        if (!/syntax|Invalid input|Variable/i.test(err.message)) throw err;
        await session.run("MATCH (n) DETACH DELETE n");
      });
      console.log(`fixture: wiped ${existing} nodes`);
    }
    const tx = session.beginTransaction();
    let nodeCount = 0;
    for (const [label, rows] of Object.entries(fixture.nodes)) {
      await tx.run(`UNWIND $rows AS row CREATE (n:\`${label}\`) SET n = row`, { rows: rows.map(toNeo4jProps) });
      nodeCount += rows.length;
    }
    const groups = new Map();
    for (const r of rels) {
      const k = `${r.fromLabel}|${r.type}|${r.toLabel}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(r);
    }
    for (const [k, rs] of groups) {
      const [fromLabel, type, toLabel] = k.split("|");
      const fromKey = fromLabel === "Commit" ? "sha" : "id";
      const toKey = toLabel === "Commit" ? "sha" : "id";
      const res = await tx.run(
        `UNWIND $rows AS row
         MATCH (a:\`${fromLabel}\` {${fromKey}: row.from})
         MATCH (b:\`${toLabel}\` {${toKey}: row.to})
         CREATE (a)-[r:\`${type}\`]->(b) SET r = row.props
         RETURN count(r) AS c`,
        { rows: rs.map((r) => ({ from: r.from, to: r.to, props: toNeo4jProps(r.props) })) },
      );
      const c = res.records[0].get("c").toNumber();
      if (c !== rs.length) throw new Error(`${k}: created ${c} of ${rs.length} relationships`);
    }
    await tx.commit();
    console.log(`fixture: loaded ${nodeCount} nodes and ${rels.length} relationships (${groups.size} kinds) into ${uri}`);
  } finally {
    await session.close();
    await driver.close();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("fixture.mjs");
if (isMain) {
  if (args.dump) {
    process.stdout.write(JSON.stringify(fixture, jsonReplacer, 2) + "\n");
  } else {
    await load();
  }
}
