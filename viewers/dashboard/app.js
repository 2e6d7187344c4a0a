// app.js: the vmscope dashboard.  Lists device hosts and their devices, shows
// one device at a time (state tree, pretty text, schema, diff against a
// snapshot) and keeps everything current from the agent's event stream.
// The selected device lives in the URL (#/host/id) so links and reloads work.

import { api, subscribeEvents } from './api.js';
import { h } from './dom.js';
import { StateTree, indexSchema } from './tree.js';
import { schemaView, diffView, time } from './views.js';

const $ = (id) => document.getElementById(id);
const model = { hosts: [], devices: [], lostReasons: new Map(), listsLoaded: false };
let listsReady;         // settles once the first read of the lists is done
const firstLists = new Promise((r) => { listsReady = r; });
const tree = new StateTree($('tree'));
let open = null;        // the device on screen, see openDevice()

const bigint = (x) => { try { return BigInt(x); } catch { return null; } };

// Runs fn at most once at a time and at most once per `gap` ms; calls that
// arrive meanwhile fold into one more run afterwards.  A device that changes
// a thousand times a second is then read five times a second, which is as
// fast as anyone can read it anyway.
function coalesced(fn, gap = 200) {
  let running = false, again = false, last = 0;
  return async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        const wait = last + gap - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        last = performance.now();
        await fn();
      } while (again);
    } finally {
      running = false;
    }
  };
}

