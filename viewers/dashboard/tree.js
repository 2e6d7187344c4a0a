// tree.js: a device's state as a collapsible tree.
//
// Live updates patch the tree in place rather than rebuilding it, so what
// the user opened stays open, the page does not jump, and only rows whose
// value really changed are touched (and flashed).  Children of a collapsed
// row are built the first time it opens: big arrays cost nothing until then.

import { h } from './dom.js';
import {
  joinPath, parentPath, schemaPath, isBuffer, isContainer, formatValue,
  sameValue, leaves, bufferChange,
} from './state.js';

const INLINE_BYTES = 16;      // longer buffers get a hexdump row of their own
const HEXDUMP_MAX = 4096;     // bytes shown in a hexdump; the rest is counted
const PREVIEW_CHARS = 72;

// schema path -> field description, from the agent's schema endpoint.  The
// JSON description nests structs under the field and lists subsections,
// which appear in the state as members named after them.
export function indexSchema(desc) {
  const out = new Map();
  const walk = (d, prefix) => {
    for (const f of d?.fields ?? []) {
      if (typeof f?.name !== 'string') continue;
      const p = joinPath(prefix, f.name);
      out.set(p, f);
      const inner = ['struct', 'element', 'vmsd'].map((k) => f[k]).find((x) => x?.fields);
      if (inner) walk(inner, p);
    }
    for (const s of d?.subsections ?? []) {
      if (typeof s?.name !== 'string') continue;
      // QEMU names subsections "device/part"; the state may use either.
      for (const key of new Set([s.name, s.name.split('/').pop()])) {
        out.set(joinPath(prefix, key), { ...s, type: 'subsection' });
        walk(s, joinPath(prefix, key));
      }
    }
  };
  walk(desc, '');
  return out;
}

export function fieldVersion(f) {
  const v = f?.version ?? f?.['version-id'] ?? f?.version_id;
  return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : null;
}

function kindOf(value) {
  if (Array.isArray(value)) return 'array';
  if (isContainer(value)) return 'object';
  if (isBuffer(value) && value.length / 2 > INLINE_BYTES) return 'buffer';
  return 'leaf';
}

function keysOf(value) {
  return Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
}

