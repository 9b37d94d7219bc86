/*
 * admin.js - "Administration" (#view-admin), for un-narrowed
 * administrators only (the nav hides it from everybody else, and the API
 * answers 403 anyway): every user's tokens with an owner filter and
 * revoke, the users (list, create, disable/enable), and the audit log.
 * Creating a token for another user is the token form with its Owner
 * field (#/tokens/new?for=user).
 */

import { request, seg } from './api.js';
import {
  byId, h, replace, showAlert, viewAlert, toast, renderPager, table, td, empty,
  clearFormErrors, showProblems, showApiError, latest,
} from './dom.js';
import { timeEl } from './format.js';
import { confirmDialog } from './dialogs.js';
import { tokenTable, revokeToken } from './tokens.js';
import { myEmail, rememberTeams } from './state.js';
import { checkEmail, chars } from './validate.js';

const PAGE = 25;
const tokens = { owner: '', inactive: false, offset: 0 };
const users = { offset: 0 };
const audit = { user: '', offset: 0 };
const turns = { tokens: latest(), users: latest(), audit: latest() };

/* The panel shown, for reloads after an action. */
let tab = 'tokens';
let isCurrent = () => true;

/** Wire the filters and the user form once. */
export function initAdmin() {
  byId('admin-tokens-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    tokens.owner = byId('admin-owner').value.trim();
    tokens.inactive = byId('admin-inactive').checked;
    tokens.offset = 0;
    loadTokens();
  });
  byId('admin-inactive').addEventListener('change', (e) => {
    tokens.inactive = e.target.checked;
    tokens.offset = 0;
    loadTokens();
  });
  byId('audit-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    audit.user = byId('audit-user').value.trim();
    audit.offset = 0;
    loadAudit();
  });
  byId('user-create').addEventListener('submit', (e) => {
    e.preventDefault();
    createUser();
  });
}

/**
 * Show panel which ("tokens", "users", "audit"). params: owner=EMAIL
 * sets the owner filter of the token panel.
 */
export function showAdmin(which, params, current) {
  tab = which;
  isCurrent = current;
  for (const a of document.querySelectorAll('.tabs a')) {
    if (a.dataset.tab === which) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const p of byId('view-admin').querySelectorAll('[data-panel]')) p.hidden = p.dataset.panel !== which;
  showAlert(viewAlert(byId('view-admin')), null);
  loadUserList();
  if (which === 'tokens') {
    if (params.has('owner')) {
      tokens.owner = params.get('owner');
      tokens.offset = 0;
    }
    byId('admin-owner').value = tokens.owner;
    byId('admin-inactive').checked = tokens.inactive;
    return loadTokens();
  }
  if (which === 'users') return loadUsers();
  byId('audit-user').value = audit.user;
  return loadAudit();
}

/* Show err in the view's alert (unless the user moved on). */
function fail(err) {
  if (isCurrent()) showAlert(viewAlert(byId('view-admin')), err);
}

/* ------------------------------------------------------------ all tokens */

async function loadTokens() {
  const fresh = turns.tokens();
  try {
    const [page, teams] = await Promise.all([
      request('GET', '/tokens/admin/all', {
        query: { user_email: tokens.owner, include_inactive: String(tokens.inactive), limit: PAGE, offset: tokens.offset },
      }),
      request('GET', '/teams', { query: { all: 'true' } }),
    ]);
    if (!isCurrent() || !fresh() || tab !== 'tokens') return;
    rememberTeams(teams);
    replace(byId('admin-tokens-table'), page.tokens.length ? tokenTable(page.tokens, {
      owner: true,
      link: (t) => t.user_email === myEmail(),
      revoke: (t) => (t.is_revoked ? null
        : () => revokeToken(t, `/tokens/admin/${seg(t.id)}`, loadTokens)),
    }) : empty(tokens.owner ? `No tokens of ${tokens.owner}.` : 'No tokens.'));
    renderPager(byId('admin-tokens-pager'), { ...page, count: page.tokens.length }, (off) => {
      tokens.offset = off;
      loadTokens();
    });
  } catch (err) {
    fail(err);
  }
}

/* ------------------------------------------------------------ users */

/* Fill the e-mail suggestions of the filters (first 1000 users). */
async function loadUserList() {
  try {
    const page = await request('GET', '/admin/users', { query: { limit: 1000 } });
    replace(byId('admin-user-list'), page.users.map((u) => h('option', { value: u.email }, u.full_name || u.email)));
  } catch {
    /* suggestions only */
  }
}

