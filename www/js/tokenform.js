/*
 * tokenform.js - the "New token" and "Edit token" form (#view-form).
 *
 * One form serves both: in create mode it POSTs /tokens and shows the raw
 * token once; in edit mode it PUTs /tokens/{id} with only what changed
 * (the whole scope when any scope field changed, since a PUT scope
 * replaces all five parts, API.md 5.2). readForm() turns the controls into
 * the API body and lists client-side problems with the data-field path of
 * each, the same paths the server's 422 details use.
 */

import { request, seg } from './api.js';
import {
  byId, h, replace, clearFormErrors, showProblems, showApiError, toast, showAlert,
} from './dom.js';
import {
  chars, checkPermission, checkIpEntry, checkClock, checkTimeZone, intField,
  splitList, parseTags, checkEmail,
} from './validate.js';
import { showOnce } from './dialogs.js';
import { tagText, fmtDateTime } from './format.js';
import { isAdmin, myEmail, teamName, loadFormTeams, maxDays, learnMaxDays } from './state.js';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const LIMIT_MAX = 1000000000;

const form = () => byId('token-form');

/* The token being edited (edit mode), and the body the form gave right
   after it was filled, to send only what the user changed. */
let editing = null;
let initial = null;

/* Where to go after a save; set by showCreate/showEdit. */
let navigate = () => {};

/* ------------------------------------------------------------ set-up */

/** Build the static parts once: day checkboxes, zone list, listeners. */
export function initTokenForm(go) {
  navigate = go;
  replace(byId('f-days-list'), DAYS.map((d) =>
    h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: d, name: 'day' }), d.slice(0, 3))));
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  replace(byId('f-tz-list'), ['UTC', ...zones].map((z) => h('option', { value: z })));
  byId('f-days').addEventListener('input', showExpiryDate);
  form().addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
}

/* "Expires on ..." under the days field, as the user types. */
function showExpiryDate() {
  const n = intField(byId('f-days').value, 1, maxDays());
  const out = byId('f-days-date');
  if (Number.isNaN(n) || n === null) {
    out.textContent = '';
    return;
  }
  const at = new Date(Date.now() + n * 86400000);
  out.textContent = `Expires on ${at.toLocaleDateString(undefined, { dateStyle: 'medium' })}.`;
}

/* Show the controls of one mode (data-mode="create"/"edit"). */
function setMode(mode) {
  const f = form();
  f.dataset.mode = mode;
  for (const el of f.querySelectorAll('[data-mode]')) el.hidden = el.dataset.mode !== mode;
  byId('f-owner-field').hidden = mode !== 'create' || !isAdmin();
}

/* Fill the team select: "no team" plus teams, with selected chosen. */
function fillTeams(teams, selected) {
  const select = byId('f-team');
  const mine = teams.filter((t) => t.role);
  const others = teams.filter((t) => !t.role);
  const opt = (t) => h('option', { value: t.id, selected: t.id === selected },
    t.role ? `${t.name} (${t.role})` : t.name);
  replace(select,
    h('option', { value: '' }, 'No team (personal)'),
    mine.length ? h('optgroup', { label: 'Your teams' }, mine.map(opt)) : null,
    others.length ? h('optgroup', { label: 'Other teams (administrator)' }, others.map(opt)) : null);
  if (selected && !teams.some((t) => t.id === selected)) {
    select.append(h('option', { value: selected, selected: true }, teamName(selected)));
  }
}

/* Offer the known users' e-mails in the owner field (admins). */
async function fillOwners() {
  try {
    const page = await request('GET', '/admin/users', { query: { limit: 1000 } });
    replace(byId('f-owner-list'), page.users.filter((u) => u.is_active)
      .map((u) => h('option', { value: u.email }, u.full_name || u.email)));
  } catch {
    /* only a convenience: the field takes any address */
  }
}

/** Empty every control and error. */
function reset() {
  const f = form();
  f.reset();
  clearFormErrors(f);
  for (const cb of f.querySelectorAll('input[name="day"]')) cb.checked = false;
  const days = byId('f-days');
  days.max = String(maxDays());
  byId('f-days-max').textContent = String(maxDays());
  days.value = String(Math.min(30, maxDays()));
  showExpiryDate();
}

/* ------------------------------------------------------------ create */

/**
 * Show an empty form to create a token. params (from the hash):
 * team=ID preselects a team; for=user opens it for delegation (admins).
 */
