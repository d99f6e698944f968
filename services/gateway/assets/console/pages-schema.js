// The "Indexes & constraints" page: live indexes (state, population progress, reads) and
// constraints of the leader, creation forms driven by the ontology, drops behind a typed
// confirmation, the drift between the ontology and the database, and index recommendations
// from the hot queries.
//
// The forms are built once; the auto-refresh redraws only the tables and panels.

import {
  api, h, setChildren, table, badge, errorBox, showError, fmtInt, fmtAgo, fmtDateTime,
} from './api.js';

const $ = (id) => document.getElementById(id);
const MANAGED_PREFIX = 'og_';

// ---------------------------------------------------------------------------------------------
// The typed-confirmation dialog (<dialog id="drop-dialog"> in index.html), shared by every drop.

let dialogReady = false;
let dialogAction = null;
let dialogPhrase = '';
let dialogBusy = false;

function setupDialog() {
  if (dialogReady) return;
  dialogReady = true;
  const dlg = $('drop-dialog');
  const input = $('drop-confirm-input');
  const confirm = $('drop-confirm');
  const update = () => {
    confirm.disabled = dialogBusy || input.value !== dialogPhrase;
  };
  input.addEventListener('input', update);
  $('drop-cancel').addEventListener('click', () => dlg.close('cancel'));
  $('drop-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (dialogBusy || input.value !== dialogPhrase || !dialogAction) return;
    dialogBusy = true;
    update();
    const label = confirm.textContent;
    confirm.textContent = 'Working…';
    showError($('drop-error'), '');
    try {
      await dialogAction();
      dlg.close('done');
    } catch (e) {
      showError($('drop-error'), e.message);
    } finally {
      dialogBusy = false;
      confirm.textContent = label;
      update();
    }
  });
  dlg.addEventListener('close', () => {
    dialogAction = null;
  });
}

/**
 * Asks the operator to type `phrase` before running `action` (an async function; its error
 * message is shown in the dialog and the dialog stays open).
 */
export function confirmDialog({ title, message, phrase, confirmLabel = 'Drop', danger = true, action }) {
  setupDialog();
  const dlg = $('drop-dialog');
  dialogAction = action;
  dialogPhrase = phrase;
  $('drop-dialog-title').textContent = title;
  $('drop-dialog-message').textContent = message;
  $('drop-dialog-phrase').textContent = phrase;
  const input = $('drop-confirm-input');
  input.value = '';
  const confirm = $('drop-confirm');
  confirm.textContent = confirmLabel;
  confirm.className = danger ? 'btn btn-danger' : 'btn btn-primary';
  confirm.disabled = true;
  showError($('drop-error'), '');
  if (!dlg.open) dlg.showModal();
  input.focus();
}

