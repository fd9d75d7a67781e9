import { readBodyLimited } from '../runtime/body.ts';
import { Hono, type Context } from 'hono';
import type { InvocationContext, FetchApp } from '../runtime/context.ts';
import type { Connections } from '../providers/connections.ts';
import type { Deps } from '../replicate/deps.ts';
import { authenticate, presentedToken } from './auth.ts';
import { budgetClock } from './budget.ts';
import type { ErrorEnvelope } from '../http/errors.ts';
import { clip } from '../log.ts';
import { errorAnswer, handleDelivery, unauthorized, type Answer, type WebhookRuntime } from './handle.ts';
import { WEBHOOK_KINDS, type WebhookKind } from './normalize.ts';
import { COUNTERS } from '../ledger/metrics.ts';

/** A delivery's outcome label: 202 recorded work (accepted), 200 nothing to do (ignored), 4xx refused, 5xx error. */
export function deliveryOutcome(status: number): 'accepted' | 'ignored' | 'refused' | 'error' {
  if (status === 202) return 'accepted';
  if (status < 300) return 'ignored';
  return status < 500 ? 'refused' : 'error';
}

/**
 * `POST /webhooks/{kind}`: registry push notifications in, replication tasks out.
 * Order of checks: route (404/405) → token (401, before the body is read) → size (413) →
 * content type / JSON / event (415/400/422, normalize.ts) → source and token scope → work.
 */

export interface WebhookAppOptions {
  /** Clients for submissions; default: the shared ones, with the submit budget as timeout and deadline. */
  clouds?: Connections;
  /** Told when a delivery left tasks to the sweep (debounced by the caller: see wake.ts). */
  wakeSweep?: (() => Promise<void>) | undefined;
}

type Env = { Bindings: { invocation: InvocationContext } };

function send(c: Context, a: Answer): Response {
  return c.json(a.body, a.status as 200, a.headers);
}

export function createWebhookApp(deps: Deps, options: WebhookAppOptions = {}): FetchApp {
  const clouds = options.clouds ?? deps.clouds.derive({ clock: budgetClock(deps.clock), timeoutMs: deps.config.webhook.submitBudgetMs });
  const rt: WebhookRuntime = { deps, clouds, wakeSweep: options.wakeSweep };
  const kinds = new Set<string>(WEBHOOK_KINDS);
  const app = new Hono<Env>();

  app.post('/webhooks/:kind', async (c) => {
    let answer: Answer;
    try {
      answer = await deliver(c);
    } catch (err) {
      await countDelivery(c.req.param('kind') ?? '', 500);
      throw err;
    }
    await countDelivery(c.req.param('kind') ?? '', answer.status);
    if (answer.status >= 400) {
      // Accepted deliveries are logged by handleDelivery; refusals get their line here (never the token).
      const e = (answer.body as ErrorEnvelope).error;
      deps.log.info('webhook refused', { kind: clip(c.req.param('kind') ?? ''), requestId: c.env.invocation.requestId, status: answer.status, code: e.code, field: e.field });
    }
    return send(c, answer);
  });

  /** One upsert per delivery (ferry_webhook_deliveries_total); a ledger that cannot count does not refuse the delivery. */
  async function countDelivery(kind: string, status: number): Promise<void> {
    try {
      await deps.ledger.metrics.count(COUNTERS.webhookDeliveries, { kind: kinds.has(kind) ? kind : 'unknown', outcome: deliveryOutcome(status) });
    } catch (err) {
      deps.log.warn('webhook delivery not counted', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  async function deliver(c: Context<Env>): Promise<Answer> {
    const kind = c.req.param('kind') ?? '';
    if (!kinds.has(kind)) return errorAnswer(404, 'UnknownKind', `unknown webhook kind "${clip(kind)}"; one of ${WEBHOOK_KINDS.join(', ')}`, 'kind');
    const invocation = c.env.invocation;
    const receivedAt = deps.clock.now();
    const url = new URL(c.req.url);
    const token = authenticate(presentedToken(c.req.raw.headers, url), deps.config.auth.webhookTokens);
    if (!token) return unauthorized('missing or invalid token (Authorization: Bearer <token>, or ?token= for senders that cannot set headers)');
    const body = await readBodyLimited(c.req.raw, deps.config.webhook.maxBodyBytes);
    if (!body.ok) {
      // The rest of an oversized body is not read: the connection cannot be reused.
      if (body.status === 413) c.header('connection', 'close');
      return errorAnswer(body.status, body.code, body.message, '(body)');
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of c.req.raw.headers) headers[k.toLowerCase()] = v;
    return handleDelivery({ kind: kind as WebhookKind, headers, query: url.searchParams, body: body.text, requestId: invocation.requestId, token, receivedAt }, rt);
  }
  app.all('/webhooks/:kind', (c) => {
    c.header('allow', 'POST');
    return send(c, errorAnswer(405, 'MethodNotAllowed', `${clip(c.req.method, 20)} is not allowed; use POST`));
  });
  app.notFound((c) => send(c, errorAnswer(404, 'NotFound', `no route ${clip(c.req.method, 20)} ${clip(new URL(c.req.url).pathname)}; use POST /webhooks/{${WEBHOOK_KINDS.join('|')}}`)));
  app.onError((err, c) => {
    deps.log.error('webhook internal error', { error: err instanceof Error ? { name: err.name, message: err.message } : String(err) });
    return send(c, errorAnswer(500, 'InternalError', 'the delivery could not be processed; it may be retried'));
  });

  return async (req, ctx) => app.fetch(req, { invocation: ctx });
}
