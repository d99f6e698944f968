// Hand-written inline SVG charts: lines over time (several series, legend), vertical bars and
// histograms, horizontal (grouped, optionally logarithmic) bars. No library, no external file.
//
// Every chart is an <svg class="chart" data-chart="<name>">; every plotted point or bar has
// class "datum" and a <title> (the browser shows it as a tooltip). Without data, a chart is a
// "no data yet" message element (class chart-empty, same data-chart-empty name) instead.

import { fmtClock, fmtCompact } from './api.js';

const NS = 'http://www.w3.org/2000/svg';

export const COLORS = {
  blue: '#2563eb',
  teal: '#0d9488',
  amber: '#d97706',
  violet: '#7c3aed',
  red: '#dc2626',
  slate: '#64748b',
  green: '#16a34a',
};
const PALETTE = [COLORS.blue, COLORS.teal, COLORS.amber, COLORS.violet, COLORS.red, COLORS.slate];

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const title = (text) => s('title', null, text);
const round = (x) => Math.round(x * 10) / 10;

/** The width to draw at: the host's width when it is laid out, else `fallback`. */
export function chartWidth(host, fallback = 720) {
  const w = host && host.clientWidth ? host.clientWidth - 2 : 0;
  return Math.max(320, w || fallback);
}

/** The "no data yet" element that stands in for a chart. */
export function emptyChart(name, message = 'No data yet.') {
  const el = document.createElement('div');
  el.className = 'chart-empty';
  el.setAttribute('data-chart-empty', name);
  el.setAttribute('role', 'note');
  const strong = document.createElement('strong');
  strong.textContent = 'No data yet';
  el.append(strong, document.createTextNode(message === 'No data yet.' ? '' : ` — ${message}`));
  return el;
}

function svgRoot(name, width, height, label) {
  return s('svg', {
    class: 'chart',
    'data-chart': name,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label || name,
    preserveAspectRatio: 'xMinYMin meet',
  });
}

/** Ticks for [min, max]: "nice" steps (1, 2, 2.5, 5 × 10^n), about `count` of them. */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e += 1) ticks.push(10 ** Math.round(e));
  return ticks;
}

function legend(series, x, y) {
  const g = s('g', { class: 'legend', transform: `translate(${x},${y})` });
  let dx = 0;
  for (const [i, se] of series.entries()) {
    const color = se.color || PALETTE[i % PALETTE.length];
    const item = s('g', { transform: `translate(${dx},0)` },
      s('rect', { x: 0, y: -8, width: 10, height: 10, rx: 2, fill: color }),
      s('text', { x: 14, y: 1, class: 'legend-text' }, se.name));
    g.appendChild(item);
    dx += 26 + se.name.length * 6.6;
  }
  return g;
}

function yAxisLabel(text, x, y) {
  return s('text', { class: 'axis-label', transform: `translate(${x},${y}) rotate(-90)`, 'text-anchor': 'middle' }, text);
}

function timeTicks(x0, x1, count) {
  const span = Math.max(1, x1 - x0);
  const steps = [5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3];
  const step = steps.find((st) => span / st <= count) || 3600e3;
  const out = [];
  for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) out.push(t);
  return out;
}

/**
 * Lines over time. series: [{name, color?, points: [{x: epochMs, y: number|null}]}].
 * A null y leaves a gap. yFormat formats values (tooltips, axis); xFormat the times.
 */
