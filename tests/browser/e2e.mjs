// End-to-end test of the demo page (`GET /` of examples/axum_server.rs) in headless
// Chromium, driven with playwright-core over the DevTools protocol.
//
//   node tests/browser/e2e.mjs      (scripts/browser-test.sh installs and builds first)
//
// Environment:
//   CHARON_DEMO_BIN      the demo server binary (default target/debug/examples/axum_server)
//   CHROMIUM             the browser (default /usr/bin/chromium)
//   CHARON_UPDATE_SCREENSHOT=1  also write docs/demo-signed-in.png and
//                        docs/images/dashboard.png (else only under target/browser-test/)
//
// It starts the demo server on a free loopback port with a 6 s access token TTL, so the
// page's refresh paths run within seconds, and checks for each cookie transport: login,
// that scripts cannot read (or overwrite) the HttpOnly token cookies, /me, refresh (on a
// 401 and by the page's timer), the sessions list, the /metrics counters, logout, and that
// the page can no longer call /me afterwards; then "log out everywhere" across two browsers;
// then "sign out that device" from one browser's sessions list, which stops the other
// browser's next request at once;
// then cookie tossing from a sibling subdomain, refused for the demo's `__Host-` cookie
// names, and locking the user out with Charon's old names (a second server, started with
// CHARON_COOKIE_NAMES=charon); then the live charts: traffic (logins, /me, refreshes,
// rejected tokens, logouts) must show in the page's charts, which are checked against
// /metrics and photographed (dashboard.png, the README's "Telemetry at a glance").
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdirSync, copyFileSync, createWriteStream, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'target', 'browser-test');
const SERVER_BIN = process.env.CHARON_DEMO_BIN || join(ROOT, 'target/debug/examples/axum_server');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACCESS_TTL = 6; // seconds; the builder needs leeway (5 s) < access TTL
// The demo's cookie names (CookieConfig::host_prefixed), and Charon's compatible defaults.
const ACCESS_COOKIE = '__Host-access_token_signature';
const REFRESH_COOKIE = '__Host-refresh_token_signature';
const LEGACY_ACCESS_COOKIE = '_access_token_signature';
const LEGACY_REFRESH_COOKIE = '_refresh_token_signature';
// Two sibling host names under one parent domain, both mapped onto the servers' loopback
// address by Chromium's --host-resolver-rules (see cookieTossing).
const PARENT_DOMAIN = 'charon.localhost';
const APP_HOST = `app.${PARENT_DOMAIN}`;
const EVIL_HOST = `evil.${PARENT_DOMAIN}`;
const WATCHDOG_MS = 180_000;

let passed = 0;
let failed = 0;
const servers = [];
let browser = null;

function ok(name) {
  passed += 1;
  console.log(`ok - ${name}`);
}

function check(cond, name, detail = '') {
  if (!cond) throw new Error(`${name}${detail ? `: ${detail}` : ''}`);
  ok(name);
}

function eq(actual, expected, name) {
  check(actual === expected, name,
    `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// ---- the demo server --------------------------------------------------------------------

// Start a demo server with `env` on top of the test's settings; its log goes to
// target/browser-test/<name>.log.
async function startServer(name = 'server', env = {}) {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`no demo server binary at ${SERVER_BIN}; run ` +
      '`cargo build --example axum_server --features axum,metrics` (scripts/browser-test.sh does)');
  }
  mkdirSync(OUT, { recursive: true });
  const logPath = join(OUT, `${name}.log`);
  const logFile = createWriteStream(logPath);
  const child = spawn(SERVER_BIN, [], {
    env: {
      ...process.env,
      CHARON_DEMO_ADDR: '127.0.0.1:0', // the server prints the port it got
      CHARON_SECRET: `browser-test secret ${process.pid} ${Date.now()} padding padding`,
      CHARON_ACCESS_TTL: String(ACCESS_TTL),
      RUST_LOG: 'info,charon=debug',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.push({ child, logPath });
  child.stderr.pipe(logFile);
  const url = await new Promise((resolveUrl, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('demo server did not start in 30 s')), 30_000);
    child.stdout.on('data', (chunk) => {
      logFile.write(chunk);
      buf += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo server exited early with ${code}`));
    });
  });
  return url;
}

function stopServers() {
  for (const server of servers) {
    if (server.child.exitCode === null) server.child.kill('SIGTERM');
  }
}

async function metricsText(base) {
  const r = await fetch(`${base}/metrics`);
  return r.text();
}

function counter(text, name, labelPart) {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name && (!labelPart || (m[2] || '').includes(labelPart))) {
      total += Number(m[3]);
    }
  }
  return total;
}

// ---- page helpers -----------------------------------------------------------------------

