/*
 * tokens.js - "My tokens" (#view-tokens) and one token's page
 * (#view-details): the paginated list with its name filter, the details
 * with revocation and created_by, usage statistics and charts, and the
 * actions deactivate/activate, rotate (show once again) and revoke.
 *
 * tokenTable() is shared with the team and admin views.
 */

import { request, seg, fetchAll } from './api.js';
import {
  byId, h, replace, showAlert, viewAlert, toast, renderPager, table, td, empty, latest,
} from './dom.js';
import {
  statusBadge, tokenStatus, restrictionChips, timeEl, tagChips, windowText, limitsText,
} from './format.js';
import { confirmDialog, revokeDialog, showOnce } from './dialogs.js';
import { dailyChart, endpointsChart } from './chart.js';
import { myEmail, teamName, rememberTeams } from './state.js';

const PAGE = 20;

/* The list's state, kept while moving between views. */
const list = { offset: 0, query: '', inactive: false };
const listTurn = latest();

let navigate = () => {};

/** Wire the list's filter controls once; go(hash) navigates. */
export function initTokens(go) {
  navigate = go;
  let timer = 0;
  const q = byId('tokens-q');
  q.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      list.query = q.value.trim();
      list.offset = 0;
      loadList();
    }, 250);
  });
  byId('tokens-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    list.query = q.value.trim();
    list.offset = 0;
    loadList();
  });
  byId('tokens-inactive').addEventListener('change', (e) => {
    list.inactive = e.target.checked;
    list.offset = 0;
    loadList();
  });
}

/* ------------------------------------------------------------ shared table */

/**
 * A table of tokens. Options:
 *   owner    show the owner column
 *   link     (t) -> true when the name links to the details page
 *   revoke   (t) -> a function revoking t, or null for no button
 */
export function tokenTable(tokens, { owner = false, link = () => false, revoke = () => null } = {}) {
  const headers = ['Name', owner ? 'Owner' : null, 'Team', 'Status', 'Expires', 'Last used',
    'Restrictions', 'Actions'].filter(Boolean);
  const anyAction = tokens.some((t) => revoke(t));
  if (!anyAction) headers.pop();
  const rows = tokens.map((t) => {
    const mine = t.user_email === myEmail();
    const name = link(t)
      ? h('a', { href: `#/tokens/${t.id}` }, t.name)
      : h('strong', null, t.name);
    const doRevoke = revoke(t);
    return h('tr', { dataset: { tokenId: t.id } },
      h('td', { class: 'cell-name', 'data-label': 'Name' }, name,
        t.description ? h('div', { class: 'sub' }, t.description) : null,
        !owner && !mine ? h('div', { class: 'sub' }, `owner: ${t.user_email}`) : null),
      owner ? td('Owner', t.user_email,
        t.created_by !== t.user_email ? h('div', { class: 'sub' }, `by ${t.created_by}`) : null) : null,
      td('Team', t.team_id ? teamName(t.team_id) : h('span', { class: 'muted' }, 'personal')),
      td('Status', statusBadge(t)),
      td('Expires', timeEl(t.expires_at, { ifNull: 'never', dateOnly: true })),
      td('Last used', timeEl(t.last_used, { ifNull: 'never' })),
      td('Restrictions', restrictionChips(t)),
      anyAction ? td('Actions', doRevoke
        ? h('button', { type: 'button', class: 'button small danger', onclick: doRevoke,
          'aria-label': `Revoke ${t.name}` }, 'Revoke')
        : null) : null);
  });
  return h('div', { class: 'table-card' }, table(headers, rows));
}

/**
 * Open the revocation dialog for t; path is the DELETE to use
 * (/tokens/{id}, or /tokens/admin/{id} for an administrator). Calls
 * after() once revoked.
 */
export async function revokeToken(t, path, after) {
  const done = await revokeDialog({
    what: `\u201c${t.name}\u201d of ${t.user_email}`,
    run: (reason) => request('DELETE', path, { body: reason ? { reason } : undefined }),
  });
  if (done) {
    toast(`Token \u201c${t.name}\u201d revoked.`);
    after();
  }
}

/* ------------------------------------------------------------ the list */

/** Show the list view (current filters kept). */
export function showList(isCurrent) {
  byId('tokens-q').value = list.query;
  byId('tokens-inactive').checked = list.inactive;
  return loadList(isCurrent);
}

/* One page of the list: the server's page when there is no filter; with a
   name filter, all tokens are fetched and filtered and paged here (the
   API has no name filter). */
