// End-to-end test of the admin console: a real gateway (ONTOGRAPH_URL), a real Neo4j (checked
// directly with neo4j-driver) and headless Chromium driven by playwright-core.
//
//   ONTOGRAPH_URL=http://127.0.0.1:8080 ONTOGRAPH_ADMIN_TOKEN=... \
//   NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_USER=neo4j NEO4J_PASSWORD=... \
//   [CHROMIUM=/usr/bin/chromium] [SCREENSHOT_DIR=../../docs/console] node --test console.test.mjs
//
// The steps share one browser page and run in order. The page must not log a console error or
// throw: every step fails if it did (HTTP errors the step provokes on purpose are allowed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import neo4j from 'neo4j-driver';

const BASE = (process.env.ONTOGRAPH_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.ONTOGRAPH_ADMIN_TOKEN || '';
const SHOTS = process.env.SCREENSHOT_DIR || '';
const ADMIN = `${BASE}/admin`;

let browser;
let page;
let driver;
let indexName = '';

// Console errors and uncaught exceptions seen since the last check.
const problems = [];
// HTTP failures a step provokes on purpose: [{ path, status }].
let expected = [];

function expectHttpFailure(pathPart, status) {
  expected.push({ path: pathPart, status });
}

function takeProblems() {
  const out = problems.splice(0);
  expected = [];
  return out;
}

function assertNoPageProblems(step) {
  const seen = takeProblems();
  assert.deepEqual(seen, [], `${step}: the page logged console errors or threw:\n  ${seen.join('\n  ')}`);
}

async function shot(name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  // From the top: a sticky header would otherwise be drawn where the page was scrolled to.
  await page.evaluate(() => {
    window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
    for (const el of document.querySelectorAll('.table-wrap')) el.scrollLeft = 0;
  });
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function adminApi(p, init = {}) {
  const r = await fetch(`${BASE}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers || {}) },
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, headers: r.headers };
}

async function cypher(query, params = {}) {
  const session = driver.session();
  try {
    const r = await session.run(query, params);
    return r.records.map((rec) => rec.toObject());
  } finally {
    await session.close();
  }
}

async function indexesOnFounded() {
  return cypher(
    "SHOW INDEXES YIELD name, type, state, labelsOrTypes, properties WHERE 'Organization' IN labelsOrTypes AND properties = ['founded'] RETURN name, type, state",
  );
}

async function graphql(query) {
  const r = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = await r.json().catch(() => null);
  assert.equal(r.status, 200, `GraphQL ${query} answered HTTP ${r.status}`);
  assert.ok(body && !body.errors, `GraphQL ${query} failed: ${JSON.stringify(body && body.errors)}`);
  return body.data;
}

async function go(route) {
  await page.click(`[data-testid="nav-${route}"]`);
  await page.waitForFunction((r) => location.hash === `#/${r}` && document.querySelector(`.page[data-page="${r}"]`), route);
}

async function countDatums(chart, timeout = 20000) {
  const selector = `svg[data-chart="${chart}"] .datum`;
  try {
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length >= 1, selector, { timeout });
  } catch {
    const empty = await page.locator(`[data-chart-empty="${chart}"]`).textContent().catch(() => null);
    assert.fail(`chart ${chart}: no plotted point or bar after ${timeout / 1000} s${empty ? ` (the page says: ${empty.trim()})` : ' (no chart element at all)'}`);
  }
  return page.locator(selector).count();
}

before(async () => {
  const missing = ['ONTOGRAPH_URL', 'ONTOGRAPH_ADMIN_TOKEN', 'NEO4J_URI', 'NEO4J_USER', 'NEO4J_PASSWORD']
    .filter((k) => !process.env[k]);
  assert.deepEqual(missing, [], `set ${missing.join(', ')} (see README.md)`);
  driver = neo4j.driver(process.env.NEO4J_URI, neo4j.auth.basic(process.env.NEO4J_USER, process.env.NEO4J_PASSWORD));
  await driver.getServerInfo();

  // Traffic, so that hot queries, recommendations, the cache and the history have data.
  const queries = [
    ...Array(8).fill('{ people(limit: 5, sort: [{ handle: ASC }]) { handle name } }'),
    ...Array(6).fill('{ teams(where: { name: { eq: "x" } }) { name } }'),
    ...Array(8).fill('{ organizations(where: { founded: { gt: 1990 } }, limit: 5) { name founded } }'),
    ...Array(4).fill('{ teams(where: { id: { eq: "snb-hub-6" } }) { name members(limit: 3) { handle } } }'),
    ...Array(4).fill('{ projects(limit: 3, sort: [{ name: ASC }]) { name status } }'),
  ];
  for (const q of queries) await graphql(q);
  const deadline = Date.now() + 15000;
  for (;;) {
    const h = await adminApi('/admin/api/history');
    assert.equal(h.status, 200, `GET /admin/api/history answered ${h.status}: ${JSON.stringify(h.body)}`);
    if ((h.body.samples || []).some((s) => s.requests > 0)) break;
    assert.ok(Date.now() < deadline, 'no history sample with requests > 0 within 15 s of sending GraphQL queries');
    await new Promise((r) => setTimeout(r, 500));
  }

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = msg.location().url || '';
    const m = /status of (\d+)/.exec(text);
    if (m && expected.some((e) => url.includes(e.path) && Number(m[1]) === e.status)) return;
    problems.push(`console error: ${text}${url ? ` (${url})` : ''}`);
  });
});