// A fresh browser context (its own cookie jar) with a page on the demo, that records the
// token bodies the server sent it and every script error or CSP violation.
async function openPage(base, name) {
  const context = await browser.newContext({ viewport: { width: 1180, height: 900 } });
  const page = await context.newPage();
  const seen = { tokens: [], problems: [] };
  page.on('pageerror', (e) => seen.problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[01]/.test(m.text())) {
      seen.problems.push(`${name}: console error: ${m.text()}`);
    }
  });
  page.on('response', async (r) => {
    const path = new URL(r.url()).pathname;
    if ((path === '/login' || path === '/refresh') && r.status() === 200) {
      try { seen.tokens.push(await r.json()); } catch (_) { /* page gone */ }
    }
  });
  const res = await page.goto(`${base}/`);
  eq(res.status(), 200, `${name}: GET / serves the page`);
  const csp = res.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'"), `${name}: the page has a Content-Security-Policy`);
  await page.waitForSelector('body[data-state="signed-out"]');
  return { context, page, seen };
}

async function tokenCookies(context, names = [ACCESS_COOKIE, REFRESH_COOKIE]) {
  const all = await context.cookies();
  return {
    access: all.find((c) => c.name === names[0]),
    refresh: all.find((c) => c.name === names[1]),
  };
}

const text = (page, sel) => page.locator(sel).innerText();

async function login(page, user, transport, names = [ACCESS_COOKIE, REFRESH_COOKIE]) {
  await page.fill('#user-id', user);
  await page.selectOption('#transport', transport);
  await page.click('#login-btn');
  await page.waitForSelector('body[data-state="signed-in"]');
  const jar = await tokenCookies(page.context(), names);
  if (!jar.access || !jar.refresh) {
    throw new Error(`Chromium did not store the Secure token cookies on ${page.url()}`);
  }
  await until('the page to show the user', async () => (await text(page, '#who-user')) === user);
}

async function callMe(page, expectStatus) {
  await page.click('#me-btn');
  await until(`/me -> ${expectStatus} on the page`,
    async () => (await text(page, '#me-status')) === `HTTP ${expectStatus}`);
}

// Make #me-status observable again before the next call.
const clearMe = (page) => page.evaluate(() => {
  document.getElementById('me-status').textContent = '';
});

// ---- scenarios --------------------------------------------------------------------------

