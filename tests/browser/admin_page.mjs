/*
 * admin_page.mjs - the admin page (www/) end to end in headless Chromium.
 *
 * Started by run_browser.py against a private tokencat instance (lighttpd
 * serving www/ at / and the API under /api). Every page of every browser
 * context is served with "Content-Security-Policy: default-src 'self';
 * frame-ancestors 'none'" added (page.route), as the sample web server
 * configurations and scripts/run.sh's lighttpd.conf send it.
 *
 * The cases run in order and build on each other (the token created in
 * one is rotated in a later one); each prints "ok" or "FAIL" with the
 * reason, and the last line is "N passed, N failed". Screenshots of the
 * main screens go to $BROWSER_ARTIFACTS.
 *
 * Environment: BASE_URL (http://127.0.0.1:PORT/), PASSWORDS (JSON of the
 * harness's users), EXPIRED_SESSION (an expired but well-signed session
 * JWT), CHROMIUM, PLAYWRIGHT_PREFIX (where node_modules is),
 * BROWSER_ARTIFACTS.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

/* playwright-core lives in the build tree's node_modules, not beside this
   file (the source tree may be read-only): resolve it from there. */
const require = createRequire(path.join(process.env.PLAYWRIGHT_PREFIX || process.cwd(), 'noop.js'));
const { chromium, request: pwRequest } = require('playwright-core');

const BASE = process.env.BASE_URL;
const ORIGIN = new URL(BASE).origin;
const SHOTS = process.env.BROWSER_ARTIFACTS || 'screenshots';
const PASSWORDS = JSON.parse(process.env.PASSWORDS);
const EXPIRED_SESSION = process.env.EXPIRED_SESSION;
const ADMIN = 'admin@example.com';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CSP = "default-src 'self'; frame-ancestors 'none'";
const XSS_NAME = '<img src=x onerror=alert(1)>';

fs.mkdirSync(SHOTS, { recursive: true });

/* ------------------------------------------------------------ harness */

const cases = [];
/** Register a case: name and an async function that throws on failure. */
function test(name, fn) {
  cases.push({ name, fn });
}

/* Shared between cases (the token created first, the team, ...). */
const S = {};
/* Everything that went wrong in any page, for the last cases. */
const pageErrors = [];
const cspConsole = [];

let browser;
let api;        /* a playwright APIRequestContext on BASE (no cookies) */
let main;       /* the administrator's {ctx, page, log} */

/* Errors of the CSP route below; the CSP case fails if there are any. */
const routeErrors = [];

/*
 * A route handler serving the page's files: fetch the real response from
 * lighttpd and hand it to the page with the header
 * Content-Security-Policy: csp added. A fetch may meet a keep-alive
 * connection that lighttpd is just closing ("socket hang up"): it is
 * tried three times before the request fails.
 */
function servedWith(csp) {
  return (route) => withHeader(route, csp);
}
const withCsp = servedWith(CSP);

async function withHeader(route, csp) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await route.fetch();
      await route.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': csp } });
      return;
    } catch (e) {
      if (/has been closed|already handled/.test(String(e))) return;  /* the page went away */
      if (attempt < 3) continue;
      routeErrors.push(`${route.request().url()}: ${String(e).split('\n')[0]}`);
      await route.abort().catch(() => {});
      return;
    }
  }
}

/**
 * A new browser context and page: every non-API response gets the strict
 * CSP header; console errors, page errors, JS dialogs and CSP violations
 * are recorded in log.
 */