function sameShape(a, b) {
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length;
  if (!isContainer(a) || !isContainer(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function inferType(value) {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number' || typeof value === 'bigint') return 'int';
  if (isBuffer(value)) return 'buffer';
  if (Array.isArray(value)) return 'array';
  if (isContainer(value)) return 'struct';
  return typeof value;
}

function elementType(field, sample) {
  if (!field) return inferType(sample);
  const inner = field.struct ?? field.element;
  return inner?.name ?? inner?.vmsd_name ?? field.type ?? inferType(sample);
}

function typeLabel(node) {
  const { value, field, path } = node;
  if (Array.isArray(value)) return `${elementType(field, value[0])}[${value.length}]`;
  if (/\]$/.test(path)) return elementType(field, value);
  if (field?.type === 'subsection') return 'subsection';
  const t = field?.type ?? inferType(value);
  return isBuffer(value) ? `${t}, ${value.length / 2} B` : t;
}

function preview(value) {
  const parts = [];
  let len = 0;
  for (const k of keysOf(value)) {
    const v = value[k];
    const text = (typeof k === 'number' ? '' : `${k}: `) +
      (isContainer(v) ? (Array.isArray(v) ? `[${v.length}]` : '{…}')
        : typeof v === 'number' || typeof v === 'bigint' ? String(v) : formatValue(v, 4));
    len += text.length + 2;
    if (len > PREVIEW_CHARS) { parts.push('…'); break; }
    parts.push(text);
  }
  return Array.isArray(value) ? `[${parts.join(', ')}]` : `{${parts.join(', ')}}`;
}

function escapeHTML(s) {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
}

// Offsets, bytes, ASCII; bytes that differ from `before` are marked.
function hexdump(hex, before) {
  const n = Math.min(hex.length / 2, HEXDUMP_MAX);
  const changed = before && before.length === hex.length ? before : null;
  const lines = [];
  for (let off = 0; off < n; off += 16) {
    let bytes = '', ascii = '';
    for (let i = off; i < off + 16; i++) {
      if (i >= n) { bytes += '   '; continue; }
      const b = hex.substr(2 * i, 2), c = parseInt(b, 16);
      const mark = changed && changed.substr(2 * i, 2) !== b;
      bytes += (i === off + 8 ? '  ' : ' ') + (mark ? `<mark>${b}</mark>` : b);
      ascii += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
    }
    lines.push(`<span class="off">${off.toString(16).padStart(6, '0')}</span>${bytes}  ` +
               `<span class="ascii">${escapeHTML(ascii)}</span>`);
  }
  if (hex.length / 2 > n) lines.push(`… ${hex.length / 2 - n} more bytes`);
  return lines.join('\n');
}

export class StateTree {
  constructor(el) {
    this.el = el;
    this.fields = new Map();
    this.toggled = new Map();       // path -> expanded, where the user chose
    this.nodes = new Map();         // path -> node, for rows built so far
    this.root = null;
    el.addEventListener('click', (ev) => {
      const row = ev.target.closest('.row');
      const node = row && this.nodes.get(row.parentElement.dataset.path);
      if (!node || node.kind === 'leaf' || ev.target.closest('.hexdump')) return;
      // A drag that selects text (to copy a value) is no click on the row.
      if (!ev.target.closest('.twisty') && getSelection().type === 'Range') return;
      this.toggled.set(node.path, !node.expanded);
      this.setExpanded(node, !node.expanded);
    });
  }

  // A new device: forget which rows the user opened.
  reset() {
    this.toggled.clear();
    this.nodes.clear();
    this.root = null;
    this.el.replaceChildren();
  }

  setSchema(fields) {
    this.fields = fields;
    if (this.root) this.render(this.root.value);
  }

  render(state) {
    this.nodes.clear();
    this.root = { path: '', kind: 'object', value: state, depth: -1, expanded: true,
                  rendered: true, children: this.el };
    this.el.replaceChildren(...keysOf(state).map((k) => this.build(k, k, state[k], 0).li));
    this.el.dataset.empty = keysOf(state).length === 0 ? 'true' : 'false';
  }

  // Patches the tree to show `state`; returns the paths that changed.
  update(state) {
    if (!this.root) { this.render(state); return []; }
    return this.patch(this.root, state);
  }

  // Flashes the rows showing these paths: the row itself when it is on
  // screen, otherwise the collapsed row that hides it.
  flash(paths) {
    const rows = new Set();
    for (let p of paths) {
      while (p && !this.nodes.has(p)) p = parentPath(p);
      if (!p) continue;
      let shown = p;
      for (let q = parentPath(p); q; q = parentPath(q))
        if (this.nodes.get(q)?.expanded === false) shown = q;
      rows.add(this.nodes.get(shown).row);
    }
    for (const row of rows) {
      row.classList.remove('flash');
      void row.offsetWidth;           // restart the animation
      row.classList.add('flash');
    }
    return rows.size;
  }

  expandAll() {
    const open = (node) => {
      if (node.kind === 'leaf') return;
      if (node !== this.root) { this.toggled.set(node.path, true); this.setExpanded(node, true); }
      if (node.kind !== 'buffer')
        for (const k of keysOf(node.value)) open(this.nodes.get(joinPath(node.path, k)));
    };
    if (this.root) open(this.root);
  }

  collapseAll() {
    for (const node of this.nodes.values()) {
      if (node.kind === 'leaf') continue;
      this.toggled.set(node.path, false);
      this.setExpanded(node, false);
    }
  }

  build(key, path, value, depth) {
    const kind = kindOf(value);
    const node = { key, path, value, depth, kind, field: this.fields.get(schemaPath(path)),
                   expanded: false, rendered: false };
    const version = fieldVersion(node.field);
    node.valueEl = h('span', { className: 'value', dataset: { testid: 'field-value' } });
    node.row = h('div', { className: 'row' },
      kind === 'leaf' ? h('span', { className: 'twisty' })
        : h('button', { className: 'twisty', type: 'button', 'aria-label': `toggle ${path}` }),
      h('span', { className: 'key', title: path }, typeof key === 'number' ? `[${key}]` : key),
      h('span', { className: 'type', dataset: { testid: 'field-type' } }, typeLabel(node)),
      version === null ? null
        : h('span', { className: 'ver', title: node.field.type === 'subsection'
          ? `subsection version ${version}` : `field present from version ${version} on` },
        node.field.type === 'subsection' ? `v${version}` : `v${version}+`),
      node.valueEl);
    node.li = h('li', { className: 'node', role: 'treeitem', dataset: { path, kind } }, node.row);
    if (kind !== 'leaf') {
      node.children = h(kind === 'buffer' ? 'pre' : 'ul',
        { className: kind === 'buffer' ? 'hexdump' : 'children', role: kind === 'buffer' ? null : 'group' });
      node.li.append(node.children);
    }
    this.nodes.set(path, node);
    this.fillValue(node);
    if (kind !== 'leaf') {
      // Arrays of numbers read well as their one-line preview; arrays of
      // structs are opened when short.
      const open = this.toggled.get(path) ?? (kind === 'object' ? depth < 2
        : kind === 'array' ? depth < 2 && value.length <= 16 && value.some(isContainer) : false);
      this.setExpanded(node, open);
    }
    return node;
  }

  setExpanded(node, open) {
    node.expanded = open;
    node.li.setAttribute('aria-expanded', String(open));
    node.children.hidden = !open;
    if (open && !node.rendered) {
      node.rendered = true;
      if (node.kind === 'buffer') node.children.innerHTML = hexdump(node.value);
      else node.children.append(...keysOf(node.value).map((k) =>
        this.build(k, joinPath(node.path, k), node.value[k], node.depth + 1).li));
    }
  }

  fillValue(node, before) {
    const v = node.value, el = node.valueEl;
    el.className = 'value';
    if (node.kind === 'object' || node.kind === 'array') {
      el.classList.add('summary');
      el.dataset.testid = 'field-summary';
      el.textContent = preview(v);
      return;
    }
    if (typeof v === 'boolean') el.classList.add(v ? 'true' : 'false');
    else if (isBuffer(v)) el.classList.add('buf');
    else if (typeof v === 'number' || typeof v === 'bigint') el.classList.add('num');
    el.textContent = formatValue(v, INLINE_BYTES);
    if (node.kind === 'buffer' && node.rendered) node.children.innerHTML = hexdump(v, before);
    const range = bufferChange(before, v);
    el.title = range ? `bytes ${range.from}..${range.to - 1} changed` : '';
  }

  patch(node, value) {
    const before = node.value;
    const kind = kindOf(value);
    node.value = value;
    if ((kind === 'object' || kind === 'array') && kind === node.kind && sameShape(before, value)) {
      if (!node.rendered) {
        if (sameValue(before, value)) return [];
        this.fillValue(node);
        return [node.path];
      }
      const changed = keysOf(value).flatMap((k) =>
        this.patch(this.nodes.get(joinPath(node.path, k)), value[k]));
      if (changed.length && node !== this.root) this.fillValue(node);
      return changed;
    }
    if (kind === node.kind && kind !== 'object' && kind !== 'array') {
      if (sameValue(before, value)) return [];
      this.fillValue(node, before);
      return [node.path];
    }
    // Members came or went (a subsection, a variable array): rebuild here.
    if (node === this.root) {
      this.render(value);
      const a = leaves(before), b = leaves(value);
      return [...new Set([...a.keys(), ...b.keys()])].filter((p) => !sameValue(a.get(p), b.get(p)));
    }
    for (const p of [...this.nodes.keys()])
      if (p.startsWith(node.path + '.') || p.startsWith(node.path + '[')) this.nodes.delete(p);
    const fresh = this.build(node.key, node.path, value, node.depth);
    node.li.replaceWith(fresh.li);
    return [node.path];
  }
}