async function transportFlow(base, transport, screenshot) {
  const user = `alice-${transport}`;
  const t = `[${transport}]`;
  const { context, page, seen } = await openPage(base, t);

  await login(page, user, transport);
  eq(await text(page, '#who-transport'), transport, `${t} the page shows who is signed in`);
  const session = await text(page, '#who-session');
  check(/^\S{8,}$/.test(session), `${t} the page shows the session id`);

  // What the server sent: split halves, or no body tokens at all.
  const issued = seen.tokens[0];
  if (transport === 'cookie') {
    eq(issued.access_token.split('.').length, 2, `${t} body access token is header.payload only`);
    eq(issued.refresh_token.split('.').length, 2, `${t} body refresh token is header.payload only`);
  } else {
    check(issued.access_token === null && issued.refresh_token === null,
      `${t} body carries no tokens`);
  }

  // The cookies exist, with the secure attributes...
  const jar = await tokenCookies(context);
  check(jar.access && jar.refresh, `${t} the browser stored both token cookies`,
    'Chromium refused the Secure cookies on this http://127.0.0.1 origin');
  for (const c of [jar.access, jar.refresh]) {
    check(c.httpOnly && c.secure && c.sameSite === 'Strict' && c.path === '/',
      `${t} ${c.name} is HttpOnly; Secure; SameSite=Strict; Path=/`, JSON.stringify(c));
  }
  if (transport === 'cookie') {
    check(jar.access.value.startsWith('.') && jar.access.value.split('.').length === 2,
      `${t} the access cookie holds only .signature`);
  } else {
    eq(jar.access.value.split('.').length, 3, `${t} the access cookie holds the whole token`);
  }

  // ...but scripts cannot read them, nor overwrite them, and the page keeps no token in
  // storage or in the DOM.
  eq(await page.evaluate(() => document.cookie), '', `${t} document.cookie is empty for scripts`);
  const afterWrite = await page.evaluate((names) => {
    for (const n of names) document.cookie = `${n}=forged; Path=/`;
    return document.cookie;
  }, [ACCESS_COOKIE, REFRESH_COOKIE]);
  const jar2 = await tokenCookies(context);
  check(jar2.access.value === jar.access.value && jar2.refresh.value === jar.refresh.value
    && !afterWrite.includes('forged'),
  `${t} a script cannot overwrite the HttpOnly cookies`, afterWrite);
  // Web storage holds no token: nothing at all, except the cookie_only resume flag.
  const stores = await page.evaluate(() => [localStorage, sessionStorage]
    .flatMap((s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`)));
  const expected = transport === 'cookie_only' ? ['charon-demo.resume-cookie-only=1'] : [];
  eq(JSON.stringify(stores), JSON.stringify(expected),
    `${t} no token in localStorage or sessionStorage`);
  const html = await page.content();
  check(!html.includes(jar.access.value.slice(1)) && !html.includes(jar.refresh.value.slice(1)),
    `${t} no cookie value appears in the DOM`);

  // /me works from the page.
  await clearMe(page);
  await callMe(page, 200);
  const me = JSON.parse(await text(page, '#me-result'));
  check(me.user_id === user && me.transport === transport && me.session_id === session,
    `${t} /me answers for the signed-in session`, JSON.stringify(me));

  // The sessions list marks this browser's session.
  await until('the sessions list', async () => (await page.locator('#sessions tr').count()) >= 1);
  const current = await page.locator('#sessions tr', { hasText: 'this browser' })
    .getAttribute('data-session-id');
  eq(current, session, `${t} the sessions list shows this session as current`);

  if (screenshot) {
    // Wait for the counters to show, then keep a picture of the signed-in page.
    await until('the metrics panel',
      async () => (await page.locator('#metrics tr').count()) >= 2);
    await page.screenshot({ path: screenshot, fullPage: true });
    ok(`${t} screenshot of the signed-in page at ${screenshot}`);
  }

  // Refresh.
  if (transport === 'cookie') {
    // Path 1, the 401: no timer; wait for the access cookie to expire (Max-Age = TTL),
    // then the page's /me gets 401, refreshes and retries.
    await page.uncheck('#auto-refresh');
    await until('the access cookie to expire', async () => !(await tokenCookies(context)).access,
      (ACCESS_TTL + 5) * 1000);
    ok(`${t} the access cookie expired in the browser`);
    await clearMe(page);
    await callMe(page, 200);
    const log = await text(page, '#log');
    check(/GET \/me -> 401/.test(log) && /refreshed \(401\)/.test(log),
      `${t} the page refreshed after /me answered 401 and retried`);
    eq(await text(page, '#refresh-count'), '1', `${t} one refresh`);
  } else {
    // Path 2, the timer: the page refreshes ahead of the access token's expiry.
    await until('the timer refresh',
      async () => (await text(page, '#refresh-count')) === '1', (ACCESS_TTL + 5) * 1000);
    check(/refreshed \(timer\)/.test(await text(page, '#log')),
      `${t} the page refreshed before the access token expired`);
  }
  const jar3 = await tokenCookies(context);
  check(jar3.access && jar3.access.value !== jar.access.value
    && jar3.refresh.value !== jar.refresh.value, `${t} refresh rotated both cookies`);
  await page.click('#refresh-btn');
  await until('the button refresh', async () => (await text(page, '#refresh-count')) === '2');
  ok(`${t} "Refresh now" refreshes`);
  eq(await text(page, '#who-session'), session, `${t} refreshing keeps the session`);
  await clearMe(page);
  await callMe(page, 200);
  eq(await page.evaluate(() => document.cookie), '', `${t} document.cookie still empty after refresh`);
  if (transport === 'cookie_only') {
    // Its tokens are cookies, so the session survives a reload of the page.
    await page.reload();
    await page.waitForSelector('body[data-state="signed-in"]');
    await until('the resumed user', async () => (await text(page, '#who-user')) === user);
    eq(await text(page, '#who-session'), session, `${t} a reload resumes the session`);
  }

  // The live counters on the page match the server's /metrics.
  const m = await metricsText(base);
  const label = `token_transport="${transport}"`;
  check(counter(m, 'charon_token_valid_total', label) >= 3,
    `${t} /metrics counts valid ${transport} tokens`);
  for (const name of ['charon_session_create_total', 'charon_session_refresh_total',
    'charon_token_valid_total']) {
    await until(`the page's ${name}`, async () => {
      const shown = await page.locator(`#metrics tr[data-counter="${name}"] td.num`).allInnerTexts();
      return shown.reduce((a, v) => a + Number(v), 0) >= 1;
    }, 5_000);
  }
  ok(`${t} the page shows the charon_* counters from /metrics`);

  // Logout: the cookies are gone and the page can no longer call /me.
  const latest = seen.tokens[seen.tokens.length - 1];
  await page.click('#logout-btn');
  await page.waitForSelector('body[data-state="signed-out"]');
  ok(`${t} logout returns the page to the sign-in form`);
  const jar4 = await tokenCookies(context);
  check(!jar4.access && !jar4.refresh, `${t} logout cleared both cookies`);
  await clearMe(page);
  await callMe(page, 401);
  ok(`${t} after logout the page's /me gets 401`);
  // Even a script holding the last header.payload halves gets nowhere: the signatures
  // left with the cookies, and the session is gone.
  const replay = await page.evaluate(async ({ access, refresh }) => {
    const h = (t) => (t ? { authorization: `Bearer ${t}` } : {});
    const me = await fetch('/me', { headers: h(access) });
    const rf = await fetch('/refresh', {
      method: 'POST', headers: { ...h(refresh), 'x-csrf-protect': '1' },
    });
    return [me.status, rf.status];
  }, { access: latest.access_token, refresh: latest.refresh_token });
  check(replay[0] === 401 && replay[1] === 401,
    `${t} after logout /me and /refresh from the page get 401`, JSON.stringify(replay));
  const m2 = await metricsText(base);
  check(counter(m2, 'charon_session_delete_total') >= 1, `${t} /metrics counts the logout`);

  check(seen.problems.length === 0, `${t} no script errors or CSP violations`,
    seen.problems.join('; '));
  await context.close();
}