async function fetchPage() {
  const query = { include_inactive: list.inactive ? 'true' : 'false' };
  if (!list.query) {
    return request('GET', '/tokens', { query: { ...query, limit: PAGE, offset: list.offset } });
  }
  const all = await fetchAll((limit, offset) =>
    request('GET', '/tokens', { query: { ...query, limit, offset } }), 'tokens');
  const needle = list.query.toLowerCase();
  const hits = all.filter((t) => t.name.toLowerCase().includes(needle));
  return { tokens: hits.slice(list.offset, list.offset + PAGE), total: hits.length,
    limit: PAGE, offset: list.offset };
}

async function loadList(isCurrent = () => true) {
  const fresh = listTurn();
  const section = byId('view-tokens');
  const box = byId('tokens-table');
  box.setAttribute('aria-busy', 'true');
  try {
    const [page] = await Promise.all([fetchPage(), loadTeamNames()]);
    if (!isCurrent() || !fresh()) return;
    showAlert(viewAlert(section), null);
    if (!page.tokens.length && page.offset > 0) {
      list.offset = Math.max(0, page.offset - PAGE);
      return loadList(isCurrent);
    }
    replace(box, page.tokens.length ? tokenTable(page.tokens, {
      link: (t) => t.user_email === myEmail(),
    }) : emptyList());
    renderPager(byId('tokens-pager'), { ...page, limit: PAGE, count: page.tokens.length }, (off) => {
      list.offset = off;
      loadList();
    });
  } catch (err) {
    if (isCurrent() && fresh()) showAlert(viewAlert(section), err);
  } finally {
    if (fresh()) box.removeAttribute('aria-busy');
  }
}

/* The teams' names for the Team column (failures only cost the names). */
async function loadTeamNames() {
  try {
    rememberTeams(await request('GET', '/teams'));
  } catch {
    /* the column then shows shortened ids */
  }
}

function emptyList() {
  if (list.query) return empty(`No token name contains \u201c${list.query}\u201d.`);
  return empty(list.inactive ? 'You have no tokens yet.' : 'You have no active tokens.',
    h('a', { class: 'button primary', href: '#/tokens/new' }, 'Create your first token'));
}

/* ------------------------------------------------------------ details */

let current = null;   /* the token shown in the details view */

/** Show token id: its details, restrictions, revocation and usage. */
export async function showDetails(id, isCurrent) {
  const section = byId('view-details');
  if (!current || current.id !== id) {   /* another token: do not show the last one meanwhile */
    current = null;
    usage = null;
    byId('details-title').textContent = 'Token';
    replace(byId('details-badges'));
    replace(byId('details-info'));
    replace(byId('details-scope'));
    replace(byId('usage-body'));
    byId('details-actions').hidden = true;
    byId('details-revocation').hidden = true;
  }
  try {
    const [t] = await Promise.all([request('GET', `/tokens/${seg(id)}`), loadTeamNames()]);
    if (!isCurrent()) return;
    showAlert(viewAlert(section), null);
    current = t;
    renderDetails(t);
    await loadUsage(isCurrent);
  } catch (err) {
    if (isCurrent()) showAlert(viewAlert(section), err);
  }
}

/* A <dt>/<dd> pair; value a string or node. */
function kv(term, value) {
  return [h('dt', null, term), h('dd', null, value)];
}

function renderDetails(t) {
  const status = tokenStatus(t);
  byId('details-title').textContent = t.name;
  replace(byId('details-badges'), statusBadge(t),
    t.team_id ? h('span', { class: 'badge' }, teamName(t.team_id)) : null);
  replace(byId('details-info'),
    kv('Description', t.description || h('span', { class: 'muted' }, '\u2014')),
    kv('Owner', t.user_email),
    kv('Created by', t.created_by),
    kv('Team', t.team_id ? teamName(t.team_id) : 'personal'),
    kv('Created', timeEl(t.created_at)),
    kv('Expires', timeEl(t.expires_at, { ifNull: 'never', withRelative: status !== 'revoked' })),
    kv('Last used', timeEl(t.last_used, { ifNull: 'never', withRelative: true })),
    kv('Tags', tagChips(t.tags)),
    kv('Id', h('code', null, t.id)));
  const none = () => h('span', { class: 'muted' }, 'none');
  replace(byId('details-scope'),
    kv('Permissions', t.resource_scopes.length
      ? h('span', { class: 'chips' }, t.resource_scopes.map((p) => h('code', { class: 'chip' }, p)))
      : h('span', { class: 'muted' }, "the owner's permissions")),
    kv('Server', t.server_id ? h('code', null, t.server_id) : none()),
    kv('Addresses', t.ip_restrictions.length
      ? h('span', { class: 'chips' }, t.ip_restrictions.map((a) => h('code', { class: 'chip' }, a)))
      : h('span', { class: 'muted' }, 'any')),
    kv('Time window', windowText(t.time_restrictions) || h('span', { class: 'muted' }, 'any time')),
    kv('Usage limits', limitsText(t.usage_limits) || none()));
  byId('details-revocation').hidden = !t.is_revoked;
  if (t.is_revoked) {
    replace(byId('details-rev'),
      kv('Revoked', timeEl(t.revoked_at)),
      kv('By', t.revoked_by || '\u2014'),
      kv('Reason', t.revocation_reason || '\u2014'));
  }
  const actions = byId('details-actions');
  actions.hidden = t.is_revoked;
  byId('details-edit').href = `#/tokens/${t.id}/edit`;
  byId('details-toggle').textContent = t.is_active ? 'Deactivate' : 'Activate';
  byId('details-rotate').hidden = status !== 'active';
}