function dropButton(kind, name, after, testid) {
  return h('button', {
    type: 'button',
    class: 'btn btn-small btn-danger-outline',
    'data-testid': testid,
    'data-name': name,
    title: `Drop the ${kind} ${name}`,
    on: {
      click: () => confirmDialog({
        title: `Drop ${kind}`,
        message: `This runs DROP ${kind.toUpperCase()} \`${name}\` on the leader. Queries that rely on it get slower; ${kind === 'constraint' ? 'the data is no longer checked for duplicates' : 'it can be created again later'}.`,
        phrase: name,
        action: async () => {
          const path = kind === 'constraint' ? 'constraints' : 'indexes';
          const q = encodeURIComponent(name);
          await api(`/admin/api/schema/${path}/${q}?confirm=${q}`, { method: 'DELETE' });
          after(name);
        },
      }),
    },
  }, 'Drop…');
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

function list(value) {
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function stateKind(state) {
  switch (state) {
    case 'ONLINE': return 'ok';
    case 'POPULATING': return 'info';
    case 'FAILED': return 'bad';
    default: return 'warn';
  }
}

function typeLabel(p) {
  const t = p.list ? `[${p.type}]` : p.type;
  return `${t}${p.required ? '!' : ''}`;
}

function optionFor(p) {
  const extra = [];
  if (p.unique) extra.push('unique');
  if (p.field && p.field !== p.name) extra.push(`field ${p.field}`);
  const text = `${p.name} — ${typeLabel(p)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  return h('option', { value: p.name, 'data-type': p.type, 'data-list': p.list ? 'true' : 'false' }, text);
}

function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' },
    h('label', { for: id }, labelText),
    control,
    hint ? h('div', { class: 'field-hint' }, hint) : null);
}

/** Entities of the ontology for a select: node labels or relationship types. */
function entities(ontology, entity) {
  if (!ontology) return [];
  return entity === 'relationship'
    ? (ontology.relationships || []).map((r) => ({ name: r.type, properties: r.properties || [] }))
    : (ontology.nodes || []).map((n) => ({ name: n.label, properties: n.properties || [] }));
}

function fillLabels(select, ontology, entity, keep) {
  const items = entities(ontology, entity);
  setChildren(select, items.map((it) => h('option', {
    value: it.name,
    disabled: it.properties.length === 0,
  }, it.properties.length ? it.name : `${it.name} (no properties)`)));
  const wanted = items.find((it) => it.name === keep && it.properties.length) || items.find((it) => it.properties.length);
  if (wanted) select.value = wanted.name;
}

function fillProperties(select, ontology, entity, label) {
  const item = entities(ontology, entity).find((it) => it.name === label);
  const before = new Set(Array.from(select.selectedOptions).map((o) => o.value));
  setChildren(select, item ? item.properties.map(optionFor) : []);
  for (const o of select.options) o.selected = before.has(o.value);
  select.size = Math.min(8, Math.max(4, select.options.length));
}

function selected(select) {
  return Array.from(select.selectedOptions).map((o) => o.value);
}

// ---------------------------------------------------------------------------------------------
// Create index.

const KIND_HELP = {
  range: 'Equality, ranges, prefixes and ORDER BY on any property type. One or more properties (composite).',
  text: 'CONTAINS / ENDS WITH on one String property.',
  point: 'Spatial queries on one Point property.',
  fulltext: 'Lucene full-text search over String properties, possibly of several labels.',
  vector: 'Similarity search on one list-of-Float property (embeddings).',
};

/** What the server will probably refuse (only a warning: the request is always sent). */
function indexWarning(kind, props, chosen) {
  const picked = chosen.map((name) => props.find((p) => p.name === name)).filter(Boolean);
  if (!chosen.length) return '';
  if (['text', 'point', 'vector'].includes(kind) && chosen.length > 1) return `A ${kind} index covers exactly one property.`;
  for (const p of picked) {
    const textual = (p.type === 'String' || p.type === 'ID') && !p.list;
    if ((kind === 'text' || kind === 'fulltext') && !textual) return `A ${kind} index needs a String property; \`${p.name}\` is ${typeLabel(p)}.`;
    if (kind === 'point' && p.type !== 'Point') return `A point index needs a Point property; \`${p.name}\` is ${typeLabel(p)}.`;
    if (kind === 'vector' && !(p.list && p.type === 'Float')) return `A vector index needs a list of Float; \`${p.name}\` is ${typeLabel(p)}.`;
  }
  return '';
}

// The entity, label and properties pickers of a create form, filled from the ontology: a new
// entity refills the labels, a new label the properties. Returns the form's `fill()`.
function bindPickers(state, { entity, label, props }, update) {
  const fill = (labels) => {
    if (labels) fillLabels(label, state.ontology, entity.value, label.value);
    fillProperties(props, state.ontology, entity.value, label.value);
    update();
  };
  entity.addEventListener('change', () => fill(true));
  label.addEventListener('change', () => fill(false));
  props.addEventListener('change', update);
  return () => fill(true);
}

// Submits a create form: the button is disabled while the request runs, then the error or what
// `send()` returns (the children of the success box) is shown.
function onCreate(form, { submit, error, created, send }) {
  const idle = submit.textContent;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    submit.textContent = 'Creating…';
    showError(error, '');
    created.hidden = true;
    try {
      setChildren(created, ...(await send()));
      created.hidden = false;
    } catch (e) {
      showError(error, e.message);
    } finally {
      submit.disabled = false;
      submit.textContent = idle;
    }
  });
}

