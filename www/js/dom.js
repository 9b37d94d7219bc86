/*
 * dom.js - building and updating the page safely.
 *
 * Everything the page shows from the API goes through h() or svg(), which
 * only ever create text nodes for strings (textContent): nothing from the
 * server is parsed as HTML. h() refuses "style" and "innerHTML" and turns
 * on* properties into event listeners, never attributes, so the page keeps
 * working under Content-Security-Policy: default-src 'self'.
 *
 * Also here: the toast, alerts, the field errors of forms, the pager and
 * the "is this view still current" tickets.
 */

import { fieldOf } from './api.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/* Props that would bring markup or inline style in: never allowed. */
const FORBIDDEN = new Set(['style', 'innerHTML', 'outerHTML', 'srcdoc']);

/* Set the props of h()/svg() on el (see h()). */
function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (FORBIDDEN.has(k)) throw new Error(`h(): "${k}" is not allowed`);
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) {
      if (typeof v !== 'function') throw new Error(`h(): ${k} must be a function`);
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.setAttribute('class', v);
    } else if (k === 'text') {
      el.textContent = String(v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'checked' || k === 'value' || k === 'selected' || k === 'disabled') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/* Append children: nodes as they are, strings and numbers as text, arrays
   flattened, null/undefined/false skipped. */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * A new HTML element: h('a', {href: '#/x', class: 'button'}, 'text', node).
 * props: attributes (true = present, false/null = absent), "class",
 * "text" (textContent), "dataset", value/checked/selected/disabled as
 * properties, onclick etc. as listeners.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/** A new SVG element, same rules as h(). */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/** Replace the children of el with children (same rules as h()). */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** document.getElementById, throwing when the page lacks the element. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el;
}

/* ------------------------------------------------------------ view tickets */

let viewSeq = 0;

/**
 * A ticket for the view being shown: a function that stays true until the
 * next call of ticket(). Slow answers check it before they draw, so a
 * late answer never paints over the view the user moved on to.
 */
export function ticket() {
  const mine = ++viewSeq;
  return () => mine === viewSeq;
}

/**
 * For a loader that may be called again before its last answer came
 * (a filter typed, a page turned): const turn = latest(); then in the
 * loader `const fresh = turn();` and draw only while fresh() is true.
 */
export function latest() {
  let n = 0;
  return () => {
    const mine = ++n;
    return () => mine === n;
  };
}

/* ------------------------------------------------------------ toast, alerts */

let toastTimer = 0;

/** A short message at the bottom of the screen (announced politely). */
export function toast(message, { error = false } = {}) {
  const el = byId('toast');
  el.textContent = message;
  el.classList.toggle('error', error);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, error ? 8000 : 4000);
}

/**
 * Show an error (ApiError, Error or string) in the alert element el, or
 * hide el when what is null. Errors already handled by the 401 handler
 * (the login screen is up) are not shown.
 */
export function showAlert(el, what) {
  if (!el) return;
  if (what === null || what === undefined || what.handled) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = typeof what === 'string' ? what : (what.detail || what.message || String(what));
  el.hidden = false;
}

/** The [data-view-error] alert of a view section. */
export function viewAlert(section) {
  return section.querySelector('[data-view-error]');
}

/* ------------------------------------------------------------ form errors */

/* The control or fieldset of form that stands for field (a data-field
   path): the exact path, else the nearest enclosing one ("scope.x.y" ->
   "scope.x" -> "scope"). null when the form has none. */
function controlFor(form, field) {
  let path = field;
  while (path) {
    const el = form.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (el && !el.closest('[hidden]')) return el;
    const dot = path.lastIndexOf('.');
    path = dot > 0 ? path.slice(0, dot) : '';
  }
  return null;
}

/* The element after which the message for control goes. */
function errorAnchor(control) {
  if (control.tagName === 'FIELDSET') return control.querySelector('legend') || control;
  if (control.type === 'checkbox') return control.closest('label') || control;
  return control.closest('.field')?.lastElementChild || control;
}

