/*
 * teams.js - "Teams" (#view-teams) and one team (#view-team): my teams and
 * my pending invitations (accept or decline), creating a team, a team's
 * members (administrators add and remove them; owners invite, remove, and
 * change a role by adding again; both see and withdraw the pending
 * invitations) and the team's tokens.
 */

import { request, seg, fetchAll } from './api.js';
import {
  byId, h, replace, showAlert, viewAlert, toast, table, td, empty,
  clearFormErrors, showProblems, showApiError,
} from './dom.js';
import { timeEl } from './format.js';
import { confirmDialog } from './dialogs.js';
import { tokenTable, revokeToken } from './tokens.js';
import { isAdmin, myEmail, rememberTeams } from './state.js';
import { checkEmail, chars } from './validate.js';

let navigate = () => {};
let shown = null;   /* the team of #view-team: a Team object */

/** Wire the forms once; go(hash) navigates. */
export function initTeams(go) {
  navigate = go;
  byId('teams-all').addEventListener('change', () => showTeams());
  byId('team-create').addEventListener('submit', (e) => {
    e.preventDefault();
    createTeam();
  });
  byId('member-add').addEventListener('submit', (e) => {
    e.preventDefault();
    addMember();
  });
}

/* ------------------------------------------------------------ list */

/** Show the caller's teams (an administrator may tick "all teams") and
    the caller's pending invitations. */
export async function showTeams(isCurrent = () => true) {
  const section = byId('view-teams');
  section.querySelector('.admin-only').hidden = !isAdmin();
  const all = isAdmin() && byId('teams-all').checked;
  try {
    const [list, invitations] = await Promise.all([
      request('GET', '/teams', { query: all ? { all: 'true' } : null }),
      request('GET', '/teams/invitations'),
    ]);
    const teams = rememberTeams(list);
    if (!isCurrent()) return;
    showAlert(viewAlert(section), null);
    byId('invitations').hidden = invitations.length === 0;
    replace(byId('invitations-list'), invitationsTable(invitations));
    replace(byId('teams-list'), teams.length ? teams.map(teamCard)
      : empty('You are not in any team yet. Create one below, or ask a team owner to invite you.'));
  } catch (err) {
    if (isCurrent()) showAlert(viewAlert(section), err);
  }
}

function teamCard(t) {
  return h('article', { class: 'card team-card' },
    h('h2', null, h('a', { href: `#/teams/${t.id}` }, t.name)),
    h('p', null,
      t.role ? h('span', { class: `badge ${t.role === 'owner' ? 'badge-owner' : ''}` }, t.role)
        : h('span', { class: 'badge' }, 'not a member'),
      ' ', h('span', { class: 'muted' }, `${t.member_count} member${t.member_count === 1 ? '' : 's'}`)),
    h('p', { class: 'sub' }, 'Created ', timeEl(t.created_at, { dateOnly: true })));
}

/* My pending invitations, each with Accept and Decline. */
function invitationsTable(invitations) {
  const rows = invitations.map((i) => h('tr', { dataset: { team: i.team_id } },
    h('td', { class: 'cell-name', 'data-label': 'Team' }, h('strong', null, i.team_name)),
    td('Role', h('span', { class: `badge ${i.role === 'owner' ? 'badge-owner' : ''}` }, i.role)),
    td('Invited by', i.invited_by),
    td('Expires', timeEl(i.expires_at, { dateOnly: true })),
    td('Actions',
      h('button', {
        type: 'button', class: 'button small primary', 'aria-label': `Accept the invitation to ${i.team_name}`,
        onclick: () => answerInvitation(i, 'accept'),
      }, 'Accept'), ' ',
      h('button', {
        type: 'button', class: 'button small', 'aria-label': `Decline the invitation to ${i.team_name}`,
        onclick: () => answerInvitation(i, 'decline'),
      }, 'Decline'))));
  return h('div', { class: 'table-card' },
    table(['Team', 'Role', 'Invited by', 'Expires', 'Actions'], rows, { caption: 'Your invitations' }));
}

/* POST /teams/invitations/{team_id}/accept or /decline. Accepting opens
   the team joined. */
