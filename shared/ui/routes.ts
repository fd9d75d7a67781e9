/**
 * The status page, `GET /ui` and below, served by the operator API (local stack and the `cancel` function):
 *   GET  /ui                              overview (ui/overview-page.ts)
 *   GET  /ui/login, POST /ui/login        sign in with an API token (form) → session cookie; POST /ui/logout
 *   GET  /ui/tasks/{id}                   a task, its cloud tasks and time line
 *   GET  /ui/replications/{id}            a replication, every target and attempt
 *   GET|POST /ui/tasks/{id}/cancel, /ui/tasks/{id}/retry, /ui/replications/{id}/retry
 *        GET and a POST without `confirmed=yes` show a confirmation page; a confirmed POST acts through
 *        the same functions as the JSON API (replicate/cancel.ts, api/rerun.ts).
 * Checks, in order: no token in the URL (400) → session cookie (none: GET → 303 to the sign-in form,
 * POST → 401) → for a POST: Origin / Sec-Fetch-Site same-origin, the form's CSRF token, an admin session (403).
 */
import { type Context, Hono } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { Caller } from '../api/auth.ts';
import { TokenChecker } from '../api/auth.ts';
import { cancelRefusal } from '../api/cancel-refusal.ts';
import { ApiError } from '../api/errors.ts';
import { parse } from '../api/request.ts';
import { retryReplication, retryTask } from '../api/rerun.ts';
import { uuidParam } from '../api/schemas.ts';
import { LedgerInputError } from '../ledger/index.ts';
import { clip } from '../log.ts';
import type { Deps } from '../replicate/deps.ts';
import { cancelTask } from '../replicate/cancel.ts';
import type { InvocationContext } from '../runtime/context.ts';
import { readBodyLimited } from '../runtime/body.ts';
import { type Action, confirmBody, loginBody, messageBody } from './forms.ts';
import { replicationHref, shortId, taskHref } from './format.ts';
import type { Html } from './html.ts';
import { html } from './html.ts';
import { newNonce, page, securityHeaders } from './layout.ts';
import { overviewBody } from './overview-page.ts';
import { replicationActions, replicationBody } from './replication-page.ts';
import { csrfMatches, SESSION_COOKIE, SESSION_TTL_MS, type Session, Sessions } from './session.ts';
import { taskActions, taskBody } from './task-page.ts';

type UiEnv = { Variables: { nonce: string; session: Session | null }; Bindings: { ctx: InvocationContext } };
type Ctx = Context<UiEnv>;

const WINDOW_MS = 24 * 3600 * 1000;
const MAX_FORM_BYTES = 8 * 1024;
/** Query parameters that would put a secret in a URL (and so in logs and history): refused. */
const TOKEN_PARAMS = ['token', 'access_token', 'api_token', 'apitoken'];
const NOTICES: Record<string, string> = {
  canceled: 'Canceled: the task is canceled in the ledger and at the cloud.',
  retried: 'Re-opened: the sweep submits it again on its next run.',
};