export async function showCreate(params, isCurrent) {
  editing = null;
  initial = null;
  reset();
  setMode('create');
  byId('form-title').textContent = params.get('for') === 'user' ? 'New token for a user' : 'New token';
  byId('form-submit').textContent = 'Create token';
  const back = params.get('team') ? `#/teams/${params.get('team')}` :
    params.get('for') === 'user' ? '#/admin/tokens' : '#/tokens';
  byId('form-back').href = back;
  byId('form-back').textContent = back.startsWith('#/teams') ? '\u2190 Team' :
    back.startsWith('#/admin') ? '\u2190 Administration' : '\u2190 My tokens';
  byId('form-cancel').href = back;
  fillTeams([], params.get('team') || '');
  if (isAdmin()) fillOwners();
  try {
    const teams = await loadFormTeams();
    if (isCurrent()) fillTeams(teams, params.get('team') || '');
  } catch (err) {
    if (isCurrent()) showAlert(form().querySelector('[data-form-error]'), err);
  }
  if (isCurrent() && params.get('for') === 'user' && isAdmin()) byId('f-owner').focus();
}

/* ------------------------------------------------------------ edit */

/** Load token id and show it in the form for editing. */
export async function showEdit(id, isCurrent) {
  editing = null;
  reset();
  setMode('edit');
  byId('form-title').textContent = 'Edit token';
  byId('form-submit').textContent = 'Save changes';
  byId('form-back').href = `#/tokens/${id}`;
  byId('form-back').textContent = '\u2190 Token';
  byId('form-cancel').href = `#/tokens/${id}`;
  const f = form();
  f.inert = true;
  try {
    const t = await request('GET', `/tokens/${seg(id)}`);
    if (!isCurrent()) return;
    editing = t;
    fill(t);
    initial = readForm().body;
  } catch (err) {
    if (isCurrent()) showAlert(f.querySelector('[data-form-error]'), err);
  } finally {
    f.inert = false;
  }
}

/* Put token t into the controls. */
function fill(t) {
  byId('form-title').textContent = `Edit \u201c${t.name}\u201d`;
  byId('f-name').value = t.name;
  byId('f-description').value = t.description || '';
  byId('f-tags').value = (t.tags || []).map(tagText).join(', ');
  byId('f-active').checked = t.is_active;
  byId('f-perms').value = (t.resource_scopes || []).join('\n');
  byId('f-server').value = t.server_id || '';
  byId('f-ips').value = (t.ip_restrictions || []).join('\n');
  const tr = t.time_restrictions || {};
  byId('f-start').value = tr.start_time || '';
  byId('f-end').value = tr.end_time || '';
  byId('f-tz').value = tr.timezone || '';
  for (const cb of form().querySelectorAll('input[name="day"]')) {
    cb.checked = Array.isArray(tr.days) && tr.days.includes(cb.value);
  }
  byId('f-business').checked = Boolean(tr.business_hours_only);
  byId('f-weekdays').checked = Boolean(tr.weekdays_only);
  const ul = t.usage_limits || {};
  byId('f-rpm').value = ul.requests_per_minute || '';
  byId('f-rph').value = ul.requests_per_hour || '';
  byId('f-rpd').value = ul.requests_per_day || '';
}

/* ------------------------------------------------------------ reading */

/**
 * The form as an API body, and the problems found: {body, problems}, each
 * problem {field, message} with field a data-field path. Empty optional
 * fields are left out of the body.
 */
export function readForm() {
  const problems = [];
  const bad = (field, message) => problems.push({ field, message });
  const mode = form().dataset.mode;
  const body = {};

  const name = byId('f-name').value.trim();
  if (chars(name) < 1 || chars(name) > 255) bad('name', 'must be 1 to 255 characters');
  body.name = name;

  const description = byId('f-description').value;
  if (chars(description) > 1000) bad('description', 'must be at most 1000 characters');
  if (description || mode === 'edit') body.description = description;

  const tags = parseTags(byId('f-tags').value);
  if (tags.problem) bad('tags', tags.problem);
  body.tags = tags.tags;

  if (mode === 'create') readCreateOnly(body, bad);
  else body.is_active = byId('f-active').checked;

  body.scope = readScope(bad);
  return { body, problems };
}

/* expires_in_days, team_id and user_email (create mode only). */
function readCreateOnly(body, bad) {
  const daysText = byId('f-days').value;
  const days = intField(daysText, 1, maxDays());
  if (Number.isNaN(days)) bad('expires_in_days', `must be a whole number from 1 to ${maxDays()}`);
  else if (days !== null) body.expires_in_days = days;

  const team = byId('f-team').value;
  if (team) body.team_id = team;

  const owner = byId('f-owner').value.trim();
  if (owner && isAdmin()) {
    const problem = checkEmail(owner);
    if (problem) bad('user_email', problem);
    body.user_email = owner;
  }
}

/* The scope object: permissions, server_id, ip_restrictions,
   time_restrictions, usage_limits (empty parts as empty values). */