async function open({ width = 1280, height = 860 } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, locale: 'en-US', timezoneId: 'UTC' });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  await ctx.route((url) => !url.pathname.startsWith('/api/'), withCsp);
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  /* pending: the API requests under way at the server (no answer yet),
   * for a failure to name them. An answered request leaves at its
   * response: a page that drops the body of an answer it no longer needs
   * (leaving a view) may get neither requestfinished nor requestfailed.
   * A new document (a reload, a load without the fragment) drops the
   * requests of the one before, again with no event for some of them:
   * at its DOMContentLoaded (never fired by a change of the fragment)
   * the requests issued before its navigation leave too. */
  const log = { console: [], dialogs: [], pending: new Map(), seq: 0, navSeq: 0,
    get inflight() { return this.pending.size; } };
  const isApi = (r) => new URL(r.url()).pathname.startsWith('/api/');
  page.on('request', (r) => { if (isApi(r)) log.pending.set(r, log.seq++); });
  page.on('response', (resp) => log.pending.delete(resp.request()));
  page.on('requestfinished', (r) => log.pending.delete(r));
  page.on('requestfailed', (r) => log.pending.delete(r));
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) log.navSeq = log.seq; });
  page.on('domcontentloaded', () => {
    for (const [r, n] of log.pending) if (n < log.navSeq) log.pending.delete(r);
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    log.console.push(m.text());
    if (/Content Security Policy|Refused to/.test(m.text())) cspConsole.push(m.text());
  });
  page.on('dialog', (d) => {
    log.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return { ctx, page, log };
}

/** Wait until the page has rendered two more frames (its event loop ran). */
async function frames(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** Save a screenshot as SHOTS/name.png (without the passing toast). */
async function shot(page, name, fullPage = true) {
  await page.evaluate(() => { document.getElementById('toast').hidden = true; });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

/**
 * Retry fn (which throws until satisfied) for up to ms milliseconds: the
 * wait is for fn's condition, polled; ms only bounds a failure.
 */
async function eventually(fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

/** Wait until the view section id is the visible one. */
async function view(page, id) {
  await page.locator(`#${id}`).waitFor({ state: 'visible' });
}

/** Go to a route of the page (a full load when the page is elsewhere). */
async function go(page, hash) {
  await page.goto(BASE + hash);
}

/** Log in through the form as email; waits for the token list. */
async function signIn(page, email, password = PASSWORDS[email]) {
  await page.goto(BASE);
  await view(page, 'view-login');
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type="submit"]');
  await view(page, 'view-tokens');
}

/** The session JWT the page keeps in sessionStorage (or null). */
async function sessionToken(page) {
  return page.evaluate(() => {
    const s = sessionStorage.getItem('tokencat.session');
    return s ? JSON.parse(s).token : null;
  });
}

/** GET/POST/... on the API with a bearer token: {status, body}. */
async function call(method, apiPath, token, body) {
  const res = await api.fetch(`api${apiPath}`, {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    data: body,
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : null };
}

/** The decision of GET /auth/check for an API token on uri. */
async function check(rawToken, uri = '/tools/list') {
  const res = await api.get('api/auth/check', {
    headers: { Authorization: `Bearer ${rawToken}`, 'X-Original-URI': uri, 'X-Original-Method': 'GET' },
  });
  return res.status();
}

/** The text of the field error attached (aria-describedby) to control #id. */
async function fieldError(page, id) {
  return page.evaluate((cid) => {
    const el = document.getElementById(cid);
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x.endsWith('-err'));
    if (el.getAttribute('aria-invalid') !== 'true' || !ids.length) return null;
    return ids.map((x) => document.getElementById(x).textContent).join(' ');
  }, id);
}

/** Wait for the show-once dialog; returns the raw token it shows. */
async function onceToken(page) {
  await page.locator('#dlg-once[open]').waitFor();
  const token = await page.inputValue('#once-token');
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the dialog does not show a JWT');
  return token;
}

/** Close the show-once dialog and check that the token left the page. */
async function closeOnce(page) {
  await page.click('#once-done');
  await page.locator('#dlg-once').waitFor({ state: 'hidden' });
  await eventually(async () => assert.equal(await page.inputValue('#once-token'), '',
    'the raw token stays in the page'), 2000);
}

/** The token id in the hash #/tokens/ID. */
function idFromUrl(page) {
  const m = /#\/tokens\/([0-9a-f-]{36})$/.exec(page.url());
  assert.ok(m, `not on a token page: ${page.url()}`);
  return m[1];
}

/** The text of every row of a table container. */
async function rowTexts(page, container) {
  return page.locator(`${container} tbody tr`).allTextContents();
}

/* ------------------------------------------------------------ login */

test('login form: wrong password shows the API\'s detail', async () => {
  const { page } = main;
  await page.goto(BASE);
  await view(page, 'view-login');
  assert.equal(await page.locator('#login-email').evaluate((e) => document.activeElement === e), true,
    'the e-mail field has no focus');
  await shot(page, '01-login', false);
  await page.fill('#login-email', ADMIN);
  await page.fill('#login-password', 'not-the-password-1');
  await page.click('#login-form button[type="submit"]');
  const alert = page.locator('#login-form [data-form-error]');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Invalid email or password');
  assert.equal(await sessionToken(page), null);
});

test('login form: lockout (429) shows the API\'s detail and Retry-After', async () => {
  const { page } = main;
  const alert = page.locator('#login-form [data-form-error]');
  let last = 0;
  for (let i = 0; i < 4 && last !== 429; i++) {
    await page.fill('#login-email', BOB);
    await page.fill('#login-password', `wrong-password-${i}`);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/auth/login')),
      page.click('#login-form button[type="submit"]'),
    ]);
    last = res.status();
  }
  assert.equal(last, 429, 'no lockout after 4 failures');
  await eventually(async () => {
    const text = await alert.textContent();
    assert.match(text, /^Too many failed login attempts\. Try again later\. Retry in \d+ s\.$/);
  });
  await shot(page, '01b-login-locked', false);
});

test('log in as the administrator: session in sessionStorage, no cookies', async () => {
  const { page, ctx } = main;
  await signIn(page, ADMIN);
  assert.match(await page.textContent('#who-email'), /admin@example\.com/);
  assert.ok(await page.isVisible('#nav-admin'), 'the Admin entry is hidden from an admin');
  assert.ok(await page.isVisible('#who-admin'));
  const token = await sessionToken(page);
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(await page.evaluate(() => document.cookie), '');
  assert.deepEqual(await ctx.cookies(), []);
  S.session = token;
  assert.equal((await call('GET', '/auth/me', token)).body.user.email, ADMIN);
});

/* ------------------------------------------------------------ create */

test('create form: client-side checks name the fields and send nothing', async () => {
  const { page } = main;
  await go(page, '#/tokens/new');
  await view(page, 'view-form');
  let posts = 0;
  const count = (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/tokens')) posts++; };
  page.on('request', count);
  // the server's max_token_days (180 here), from GET /auth/me
  assert.equal(await page.textContent('#f-days-max'), '180');
  assert.equal(await page.getAttribute('#f-days', 'max'), '180');
  await page.fill('#f-name', 'bad-one');
  await page.fill('#f-ips', '10.0.0.300\n192.0.2.0/24');
  await page.fill('#f-start', '09:00');
  await page.fill('#f-rpm', '0');
  await page.fill('#f-perms', 'tools.read\nnot a permission');
  await page.click('#form-submit');
  assert.match(await fieldError(page, 'f-ips') || '', /^Invalid IP address or CIDR network \(entry 1\)$/);
  assert.match(await fieldError(page, 'f-end') || '', /^Start and end times go together$/);
  assert.match(await fieldError(page, 'f-rpm') || '', /^Must be a positive integer$/);
  assert.match(await fieldError(page, 'f-perms') || '', /^Invalid permission 'not' \(entry 2\)$/);
  assert.equal(await fieldError(page, 'f-name'), null);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-perms',
    'focus is not on the first field in error');
  page.off('request', count);
  assert.equal(posts, 0, 'the form was sent despite the errors');
});

test('create a token with a time window and a usage limit; shown once with a copy button', async () => {
  const { page } = main;
  await go(page, '#/tokens');
  await go(page, '#/tokens/new');
  await view(page, 'view-form');
  assert.equal(await fieldError(page, 'f-ips'), null, 'old errors remain on a new form');
  await page.fill('#f-name', 'ci-deploy');
  await page.fill('#f-description', 'Deploys from CI');
  await page.fill('#f-days', '30');
  await page.fill('#f-tags', 'ci, env=prod');
  await page.fill('#f-ips', '127.0.0.1');
  await page.fill('#f-start', '00:00:00');
  await page.fill('#f-end', '23:59:59');
  await page.fill('#f-tz', 'UTC');
  for (const cb of await page.locator('#f-days-list input').all()) await cb.check();
  await page.fill('#f-rpm', '3');
  await page.fill('#f-rpd', '1000');
  await shot(page, '03-create');
  await page.click('#form-submit');
  const raw = await onceToken(page);
  assert.ok(await page.isEnabled('#once-copy'), 'no copy button');
  assert.match(await page.textContent('#once-warning'), /you will not see this token again/);
  assert.match(await page.textContent('#once-sub'), /ci-deploy/);
  await shot(page, '04-show-once', false);
  await page.click('#once-copy');
  await eventually(async () => assert.equal(await page.textContent('#once-copied'), 'Copied.'));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), raw, 'the clipboard holds something else');
  await closeOnce(page);
  await view(page, 'view-details');
  await eventually(async () => assert.equal(await page.textContent('#details-title'), 'ci-deploy'));
  S.ci = { id: idFromUrl(page), raw };
  const t = (await call('GET', `/tokens/${S.ci.id}`, S.session)).body;
  assert.deepEqual(t.time_restrictions, {
    start_time: '00:00:00', end_time: '23:59:59', timezone: 'UTC',
    days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
  });
  assert.deepEqual(t.usage_limits, { requests_per_minute: 3, requests_per_day: 1000 });
  assert.deepEqual(t.ip_restrictions, ['127.0.0.1']);
  assert.deepEqual(t.tags, ['ci', { env: 'prod' }]);
  assert.equal(t.description, 'Deploys from CI');
});