function debounced(fn, ms) {
  let timer = null;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

// ---- error banner: one message per source, cleared when that source works again

const errors = new Map();

function showError(key, err) {
  errors.set(key, err?.message ?? String(err));
  renderBanner();
}

function clearError(key) {
  if (errors.delete(key)) renderBanner();
}

function renderBanner() {
  $('banner-list').replaceChildren(...[...errors.values()].map((m) => h('li', {}, m)));
  $('banner').hidden = errors.size === 0;
}

$('banner-close').addEventListener('click', () => { errors.clear(); renderBanner(); });

// ---- hosts and devices

let listsSeq = 0;
async function refreshLists() {
  const seq = ++listsSeq;
  try {
    const [hosts, devices] = await Promise.all([api.hosts(), api.devices()]);
    if (seq !== listsSeq) return;           // a newer refresh is on its way
    model.hosts = hosts;
    model.devices = devices;
    model.listsLoaded = true;
    clearError('lists');
  } catch (e) {
    if (seq === listsSeq) showError('lists', e);
  }
  listsReady();
  renderSidebar();
  if (open) renderDeviceHead();
}
const refreshListsSoon = debounced(refreshLists, 150);

function hostOf(name) {
  return model.hosts.find((x) => x.name === name);
}

function deviceOf(path) {
  return model.devices.find((d) => d.path === path);
}

function renderSidebar() {
  const filter = $('filter').value.trim().toLowerCase();
  const byHost = new Map(model.hosts.map((x) => [x.name, []]));
  for (const d of model.devices) {
    if (!byHost.has(d.host)) byHost.set(d.host, []);
    byHost.get(d.host).push(d);
  }
  const cards = [...byHost.keys()].sort().map((name) => {
    const devices = byHost.get(name).filter((d) => !filter ||
      `${d.path} ${d.type}`.toLowerCase().includes(filter));
    return hostCard(name, hostOf(name), devices);
  });
  if (!cards.length) {
    cards.push(h('p', { className: 'placeholder', dataset: { testid: 'no-hosts' } },
      model.listsLoaded ? 'No device hosts yet. Start one with ' : 'Loading…',
      model.listsLoaded ? h('code', {}, 'vmscope-devhost --name h1') : null));
  }
  $('hosts').replaceChildren(...cards);
}

// A QEMU host's meta line: run state, devices, what the last snapshot cost.
function qemuMeta(host) {
  const parts = [host.status, `${host.devices} device${host.devices === 1 ? '' : 's'}`];
  if (host['pause-us'] !== undefined) parts.push(`pause ${(host['pause-us'] / 1000).toFixed(2)} ms`);
  return parts.join(' · ');
}

function hostCard(name, host, devices) {
  const alive = host ? host.alive !== false : true;
  const reason = host?.error ?? model.lostReasons.get(name);
  const qemu = host?.kind === 'qemu';
  const meta = !host ? '' : qemu ? qemuMeta(host)
    : [`pid ${host.pid}`, `${host.devices} device${host.devices === 1 ? '' : 's'}`,
       `gen ${host.generation}`].join(' · ');
  return h('section', { className: `host ${alive ? 'alive' : 'lost'}`,
                        dataset: { testid: 'host', host: name, alive: String(alive),
                                   kind: qemu ? 'qemu' : 'devhost' } },
    h('header', { className: 'host-head' },
      h('span', { className: 'badge', dataset: { testid: 'host-status' } }, alive ? 'alive' : 'lost'),
      h('span', { className: `badge kind ${qemu ? 'kind-qemu' : 'kind-devhost'}`,
                  dataset: { testid: 'host-kind' },
                  title: qemu ? 'a QEMU VM, read through its QMP monitor' : 'a vmscope device host' },
        qemu ? 'qemu' : 'devhost'),
      h('h3', { className: 'host-name' }, name),
      h('span', { className: 'host-meta', dataset: { testid: 'host-meta' } }, meta)),
    !alive || host?.error
      ? h('p', { className: 'host-error', dataset: { testid: 'host-error' } },
        reason ? `${alive ? 'error' : 'lost'}: ${reason}` : 'lost: the host process is gone')
      : null,
    alive && host?.reason
      ? h('p', { className: 'host-reason', dataset: { testid: 'host-reason' } },
        `state unavailable: ${host.reason}`)
      : null,
    h('ul', { className: 'devices' }, devices.map((d) => h('li', {},
      h('a', { href: `#${d.path}`, className: 'dev-link', 'aria-current': open?.path === d.path ? 'true' : null,
               dataset: { testid: 'device', path: d.path } },
        h('span', { className: 'dev-id' }, d.id),
        h('span', { className: 'dev-type' }, d.type),
        h('span', { className: 'dev-ver', title: 'version' }, `v${d['version-id']}`),
        h('span', { className: 'dev-gen', title: 'generation: bumped on every change' }, `${d.generation}`))))));
}

// A device changed: show it in the list without refetching everything.
function bumpDevice(path, generation) {
  const d = deviceOf(path);
  if (d && generation !== undefined) d.generation = generation;
  const link = document.querySelector(`a.dev-link[data-path="${CSS.escape(path)}"]`);
  if (!link) return;
  link.querySelector('.dev-gen').textContent = `${generation ?? ''}`;
  // Restarting the animation costs a layout: not more than a few per second.
  const now = performance.now();
  if (now - (link.pulsedAt ?? -1e9) < 500) return;
  link.pulsedAt = now;
  link.classList.remove('pulse');
  void link.offsetWidth;
  link.classList.add('pulse');
}

$('filter').addEventListener('input', renderSidebar);

// ---- the open device

function openDevice(path) {
  if (open?.path === path) return;
  const tab = open && open.tab !== 'diff' ? open.tab : 'state';
  const o = open = {
    path, tab, info: null, state: null, generation: null, snapshot: null,
    pending: new Set(), gone: null, updates: 0,
  };
  o.reloadState = coalesced(() => fetchState(o));
  o.reloadPretty = coalesced(() => fetchPretty(o));
  for (const key of ['state', 'pretty', 'schema', 'compare']) clearError(key);
  tree.reset();
  $('empty').hidden = true;
  $('device').hidden = false;
  $('tree').dataset.updates = '0';
  $('pretty').textContent = '';
  $('pretty').dataset.state = 'empty';
  $('schema').replaceChildren();
  $('schema').dataset.state = 'empty';
  $('diff').replaceChildren(h('p', { className: 'placeholder' },
    'Take a snapshot, then compare it with the device as it is now.'));
  $('snapshot-info').textContent = '';
  $('compare').disabled = true;
  document.title = `${path} · vmscope`;
  for (const a of document.querySelectorAll('a.dev-link')) {
    if (a.dataset.path === path) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
  renderDeviceHead();
  selectTab(tab);
  fetchSchema(o);
  o.reloadState();
}

function closeDevice() {
  open = null;
  document.title = 'vmscope';
  $('device').hidden = true;
  $('empty').hidden = false;
  for (const a of document.querySelectorAll('a.dev-link[aria-current]')) a.removeAttribute('aria-current');
}

function renderDeviceHead() {
  const o = open;
  const d = deviceOf(o.path) ?? {};
  const info = o.info ?? {};
  const version = info['version-id'] ?? d['version-id'];
  const fields = [
    ['type', info.type ?? d.type],
    ['instance', info['instance-id'] ?? d['instance-id']],
    ['version', version],
    ['generation', o.generation ?? d.generation],
    ['state size', d['state-size'] !== undefined ? `${d['state-size']} B` : undefined],
    ['section', info.section],
    ['pause', info['pause-us'] !== undefined ? `${(info['pause-us'] / 1000).toFixed(2)} ms` : undefined],
    ['raw', info['raw-reason']],
  ];
  $('dev-title').textContent = o.path;
  $('dev-meta').replaceChildren(...fields.filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => h('span', { className: 'chip' }, h('span', { className: 'chip-key' }, k), ` ${v}`)));
  $('dev-meta').dataset.generation = String(o.generation ?? '');
  const host = hostOf(o.path.split('/')[1]);
  const lost = host && host.alive === false;
  const notice = o.gone ?? (lost ? `Host lost: ${host.error ?? model.lostReasons.get(host.name) ??
    'the host process is gone'}. Showing the last state read.` : null);
  $('dev-notice').textContent = notice ?? '';
  $('dev-notice').hidden = !notice;
}

function markGone(o, why) {
  o.gone = why;
  if (open === o) renderDeviceHead();
}

// A device that is not in the list (deleted, its host gone, an old link)
// answers 404: that is history, shown in the panel, not a failure.
async function deviceError(o, key, e) {
  if (e.status === 404) {
    await firstLists;
    if (!deviceOf(o.path)) {
      if (open === o) markGone(o, `No such device now (${e.message}).`);
      return;
    }
  }
  if (open === o) showError(key, e);
}

async function fetchState(o) {
  const changedByEvent = [...o.pending];
  o.pending.clear();
  let r;
  try {
    r = await api.state(o.path);
  } catch (e) {
    await deviceError(o, 'state', e);
    return;
  }
  if (open !== o) return;
  clearError('state');
  applyState(o, r, changedByEvent);
  if (o.tab === 'pretty') o.reloadPretty();
}

function applyState(o, r, changedByEvent = []) {
  const { state, ...info } = r;
  const first = o.state === null;
  o.info = info;
  o.state = state ?? {};
  o.generation = r.generation;
  o.gone = null;
  if (first) {
    tree.render(o.state);
  } else {
    const changed = tree.update(o.state);
    if (changed.length) $('tree').dataset.updates = String(++o.updates);
    tree.flash([...changed, ...changedByEvent]);
  }
  $('updated').textContent = `read ${time()}`;
  renderDeviceHead();
}

async function fetchPretty(o) {
  try {
    const text = await api.pretty(o.path);
    if (open !== o) return;
    clearError('pretty');
    $('pretty').textContent = text;
    $('pretty').dataset.state = 'loaded';
  } catch (e) {
    await deviceError(o, 'pretty', e);
    if (open === o && $('pretty').dataset.state !== 'loaded') {
      $('pretty').textContent = 'Could not read the pretty-printed state (see the error above).';
      $('pretty').dataset.state = 'error';
    }
  }
}

async function fetchSchema(o) {
  try {
    const r = await api.schema(o.path);
    if (open !== o) return;
    clearError('schema');
    tree.setSchema(indexSchema(r.schema));
    $('schema').replaceChildren(...schemaView(r));
    $('schema').dataset.state = 'loaded';
  } catch (e) {
    await deviceError(o, 'schema', e);
  }
}

// ---- tabs

function selectTab(tab) {
  if (open) open.tab = tab;
  for (const b of document.querySelectorAll('[role=tab]'))
    b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const p of document.querySelectorAll('[role=tabpanel]')) p.hidden = p.dataset.panel !== tab;
  if (tab === 'pretty' && open) open.reloadPretty();
}

