/*
 * validate.js - the client-side checks of the token form, mirroring the
 * server's (API.md 6 and README "Decisions"), so most mistakes are caught
 * before a request. The server stays the judge: whatever it refuses is
 * shown next to the field it names (dom.js showApiError).
 *
 * Each check returns null when the value is fine, else the message the
 * server would give (without the field name).
 */

/** Length in characters (code points), as the server counts. */
export function chars(s) {
  return [...s].length;
}

/** "resource.action", "resource:action", "resource.*" or "*". */
const PERM_RE = /^(\*|[A-Za-z][A-Za-z0-9_]*(\.\*|[.:][A-Za-z][A-Za-z0-9_]*))$/;

export function checkPermission(p) {
  if (chars(p) > 255 || !PERM_RE.test(p)) return `invalid permission '${p}'`;
  return null;
}

/* A dotted quad as inet_pton takes it: four decimals 0..255, no leading 0. */
function isIPv4(s) {
  const parts = s.split('.');
  return parts.length === 4 &&
    parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/* An IPv6 address (with an optional embedded IPv4 tail): the URL parser
   of the browser is the IPv6 parser at hand; zone ids ("%eth0") are out. */
function isIPv6(s) {
  if (!s.includes(':') || /[^0-9A-Fa-f:.]/.test(s)) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

/** An IPv4/IPv6 address, or a network address/prefix (0..32 or 0..128). */
export function checkIpEntry(entry) {
  const s = entry.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const v4 = isIPv4(addr);
  const v6 = !v4 && isIPv6(addr);
  let ok = v4 || v6;
  if (ok && slash >= 0) {
    const prefix = s.slice(slash + 1);
    ok = /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (v4 ? 32 : 128);
  }
  return ok ? null : 'invalid IP address or CIDR network';
}

/** HH:MM or HH:MM:SS, 00..23, 00..59, 00..59. */
export function checkClock(s) {
  return /^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$/.test(s) ? null : 'must be HH:MM or HH:MM:SS';
}

/** An IANA time zone name the browser knows (the server reads its tzdata). */
export function checkTimeZone(tz) {
  if (tz === 'UTC') return null;
  const shapeOk = /^[A-Za-z0-9_+\-/]{1,63}$/.test(tz) && !tz.startsWith('/') && !tz.includes('..');
  if (shapeOk) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return null;
    } catch {
      /* fall through */
    }
  }
  return 'must be an IANA time zone such as "Europe/Berlin"';
}

/**
 * A whole number from a text field: null for empty, a number when it is
 * an integer in min..max, else NaN.
 */
export function intField(text, min, max) {
  const s = text.trim();
  if (s === '') return null;
  if (!/^[0-9]+$/.test(s)) return NaN;
  const n = Number(s);
  return n >= min && n <= max ? n : NaN;
}

/** Split a list typed one per line (or comma/space separated). */
export function splitList(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/**
 * Tags typed as "ci, env=prod": a string per entry, {"key": "value"} for
 * key=value. Returns {tags, problem}.
 */
export function parseTags(text) {
  const tags = [];
  const entries = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length > 50) return { tags, problem: 'at most 50 entries' };
  for (const [i, e] of entries.entries()) {
    const eq = e.indexOf('=');
    if (eq > 0) {
      const key = e.slice(0, eq).trim();
      const value = e.slice(eq + 1).trim();
      if (chars(key) > 255 || chars(value) > 255) {
        return { tags, problem: `entry ${i + 1} must be an object of strings of at most 255 characters` };
      }
      tags.push({ [key]: value });
    } else {
      if (chars(e) > 255) return { tags, problem: `entry ${i + 1} must be 1 to 255 characters` };
      tags.push(e);
    }
  }
  return { tags, problem: null };
}

/** A plausible e-mail address (the server decides exactly). */
export function checkEmail(s) {
  return /^[^\s@]+@[^\s@]+$/.test(s) ? null : 'invalid e-mail address';
}
