// The admin console's entry module: hash router, navigation, session, the refresh loop and the
// overview page. The other pages live in pages-schema.js and pages-status.js.
//
// A page is { title, mount(root, ctx), refresh(ctx), nextDelay?() }: `mount` builds the page
// once (forms included); `refresh` fetches and redraws only its tables and charts, so whatever
// the operator is typing survives the auto-refresh.

import {
  api, loadSession, logout, h, setChildren, table, badge, fmtInt, fmtPct, fmtClock, fmtDateTime, fmtAgo,
} from './api.js';
import { lineChart, chartWidth, COLORS } from './charts.js';
import { schemaPage } from './pages-schema.js';
import {
  supernodesPage, hotPage, topologyPage, cachePage, ingestPage, auditPage,
} from './pages-status.js';

const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// Overview.

function card(key, label, href) {
  const value = h('div', { class: 'card-value', 'data-testid': `card-${key}-value` }, '…');
  const sub = h('div', { class: 'card-sub' }, '');
  const el = h('a', { class: 'card', href, 'data-testid': `card-${key}` },
    h('div', { class: 'card-label' }, label), value, sub);
  return {
    el,
    set(text, detail, kind = 'neutral') {
      value.textContent = text;
      sub.textContent = detail || '';
      el.className = `card card-${kind}`;
    },
  };
}

/** Ratio of cache lookups served per sample (null when the sample had no lookups). */
function hitRatioSeries(samples) {
  const share = (pick) => samples.map((smp) => {
    const c = smp.cache || {};
    const lookups = (c.hitL1 || 0) + (c.hitL2 || 0) + (c.miss || 0);
    return { x: smp.atMs, y: lookups ? pick(c) / lookups : null, text: lookups ? `${fmtPct(pick(c) / lookups)} of ${fmtInt(lookups)} lookups` : undefined };
  });
  return {
    l1: share((c) => c.hitL1 || 0),
    l2: share((c) => c.hitL2 || 0),
    total: share((c) => (c.hitL1 || 0) + (c.hitL2 || 0)),
  };
}