test('list: the token is found by name, with status and restrictions', async () => {
  const { page } = main;
  const other = await call('POST', '/tokens', S.session, { name: 'nightly-backup', expires_in_days: 90,
    scope: { permissions: ['tools.read', 'resources.read'], server_id: 'backup' } });
  assert.equal(other.status, 201);
  await go(page, '#/tokens');
  await view(page, 'view-tokens');
  await eventually(async () => assert.equal((await rowTexts(page, '#tokens-table')).length, 2));
  await shot(page, '02-list');
  await page.fill('#tokens-q', 'ci-dep');
  await eventually(async () => assert.equal((await rowTexts(page, '#tokens-table')).length, 1));
  const row = page.locator('#tokens-table tbody tr').first();
  assert.equal(await row.locator('.cell-name a').textContent(), 'ci-deploy');
  assert.equal(await row.locator('.badge').textContent(), 'active');
  const chips = await row.locator('.chip').allTextContents();
  assert.ok(chips.includes('3/min, 1000/day') && chips.includes('time window') && chips.includes('127.0.0.1'),
    `restrictions at a glance: ${chips}`);
  await page.fill('#tokens-q', 'no-such-token');
  await eventually(async () => assert.match(await page.textContent('#tokens-table'), /No token name contains/));
  await page.fill('#tokens-q', '');
});

test('create: the server\'s 409 lands next to the name field', async () => {
  const { page } = main;
  await go(page, '#/tokens/new');
  await view(page, 'view-form');
  await page.fill('#f-name', 'ci-deploy');
  await page.click('#form-submit');
  await eventually(async () => assert.match(await fieldError(page, 'f-name') || '',
    /^A token with this name already exists\. Please choose a different name\.$/));
  assert.equal(await page.locator('#dlg-once[open]').count(), 0);
  assert.match(page.url(), /#\/tokens\/new$/);
});

/* ------------------------------------------------------------ usage */

test('usage: /auth/check calls show in the statistics and the charts', async () => {
  const { page } = main;
  const statuses = [];
  for (const uri of ['/tools/list', '/tools/list', '/prompts/greet', '/tools/list', '/prompts/greet']) {
    statuses.push(await check(S.ci.raw, uri));
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429], 'the usage limit of 3/min did not hold');
  await go(page, `#/tokens/${S.ci.id}`);
  await eventually(async () => {
    await page.reload();
    await view(page, 'view-details');
    await page.locator('[data-stat="total"] .stat-value').waitFor();
    assert.equal(await page.textContent('[data-stat="total"] .stat-value'), '5');
  });
  assert.equal(await page.textContent('[data-stat="allowed"] .stat-value'), '3');
  assert.equal(await page.textContent('[data-stat="blocked"] .stat-value'), '2');
  assert.equal(await page.textContent('[data-stat="rate"] .stat-value'), '60%');
  assert.ok(await page.locator('svg.daily-chart rect.bar-allowed').count() >= 1, 'no allowed bar');
  assert.ok(await page.locator('svg.daily-chart rect.bar-blocked').count() >= 1, 'no blocked bar');
  const eps = await page.locator('svg.endpoints-chart .ep-text').allTextContents();
  assert.deepEqual(eps, ['/tools/list', '/prompts/greet']);
  assert.deepEqual(await page.locator('svg.endpoints-chart .ep-count').allTextContents(), ['3', '2']);
  assert.doesNotMatch(await page.textContent('#details-info'), /Last usednever/);
  assert.match(await page.textContent('#details-info'), /Created byadmin@example\.com/);
  await shot(page, '05-details-usage');
});

