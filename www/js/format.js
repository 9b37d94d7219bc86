/*
 * format.js - how API values are shown: times, token status, restrictions
 * at a glance, tags. Pure functions of their arguments (plus the clock and
 * the browser's locale); they return strings or nodes built with h().
 */

import { h } from './dom.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "Nov 23, 2026, 12:58 PM" in the browser's zone, or "" for null. */
export function fmtDateTime(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : dateTime.format(t);
}

/** "Nov 23, 2026", or "" for null. */
export function fmtDate(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : dateOnly.format(t);
}

/** "in 3 days", "2 hours ago", ... for a time, relative to now. */
export function fmtRelative(iso, now = Date.now()) {
  const diff = (Date.parse(iso) - now) / 1000;
  const abs = Math.abs(diff);
  const steps = [[60, 'second', 1], [3600, 'minute', 60], [86400, 'hour', 3600],
    [86400 * 45, 'day', 86400], [86400 * 365, 'month', 86400 * 30]];
  for (const [limit, unit, size] of steps) {
    if (abs < limit) return relative.format(Math.round(diff / size), unit);
  }
  return relative.format(Math.round(diff / (86400 * 365)), 'year');
}

/**
 * A <time> element for iso: the date and time, with the exact UTC time as
 * its title; withRelative adds "(in 3 days)". ifNull is shown for null.
 */
export function timeEl(iso, { ifNull = '\u2014', withRelative = false, dateOnly: short = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, ifNull);
  const text = short ? fmtDate(iso) : fmtDateTime(iso);
  return h('time', { datetime: iso, title: iso },
    text, withRelative ? h('span', { class: 'sub' }, ` (${fmtRelative(iso)})`) : null);
}

/* ------------------------------------------------------------ token status */

/**
 * The one status word of a token: "revoked", "expired" (past expires_at),
 * "inactive" (deactivated) or "active".
 */
export function tokenStatus(t, now = Date.now()) {
  if (t.is_revoked) return 'revoked';
  if (t.expires_at && Date.parse(t.expires_at) <= now) return 'expired';
  if (!t.is_active) return 'inactive';
  return 'active';
}

/** The status badge of a token. */
export function statusBadge(t) {
  const s = tokenStatus(t);
  return h('span', { class: `badge badge-${s}`, dataset: { status: s } }, s);
}

/* ------------------------------------------------------------ restrictions */

const DAY_SHORT = { Monday: 'Mon', Tuesday: 'Tue', Wednesday: 'Wed', Thursday: 'Thu',
  Friday: 'Fri', Saturday: 'Sat', Sunday: 'Sun' };

/** "09:00–17:00 Europe/Berlin, Mon Tue" or "" for no window. */
export function windowText(tr) {
  if (!tr) return '';
  const parts = [];
  if (tr.start_time && tr.end_time) {
    parts.push(`${tr.start_time}\u2013${tr.end_time} ${tr.timezone || 'UTC'}`);
  } else if (tr.timezone && Array.isArray(tr.days) && tr.days.length) {
    parts.push(tr.timezone);
  }
  if (Array.isArray(tr.days) && tr.days.length) {
    parts.push(tr.days.map((d) => DAY_SHORT[d] || d).join(' '));
  }
  if (tr.business_hours_only) parts.push('business hours (UTC)');
  if (tr.weekdays_only) parts.push('weekdays (UTC)');
  return parts.join(', ');
}

/** "60/min, 1000/h" or "" for no limits. */
export function limitsText(ul) {
  if (!ul) return '';
  const parts = [];
  if (ul.requests_per_minute) parts.push(`${ul.requests_per_minute}/min`);
  if (ul.requests_per_hour) parts.push(`${ul.requests_per_hour}/h`);
  if (ul.requests_per_day) parts.push(`${ul.requests_per_day}/day`);
  return parts.join(', ');
}

/**
 * Small chips summing up a token's scope, each with a title spelling it
 * out: permissions, server, addresses, time window, usage limits.
 */
export function restrictionChips(t) {
  const chips = [];
  const chip = (text, title) => chips.push(h('span', { class: 'chip', title }, text));
  const perms = t.resource_scopes || [];
  if (perms.length === 1) chip(perms[0], 'Permission: ' + perms[0]);
  else if (perms.length > 1) chip(`${perms.length} permissions`, 'Permissions: ' + perms.join(', '));
  if (t.server_id) chip(`server ${t.server_id}`, 'Only under /servers/' + t.server_id);
  const ips = t.ip_restrictions || [];
  if (ips.length) chip(ips.length === 1 ? ips[0] : `${ips.length} networks`, 'From: ' + ips.join(', '));
  const win = windowText(t.time_restrictions);
  if (win) chip('time window', 'Only ' + win);
  const lim = limitsText(t.usage_limits);
  if (lim) chip(lim, 'Usage limits: ' + lim);
  if (!chips.length) return h('span', { class: 'muted' }, 'none');
  return h('span', { class: 'chips' }, chips);
}

/* ------------------------------------------------------------ tags */

/** One tag as text: "ci", or "env=prod" for {"env": "prod"}. */
export function tagText(tag) {
  if (tag && typeof tag === 'object') {
    return Object.entries(tag).map(([k, v]) => `${k}=${v}`).join(' ');
  }
  return String(tag);
}

/** The tags of a token as chips, or a dash. */
export function tagChips(tags) {
  if (!tags || !tags.length) return h('span', { class: 'muted' }, '\u2014');
  return h('span', { class: 'chips' }, tags.map((t) => h('span', { class: 'chip tag' }, tagText(t))));
}
