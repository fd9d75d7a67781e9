/** Small pieces every page shows the same way: times, durations, states, errors, links. */
import type { TaskError } from '../ledger/index.ts';
import { type Html, html } from './html.ts';

/** 75 → "1 m 15 s"; 7300 → "2 h 1 m". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} m` : ''}`;
  return `${Math.floor(s / 86400)} d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

/** An ISO time as "2026-11-30 15:20:01Z (3 m ago)". */
export function time(iso: string | null, now: number): Html | string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  const delta = Math.round((now - t) / 1000);
  const rel = delta >= 0 ? `${duration(delta)} ago` : `in ${duration(-delta)}`;
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z <span class="muted">(${rel})</span></time>`;
}

export function state(s: string): Html {
  return html`<span class="state s-${s.replace(/[^a-z_]/g, '')}">${s.replace('_', ' ')}</span>`;
}

/** The cloud's (or Ferry's) error code, its request id and message. */
export function errorOf(e: TaskError | null): Html | string {
  if (!e) return '—';
  return html`<code class="bad">${e.code}</code>${e.requestId ? html` <span class="muted">request id</span> <code>${e.requestId}</code>` : ''}<br>${e.message}`;
}

export const taskHref = (id: string) => `/ui/tasks/${encodeURIComponent(id)}`;
export const replicationHref = (id: string) => `/ui/replications/${encodeURIComponent(id)}`;

/** The last 8 hex digits: ids are UUID v7, whose leading digits are a timestamp shared by a whole burst. */
export function shortId(id: string): string {
  return id.slice(-8);
}
