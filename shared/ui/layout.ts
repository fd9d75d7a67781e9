/**
 * The page shell of the status page: its CSS and its one small script (inline, allowed by a
 * per-response nonce), the header with who is signed in, and the security headers every /ui answer
 * carries. Pages read fully without the script; it only adds a confirm() before an action.
 */
import { randomBytes } from 'node:crypto';
import type { Session } from './session.ts';
import { type Html, html, raw } from './html.ts';

const CSS = `
:root{--fg:#1d232b;--muted:#5b6572;--line:#dde2e8;--bg:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--open:#0969da}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:16px;align-items:center;padding:10px 24px;background:#24292f;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}header .who{margin-left:auto;color:#c9d1d9}
header form{margin:0}header button{background:none;border:1px solid #8b949e;color:#fff;border-radius:4px;padding:2px 8px;cursor:pointer}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}h1{font-size:20px;margin:8px 0 16px}h2{font-size:16px;margin:24px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px}.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .big{font-size:22px;font-weight:600}.card .row{display:flex;gap:14px;flex-wrap:wrap}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:6px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}th{background:#f0f3f6;font-weight:600;font-size:12px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}code,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.state{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.s-succeeded,.s-ok{color:var(--ok)}.s-failed,.s-timed_out,.s-partially_failed,.s-failing{color:var(--bad)}
.s-canceled,.s-idle{color:var(--muted)}.s-pending,.s-submitted,.s-running,.s-in_progress{color:var(--open)}.s-retrying{color:var(--warn)}
.ok{color:var(--ok)}.bad{color:var(--bad)}.muted{color:var(--muted)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0}
.notice{padding:10px 14px;border-radius:6px;margin:0 0 16px;background:#dafbe1;border:1px solid #aceebb}
.error{padding:10px 14px;border-radius:6px;margin:0 0 16px;background:#ffebe9;border:1px solid #ffc1ba}
.actions{display:flex;gap:8px;margin:12px 0}.actions form{margin:0}
button.act{padding:5px 14px;border-radius:6px;border:1px solid var(--line);background:#fff;cursor:pointer;font-weight:600}
button.danger{color:var(--bad);border-color:#ffc1ba}button.primary{color:#fff;background:var(--ok);border-color:var(--ok)}
.login{max-width:420px;margin:64px auto;background:#fff;border:1px solid var(--line);border-radius:6px;padding:24px}
.login input[type=password]{width:100%;padding:6px 8px;margin:6px 0 12px;border:1px solid var(--line);border-radius:4px}
details{margin:8px 0}summary{cursor:pointer}
`;

/** On submit of a form that asks for confirmation: confirm() here, else the server shows a confirmation page. */
const SCRIPT = `document.addEventListener('submit',function(e){var f=e.target,m=f.getAttribute('data-confirm');
if(!m||f.querySelector('input[name=confirmed]'))return;if(!window.confirm(m)){e.preventDefault();return}
var i=document.createElement('input');i.type='hidden';i.name='confirmed';i.value='yes';f.appendChild(i)});`;

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** Headers of every /ui answer: no framing, no caching, only this response's inline style and script. */
export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  };
}

export interface PageOptions {
  title: string;
  nonce: string;
  session: Session | null;
  body: Html;
}

export function page(o: PageOptions): string {
  const who = o.session
    ? html`<span class="who">${o.session.caller.name} (${o.session.caller.role === 'admin' ? 'admin' : 'read-only'})</span>
<form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="${o.session.csrf}"><button type="submit">Sign out</button></form>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${o.title} · Ferry</title><style nonce="${o.nonce}">${raw(CSS)}</style></head>
<body><header><a href="/ui">Ferry status</a>${who}</header>
<main>${o.body}</main>
<script nonce="${o.nonce}">${raw(SCRIPT)}</script></body></html>`.text;
}