const overviewPage = {
  title: 'Overview',
  mount(root) {
    this.cards = {
      indexes: card('indexes', 'Indexes online', '#/schema'),
      drift: card('drift', 'Schema drift', '#/schema'),
      supernodes: card('supernodes', 'Supernodes (hubs)', '#/supernodes'),
      cache: card('cache', 'Cache hit ratio', '#/cache'),
      queued: card('queued', 'Queued messages', '#/ingest'),
      dead: card('dead', 'Dead letters', '#/ingest'),
      backends: card('backends', 'Healthy backends', '#/topology'),
    };
    this.requests = h('div', { class: 'chart-host' });
    this.ratio = h('div', { class: 'chart-host' });
    this.activity = h('div', null);
    setChildren(root,
      h('section', { class: 'cards', 'aria-label': 'Status' }, Object.values(this.cards).map((c) => c.el)),
      h('div', { class: 'grid-2' },
        h('section', { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', null, 'Requests'), h('span', { class: 'panel-note' }, 'GraphQL requests and errors per 5 s, last hour')),
          this.requests),
        h('section', { class: 'panel' },
          h('header', { class: 'panel-head' }, h('h2', null, 'Cache hit ratio'), h('span', { class: 'panel-note' }, 'share of lookups served from L1 or L2, per 5 s')),
          this.ratio)),
      h('section', { class: 'panel' },
        h('header', { class: 'panel-head' }, h('h2', null, 'Recent admin activity'), h('a', { class: 'panel-link', href: '#/audit' }, 'Audit log →')),
        this.activity));
  },
  async refresh() {
    const names = ['schema', 'drift', 'supernodes', 'cache', 'ingest', 'topology', 'history', 'audit'];
    const paths = ['/admin/api/schema', '/admin/api/schema/drift', '/admin/api/supernodes', '/admin/api/cache',
      '/admin/api/ingest', '/admin/api/topology', '/admin/api/history', '/admin/api/audit?limit=8'];
    const settled = await Promise.allSettled(paths.map((p) => api(p)));
    const r = Object.fromEntries(names.map((n, i) => [n, settled[i]]));
    const ok = (n) => (r[n].status === 'fulfilled' ? r[n].value : null);
    const failed = (n) => (r[n].status === 'rejected' ? r[n].reason.message : null);
    const c = this.cards;

    const schema = ok('schema');
    if (schema) {
      const idx = schema.indexes || [];
      const online = idx.filter((i) => i.state === 'ONLINE').length;
      const populating = idx.filter((i) => i.state === 'POPULATING').length;
      const bad = idx.filter((i) => i.state === 'FAILED').length;
      const parts = [];
      if (populating) parts.push(`${populating} populating`);
      if (bad) parts.push(`${bad} failed`);
      parts.push(`${(schema.constraints || []).length} constraints`);
      c.indexes.set(`${online} / ${idx.length}`, parts.join(' · '), bad ? 'bad' : populating ? 'warn' : 'ok');
    } else c.indexes.set('—', failed('schema'), 'bad');

    const drift = ok('drift');
    if (drift) {
      const missing = (drift.missing || []).length;
      const extra = (drift.extra || []).length;
      const conflicting = (drift.conflicting || []).length;
      const n = missing + extra + conflicting;
      c.drift.set(String(n), n ? `${missing} missing · ${extra} extra · ${conflicting} conflicting` : 'database matches the ontology', n ? 'warn' : 'ok');
    } else c.drift.set('—', failed('drift'), 'bad');

    const sn = ok('supernodes');
    if (sn && sn.enabled === false) c.supernodes.set('off', 'no degree store on this gateway', 'neutral');
    else if (sn) {
      const hubs = (sn.hubs || []).length;
      c.supernodes.set(fmtInt(hubs), `${(sn.distributions || []).length} degree distributions · scanned ${fmtAgo(sn.scannedAtMs)}`, hubs ? 'info' : 'neutral');
    } else c.supernodes.set('—', failed('supernodes'), 'bad');

    const cache = ok('cache');
    if (cache && cache.enabled === false) c.cache.set('off', 'result cache disabled', 'neutral');
    else if (cache) {
      const st = cache.stats || {};
      const lookups = (st.hitsL1 || 0) + (st.hitsL2 || 0) + (st.misses || 0);
      const hr = cache.hitRatio || {};
      c.cache.set(lookups ? fmtPct(hr.total) : '—',
        lookups ? `L1 ${fmtPct(hr.l1)} · L2 ${fmtPct(hr.l2)} · ${fmtInt(lookups)} lookups` : 'no lookups yet',
        !lookups ? 'neutral' : hr.total >= 0.5 ? 'ok' : 'warn');
    } else c.cache.set('—', failed('cache'), 'bad');

    const ingest = ok('ingest');
    if (ingest && ingest.enabled === false) {
      c.queued.set('off', 'ingestion not enabled', 'neutral');
      c.dead.set('off', 'ingestion not enabled', 'neutral');
    } else if (ingest) {
      const queued = (ingest.queues || []).reduce((a, q) => a + (q.messages || 0), 0);
      const dead = (ingest.deadLetters || []).length;
      c.queued.set(fmtInt(queued), `${(ingest.queues || []).length} queues · ${ingest.partitions} partitions`, queued > 1000 ? 'warn' : 'ok');
      c.dead.set(dead >= 100 ? '100+' : fmtInt(dead), dead ? 'waiting for replay' : 'none', dead ? 'bad' : 'ok');
    } else {
      c.queued.set('—', failed('ingest'), 'bad');
      c.dead.set('—', failed('ingest'), 'bad');
    }

    const topo = ok('topology');
    if (topo) {
      const all = topo.backends || [];
      const up = all.filter((b) => b.state === 'up').length;
      c.backends.set(`${up} / ${all.length}`, topo.writer ? `writer ${topo.writer}` : 'no writer known', up === all.length && all.length ? 'ok' : up ? 'warn' : 'bad');
    } else c.backends.set('—', failed('topology'), 'bad');

    const history = ok('history');
    if (history) {
      const samples = history.samples || [];
      const w = chartWidth(this.requests, 500);
      setChildren(this.requests, lineChart({
        name: 'requests', label: 'Requests per interval', width: w, height: 220, yLabel: 'per 5 s',
        series: [
          { name: 'requests', color: COLORS.blue, points: samples.map((smp) => ({ x: smp.atMs, y: smp.requests })) },
          { name: 'errors', color: COLORS.red, points: samples.map((smp) => ({ x: smp.atMs, y: smp.errors })) },
        ],
        emptyText: 'the first sample is taken 5 s after start.',
      }));
      const ratio = hitRatioSeries(samples);
      setChildren(this.ratio, lineChart({
        name: 'hit-ratio', label: 'Cache hit ratio per interval', width: chartWidth(this.ratio, 500), height: 220,
        yMax: 1, yFormat: (v) => fmtPct(v, 0), yLabel: 'hit ratio',
        series: [{ name: 'hit ratio', color: COLORS.teal, points: ratio.total }],
        emptyText: 'no cache lookups in the last hour.',
      }));
    } else {
      setChildren(this.requests, h('p', { class: 'error', role: 'alert' }, failed('history')));
    }

    const audit = ok('audit');
    if (audit) {
      setChildren(this.activity, table({
        columns: [{ label: 'Time' }, { label: 'Who' }, { label: 'Action' }, { label: 'Target' }, { label: 'Result' }],
        rows: (audit.entries || []).map((e) => h('tr', null,
          h('td', { class: 'nowrap', title: fmtDateTime(e.atMs) }, fmtClock(e.atMs)),
          h('td', null, e.who), h('td', null, h('code', null, e.action)), h('td', { class: 'wrap' }, e.target),
          h('td', null, badge(e.result, e.result === 'ok' ? 'ok' : e.result === 'refused' ? 'warn' : 'bad')))),
        empty: 'No admin actions yet.',
      }));
    } else setChildren(this.activity, h('p', { class: 'error', role: 'alert' }, failed('audit')));

    const errors = names.map(failed).filter(Boolean);
    if (errors.length === names.length) throw new Error(errors[0]);
  },
};

// ---------------------------------------------------------------------------------------------
// Router and refresh loop.

const PAGES = {
  overview: overviewPage,
  schema: schemaPage,
  supernodes: supernodesPage,
  hot: hotPage,
  topology: topologyPage,
  cache: cachePage,
  ingest: ingestPage,
  audit: auditPage,
};

let current = null; // { name, page, root, generation }
let generation = 0;
let timer = null;
let running = null;
let again = false;

function showGlobalError(message) {
  const el = $('global-error');
  el.textContent = message || '';
  el.hidden = !message;
}

function setStatus(text, kind = '') {
  const el = $('refresh-status');
  el.textContent = text;
  el.className = `refresh-status ${kind}`.trim();
}

function autoRefresh() {
  return $('refresh-toggle').checked;
}

function schedule(ms) {
  clearTimeout(timer);
  timer = null;
  if (autoRefresh() && current) timer = setTimeout(() => refresh(), ms);
}

/** Refreshes the current page (one refresh at a time; a request during one runs right after). */
async function refresh() {
  if (!current) return;
  if (running) {
    again = true;
    return;
  }
  clearTimeout(timer);
  const mine = current;
  const ctx = contextFor(mine);
  setStatus('Refreshing…', 'busy');
  running = (async () => {
    try {
      await mine.page.refresh(ctx);
      if (ctx.alive()) {
        showGlobalError('');
        setStatus(`Updated ${fmtClock(Date.now())}${autoRefresh() ? '' : ' · auto-refresh off'}`);
      }
    } catch (e) {
      if (ctx.alive() && !(e && e.code === 'UNAUTHENTICATED')) {
        showGlobalError(`Could not load this page: ${e && e.message ? e.message : e}`);
        setStatus(`Failed ${fmtClock(Date.now())}`, 'bad');
      }
    }
  })();
  await running;
  running = null;
  if (again) {
    again = false;
    refresh();
    return;
  }
  if (current === mine) {
    const delay = mine.page.nextDelay ? mine.page.nextDelay() : REFRESH_MS;
    schedule(document.hidden ? Math.max(delay, REFRESH_MS) : delay);
  } else if (current) {
    refresh();
  }
}

function contextFor(entry) {
  return {
    alive: () => current === entry && current.generation === entry.generation,
    refresh: () => refresh(),
  };
}

function route() {
  const match = /^#\/([a-z-]+)/.exec(window.location.hash);
  const name = match && PAGES[match[1]] ? match[1] : null;
  if (!name) {
    window.location.replace('#/overview');
    return;
  }
  if (current && current.name === name) return;
  if (current && current.page.unmount) current.page.unmount();
  const page = PAGES[name];
  generation += 1;
  const root = h('div', { class: `page page-${name}`, 'data-page': name });
  current = { name, page, root, generation };
  for (const a of document.querySelectorAll('.sidenav a[data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  $('page-title').textContent = page.title;
  document.title = `${page.title} · Ontograph admin`;
  showGlobalError('');
  const view = $('view');
  view.replaceChildren(root);
  view.scrollTop = 0;
  window.scrollTo(0, 0);
  page.mount(root, contextFor(current));
  refresh();
}

async function start() {
  $('refresh-toggle').addEventListener('change', () => {
    if (autoRefresh()) refresh();
    else {
      clearTimeout(timer);
      setStatus('Auto-refresh off');
    }
  });
  $('refresh-now').addEventListener('click', () => refresh());
  $('logout').addEventListener('click', () => {
    $('logout').disabled = true;
    logout();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && autoRefresh() && !running) refresh();
  });
  window.addEventListener('hashchange', route);
  try {
    const s = await loadSession();
    $('session-subject').textContent = s.subject;
    const expiry = $('session-expiry');
    if (s.expiresAtMs) {
      expiry.textContent = `until ${fmtClock(s.expiresAtMs)}`;
      expiry.title = `Session expires ${fmtDateTime(s.expiresAtMs)}`;
    } else expiry.textContent = s.via === 'bearer' ? '(bearer token)' : '';
  } catch (e) {
    if (e && e.code === 'UNAUTHENTICATED') return;
    showGlobalError(`Could not read the session: ${e.message}`);
  }
  route();
}

start();