async function answerInvitation(inv, verb) {
  try {
    const team = await request('POST', `/teams/invitations/${seg(inv.team_id)}/${verb}`);
    if (verb === 'accept') {
      rememberTeams([team]);
      toast(`You joined \u201c${team.name}\u201d as ${team.role === 'owner' ? 'an owner' : 'a member'}.`);
      navigate(`#/teams/${team.id}`);
    } else {
      toast(`Invitation to \u201c${inv.team_name}\u201d declined.`);
      await showTeams();
    }
  } catch (err) {
    showAlert(viewAlert(byId('view-teams')), err);
    if (err.status === 404) await showTeams();
  }
}

/* POST /teams; the caller becomes the owner. */
async function createTeam() {
  const form = byId('team-create');
  const name = byId('team-name').value.trim();
  if (showProblems(form, chars(name) < 1 || chars(name) > 255
    ? [{ field: 'name', message: 'must be 1 to 255 characters' }] : [])) return;
  try {
    const t = await request('POST', '/teams', { body: { name } });
    rememberTeams([t]);
    form.reset();
    clearFormErrors(form);
    toast(`Team \u201c${t.name}\u201d created.`);
    navigate(`#/teams/${t.id}`);
  } catch (err) {
    showApiError(form, err);
  }
}

/* ------------------------------------------------------------ one team */

/** Show team id: its members and its tokens. */
export async function showTeam(id, isCurrent = () => true) {
  const section = byId('view-team');
  if (!shown || shown.id !== id) {   /* another team: do not show the last one meanwhile */
    shown = null;
    byId('team-title').textContent = 'Team';
    byId('team-sub').textContent = '';
    replace(byId('team-members'));
    replace(byId('team-invitations'));
    byId('team-invitations').hidden = true;
    replace(byId('team-tokens'));
    byId('member-add').hidden = true;
    clearFormErrors(byId('member-add'));
  }
  try {
    const [team, members, tokens] = await Promise.all([
      request('GET', `/teams/${seg(id)}`),
      request('GET', `/teams/${seg(id)}/members`),
      fetchAll((limit, offset) => request('GET', `/tokens/teams/${seg(id)}`,
        { query: { include_inactive: 'true', limit, offset } }), 'tokens'),
    ]);
    const manage = team.role === 'owner' || isAdmin();
    /* the pending invitations are for those who manage the team */
    const invitations = manage ? await request('GET', `/teams/${seg(id)}/invitations`) : [];
    if (!isCurrent()) return;
    showAlert(viewAlert(section), null);
    shown = rememberTeams([team])[0];
    clearFormErrors(byId('member-add'));
    byId('team-title').textContent = team.name;
    byId('team-sub').textContent = (team.role ? `You are ${team.role === 'owner' ? 'an owner' : 'a member'}` :
      'You are not a member (administrator view)') + ` \u00b7 ${team.member_count} member${team.member_count === 1 ? '' : 's'}`;
    byId('team-new-token').href = `#/tokens/new?team=${team.id}`;
    byId('team-new-token').hidden = !team.role && !isAdmin();
    byId('member-add').hidden = !manage;
    /* an administrator adds at once; an owner invites */
    byId('member-email-label').textContent = isAdmin() ? 'Add a member' : 'Invite a member';
    byId('member-add-submit').textContent = isAdmin() ? 'Add' : 'Invite';
    byId('member-add-hint').hidden = isAdmin();
    replace(byId('team-members'), membersTable(members, manage));
    byId('team-invitations').hidden = invitations.length === 0;
    replace(byId('team-invitations'), invitations.length ? teamInvitationsTable(invitations) : null);
    replace(byId('team-tokens'), tokens.length ? tokenTable(tokens, {
      owner: true,
      link: (t) => t.user_email === myEmail(),
      revoke: (t) => revokerFor(t, team),
    }) : empty('This team has no tokens yet.'));
  } catch (err) {
    if (isCurrent()) showAlert(viewAlert(section), err);
  }
}

/* The revoke action of a team token for the caller, or null: the owner
   and the team's owners use DELETE /tokens/{id}, other admins the admin
   route. */
function revokerFor(t, team) {
  if (t.is_revoked) return null;
  let path = null;
  if (t.user_email === myEmail() || team.role === 'owner') path = `/tokens/${seg(t.id)}`;
  else if (isAdmin()) path = `/tokens/admin/${seg(t.id)}`;
  return path ? () => revokeToken(t, path, () => showTeam(team.id)) : null;
}