test('edit: a changed description is saved, the scope is left alone', async () => {
  const { page } = main;
  await page.click('#details-edit');
  await view(page, 'view-form');
  await eventually(async () => assert.equal(await page.inputValue('#f-name'), 'ci-deploy'));
  assert.equal(await page.inputValue('#f-rpm'), '3');
  assert.equal(await page.inputValue('#f-start'), '00:00:00');
  assert.equal(await page.inputValue('#f-tags'), 'ci, env=prod');
  await page.fill('#f-description', 'Deploys from CI (edited)');
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'PUT'),
    page.click('#form-submit'),
  ]);
  assert.deepEqual(req.postDataJSON(), { description: 'Deploys from CI (edited)' });
  await view(page, 'view-details');
  await eventually(async () => assert.match(await page.textContent('#details-info'), /Deploys from CI \(edited\)/));
  const t = (await call('GET', `/tokens/${S.ci.id}`, S.session)).body;
  assert.deepEqual(t.usage_limits, { requests_per_minute: 3, requests_per_day: 1000 });
  assert.equal(t.time_restrictions.end_time, '23:59:59');
});

/* ------------------------------------------------------------ rotate, revoke */

test('rotate: the successor is shown once and the old token is refused', async () => {
  const { page } = main;
  await go(page, `#/tokens/${S.ci.id}`);
  await view(page, 'view-details');
  await page.locator('#details-rotate').waitFor();
  await page.click('#details-rotate');
  await page.locator('#dlg-confirm[open]').waitFor();
  await page.click('#confirm-ok');
  const raw = await onceToken(page);
  assert.notEqual(raw, S.ci.raw);
  assert.match(await page.textContent('#once-title'), /rotated/i);
  await closeOnce(page);
  await eventually(async () => assert.notEqual(idFromUrl(page), S.ci.id));
  const newId = idFromUrl(page);
  await eventually(async () => assert.equal(await page.textContent('#details-title'), 'ci-deploy'));
  assert.equal(await check(S.ci.raw), 401, 'the old token still works');
  assert.equal(await check(raw), 200, 'the new token does not work');
  const old = (await call('GET', `/tokens/${S.ci.id}`, S.session)).body;
  assert.equal(old.is_revoked, true);
  assert.equal(old.revocation_reason, 'Rotated');
  S.rotated = { id: newId, raw };
});

test('revoke: Escape cancels; a reason and the confirmation revoke', async () => {
  const { page } = main;
  await page.click('#details-revoke');
  await page.locator('#dlg-revoke[open]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'revoke-reason', 'focus is not in the dialog');
  await page.keyboard.press('Escape');
  await page.locator('#dlg-revoke').waitFor({ state: 'hidden' });
  await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement.id),
    'details-revoke', 'focus did not come back'), 2000);
  assert.equal((await call('GET', `/tokens/${S.rotated.id}`, S.session)).body.is_revoked, false,
    'cancelled, yet revoked');
  await page.click('#details-revoke');
  await page.fill('#revoke-reason', 'Leaked in a CI log');
  await page.click('#revoke-confirm');
  await page.locator('#dlg-revoke').waitFor({ state: 'hidden' });
  await eventually(async () => assert.equal(await page.textContent('#details-badges .badge'), 'revoked'));
  const rev = await page.textContent('#details-rev');
  assert.match(rev, /Leaked in a CI log/);
  assert.match(rev, /admin@example\.com/);
  assert.ok(await page.isHidden('#details-actions'), 'a revoked token still offers actions');
  assert.equal(await check(S.rotated.raw), 401, 'the revoked token still works');
  const t = (await call('GET', `/tokens/${S.rotated.id}`, S.session)).body;
  assert.equal(t.revocation_reason, 'Leaked in a CI log');
});

test('list: "Show inactive" brings the revoked tokens back', async () => {
  const { page } = main;
  await go(page, '#/tokens');
  await view(page, 'view-tokens');
  await eventually(async () => {
    const rows = await rowTexts(page, '#tokens-table');
    assert.equal(rows.filter((r) => r.includes('ci-deploy')).length, 0, 'a revoked token is listed');
  });
  await page.check('#tokens-inactive');
  await eventually(async () => {
    const badges = await page.locator('#tokens-table tbody tr:has-text("ci-deploy") .badge').allTextContents();
    assert.deepEqual(badges, ['revoked', 'revoked']);
  });
  await page.uncheck('#tokens-inactive');
});

/* ------------------------------------------------------------ XSS */

test('a token named <img src=x onerror=alert(1)> is shown as text', async () => {
  const { page, log } = main;
  await go(page, '#/tokens/new');
  await view(page, 'view-form');
  await page.fill('#f-name', XSS_NAME);
  await page.fill('#f-description', '<b>bold?</b>');
  await page.fill('#f-tags', '<script>alert(2)</script>');
  await page.click('#form-submit');
  await onceToken(page);
  assert.ok((await page.textContent('#once-sub')).includes(XSS_NAME));
  await closeOnce(page);
  await view(page, 'view-details');
  await eventually(async () => assert.equal(await page.textContent('#details-title'), XSS_NAME));
  assert.equal(await page.locator('#details-title *').count(), 0, 'the name became markup');
  assert.ok((await page.textContent('#details-info')).includes('<b>bold?</b>'));
  assert.equal(await page.locator('#details-info b').count(), 0);
  await go(page, '#/tokens');
  await eventually(async () => assert.ok(
    (await page.locator('#tokens-table .cell-name a').allTextContents()).includes(XSS_NAME)));
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'an <img src=x> was created');
  assert.equal(await page.locator('main script, main b').count(), 0);
  /* an onerror or onload handler would run when its image settles: wait
     until every image has, then for a rendered frame */
  await page.waitForFunction(() => [...document.images].every((i) => i.complete));
  await frames(page);
  assert.deepEqual(log.dialogs, [], 'a script ran: a JS dialog opened');
});

