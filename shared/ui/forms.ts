/** The pages with a form: sign-in, an action's confirmation (the no-JavaScript path), and a message. */
import type { Session } from './session.ts';
import { type Html, html } from './html.ts';

export interface Action {
  /** The form's target, e.g. /ui/tasks/<id>/cancel. */
  path: string;
  /** The button's text. */
  label: string;
  /** The question asked before acting. */
  question: string;
  danger?: boolean;
}

/** An action button: a POST form with the session's CSRF token; the page script asks `question` first. */
export function actionButton(a: Action, session: Session): Html {
  return html`<form method="post" action="${a.path}" data-confirm="${a.question}"><input type="hidden" name="csrf" value="${session.csrf}"><button class="act ${a.danger ? 'danger' : ''}" type="submit">${a.label}</button></form>`;
}

/** Admin sessions see the buttons; read-only sessions a note instead. */
export function actionBar(actions: readonly Action[], session: Session): Html | string {
  if (actions.length === 0) return '';
  if (session.caller.role !== 'admin') return html`<p class="muted">Signed in with a read-only token: cancel and retry need an admin token.</p>`;
  return html`<div class="actions">${actions.map((a) => actionButton(a, session))}</div>`;
}

export function loginBody(o: { message?: string | undefined; next?: string | undefined }): Html {
  return html`<div class="login"><h1>Sign in to Ferry</h1>
${o.message ? html`<p class="error" role="alert">${o.message}</p>` : ''}
<form method="post" action="/ui/login">
<label for="token">API token (admin or read-only)</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
${o.next ? html`<input type="hidden" name="next" value="${o.next}">` : ''}
<button class="act primary" type="submit">Sign in</button>
</form>
<p class="muted">The token is checked once; the browser keeps a signed session cookie (HttpOnly, SameSite=Strict), never the token.</p></div>`;
}

export function confirmBody(a: Action, detail: Html | string, session: Session, back: string): Html {
  return html`<h1>${a.question}</h1>${detail}
<div class="actions"><form method="post" action="${a.path}"><input type="hidden" name="csrf" value="${session.csrf}"><input type="hidden" name="confirmed" value="yes">
<button class="act ${a.danger ? 'danger' : 'primary'}" type="submit">Confirm</button></form><a href="${back}">Back</a></div>`;
}

export function messageBody(o: { title: string; message: string; status: number; back?: string | undefined }): Html {
  return html`<h1>${o.title}</h1><p class="${o.status >= 400 ? 'error' : 'notice'}" role="${o.status >= 400 ? 'alert' : 'status'}">${o.message}</p>
<p><a href="${o.back ?? '/ui'}">${o.back ? 'Back' : 'To the overview'}</a></p>`;
}
