// charon-auth demo page: the cookie transports from a browser's point of view.
//
// Tokens live in this closure only (never in localStorage, sessionStorage or window):
// - cookie (split token): the body carries `header.payload` of each token, kept here; the
//   signature sits in an HttpOnly cookie that this script cannot read. Requests send
//   `Authorization: Bearer header.payload` and the browser adds the cookie.
// - cookie_only: whole tokens in HttpOnly cookies; the body carries none. Unsafe requests
//   send `x-csrf-protect: 1` (the server also accepts `Sec-Fetch-Site: same-origin`).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const RESUME = 'charon-demo.resume-cookie-only';

  const state = {
    transport: null, // 'cookie' | 'cookie_only' | null when signed out
    access: null, // access token header.payload (cookie transport only)
    refresh: null, // refresh token header.payload (cookie transport only)
    accessExp: null, // unix seconds
    refreshExp: null,
    refreshes: 0,
    timer: null,
    inflight: null, // the running refresh, so the timer and a 401 share one
  };

  // ---- requests -------------------------------------------------------------------------

  function log(line) {
    const el = $('log');
    const t = new Date().toLocaleTimeString([], { hour12: false });
    el.textContent = `${t}  ${line}\n` + el.textContent;
  }

  async function call(method, path, token, body) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (method !== 'GET') headers['x-csrf-protect'] = '1';
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      log(`${method} ${path} -> network error: ${e}`);
      return { status: 0, json: null, error: String(e) };
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    const error = json && json.error ? json.error : null;
    log(`${method} ${path} -> ${response.status}${error ? ` (${error})` : ''}`);
    return { status: response.status, json, error };
  }

  // A call with the access token; on 401 refresh once and retry.
  async function api(method, path) {
    const first = await call(method, path, state.access);
    if (first.status !== 401 || !state.transport) return first;
    log(`access token rejected (${first.error || 'no reason'}): refreshing`);
    if (!(await refresh('401'))) return first;
    return call(method, path, state.access);
  }

  function refresh(reason) {
    if (!state.inflight) {
      state.inflight = doRefresh(reason).finally(() => { state.inflight = null; });
    }
    return state.inflight;
  }

  async function doRefresh(reason) {
    if (!state.transport) return false;
    const r = await call('POST', '/refresh', state.refresh);
    if (r.status !== 200) {
      signedOut(`refresh failed: ${r.error || r.status}`);
      return false;
    }
    state.refreshes += 1;
    applyTokens(r.json);
    log(`refreshed (${reason}); access token valid until ${clock(state.accessExp)}`);
    render();
    loadMetrics();
    return true;
  }

  function applyTokens(body) {
    state.access = body.access_token || null;
    state.refresh = body.refresh_token || null;
    state.accessExp = body.access_token_exp;
    state.refreshExp = body.refresh_token_exp;
    schedule();
  }

  // Refresh a little before the access token (and its cookie, whose Max-Age is the token
  // TTL) runs out: 20 % of its lifetime ahead, between 1 and 30 seconds.
  function schedule() {
    clearTimeout(state.timer);
    state.timer = null;
    if (!state.transport || !state.accessExp || !$('auto-refresh').checked) return;
    const left = state.accessExp - Date.now() / 1000;
    const lead = Math.min(30, Math.max(1, left * 0.2));
    state.timer = setTimeout(() => refresh('timer'), Math.max(250, (left - lead) * 1000));
  }

  // ---- actions --------------------------------------------------------------------------

  async function login(event) {
    event.preventDefault();
    const transport = $('transport').value;
    const userId = $('user-id').value.trim();
    const device = $('device').value.trim();
    $('login-btn').disabled = true;
    const body = { user_id: userId, transport };
    if (device) body.device = device;
    const r = await call('POST', '/login', null, body);
    $('login-btn').disabled = false;
    if (r.status !== 200) {
      showMe(r);
      return;
    }
    state.transport = transport;
    state.refreshes = 0;
    applyTokens(r.json);
    // Not a secret: only whether a reload should look for a cookie_only session.
    if (transport === 'cookie_only') sessionStorage.setItem(RESUME, '1');
    await loadMe();
    await loadSessions();
    loadMetrics();
  }

  function showMe(r) {
    const s = $('me-status');
    s.textContent = r.status ? `HTTP ${r.status}` : 'network error';
    s.className = `status ${r.status === 200 ? 'ok' : 'bad'}`;
    $('me-result').textContent = r.json ? JSON.stringify(r.json, null, 2) : '';
  }

  async function loadMe() {
    const r = await api('GET', '/me');
    showMe(r);
    if (r.status === 200) {
      state.me = r.json;
      render();
    }
    return r;
  }

  async function loadSessions() {
    if (!state.transport) return;
    const r = await api('GET', '/sessions');
    const body = $('sessions');
    body.replaceChildren();
    if (r.status !== 200 || !Array.isArray(r.json)) return;
    for (const s of r.json) {
      const tr = document.createElement('tr');
      tr.dataset.sessionId = s.session_id;
      const meta = s.metadata || {};
      const id = document.createElement('td');
      id.className = 'mono';
      id.textContent = s.session_id;
      tr.appendChild(id);
      // Metadata is what the login sent: text only, never markup.
      const device = document.createElement('td');
      device.className = 'device';
      device.textContent = meta.device || '(unnamed)';
      if (meta.user_agent) {
        const agent = document.createElement('small');
        agent.textContent = meta.user_agent;
        device.appendChild(agent);
      }
      tr.appendChild(device);
      for (const text of [
        clock(s.created_at),
        clock(s.refreshed_at),
        clock(s.refresh_expires_at),
        s.expires_at == null ? 'never' : clock(s.expires_at),
      ]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      const mark = document.createElement('td');
      if (s.current) {
        const b = document.createElement('span');
        b.className = 'badge';
        b.textContent = 'this browser';
        mark.appendChild(b);
      } else {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'danger small signout-btn';
        b.textContent = 'Sign out';
        b.addEventListener('click', () => signOutDevice(s.session_id, b));
        mark.appendChild(b);
      }
      tr.appendChild(mark);
      body.appendChild(tr);
    }
  }

  // "Sign out that device": end another of this user's sessions (DELETE /sessions/{id}).
  async function signOutDevice(sessionId, button) {
    button.disabled = true;
    const r = await api('DELETE', `/sessions/${encodeURIComponent(sessionId)}`);
    log(r.status === 204 ? `signed out session ${sessionId}`
      : `could not sign out session ${sessionId} (${r.error || r.status})`);
    await loadSessions();
    loadMetrics();
  }

  async function logout() {
    const r = await api('POST', '/logout');
    if (r.status === 204) signedOut('logged out');
    loadMetrics();
  }

  async function logoutAll() {
    const r = await api('POST', '/logout-all');
    if (r.status === 204) signedOut('logged out everywhere');
    loadMetrics();
  }

  async function callMe() {
    // Signed out, this still tries: with no token in memory and the cookies cleared by
    // the logout response, the server answers 401.
    await loadMe();
    loadMetrics();
  }

  function signedOut(why) {
    clearTimeout(state.timer);
    sessionStorage.removeItem(RESUME);
    Object.assign(state, {
      transport: null, access: null, refresh: null, accessExp: null, refreshExp: null,
      timer: null, me: null,
    });
    log(why);
    $('sessions').replaceChildren();
    render();
  }

  // ---- metrics --------------------------------------------------------------------------

  // Prometheus text: `name{labels} value`; keep the charon_* series.
  function parseMetrics(text) {
    const out = [];
    for (const line of text.split('\n')) {
      const m = /^(charon_[A-Za-z0-9_]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
      if (m) out.push({ name: m[1], labels: m[2] || '', value: Number(m[3]) });
    }
    out.sort((a, b) => (a.name + a.labels).localeCompare(b.name + b.labels));
    return out;
  }

  async function loadMetrics() {
    let text;
    try {
      const r = await fetch('/metrics', { cache: 'no-store' });
      text = await r.text();
    } catch (_) {
      return;
    }
    // The live charts (charts.js) draw from the same text.
    document.dispatchEvent(new CustomEvent('charon-metrics', { detail: text }));
    // The table lists the counters; the histograms' series are charted, not listed.
    const rows = parseMetrics(text).filter((s) => s.name.endsWith('_total'));
    const body = $('metrics');
    body.replaceChildren();
    for (const s of rows) {
      const tr = document.createElement('tr');
      tr.dataset.counter = s.name;
      tr.dataset.labels = s.labels;
      const name = document.createElement('td');
      name.className = 'mono';
      name.textContent = s.name.replace(/^charon_/, '').replace(/_total$/, '');
      const labels = document.createElement('td');
      labels.className = 'mono';
      labels.textContent = s.labels.replace(/"/g, '').replace(/,/g, ', ');
      const value = document.createElement('td');
      value.className = 'num';
      value.textContent = String(s.value);
      tr.append(name, labels, value);
      body.appendChild(tr);
    }
    $('metrics-note').textContent = rows.length
      ? `${rows.length} series; charon_<event>_total, polled every 2 s`
      : 'no charon_* counters yet (they appear with the first event)';
  }

  // ---- rendering ------------------------------------------------------------------------

  function clock(unix) {
    if (unix == null) return '?';
    const d = new Date(unix * 1000);
    const time = d.toLocaleTimeString([], { hour12: false });
    return d.toDateString() === new Date().toDateString()
      ? time : `${d.toISOString().slice(0, 10)} ${time}`;
  }

  function span(secs) {
    if (secs < 120) return `${secs} s`;
    if (secs < 7200) return `${Math.round(secs / 60)} min`;
    if (secs < 172800) return `${Math.round(secs / 3600)} h`;
    return `${Math.round(secs / 86400)} d`;
  }

  function countdown(unix) {
    if (unix == null) return 'unknown (page reloaded)';
    const left = Math.round(unix - Date.now() / 1000);
    return `${clock(unix)} (${left > 0 ? `in ${span(left)}` : `${span(-left)} ago`})`;
  }

  function render() {
    const inside = Boolean(state.transport);
    document.body.dataset.state = inside ? 'signed-in' : 'signed-out';
    $('signed-in').hidden = !inside;
    $('signed-out').hidden = inside;
    $('sessions-panel').hidden = !inside;
    if (!inside) return;
    const me = state.me || {};
    $('who-user').textContent = me.user_id || '';
    $('who-session').textContent = me.session_id || '';
    $('who-type').textContent = me.session_type || '';
    $('who-transport').textContent = state.transport;
    $('sessions-user').textContent = me.user_id || '';
    $('access-exp').textContent = countdown(state.accessExp);
    $('refresh-exp').textContent = countdown(state.refreshExp);
    $('refresh-count').textContent = String(state.refreshes);
  }

  // ---- start ----------------------------------------------------------------------------

  $('login-form').addEventListener('submit', login);
  $('me-btn').addEventListener('click', callMe);
  $('refresh-btn').addEventListener('click', () => refresh('button'));
  $('logout-btn').addEventListener('click', logout);
  $('logout-all-btn').addEventListener('click', logoutAll);
  $('sessions-btn').addEventListener('click', loadSessions);
  $('auto-refresh').addEventListener('change', schedule);
  setInterval(render, 1000);
  setInterval(loadMetrics, 2000);

  // A cookie_only session survives a reload (its tokens are cookies); a split-token one
  // does not (its header.payload halves lived in the previous page's memory). Probe only
  // after a cookie_only login in this tab, so a plain visit costs no rejected request.
  (async () => {
    if (sessionStorage.getItem(RESUME)) {
      state.transport = 'cookie_only'; // so that a 401 tries the refresh cookie
      const r = await api('GET', '/me');
      if (r.status === 200 && r.json && r.json.transport === 'cookie_only') {
        state.me = r.json;
        log('resumed the cookie_only session');
        await loadSessions();
      } else if (state.transport) {
        signedOut('no cookie_only session to resume');
      }
    }
    render();
    loadMetrics();
  })();
})();