after(async () => {
  if (browser) await browser.close();
  if (driver) await driver.close();
});

// When the login form did not sign in (step 2 failed and says why), the later steps still run
// with a session from a direct POST /admin/login, so that one failure does not hide the others.
async function ensureSession(t) {
  const signedIn = new URL(page.url()).pathname === '/admin'
    && await page.evaluate(async () => (await fetch('/admin/api/session')).status === 200).catch(() => false);
  if (signedIn) return;
  const r = await fetch(`${ADMIN}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(TOKEN)}`,
  });
  assert.equal(r.status, 303, `direct POST /admin/login answered ${r.status}`);
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  const eq = cookie.indexOf('=');
  assert.ok(eq > 0, 'POST /admin/login set no session cookie');
  await page.context().addCookies([{
    name: cookie.slice(0, eq), value: cookie.slice(eq + 1), domain: new URL(BASE).hostname, path: '/admin', httpOnly: true, sameSite: 'Strict',
  }]);
  t.diagnostic('the login form did not sign in (see step 2): using a session cookie from a direct POST /admin/login');
  await page.goto(ADMIN);
  await page.waitForSelector('.page[data-page="overview"]');
}

test('1. without a session: /admin redirects to the login page, the API answers 401', async () => {
  const r = await fetch(ADMIN, { redirect: 'manual' });
  assert.equal(r.status, 303, `GET /admin without a session should be 303, was ${r.status}`);
  assert.equal(new URL(r.headers.get('location'), BASE).pathname, '/admin/login', `GET /admin should redirect to /admin/login, went to ${r.headers.get('location')}`);
  const api = await fetch(`${BASE}/admin/api/schema`);
  assert.equal(api.status, 401, `GET /admin/api/schema without credentials should be 401, was ${api.status}`);
  const body = await api.json();
  assert.equal(body.error && body.error.code, 'UNAUTHENTICATED', `401 body should carry error.code UNAUTHENTICATED: ${JSON.stringify(body)}`);
});

test('2. login: a wrong token is refused on the login page, the right one opens the console', async () => {
  await page.goto(`${ADMIN}/login`);
  await page.waitForSelector('[data-testid="login-token"]');
  await shot('login.png');

  expectHttpFailure('/admin/login', 401);
  await page.fill('[data-testid="login-token"]', `wrong-${Date.now()}`);
  await Promise.all([page.waitForNavigation(), page.click('[data-testid="login"]')]);
  const alert = page.locator('[role="alert"]');
  assert.ok(await alert.isVisible(), 'a wrong token should show an error (role=alert) on the login page');
  const wrongText = (await alert.textContent()).trim();
  assert.equal(new URL(page.url()).pathname, '/admin/login', `after a wrong token the browser should stay on /admin/login, is on ${page.url()}`);
  assert.match(wrongText, /login failed/i, `the error for a wrong token should say the login failed, says: ${wrongText}`);
  assertNoPageProblems('wrong token');

  await page.fill('[data-testid="login-token"]', TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('[data-testid="login"]')]);
  const at = new URL(page.url()).pathname;
  if (at !== '/admin') {
    const why = await page.locator('[role="alert"]').textContent().catch(() => '(no message)');
    assert.fail(`the right token should land on /admin, the browser is on ${at}; the login page says: ${(why || '').trim()}`);
  }
  await page.waitForFunction(() => /\d+ \/ \d+/.test(document.querySelector('[data-testid="card-indexes-value"]')?.textContent || ''));
  assert.equal(await page.locator('[data-testid="page-title"]').textContent(), 'Overview', 'the console should open on the overview');
  assert.notEqual((await page.locator('[data-testid="session-subject"]').textContent()).trim(), '…', 'the header should show who is signed in');
  assertNoPageProblems('login');
});

