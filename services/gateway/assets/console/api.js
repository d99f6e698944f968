// The admin API client, plus the small DOM and formatting helpers every page shares.
//
// Calls go to the same origin with the session cookie. State-changing calls carry the session's
// CSRF token (from GET /admin/api/session) in `X-CSRF-Token`. A 401 means the session is gone:
// the browser goes back to the login page. Errors come back as `{"error": {"code", "message"}}`
// and are thrown as ApiError with the server's message.

const LOGIN = '/admin/login';

let csrfToken = null;
let sessionInfo = null;
let leaving = false;

/** An error answered by the admin API (or a network failure, code NETWORK). */
export class ApiError extends Error {
  constructor(message, code, status, body) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.body = body;
  }
}

function toLogin() {
  if (!leaving) {
    leaving = true;
    window.location.assign(LOGIN);
  }
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Calls the admin API. `path` is absolute (`/admin/api/...`); `body` is sent as JSON.
 * Resolves with the parsed JSON; rejects with ApiError.
 */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const safe = method === 'GET' || method === 'HEAD';
  if (!safe) {
    if (csrfToken === null) await loadSession();
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(`the gateway did not answer (${e && e.message ? e.message : e})`, 'NETWORK', 0, null);
  }
  if (response.status === 401) {
    toLogin();
    throw new ApiError('the session ended: log in again', 'UNAUTHENTICATED', 401, null);
  }
  const data = await readBody(response);
  if (!response.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : null;
    const message = err && err.message ? err.message : `HTTP ${response.status} ${response.statusText}`.trim();
    throw new ApiError(message, err && err.code ? err.code : `HTTP_${response.status}`, response.status, data);
  }
  return data;
}

/** GET /admin/api/session (remembers the CSRF token for later calls). */
export async function loadSession() {
  const s = await api('/admin/api/session');
  sessionInfo = s;
  csrfToken = s && s.csrf ? s.csrf : '';
  return s;
}

export function currentSession() {
  return sessionInfo;
}

/** POST /admin/logout, then the login page (whatever the answer: the cookie is cleared there). */
export async function logout() {
  try {
    if (csrfToken === null) await loadSession();
    await fetch('/admin/logout', {
      method: 'POST',
      credentials: 'same-origin',
      redirect: 'manual',
      headers: csrfToken ? { 'X-CSRF-Token': csrfToken } : {},
    });
  } finally {
    toLogin();
  }
}

// ---------------------------------------------------------------------------------------------
// DOM helpers. Text always goes in as text nodes: nothing from the server is parsed as HTML.

/**
 * h('div', {class: 'x', 'data-testid': 'y', on: {click: fn}}, 'text', child, [more children])
 * Attribute values of `null`, `undefined` or `false` are left out; `true` sets an empty one.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'on') {
        for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
      } else if (key === 'class') {
        el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      } else if (key === 'style' && typeof value === 'object') {
        for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
      } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected' || key === 'hidden' || key === 'multiple') {
        el[key] = value;
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces every child of `el`. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: columns [{label, class?}], rows already built as <tr>. */
export function table({ columns, rows, testid, empty = 'Nothing to show.', className = '' }) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.class, title: c.title, scope: 'col' }, c.label))));
  const body = h('tbody', null, rows.length
    ? rows
    : h('tr', { class: 'empty-row' }, h('td', { colspan: columns.length }, empty)));
  return h('div', { class: 'table-wrap' }, h('table', { class: ['data', className], 'data-testid': testid }, head, body));
}

/** A badge: kind is ok | warn | bad | info | muted. */
export function badge(text, kind = 'muted', attrs = {}) {
  return h('span', { class: `badge badge-${kind}`, ...attrs }, text);
}

/** An error box (role=alert), hidden while `message` is empty. */
export function errorBox(testid) {
  return h('p', { class: 'error', role: 'alert', 'data-testid': testid, hidden: true });
}

export function showError(box, message) {
  box.textContent = message || '';
  box.hidden = !message;
}

// ---------------------------------------------------------------------------------------------
// Formatting.

const intFmt = new Intl.NumberFormat('en-US');

export function fmtInt(n) {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : intFmt.format(Math.round(n));
}

/** Compact numbers for axes: 1.2k, 3.4M. */
export function fmtCompact(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e4) return `${trim(n / 1e3)}k`;
  if (a >= 100 || Number.isInteger(n)) return intFmt.format(Math.round(n));
  if (a >= 1) return trim(n);
  if (a === 0) return '0';
  const text = n.toPrecision(2);
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}

function trim(x) {
  return (Math.round(x * 10) / 10).toString();
}

export function fmtNum(n, digits = 2) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (Math.abs(n) >= 1000) return fmtInt(n);
  const text = Number(n).toFixed(digits);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms >= 60000) return `${fmtNum(ms / 60000, 1)} min`;
  if (ms >= 1000) return `${fmtNum(ms / 1000, 2)} s`;
  if (ms >= 10) return `${fmtNum(ms, 0)} ms`;
  return `${fmtNum(ms, 2)} ms`;
}

export function fmtPct(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

const pad = (n) => String(n).padStart(2, '0');

/** HH:MM:SS (local time). */
export function fmtClock(ms) {
  if (!ms && ms !== 0) return '—';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** YYYY-MM-DD HH:MM:SS (local time) from epoch ms or an ISO string. */
export function fmtDateTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${fmtClock(d.getTime())}`;
}

/** "3 min ago" (or "in 2 h" for future times). */
export function fmtAgo(value, now = Date.now()) {
  if (value === null || value === undefined || value === '') return '—';
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return String(value);
  const s = Math.round((now - t) / 1000);
  const a = Math.abs(s);
  let text;
  if (a < 5) return 'just now';
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.round(a / 60)} min`;
  else if (a < 86400) text = `${Math.round(a / 3600)} h`;
  else text = `${Math.round(a / 86400)} d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}