/** The /ui pages, as a Hono app to mount at /ui. */
export function uiApp(deps: Deps): Hono<UiEnv> {
  const ui = new Hono<UiEnv>();
  const tokens = new TokenChecker(deps.config.auth.apiTokens);
  const sessions = new Sessions(deps.config.auth.apiTokens);
  const now = () => deps.clock.now();

  const render = (c: Ctx, status: number, title: string, body: Html) => c.html(page({ title, nonce: c.get('nonce'), session: c.get('session'), body }), status as 200, securityHeaders(c.get('nonce')));
  const message = (c: Ctx, status: number, title: string, text: string, back?: string) => render(c, status, title, messageBody({ title, message: text, status, back }));

  ui.onError((err, c) => {
    if (err instanceof ApiError) return message(c, err.status, err.status === 404 ? 'Not found' : 'Not done', err.message);
    if (err instanceof LedgerInputError) return message(c, 400, 'Bad request', err.message);
    deps.log.error('ui request failed', { path: clip(c.req.path), error: err instanceof Error ? err.message : String(err) });
    return message(c, 500, 'Something went wrong', 'The page could not be produced; the error is in the logs.');
  });

  ui.use('*', async (c, next) => {
    c.set('nonce', newNonce());
    c.set('session', sessions.verify(getCookie(c, SESSION_COOKIE), now()));
    const query = new URL(c.req.url).searchParams;
    if (TOKEN_PARAMS.some((p) => query.has(p))) {
      return message(c, 400, 'Token in the URL', 'A token in a URL ends up in logs and browser history, so it is never read from there: sign in with the form instead.', '/ui/login');
    }
    if (c.req.method === 'POST' && !sameOrigin(c)) return message(c, 403, 'Refused', 'This form was not sent from this site (Origin / Sec-Fetch-Site); nothing was done.');
    await next();
  });

  ui.get('/login', (c) => render(c, 200, 'Sign in', loginBody({ next: safeNext(c.req.query('next')) })));
  ui.post('/login', async (c) => {
    const form = await readForm(c);
    const next = safeNext(form.get('next') ?? undefined);
    const caller = tokens.check(`Bearer ${form.get('token') ?? ''}`);
    if (!caller) {
      deps.log.warn('ui sign-in refused', { ip: clip(c.req.header('x-forwarded-for') ?? '', 60) });
      return render(c, 401, 'Sign in', loginBody({ message: 'That is not one of this Ferry’s API tokens.', next }));
    }
    const issued = sessions.issue(caller, now());
    setCookie(c, SESSION_COOKIE, issued.value, { path: '/ui', httpOnly: true, sameSite: 'Strict', secure: isHttps(c), maxAge: Math.floor(SESSION_TTL_MS / 1000) });
    deps.log.info('ui sign-in', { actor: caller.name, role: caller.role });
    return c.redirect(next ?? '/ui', 303);
  });
  ui.post('/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
    return c.redirect('/ui/login', 303);
  });

  // Everything below needs a session; a POST also a CSRF token and an admin session.
  ui.use('*', async (c, next) => {
    const session = c.get('session');
    if (!session) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect(`/ui/login?next=${encodeURIComponent(c.req.path)}`, 303);
      return message(c, 401, 'Signed out', 'Your session has ended (or never began): sign in again, then repeat the action.', '/ui/login');
    }
    await next();
  });

  ui.get('/', async (c) => {
    const [overview, recent, lastSweep] = await Promise.all([
      deps.ledger.overview.read({ windowMs: WINDOW_MS, failingLimit: 25 }),
      deps.ledger.listReplications({ limit: 15 }),
      deps.ledger.metrics.lastSweep(),
    ]);
    return render(c, 200, 'Overview', overviewBody({ overview, recent: recent.items, lastSweep, ruleNames: deps.config.rules.map((r) => r.name), now: now() }));
  });

  ui.get('/tasks/:id', async (c) => {
    const detail = await taskOf(deps, c.req.param('id'));
    const rep = await deps.ledger.getReplication(detail.task.replicationId);
    return render(c, 200, `Task ${shortId(detail.task.id)}`, taskBody(detail, rep?.replication ?? null, c.get('session')!, now(), NOTICES[c.req.query('done') ?? '']));
  });

  ui.get('/replications/:id', async (c) => {
    const { replication, details } = await replicationOf(deps, c.req.param('id'));
    return render(c, 200, `Replication ${shortId(replication.id)}`, replicationBody(replication, details, c.get('session')!, now(), NOTICES[c.req.query('done') ?? '']));
  });

  /** One action: its confirmation page (GET, or a POST without `confirmed=yes`), else the act itself. */
  const action = (path: string, find: (c: Ctx) => Promise<{ action: Action | undefined; detail: Html; back: string }>, act: (c: Ctx, actor: string, reason: string | undefined) => Promise<string>) => {
    const handle = async (c: Ctx, form: URLSearchParams | null) => {
      const session = c.get('session')!;
      if (form && !csrfMatches(session, form.get('csrf') ?? undefined)) {
        return message(c, 403, 'Refused', 'The form’s CSRF token is missing or stale (it belongs to another sign-in); reload the page and try again. Nothing was done.');
      }
      if (session.caller.role !== 'admin') return readOnly(c, session.caller);
      const found = await find(c);
      if (!found.action) return message(c, 409, 'Nothing to do', 'This action does not apply to it in its current state.', found.back);
      if (form?.get('confirmed') !== 'yes') return render(c, 200, 'Confirm', confirmBody(found.action, found.detail, session, found.back));
      const reason = form.get('reason')?.trim() || undefined;
      return c.redirect(await act(c, session.caller.name, reason), 303);
    };
    ui.get(path, (c) => handle(c, null));
    ui.post(path, async (c) => handle(c, await readForm(c)));
  };

  action(
    '/tasks/:id/cancel',
    async (c) => {
      const { task } = await taskOf(deps, c.req.param('id'));
      return { action: taskActions(task).find((a) => a.path.endsWith('/cancel')), detail: html`<p>Target <code>${task.targetKey}</code>, now ${task.state}.</p>`, back: taskHref(task.id) };
    },
    async (c, actor, reason) => {
      const id = c.req.param('id')!;
      const r = await cancelTask(deps, id, { actor, reason: reason ?? 'canceled from the status page' });
      deps.log.info('cancel requested', { actor, taskId: id, outcome: r.outcome, via: 'ui' });
      if (r.outcome !== 'canceled') throw cancelRefusal(r, `task ${id}`);
      return `${taskHref(id)}?done=canceled`;
    },
  );
  action(
    '/tasks/:id/retry',
    async (c) => {
      const { task } = await taskOf(deps, c.req.param('id'));
      return { action: taskActions(task).find((a) => a.path.endsWith('/retry')), detail: html`<p>Target <code>${task.targetKey}</code>, now ${task.state}.</p>`, back: taskHref(task.id) };
    },
    async (c, actor, reason) => {
      const id = c.req.param('id')!;
      await retryTask(deps, id, actor, reason ?? 'retried from the status page');
      return `${taskHref(id)}?done=retried`;
    },
  );
  action(
    '/replications/:id/retry',
    async (c) => {
      const { replication, details } = await replicationOf(deps, c.req.param('id'));
      return { action: replicationActions(replication, details)[0], detail: html``, back: replicationHref(replication.id) };
    },
    async (c, actor, reason) => {
      const id = c.req.param('id')!;
      await retryReplication(deps, id, actor, reason ?? 'retried from the status page');
      return `${replicationHref(id)}?done=retried`;
    },
  );

  ui.all('*', (c) => message(c, 404, 'Not found', `There is no page ${c.req.method} ${clip(c.req.path)}.`));

  const readOnly = (c: Ctx, caller: Caller) => message(c, 403, 'Read-only token', `You are signed in as “${caller.name}”, a read-only token: cancel and retry need an admin token. Nothing was done.`);

  return ui;
}

