// state.js: paths into device state, how values read, and diffs.
//
// Paths use the agent's notation (the one DEVICE_STATE_CHANGED lists):
// struct members joined with ".", array elements as "[i]": "fifo.count",
// "regs[3]", "queues[1].avail".

export function joinPath(parent, key) {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

// "a.b[2]" -> "a.b" -> "a" -> ""
export function parentPath(path) {
  const m = /(?:\[\d+\]|\.[^.[\]]+)$/.exec(path);
  return m ? path.slice(0, m.index) : '';
}

// Schema descriptions name arrays once for all their elements.
export function schemaPath(path) {
  return path.replace(/\[\d+\]/g, '');
}

// The only strings in device state are buffers, as lowercase hex.
export function isBuffer(value) {
  return typeof value === 'string' && value.length % 2 === 0 && /^[0-9a-f]*$/.test(value);
}

export function isContainer(value) {
  return value !== null && typeof value === 'object';
}

export function hexBytes(hex, from = 0, to = hex.length / 2) {
  const out = [];
  for (let i = from; i < to; i++) out.push(hex.substr(2 * i, 2));
  return out.join(' ');
}

// One line for any value: the tree's leaves, collapsed summaries and diffs.
export function formatValue(value, maxBytes = 16) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return formatInt(value);
  if (isBuffer(value)) {
    const n = value.length / 2;
    if (n === 0) return '(empty)';
    const more = n > maxBytes ? ` … (${n} bytes)` : '';
    return hexBytes(value, 0, Math.min(n, maxBytes)) + more;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.length}]`;
  return `{${Object.keys(value).length}}`;
}

// Registers read best in hex; small counters and negative numbers do not.
export function formatInt(value) {
  if (typeof value === 'number' && !Number.isInteger(value)) return String(value);
  const big = BigInt(value);
  return big < 10n ? String(value) : `${value} (0x${big.toString(16)})`;
}

export function sameValue(a, b) {
  if (isContainer(a) || isContainer(b)) return stableJSON(a) === stableJSON(b);
  return typeof a === typeof b && String(a) === String(b);
}

export function stableJSON(value) {
  return JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

// JSON text with BigInts written as the exact numbers they are.
export function toJSON(value, indent) {
  return JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? `\u0000big:${v}` : v), indent)
    .replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

// path -> value of every scalar (or buffer) in a state.
export function leaves(value, path = '', out = new Map()) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => leaves(v, joinPath(path, i), out));
  } else if (isContainer(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, joinPath(path, k), out);
  } else {
    out.set(path, value);
  }
  return out;
}

// Every leaf that differs between two states, in the newer state's order,
// then the leaves that went away.  kind: 'changed' | 'added' | 'removed'.
export function diffStates(before, after) {
  const a = leaves(before), b = leaves(after), out = [];
  for (const [path, value] of b) {
    if (!a.has(path)) out.push({ path, kind: 'added', after: value });
    else if (!sameValue(a.get(path), value))
      out.push({ path, kind: 'changed', before: a.get(path), after: value });
  }
  for (const [path, value] of a)
    if (!b.has(path)) out.push({ path, kind: 'removed', before: value });
  return out;
}

// Where two equally long buffers differ: [first, last + 1) in bytes.
export function bufferChange(before, after) {
  if (!isBuffer(before) || !isBuffer(after) || before.length !== after.length) return null;
  let first = -1, last = -1;
  for (let i = 0; i < before.length; i += 2) {
    if (before.substr(i, 2) !== after.substr(i, 2)) {
      if (first < 0) first = i / 2;
      last = i / 2;
    }
  }
  return first < 0 ? null : { from: first, to: last + 1 };
}