function indexForm(state, ctx) {
  const entity = h('select', { 'data-testid': 'index-entity', name: 'entity' },
    h('option', { value: 'node' }, 'Node'), h('option', { value: 'relationship' }, 'Relationship'));
  const label = h('select', { 'data-testid': 'index-label', name: 'label', required: true });
  const kind = h('select', { 'data-testid': 'index-kind', name: 'kind' },
    ['range', 'text', 'point', 'fulltext', 'vector'].map((k) => h('option', { value: k }, k === 'fulltext' ? 'full-text' : k)));
  const props = h('select', { 'data-testid': 'index-properties', name: 'properties', multiple: true, size: 5 });
  const name = h('input', { type: 'text', 'data-testid': 'index-name', name: 'name', autocomplete: 'off', spellcheck: 'false', maxlength: 100 });
  const dims = h('input', { type: 'number', 'data-testid': 'index-dimensions', name: 'dimensions', min: 1, max: 4096, step: 1, placeholder: 'e.g. 384' });
  const sim = h('select', { 'data-testid': 'index-similarity', name: 'similarity' },
    h('option', { value: 'cosine' }, 'cosine'), h('option', { value: 'euclidean' }, 'euclidean'));
  const vectorFields = h('div', { class: 'field-row', 'data-testid': 'index-vector-options', hidden: true },
    field('Dimensions', dims), field('Similarity', sim));
  const kindHelp = h('div', { class: 'field-hint' });
  const warning = h('p', { class: 'warning', 'data-testid': 'index-warning', hidden: true });
  const error = errorBox('index-error');
  const created = h('div', { class: 'success', role: 'status', 'data-testid': 'index-created', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'index-create' }, 'Create index');

  const propsOf = () => {
    const it = entities(state.ontology, entity.value).find((x) => x.name === label.value);
    return it ? it.properties : [];
  };
  const update = () => {
    vectorFields.hidden = kind.value !== 'vector';
    kindHelp.textContent = KIND_HELP[kind.value];
    name.placeholder = `default: ${kind.value}_${label.value || 'Label'}_${selected(props).join('_') || 'property'}`;
    const w = state.ontology ? indexWarning(kind.value, propsOf(), selected(props)) : '';
    warning.textContent = w ? `${w} The server will check it too.` : '';
    warning.hidden = !w;
  };
  const fill = bindPickers(state, { entity, label, props }, update);
  kind.addEventListener('change', update);

  const form = h('form', { class: 'form', 'data-testid': 'create-index-form', novalidate: true },
    h('div', { class: 'field-row' }, field('Entity', entity), field('Label / type', label)),
    field('Kind', kind, kindHelp),
    field('Properties', props, 'Ctrl/⌘-click to choose several (range and full-text only); a composite index takes them in the listed order.'),
    field('Name (optional)', name),
    vectorFields,
    warning,
    h('div', { class: 'form-actions' }, submit),
    error,
    created);

  onCreate(form, {
    submit, error, created,
    async send() {
      const body = {
        kind: kind.value,
        entity: entity.value,
        labels: label.value ? [label.value] : [],
        properties: selected(props),
      };
      if (name.value.trim()) body.name = name.value.trim();
      if (kind.value === 'vector') {
        if (dims.value !== '') body.dimensions = Number(dims.value);
        body.similarity = sim.value;
      }
      const r = await api('/admin/api/schema/indexes', { method: 'POST', body });
      name.value = '';
      state.highlight = r.name;
      update();
      ctx.refresh();
      return ['Created index ', h('code', null, r.name), ' — Neo4j populates it in the background.',
        h('pre', { class: 'cypher' }, r.cypher)];
    },
  });

  return { form, fill };
}