test('3. schema page: create a range index on Organization.founded, it comes ONLINE', async (t) => {
  takeProblems();
  await ensureSession(t);
  for (const row of await indexesOnFounded()) await cypher(`DROP INDEX \`${row.name.replace(/`/g, '``')}\``);
  assert.deepEqual(await indexesOnFounded(), [], 'could not clear the indexes on Organization.founded before the test');

  await go('schema');
  await page.waitForSelector('[data-testid="index-label"] option[value="Organization"]', { state: 'attached' });
  await page.selectOption('[data-testid="index-entity"]', 'node');
  await page.selectOption('[data-testid="index-label"]', 'Organization');
  await page.selectOption('[data-testid="index-kind"]', 'range');
  const optionText = await page.locator('[data-testid="index-properties"] option[value="founded"]').textContent();
  assert.match(optionText, /founded.*Int/, `the property option should show the name and type, shows: ${optionText}`);
  await page.selectOption('[data-testid="index-properties"]', ['founded']);
  await page.click('[data-testid="index-create"]');
  const created = page.locator('[data-testid="index-created"]');
  try {
    await created.waitFor({ state: 'visible' });
  } catch {
    const err = await page.locator('[data-testid="index-error"]').textContent().catch(() => '');
    assert.fail(`creating the index showed no confirmation; index-error says: ${err}`);
  }
  indexName = (await created.locator('code').first().textContent()).trim();
  assert.ok(indexName, 'the confirmation should name the new index');

  const row = page.locator(`tr[data-testid="index-row"][data-name="${indexName}"]`);
  await row.waitFor({ state: 'visible', timeout: 20000 });
  await page.waitForFunction(
    (name) => document.querySelector(`tr[data-testid="index-row"][data-name="${name}"] [data-testid="index-state"]`)?.textContent.trim() === 'ONLINE',
    indexName, { timeout: 60000, polling: 250 },
  ).catch(async () => {
    const state = await row.locator('[data-testid="index-state"]').textContent().catch(() => '(row gone)');
    assert.fail(`index ${indexName} is not shown ONLINE after 60 s (state cell: ${state})`);
  });

  // The full-text index of the default ontology's `@fulltext` on Person, which `ontograph
  // migrate` created under its declared name, is listed with its kind and both properties.
  const fulltext = page.locator('tr[data-testid="index-row"][data-name="PersonNameTitle"]');
  await fulltext.waitFor({ state: 'visible', timeout: 20000 }).catch(() => assert.fail('the schema page does not list the full-text index PersonNameTitle'));
  const cells = (await fulltext.locator('td').allTextContents()).map((c) => c.trim());
  assert.equal(cells[1], 'FULLTEXT', `PersonNameTitle should show type FULLTEXT: ${cells}`);
  assert.match(cells[4], /name.*title/, `PersonNameTitle should show its properties name and title: ${cells}`);

  const inDb = await cypher('SHOW INDEXES YIELD name, type, state, labelsOrTypes, properties WHERE name = $name RETURN name, type, state, labelsOrTypes, properties', { name: indexName });
  assert.equal(inDb.length, 1, `Neo4j has no index named ${indexName}`);
  assert.equal(inDb[0].type, 'RANGE', `Neo4j index ${indexName} should be RANGE, is ${inDb[0].type}`);
  assert.equal(inDb[0].state, 'ONLINE', `Neo4j index ${indexName} should be ONLINE, is ${inDb[0].state}`);
  assert.deepEqual(inDb[0].labelsOrTypes, ['Organization']);
  assert.deepEqual(inDb[0].properties, ['founded']);
  await shot('schema.png');
  assertNoPageProblems('create index');
});