function membersTable(members, manage) {
  const owners = members.filter((m) => m.role === 'owner').length;
  const rows = members.map((m) => h('tr', { dataset: { email: m.email } },
    h('td', { class: 'cell-name', 'data-label': 'Member' }, h('strong', null, m.email),
      m.email === myEmail() ? h('span', { class: 'sub' }, ' (you)') : null),
    td('Role', h('span', { class: `badge ${m.role === 'owner' ? 'badge-owner' : ''}` }, m.role)),
    td('Joined', timeEl(m.joined_at, { dateOnly: true })),
    manage ? td('Actions', m.role === 'owner' && owners === 1 ? h('span', { class: 'muted' }, 'last owner')
      : h('button', {
        type: 'button', class: 'button small danger', 'aria-label': `Remove ${m.email}`,
        onclick: () => removeMember(m.email),
      }, 'Remove')) : null));
  return h('div', { class: 'table-card' },
    table(['Member', 'Role', 'Joined', manage ? 'Actions' : null].filter(Boolean), rows));
}

/* The team's pending invitations, each marked "invited", with Withdraw. */
function teamInvitationsTable(invitations) {
  const rows = invitations.map((i) => h('tr', { dataset: { email: i.email } },
    h('td', { class: 'cell-name', 'data-label': 'Invited' }, h('strong', null, i.email),
      ' ', h('span', { class: 'badge' }, 'invited')),
    td('Role', h('span', { class: `badge ${i.role === 'owner' ? 'badge-owner' : ''}` }, i.role)),
    td('Invited by', i.invited_by),
    td('Expires', timeEl(i.expires_at, { dateOnly: true })),
    td('Actions', h('button', {
      type: 'button', class: 'button small', 'aria-label': `Withdraw the invitation of ${i.email}`,
      onclick: () => withdrawInvitation(i.email),
    }, 'Withdraw'))));
  return [h('h3', null, 'Pending invitations'), h('div', { class: 'table-card' },
    table(['Invited', 'Role', 'Invited by', 'Expires', 'Actions'], rows, { caption: 'Pending invitations' }))];
}

/* DELETE /teams/{id}/invitations/{email}. */
async function withdrawInvitation(email) {
  const team = shown;
  try {
    await request('DELETE', `/teams/${seg(team.id)}/invitations/${seg(email)}`);
    toast(`The invitation of ${email} is withdrawn.`);
    await showTeam(team.id);
  } catch (err) {
    showAlert(viewAlert(byId('view-team')), err);
  }
}

/* POST /teams/{id}/members: adds (an administrator), invites (an owner,
   answered 202 with the invitation), or changes the role of a member. */
async function addMember() {
  const form = byId('member-add');
  const email = byId('member-email').value.trim();
  const role = byId('member-role').value;
  const problem = checkEmail(email);
  if (showProblems(form, problem ? [{ field: 'email', message: problem }] : [])) return;
  try {
    const res = await request('POST', `/teams/${seg(shown.id)}/members`, { body: { email, role } });
    form.reset();
    if (res && res.status === 'pending') {
      toast(`${res.email} is invited to \u201c${shown.name}\u201d as ${role === 'owner' ? 'an owner' : 'a member'}; `
        + 'they join when they accept.');
    } else {
      toast(`${email} is now ${role === 'owner' ? 'an owner' : 'a member'} of \u201c${shown.name}\u201d.`);
    }
    await showTeam(shown.id);
    byId('member-email').focus();
  } catch (err) {
    showApiError(form, err);
  }
}

/* DELETE /teams/{id}/members/{email} after a confirmation. */
async function removeMember(email) {
  const team = shown;
  const ok = await confirmDialog({
    title: `Remove ${email}?`,
    text: `${email} leaves \u201c${team.name}\u201d. Their tokens of this team stop working at once.`,
    ok: 'Remove member',
    danger: true,
  });
  if (!ok) return;
  try {
    await request('DELETE', `/teams/${seg(team.id)}/members/${seg(email)}`);
    toast(`${email} removed from \u201c${team.name}\u201d.`);
    await showTeam(team.id);
  } catch (err) {
    showAlert(viewAlert(byId('view-team')), err);
  }
}