/* ------------------------------------------------------------ teams */

test('teams: create a team, add and remove members, make a team token', async () => {
  const { page } = main;
  await go(page, '#/teams');
  await view(page, 'view-teams');
  await page.fill('#team-name', 'Platform');
  await page.click('#team-create button[type="submit"]');
  await view(page, 'view-team');
  await eventually(async () => assert.equal(await page.textContent('#team-title'), 'Platform'));
  S.teamId = /#\/teams\/([0-9a-f]{32})$/.exec(page.url())[1];
  for (const [email, role] of [[ALICE, 'member'], [BOB, 'member']]) {
    await page.fill('#member-email', email);
    await page.selectOption('#member-role', role);
    await page.click('#member-add button[type="submit"]');
    await page.locator(`#team-members tr[data-email="${email}"]`).waitFor();
  }
  await page.click(`button[aria-label="Remove ${BOB}"]`);
  await page.locator('#dlg-confirm[open]').waitFor();
  assert.match(await page.textContent('#confirm-text'), /bob@example\.com/);
  await page.click('#confirm-ok');
  await page.locator(`#team-members tr[data-email="${BOB}"]`).waitFor({ state: 'detached' });
  await page.locator(`#team-members tr[data-email="${ALICE}"]`).waitFor();
  const members = await page.locator('#team-members tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.email));
  assert.deepEqual(members.sort(), [ADMIN, ALICE]);
  const apiMembers = (await call('GET', `/teams/${S.teamId}/members`, S.session)).body;
  assert.deepEqual(apiMembers.map((m) => `${m.email}:${m.role}`).sort(), [`${ADMIN}:owner`, `${ALICE}:member`]);

  await page.click('#team-new-token');
  await view(page, 'view-form');
  await eventually(async () => assert.equal(await page.inputValue('#f-team'), S.teamId));
  await page.fill('#f-name', 'platform-ci');
  await page.click('#form-submit');
  await onceToken(page);
  await closeOnce(page);
  await view(page, 'view-details');
  await eventually(async () => assert.match(await page.textContent('#details-badges'), /Platform/));
  await go(page, `#/teams/${S.teamId}`);
  await view(page, 'view-team');
  await eventually(async () => assert.match(await page.textContent('#team-tokens'), /platform-ci/));
  await shot(page, '06-team');
  await go(page, '#/teams');
  await eventually(async () => assert.match(await page.textContent('#teams-list'), /Platform/));
  await shot(page, '06b-teams');
});

/* ------------------------------------------------------------ admin */

test('admin: create a token for alice; it shows in all tokens and the audit log', async () => {
  const { page } = main;
  await go(page, '#/admin/tokens');
  await view(page, 'view-admin');
  await page.click('a[href="#/tokens/new?for=user"]');
  await view(page, 'view-form');
  assert.ok(await page.isVisible('#f-owner'), 'no owner field for an admin');
  await page.fill('#f-owner', ALICE);
  await page.fill('#f-name', 'alice-delegated');
  await page.fill('#f-days', '7');
  await page.click('#form-submit');
  const raw = await onceToken(page);
  assert.match(await page.textContent('#once-sub'), /alice@example\.com/);
  await closeOnce(page);
  await view(page, 'view-admin');
  assert.equal(await page.inputValue('#admin-owner'), ALICE);
  await eventually(async () => {
    const rows = await rowTexts(page, '#admin-tokens-table');
    assert.equal(rows.length, 1);
    assert.match(rows[0], /alice-delegated/);
    assert.match(rows[0], /by admin@example\.com/);
  });
  const me = await call('GET', '/auth/me', raw);
  assert.equal(me.body.user.email, ALICE, 'the token is not alice\'s');
  await shot(page, '07-admin-tokens');
  await page.click('.tabs a[data-tab="audit"]');
  await page.locator('#admin-audit').waitFor();
  await eventually(async () => {
    const rows = await rowTexts(page, '#audit-table');
    assert.ok(rows.some((r) => r.includes('token.create.delegated') && r.includes(ALICE)),
      `no delegation event in ${rows.slice(0, 3)}`);
  });
  await shot(page, '08-admin-audit');
});

test('admin: revoke another user\'s token from the list of all tokens', async () => {
  const { page } = main;
  await go(page, `#/admin/tokens?owner=${encodeURIComponent(ALICE)}`);
  await page.locator('#admin-tokens-table tbody tr').first().waitFor();
  await page.click('button[aria-label="Revoke alice-delegated"]');
  await page.locator('#dlg-revoke[open]').waitFor();
  await page.fill('#revoke-reason', 'No longer needed');
  await page.click('#revoke-confirm');
  await eventually(async () => assert.match(await page.textContent('#admin-tokens-table'), /No tokens of alice/));
  await page.check('#admin-inactive');
  await eventually(async () => assert.equal(
    await page.textContent('#admin-tokens-table tbody tr .badge'), 'revoked'));
  const all = (await call('GET', `/tokens/admin/all?user_email=${ALICE}&include_inactive=true`, S.session)).body;
  assert.equal(all.tokens[0].revocation_reason, 'No longer needed');
  await page.uncheck('#admin-inactive');
});

test('admin: users are listed, created (password checked first) and disabled', async () => {
  const { page } = main;
  await go(page, '#/admin/users');
  await page.locator('#admin-users-table tbody tr').first().waitFor();
  assert.equal(await page.locator('#admin-users-table tbody tr').count(), 3);
  await page.fill('#user-email', 'carol@example.com');
  await page.fill('#user-name', 'Carol Example');
  await page.fill('#user-password', 'short');
  await page.click('#user-create button[type="submit"]');
  assert.match(await fieldError(page, 'user-password') || '', /at least 12 characters/);
  await page.fill('#user-password', 'carol-password-0004');
  await page.click('#user-create button[type="submit"]');
  const row = page.locator('#admin-users-table tr[data-email="carol@example.com"]');
  await row.waitFor();
  assert.equal((await call('POST', '/auth/login', null, { email: 'carol@example.com', password: 'carol-password-0004' })).status, 200);
  await page.click('button[aria-label="Disable carol@example.com"]');
  await page.locator('#dlg-confirm[open]').waitFor();
  await page.click('#confirm-ok');
  await eventually(async () => assert.match(await row.textContent(), /disabled/));
  assert.equal((await call('POST', '/auth/login', null, { email: 'carol@example.com', password: 'carol-password-0004' })).status, 401);
  await shot(page, '09-admin-users');
});

/* ------------------------------------------------------------ invitations */

test('invitations: an owner invites, the invitee accepts or declines on the Teams page', async () => {
  const DAVE = 'dave@example.com';
  const davePw = 'dave-password-0005';
  assert.equal((await call('POST', '/admin/users', S.session,
    { email: DAVE, password: davePw, full_name: 'Dave Example' })).status, 201);
  const aliceLogin = await call('POST', '/auth/login', null, { email: ALICE, password: PASSWORDS[ALICE] });
  const harbor = (await call('POST', '/teams', aliceLogin.body.access_token, { name: 'Harbor' })).body;
  const inviter = await open();
  const invitee = await open();
  try {
    /* alice, a team owner, invites from the team page: "invited", not a member */
    let { page } = inviter;
    await signIn(page, ALICE);
    await go(page, '#/teams');
    await view(page, 'view-teams');
    await page.fill('#team-name', 'Lighthouse');
    await page.click('#team-create button[type="submit"]');
    await view(page, 'view-team');
    await eventually(async () => assert.equal(await page.textContent('#team-title'), 'Lighthouse'));
    const teamId = /#\/teams\/([0-9a-f]{32})$/.exec(page.url())[1];
    assert.equal((await page.textContent('#member-add-submit')).trim(), 'Invite');
    for (const email of [DAVE, 'nobody-at-all@example.com']) {
      await page.fill('#member-email', email);
      await page.click('#member-add button[type="submit"]');
      const row = page.locator(`#team-invitations tr[data-email="${email}"]`);
      await row.waitFor();
      assert.match(await row.textContent(), /invited/);
    }
    assert.match(await page.textContent('#toast'), /invited to .Lighthouse./);
    assert.deepEqual(await page.locator('#team-members tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.email)),
      [ALICE], 'an invitee is listed as a member');
    await shot(page, '06c-team-invited');
    /* withdrawing one leaves the other */
    await page.click('button[aria-label="Withdraw the invitation of nobody-at-all@example.com"]');
    await page.locator('#team-invitations tr[data-email="nobody-at-all@example.com"]').waitFor({ state: 'detached' });
    await page.locator(`#team-invitations tr[data-email="${DAVE}"]`).waitFor();
    assert.equal((await call('POST', `/teams/${harbor.id}/members`, aliceLogin.body.access_token,
      { email: DAVE })).status, 202);

    /* dave sees both invitations, declines one and accepts the other */
    ({ page } = invitee);
    await signIn(page, DAVE, davePw);
    await go(page, '#/teams');
    await view(page, 'view-teams');
    await page.locator(`#invitations-list tr[data-team="${teamId}"]`).waitFor();
    await page.locator(`#invitations-list tr[data-team="${harbor.id}"]`).waitFor();
    assert.match(await page.textContent(`#invitations-list tr[data-team="${teamId}"]`), /Lighthouse.*member.*alice@example\.com/s);
    assert.match(await page.textContent('#teams-list'), /not in any team/);
    await shot(page, '06d-invitations');
    await page.click('button[aria-label="Decline the invitation to Harbor"]');
    await page.locator(`#invitations-list tr[data-team="${harbor.id}"]`).waitFor({ state: 'detached' });
    await page.click('button[aria-label="Accept the invitation to Lighthouse"]');
    await view(page, 'view-team');
    await eventually(async () => assert.equal(await page.textContent('#team-title'), 'Lighthouse'));
    await page.locator(`#team-members tr[data-email="${DAVE}"]`).waitFor();
    await go(page, '#/teams');
    await view(page, 'view-teams');
    await eventually(async () => assert.match(await page.textContent('#teams-list'), /Lighthouse/));
    assert.ok(await page.isHidden('#invitations'), 'answered invitations are still shown');
    assert.doesNotMatch(await page.textContent('#teams-list'), /Harbor/);
    /* the API agrees */
    const dave = await sessionToken(page);
    assert.deepEqual((await call('GET', '/teams/invitations', dave)).body, []);
    const members = (await call('GET', `/teams/${teamId}/members`, dave)).body.map((m) => `${m.email}:${m.role}`);
    assert.deepEqual(members.sort(), [`${ALICE}:owner`, `${DAVE}:member`]);
    assert.equal((await call('GET', `/teams/${harbor.id}`, dave)).status, 403);
  } finally {
    await inviter.ctx.close();
    await invitee.ctx.close();
  }
});

/* ------------------------------------------------------------ a non-admin */

test('a non-admin (alice) does not see the Admin section', async () => {
  const alice = await open();
  try {
    const { page } = alice;
    await signIn(page, ALICE);
    assert.ok(await page.isHidden('#nav-admin'), 'alice sees the Admin entry');
    assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
    assert.ok(await page.isHidden('#who-admin'));
    await go(page, '#/admin/users');
    await view(page, 'view-tokens');
    assert.ok(await page.isHidden('#view-admin'));
    assert.match(page.url(), /#\/tokens$/);
    await go(page, '#/tokens/new');
    await view(page, 'view-form');
    assert.ok(await page.isHidden('#f-owner'), 'alice gets the owner field');
    S.alice = alice;
  } catch (e) {
    await alice.ctx.close();
    throw e;
  }
});

test('create: a permission beyond the user\'s own is refused next to the field', async () => {
  assert.ok(S.alice, 'no alice session (previous case failed)');
  const { page } = S.alice;
  await page.fill('#f-name', 'too-much');
  await page.fill('#f-perms', 'tools.read\nadmin.all');
  await page.click('#form-submit');
  await eventually(async () => assert.match(await fieldError(page, 'f-perms') || '',
    /^Cannot grant permission 'admin\.all' - not in your effective permissions\.$/));
  assert.equal(await page.locator('#dlg-once[open]').count(), 0);
  await S.alice.ctx.close();
});

test('list: pages of 20 with Previous and Next', async () => {
  const login = await call('POST', '/auth/login', null, { email: ALICE, password: PASSWORDS[ALICE] });
  assert.equal(login.status, 200);
  for (let i = 1; i <= 22; i++) {
    const name = `alice-${String(i).padStart(2, '0')}`;
    assert.equal((await call('POST', '/tokens', login.body.access_token, { name, expires_in_days: 5 })).status, 201);
  }
  /* alice also sees the tokens of her team: the API says what to expect */
  const names = (await call('GET', '/tokens?limit=1000', login.body.access_token)).body.tokens.map((t) => t.name);
  assert.ok(names.length > 20 && names.length <= 40, `${names.length} tokens`);
  assert.equal(names[0], 'alice-22', 'the API does not list newest first');
  const shown = async () => page.locator('#tokens-table tbody .cell-name').evaluateAll(
    (cells) => cells.map((td) => td.firstChild.textContent));
  const c = await open();
  const { page } = c;
  try {
    await signIn(page, ALICE);
    const pager = page.locator('#tokens-pager');
    await eventually(async () => assert.match(await pager.textContent(), new RegExp(`Showing 1\u201320 of ${names.length}`)));
    assert.deepEqual(await shown(), names.slice(0, 20));
    assert.ok(await pager.getByRole('button', { name: /Previous/ }).isDisabled());
    await pager.getByRole('button', { name: /Next/ }).click();
    await eventually(async () => assert.match(await pager.textContent(),
      new RegExp(`Showing 21\u2013${names.length} of ${names.length}`)));
    assert.deepEqual(await shown(), names.slice(20));
    assert.ok(await pager.getByRole('button', { name: /Next/ }).isDisabled());
    await pager.getByRole('button', { name: /Previous/ }).click();
    await eventually(async () => assert.deepEqual(await shown(), names.slice(0, 20)));
  } finally {
    await c.ctx.close();
  }
});

/* ------------------------------------------------------------ sessions */

test('an expired session returns to the login form with a message', async () => {
  const c = await open();
  try {
    const { page } = c;
    await page.goto(BASE);
    await view(page, 'view-login');
    await page.evaluate((token) => sessionStorage.setItem('tokencat.session',
      JSON.stringify({ token, user: { email: 'admin@example.com' }, expiresAt: Date.now() - 3600e3 })), EXPIRED_SESSION);
    await page.goto(BASE + '#/tokens');
    await page.reload();
    await view(page, 'view-login');
    await eventually(async () => assert.match(await page.textContent('#login-message'), /session has expired/));
    assert.ok(await page.isVisible('#login-message'));
    assert.ok(await page.isHidden('#nav'));
    assert.equal(await sessionToken(page), null, 'the expired session is kept');
    await shot(page, '10-login-expired', false);
  } finally {
    await c.ctx.close();
  }
});

test('a session ended elsewhere returns to the login form at the next request', async () => {
  const { page } = main;
  await visit(main, '#/tokens');   /* no request of the page may still be under way */
  const token = await sessionToken(page);
  assert.equal((await call('POST', '/auth/logout', token)).status, 200);
  await page.click('#nav a[data-nav="teams"]');
  await view(page, 'view-login');
  await eventually(async () => assert.match(await page.textContent('#login-message'), /Please log in again/));
  assert.equal(await sessionToken(page), null);
});

test('log out: the session is forgotten and refused by the server', async () => {
  const { page } = main;
  await signIn(page, ADMIN);
  const token = await sessionToken(page);
  await page.click('#logout');
  await view(page, 'view-login');
  assert.match(await page.textContent('#login-message'), /logged out/);
  assert.equal(await sessionToken(page), null);
  assert.equal((await call('GET', '/auth/me', token)).status, 401, 'the server still takes the session');
  await signIn(page, ADMIN);
  S.session = await sessionToken(page);
});

/* ------------------------------------------------------------ layout, CSP, a11y */

/* The routes every view is reached by, for the layout and CSP cases. */
function allRoutes() {
  return ['#/tokens', '#/tokens/new', `#/tokens/${S.ci?.id}`, '#/teams', `#/teams/${S.teamId}`,
    '#/admin/tokens', '#/admin/users', '#/admin/audit'];
}

/* The view section of a route. */
function viewOf(hash) {
  if (hash === '#/tokens') return 'view-tokens';
  if (hash.endsWith('/new')) return 'view-form';
  if (hash === '#/teams') return 'view-teams';
  if (hash.startsWith('#/teams/')) return 'view-team';
  if (hash.startsWith('#/admin')) return 'view-admin';
  return 'view-details';
}

/* Go to a route and wait until its view is shown and drawn: no API
   request in flight and no element aria-busy over three consecutive
   rendered frame pairs (the page's own progress, not a fixed time). */
async function visit(c, hash) {
  await go(c.page, hash);
  await view(c.page, viewOf(hash));
  let quiet = 0;
  const end = Date.now() + 20000;
  while (quiet < 3) {
    if (Date.now() > end) {
      const names = [...c.log.pending.keys()].map((r) => `${r.method()} ${new URL(r.url()).pathname}`);
      throw new Error(`${hash}: API requests still in flight (${c.log.inflight}: ${names.join(', ')}; busy ${await c.page.locator('[aria-busy="true"]').count()})`);
    }
    await frames(c.page);
    const busy = await c.page.locator('[aria-busy="true"]').count();
    quiet = c.log.inflight === 0 && busy === 0 ? quiet + 1 : 0;
  }
}

test('360 px wide: no view scrolls sideways', async () => {
  const c = await open({ width: 360, height: 740 });
  try {
    const { page } = c;
    await signIn(page, ADMIN);
    const wide = [];
    for (const hash of allRoutes()) {
      await visit(c, hash);
      const { sw, cw } = await page.evaluate(() => ({
        sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
      }));
      if (sw > cw) wide.push(`${hash}: ${sw} > ${cw}`);
      if (hash === '#/tokens') await shot(page, '11-mobile-list');
      if (hash.startsWith('#/tokens/') && !hash.endsWith('new')) await shot(page, '12-mobile-details');
      if (hash === '#/admin/audit') await shot(page, '13-mobile-audit');
    }
    assert.deepEqual(wide, [], 'horizontal overflow');
  } finally {
    await c.ctx.close();
  }
});

test('frame-ancestors \'none\': no other page can show the admin page in a frame', async () => {
  /* a page of another origin (about:blank) frames the admin page, served
     once with the samples' CSP and once without frame-ancestors (the
     control: the frame loads); own contexts, so that the refusal Chromium
     logs is not one of the page's console errors */
  const framed = async (csp) => {
    const ctx = await browser.newContext();
    try {
      await ctx.route((url) => url.href.startsWith(ORIGIN), servedWith(csp));
      const page = await ctx.newPage();
      const shown = page.waitForEvent('framenavigated', (f) => f !== page.mainFrame());
      await page.setContent(`<iframe src="${BASE}" width="800" height="600"></iframe>`);
      const frame = await shown;
      await frame.waitForLoadState('load').catch(() => {});
      return frame.url().startsWith(ORIGIN) &&
        (await frame.evaluate(() => document.title).catch(() => null)) === 'tokencat';
    } finally {
      await ctx.close();
    }
  };
  assert.equal(await framed("default-src 'self'"), true, 'the control: without frame-ancestors the frame loads');
  assert.equal(await framed(CSP), false, 'the page was shown in a frame');
});

test('CSP default-src \'self\': every view loads without console errors or violations', async () => {
  const c = await open();
  try {
    const { page, log } = c;
    const res = await page.goto(BASE);
    assert.equal(res.headers()['content-security-policy'], CSP, 'the page was not served with the CSP');
    await view(page, 'view-login');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'app.css was not applied');
    await page.fill('#login-email', ADMIN);
    await page.fill('#login-password', PASSWORDS[ADMIN]);
    await page.click('#login-form button[type="submit"]');
    await view(page, 'view-tokens');
    for (const hash of allRoutes()) await visit(c, hash);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'CSP violations');
    assert.deepEqual(log.console, [], 'console errors');
  } finally {
    await c.ctx.close();
  }
});

test('accessibility: every control is labelled, every button named', async () => {
  const { page } = main;
  await go(page, '#/tokens/new');
  await view(page, 'view-form');
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      if (!el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
        out.push(`${el.tagName.toLowerCase()}#${el.id || '?'}`);
      }
    }
    for (const b of document.querySelectorAll('button, a[href]')) {
      if (!b.textContent.trim() && !b.getAttribute('aria-label')) out.push(`unnamed ${b.outerHTML.slice(0, 60)}`);
    }
    for (const d of document.querySelectorAll('dialog')) {
      if (!d.getAttribute('aria-labelledby')) out.push(`dialog#${d.id} has no label`);
    }
    return out;
  });
  assert.deepEqual(bad, []);
});