// ---------------------------------------------------------------------------------------------
// Create constraint (uniqueness).

function constraintForm(state, ctx) {
  const entity = h('select', { 'data-testid': 'constraint-entity', name: 'entity' },
    h('option', { value: 'node' }, 'Node'), h('option', { value: 'relationship' }, 'Relationship'));
  const label = h('select', { 'data-testid': 'constraint-label', name: 'label' });
  const props = h('select', { 'data-testid': 'constraint-properties', name: 'properties', multiple: true, size: 5 });
  const name = h('input', { type: 'text', 'data-testid': 'constraint-name', name: 'name', autocomplete: 'off', spellcheck: 'false', maxlength: 100 });
  const error = errorBox('constraint-error');
  const created = h('div', { class: 'success', role: 'status', 'data-testid': 'constraint-created', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'constraint-create' }, 'Create constraint');
  const update = () => {
    name.placeholder = `default: unique_${label.value || 'Label'}_${selected(props).join('_') || 'property'}`;
  };
  const fill = bindPickers(state, { entity, label, props }, update);
  const form = h('form', { class: 'form', 'data-testid': 'create-constraint-form', novalidate: true },
    h('div', { class: 'field-row' }, field('Entity', entity), field('Label / type', label)),
    field('Properties', props, 'Several properties make the combination unique. Existing duplicates make Neo4j refuse it.'),
    field('Name (optional)', name),
    h('div', { class: 'form-actions' }, submit),
    error,
    created);
  onCreate(form, {
    submit, error, created,
    async send() {
      const body = { entity: entity.value, label: label.value, properties: selected(props) };
      if (name.value.trim()) body.name = name.value.trim();
      const r = await api('/admin/api/schema/constraints', { method: 'POST', body });
      name.value = '';
      update();
      ctx.refresh();
      return ['Created constraint ', h('code', null, r.name), '.', h('pre', { class: 'cypher' }, r.cypher)];
    },
  });
  return { form, fill };
}

// ---------------------------------------------------------------------------------------------
// Drift between the ontology and the database.