test('4. drop the index through the confirmation dialog', async (t) => {
  assert.ok(indexName, 'step 3 did not create an index');
  takeProblems();
  await ensureSession(t);
  const row = page.locator(`tr[data-testid="index-row"][data-name="${indexName}"]`);
  await row.locator('[data-testid="index-drop"]').click();
  const dialog = page.locator('[data-testid="drop-dialog"]');
  await dialog.waitFor({ state: 'visible' });
  const confirm = page.locator('[data-testid="drop-confirm"]');
  assert.ok(await confirm.isDisabled(), 'Drop must stay disabled until the name is typed');
  await page.fill('[data-testid="drop-confirm-input"]', indexName.slice(0, -1));
  assert.ok(await confirm.isDisabled(), 'Drop must stay disabled while the typed name differs');
  await page.fill('[data-testid="drop-confirm-input"]', indexName);
  assert.ok(await confirm.isEnabled(), 'Drop should be enabled once the exact name is typed');
  await confirm.click();
  await dialog.waitFor({ state: 'hidden' }).catch(async () => {
    const err = await page.locator('[data-testid="drop-error"]').textContent().catch(() => '');
    assert.fail(`the drop dialog did not close; drop-error says: ${err}`);
  });
  await row.waitFor({ state: 'detached', timeout: 15000 });
  const inDb = await cypher('SHOW INDEXES YIELD name WHERE name = $name RETURN name', { name: indexName });
  assert.equal(inDb.length, 0, `Neo4j still has the index ${indexName} after the drop`);
  assertNoPageProblems('drop index');
});