for (const b of document.querySelectorAll('[role=tab]'))
  b.addEventListener('click', () => selectTab(b.dataset.tab));

$('expand-all').addEventListener('click', () => tree.expandAll());
$('collapse-all').addEventListener('click', () => tree.collapseAll());

// ---- snapshot and diff

$('snapshot').addEventListener('click', async () => {
  const o = open;
  if (!o) return;
  // Read afresh: the snapshot is the device as it is at the click.
  try {
    const r = await api.state(o.path);
    if (open !== o) return;
    clearError('compare');
    applyState(o, r);
    o.snapshot = { state: o.state, generation: o.generation, at: new Date() };
    $('snapshot-info').textContent = `snapshot ${time(o.snapshot.at)}, gen ${o.generation}`;
    $('compare').disabled = false;
  } catch (e) {
    if (open === o) showError('compare', e);
  }
});

$('compare').addEventListener('click', async () => {
  const o = open;
  if (!o?.snapshot) return;
  try {
    const r = await api.state(o.path);
    if (open !== o) return;
    clearError('compare');
    applyState(o, r);
    $('diff').replaceChildren(...diffView(o.snapshot,
      { state: o.state, generation: o.generation, at: new Date() }));
    selectTab('diff');
  } catch (e) {
    if (open === o) showError('compare', e);
  }
});

