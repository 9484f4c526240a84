// Shows whether each backend is ready, from its /readyz answer:
// {"status": "ready", "databases": {"<name>": "ok"}}, or HTTP 503 saying what failed.
// nginx proxies /api/ to the first backend and /api/<name>/ to each backend.
'use strict';

const REFRESH_MS = 5000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    if (child != null) node.append(child);
  }
  return node;
}

async function checkReady(url) {
  try {
    const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    const body = await res.json().catch(() => null);
    if (!body || typeof body !== 'object') {
      return { ok: false, code: res.status, error: `HTTP ${res.status}, not a JSON answer` };
    }
    return { ok: res.ok, code: res.status, body };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function describe(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function renderBackend(name, url, result) {
  const body = result.body || {};
  const status = body.status || (result.ok ? 'ready' : 'unreachable');
  const error = result.error || body.error || body.errors;
  const card = el('div', { class: 'backend' },
    el('h3', {}, el('code', {}, name), ' ', el('span', { class: `badge ${result.ok ? 'ok' : 'bad'}` }, status)),
    el('p', { class: 'muted' }, el('code', {}, `GET ${url}`), result.code ? ` → HTTP ${result.code}` : ''),
  );
  if (error) card.append(el('p', { class: 'error' }, describe(error)));
  const databases = Object.entries(body.databases || {});
  if (databases.length) {
    const list = el('ul', { class: 'databases' });
    for (const [db, state] of databases) {
      const ok = state === 'ok';
      list.append(el('li', { class: ok ? 'ok' : 'bad' },
        el('span', { class: 'dot' }), el('code', {}, db), el('span', {}, ok ? 'ok' : describe(state))));
    }
    card.append(list);
  } else if (result.body) {
    card.append(el('p', { class: 'muted' }, 'This backend reports no database.'));
  }
  return card;
}

async function refresh(backends, section) {
  const targets = backends.map((name, i) => ({ name, url: i === 0 ? '/api/readyz' : `/api/${name}/readyz` }));
  const results = await Promise.all(targets.map((t) => checkReady(t.url)));
  const when = el('p', { class: 'muted' }, `Checked at ${new Date().toLocaleTimeString()}, every ${REFRESH_MS / 1000} s.`);
  section.replaceChildren(el('h2', {}, 'Backend readiness'), when,
    ...targets.map((t, i) => renderBackend(t.name, t.url, results[i])));
}

document.addEventListener('DOMContentLoaded', () => {
  const backends = (document.body.dataset.backends || '').split(/\s+/).filter(Boolean);
  const section = document.getElementById('status');
  if (!backends.length || !section) return;
  refresh(backends, section);
  setInterval(() => refresh(backends, section), REFRESH_MS);
});
