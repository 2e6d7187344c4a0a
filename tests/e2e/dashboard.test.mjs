// dashboard.test.mjs: the dashboard in headless Chromium against a real
// vmscope-devhost and vmscope-agent.  Started by run-e2e.sh, which passes
//   --agent PATH --devhost PATH --chromium PATH --modules DIR (where
//   playwright-core is installed) --dashboard DIR --output DIR (screenshots)
//   and --qemu PATH (qemu-system-x86_64; empty: the QEMU host step is skipped)
//
// It fails when a step does not happen within its time bound, when the page
// ever shows its error banner, or when the page logs a console error.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const { values: opt } = parseArgs({
  options: Object.fromEntries(['agent', 'devhost', 'chromium', 'modules', 'dashboard', 'output',
                               'qemu'].map((k) => [k, { type: 'string' }])),
});
for (const k of ['agent', 'devhost', 'chromium', 'modules', 'dashboard', 'output'])
  if (!opt[k]) { console.error(`dashboard.test.mjs: missing --${k}`); process.exit(99); }

const { chromium } = createRequire(path.join(opt.modules, 'package.json'))('playwright-core');

const STEP_MS = 30_000;           // bound on any one thing we wait for
const HOST = `e2e-${process.pid}`;      // unique: other test runs may be live
const HOST2 = `${HOST}-b`;
const VM = `${HOST}-vm`;                // a QEMU with shared RAM: its devices are shown
const VM2 = `${HOST}-vm2`;              // a QEMU without: shown with the reason
const children = [];
const tmpdirs = [];
let browser = null, events = null;
let passed = 0, failed = 0;

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- programs under test

function start(name, cmd, args, env = {}) {
  log(`starting ${name}: ${cmd} ${args.join(' ')}`);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.label = name;
  child.output = '';
  child.exited = null;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      child.output += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) log(`  ${name}| ${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    child.exited = signal ?? code;
    log(`${name} exited (${child.exited})`);
  });
  children.push(child);
  return child;
}

async function stop(child, signal = 'SIGTERM') {
  if (child.exited !== null) return;
  child.kill(signal);
  for (let i = 0; i < 50 && child.exited === null; i++) await sleep(100);
  if (child.exited === null) { child.kill('SIGKILL'); await sleep(200); }
}

// Polls fn until it returns something truthy; fails with `what` after ms.
async function until(what, fn, ms = STEP_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s: ${what}${last ? ` (${last.message})` : ''}`);
    await sleep(200);
  }
}

// The agent prints the address it bound, e.g.
// "http: listening on http://127.0.0.1:41234/".
async function agentURL(agent) {
  const m = await until('the agent to print "listening on http://127.0.0.1:PORT/"', () => {
    if (agent.exited !== null) throw new Error(`agent exited (${agent.exited})`);
    return /listening on (?:http:\/\/)?(127\.0\.0\.1|localhost|\[::1\]):(\d+)/.exec(agent.output);
  });
  return `http://${m[1]}:${m[2]}/`;
}

async function getJSON(base, url) {
  const res = await fetch(new URL(url, base));
  if (!res.ok) throw new Error(`GET /${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

// Collects the agent's Server-Sent Events, to learn which device changes.
function collectEvents(base) {
  const events = [];
  const ctl = new AbortController();
  (async () => {
    const res = await fetch(new URL('api/events', base), { signal: ctl.signal,
                                                            headers: { Accept: 'text/event-stream' } });
    if (!res.ok) throw new Error(`GET /api/events: ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let name = 'message', data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) events.push({ name, msg: JSON.parse(data.join('\n')) });
      }
    }
  })().catch((e) => { if (!ctl.signal.aborted) events.error = e; });
  events.close = () => ctl.abort();
  return events;
}

// ---- steps

// Once the page is open, a step also fails as soon as the page shows its
// error banner or logs a console error, rather than at its time bound.
let pageProblems = null;
let screenshotPage = null;

function watchPage() {
  let timer;
  const problem = new Promise((resolve, reject) => {
    timer = setInterval(async () => {
      const found = await pageProblems?.().catch(() => null);
      if (found) reject(new Error(found));
    }, 250);
  });
  return { problem, stop: () => clearInterval(timer) };
}