async function taskOf(deps: Deps, id: string | undefined) {
  parse(uuidParam, id, 'path', 'id');
  const detail = await deps.ledger.getTask(id!);
  if (!detail) throw new ApiError(404, 'TaskNotFound', `no task ${id}`);
  return detail;
}

async function replicationOf(deps: Deps, id: string | undefined) {
  parse(uuidParam, id, 'path', 'id');
  const r = await deps.ledger.getReplication(id!);
  if (!r) throw new ApiError(404, 'ReplicationNotFound', `no replication ${id}`);
  const details = await Promise.all(r.tasks.map(async (t) => (await deps.ledger.getTask(t.id)) ?? { task: t, events: [], cloudRefs: [] }));
  return { replication: r.replication, details };
}

async function readForm(c: Ctx): Promise<URLSearchParams> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    throw new ApiError(415, 'UnsupportedMediaType', `content-type ${clip(type, 60) || '(none)'} is not accepted; send a form (application/x-www-form-urlencoded)`);
  const body = await readBodyLimited(c.req.raw, MAX_FORM_BYTES);
  if (!body.ok) throw new ApiError(body.status, body.code, `body: ${body.message}`, { field: 'body' });
  return new URLSearchParams(body.text);
}

function isHttps(c: Ctx): boolean {
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return proto ? proto === 'https' : new URL(c.req.url).protocol === 'https:';
}

/**
 * A browser's POST says where it comes from: Sec-Fetch-Site (same-origin only) and Origin (this
 * host). Clients that send neither are left to the CSRF token (and cannot carry the SameSite cookie
 * from another site anyway).
 */
function sameOrigin(c: Ctx): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin') return false;
  const origin = c.req.header('origin');
  if (!origin) return true;
  if (origin === 'null') return false;
  try {
    const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim() || c.req.header('host') || new URL(c.req.url).host;
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Where to go after signing in: a /ui page only (never another site). */
function safeNext(next: string | undefined): string | undefined {
  return next && /^\/ui(\/[A-Za-z0-9._~-]+)*\/?$/.test(next) ? next : undefined;
}