async function logoutEverywhere(base) {
  const t = '[logout-all]';
  const a = await openPage(base, `${t} A`);
  const b = await openPage(base, `${t} B`);
  await login(a.page, 'bob', 'cookie');
  await login(b.page, 'bob', 'cookie_only');
  await a.page.click('#sessions-btn');
  await until('two sessions on A', async () => (await a.page.locator('#sessions tr').count()) === 2);
  ok(`${t} the sessions list shows both browsers' sessions`);

  await b.page.click('#logout-all-btn');
  await b.page.waitForSelector('body[data-state="signed-out"]');
  ok(`${t} "Log out everywhere" signs this browser out`);
  // The other browser's session is gone too: its next refresh fails and signs it out.
  await a.page.click('#refresh-btn');
  await a.page.waitForSelector('body[data-state="signed-out"]');
  check(/refresh failed/.test(await text(a.page, '#log')),
    `${t} the other browser cannot refresh any more and is signed out`);
  const m = await metricsText(base);
  check(counter(m, 'charon_session_delete_all_total') >= 1, `${t} /metrics counts delete_all`);

  // Browser enforcement: a page cannot obtain whole bearer tokens.
  const status = await b.page.evaluate(async () => (await fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'mallory', transport: 'bearer' }),
  })).status);
  eq(status, 400, `${t} a browser login with the bearer transport is refused`);

  const problems = [...a.seen.problems, ...b.seen.problems];
  check(problems.length === 0, `${t} no script errors or CSP violations`, problems.join('; '));
  await a.context.close();
  await b.context.close();
}