function readScope(bad) {
  const scope = {};

  const perms = splitList(byId('f-perms').value);
  if (perms.length > 100) bad('scope.permissions', 'at most 100 entries');
  perms.forEach((p, i) => {
    const problem = checkPermission(p);
    if (problem) bad('scope.permissions', `${problem} (entry ${i + 1})`);
  });
  scope.permissions = perms;

  const server = byId('f-server').value.trim();
  if (chars(server) > 255) bad('scope.server_id', 'must be 1 to 255 characters');
  scope.server_id = server || null;

  const ips = splitList(byId('f-ips').value);
  if (ips.length > 100) bad('scope.ip_restrictions', 'at most 100 entries');
  ips.forEach((ip, i) => {
    const problem = checkIpEntry(ip);
    if (problem) bad('scope.ip_restrictions', `${problem} (entry ${i + 1})`);
  });
  scope.ip_restrictions = ips;

  scope.time_restrictions = readWindow(bad);
  scope.usage_limits = readLimits(bad);
  return scope;
}

/* time_restrictions from the window controls ({} when none). */
function readWindow(bad) {
  const tr = {};
  const start = byId('f-start').value;
  const end = byId('f-end').value;
  const tz = byId('f-tz').value.trim();
  if (start && checkClock(start)) bad('scope.time_restrictions.start_time', checkClock(start));
  if (end && checkClock(end)) bad('scope.time_restrictions.end_time', checkClock(end));
  if (Boolean(start) !== Boolean(end)) {
    bad(start ? 'scope.time_restrictions.end_time' : 'scope.time_restrictions.start_time',
      'start and end times go together');
  }
  if (start) tr.start_time = start;
  if (end) tr.end_time = end;
  if (tz) {
    const problem = checkTimeZone(tz);
    if (problem) bad('scope.time_restrictions.timezone', problem);
    tr.timezone = tz;
  }
  const days = [...form().querySelectorAll('input[name="day"]:checked')].map((cb) => cb.value);
  if (days.length) tr.days = days;
  if (byId('f-business').checked) tr.business_hours_only = true;
  if (byId('f-weekdays').checked) tr.weekdays_only = true;
  return tr;
}

/* usage_limits from the three number fields ({} when none). */
function readLimits(bad) {
  const ul = {};
  for (const [id, key] of [['f-rpm', 'requests_per_minute'], ['f-rph', 'requests_per_hour'],
    ['f-rpd', 'requests_per_day']]) {
    const n = intField(byId(id).value, 1, LIMIT_MAX);
    if (Number.isNaN(n)) bad(`scope.usage_limits.${key}`, 'must be a positive integer');
    else if (n !== null) ul[key] = n;
  }
  return ul;
}

/* ------------------------------------------------------------ saving */

/* The submit handler: check, then create or update. */
async function submit() {
  const f = form();
  if (f.dataset.mode === 'edit' && !editing) return;   /* the token did not load */
  const { body, problems } = readForm();
  if (showProblems(f, problems)) return;
  const button = byId('form-submit');
  button.disabled = true;
  try {
    if (f.dataset.mode === 'edit') await update(body);
    else await create(body);
  } catch (err) {
    if (learnMaxDays(err.detail)) {
      byId('f-days').max = String(maxDays());
      byId('f-days-max').textContent = String(maxDays());
    }
    showApiError(f, err);
  } finally {
    button.disabled = false;
  }
}

/* POST /tokens, show the raw token once, then go to the new token. */
async function create(body) {
  const scope = body.scope;
  if (!scope.permissions.length && !scope.ip_restrictions.length && !scope.server_id &&
      !Object.keys(scope.time_restrictions).length && !Object.keys(scope.usage_limits).length) {
    delete body.scope;
  }
  if (!body.tags.length) delete body.tags;
  const out = await request('POST', '/tokens', { body });
  const t = out.token;
  const forOther = t.user_email !== myEmail();
  await showOnce({
    title: 'Your new token',
    sub: forOther ? `\u201c${t.name}\u201d for ${t.user_email}. Hand it over safely.`
      : `\u201c${t.name}\u201d${t.expires_at ? ', valid until ' + fmtDateTime(t.expires_at) : ''}.`,
    token: out.access_token,
  });
  toast(`Token \u201c${t.name}\u201d created.`);
  if (forOther) navigate(`#/admin/tokens?owner=${encodeURIComponent(t.user_email)}`);
  else navigate(`#/tokens/${t.id}`);
}

/* PUT /tokens/{id} with the fields that changed since the form was filled. */
async function update(body) {
  const changed = {};
  for (const key of ['name', 'description', 'tags', 'is_active', 'scope']) {
    if (JSON.stringify(body[key]) !== JSON.stringify(initial[key])) changed[key] = body[key];
  }
  if (!Object.keys(changed).length) {
    toast('Nothing changed.');
    navigate(`#/tokens/${editing.id}`);
    return;
  }
  const t = await request('PUT', `/tokens/${seg(editing.id)}`, { body: changed });
  toast(`Token \u201c${t.name}\u201d saved.`);
  navigate(`#/tokens/${t.id}`);
}

/** Forget the token being edited and empty the form (at logout). */
export function resetTokenForm() {
  editing = null;
  initial = null;
  form().reset();
}
