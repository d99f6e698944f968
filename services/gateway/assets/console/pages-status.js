// Read-mostly pages: supernodes, hot queries (with explain), topology, cache, ingestion (with
// dead-letter replay) and the audit log. Each page builds its frame once and redraws tables and
// charts on refresh; panels the operator works in (explain, filters) are never redrawn.

import {
  api, h, setChildren, table, badge, errorBox, showError, fmtInt, fmtNum, fmtMs, fmtPct, fmtBytes,
  fmtDateTime, fmtAgo, fmtCompact,
} from './api.js';
import {
  lineChart, hbarChart, histogram, meter, chartWidth, COLORS,
} from './charts.js';

function panel({ title, note, testid, actions }, ...children) {
  return h('section', { class: 'panel', 'data-testid': testid },
    h('header', { class: 'panel-head' }, h('h2', null, title),
      note ? h('span', { class: 'panel-note' }, note) : null,
      actions ? h('span', { class: 'spacer' }) : null, actions || null),
    ...children);
}

function notice(testid, titleText, ...text) {
  return h('div', { class: 'notice', 'data-testid': testid, role: 'note' }, h('strong', null, titleText), h('p', null, ...text));
}

function failure(message) {
  return h('p', { class: 'error', role: 'alert' }, message);
}

function stat(label, value, title) {
  return h('div', { class: 'kv', title }, h('span', { class: 'kv-label' }, label), h('span', { class: 'kv-value' }, value));
}

function host(text = 'Loading…') {
  return h('div', { class: 'chart-host' }, h('p', { class: 'muted' }, text));
}

/** Sets `el`'s content only when `data` changed since the last time (keeps scroll and focus). */
function renderIfChanged(el, data, build) {
  const json = JSON.stringify(data);
  if (el.dataset.rendered === json) return;
  el.dataset.rendered = json;
  setChildren(el, build());
}

// ---------------------------------------------------------------------------------------------
// Supernodes.

function arrow(relType, direction) {
  return direction === 'in' ? `<-[:${relType}]-` : direction === 'out' ? `-[:${relType}]->` : `-[:${relType}]-`;
}

function keyShort(keys) {
  const entries = Object.entries(keys || {});
  if (entries.length === 1) return typeof entries[0][1] === 'string' ? entries[0][1] : JSON.stringify(entries[0][1]);
  return keyText(keys);
}