test('no uncaught script error and no CSP refusal in any page', async () => {
  assert.deepEqual(pageErrors, [], 'uncaught errors');
  assert.deepEqual(cspConsole, [], 'CSP refusals');
  assert.deepEqual(routeErrors, [], 'files that could not be served with the CSP');
});

/* ------------------------------------------------------------ run */

async function run() {
  let passed = 0;
  let failed = 0;
  /* --no-sandbox: CI runs as root. The rest keeps Chromium off the
     network it cannot reach here (it would try, and log, at every start). */
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  api = await pwRequest.newContext({ baseURL: BASE });
  main = await open();
  for (const c of cases) {
    const t0 = Date.now();
    try {
      await c.fn();
      passed++;
      console.log(`ok    ${c.name} (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL  ${c.name} (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
      console.log(String(e && e.stack ? e.stack : e).split('\n').slice(0, 12).map((l) => `    | ${l}`).join('\n'));
      const slug = c.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 50);
      await main.page.screenshot({ path: path.join(SHOTS, `FAIL-${slug}.png`), fullPage: true }).catch(() => {});
    }
  }
  await browser.close();
  await api.dispose();
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

run().then((rc) => process.exit(rc), (e) => {
  console.log(`admin_page.mjs: ${e && e.stack ? e.stack : e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