/** Remove every field error and the form-level alert of form. */
export function clearFormErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) p.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ')
      .filter((id) => id && !id.endsWith('-err'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  showAlert(form.querySelector('[data-form-error]'), null);
}

let errSeq = 0;

/**
 * Put message next to the control of field (a data-field path) and mark
 * it invalid; falls back to the form-level alert when the form has no
 * such control. Returns the control (or null).
 */
export function setFieldError(form, field, message) {
  const control = field ? controlFor(form, field) : null;
  if (!control) {
    const alert = form.querySelector('[data-form-error]');
    if (alert && !alert.hidden) alert.textContent += ' ' + message;
    else showAlert(alert, message);
    return null;
  }
  const id = `fe${++errSeq}-err`;
  const p = h('p', { class: 'field-error', id }, message);
  const anchor = errorAnchor(control);
  if (anchor === control && control.tagName === 'FIELDSET') control.prepend(p);
  else anchor.after(p);
  control.setAttribute('aria-invalid', 'true');
  const described = control.getAttribute('aria-describedby');
  control.setAttribute('aria-describedby', described ? `${described} ${id}` : id);
  return control;
}

/* "must be ..." -> "Must be ...". */
function sentence(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/**
 * Show client-side problems [{field, message}] (the first one of each
 * field) and focus the first control concerned. Returns true when there
 * were any.
 */
export function showProblems(form, problems) {
  clearFormErrors(form);
  let first = null;
  const seen = new Set();
  for (const p of problems) {
    if (seen.has(p.field)) continue;   /* the first problem of a field is enough */
    seen.add(p.field);
    const c = setFieldError(form, p.field, sentence(p.message));
    first = first || c;
  }
  focusControl(first);
  return problems.length > 0;
}

/**
 * Show an ApiError from submitting form: next to the field its detail
 * names (see fieldOf), else in the form's alert. Handled errors (401) are
 * ignored. The message keeps the API's words, with the list entry (1-based)
 * when the API named one.
 */
export function showApiError(form, err) {
  clearFormErrors(form);
  if (err.handled) return;
  const { field, index, message } = fieldOf(err);
  let text = sentence(message);
  if (index !== null) text += ` (entry ${index + 1})`;
  if (err.status === 429 && /^\d+$/.test(err.retryAfter || '')) {
    text += ` Retry in ${err.retryAfter} s.`;
  }
  focusControl(setFieldError(form, field, text));
}

function focusControl(c) {
  if (!c) return;
  const target = c.tagName === 'FIELDSET' ? c.querySelector('input, select, textarea') : c;
  target?.focus();
}

/* ------------------------------------------------------------ pager */

/**
 * Fill nav with "Showing a-b of n" and Previous/Next buttons calling
 * go(newOffset). Empty when everything fits on one page.
 */
export function renderPager(nav, { offset, limit, total, count }, go) {
  if (total <= limit && offset === 0) {
    replace(nav);
    return;
  }
  const from = total === 0 ? 0 : offset + 1;
  const to = offset + count;
  replace(nav,
    h('span', null, `Showing ${from}\u2013${to} of ${total}`),
    h('span', { class: 'actions' },
      h('button', {
        type: 'button', class: 'button small', disabled: offset === 0,
        onclick: () => go(Math.max(0, offset - limit)),
      }, '\u2190 Previous'),
      h('button', {
        type: 'button', class: 'button small', disabled: to >= total,
        onclick: () => go(offset + limit),
      }, 'Next \u2192')));
}

/** A table with the "responsive" class (cards on narrow screens). */
export function table(headers, rows, { caption } = {}) {
  return h('table', { class: 'responsive' },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, rows));
}

/** A table cell labelled for the narrow layout (data-label). */
export function td(label, ...children) {
  return h('td', { 'data-label': label }, ...children);
}

/** The friendly "nothing here" block, with an optional action node. */
export function empty(message, action) {
  return h('div', { class: 'empty' }, h('p', null, message), action || null);
}
