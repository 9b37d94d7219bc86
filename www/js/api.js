/*
 * api.js - the only place that talks to the server.
 *
 * Every request goes to the JSON API under ./api, relative to the page, so
 * the page works wherever it is mounted as long as the API sits beside it.
 * The session is the JWT from POST /auth/login, kept in sessionStorage
 * (per tab, gone when the tab closes) and sent as "Authorization: Bearer".
 * No cookies are ever sent (credentials: "omit"), so there is nothing for
 * another site to forge a request with.
 *
 * Errors come back as ApiError, carrying the HTTP status and the API's own
 * {"detail": ...} sentence; fieldOf() splits a 422/400 detail into the
 * field it names ("scope.usage_limits.requests_per_minute: must be ...").
 */

const BASE = './api';
const SESSION_KEY = 'tokencat.session';

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status   HTTP status, 0 when the server was not reached
   * @param {string} detail   the API's "detail" sentence (or our own)
   * @param {?string} retryAfter  the Retry-After header, if any
   */
  constructor(status, detail, retryAfter = null) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
    /** true once the global 401 handler has dealt with it (see request()) */
    this.handled = false;
  }
}

/* ------------------------------------------------------------ the session */

/**
 * The stored session: {token, user, expiresAt} or null. A corrupt entry
 * counts as none.
 */
export function getSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return s && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

/** Keep the login answer (access_token, expires_in, user) for this tab. */
export function saveSession(login) {
  const s = {
    token: login.access_token,
    user: login.user,
    expiresAt: Date.now() + 1000 * (Number(login.expires_in) || 0),
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/* Called (once per failing request) when the server refuses our session. */
let unauthorizedHandler = () => {};

/** fn(err) is called when an authenticated request gets 401. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/* ------------------------------------------------------------ requests */

/**
 * One API call. path starts with "/" and is below ./api; its variable
 * parts must already be encoded (use seg()). Options:
 *   body   a value sent as JSON (Content-Type: application/json)
 *   query  an object of query parameters (null/undefined/"" are left out)
 *   auth   false for calls that must not carry the session (login)
 * Resolves to the parsed JSON body (null for 204); rejects with ApiError.
 * A 401 on an authenticated call clears the session and calls the
 * onUnauthorized handler before rejecting (err.handled is then true, and
 * callers show nothing).
 */
export async function request(method, path, { body, query, auth = true } = {}) {
  const url = new URL(BASE + path, document.baseURI);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { Accept: 'application/json' };
  const session = auth ? getSession() : null;
  if (session) headers.Authorization = 'Bearer ' + session.token;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  /* Without a body, fetch still sends "Content-Length: 0" on POST and PUT
     (Fetch standard), which lighttpd requires (else 411). */

  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
  }
  const data = await readJson(res);
  if (res.ok) return data;

  const detail = data && typeof data.detail === 'string' && data.detail
    ? data.detail
    : `The server answered ${res.status} ${res.statusText}`.trim();
  const err = new ApiError(res.status, detail, res.headers.get('Retry-After'));
  if (res.status === 401 && session) {
    /* Only while that session is still ours: a late answer to a request
       made before a logout or a new login must not end the new state. */
    err.handled = true;
    if (getSession()?.token === session.token) {
      clearSession();
      unauthorizedHandler(err);
    }
  }
  throw err;
}

/* The JSON body of res, or null (204, empty, or not JSON). */
async function readJson(res) {
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A path segment, percent-encoded (ids, e-mail addresses). */
export function seg(s) {
  return encodeURIComponent(String(s));
}

/**
 * Every item of a paginated list: calls fetchPage(limit, offset) until
 * `total` items are in (pages of 1000, the API's largest). key is the
 * array's name in the answer ("tokens", "users", "events").
 */
export async function fetchAll(fetchPage, key) {
  const all = [];
  for (;;) {
    const page = await fetchPage(1000, all.length);
    const items = page[key] || [];
    all.push(...items);
    if (items.length === 0 || all.length >= page.total) return all;
  }
}

/* ------------------------------------------------------------ error details */

/* The field path at the start of a detail: name, scope.permissions[2], ... */
const FIELD_RE = /^([A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*): (.+)$/s;

/**
 * Split an ApiError into {field, index, message}: the field the API names
 * (indices removed: "scope.ip_restrictions"), the 0-based index of a list
 * entry if one was named, and the rest of the sentence. Two sentences of
 * the contract name no field but are about one: the duplicate name (409)
 * and a permission outside the caller's own (400). field is null when the
 * detail is about no field.
 */
export function fieldOf(err) {
  const detail = err.detail || '';
  if (err.status === 409 && /name already exists/.test(detail)) {
    return { field: 'name', index: null, message: detail };
  }
  if (/^Cannot grant permission /.test(detail)) {
    return { field: 'scope.permissions', index: null, message: detail };
  }
  const m = FIELD_RE.exec(detail);
  if (!m || (err.status !== 400 && err.status !== 422)) {
    return { field: null, index: null, message: detail };
  }
  const idx = /\[(\d+)\]/.exec(m[1]);
  return {
    field: m[1].replace(/\[\d+\]/g, ''),
    index: idx ? Number(idx[1]) : null,
    message: m[2],
  };
}