// A plain HTTP call from Node (node:http, not fetch: Node's fetch sends `Sec-Fetch-Mode`,
// and the demo refuses bearer logins to browsers). Resolves to { status, json }.
function httpCall(base, method, path, headers = {}, body = undefined) {
  return new Promise((resolveCall, reject) => {
    const req = httpRequest(`${base}${path}`, {
      method, headers: { 'content-type': 'application/json', ...headers },
    }, (res) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { raw += d; });
      res.on('end', () => {
        let json = null;
        try { json = raw ? JSON.parse(raw) : null; } catch (_) { json = null; }
        resolveCall({ status: res.statusCode, json });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

// "Sign out that device": two browsers signed in as one user; the laptop's sessions list
// shows both with their metadata, the laptop clicks "Sign out" on the phone's row, and the
// phone's next request is refused at once (the demo checks sessions on access routes,
// CHARON_ACCESS_REVOCATION=strict by default) although its access token has not expired,
// and the phone's page ends up signed out.
async function signOutThatDevice(base) {
  const t = '[sign out that device]';
  const user = `carol-${Date.now()}`;
  const laptop = await openPage(base, `${t} laptop`);
  const phone = await openPage(base, `${t} phone`);
  await laptop.page.fill('#device', 'laptop');
  await login(laptop.page, user, 'cookie_only');
  await phone.page.fill('#device', 'phone');
  await login(phone.page, user, 'cookie');
  // No timer refresh on the phone: its next request below is the one that must fail.
  await phone.page.uncheck('#auto-refresh');
  const phoneSession = await text(phone.page, '#who-session');
  const laptopSession = await text(laptop.page, '#who-session');

  // The laptop's list: both sessions, with the device names and browsers the logins sent.
  await laptop.page.click('#sessions-btn');
  await until('two sessions on the laptop',
    async () => (await laptop.page.locator('#sessions tr').count()) === 2);
  const phoneRow = laptop.page.locator(`#sessions tr[data-session-id="${phoneSession}"]`);
  const laptopRow = laptop.page.locator(`#sessions tr[data-session-id="${laptopSession}"]`);
  const phoneDevice = await phoneRow.locator('td.device').innerText();
  check(/^phone\b/.test(phoneDevice) && /Chrome\//.test(phoneDevice),
    `${t} the laptop's list shows the phone's device name and browser`, phoneDevice);
  const laptopDevice = await laptopRow.locator('td.device').innerText();
  check(/^laptop\b/.test(laptopDevice) && /this browser/.test(await laptopRow.innerText()),
    `${t} the laptop's own row is marked "this browser"`, laptopDevice);
  eq(await laptopRow.locator('button.signout-btn').count(), 0,
    `${t} no "Sign out" button on the current session's row`);
  const shot = join(OUT, 'sign-out-that-device.png');
  await laptop.page.locator('#sessions-panel').screenshot({ path: shot });
  ok(`${t} screenshot of the laptop's sessions list at ${shot}`);

  // The phone works, with fresh tokens (so its access token is far from expiry below).
  await phone.page.click('#refresh-btn');
  await until('the phone refresh', async () => (await text(phone.page, '#refresh-count')) === '1');
  await clearMe(phone.page);
  await callMe(phone.page, 200);
  ok(`${t} the phone's /me answers 200 before`);

  // The laptop signs the phone out.
  const [deleted] = await Promise.all([
    laptop.page.waitForResponse((r) => r.request().method() === 'DELETE'
      && new URL(r.url()).pathname === `/sessions/${phoneSession}`),
    phoneRow.locator('button.signout-btn').click(),
  ]);
  eq(deleted.status(), 204, `${t} "Sign out" sends DELETE /sessions/{id}, answered 204`);
  await until('one session on the laptop',
    async () => (await laptop.page.locator('#sessions tr').count()) === 1);
  eq(await laptop.page.locator(`#sessions tr[data-session-id="${laptopSession}"]`).count(), 1,
    `${t} the laptop's list now shows only the laptop`);

  // The phone's next access-protected request fails at once, and the page signs out
  // (its refresh is refused too: the session is gone).
  const [me] = await Promise.all([
    phone.page.waitForResponse((r) => new URL(r.url()).pathname === '/me'),
    phone.page.click('#me-btn'),
  ]);
  eq(me.status(), 401, `${t} the phone's next /me answers 401`);
  eq((await me.json()).error, 'session not found',
    `${t} ...because its session is gone, not because its token expired`);
  await phone.page.waitForSelector('body[data-state="signed-out"]');
  const phoneLog = await text(phone.page, '#log');
  check(/GET \/me -> 401 \(session not found\)/.test(phoneLog) && /refresh failed/.test(phoneLog),
    `${t} the phone's page shows the refusal and is signed out`, phoneLog.split('\n').slice(0, 4).join(' | '));

  // The laptop is still signed in.
  await clearMe(laptop.page);
  await callMe(laptop.page, 200);
  ok(`${t} the laptop's /me still answers 200`);

  // HTTP answers with the laptop's cookies (cookie_only: whole tokens in cookies): the
  // phone's session again, and someone else's session, are 404; the other user keeps theirs.
  const jar = await tokenCookies(laptop.context);
  const asLaptop = { cookie: `${ACCESS_COOKIE}=${jar.access.value}`, 'x-csrf-protect': '1' };
  const stranger = await httpCall(base, 'POST', '/login', {},
    { user_id: `${user}-stranger`, transport: 'bearer' });
  eq(stranger.status, 200, `${t} another user signs in (bearer, from an API client)`);
  const asStranger = { authorization: `Bearer ${stranger.json.access_token}` };
  const theirs = await httpCall(base, 'GET', '/sessions', asStranger);
  const strangerSession = theirs.json[0].session_id;
  for (const [sid, what] of [[phoneSession, 'the signed-out phone'], [strangerSession, 'another user']]) {
    const r = await httpCall(base, 'DELETE', `/sessions/${encodeURIComponent(sid)}`, asLaptop);
    eq(r.status, 404, `${t} DELETE /sessions/{id} of ${what}'s session answers 404`);
  }
  eq((await httpCall(base, 'GET', '/me', asStranger)).status, 200,
    `${t} the other user's session is untouched`);
  const m = await metricsText(base);
  check(counter(m, 'charon_session_delete_total') >= 1, `${t} /metrics counts the sign-out`);

  const problems = [...laptop.seen.problems, ...phone.seen.problems];
  check(problems.length === 0, `${t} no script errors or CSP violations`, problems.join('; '));
  await laptop.context.close();
  await phone.context.close();
}

// Cookie tossing: a page on a sibling subdomain plants, for the parent domain, a cookie
// with the token cookie's name. The browser then sends the application two cookies of that
// name, which Charon refuses (400) rather than pick one.
//
// The setup: Chromium maps app.charon.localhost and evil.charon.localhost onto the demo's
// loopback address (--host-resolver-rules in main; it would resolve *.localhost to loopback
// by itself, but maybe to ::1, where the server does not listen). Subdomains of localhost
// on purpose: Chromium counts http://localhost and http://*.localhost as potentially
// trustworthy, i.e. secure contexts, so over plain HTTP it keeps Secure cookies and accepts
// __Host- ones there, as it would on https://app.example.com. Names under .test over
// plain HTTP are not secure contexts: Chromium would refuse every Secure cookie and the
// test would prove nothing. `localhost` is no public suffix, so `Domain=charon.localhost`
// is a parent domain both hosts share, like example.com for app. and evil.example.com.
// The evil page is the demo page served on the sibling name; what it runs is the attack.
async function plant(evilPage, names) {
  return evilPage.evaluate(({ names, domain }) => {
    for (const n of names) {
      document.cookie = `${n}=.planted; Domain=${domain}; Path=/; Secure; SameSite=Lax`;
    }
  }, { names, domain: PARENT_DOMAIN });
}

const planted = async (context) => (await context.cookies())
  .filter((c) => c.value === '.planted').map((c) => `${c.name}; Domain=${c.domain}`);

async function cookieTossing(port, legacyPort) {
  // With the demo's __Host- names: the browser refuses the plant, the app keeps working.
  let t = '[cookie tossing, __Host- names]';
  const app = await openPage(`http://${APP_HOST}:${port}`, t);
  eq(await app.page.evaluate(() => window.isSecureContext), true,
    `${t} http://${APP_HOST} is a secure context`);
  await login(app.page, 'tossed', 'cookie');
  const evil = await app.context.newPage();
  await evil.goto(`http://${EVIL_HOST}:${port}/`);
  eq(await evil.evaluate(() => window.isSecureContext), true,
    `${t} the sibling http://${EVIL_HOST} is a secure context too`);
  await plant(evil, [ACCESS_COOKIE, REFRESH_COOKIE, 'probe']);
  // The control: an unprefixed cookie for the parent domain is stored, so the plant works
  // in this setup and only the prefix stops it.
  eq(JSON.stringify(await planted(app.context)), JSON.stringify([`probe; Domain=.${PARENT_DOMAIN}`]),
    `${t} the browser stores the sibling's parent-domain cookie but refuses the __Host- ones`);
  await clearMe(app.page);
  await callMe(app.page, 200);
  ok(`${t} /me still answers 200 after the plant`);
  const refreshes = Number(await text(app.page, '#refresh-count'));
  await app.page.click('#refresh-btn');
  await until('the refresh after the plant',
    async () => Number(await text(app.page, '#refresh-count')) > refreshes);
  await clearMe(app.page);
  await callMe(app.page, 200);
  ok(`${t} refresh still works`);
  await app.page.click('#logout-btn');
  await app.page.waitForSelector('body[data-state="signed-out"]');
  const jar = await tokenCookies(app.context);
  check(!jar.access && !jar.refresh, `${t} logout still works and clears the cookies`);
  check(app.seen.problems.length === 0, `${t} no script errors or CSP violations`,
    app.seen.problems.join('; '));
  await app.context.close();

  // With Charon's old names (second server): the plant succeeds and locks the user out.
  t = '[cookie tossing, old names]';
  const legacy = [LEGACY_ACCESS_COOKIE, LEGACY_REFRESH_COOKIE];
  const victim = await openPage(`http://${APP_HOST}:${legacyPort}`, t);
  await login(victim.page, 'tossed', 'cookie', legacy);
  const attacker = await victim.context.newPage();
  await attacker.goto(`http://${EVIL_HOST}:${legacyPort}/`);
  await plant(attacker, legacy);
  eq(JSON.stringify(await planted(victim.context)), JSON.stringify(legacy.map(
    (n) => `${n}; Domain=.${PARENT_DOMAIN}`,
  )), `${t} the browser stores the sibling's cookies with the token cookies' names`);
  const tokens = victim.seen.tokens[victim.seen.tokens.length - 1];
  const statuses = () => victim.page.evaluate(async ({ access, refresh }) => {
    const h = (token) => ({ authorization: `Bearer ${token}`, 'x-csrf-protect': '1' });
    return [
      (await fetch('/me', { headers: h(access) })).status,
      (await fetch('/refresh', { method: 'POST', headers: h(refresh) })).status,
      (await fetch('/logout', { method: 'POST', headers: h(access) })).status,
    ];
  }, { access: tokens.access_token, refresh: tokens.refresh_token });
  eq(JSON.stringify(await statuses()), '[400,400,400]',
    `${t} /me, /refresh and /logout all answer 400 (duplicate token cookies)`);
  eq((await planted(victim.context)).length, 2,
    `${t} the server cannot clear the planted cookies`);
  // Signing in again does not help: /login has no token layer and answers 200, but the
  // next request carries the planted cookie beside the new one.
  await victim.page.evaluate(() => sessionStorage.clear());
  await victim.page.reload();
  await victim.page.waitForSelector('body[data-state="signed-out"]');
  const logins = victim.seen.tokens.length;
  await victim.page.fill('#user-id', 'tossed');
  await victim.page.selectOption('#transport', 'cookie');
  await victim.page.click('#login-btn');
  await until('the new login', async () => victim.seen.tokens.length > logins);
  ok(`${t} signing in again answers 200`);
  await clearMe(victim.page);
  await callMe(victim.page, 400);
  ok(`${t} after signing in again /me still answers 400: the user is locked out`);
  await victim.context.close();
}

// The live charts (static/charts.js): generate traffic from a page and check that each
// chart drew what /metrics says. The latency charts draw p50/p99 when /metrics exposes the
// duration histograms (buckets or summary quantiles) and say "no data" when it does not:
// both are checked against /metrics, so neither can pass by accident.
async function liveCharts(base, screenshot) {
  const t = '[charts]';
  const { context, page, seen } = await openPage(base, t);
  const chart = (id) => page.locator(`#${id}`);
  const chartState = async (id) => {
    const f = chart(id);
    return {
      state: await f.getAttribute('data-state'),
      points: Number(await f.getAttribute('data-points')),
      last: JSON.parse((await f.getAttribute('data-last')) || '{}'),
      paths: await f.locator('svg path.series').count(),
      text: await f.locator('svg').textContent(),
    };
  };

  // Traffic from an API client (bearer tokens, no browser): logins, valid and rejected
  // token checks, refreshes, logouts, for a while, so that several 2 s samples see it.
  // node:http, not fetch: Node's fetch sends `Sec-Fetch-Mode`, and the demo refuses
  // bearer logins to browsers.
  const send = (method, path, headers = {}, body = undefined) => new Promise((resolveSend, reject) => {
    const req = httpRequest(`${base}${path}`, {
      method, headers: { 'content-type': 'application/json', ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolveSend({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const json = (r, what) => {
    if (r.status !== 200) throw new Error(`${what} answered ${r.status}: ${r.text}`);
    return JSON.parse(r.text);
  };
  const bearer = (token) => ({ authorization: `Bearer ${token}` });
  const traffic = async (round) => {
    const calls = [];
    // A varying load, so the lines show its shape.
    for (let i = 0; i < 2 + (round % 5); i += 1) {
      calls.push((async () => {
        const user = JSON.stringify({ user_id: `chart-${round}-${i}`, transport: 'bearer' });
        const tokens = json(await send('POST', '/login', {}, user), 'login');
        for (let k = 0; k < 2; k += 1) {
          const me = await send('GET', '/me', bearer(tokens.access_token));
          if (me.status !== 200) throw new Error(`${t} /me answered ${me.status}: ${me.text}`);
        }
        const fresh = json(await send('POST', '/refresh', bearer(tokens.refresh_token)), 'refresh');
        const out = await send('POST', '/logout', bearer(fresh.access_token));
        if (out.status !== 204) throw new Error(`${t} logout answered ${out.status}: ${out.text}`);
      })());
      calls.push(send('GET', '/me', bearer('not-a-token')));
      calls.push(send('GET', '/me', bearer('eyJhbGciOiJIUzI1NiJ9.e30.c2ln')));
    }
    await Promise.all(calls);
  };
  const end = Date.now() + 16_000;
  for (let round = 0; Date.now() < end; round += 1) {
    await traffic(round);
    await sleep(300);
  }

  // Each rate chart drew data whose series match /metrics.
  await until('the request-rate chart', async () => {
    const c = await chartState('chart-requests');
    return c.state === 'data' && c.paths === 2 && c.points >= 4;
  });
  const requests = await chartState('chart-requests');
  check('valid' in requests.last && 'invalid' in requests.last,
    `${t} the request-rate chart draws valid and invalid`, JSON.stringify(requests));
  const m = await metricsText(base);
  const kinds = [...new Set([...m.matchAll(/^charon_token_invalid_total\{[^}]*error_kind="([a-z_]+)"/gm)]
    .map((x) => x[1]))].sort();
  check(kinds.length >= 1, `${t} /metrics counts invalid tokens by kind`, kinds.join(','));
  await until('the invalid-by-kind chart', async () => {
    const c = await chartState('chart-invalid');
    return c.state === 'data' && c.paths >= 1;
  });
  const invalid = await chartState('chart-invalid');
  const drawnKinds = await chart('chart-invalid').locator('svg path.series')
    .evaluateAll((ps) => ps.map((p) => p.dataset.series).sort());
  eq(JSON.stringify(drawnKinds), JSON.stringify(kinds),
    `${t} the invalid chart draws one line per error_kind of /metrics`);
  check(invalid.points >= 2, `${t} the invalid chart has points`, JSON.stringify(invalid));
  await until('the sessions chart', async () => {
    const c = await chartState('chart-sessions');
    return c.state === 'data' && ['created', 'refreshed', 'deleted'].every((k) => k in c.last);
  });
  ok(`${t} the sessions chart draws created, refreshed and deleted`);
  const peak = await chart('chart-sessions').locator('svg path.series').count();
  check(peak >= 3, `${t} the sessions chart has a line per event`, String(peak));

  // Latency: drawn exactly when /metrics has the histograms.
  for (const [id, base_] of [['chart-verify', 'charon_token_verification_duration_seconds'],
    ['chart-store', 'charon_store_operation_duration_seconds']]) {
    const exposed = new RegExp(`^${base_}(_bucket\\{|\\{[^}]*quantile=)`, 'm').test(m);
    if (exposed) {
      await until(`the ${id} chart`, async () => {
        const c = await chartState(id);
        return c.state === 'data' && 'p50' in c.last && 'p99' in c.last;
      });
      const c = await chartState(id);
      check(c.last.p50 > 0 && c.last.p99 >= c.last.p50,
        `${t} ${id} draws p50 <= p99 from ${base_}`, JSON.stringify(c.last));
    } else {
      const c = await chartState(id);
      check(c.state === 'no-data' && c.paths === 0 && /no data/.test(c.text),
        `${t} ${id} says "no data" (/metrics has no ${base_})`, JSON.stringify(c));
    }
  }

  // The counters table lists counters only.
  const listed = await page.locator('#metrics tr').evaluateAll(
    (rows) => rows.map((r) => r.dataset.counter),
  );
  check(listed.length > 0 && listed.every((n) => n.endsWith('_total')),
    `${t} the counters table lists the _total counters`, listed.join(','));

  await page.locator('#charts-panel').scrollIntoViewIfNeeded();
  await page.locator('#charts-panel').screenshot({ path: screenshot });
  ok(`${t} screenshot of the live charts at ${screenshot}`);
  check(seen.problems.length === 0, `${t} no script errors or CSP violations`,
    seen.problems.join('; '));
  await context.close();
}

// The charts' Prometheus parsing and quantiles, on known input: the page's /metrics polls
// are answered with exposition text whose p50/p99 are known (the page's own code runs on
// it; only the server's answer is replaced). The verification histogram goes from empty to
// 40 observations <= 0.1 ms, 50 more <= 1 ms and 10 more <= 10 ms: by histogram_quantile's
// linear interpolation within a bucket, p50 = 0.1 + 0.9 * 10/50 = 0.28 ms and
// p99 = 1 + 9 * 9/10 = 9.1 ms. The store latency comes as a summary.
async function chartMath(base) {
  const t = '[charts, known input]';
  const context = await browser.newContext({ viewport: { width: 1180, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  const hist = 'charon_token_verification_duration_seconds';
  const sample = (n) => [
    '# TYPE charon_token_valid_total counter',
    `charon_token_valid_total{token_transport="bearer",token_type="access",session_type="full"} ${n * 10}`,
    `# TYPE ${hist} histogram`,
    `${hist}_bucket{outcome="valid",token_type="access",le="0.0001"} ${n * 40}`,
    `${hist}_bucket{outcome="valid",token_type="access",le="0.001"} ${n * 90}`,
    `${hist}_bucket{outcome="valid",token_type="access",le="0.01"} ${n * 100}`,
    `${hist}_bucket{outcome="valid",token_type="access",le="+Inf"} ${n * 100}`,
    `${hist}_sum{outcome="valid",token_type="access"} ${n * 0.03}`,
    `${hist}_count{outcome="valid",token_type="access"} ${n * 100}`,
    '# TYPE charon_store_operation_duration_seconds summary',
    'charon_store_operation_duration_seconds{operation="get",outcome="ok",quantile="0.5"} 0.0002',
    'charon_store_operation_duration_seconds{operation="get",outcome="ok",quantile="0.99"} 0.0009',
    'charon_store_operation_duration_seconds_sum{operation="get",outcome="ok"} 0.05',
    'charon_store_operation_duration_seconds_count{operation="get",outcome="ok"} 100',
    '',
  ].join('\n');
  let polls = 0;
  await page.route('**/metrics', (route) => {
    polls += 1;
    return route.fulfill({
      status: 200, contentType: 'text/plain; version=0.0.4', body: sample(polls === 1 ? 0 : 1),
    });
  });
  await page.goto(`${base}/`);
  const last = async (id) => JSON.parse((await page.locator(`#${id}`).getAttribute('data-last')) || '{}');
  const near = (a, b) => typeof a === 'number' && Math.abs(a - b) <= b * 1e-6;
  await until('the verification chart', async () => 'p99' in (await last('chart-verify')));
  const verify = await last('chart-verify');
  check(near(verify.p50, 0.00028) && near(verify.p99, 0.0091),
    `${t} p50 = 0.28 ms and p99 = 9.1 ms from the histogram buckets`, JSON.stringify(verify));
  const store = await last('chart-store');
  check(near(store.p50, 0.0002) && near(store.p99, 0.0009),
    `${t} p50 and p99 from the summary quantiles`, JSON.stringify(store));
  const legend = await page.locator('#chart-verify .legend').innerText();
  check(/p50 280 µs/.test(legend) && /p99 9\.1 ms/.test(legend),
    `${t} the legend shows the latencies in µs and ms`, legend);
  const requests = await last('chart-requests');
  check('valid' in requests && 'invalid' in requests,
    `${t} the counter rates are drawn from the same text`, JSON.stringify(requests));
  check(problems.length === 0, `${t} no script errors`, problems.join('; '));
  await context.close();
}

// ---- main -------------------------------------------------------------------------------

async function main() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}; install Debian's chromium ` +
      '(scripts/browser-test.sh does) or set CHROMIUM');
  }
  const base = await startServer();
  console.log(`# demo server at ${base}; Chromium ${CHROMIUM}`);
  const legacyBase = await startServer('server-old-names', { CHARON_COOKIE_NAMES: 'charon' });
  console.log(`# demo server with Charon's old cookie names at ${legacyBase}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives each launch a fresh temporary profile (user-data-dir).
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-quic',
      // Both demo servers listen on 127.0.0.1 (see cookieTossing).
      `--host-resolver-rules=MAP *.${PARENT_DOMAIN} 127.0.0.1`],
  });
  console.log(`# Chromium ${browser.version()}`);
  const shot = join(OUT, 'demo-signed-in.png');
  await transportFlow(base, 'cookie', shot);
  await transportFlow(base, 'cookie_only', null);
  await logoutEverywhere(base);
  await signOutThatDevice(base);
  await cookieTossing(new URL(base).port, new URL(legacyBase).port);
  const dashboard = join(OUT, 'dashboard.png');
  await liveCharts(base, dashboard);
  await chartMath(base);
  if (process.env.CHARON_UPDATE_SCREENSHOT === '1') {
    mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
    copyFileSync(shot, join(ROOT, 'docs', 'demo-signed-in.png'));
    copyFileSync(dashboard, join(ROOT, 'docs', 'images', 'dashboard.png'));
    console.log('# updated docs/demo-signed-in.png and docs/images/dashboard.png');
  }
}

const watchdog = setTimeout(() => {
  console.log(`not ok - the browser test did not finish within ${WATCHDOG_MS / 1000} s`);
  stopServers();
  process.exit(1);
}, WATCHDOG_MS);

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`not ok - ${e.message}`);
  for (const server of servers) {
    try {
      const log = readFileSync(server.logPath, 'utf8').split('\n').slice(-25).join('\n');
      console.log(`# last lines of ${server.logPath}:\n${log.replace(/^/gm, '#   ')}`);
    } catch (_) { /* no log */ }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  stopServers();
  clearTimeout(watchdog);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