export function lineChart({
  name, label, series, width = 720, height = 220, yMin = 0, yMax, yFormat = fmtCompact,
  xFormat = fmtClock, yLabel, xLabel = 'time', emptyText,
}) {
  const all = series.flatMap((se) => se.points.filter((p) => p.y !== null && p.y !== undefined && !Number.isNaN(p.y)));
  if (!all.length) return emptyChart(name, emptyText);
  const m = { left: 56, right: 16, top: series.length > 1 ? 26 : 12, bottom: 36 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const xs = series.flatMap((se) => se.points.map((p) => p.x));
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x1 === x0) { x0 -= 5000; x1 += 5000; }
  const top = yMax !== undefined ? yMax : Math.max(...all.map((p) => p.y));
  const yt = niceTicks(yMin, top > yMin ? top : yMin + 1, 4);
  const y0 = yt[0];
  const y1 = yMax !== undefined ? yMax : yt[yt.length - 1];
  const X = (x) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y) => m.top + ph - ((Math.min(y, y1) - y0) / (y1 - y0)) * ph;

  const svg = svgRoot(name, width, height, label);
  const grid = s('g', { class: 'grid' });
  const integral = yMax === undefined && all.every((p) => Number.isInteger(p.y));
  for (const t of yt.filter((t) => t <= y1 && (!integral || Number.isInteger(t)))) {
    grid.appendChild(s('line', { x1: m.left, x2: width - m.right, y1: round(Y(t)), y2: round(Y(t)) }));
    grid.appendChild(s('text', { class: 'tick', x: m.left - 6, y: round(Y(t)) + 4, 'text-anchor': 'end' }, yFormat(t)));
  }
  for (const t of timeTicks(x0, x1, Math.max(2, Math.floor(pw / 90)))) {
    grid.appendChild(s('line', { class: 'xtick', x1: round(X(t)), x2: round(X(t)), y1: m.top + ph, y2: m.top + ph + 4 }));
    grid.appendChild(s('text', { class: 'tick', x: round(X(t)), y: m.top + ph + 16, 'text-anchor': 'middle' }, xFormat(t)));
  }
  grid.appendChild(s('line', { class: 'axis', x1: m.left, x2: width - m.right, y1: m.top + ph, y2: m.top + ph }));
  svg.appendChild(grid);
  if (yLabel) svg.appendChild(yAxisLabel(yLabel, 12, m.top + ph / 2));
  if (xLabel) svg.appendChild(s('text', { class: 'axis-label', x: m.left + pw / 2, y: height - 4, 'text-anchor': 'middle' }, xLabel));

  const dense = Math.max(...series.map((se) => se.points.length)) > 90;
  for (const [i, se] of series.entries()) {
    const color = se.color || PALETTE[i % PALETTE.length];
    const g = s('g', { class: 'series', 'data-series': se.name });
    let d = '';
    let pen = false;
    for (const p of se.points) {
      if (p.y === null || p.y === undefined || Number.isNaN(p.y)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${round(X(p.x))},${round(Y(p.y))}`;
      pen = true;
    }
    if (d) g.appendChild(s('path', { d, fill: 'none', stroke: color, 'stroke-width': se.width || 1.75, 'stroke-linejoin': 'round', 'stroke-opacity': se.width ? 0.55 : 1 }));
    const has = (p) => !!p && p.y !== null && p.y !== undefined && !Number.isNaN(p.y);
    for (const [k, p] of se.points.entries()) {
      if (!has(p)) continue;
      const isolated = !has(se.points[k - 1]) && !has(se.points[k + 1]);
      g.appendChild(s('circle', { class: dense && !isolated ? 'datum faint' : 'datum', cx: round(X(p.x)), cy: round(Y(p.y)), r: se.radius || (dense ? 2.5 : 2.6), fill: color },
        title(`${xFormat(p.x)} · ${se.name}: ${p.text !== undefined ? p.text : yFormat(p.y)}`)));
    }
    svg.appendChild(g);
  }
  if (series.length > 1) svg.appendChild(legend(series, m.left, 12));
  return svg;
}

/**
 * Vertical bars, one per category. bars: [{label, value, title?, color?}].
 * `histogram: true` draws adjacent bars (buckets) instead of separated ones.
 */
export function barChart({
  name, label, bars, width = 720, height = 220, yFormat = fmtCompact, yLabel, xLabel,
  color = COLORS.blue, histogram = false, integer = false, emptyText,
}) {
  if (!bars.length || bars.every((b) => !b.value)) return emptyChart(name, emptyText);
  const m = { left: 56, right: 12, top: 12, bottom: xLabel ? 40 : 26 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const top = Math.max(...bars.map((b) => b.value)) || 1;
  const yt = integer && top < 4 ? Array.from({ length: Math.ceil(top) + 1 }, (_, i) => i) : niceTicks(0, top, 4);
  const y1 = yt[yt.length - 1];
  const band = pw / bars.length;
  const gap = histogram ? 1 : Math.min(12, band * 0.25);
  const Y = (v) => m.top + ph - (v / y1) * ph;
  const svg = svgRoot(name, width, height, label);
  const grid = s('g', { class: 'grid' });
  for (const t of yt) {
    grid.appendChild(s('line', { x1: m.left, x2: width - m.right, y1: round(Y(t)), y2: round(Y(t)) }));
    grid.appendChild(s('text', { class: 'tick', x: m.left - 6, y: round(Y(t)) + 4, 'text-anchor': 'end' }, yFormat(t)));
  }
  grid.appendChild(s('line', { class: 'axis', x1: m.left, x2: width - m.right, y1: m.top + ph, y2: m.top + ph }));
  svg.appendChild(grid);
  const every = Math.max(1, Math.ceil((bars.length * 46) / pw));
  const g = s('g', { class: 'series' });
  for (const [i, b] of bars.entries()) {
    const x = m.left + i * band + gap / 2;
    const h = Math.max(b.value > 0 ? 1 : 0, (b.value / y1) * ph);
    g.appendChild(s('rect', {
      class: 'datum', x: round(x), y: round(m.top + ph - h), width: round(Math.max(1, band - gap)), height: round(h),
      fill: b.color || color, rx: histogram ? 0 : 2,
    }, title(b.title || `${b.label}: ${yFormat(b.value)}`)));
    if (i % every === 0) {
      g.appendChild(s('text', { class: 'tick', x: round(m.left + i * band + band / 2), y: m.top + ph + 15, 'text-anchor': 'middle' }, b.label));
    }
  }
  svg.appendChild(g);
  if (yLabel) svg.appendChild(yAxisLabel(yLabel, 12, m.top + ph / 2));
  if (xLabel) svg.appendChild(s('text', { class: 'axis-label', x: m.left + pw / 2, y: height - 4, 'text-anchor': 'middle' }, xLabel));
  return svg;
}

/** A histogram: buckets [{label, count, title?}] drawn as adjacent bars. */
export function histogram({ name, label, buckets, width, height, xLabel, yLabel = 'count', color = COLORS.teal, emptyText }) {
  return barChart({
    name, label, width, height, xLabel, yLabel, color, histogram: true, integer: true, emptyText,
    bars: buckets.map((b) => ({ label: b.label, value: b.count, title: b.title || `${b.label}: ${b.count}` })),
    yFormat: (v) => fmtCompact(v),
  });
}

function clip(text, chars) {
  return text.length > chars ? `${text.slice(0, Math.max(1, chars - 1))}…` : text;
}

/**
 * Horizontal bars, one row per item, one bar per series in each row (grouped).
 * rows: [{label, values: [number], titles?: [string]}]; series: [{name, color?}].
 * `log: true` uses a logarithmic axis (values below its start show as a 1 px stub).
 */
export function hbarChart({
  name, label, rows, series = [{ name: 'value' }], width = 720, log = false, valueFormat = fmtCompact,
  labelWidth = 220, barHeight, xLabel, emptyText, markers,
}) {
  const values = rows.flatMap((r) => r.values).filter((v) => v !== null && v !== undefined);
  if (!rows.length || !values.length || values.every((v) => !v)) return emptyChart(name, emptyText);
  const groups = series.length;
  const bh = barHeight || (groups > 1 ? 6 : 14);
  const rowH = groups * bh + (groups > 1 ? 8 : 6);
  const m = { left: labelWidth + 8, right: 56, top: groups > 1 ? 26 : 8, bottom: xLabel ? 38 : 24 };
  const pw = width - m.left - m.right;
  const height = m.top + rows.length * rowH + m.bottom;
  const maxV = Math.max(...values);
  let scale;
  let ticks;
  if (log) {
    const positive = values.filter((v) => v > 0);
    const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(maxV, lo * 10)));
    ticks = logTicks(lo, hi);
    scale = (v) => (v <= lo ? 0 : ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw);
  } else {
    ticks = niceTicks(0, maxV || 1, Math.max(2, Math.floor(pw / 110)));
    const hi = ticks[ticks.length - 1];
    if (values.every(Number.isInteger)) ticks = ticks.filter(Number.isInteger);
    scale = (v) => (v / hi) * pw;
  }
  const svg = svgRoot(name, width, height, label);
  const grid = s('g', { class: 'grid' });
  const plotBottom = m.top + rows.length * rowH;
  for (const t of ticks) {
    const x = round(m.left + scale(t));
    grid.appendChild(s('line', { x1: x, x2: x, y1: m.top - 2, y2: plotBottom }));
    grid.appendChild(s('text', { class: 'tick', x, y: plotBottom + 14, 'text-anchor': 'middle' }, valueFormat(t)));
  }
  grid.appendChild(s('line', { class: 'axis', x1: m.left, x2: m.left, y1: m.top - 2, y2: plotBottom }));
  svg.appendChild(grid);
  const chars = Math.floor(labelWidth / 7.1);
  for (const [r, row] of rows.entries()) {
    const y = m.top + r * rowH + (groups > 1 ? 4 : 3);
    const g = s('g', { class: 'row' });
    g.appendChild(s('text', { class: 'row-label', x: m.left - 8, y: y + (groups * bh) / 2 + 4, 'text-anchor': 'end' },
      title(row.label), clip(row.label, chars)));
    for (const [i, se] of series.entries()) {
      const v = row.values[i];
      if (v === null || v === undefined) continue;
      const w = Math.max(1, scale(v));
      const color = se.color || PALETTE[i % PALETTE.length];
      const text = row.titles && row.titles[i] ? row.titles[i] : `${row.label} · ${se.name}: ${valueFormat(v)}`;
      g.appendChild(s('rect', { class: 'datum', x: m.left, y: y + i * bh, width: round(w), height: bh - (groups > 1 ? 1 : 0), fill: color, rx: 1.5 }, title(text)));
      if (groups === 1 || i === groups - 1) {
        g.appendChild(s('text', { class: 'bar-value', x: round(m.left + w + 4), y: y + i * bh + bh - (groups > 1 ? 0 : 3) }, valueFormat(v)));
      }
    }
    if (markers && markers[r] !== undefined && markers[r] !== null) {
      const mx = round(m.left + Math.min(pw, scale(markers[r])));
      g.appendChild(s('line', { class: 'marker', x1: mx, x2: mx, y1: y - 2, y2: y + groups * bh + 1 },
        title(`${row.label} · threshold: ${valueFormat(markers[r])}`)));
    }
    svg.appendChild(g);
  }
  if (xLabel) svg.appendChild(s('text', { class: 'axis-label', x: m.left + pw / 2, y: height - 4, 'text-anchor': 'middle' }, xLabel));
  if (groups > 1) svg.appendChild(legend(series, m.left, 12));
  return svg;
}

/** A horizontal meter (e.g. L1 usage): ratio in [0, 1]. */
export function meter({ ratio, label, testid, warnAt = 0.8, badAt = 0.95 }) {
  const wrap = document.createElement('div');
  wrap.className = 'meter';
  if (testid) wrap.setAttribute('data-testid', testid);
  wrap.setAttribute('role', 'meter');
  wrap.setAttribute('aria-valuemin', '0');
  wrap.setAttribute('aria-valuemax', '100');
  const pct = Math.max(0, Math.min(1, ratio || 0));
  wrap.setAttribute('aria-valuenow', String(Math.round(pct * 100)));
  if (label) wrap.setAttribute('aria-label', label);
  const fill = document.createElement('div');
  fill.className = `meter-fill${pct >= badAt ? ' bad' : pct >= warnAt ? ' warn' : ''}`;
  fill.style.width = `${(pct * 100).toFixed(2)}%`;
  wrap.appendChild(fill);
  return wrap;
}
