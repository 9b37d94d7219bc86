/*
 * app.js - the entry point of the tokencat admin page: logging in and
 * out, the hash router that shows one view at a time, and the header.
 *
 * Flow: at start, a session kept in sessionStorage is checked with
 * GET /auth/me; without one (or when it is refused) the login form is
 * shown. Any 401 later (an expired or revoked session) comes back here
 * through onUnauthorized() and shows the login form with a message.
 *
 * Routes (location.hash):
 *   #/tokens                 my tokens          tokens.js
 *   #/tokens/new[?team=ID|?for=user]  create    tokenform.js
 *   #/tokens/ID              details and usage  tokens.js
 *   #/tokens/ID/edit         edit               tokenform.js
 *   #/teams, #/teams/ID      teams              teams.js
 *   #/admin/tokens|users|audit[?owner=EMAIL]   admin.js (administrators)
 */

import { request, getSession, saveSession, clearSession, onUnauthorized } from './api.js';
import {
  byId, ticket, clearFormErrors, showProblems, showApiError,
} from './dom.js';
import { state, isAdmin, rememberTeams } from './state.js';
import { initTokens, initDetails, showList, showDetails } from './tokens.js';
import { initTokenForm, showCreate, showEdit, resetTokenForm } from './tokenform.js';
import { initTeams, showTeams, showTeam } from './teams.js';
import { initAdmin, showAdmin } from './admin.js';
import { checkEmail } from './validate.js';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/*
 * The route table: pattern on the path part of the hash, the view
 * section, the nav entry it belongs to, whether it needs an
 * administrator, and the function showing it (match, params, isCurrent).
 */
const ROUTES = [
  { re: /^\/tokens$/, view: 'view-tokens', nav: 'tokens', show: (m, p, cur) => showList(cur) },
  { re: /^\/tokens\/new$/, view: 'view-form', nav: 'tokens', show: (m, p, cur) => showCreate(p, cur) },
  { re: new RegExp(`^/tokens/(${UUID})$`), view: 'view-details', nav: 'tokens', show: (m, p, cur) => showDetails(m[1], cur) },
  { re: new RegExp(`^/tokens/(${UUID})/edit$`), view: 'view-form', nav: 'tokens', show: (m, p, cur) => showEdit(m[1], cur) },
  { re: /^\/teams$/, view: 'view-teams', nav: 'teams', show: (m, p, cur) => showTeams(cur) },
  { re: /^\/teams\/([0-9a-f]{32})$/, view: 'view-team', nav: 'teams', show: (m, p, cur) => showTeam(m[1], cur) },
  { re: /^\/admin\/(tokens|users|audit)$/, view: 'view-admin', nav: 'admin', admin: true, show: (m, p, cur) => showAdmin(m[1], p, cur) },
];
const HOME = '#/tokens';

/* ------------------------------------------------------------ views */

/* Show one view section, hide the others, mark the nav entry, and move
   focus to the view's heading so screen readers announce it. */
function showView(id, nav, { focus = true } = {}) {
  for (const v of document.querySelectorAll('main > .view')) v.hidden = v.id !== id;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const heading = byId(id).querySelector('h1');
  if (focus && heading) heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/**
 * Show the view of location.hash (HOME for anything unknown, and for
 * admin routes when the user is not an administrator).
 */
function route() {
  if (!state.me) return;
  const hash = location.hash || HOME;
  if (!hash.startsWith('#/')) return;   /* "#main" from the skip link */
  const [path, qs] = hash.slice(1).split('?');
  const params = new URLSearchParams(qs || '');
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (!m) continue;
    if (r.admin && !isAdmin()) break;
    showView(r.view, r.nav);
    r.show(m, params, ticket());
    return;
  }
  if (location.hash !== HOME) location.replace(HOME);
  else {
    showView('view-tokens', 'tokens');
    showList(ticket());
  }
}

/** Go to hash; when it is already the current one, show it again. */
export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/* ------------------------------------------------------------ login */

/* Show the login form, with an optional message (why we are here). */
function showLogin(message) {
  state.me = null;
  state.teamNames.clear();
  resetTokenForm();
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  byId('nav').hidden = true;
  byId('who').hidden = true;
  const msg = byId('login-message');
  msg.textContent = message || '';
  msg.hidden = !message;
  const form = byId('login-form');
  clearFormErrors(form);
  byId('login-password').value = '';
  showView('view-login', null, { focus: false });
  const email = byId('login-email');
  (email.value ? byId('login-password') : email).focus();
}

/* The login form's submit: POST /auth/login, keep the session, go on. */
async function login(e) {
  e.preventDefault();
  const form = byId('login-form');
  const email = byId('login-email').value.trim();
  const password = byId('login-password').value;
  const problems = [];
  if (checkEmail(email)) problems.push({ field: 'email', message: 'enter your e-mail address' });
  if (!password) problems.push({ field: 'password', message: 'enter your password' });
  if (showProblems(form, problems)) return;
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const out = await request('POST', '/auth/login', { body: { email, password }, auth: false });
    saveSession(out);
    byId('login-message').hidden = true;
    await start();
  } catch (err) {
    showApiError(form, err);
    byId('login-password').select();
  } finally {
    button.disabled = false;
  }
}

/* The header's "Log out": POST /auth/logout revokes the session on the
   server; the page forgets it either way. */
async function logout() {
  try {
    await request('POST', '/auth/logout');
  } catch {
    /* an expired session is logged out already */
  }
  clearSession();
  showLogin('You have logged out.');
}

/* ------------------------------------------------------------ start */

/**
 * With a stored session: read /auth/me, fill the header, show the route.
 * A refused session ends in the login form (through onUnauthorized).
 */
async function start() {
  try {
    state.me = await request('GET', '/auth/me');
  } catch (err) {
    if (!err.handled) showLogin(err.detail);
    return;
  }
  rememberTeams(state.me.teams);
  const who = byId('who-email');
  who.textContent = state.me.user.email;
  who.title = state.me.user.full_name || state.me.user.email;
  byId('who-admin').hidden = !isAdmin();
  byId('nav-admin').hidden = !isAdmin();
  for (const el of document.querySelectorAll('.admin-only')) el.hidden = !isAdmin();
  byId('nav').hidden = false;
  byId('who').hidden = false;
  route();
}

function init() {
  initTokens(navigate);
  initDetails();
  initTokenForm(navigate);
  initTeams(navigate);
  initAdmin();
  byId('login-form').addEventListener('submit', login);
  byId('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  onUnauthorized(() => showLogin('Your session has expired or was ended. Please log in again.'));
  if (getSession()) start();
  else showLogin();
}

init();
