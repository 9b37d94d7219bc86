/*
 * state.js - what the page knows about the signed-in user between views:
 * the /auth/me answer, the names of the teams seen so far, and the
 * largest expires_in_days the server takes.
 */

import { request } from './api.js';

export const state = {
  /** the GET /auth/me answer: {user, auth_method, teams, token_teams} */
  me: null,
  /** team id -> name, from every team list the page has loaded */
  teamNames: new Map(),
};

/** The signed-in user's e-mail ("" before login). */
export function myEmail() {
  return state.me ? state.me.user.email : '';
}

/**
 * True for an administrator whose session is not narrowed to teams: only
 * they may use the admin routes (API.md 5).
 */
export function isAdmin() {
  return Boolean(state.me && state.me.user.is_admin && state.me.token_teams == null);
}

/** Remember the names of a list of Team objects; returns the list. */
export function rememberTeams(teams) {
  for (const t of teams || []) state.teamNames.set(t.id, t.name);
  return teams;
}

/** The name of a team id, or a short form of the id when unknown. */
export function teamName(id) {
  if (!id) return '';
  return state.teamNames.get(id) || `team ${id.slice(0, 8)}\u2026`;
}

/**
 * The teams the token form offers: an admin may put a token in any team
 * (GET /teams?all=true), everybody else in their own teams.
 */
export async function loadFormTeams() {
  const teams = await request('GET', '/teams', { query: isAdmin() ? { all: 'true' } : null });
  return rememberTeams(teams);
}

/* ------------------------------------------------------------ expiry */

const MAX_DAYS_KEY = 'tokencat.maxDays';
const DEFAULT_MAX_DAYS = 365;   /* max_token_days' default (OPERATIONS.md) */

/**
 * The largest expires_in_days the server accepts: GET /auth/me's
 * token_policy.max_token_days; else (an older server) what an answer
 * "expires_in_days: must be at most N days" taught (see learnMaxDays),
 * kept for the tab's lifetime; else the documented default.
 */
export function maxDays() {
  const policy = state.me && state.me.token_policy;
  if (policy && Number.isInteger(policy.max_token_days) && policy.max_token_days > 0) {
    return policy.max_token_days;
  }
  const n = Number(sessionStorage.getItem(MAX_DAYS_KEY));
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_DAYS;
}

/** Learn the maximum from an error detail; true when it held one. */
export function learnMaxDays(detail) {
  const m = /^expires_in_days: must be at most (\d+) days/.exec(detail || '');
  if (!m) return false;
  sessionStorage.setItem(MAX_DAYS_KEY, m[1]);
  return true;
}