async function loadUsers() {
  const fresh = turns.users();
  try {
    const page = await request('GET', '/admin/users', { query: { limit: PAGE, offset: users.offset } });
    if (!isCurrent() || !fresh() || tab !== 'users') return;
    const rows = page.users.map((u) => h('tr', { dataset: { email: u.email } },
      h('td', { class: 'cell-name', 'data-label': 'User' }, h('strong', null, u.email),
        u.full_name ? h('div', { class: 'sub' }, u.full_name) : null),
      td('Role', u.is_admin ? h('span', { class: 'badge badge-admin' }, 'admin') : 'user'),
      td('Status', h('span', { class: `badge badge-${u.is_active ? 'active' : 'inactive'}` },
        u.is_active ? 'active' : 'disabled')),
      td('Created', timeEl(u.created_at, { dateOnly: true })),
      td('Actions', u.email === myEmail() ? h('span', { class: 'muted' }, 'you')
        : h('button', {
          type: 'button', class: `button small ${u.is_active ? 'danger' : ''}`,
          'aria-label': `${u.is_active ? 'Disable' : 'Enable'} ${u.email}`,
          onclick: () => setActive(u, !u.is_active),
        }, u.is_active ? 'Disable' : 'Enable'))));
    replace(byId('admin-users-table'), h('div', { class: 'table-card' },
      table(['User', 'Role', 'Status', 'Created', 'Actions'], rows)));
    renderPager(byId('admin-users-pager'), { ...page, count: page.users.length }, (off) => {
      users.offset = off;
      loadUsers();
    });
  } catch (err) {
    fail(err);
  }
}

/* PATCH is_active; disabling asks first (all sessions and tokens stop). */
async function setActive(u, active) {
  if (!active) {
    const ok = await confirmDialog({
      title: `Disable ${u.email}?`,
      text: 'Their sessions and all their API tokens are refused at once. You can enable the account again later.',
      ok: 'Disable user',
      danger: true,
    });
    if (!ok) return;
  }
  try {
    await request('PATCH', `/admin/users/${seg(u.email)}`, { body: { is_active: active } });
    toast(`${u.email} ${active ? 'enabled' : 'disabled'}.`);
    loadUsers();
  } catch (err) {
    fail(err);
  }
}

/* POST /admin/users. */
async function createUser() {
  const form = byId('user-create');
  const body = {
    email: byId('user-email').value.trim(),
    full_name: byId('user-name').value.trim(),
    password: byId('user-password').value,
    is_admin: byId('user-admin').checked,
  };
  const problems = [];
  if (checkEmail(body.email)) problems.push({ field: 'email', message: checkEmail(body.email) });
  if (chars(body.full_name) > 255) problems.push({ field: 'full_name', message: 'must be at most 255 characters' });
  if (chars(body.password) < 12) problems.push({ field: 'password', message: 'must be at least 12 characters' });
  if (showProblems(form, problems)) return;
  if (!body.full_name) delete body.full_name;
  try {
    const u = await request('POST', '/admin/users', { body });
    form.reset();
    clearFormErrors(form);
    toast(`User ${u.email} created.`);
    loadUsers();
    loadUserList();
  } catch (err) {
    showApiError(form, err);
  }
}

/* ------------------------------------------------------------ audit */

async function loadAudit() {
  const fresh = turns.audit();
  try {
    const page = await request('GET', '/tokens/admin/audit', {
      query: { user_email: audit.user, limit: PAGE, offset: audit.offset },
    });
    if (!isCurrent() || !fresh() || tab !== 'audit') return;
    const rows = page.events.map((e) => h('tr', null,
      td('When', timeEl(e.at)),
      td('Actor', e.actor),
      td('Action', h('code', null, e.action)),
      td('User', e.target_user || h('span', { class: 'muted' }, '\u2014')),
      td('Token', e.token_id ? h('code', { title: e.token_id }, e.token_id.slice(0, 8)) : h('span', { class: 'muted' }, '\u2014')),
      td('Detail', e.detail || '')));
    replace(byId('audit-table'), rows.length
      ? h('div', { class: 'table-card' }, table(['When', 'Actor', 'Action', 'User', 'Token', 'Detail'], rows))
      : empty('No events.'));
    renderPager(byId('audit-pager'), { ...page, count: page.events.length }, (off) => {
      audit.offset = off;
      loadAudit();
    });
  } catch (err) {
    fail(err);
  }
}