/* ------------------------------------------------------------ actions */

/** Wire the details buttons once. */
export function initDetails() {
  byId('details-toggle').addEventListener('click', toggleActive);
  byId('details-rotate').addEventListener('click', rotate);
  byId('details-revoke').addEventListener('click', () => {
    const t = current;
    if (t) revokeToken(t, `/tokens/${seg(t.id)}`, () => navigate(`#/tokens/${t.id}`));
  });
  byId('usage-days').addEventListener('change', () => loadUsage());
  let timer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { if (!byId('view-details').hidden) drawUsage(); }, 150);
  });
}

/* PUT is_active: deactivation applies at once to the issued token. */
async function toggleActive() {
  const t = current;
  if (!t) return;
  const section = byId('view-details');
  try {
    const out = await request('PUT', `/tokens/${seg(t.id)}`, { body: { is_active: !t.is_active } });
    current = out;
    renderDetails(out);
    toast(out.is_active ? `Token \u201c${out.name}\u201d activated.` : `Token \u201c${out.name}\u201d deactivated.`);
  } catch (err) {
    showAlert(viewAlert(section), err);
  }
}

/* POST /rotate after a confirmation: the old token is revoked at once and
   the successor's raw token is shown once. */
async function rotate() {
  const t = current;
  if (!t) return;
  const ok = await confirmDialog({
    title: `Rotate \u201c${t.name}\u201d?`,
    text: 'A new token with the same name, team, scope and expiry replaces this one. ' +
      'The current token is revoked at once; update every place that uses it.',
    ok: 'Rotate token',
  });
  if (!ok) return;
  try {
    const out = await request('POST', `/tokens/${seg(t.id)}/rotate`);
    await showOnce({
      title: 'Your rotated token',
      sub: `\u201c${out.token.name}\u201d replaces the revoked one.`,
      token: out.access_token,
    });
    toast(`Token \u201c${out.token.name}\u201d rotated.`);
    navigate(`#/tokens/${out.token.id}`);
  } catch (err) {
    showAlert(viewAlert(byId('view-details')), err);
  }
}

/* ------------------------------------------------------------ usage */

let usage = null;     /* the statistics drawn, to redraw at a new width */

/* GET /usage for the chosen period and draw it. */
async function loadUsage(isCurrent = () => true) {
  const t = current;
  if (!t) return;
  const days = byId('usage-days').value;
  const err = byId('usage-error');
  try {
    const u = await request('GET', `/tokens/${seg(t.id)}/usage`, { query: { days } });
    if (!isCurrent() || current !== t) return;
    showAlert(err, null);
    usage = u;
    drawUsage();
  } catch (e) {
    if (isCurrent()) showAlert(err, e);
  }
}

/* Draw the statistics and charts of `usage` at the card's width (the two
   charts share a row from 900 px, 3:2, as app.css lays them out). */
function drawUsage() {
  const body = byId('usage-body');
  if (!usage) return;
  const w = body.clientWidth;
  const side = window.matchMedia('(min-width: 900px)').matches;
  const gap = 20;
  replace(body, usageStats(usage), h('div', { class: 'charts' },
    dailyChart(usage.daily, side ? (w - gap) * 0.6 : w),
    endpointsChart(usage.top_endpoints, side ? (w - gap) * 0.4 : w)));
}

/* The five figures of TokenUsageStats as tiles. */
function usageStats(u) {
  const tile = (value, label, cls) => h('div', { class: `stat ${cls || ''}`.trim(), dataset: { stat: cls || label } },
    h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
  const pct = u.total_requests ? `${Math.round(u.success_rate * 1000) / 10}%` : '\u2014';
  return h('div', { class: 'stats' },
    tile(String(u.total_requests), 'Requests', 'total'),
    tile(String(u.successful_requests), 'Allowed', 'allowed'),
    tile(String(u.blocked_requests), 'Blocked', 'blocked'),
    tile(pct, 'Success rate', 'rate'),
    tile(u.total_requests ? `${u.average_response_time_ms} ms` : '\u2014', 'Avg. decision time', 'time'));
}
