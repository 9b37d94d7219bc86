/*
 * dialogs.js - the three modal dialogs of index.html, as promises.
 *
 * They are native <dialog> elements opened with showModal(): the browser
 * keeps focus inside, Escape closes them, and the rest of the page is
 * inert meanwhile. On close, focus goes back to where it was.
 */

import { byId, clearFormErrors, showApiError } from './dom.js';

/* Open dlg modally, focus first, and resolve with dlg.returnValue when it
   closes (any way: a button, Escape). Focus returns to the opener. */
function open(dlg, first) {
  const opener = document.activeElement;
  dlg.returnValue = '';
  dlg.showModal();
  first?.focus();
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dlg.returnValue);
    }, { once: true });
  });
}

/**
 * Show a raw token once: title, a line saying which token it is, the
 * token in a read-only field with a copy button. Resolves when the user
 * closes the dialog; the token is then wiped from the page.
 */
export async function showOnce({ title, sub, token }) {
  const dlg = byId('dlg-once');
  const field = byId('once-token');
  const copied = byId('once-copied');
  byId('once-title').textContent = title;
  byId('once-sub').textContent = sub;
  field.value = token;
  copied.textContent = '';
  const copy = byId('once-copy');
  const onCopy = async () => {
    copied.textContent = (await copyText(field)) ? 'Copied.' : 'Select the token and copy it by hand.';
  };
  const onFocus = () => field.select();
  copy.addEventListener('click', onCopy);
  field.addEventListener('focus', onFocus);
  const closed = open(dlg, copy);
  field.scrollTop = 0;   /* the start of the token in view (once it is rendered) */
  await closed;
  copy.removeEventListener('click', onCopy);
  field.removeEventListener('focus', onFocus);
  field.value = '';
}

/* Copy the value of a text field: the Clipboard API where the page is a
   secure context, else the selection and execCommand. true on success. */
async function copyText(field) {
  try {
    await navigator.clipboard.writeText(field.value);
    return true;
  } catch {
    field.focus();
    field.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/**
 * Ask before doing something: resolves true for the confirm button, false
 * for Cancel or Escape. danger paints the confirm button red.
 */
export async function confirmDialog({ title, text, ok = 'Confirm', danger = false }) {
  const dlg = byId('dlg-confirm');
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  const okButton = byId('confirm-ok');
  okButton.textContent = ok;
  okButton.className = danger ? 'button danger' : 'button primary';
  return (await open(dlg, byId('confirm-cancel'))) === 'ok';
}

/**
 * The revocation dialog: a reason and a confirm button. run(reason) does
 * the revocation (reason undefined when left empty); an ApiError from it
 * is shown in the dialog, which stays open. Resolves true once run()
 * succeeded, false when cancelled.
 */
export async function revokeDialog({ what, run }) {
  const dlg = byId('dlg-revoke');
  const form = byId('revoke-form');
  const reason = byId('revoke-reason');
  const confirm = byId('revoke-confirm');
  byId('revoke-sub').textContent = what;
  reason.value = '';
  clearFormErrors(form);
  let done = false;
  const onConfirm = async () => {
    confirm.disabled = true;
    try {
      await run(reason.value.trim() || undefined);
      done = true;
      dlg.close('revoked');
    } catch (err) {
      if (err.handled) dlg.close('cancel');
      else showApiError(form, err);
    } finally {
      confirm.disabled = false;
    }
  };
  /* Enter in the reason field confirms, like the button. */
  const onKey = (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      onConfirm();
    }
  };
  confirm.addEventListener('click', onConfirm);
  reason.addEventListener('keydown', onKey);
  await open(dlg, reason);
  confirm.removeEventListener('click', onConfirm);
  reason.removeEventListener('keydown', onKey);
  return done;
}