function keyText(keys) {
  if (!keys || typeof keys !== 'object') return '';
  return Object.entries(keys).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

export const supernodesPage = {
  title: 'Supernodes',
  mount(root) {
    this.summary = h('div', { class: 'kv-row' }, h('span', { class: 'muted' }, 'Loading…'));
    this.limit = h('select', { 'data-testid': 'distribution-limit', 'aria-label': 'Distributions shown' },
      h('option', { value: '15' }, 'Top 15 by max degree'), h('option', { value: '30' }, 'Top 30'), h('option', { value: 'all' }, 'All'));
    this.labelFilter = h('select', { 'data-testid': 'distribution-label', 'aria-label': 'Label' }, h('option', { value: '' }, 'All labels'));
    const redraw = () => { this.distChart.dataset.rendered = ''; this.draw(); };
    this.limit.addEventListener('change', redraw);
    this.labelFilter.addEventListener('change', redraw);
    this.distChart = host();
    this.hubChart = host();
    this.hubTable = h('div', null);
    this.distTable = h('div', null);
    this.counts = h('div', null);
    this.keys = h('div', null);
    this.disabled = h('div', null);
    setChildren(root,
      this.disabled,
      panel({ title: 'Degree store', note: 'scanned periodically; hubs are nodes whose degree reaches the threshold' }, h('div', { class: 'panel-body' }, this.summary)),
      panel({
        title: 'Degree distribution',
        note: 'per label, relationship type and direction · log scale · line = hub threshold',
        actions: h('span', { class: 'inline-controls' }, this.labelFilter, this.limit),
      }, h('div', { class: 'panel-body' }, this.distChart)),
      h('div', { class: 'grid-2 wide-left' },
        panel({ title: 'Hubs', note: 'highest-degree nodes · log scale', testid: 'hubs' }, h('div', { class: 'panel-body' }, this.hubChart), this.hubTable),
        panel({ title: 'Nodes per label' }, this.counts)),
      panel({ title: 'Distributions' }, this.distTable),
      panel({ title: 'Keys', note: 'what lookups, hubs and rewrites are keyed by, and where each key comes from', testid: 'keys' }, this.keys));
  },
  async refresh() {
    this.data = await api('/admin/api/supernodes');
    this.draw();
  },
  draw() {
    const d = this.data;
    if (!d) return;
    if (d.enabled === false) {
      setChildren(this.disabled, notice('supernodes-disabled', 'No degree store', 'This gateway does not track node degrees, so there are no supernode statistics.'));
      return;
    }
    const cfg = d.config || {};
    const q = cfg.quantile !== undefined ? `p${fmtNum(cfg.quantile * 100, 2)}` : 'quantile';
    const dists = d.distributions || [];
    const hubs = d.hubs || [];
    setChildren(this.summary,
      stat('Last scan', d.scannedAtMs ? fmtAgo(d.scannedAtMs) : 'not yet', fmtDateTime(d.scannedAtMs)),
      stat('Scan took', fmtMs(d.scanMs)),
      stat('Scan interval', fmtMs(cfg.scanIntervalMs)),
      stat('Min hub degree', fmtInt(cfg.minDegree)),
      stat('Quantile', q),
      stat('Distributions', fmtInt(dists.length)),
      stat('Hubs', fmtInt(hubs.length)));

    const labels = [...new Set(dists.map((x) => x.label))].sort();
    if (this.labelFilter.options.length !== labels.length + 1) {
      const keep = this.labelFilter.value;
      setChildren(this.labelFilter, h('option', { value: '' }, 'All labels'), labels.map((l) => h('option', { value: l }, l)));
      this.labelFilter.value = labels.includes(keep) ? keep : '';
    }
    const label = this.labelFilter.value;
    const limit = this.limit.value === 'all' ? Infinity : Number(this.limit.value);
    const rows = dists.filter((x) => !label || x.label === label)
      .sort((a, b) => b.max - a.max || b.mean - a.mean)
      .slice(0, limit);
    renderIfChanged(this.distChart, [rows, q, this.distChart.clientWidth], () => hbarChart({
      name: 'degree-distribution',
      label: 'Degree distribution',
      width: chartWidth(this.distChart, 1000),
      log: true,
      labelWidth: 250,
      series: [{ name: 'mean', color: COLORS.slate }, { name: q, color: COLORS.teal }, { name: 'max', color: COLORS.amber }],
      rows: rows.map((x) => ({
        label: `${x.label} ${arrow(x.relType, x.direction)}`,
        values: [x.mean, x.quantileDegree, x.max],
        titles: [
          `${x.label} ${arrow(x.relType, x.direction)} · mean degree ${fmtNum(x.mean, 3)} over ${fmtInt(x.nodes)} nodes`,
          `${x.label} ${arrow(x.relType, x.direction)} · ${q} degree ${fmtInt(x.quantileDegree)}`,
          `${x.label} ${arrow(x.relType, x.direction)} · max degree ${fmtInt(x.max)} (hub threshold ${fmtInt(x.threshold)})`,
        ],
      })),
      markers: rows.map((x) => x.threshold),
      xLabel: 'degree (log scale)',
      emptyText: 'the degree store has not finished its first scan.',
    }));

    renderIfChanged(this.hubChart, [hubs, this.hubChart.clientWidth], () => (hubs.length
      ? hbarChart({
        name: 'hubs', label: 'Hub degrees', width: chartWidth(this.hubChart, 600), log: true, labelWidth: 240,
        series: [{ name: 'degree', color: COLORS.violet }],
        rows: hubs.map((x) => ({
          label: `${x.label} ${keyShort(x.keys)} ${arrow(x.relType, x.direction)}`,
          values: [x.degree],
          titles: [`${x.label} {${keyText(x.keys)}} ${arrow(x.relType, x.direction)} · degree ${fmtInt(x.degree)}`],
        })),
        xLabel: 'degree (log scale)',
      })
      : h('p', { class: 'muted', 'data-testid': 'no-hubs' }, 'No hubs: no node reaches its hub threshold.')));

    const thresholdOf = (x) => (dists.find((y) => y.label === x.label && y.relType === x.relType && y.direction === x.direction) || {});
    renderIfChanged(this.hubTable, hubs, () => (hubs.length ? table({
      testid: 'hub-table',
      columns: [{ label: 'Label' }, { label: 'Key' }, { label: 'Relationship' }, { label: 'Degree', class: 'num' }, { label: '× mean', class: 'num' }],
      rows: hubs.map((x) => h('tr', { 'data-testid': 'hub-row' },
        h('td', null, x.label), h('td', null, h('code', null, keyText(x.keys))),
        h('td', null, h('code', null, arrow(x.relType, x.direction))),
        h('td', { class: 'num' }, fmtInt(x.degree)),
        h('td', { class: 'num' }, thresholdOf(x).mean ? fmtCompact(x.degree / thresholdOf(x).mean) : '—'))),
    }) : null));

    const counts = Object.entries(d.labelCounts || {}).sort((a, b) => b[1] - a[1]);
    renderIfChanged(this.counts, counts, () => table({
      columns: [{ label: 'Label' }, { label: 'Nodes', class: 'num' }],
      rows: counts.map(([l, n]) => h('tr', null, h('td', null, l), h('td', { class: 'num' }, fmtInt(n)))),
      empty: 'Not scanned yet.',
    }));

    const keys = d.keys || [];
    renderIfChanged(this.keys, keys, () => table({
      testid: 'key-table',
      columns: [{ label: 'Type' }, { label: 'Property' }, { label: 'Source' }],
      rows: keys.map((k) => h('tr', { 'data-testid': 'key-row' },
        h('td', null, k.type), h('td', null, h('code', null, k.property)), h('td', null, k.source))),
      empty: 'No keys: declare @unique, or create uniqueness constraints in the database.',
    }));

    renderIfChanged(this.distTable, [dists, q], () => table({
      testid: 'distribution-table',
      columns: [{ label: 'Label' }, { label: 'Relationship' }, { label: 'Nodes', class: 'num' }, { label: 'Mean', class: 'num' },
        { label: q, class: 'num' }, { label: 'Max', class: 'num' }, { label: 'Hub threshold', class: 'num' }, { label: '' }],
      rows: [...dists].sort((a, b) => a.label.localeCompare(b.label) || b.max - a.max).map((x) => h('tr', { 'data-testid': 'distribution-row' },
        h('td', null, x.label), h('td', null, h('code', null, arrow(x.relType, x.direction))),
        h('td', { class: 'num' }, fmtInt(x.nodes)), h('td', { class: 'num' }, fmtNum(x.mean, 3)),
        h('td', { class: 'num' }, fmtInt(x.quantileDegree)), h('td', { class: 'num' }, fmtInt(x.max)),
        h('td', { class: 'num' }, fmtInt(x.threshold)),
        h('td', null, x.max >= x.threshold ? badge('has hubs', 'warn') : null))),
      empty: 'No distributions yet.',
    }));
  },
};

// ---------------------------------------------------------------------------------------------
// Hot queries and explain.

function counts(map) {
  const entries = Object.entries(map || {});
  if (!entries.length) return h('span', { class: 'muted' }, '—');
  return entries.map(([k, n]) => h('div', { class: 'small' }, h('code', null, k), ` ×${fmtInt(n)}`));
}

function shapeLabel(x) {
  return x.operation ? `${x.operation}: ${x.shape}` : x.shape;
}

function clipText(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function bucketLabel(le) {
  return le === 'inf' ? '> 1 s' : `≤ ${le >= 1000 ? `${le / 1000} s` : `${le} ms`}`;
}

function explainView(item, r) {
  const m = r.measured;
  const decisions = r.decisions || [];
  return [
    h('div', { class: 'kv-row' },
      stat('Rewritten', r.rewritten ? 'yes' : 'no'),
      stat('Supernode store', r.supernodeStore ? 'yes' : 'no'),
      m ? stat('Plain (median)', fmtMs(m.plainMedianMs)) : null,
      m ? stat('Rewritten (median)', fmtMs(m.rewrittenMedianMs)) : null,
      m ? stat('Speed-up', `${fmtNum(m.speedup, 2)}×`) : null,
      m ? stat('Runs each', fmtInt(m.runs)) : stat('Timing', 'not measured')),
    h('h3', null, `Supernode decisions (${decisions.length})`),
    table({
      testid: 'explain-decisions',
      empty: 'No relationship in this query starts at a known hub: nothing to rewrite.',
      columns: [{ label: 'Rule' }, { label: 'Field' }, { label: 'Anchor' }, { label: 'Relationship' }, { label: 'Degree', class: 'num' },
        { label: 'Est. rows plain', class: 'num' }, { label: 'Est. rows rewritten', class: 'num' }, { label: 'Applied' }],
      rows: decisions.map((d) => h('tr', null,
        h('td', null, h('code', null, String(d.rule))), h('td', null, d.field), h('td', null, h('code', null, d.anchor)),
        h('td', null, d.relType), h('td', { class: 'num' }, fmtInt(d.degree)),
        h('td', { class: 'num' }, fmtCompact(d.costPlain)), h('td', { class: 'num' }, fmtCompact(d.costRewritten)),
        h('td', null, badge(d.applied ? 'applied' : 'not applied', d.applied ? 'ok' : 'muted')))),
    }),
    h('div', { class: 'grid-2' },
      h('div', null, h('h3', null, 'Plain Cypher'), h('pre', { class: 'cypher', 'data-testid': 'explain-plain' }, r.plain ? r.plain.cypher : ''),
        h('details', null, h('summary', null, 'Parameters'), h('pre', { class: 'cypher small' }, JSON.stringify(r.plain ? r.plain.params : {}, null, 2)))),
      h('div', null, h('h3', null, r.rewritten ? 'Rewritten Cypher' : 'Rewritten Cypher (same as plain)'),
        h('pre', { class: 'cypher', 'data-testid': 'explain-rewritten' }, r.rewrittenCypher ? r.rewrittenCypher.cypher : ''),
        h('details', null, h('summary', null, 'Parameters'), h('pre', { class: 'cypher small' }, JSON.stringify(r.rewrittenCypher ? r.rewrittenCypher.params : {}, null, 2))))),
  ];
}

export const hotPage = {
  title: 'Hot queries',
  mount(root) {
    this.chart = host();
    this.tableHost = h('div', null, h('p', { class: 'muted pad' }, 'Loading…'));
    this.note = h('span', { class: 'panel-note' });
    this.explainTitle = h('div', { class: 'explain-query' });
    this.explainHist = h('div', { class: 'chart-host' });
    this.explainBody = h('div', { 'data-testid': 'explain-result' });
    this.explainError = errorBox('explain-error');
    this.explainPanel = h('section', { class: 'panel', 'data-testid': 'explain-panel', hidden: true },
      h('header', { class: 'panel-head' }, h('h2', null, 'Explain'), h('span', { class: 'panel-note' }, 'plain vs supernode-rewritten Cypher, both timed on the live database (reads only)'),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'explain-close', on: { click: () => { this.explainPanel.hidden = true; } } }, 'Close')),
      h('div', { class: 'panel-body' }, this.explainTitle, this.explainError,
        h('div', { class: 'grid-2 wide-right' },
          h('div', null, h('h3', null, 'Latency of this shape'), this.explainHist),
          this.explainBody)));
    setChildren(root,
      panel({ title: 'Total time by shape', note: 'where the gateway spends its time (top 15)' }, h('div', { class: 'panel-body' }, this.chart)),
      this.explainPanel,
      h('section', { class: 'panel' }, h('header', { class: 'panel-head' }, h('h2', null, 'Operation shapes'), this.note), this.tableHost));
  },
  async refresh() {
    const r = await api('/admin/api/hot-queries?limit=50');
    const hot = r.hot || [];
    this.note.textContent = `${fmtInt(r.shapes)} shape(s) recorded · literals replaced by ? · p50/p99 are bucket upper bounds`;
    const top = hot.slice(0, 15);
    renderIfChanged(this.chart, [top.map((x) => [x.shape, x.totalMs, x.count]), this.chart.clientWidth], () => hbarChart({
      name: 'hot-total-time', label: 'Total time by operation shape', width: chartWidth(this.chart, 1000), labelWidth: 380,
      series: [{ name: 'total time', color: COLORS.blue }],
      valueFormat: fmtMs,
      rows: top.map((x) => ({
        label: shapeLabel(x),
        values: [x.totalMs],
        titles: [`${shapeLabel(x)}\n${fmtMs(x.totalMs)} total · ${fmtInt(x.count)} executions · mean ${fmtMs(x.meanMs)} · ${fmtPct(x.shareOfTime)} of all time`],
      })),
      xLabel: 'total time',
      emptyText: 'no GraphQL operation has run since the gateway started.',
    }));
    renderIfChanged(this.tableHost, hot, () => table({
      testid: 'hot-table',
      className: 'hot-table',
      empty: 'No operations recorded yet.',
      columns: [{ label: 'Shape' }, { label: 'Count', class: 'num', title: 'executions (errors)' }, { label: 'Total', class: 'num' },
        { label: 'Share', class: 'num' }, { label: 'p50 ≤', class: 'num' }, { label: 'p99 ≤', class: 'num' }, { label: 'Max', class: 'num' },
        { label: 'Rows', class: 'num', title: 'mean rows returned' }, { label: 'Rewrites', title: 'supernode rewrites applied, and the hubs queries started from' }, { label: 'Filters / sorts' }, { label: '' }],
      rows: hot.map((x) => h('tr', { 'data-testid': 'hot-row' },
        h('td', { class: 'shape', title: x.shape }, x.operation ? h('b', null, `${x.operation} `) : null, h('code', null, clipText(x.shape, 140))),
        h('td', { class: 'num' }, fmtInt(x.count), x.errors ? h('div', { class: 'small bad-text' }, `${fmtInt(x.errors)} failed`) : null),
        h('td', { class: 'num' }, fmtMs(x.totalMs)),
        h('td', { class: 'num' }, fmtPct(x.shareOfTime)),
        h('td', { class: 'num' }, fmtMs(x.p50MsAtMost)),
        h('td', { class: 'num' }, fmtMs(x.p99MsAtMost)),
        h('td', { class: 'num' }, fmtMs(x.maxMs)),
        h('td', { class: 'num' }, fmtNum(x.meanRows, 1)),
        h('td', null, Object.keys(x.rewrites || {}).length || Object.keys(x.supernodeAnchors || {}).length
          ? [counts(x.rewrites), Object.keys(x.supernodeAnchors || {}).length ? counts(x.supernodeAnchors) : null]
          : h('span', { class: 'muted' }, '—')),
        h('td', null, (x.uses || []).length ? (x.uses || []).map((u) => h('div', { class: 'small use' }, h('code', null, `${u.label}.${u.property}`), h('span', { class: 'muted' }, ` ${u.usage}`))) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'actions' }, h('button', {
          type: 'button', class: 'btn btn-small', 'data-testid': 'hot-explain', disabled: !x.sample,
          on: { click: () => this.explain(x) },
        }, 'Explain')))),
    }));
  },
  async explain(item) {
    this.explainPanel.hidden = false;
    showError(this.explainError, '');
    setChildren(this.explainTitle, h('pre', { class: 'cypher', 'data-testid': 'explain-query' }, item.sample));
    setChildren(this.explainHist, histogram({
      name: 'latency-histogram', label: 'Latency histogram', width: 380, height: 200, xLabel: 'latency bucket', yLabel: 'executions',
      buckets: (item.histogram || []).map((b) => ({ label: bucketLabel(b.leMs), count: b.count })),
    }));
    setChildren(this.explainBody, h('p', { class: 'muted' }, 'Compiling and timing both statements…'));
    this.explainPanel.scrollIntoView({ block: 'nearest' });
    const token = {};
    this.explainToken = token;
    try {
      const measure = !/^\s*mutation\b/.test(item.sample);
      const r = await api('/admin/api/explain', { method: 'POST', body: { query: item.sample, measure } });
      if (this.explainToken !== token) return;
      setChildren(this.explainBody, explainView(item, r));
    } catch (e) {
      if (this.explainToken !== token) return;
      setChildren(this.explainBody);
      showError(this.explainError, e.message);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Topology.

function health(state) {
  const kind = state === 'up' ? 'ok' : state === 'half-open' ? 'warn' : 'bad';
  return h('span', { class: `health health-${kind}`, 'data-testid': 'backend-health', 'data-state': state }, h('span', { class: 'dot', 'aria-hidden': 'true' }), state);
}

function roleBadges(roles) {
  return (roles || []).map((r) => {
    const kind = r === 'WRITE' ? 'info' : r === 'READ' ? 'ok' : 'muted';
    return badge(r, kind, { class: `badge badge-${kind} role role-${String(r).toLowerCase()}`, 'data-testid': 'backend-role' });
  });
}

export const topologyPage = {
  title: 'Topology',
  mount(root) {
    this.summary = h('div', { class: 'kv-row' }, h('span', { class: 'muted' }, 'Loading…'));
    this.tableHost = h('div', null);
    this.chart = host();
    setChildren(root,
      panel({ title: 'Routing' }, h('div', { class: 'panel-body' }, this.summary)),
      panel({ title: 'Backends', note: 'circuit-breaker state and load of each Neo4j server' }, this.tableHost),
      panel({ title: 'Requests per backend', note: 'since the gateway started' }, h('div', { class: 'panel-body' }, this.chart)));
  },
  async refresh() {
    const t = await api('/admin/api/topology');
    const rt = t.routingTable || {};
    const backends = t.backends || [];
    setChildren(this.summary,
      stat('Mode', t.mode || '—'),
      t.seed ? stat('Seed', t.seed) : null,
      stat('Writer', t.writer || 'none'),
      stat('Readers', (t.readers || []).length ? t.readers.join(', ') : 'none'),
      stat('Reads fall back to leader', t.readFallbackToLeader ? 'yes' : 'no'),
      stat('Routing table TTL', rt.ttlSeconds === null || rt.ttlSeconds === undefined ? '—' : `${rt.ttlSeconds} s`),
      stat('Refreshed', rt.refreshedAt ? fmtAgo(rt.refreshedAt) : '—', fmtDateTime(rt.refreshedAt)),
      rt.lastError ? h('div', { class: 'kv kv-bad' }, h('span', { class: 'kv-label' }, 'Last refresh error'), h('span', { class: 'kv-value' }, rt.lastError)) : null);
    renderIfChanged(this.tableHost, backends, () => table({
      testid: 'backend-table',
      empty: 'No backends known.',
      columns: [{ label: 'Address' }, { label: 'Roles' }, { label: 'Health' }, { label: 'Since' }, { label: 'Failures', class: 'num' },
        { label: 'Last error' }, { label: 'Requests', class: 'num' }, { label: 'Errors', class: 'num' }, { label: 'In flight', class: 'num' },
        { label: 'Load cost', class: 'num', title: 'smoothed cost used to pick a reader' }],
      rows: backends.map((b) => h('tr', { 'data-testid': 'backend-row', 'data-address': b.address },
        h('td', null, h('code', null, b.address)),
        h('td', null, roleBadges(b.roles)),
        h('td', null, health(b.state)),
        h('td', { class: 'nowrap', title: fmtDateTime(b.since) }, fmtAgo(b.since)),
        h('td', { class: 'num' }, fmtInt(b.consecutiveFailures)),
        h('td', { class: 'wrap' }, b.lastError ? h('span', { class: 'bad-text' }, b.lastError) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'num' }, fmtInt(b.requests)),
        h('td', { class: b.errors ? 'num bad-text' : 'num' }, fmtInt(b.errors)),
        h('td', { class: 'num' }, fmtInt(b.inFlight)),
        h('td', { class: 'num' }, fmtMs(b.loadCostMs)))),
    }));
    renderIfChanged(this.chart, [backends.map((b) => [b.address, b.requests, b.errors]), this.chart.clientWidth], () => hbarChart({
      name: 'backend-load', label: 'Requests per backend', width: chartWidth(this.chart, 1000), labelWidth: 200, barHeight: 11,
      series: [{ name: 'requests', color: COLORS.blue }, { name: 'errors', color: COLORS.red }],
      rows: backends.map((b) => ({ label: b.address, values: [b.requests || 0, b.errors || 0] })),
      xLabel: 'requests',
      emptyText: 'no backend has served a request yet.',
    }));
  },
};

// ---------------------------------------------------------------------------------------------
// Cache.

function hitShares(samples) {
  const share = (pick) => samples.map((smp) => {
    const c = smp.cache || {};
    const lookups = (c.hitL1 || 0) + (c.hitL2 || 0) + (c.miss || 0);
    return { x: smp.atMs, y: lookups ? pick(c) / lookups : null, text: lookups ? `${fmtPct(pick(c) / lookups)} of ${fmtInt(lookups)} lookups` : undefined };
  });
  return [
    { name: 'total', color: COLORS.teal, width: 3, radius: 4, points: share((c) => (c.hitL1 || 0) + (c.hitL2 || 0)) },
    { name: 'L1 share', color: COLORS.blue, points: share((c) => c.hitL1 || 0) },
    { name: 'L2 share', color: COLORS.violet, points: share((c) => c.hitL2 || 0) },
  ];
}

function yesNo(v, good = true) {
  return badge(v ? 'yes' : 'no', v === good ? 'ok' : 'bad');
}

export const cachePage = {
  title: 'Cache',
  mount(root) {
    this.disabled = h('div', null);
    this.counters = h('div', { class: 'kv-row' }, h('span', { class: 'muted' }, 'Loading…'));
    this.usage = h('div', { class: 'usage' });
    this.redis = h('div', { class: 'kv-row' });
    this.ratio = host();
    this.lookups = host();
    this.policy = h('div', null);
    setChildren(root,
      this.disabled,
      h('div', { class: 'grid-2 wide-left' },
        panel({ title: 'Counters', note: 'since the gateway started' }, h('div', { class: 'panel-body' }, this.counters, this.usage)),
        panel({ title: 'Redis (L2)' }, h('div', { class: 'panel-body' }, this.redis))),
      panel({ title: 'Hit ratio over time', note: 'share of lookups served by L1 (memory) and L2 (Redis), per 5 s' }, h('div', { class: 'panel-body' }, this.ratio)),
      panel({ title: 'Lookups per interval' }, h('div', { class: 'panel-body' }, this.lookups)),
      panel({ title: 'Policy', note: 'time to live of cached results' }, this.policy));
  },
  async refresh() {
    const [cache, history] = await Promise.all([api('/admin/api/cache'), api('/admin/api/history')]);
    const samples = history.samples || [];
    if (cache.enabled === false) {
      setChildren(this.disabled, notice('cache-disabled', 'The result cache is off', 'This gateway runs without a result cache: every query goes to Neo4j.'));
    } else {
      setChildren(this.disabled);
      const st = cache.stats || {};
      const hr = cache.hitRatio || {};
      const lookups = (st.hitsL1 || 0) + (st.hitsL2 || 0) + (st.misses || 0);
      setChildren(this.counters,
        stat('Hit ratio', lookups ? fmtPct(hr.total) : '—'),
        stat('L1 hits', `${fmtInt(st.hitsL1)} (${fmtPct(hr.l1)})`),
        stat('L2 hits', `${fmtInt(st.hitsL2)} (${fmtPct(hr.l2)})`),
        stat('Misses', fmtInt(st.misses)),
        stat('L1 entries', fmtInt(st.l1Entries)),
        stat('Invalidated here', fmtInt(st.invalidatedHere)),
        stat('Invalidated elsewhere', fmtInt(st.invalidatedElsewhere), 'invalidations received from other gateways'));
      const ratio = st.l1CapacityBytes ? (st.l1Bytes || 0) / st.l1CapacityBytes : 0;
      setChildren(this.usage,
        h('div', { class: 'usage-label' }, h('b', null, 'L1 memory'), ` ${fmtBytes(st.l1Bytes)} of ${fmtBytes(st.l1CapacityBytes)} (${fmtPct(ratio, ratio < 0.01 ? 3 : 1)})`),
        meter({ ratio, label: 'L1 memory used', testid: 'cache-l1-usage' }));
      setChildren(this.redis,
        h('div', { class: 'kv' }, h('span', { class: 'kv-label' }, 'Configured'), h('span', { class: 'kv-value' }, yesNo(st.redisConfigured))),
        h('div', { class: 'kv' }, h('span', { class: 'kv-label' }, 'Connected'), h('span', { class: 'kv-value', 'data-testid': 'redis-connected' }, st.redisConfigured ? yesNo(st.redisConnected) : badge('n/a', 'muted'))),
        h('div', { class: 'kv' }, h('span', { class: 'kv-label' }, 'Skipped'), h('span', { class: 'kv-value', title: 'L2 temporarily bypassed after errors' }, yesNo(st.redisSkipped, false))),
        stat('Pending invalidations', fmtInt(st.pendingInvalidations)));
      const pol = cache.policy || {};
      const types = Object.entries(pol.typeTtlMs || {});
      renderIfChanged(this.policy, pol, () => table({
        testid: 'cache-policy',
        columns: [{ label: 'Applies to' }, { label: 'TTL', class: 'num' }],
        rows: [h('tr', null, h('td', null, h('b', null, 'default')), h('td', { class: 'num' }, pol.defaultTtlMs === null || pol.defaultTtlMs === undefined ? 'no expiry' : fmtMs(pol.defaultTtlMs))),
          ...types.map(([t, ms]) => h('tr', null, h('td', null, h('code', null, t)), h('td', { class: 'num' }, fmtMs(ms))))],
      }));
    }
    renderIfChanged(this.ratio, [samples, this.ratio.clientWidth], () => lineChart({
      name: 'cache-hit-ratio', label: 'Cache hit ratio per interval', width: chartWidth(this.ratio, 1000), height: 240,
      yMax: 1, yFormat: (v) => fmtPct(v, 0), yLabel: 'share of lookups',
      series: hitShares(samples),
      emptyText: 'no cache lookups in the last hour.',
    }));
    renderIfChanged(this.lookups, [samples.map((s) => [s.atMs, s.cache]), this.lookups.clientWidth], () => lineChart({
      name: 'cache-lookups', label: 'Cache lookups per interval', width: chartWidth(this.lookups, 1000), height: 200, yLabel: 'per 5 s',
      series: [
        { name: 'L1 hits', color: COLORS.blue, points: samples.map((s) => ({ x: s.atMs, y: s.cache.hitL1 })) },
        { name: 'L2 hits', color: COLORS.violet, points: samples.map((s) => ({ x: s.atMs, y: s.cache.hitL2 })) },
        { name: 'misses', color: COLORS.amber, points: samples.map((s) => ({ x: s.atMs, y: s.cache.miss })) },
        { name: 'bypassed', color: COLORS.slate, points: samples.map((s) => ({ x: s.atMs, y: s.cache.bypass })) },
      ],
    }));
  },
};

// ---------------------------------------------------------------------------------------------
// Ingestion.

export const ingestPage = {
  title: 'Ingestion',
  mount(root, ctx) {
    this.ctx = ctx;
    this.state = h('div', null);
    this.chart = host();
    this.summary = h('div', { class: 'kv-row' });
    this.sources = h('div', null);
    this.queues = h('div', null);
    this.dead = h('div', null);
    this.dlqError = errorBox('dlq-error');
    this.dlqResult = h('div', { class: 'success', role: 'status', 'data-testid': 'dlq-result', hidden: true });
    this.replayAll = h('button', {
      type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'dlq-replay-all', disabled: true,
      on: { click: () => this.replay({ all: true }, this.replayAll) },
    }, 'Replay all');
    this.enabledParts = h('div', { class: 'stack', 'data-testid': 'ingest-details', hidden: true },
      h('div', { class: 'grid-2' },
        panel({ title: 'Sources', note: 'webhook sources and the event types their mapping rules handle' }, this.sources),
        panel({ title: 'Queues' }, h('div', { class: 'panel-body' }, this.summary), this.queues)),
      panel({ title: 'Dead letters', note: 'events that could not be written (up to 100 shown); replay them once the cause is fixed', actions: this.replayAll },
        this.dlqError, this.dlqResult, this.dead));
    setChildren(root,
      this.state,
      panel({ title: 'Throughput', note: 'webhook events accepted per 5 s, and messages waiting now' }, h('div', { class: 'panel-body' }, this.chart)),
      this.enabledParts);
  },
  async replay(body, button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Replaying…';
    showError(this.dlqError, '');
    this.dlqResult.hidden = true;
    try {
      const r = await api('/admin/api/ingest/replay', { method: 'POST', body });
      const n = (r.replayed || []).length;
      this.dlqResult.textContent = n ? `Replayed ${n} dead letter(s): ${(r.replayed || []).join(', ')}.` : 'Nothing was replayed (already gone?).';
      this.dlqResult.hidden = false;
      this.ctx.refresh();
    } catch (e) {
      showError(this.dlqError, e.message);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  },
  async refresh() {
    const [status, history] = await Promise.allSettled([api('/admin/api/ingest'), api('/admin/api/history')]);
    const samples = history.status === 'fulfilled' ? history.value.samples || [] : [];
    const off = status.status === 'fulfilled' && status.value.enabled === false;
    if (off) {
      setChildren(this.state, notice('ingest-disabled', 'Ingestion is not enabled on this gateway',
        'Webhooks are not accepted here: start the gateway with ', h('code', null, 'ONTOGRAPH_INGEST=true'),
        ' (and ', h('code', null, 'AMQP_URL'), ', mapping rules and a secret per source) to use the ingestion pipeline.'));
    } else if (status.status === 'rejected') {
      setChildren(this.state, h('p', { class: 'error', role: 'alert', 'data-testid': 'ingest-error' },
        `Ingestion status unavailable: ${status.reason.message}`));
    } else {
      setChildren(this.state);
    }
    this.enabledParts.hidden = !(status.status === 'fulfilled' && status.value.enabled);
    if (history.status === 'rejected') {
      setChildren(this.chart, failure(history.reason.message));
      this.chart.dataset.rendered = '';
    } else {
      renderIfChanged(this.chart, [samples.map((s) => [s.atMs, s.ingest]), off, this.chart.clientWidth], () => lineChart({
        name: 'ingest-rate', label: 'Ingestion throughput', width: chartWidth(this.chart, 1000), height: 220, yLabel: 'messages',
        series: [
          { name: 'accepted / 5 s', color: COLORS.blue, points: samples.map((s) => ({ x: s.atMs, y: s.ingest.accepted })) },
          { name: 'queued', color: COLORS.amber, points: samples.map((s) => ({ x: s.atMs, y: s.ingest.queued })) },
          { name: 'dead letters', color: COLORS.red, points: samples.map((s) => ({ x: s.atMs, y: s.ingest.deadLetters })) },
        ],
        emptyText: off ? 'ingestion is off.' : 'no samples yet.',
      }));
    }
    if (status.status !== 'fulfilled' || !status.value.enabled) return;
    const s = status.value;
    const queues = s.queues || [];
    const dead = s.deadLetters || [];
    setChildren(this.summary,
      stat('Partitions', fmtInt(s.partitions)),
      stat('Queued', fmtInt(queues.reduce((a, q) => a + (q.messages || 0), 0))),
      stat('Dead letters', dead.length >= 100 ? '100+' : fmtInt(dead.length)));
    renderIfChanged(this.sources, s.sources || [], () => table({
      testid: 'ingest-sources', empty: 'No sources configured.',
      columns: [{ label: 'Source' }, { label: 'Event types' }],
      rows: (s.sources || []).map((x) => h('tr', null, h('td', null, h('code', null, x.source)),
        h('td', null, (x.eventTypes || []).map((t) => badge(t, 'muted'))))),
    }));
    renderIfChanged(this.queues, queues, () => table({
      testid: 'ingest-queues', empty: 'No queues.',
      columns: [{ label: 'Queue' }, { label: 'Messages', class: 'num' }],
      rows: queues.map((q) => h('tr', { 'data-testid': 'queue-row' }, h('td', null, h('code', null, q.name)), h('td', { class: 'num' }, fmtInt(q.messages)))),
    }));
    this.replayAll.disabled = dead.length === 0;
    renderIfChanged(this.dead, dead, () => table({
      testid: 'dead-letters', empty: 'No dead letters.',
      columns: [{ label: 'Id' }, { label: 'Source' }, { label: 'Event type' }, { label: 'Reason' }, { label: 'Body' }, { label: '' }],
      rows: dead.map((d) => h('tr', { 'data-testid': 'dlq-row', 'data-id': d.id },
        h('td', null, h('code', { class: 'small' }, d.id)),
        h('td', null, d.source), h('td', null, d.eventType),
        h('td', { class: 'wrap bad-text' }, d.reason),
        h('td', { class: 'wrap' }, h('details', null, h('summary', null, clipText(d.body || '', 60) || '(empty)'), h('pre', { class: 'cypher small' }, d.body))),
        h('td', { class: 'actions' }, h('button', {
          type: 'button', class: 'btn btn-small', 'data-testid': 'dlq-replay', 'data-id': d.id,
          on: { click: (ev) => this.replay({ ids: [d.id] }, ev.currentTarget) },
        }, 'Replay')))),
    }));
  },
};

// ---------------------------------------------------------------------------------------------
// Audit log.

function resultKind(r) {
  return r === 'ok' ? 'ok' : r === 'refused' ? 'warn' : 'bad';
}

export const auditPage = {
  title: 'Audit log',
  mount(root) {
    this.filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter by who, action, target, detail…', 'data-testid': 'audit-filter', 'aria-label': 'Filter the audit log' });
    this.result = h('select', { 'data-testid': 'audit-result', 'aria-label': 'Result' },
      h('option', { value: '' }, 'All results'), h('option', { value: 'ok' }, 'ok'), h('option', { value: 'error' }, 'error'), h('option', { value: 'refused' }, 'refused'));
    this.note = h('span', { class: 'panel-note' });
    this.tableHost = h('div', null, h('p', { class: 'muted pad' }, 'Loading…'));
    const redraw = () => this.draw();
    this.filter.addEventListener('input', redraw);
    this.result.addEventListener('change', redraw);
    setChildren(root, h('section', { class: 'panel' },
      h('header', { class: 'panel-head' }, h('h2', null, 'Admin actions'), this.note, h('span', { class: 'spacer' }),
        h('span', { class: 'inline-controls' }, this.result, this.filter)),
      this.tableHost));
  },
  async refresh() {
    this.data = await api('/admin/api/audit?limit=200');
    this.draw();
  },
  draw() {
    if (!this.data) return;
    const entries = this.data.entries || [];
    const q = this.filter.value.trim().toLowerCase();
    const want = this.result.value;
    const shown = entries.filter((e) => (!want || e.result === want)
      && (!q || [e.who, e.action, e.target, e.detail, e.remote].join(' ').toLowerCase().includes(q)));
    const source = this.data.source === 'redis' ? 'shared by every gateway (Redis)' : `kept by this gateway (${this.data.source || 'memory'})`;
    this.note.textContent = `newest first · ${shown.length} of ${entries.length} shown · ${source}`;
    renderIfChanged(this.tableHost, shown, () => table({
      testid: 'audit-table', className: 'audit-table',
      empty: entries.length ? 'No entry matches the filter.' : 'No admin actions recorded yet.',
      columns: [{ label: 'Time' }, { label: 'Who' }, { label: 'Action' }, { label: 'Target' }, { label: 'Result' }, { label: 'Detail' }, { label: 'Remote' }],
      rows: shown.map((e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action, 'data-result': e.result },
        h('td', { class: 'nowrap', title: fmtDateTime(e.atMs) }, `${fmtDateTime(e.atMs)}`),
        h('td', null, e.who),
        h('td', { class: 'nowrap' }, h('code', null, e.action)),
        h('td', { class: 'wrap' }, e.target),
        h('td', null, badge(e.result, resultKind(e.result))),
        h('td', { class: 'wrap detail' }, e.detail ? h('code', { class: 'small' }, e.detail) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'nowrap muted' }, e.remote || '—'))),
    }));
  },
};

