/**
 * The pages' script, served as `/assets/dashboard.js` (plain browser JavaScript, no build step).
 *
 * - Asks `confirm(form.dataset.confirm)` before submitting a form that has `data-confirm`.
 * - Listens to `/api/events` (EventSource); after three failed connections, or without
 *   EventSource, polls `/api/snapshot` every `body[data-fallback-poll-ms]` instead.
 * - Applies events: `text` values go into `[data-field]` (`[data-step-field]` in step rows)
 *   inside `[data-execution-id]` / `[data-instance-id]`, fractions into
 *   `progress[data-progress-for="execution:ID" | "instance:ID" | "step:ID"]`.
 * - When something appears, disappears or changes status, it re-fetches the page and swaps the
 *   `[data-live-region]` elements whose `data-watch` names it (`executions`, `execution:ID`,
 *   `instances`, `instance:ID`), keeping open `<details>` open.
 * - Shows its state in `[data-live-state]` and `body[data-live-mode]` (connecting, live,
 *   reconnecting, polling, paused); `[data-live-toggle]` pauses and resumes.
 */
export const CLIENT_SCRIPT = String.raw`(() => {
  'use strict';
  const body = document.body;
  const base = body.dataset.basePath || '';
  const fallbackMs = Number(body.dataset.fallbackPollMs) || 5000;
  const RUNNING = ['STARTING', 'STARTED', 'STOPPING'];
  const ACTIVE = ['QUEUED', 'IN_PROGRESS', 'ERRORED', 'FINALIZE'];
  const stateEl = document.querySelector('[data-live-state]');
  const toggle = document.querySelector('[data-live-toggle]');
  const lastStatus = new Map();
  let source = null;
  let pollTimer = null;
  let failures = 0;
  let paused = false;

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const message = form.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  function setMode(mode, text) {
    body.dataset.liveMode = mode;
    if (stateEl) {
      stateEl.dataset.liveState = mode;
      stateEl.textContent = text;
    }
  }

  const quote = (value) => '"' + (window.CSS && CSS.escape ? CSS.escape(String(value)) : String(value).replace(/["\\]/g, '\\$&')) + '"';
  const all = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function setFields(root, attribute, text) {
    if (!text) return;
    for (const name of Object.keys(text)) {
      for (const el of all('[' + attribute + '=' + quote(name) + ']', root)) {
        if (el.textContent !== text[name]) el.textContent = text[name];
        if (name === 'status') el.dataset.status = text[name];
      }
    }
  }

  function setProgress(key, fraction) {
    for (const bar of all('progress[data-progress-for=' + quote(key) + ']')) {
      if (fraction === null || fraction === undefined) bar.removeAttribute('value');
      else bar.value = Math.round(fraction * 1000) / 10;
    }
  }

  // ---- live regions ------------------------------------------------------------------------
  const pending = new Set();
  let refreshTimer = null;
  let refreshing = false;

  function refresh(tokens) {
    for (const region of all('[data-live-region][id]')) {
      const watch = (region.dataset.watch || '').split(/\s+/);
      if (tokens.some((token) => watch.includes(token))) pending.add(region.id);
    }
    if (pending.size && !refreshTimer) refreshTimer = setTimeout(runRefresh, 250);
  }

  async function runRefresh() {
    refreshTimer = null;
    if (refreshing) {
      refreshTimer = setTimeout(runRefresh, 250);
      return;
    }
    const ids = Array.from(pending);
    pending.clear();
    refreshing = true;
    try {
      const response = await fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const id of ids) {
        const current = document.getElementById(id);
        const next = doc.getElementById(id);
        if (!current || !next) continue;
        const open = all('details[id][open]', current).map((d) => d.id);
        const replacement = document.importNode(next, true);
        current.replaceWith(replacement);
        for (const detailsId of open) {
          const details = document.getElementById(detailsId);
          if (details) details.open = true;
        }
      }
      document.dispatchEvent(new CustomEvent('tsbatch:refreshed', { detail: { regions: ids } }));
    } catch (error) {
      // The next event or poll tries again.
    } finally {
      refreshing = false;
    }
  }

  // ---- events ------------------------------------------------------------------------------
  // An execution or an instance changed: update its rows in place; when its status changed (or it
  // is not on the page yet), re-render the regions that list it.
  function onEntity(kind, listRegion, d) {
    const key = kind + ':' + d.id;
    const rows = all('[data-' + kind + '-id=' + quote(d.id) + ']');
    const known = lastStatus.get(key);
    lastStatus.set(key, d.status);
    if (rows.length === 0) {
      if (known !== d.status) refresh([listRegion]);
      return;
    }
    let changed = false;
    for (const row of rows) {
      if (row.dataset.status && row.dataset.status !== d.status) changed = true;
      row.dataset.status = d.status;
      setFields(row, 'data-field', d.text);
    }
    if (changed) refresh([key, listRegion]);
  }

  function onExecution(d) {
    onEntity('execution', 'executions', d);
  }

  function onProgress(d) {
    const key = 'execution:' + d.executionId;
    setProgress(key, d.percentageComplete);
    if (d.stepExecutionId !== null) setProgress('step:' + d.stepExecutionId, d.percentageComplete);
    for (const row of all('[data-execution-id=' + quote(d.executionId) + ']')) setFields(row, 'data-field', d.text);
    const table = document.querySelector('[data-steps-for=' + quote(d.executionId) + ']');
    if (!table) return;
    for (const step of d.steps) {
      const row = table.querySelector('tr[data-step-id=' + quote(step.id) + ']');
      if (!row) {
        refresh([key]);
        continue;
      }
      const before = row.dataset.status;
      row.dataset.status = step.status;
      setFields(row, 'data-step-field', step.text);
      if (before !== step.status) refresh([key]);
    }
  }

  function onInstance(d) {
    setProgress('instance:' + d.id, d.progress);
    onEntity('instance', 'instances', d);
  }

  function apply(type, data) {
    if (paused) return;
    if (type === 'execution') onExecution(data);
    else if (type === 'progress') onProgress(data);
    else if (type === 'instance') onInstance(data);
  }

  /** What this page shows that may still change: sent so the first events cover it. */
  function watchList() {
    const tokens = new Set();
    for (const el of all('[data-execution-id][data-status]')) if (RUNNING.includes(el.dataset.status)) tokens.add('execution:' + el.dataset.executionId);
    for (const el of all('[data-instance-id][data-status]')) if (ACTIVE.includes(el.dataset.status)) tokens.add('instance:' + el.dataset.instanceId);
    for (const el of all('[data-live-region][data-watch]')) for (const token of el.dataset.watch.split(/\s+/)) if (token.includes(':')) tokens.add(token);
    return Array.from(tokens).slice(0, 100).join(',');
  }

  // ---- transport ---------------------------------------------------------------------------
  function connect() {
    if (!('EventSource' in window)) return startPolling();
    setMode('connecting', 'Connecting…');
    source = new EventSource(base + '/api/events?watch=' + encodeURIComponent(watchList()));
    source.addEventListener('open', () => {
      failures = 0;
      setMode('live', 'Live');
    });
    for (const type of ['execution', 'progress', 'instance']) {
      source.addEventListener(type, (event) => {
        try {
          apply(type, JSON.parse(event.data));
        } catch (error) {
          // A malformed event is skipped.
        }
      });
    }
    source.addEventListener('error', () => {
      failures += 1;
      if (!source) return;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        source = null;
        startPolling();
      } else {
        setMode('reconnecting', 'Reconnecting…');
      }
    });
  }

  function startPolling() {
    setMode('polling', 'Updating every ' + Math.round(fallbackMs / 1000) + ' s');
    poll();
  }

  async function poll() {
    clearTimeout(pollTimer);
    try {
      const response = await fetch(base + '/api/snapshot?watch=' + encodeURIComponent(watchList()), { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (response.ok) {
        const snapshot = await response.json();
        for (const event of snapshot.events) apply(event.type, event.data);
      }
    } catch (error) {
      // Try again at the next tick.
    }
    if (!paused) pollTimer = setTimeout(poll, fallbackMs);
  }

  function stop() {
    if (source) source.close();
    source = null;
    clearTimeout(pollTimer);
  }

  if (toggle) {
    toggle.addEventListener('click', () => {
      paused = !paused;
      toggle.setAttribute('aria-pressed', String(paused));
      toggle.textContent = paused ? 'Resume live updates' : 'Pause live updates';
      if (paused) {
        stop();
        setMode('paused', 'Paused');
      } else {
        failures = 0;
        connect();
      }
    });
  }

  window.addEventListener('pagehide', stop);
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && !paused) connect();
  });
  window.tsbatchDashboard = { apply, refresh, mode: () => body.dataset.liveMode };
  connect();
})();
`;