async function step(name, fn) {
  const t0 = Date.now();
  const watch = watchPage();
  try {
    await Promise.race([fn(), watch.problem]);
    passed++;
    console.log(`ok ${passed + failed} - ${name} (${Date.now() - t0} ms)`);
    return true;
  } catch (e) {
    failed++;
    console.log(`not ok ${passed + failed} - ${name}: ${e.message}`);
    const shot = path.join(opt.output, `failed-step-${passed + failed}.png`);
    if (await screenshotPage?.(shot).catch(() => null) !== undefined) log(`screenshot: ${shot}`);
    return false;
  } finally {
    watch.stop();
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function screenshot(page, name) {
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: path.join(opt.output, `${name}.png`), fullPage: true });
}

// Leaf values shown in the state tree, by path.
const treeValues = (page) => page.$$eval('[data-testid=state-tree] [data-testid=field-value]',
  (els) => Object.fromEntries(els.map((e) => [e.closest('[data-path]').dataset.path, e.textContent])));

async function main() {
  // Private QMP sockets, so that runs side by side never meet.
  const sockets = fs.mkdtempSync(path.join(os.tmpdir(), 'vmscope-e2e-'));
  tmpdirs.push(sockets);
  const devhost = start('devhost', opt.devhost,
                        ['--name', HOST, '--qmp', `unix:${path.join(sockets, 'devhost.qmp')}`]);
  const qemuArgs = [];
  if (opt.qemu) {
    // Not "vmscope-...": agents scanning /dev/shm would take it for a segment.
    const vmShm = `/dev/shm/e2e-vm-ram-${process.pid}`;
    tmpdirs.push(vmShm);
    start('qemu', opt.qemu, ['-machine', 'pc,memory-backend=mem', '-m', '64M', '-object',
      `memory-backend-file,id=mem,size=64M,mem-path=${vmShm},share=on`, '-accel', 'tcg',
      '-nodefaults', '-display', 'none', '-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0',
      '-chardev', 'null,id=s0', '-device', 'isa-serial,chardev=s0',
      '-qmp', `unix:${path.join(sockets, 'vm.qmp')},server=on,wait=off`]);
    start('qemu2', opt.qemu, ['-machine', 'none', '-nodefaults', '-display', 'none',
      '-qmp', `unix:${path.join(sockets, 'vm2.qmp')},server=on,wait=off`]);
    qemuArgs.push('--qemu', `${VM}=unix:${path.join(sockets, 'vm.qmp')}`,
                  '--qemu', `${VM2}=unix:${path.join(sockets, 'vm2.qmp')}`);
  }
  const agent = start('agent', opt.agent, ['--http', '127.0.0.1:0',
                                           '--qmp', `unix:${path.join(sockets, 'agent.qmp')}`,
                                           ...qemuArgs],
                      { VMSCOPE_DASHBOARD_DIR: opt.dashboard });
  let base, livePath, page;
  const consoleErrors = [];

  // Each step builds on the ones before: stop at the first that fails.
  if (!await step('agent serves HTTP and lists the device host', async () => {
    base = await agentURL(agent);
    log(`agent at ${base}`);
    await until(`/api/hosts to list ${HOST} alive`, async () =>
      (await getJSON(base, 'api/hosts')).some((x) => x.name === HOST && x.alive));
    await until(`/api/devices to list devices of ${HOST}`, async () =>
      (await getJSON(base, 'api/devices')).some((d) => d.host === HOST));
  })) return;

  events = collectEvents(base);
  if (!await step('a device of the host changes (DEVICE_STATE_CHANGED)', async () => {
    const ours = () => events.filter((e) => e.name === 'DEVICE_STATE_CHANGED' &&
                                            e.msg.data?.path?.startsWith(`/${HOST}/`));
    await until(`a DEVICE_STATE_CHANGED event for a device of ${HOST}`, () => {
      if (events.error) throw events.error;
      return ours().length > 0;
    });
    // Watch the page on the device that changes most often.
    await sleep(3000);
    const counts = new Map();
    for (const e of ours()) counts.set(e.msg.data.path, (counts.get(e.msg.data.path) ?? 0) + 1);
    livePath = [...counts].sort((a, b) => b[1] - a[1])[0][0];
    const last = ours().filter((e) => e.msg.data.path === livePath).pop();
    log(`events in 3 s: ${JSON.stringify(Object.fromEntries(counts))}`);
    log(`live device: ${livePath}, e.g. changed: ${JSON.stringify(last.msg.data.changed)}`);
  })) return;

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vmscope-e2e-chromium-'));
  tmpdirs.push(profile);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: opt.chromium,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
    log(`  console.${m.type()}| ${m.text()}`);
  });
  page.on('pageerror', (e) => { consoleErrors.push(`uncaught: ${e.message}`); log(`  pageerror| ${e.message}`); });
  // Remember every time the error banner shows, however briefly.
  await page.addInitScript(() => {
    window.__bannerLog = [];
    addEventListener('DOMContentLoaded', () => {
      const banner = document.querySelector('[data-testid=error-banner]');
      if (!banner) { window.__bannerLog.push('no error banner element: is this the dashboard?'); return; }
      new MutationObserver(() => {
        if (!banner.hidden) window.__bannerLog.push(banner.textContent.trim());
      }).observe(banner, { attributes: true, childList: true, subtree: true });
    });
  });

  screenshotPage = (file) => page.screenshot({ path: file, fullPage: true });
  pageProblems = async () => {
    if (consoleErrors.length) return `console error: ${consoleErrors.join(' | ')}`;
    const banners = await page.evaluate(() => window.__bannerLog ?? []);
    return banners.length ? `error banner: ${banners.join(' | ')}` : null;
  };

  if (!await step('the page lists the host as alive and the event stream is live', async () => {
    await page.goto(base);
    await page.waitForSelector(`[data-testid=host][data-host="${HOST}"][data-alive=true]`);
    await page.waitForSelector('[data-testid=stream-status][data-state=live]');
    await page.waitForSelector(`[data-testid=device][data-path="${livePath}"]`);
    await screenshot(page, '01-hosts');
  })) return;

  if (!await step('uint64 values survive JSON parsing in the page', async () => {
    const v = await page.evaluate(async () =>
      (await import(new URL('api.js', location.href).href))
        .parseJSON('{"v": 18446744073709551615}').v.toString());
    assert(v === '18446744073709551615', `parsed as ${v}`);
  })) return;

  if (!await step(`opening ${livePath} shows its state tree`, async () => {
    await page.click(`[data-testid=device][data-path="${livePath}"]`);
    await page.waitForFunction((p) =>
      document.querySelector('[data-testid=device-title]')?.textContent === p, livePath);
    await page.waitForSelector('[data-testid=state-tree] [data-testid=field-value]');
    await page.click('[data-testid=expand-all]');
    const n = Object.keys(await treeValues(page)).length;
    assert(n > 0, 'no values in the tree');
    log(`${n} values in the tree`);
    await screenshot(page, '02-state');
  })) return;

  if (!await step('a value in the tree changes live, without reloading', async () => {
    await page.evaluate(() => { window.__samePage = true; });
    const before = await treeValues(page);
    // A value that changed, or one that came or went (an array that grew).
    const changed = await page.waitForFunction((old) => {
      const now = Object.fromEntries([...document.querySelectorAll(
        '[data-testid=state-tree] [data-testid=field-value]')]
        .map((e) => [e.closest('[data-path]').dataset.path, e.textContent]));
      for (const p of new Set([...Object.keys(old), ...Object.keys(now)]))
        if (old[p] !== now[p]) return `${p}: ${old[p] ?? '(none)'} -> ${now[p] ?? '(gone)'}`;
      return false;
    }, before, { timeout: STEP_MS, polling: 100 });
    log(`changed: ${await changed.jsonValue()}`);
    assert(await page.evaluate(() => window.__samePage === true), 'the page was reloaded');
    await screenshot(page, '03-live-update');
  })) return;

  if (!await step('the Pretty tab shows the pretty-printed state', async () => {
    await page.click('[data-testid=tab-pretty]');
    await page.waitForSelector('[data-testid=pretty-view][data-state=loaded]', { state: 'visible' });
    const text = await page.textContent('[data-testid=pretty-view]');
    assert(text.trim().length > 0, 'empty pretty text');
    await screenshot(page, '04-pretty');
  })) return;

  if (!await step('the Schema tab lists the fields, and the tree shows their types', async () => {
    await page.click('[data-testid=tab-schema]');
    await page.waitForSelector('[data-testid=schema-view][data-state=loaded]', { state: 'visible' });
    const rows = await page.locator('[data-testid=schema-field]').count();
    assert(rows > 0, 'no fields in the schema view');
    const [, host, id] = livePath.split('/');
    const schema = await getJSON(base, `api/devices/${host}/${id}/schema`);
    const types = new Set((schema.schema?.fields ?? []).map((f) => f.type));
    const shown = await page.$$eval('[data-testid=field-type]', (els) => els.map((e) => e.textContent));
    assert(shown.some((t) => types.has(t) || types.has(t.replace(/\[\d+\]$/, ''))),
      `no type from the schema (${[...types].join(', ')}) in the tree (${[...new Set(shown)].join(', ')})`);
    await screenshot(page, '05-schema');
  })) return;

  if (!await step('a snapshot compared with now lists changed paths, old -> new', async () => {
    await page.click('[data-testid=tab-state]');
    await page.click('[data-testid=snapshot-btn]');
    await page.waitForFunction(() => document.querySelector('[data-testid=snapshot-info]').textContent !== '');
    const gen = await page.getAttribute('[data-testid=device-meta]', 'data-generation');
    // Compare once the device has moved on; again if that change was undone.
    await until('a comparison with at least one changed path', async () => {
      await page.waitForFunction((g) => BigInt(document.querySelector('[data-testid=device-meta]')
        .dataset.generation || 0) > BigInt(g), gen, { timeout: STEP_MS });
      await page.click('[data-testid=compare-btn]');
      await page.waitForSelector('[data-testid=diff-summary]', { state: 'visible' });
      return await page.locator('[data-testid=diff-row]').count() > 0;
    });
    const row = await page.textContent('[data-testid=diff-row]');
    assert(row.includes('→'), `diff row without an arrow: ${row}`);
    log(`first diff row: ${row}`);
    await screenshot(page, '06-diff');
  })) return;

  let devhost2;
  if (!await step('a second host appears live, and is shown lost when killed', async () => {
    devhost2 = start('devhost2', opt.devhost, ['--name', HOST2]);
    const card = `[data-testid=host][data-host="${HOST2}"]`;
    await page.waitForSelector(`${card}[data-alive=true] [data-testid=device]`);
    await screenshot(page, '07-second-host');
    await stop(devhost2, 'SIGKILL');
    await page.waitForSelector(`${card}[data-alive=false] [data-testid=host-error]`);
    log(`lost host shows: ${await page.textContent(`${card} [data-testid=host-error]`)}`);
    await screenshot(page, '08-host-lost');
  })) return;

  if (opt.qemu && !await step('a QEMU host: kind badge, devices, live state and pause; one without shared RAM says why', async () => {
    const card = `[data-testid=host][data-host="${VM}"]`;
    await page.waitForSelector(`${card}[data-kind=qemu][data-alive=true] [data-testid=device][data-path="/${VM}/serial"]`,
                               { timeout: 60_000 });
    assert(await page.textContent(`${card} [data-testid=host-kind]`) === 'qemu', 'no qemu badge');
    await page.click(`[data-testid=device][data-path="/${VM}/serial"]`);
    await page.click('[data-testid=tab-state]');
    await page.waitForFunction((p) =>
      document.querySelector('[data-testid=device-title]')?.textContent === p, `/${VM}/serial`);
    await page.waitForSelector('[data-testid=state-tree] [data-testid=field-value]');
    await page.waitForFunction(() => /pause \d+\.\d\d ms/.test(
      document.querySelector('[data-testid=device-meta]')?.textContent ?? ''));
    const meta = await page.textContent('[data-testid=device-meta]');
    log(`QEMU device meta: ${meta}`);
    await page.waitForSelector(`${card} [data-testid=host-meta]`);
    const card2 = `[data-testid=host][data-host="${VM2}"]`;
    await page.waitForSelector(`${card2}[data-kind=qemu] [data-testid=host-reason]`);
    const reason = await page.textContent(`${card2} [data-testid=host-reason]`);
    assert(reason.includes('no descriptions'), `reason: ${reason}`);
    log(`QEMU host without shared RAM: ${reason}`);
    await screenshot(page, '09-qemu');
  })) return;
  if (!opt.qemu) log('no QEMU (--qemu is empty): the QEMU host step is skipped');

  if (!await step('narrow screens get one column', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    await page.click('[data-testid=tab-state]');
    await screenshot(page, '10-narrow');
  })) return;

  if (!await step('no error banner and no console error on the way', async () => {
    const problem = await pageProblems();
    assert(!problem, problem);
    assert(!await page.isVisible('[data-testid=error-banner]'), 'the error banner is showing');
  })) return;

}

async function cleanup() {
  events?.close();
  if (browser) await browser.close().catch(() => {});
  browser = null;
  for (const c of children.reverse()) await stop(c);
  for (const name of [HOST, HOST2]) fs.rmSync(`/dev/shm/vmscope-${name}`, { force: true });
  for (const d of tmpdirs) fs.rmSync(d, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => { cleanup().finally(() => process.exit(1)); });

try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - ${e.stack}`);
} finally {
  await cleanup();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