// ---- live updates

function setStreamStatus(state, text) {
  const pill = $('stream-status');
  pill.dataset.state = state;
  pill.textContent = text;
}

let streamBroken = false;
subscribeEvents({
  DEVICE_ADDED(d) {
    refreshListsSoon();
    if (open?.path === d.path && open.gone) { open.gone = null; open.reloadState(); }
  },
  DEVICE_DELETED(d) {
    refreshListsSoon();
    if (open?.path === d.path) markGone(open, 'This device was deleted. Showing the last state read.');
  },
  HOST_LOST(d) {
    model.lostReasons.set(d.host, d.reason);
    refreshListsSoon();
  },
  DEVICE_STATE_CHANGED(d) {
    bumpDevice(d.path, d.generation);
    const o = open;
    if (o?.path !== d.path) return;
    for (const p of d.changed ?? []) o.pending.add(p);
    const g = bigint(d.generation), shown = bigint(o.generation);
    if (g !== null && shown !== null && g <= shown) {
      tree.flash([...o.pending]);   // we already show this generation
      o.pending.clear();
      return;
    }
    o.reloadState();
  },
}, (status, detail) => {
  if (status === 'open') {
    setStreamStatus('live', 'live');
    clearError('events');
    // Whatever happened while we were not listening: read it again.
    if (streamBroken) {
      refreshLists();
      open?.reloadState();
    }
    streamBroken = false;
  } else if (status === 'error') {
    streamBroken = true;
    setStreamStatus('down', 'reconnecting…');
    showError('events', detail);
  } else {
    showError('event-data', detail);
  }
});

// ---- routing: #/host/id opens a device

function route() {
  let path = '';
  try { path = decodeURI(location.hash.slice(1)); } catch { /* malformed: no device */ }
  if (/^\/[^/]+\/.+/.test(path)) openDevice(path);
  else closeDevice();
}
addEventListener('hashchange', () => {
  route();
  // In one column the device sits below the host list: bring it into view.
  if (open && matchMedia('(max-width: 800px)').matches) $('device').scrollIntoView();
});

refreshLists();
route();