function driftPanel(ctx) {
  const body = h('div', { class: 'panel-body', 'data-testid': 'drift-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const dropBox = h('input', { type: 'checkbox', 'data-testid': 'drift-drop', id: 'drift-drop' });
  const apply = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'drift-apply' }, 'Apply ontology');
  const error = errorBox('drift-error');
  const result = h('div', { class: 'success', role: 'status', 'data-testid': 'drift-result', hidden: true });
  let last = null;
  let lastJson = '';

  const pending = () => {
    if (!last) return 0;
    return (last.missing || []).length + (dropBox.checked ? (last.extra || []).length : 0);
  };
  const updateButton = () => {
    const n = pending();
    apply.disabled = !last || n === 0;
    apply.title = n ? `Create ${(last.missing || []).length}${dropBox.checked ? ` and drop ${(last.extra || []).length}` : ''} item(s)` : 'Nothing to apply';
  };
  const run = async () => {
    const drop = dropBox.checked;
    const r = await api('/admin/api/schema/drift/apply', { method: 'POST', body: { drop } });
    const created = r.created || [];
    const dropped = r.dropped || [];
    setChildren(result,
      `Applied: created ${created.length}${created.length ? ` (${created.join(', ')})` : ''}; dropped ${dropped.length}${dropped.length ? ` (${dropped.join(', ')})` : ''}.`,
      (r.conflicting || []).length ? ` Still conflicting: ${r.conflicting.join(', ')}.` : '');
    result.hidden = false;
    ctx.refresh();
  };
  dropBox.addEventListener('change', updateButton);
  apply.addEventListener('click', async () => {
    showError(error, '');
    result.hidden = true;
    if (dropBox.checked && last && (last.extra || []).length) {
      confirmDialog({
        title: 'Apply the ontology and drop extra items',
        message: `Creates ${(last.missing || []).length} item(s) and drops ${(last.extra || []).length} managed item(s) the ontology no longer declares: ${(last.extra || []).join(', ')}.`,
        phrase: 'apply',
        confirmLabel: 'Apply and drop',
        action: run,
      });
      return;
    }
    apply.disabled = true;
    try {
      await run();
    } catch (e) {
      showError(error, e.message);
    } finally {
      updateButton();
    }
  });

  const el = h('section', { class: 'panel', 'data-testid': 'drift' },
    h('header', { class: 'panel-head' }, h('h2', null, 'Drift from the ontology'),
      h('span', { class: 'panel-note' }, 'what ', h('code', null, 'ontograph migrate'), ' would change')),
    body,
    h('div', { class: 'panel-foot' },
      h('label', { class: 'check', for: 'drift-drop' }, dropBox, ' also drop managed items the ontology no longer declares'),
      apply),
    error,
    result);

  return {
    el,
    render(d, failure) {
      if (failure) {
        setChildren(body, h('p', { class: 'error', role: 'alert' }, failure));
        return;
      }
      last = d;
      updateButton();
      const json = JSON.stringify(d);
      if (json === lastJson) return;
      lastJson = json;
      const missing = d.missing || [];
      const extra = d.extra || [];
      const conflicting = d.conflicting || [];
      const summary = h('div', { class: 'stat-row' },
        h('span', { class: 'stat' }, h('b', null, String(missing.length)), ' missing'),
        h('span', { class: 'stat' }, h('b', null, String(extra.length)), ' extra'),
        h('span', { class: 'stat' }, h('b', null, String(conflicting.length)), ' conflicting'),
        h('span', { class: 'stat muted' }, h('b', null, String((d.kept || []).length)), ' in place'),
        h('span', { class: 'stat muted' }, h('b', null, String((d.covered || []).length)), ' covered by a constraint'));
      const parts = [summary];
      if (!missing.length && !extra.length && !conflicting.length) {
        parts.push(h('p', { class: 'ok-note', 'data-testid': 'drift-clean' }, '✓ The database has every index and constraint the ontology declares.'));
      }
      if (missing.length) {
        parts.push(table({
          testid: 'drift-missing',
          columns: [{ label: 'Missing' }, { label: 'Kind' }, { label: 'On' }, { label: 'Cypher' }],
          rows: missing.map((m) => h('tr', { 'data-name': m.name },
            h('td', null, h('code', null, m.name)), h('td', null, m.kind),
            h('td', null, `${m.label}.${m.property}`), h('td', { class: 'wrap' }, h('code', { class: 'small' }, m.cypher)))),
        }));
      }
      if (extra.length) {
        parts.push(h('p', { class: 'list-line' }, h('b', null, 'Extra (managed, no longer declared): '),
          extra.map((n) => badge(n, 'warn'))));
      }
      if (conflicting.length) {
        parts.push(h('p', { class: 'list-line' }, h('b', null, 'Conflicting (name taken by a different definition): '),
          conflicting.map((n) => badge(n, 'bad'))));
      }
      setChildren(body, parts);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Recommendations from the hot queries.

function recommendationsPanel(state, ctx) {
  const body = h('div', { class: 'panel-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const error = errorBox('recommendation-error');
  const created = h('div', { class: 'success', role: 'status', 'data-testid': 'recommendation-created', hidden: true });
  let lastJson = '';
  const afterDrop = () => ctx.refresh();

  const createButton = (m) => h('button', {
    type: 'button',
    class: 'btn btn-small btn-primary',
    'data-testid': 'recommendation-create',
    'data-name': m.name,
    on: {
      click: async (ev) => {
        const btn = ev.currentTarget;
        btn.disabled = true;
        btn.textContent = 'Creating…';
        showError(error, '');
        created.hidden = true;
        try {
          const r = await api('/admin/api/schema/indexes', {
            method: 'POST',
            body: { kind: m.kind, entity: 'node', labels: [m.label], properties: [m.property] },
          });
          setChildren(created, 'Created index ', h('code', null, r.name), '.');
          created.hidden = false;
          state.highlight = r.name;
          ctx.refresh();
        } catch (e) {
          showError(error, e.message);
          btn.disabled = false;
          btn.textContent = 'Create';
        }
      },
    },
  }, 'Create');

  const el = h('section', { class: 'panel', 'data-testid': 'recommendations' },
    h('header', { class: 'panel-head' }, h('h2', null, 'Recommendations'),
      h('span', { class: 'panel-note' }, 'from the properties hot queries filter and sort on, and index read counts')),
    error, created, body);

  return {
    el,
    render(r, failure) {
      if (failure) {
        setChildren(body, h('p', { class: 'error', role: 'alert' }, failure));
        lastJson = '';
        return;
      }
      const json = JSON.stringify(r);
      if (json === lastJson) return;
      lastJson = json;
      const missing = r.missingIndexes || [];
      const unused = r.unusedIndexes || [];
      setChildren(body,
        h('h3', null, `Missing indexes (${missing.length})`),
        table({
          testid: 'missing-indexes',
          empty: 'No hot query filters or sorts on an unindexed property.',
          columns: [{ label: 'Property' }, { label: 'Used for' }, { label: 'Executions', class: 'num' }, { label: 'Shapes', class: 'num' },
            { label: 'Suggested' }, { label: 'Cypher' }, { label: '' }],
          rows: missing.map((m) => h('tr', { 'data-testid': 'recommendation-row', 'data-name': m.name },
            h('td', null, h('code', null, `${m.label}.${m.property}`)),
            h('td', null, (m.uses || []).map((u) => badge(u, 'info'))),
            h('td', { class: 'num' }, fmtInt(m.executions)),
            h('td', { class: 'num' }, fmtInt(m.shapes)),
            h('td', null, `${m.kind} `, h('code', { class: 'small' }, m.name)),
            h('td', { class: 'wrap' }, h('code', { class: 'small' }, m.cypher)),
            h('td', { class: 'actions' }, createButton(m)))),
        }),
        h('h3', null, `Unused indexes (${unused.length})`),
        table({
          testid: 'unused-indexes',
          empty: 'Every index has been read since tracking started.',
          columns: [{ label: 'Index' }, { label: 'Type' }, { label: 'On' }, { label: 'Not read since' }, { label: '' }],
          rows: unused.map((u) => h('tr', { 'data-testid': 'unused-row', 'data-name': u.name },
            h('td', null, h('code', null, u.name), u.name.startsWith(MANAGED_PREFIX) ? badge('managed', 'muted', { title: 'created by ontograph migrate from the ontology' }) : null),
            h('td', null, u.type),
            h('td', null, `${list(u.labelsOrTypes)} (${list(u.properties)})`),
            h('td', { title: fmtDateTime(u.trackedSince) }, fmtAgo(u.trackedSince)),
            h('td', { class: 'actions' }, dropButton('index', u.name, afterDrop, 'unused-drop')))),
        }));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Live indexes and constraints.

function stateCell(i) {
  const cell = h('td', { class: 'state-cell', 'data-testid': 'index-state', 'data-state': i.state || '' },
    badge(i.state || 'UNKNOWN', stateKind(i.state)));
  if (i.state === 'POPULATING') {
    const pct = Math.max(0, Math.min(100, Number(i.populationPercent) || 0));
    cell.appendChild(h('span', {
      class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-valuenow': Math.round(pct), 'data-testid': 'index-progress', title: `${pct.toFixed(1)}% populated`,
    }, h('span', { class: 'progress-fill', style: { width: `${pct}%` } })));
    cell.appendChild(h('span', { class: 'progress-text' }, `${pct.toFixed(0)}%`));
  }
  return cell;
}

function indexRows(indexes, state, afterDrop) {
  return indexes.map((i) => {
    const owned = !!i.owningConstraint;
    const managed = i.name.startsWith(MANAGED_PREFIX);
    const tr = h('tr', { 'data-testid': 'index-row', 'data-name': i.name, class: state.highlight === i.name ? 'flash' : null },
      h('td', { class: 'nowrap' }, h('code', null, i.name),
        managed ? badge('managed', 'muted', { title: 'created by ontograph migrate from the ontology' }) : null),
      h('td', { title: i.indexProvider ? `provider ${i.indexProvider}` : null }, i.type),
      h('td', null, i.entityType === 'RELATIONSHIP' ? 'rel' : 'node'),
      h('td', null, list(i.labelsOrTypes) || h('span', { class: 'muted' }, 'all')),
      h('td', null, list(i.properties) || h('span', { class: 'muted' }, '—')),
      stateCell(i),
      h('td', { class: 'num', title: i.trackedSince ? `counted since ${fmtDateTime(i.trackedSince)}` : null }, fmtInt(i.readCount)),
      h('td', { class: 'nowrap', title: fmtDateTime(i.lastRead) }, i.lastRead ? fmtAgo(i.lastRead) : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'actions' }, owned
        ? badge('constraint', 'muted', { title: `Backs the constraint ${i.owningConstraint}: drop the constraint instead`, 'data-testid': 'index-owned' })
        : dropButton('index', i.name, afterDrop, 'index-drop')));
    return tr;
  });
}

function constraintRows(constraints, afterDrop) {
  return constraints.map((c) => h('tr', { 'data-testid': 'constraint-row', 'data-name': c.name },
    h('td', { class: 'nowrap' }, h('code', null, c.name), c.name.startsWith(MANAGED_PREFIX) ? badge('managed', 'muted', { title: 'created by ontograph migrate from the ontology' }) : null),
    h('td', null, c.type),
    h('td', null, c.entityType === 'RELATIONSHIP' ? 'rel' : 'node'),
    h('td', null, list(c.labelsOrTypes)),
    h('td', null, list(c.properties)),
    h('td', null, c.ownedIndex ? h('code', { class: 'small' }, c.ownedIndex) : h('span', { class: 'muted' }, '—')),
    h('td', { class: 'actions' }, dropButton('constraint', c.name, afterDrop, 'constraint-drop'))));
}

const INDEX_COLUMNS = [
  { label: 'Name' }, { label: 'Type' }, { label: 'Entity' }, { label: 'Labels / types' }, { label: 'Properties' },
  { label: 'State' }, { label: 'Reads', class: 'num', title: 'Reads summed over every server' }, { label: 'Last read' },
  { label: '' },
];
const CONSTRAINT_COLUMNS = [
  { label: 'Name' }, { label: 'Type' }, { label: 'Entity' }, { label: 'Label / type' }, { label: 'Properties' },
  { label: 'Backing index' }, { label: '' },
];

export const schemaPage = {
  title: 'Indexes & constraints',
  mount(root, ctx) {
    const state = { ontology: null, highlight: null, populating: false };
    this.state = state;
    this.lastIndexes = '';
    this.lastConstraints = '';
    const afterDrop = () => ctx.refresh();
    this.afterDrop = afterDrop;
    this.indexForm = indexForm(state, ctx);
    this.constraintForm = constraintForm(state, ctx);
    this.drift = driftPanel(ctx);
    this.recs = recommendationsPanel(state, ctx);
    this.filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter by name, label, property…', 'data-testid': 'index-filter', 'aria-label': 'Filter indexes' });
    this.filter.addEventListener('input', () => {
      this.lastIndexes = '';
      this.renderIndexes();
    });
    this.indexNote = h('span', { class: 'panel-note' });
    this.unreachable = h('div', null);
    this.indexHost = h('div', { class: 'panel-body flush' }, h('p', { class: 'muted pad' }, 'Loading…'));
    this.constraintHost = h('div', { class: 'panel-body flush' }, h('p', { class: 'muted pad' }, 'Loading…'));
    setChildren(root,
      h('div', { class: 'grid-3' },
        h('section', { class: 'panel' }, h('header', { class: 'panel-head' }, h('h2', null, 'Create index')), h('div', { class: 'panel-body' }, this.indexForm.form)),
        h('section', { class: 'panel' }, h('header', { class: 'panel-head' }, h('h2', null, 'Create uniqueness constraint')), h('div', { class: 'panel-body' }, this.constraintForm.form)),
        this.drift.el),
      this.unreachable,
      h('section', { class: 'panel' },
        h('header', { class: 'panel-head' }, h('h2', null, 'Indexes'), this.indexNote, h('span', { class: 'spacer' }), this.filter),
        this.indexHost),
      this.recs.el,
      h('section', { class: 'panel' },
        h('header', { class: 'panel-head' }, h('h2', null, 'Constraints')),
        this.constraintHost));
  },
  renderIndexes() {
    const s = this.schema;
    if (!s) return;
    const q = this.filter.value.trim().toLowerCase();
    const all = s.indexes || [];
    const shown = q
      ? all.filter((i) => [i.name, i.type, i.state, list(i.labelsOrTypes), list(i.properties)].join(' ').toLowerCase().includes(q))
      : all;
    const json = JSON.stringify([shown, this.state.highlight]);
    if (json === this.lastIndexes) return;
    this.lastIndexes = json;
    setChildren(this.indexHost, table({
      testid: 'index-table',
      columns: INDEX_COLUMNS,
      rows: indexRows(shown, this.state, this.afterDrop),
      empty: q ? 'No index matches the filter.' : 'No indexes.',
    }));
    const flashed = this.state.highlight;
    if (flashed && shown.some((i) => i.name === flashed)) {
      // Highlight a new index once, when it first shows up.
      setTimeout(() => {
        if (this.state.highlight === flashed) this.state.highlight = null;
      }, 3000);
    }
  },
  async refresh() {
    const [schema, drift, recs] = await Promise.allSettled([
      api('/admin/api/schema'), api('/admin/api/schema/drift'), api('/admin/api/schema/recommendations'),
    ]);
    if (schema.status === 'fulfilled') {
      const s = schema.value;
      this.schema = s;
      if (!this.state.ontology && s.ontology) {
        this.state.ontology = s.ontology;
        this.indexForm.fill();
        this.constraintForm.fill();
      }
      const idx = s.indexes || [];
      const online = idx.filter((i) => i.state === 'ONLINE').length;
      this.state.populating = idx.some((i) => i.state === 'POPULATING');
      this.indexNote.textContent = `${online} of ${idx.length} online · reads summed over ${(s.servers || []).length} server(s)`;
      setChildren(this.unreachable, (s.unreachable || []).length
        ? h('p', { class: 'warning', role: 'alert', 'data-testid': 'unreachable' },
          'Read counts are incomplete: ', (s.unreachable || []).map((u) => `${u.address} (${u.error})`).join('; '))
        : null);
      this.renderIndexes();
      const cjson = JSON.stringify(s.constraints || []);
      if (cjson !== this.lastConstraints) {
        this.lastConstraints = cjson;
        setChildren(this.constraintHost, table({
          testid: 'constraint-table', columns: CONSTRAINT_COLUMNS,
          rows: constraintRows(s.constraints || [], this.afterDrop), empty: 'No constraints.',
        }));
      }
    } else {
      this.lastIndexes = '';
      this.lastConstraints = '';
      setChildren(this.indexHost, h('p', { class: 'error', role: 'alert' }, `Could not read the indexes: ${schema.reason.message}`));
    }
    this.drift.render(drift.value, drift.status === 'rejected' ? drift.reason.message : null);
    this.recs.render(recs.value, recs.status === 'rejected' ? recs.reason.message : null);
    if (schema.status === 'rejected' && drift.status === 'rejected') throw schema.reason;
  },
  nextDelay() {
    return this.state && this.state.populating ? 2000 : 5000;
  },
};
