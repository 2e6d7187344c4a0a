// views.js: the Schema and Diff tabs, built from the agent's answers.

import { h } from './dom.js';
import { fieldVersion } from './tree.js';
import { diffStates, formatValue, bufferChange, toJSON } from './state.js';

export const time = (d = new Date()) => d.toLocaleTimeString([], { hour12: false });

// The answer of GET .../schema: the description, then the raw JSON.
export function schemaView(r) {
  return [
    schemaTables(r.schema ?? {}, 0),
    h('details', { className: 'raw' }, h('summary', {}, 'Raw JSON'), h('pre', {}, toJSON(r, 2))),
  ];
}

// A VMState description as a table per struct; nested structs and
// subsections follow their parent, indented.
function schemaTables(desc, depth, prefix = '', note = null) {
  const known = new Set(['name', 'type', 'size', 'version', 'version-id', 'version_id',
                         'struct', 'element', 'vmsd', 'fields', 'subsections']);
  const nested = [];
  const rows = (desc.fields ?? []).map((f) => {
    const path = prefix ? `${prefix}.${f.name}` : f.name;
    const inner = ['struct', 'element', 'vmsd'].map((k) => f[k]).find((x) => x?.fields);
    if (inner) nested.push(schemaTables(inner, depth + 1, path, `field ${path}`));
    const extra = Object.entries(f).filter(([k]) => !known.has(k))
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
    const version = fieldVersion(f);
    return h('tr', { dataset: { testid: 'schema-field' } },
      h('td', { className: 'mono' }, path),
      h('td', { className: 'mono' }, inner?.name ?? f.type ?? ''),
      h('td', { className: 'num' }, f.size ?? ''),
      h('td', { className: 'num' }, version ? `${version}+` : ''),
      h('td', { className: 'mono muted' }, extra));
  });
  const version = fieldVersion(desc);
  const minimum = desc['minimum-version'] ?? desc.minimum_version_id;
  return h('section', { className: `schema-desc depth-${Math.min(depth, 3)}` },
    h('h3', {},
      h('span', { className: 'mono' }, desc.name ?? desc.vmsd_name ?? prefix),
      version !== null ? h('span', { className: 'chip' }, `version ${version}`) : null,
      minimum !== undefined ? h('span', { className: 'chip' }, `minimum ${minimum}`) : null,
      note ? h('span', { className: 'chip' }, note) : null),
    rows.length
      ? h('table', { className: 'schema-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'field'), h('th', {}, 'type'), h('th', { className: 'num' }, 'size'),
          h('th', { className: 'num' }, 'since'), h('th', {}, 'details'))),
        h('tbody', {}, rows))
      : h('p', { className: 'placeholder' }, 'No fields.'),
    nested,
    (desc.subsections ?? []).map((sub) => schemaTables(sub, depth + 1, '', 'subsection')));
}

// A buffer reads best as the bytes around its first change, marked; a long
// one shows 16 bytes from there.
function diffCell(value, other) {
  const range = bufferChange(other, value);
  if (value === undefined) return '—';
  if (!range) return formatValue(value, 16);
  const n = value.length / 2;
  const from = n <= 16 ? 0 : range.from, to = Math.min(from + 16, n);
  const bytes = [];
  for (let i = from; i < to; i++) {
    const b = value.substr(2 * i, 2);
    bytes.push(b === other.substr(2 * i, 2) ? b : h('mark', {}, b), i + 1 < to ? ' ' : '');
  }
  return [from ? `@${from}: ` : '', ...bytes, to < n ? ' …' : ''];
}

// The changes between two readings {state, generation, at} of one device.
export function diffView(before, after) {
  const changes = diffStates(before.state, after.state);
  const summary = `${changes.length} change${changes.length === 1 ? '' : 's'} between the snapshot ` +
    `(${time(before.at)}, gen ${before.generation}) and now (${time(after.at)}, gen ${after.generation})`;
  return [
    h('p', { className: 'diff-summary', dataset: { testid: 'diff-summary', count: String(changes.length) } }, summary),
    changes.length === 0 ? h('p', { className: 'placeholder' }, 'Nothing changed since the snapshot.')
      : h('table', { className: 'diff-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'path'), h('th', {}, 'snapshot'), h('th', {}), h('th', {}, 'now'))),
        h('tbody', {}, changes.map((c) => h('tr', { className: c.kind, dataset: { testid: 'diff-row', path: c.path } },
          h('td', { className: 'mono path' }, c.path),
          h('td', { className: 'mono old' }, diffCell(c.before, c.after)),
          h('td', { className: 'arrow', 'aria-label': c.kind }, '→'),
          h('td', { className: 'mono new' }, diffCell(c.after, c.before)))))),
  ];
}

