// api.js: how the dashboard talks to vmscope-agent (docs/dashboard.md lists
// the endpoints).  URLs are relative so that the page also works when the
// agent is reached through a proxy under some prefix.

// Device state carries uint64 values; a double would round 2^64-1, so an
// integer literal that no double holds exactly becomes a BigInt.  This needs
// the reviver's source text (Chromium >= 114, Firefox >= 135); elsewhere the
// value stays a rounded number.
export function parseJSON(text) {
  return JSON.parse(text, (key, value, ctx) =>
    typeof value === 'number' && !Number.isSafeInteger(value) &&
    ctx && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : value);
}

export class ApiError extends Error {
  constructor(message, status = 0, errorClass = '') {
    super(message);
    this.status = status;
    this.errorClass = errorClass;
  }
}

async function request(url, accept) {
  let res;
  try {
    res = await fetch(url, { headers: { Accept: accept }, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(`GET /${url}: ${e.message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    // The agent explains failures as {"error": {"class", "desc"}}.
    let desc = text.trim() || res.statusText, cls = '';
    try {
      const err = JSON.parse(text).error;
      if (err?.desc) ({ desc, class: cls = '' } = err);
    } catch { /* not JSON: keep the raw text */ }
    throw new ApiError(`GET /${url}: ${res.status} ${cls ? cls + ': ' : ''}${desc}`,
                       res.status, cls);
  }
  return text;
}

async function getJSON(url) {
  const text = await request(url, 'application/json');
  try {
    return parseJSON(text);
  } catch (e) {
    throw new ApiError(`GET /${url}: invalid JSON: ${e.message}`);
  }
}

function deviceURL(path, what) {
  // "/h1/serial0" -> "api/devices/h1/serial0/<what>"
  const parts = path.split('/').filter(Boolean).map(encodeURIComponent);
  return `api/devices/${parts.join('/')}/${what}`;
}

export const api = {
  hosts: () => getJSON('api/hosts'),
  devices: () => getJSON('api/devices'),
  state: (path) => getJSON(deviceURL(path, 'state')),
  pretty: (path) => request(deviceURL(path, 'state') + '?format=pretty', 'text/plain'),
  schema: (path) => getJSON(deviceURL(path, 'schema')),
};

// Subscribes to the agent's Server-Sent Events.  handlers maps an event name
// to fn(data, wholeEvent); onStatus(state, detail) hears 'open' and 'error'.
// EventSource retries by itself after a dropped connection but gives up for
// good when the server answers with an error, so then we start over, waiting
// longer each time.
export function subscribeEvents(handlers, onStatus) {
  let source = null, delay = 1000;
  const connect = () => {
    source = new EventSource('api/events');
    source.onopen = () => { delay = 1000; onStatus('open'); };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        onStatus('error', 'GET /api/events: lost the event stream from the agent; reconnecting');
        return;
      }
      onStatus('error', `GET /api/events: the agent refused the event stream; retrying in ${delay / 1000} s`);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (ev) => {
        let msg;
        try {
          msg = parseJSON(ev.data);
        } catch (e) {
          onStatus('bad-event', `${name}: invalid JSON in event: ${e.message}`);
          return;
        }
        fn(msg.data ?? {}, msg);
      });
    }
  };
  // Leaving the page closes the stream, which is no error worth showing.
  addEventListener('pagehide', () => source?.close());
  addEventListener('pageshow', (ev) => { if (ev.persisted) connect(); });
  connect();
}