test('5. an invalid index (text on an Int property) is refused with the server message', async (t) => {
  takeProblems();
  await ensureSession(t);
  if (!(await page.locator('.page[data-page="schema"]').count())) await go('schema');
  await page.waitForSelector('[data-testid="index-label"] option[value="Organization"]', { state: 'attached' });
  await page.selectOption('[data-testid="index-entity"]', 'node');
  await page.selectOption('[data-testid="index-label"]', 'Organization');
  await page.selectOption('[data-testid="index-kind"]', 'text');
  await page.selectOption('[data-testid="index-properties"]', ['founded']);
  expectHttpFailure('/admin/api/schema/indexes', 400);
  await page.click('[data-testid="index-create"]');
  const error = page.locator('[data-testid="index-error"]');
  await error.waitFor({ state: 'visible' });
  const message = (await error.textContent()).trim();
  assert.match(message, /founded/, `index-error should name the property; it says: ${message}`);
  assert.equal(await error.getAttribute('role'), 'alert', 'index-error should have role=alert');
  assert.equal(await page.locator('[data-testid="index-created"]').isVisible(), false, 'no success message for a refused index');

  const direct = await page.evaluate(async () => {
    const s = await (await fetch('/admin/api/session')).json();
    const r = await fetch('/admin/api/schema/indexes', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
      body: JSON.stringify({ kind: 'text', entity: 'node', labels: ['Organization'], properties: ['founded'] }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(direct.status, 400, `the server should refuse a text index on an Int property with 400, answered ${direct.status}: ${JSON.stringify(direct.body)}`);
  assert.equal(direct.body.error && direct.body.error.code, 'INVALID_INDEX', `error.code should be INVALID_INDEX: ${JSON.stringify(direct.body)}`);
  assert.match(direct.body.error.message, /founded/, `the server's message should name founded: ${direct.body.error.message}`);
  assert.deepEqual(await indexesOnFounded(), [], 'no index on Organization.founded may exist after a refused request');
  assertNoPageProblems('invalid index');
});

test('6. a state-changing call without the CSRF token is refused (403 CSRF)', async (t) => {
  takeProblems();
  await ensureSession(t);
  expectHttpFailure('/admin/api/schema/indexes', 403);
  const results = await page.evaluate(async () => {
    const body = JSON.stringify({ kind: 'range', entity: 'node', labels: ['Organization'], properties: ['founded'] });
    const send = async (headers) => {
      const r = await fetch('/admin/api/schema/indexes', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: r.status, body: await r.json().catch(() => null) };
    };
    return { none: await send({}), wrong: await send({ 'x-csrf-token': 'not-the-token' }) };
  });
  for (const [what, r] of Object.entries({ 'without X-CSRF-Token': results.none, 'with a wrong X-CSRF-Token': results.wrong })) {
    assert.equal(r.status, 403, `a POST ${what} should be 403, was ${r.status}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body && r.body.error && r.body.error.code, 'CSRF', `a POST ${what} should fail with code CSRF: ${JSON.stringify(r.body)}`);
  }
  assert.deepEqual(await indexesOnFounded(), [], 'a refused cross-site request must not create the index');
  assertNoPageProblems('csrf');
});

test('7. charts render with data on every page', async (t) => {
  takeProblems();
  await ensureSession(t);

  await go('cache');
  assert.ok(await countDatums('cache-hit-ratio') >= 1, 'cache-hit-ratio chart has no point');
  await shot('cache.png');

  await go('hot');
  assert.ok(await countDatums('hot-total-time') >= 1, 'hot-total-time chart has no bar');
  assert.ok(await page.locator('tr[data-testid="hot-row"]').count() >= 1, 'the hot queries table is empty');
  await page.locator('tr[data-testid="hot-row"]', { hasText: 'organizations' }).first().locator('[data-testid="hot-explain"]').click();
  await page.waitForFunction(() => (document.querySelector('[data-testid="explain-plain"]')?.textContent || '').includes('MATCH')
    || !document.querySelector('[data-testid="explain-error"]')?.hidden, null, { timeout: 30000 });
  const explainError = page.locator('[data-testid="explain-error"]');
  assert.equal(await explainError.isVisible(), false, `explain failed: ${await explainError.textContent()}`);
  assert.match(await page.locator('[data-testid="explain-rewritten"]').textContent(), /MATCH/, 'explain should show the rewritten Cypher');
  await shot('hot-queries.png');

  await go('supernodes');
  assert.ok(await countDatums('degree-distribution') >= 1, 'degree-distribution chart has no bar');
  // Every key says where it comes from (the shipped ontology declares @id and @unique).
  await page.locator('tr[data-testid="key-row"]').first().waitFor();
  assert.match(await page.locator('[data-testid="key-table"]').textContent(), /@unique/, 'the keys table names their sources');
  await shot('supernodes.png');

  await go('topology');
  assert.ok(await countDatums('backend-load') >= 1, 'backend-load chart has no bar');
  assert.ok(await page.locator('tr[data-testid="backend-row"]').count() >= 1, 'the backends table is empty');
  await shot('topology.png');

  await go('ingest');
  const ingest = await adminApi('/admin/api/ingest');
  if (ingest.status === 200 && ingest.body.enabled === false) {
    await page.locator('[data-testid="ingest-disabled"]').waitFor({ state: 'visible' });
  } else if (ingest.status === 200) {
    await page.locator('svg[data-chart="ingest-rate"], [data-chart-empty="ingest-rate"]').first().waitFor();
    await page.locator('[data-testid="dead-letters"]').waitFor();
  } else {
    await page.locator('[data-testid="ingest-error"]').waitFor({ state: 'visible' });
  }
  await shot('ingestion.png');

  await go('overview');
  assert.ok(await countDatums('requests') >= 1, 'requests chart has no point');
  await page.waitForFunction(() => /\d+ \/ \d+/.test(document.querySelector('[data-testid="card-backends-value"]')?.textContent || ''));
  await shot('overview.png');
  assertNoPageProblems('charts');
});

test('8. the audit log lists the index creation and drop', async (t) => {
  assert.ok(indexName, 'step 3 did not create an index');
  takeProblems();
  await ensureSession(t);
  await go('audit');
  for (const action of ['index.create', 'index.drop']) {
    const row = page.locator(`tr[data-testid="audit-row"][data-action="${action}"][data-result="ok"]`, { hasText: indexName });
    await row.first().waitFor({ state: 'visible', timeout: 15000 }).catch(() => {
      assert.fail(`the audit log shows no successful ${action} row for ${indexName}`);
    });
  }
  await shot('audit.png');
  assertNoPageProblems('audit');
});
