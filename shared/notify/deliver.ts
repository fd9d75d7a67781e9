/**
 * Delivers queued notifications (the ledger outbox) to the configured targets.
 *
 * Delivery is claim → send → mark: an entry is sent only by the run holding its lease and marked
 * sent right after a 2xx, so it is never sent twice by two runs and never lost (a failure goes back
 * to pending with a backoff, up to the entry's max attempts, then `dead`). The one window left: a
 * crash (or a ledger error) after the receiver answered 2xx and before markSent commits makes the
 * next run send it again. Receivers can de-duplicate on the `X-Ferry-Notification-Id` header (the
 * generic webhook body carries it as `id` too).
 *
 * The message is built at delivery (message.ts): the link base is `api.publicUrl`, else
 * `webhook.publicUrl` (one API Gateway group, one local server: the same base).
 */
import { request, type Dispatcher } from 'undici';
import type { NotificationTarget } from '../config/index.ts';
import { LedgerError, type Ledger, type NotificationRow } from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import { notificationTargetName } from '../replicate/notices.ts';
import { signedDingtalkUrl } from './dingtalk.ts';
import { dingtalkBody, slackBody, webhookBody } from './format.ts';
import { buildMessage, type Message } from './message.ts';
import { signatureHeaders } from './signature.ts';

/** The config deliveries read: the targets, and the public URLs links are made from. */
export interface NotifyConfig {
  notifications: readonly NotificationTarget[];
  api?: { publicUrl?: string | undefined } | undefined;
  webhook?: { publicUrl?: string | undefined } | undefined;
}

type Deps = { ledger: Ledger; log: Logger; config: NotifyConfig };

export function linkBaseOf(config: NotifyConfig): string | undefined {
  return config.api?.publicUrl ?? config.webhook?.publicUrl;
}

export interface DeliverOptions {
  owner: string;
  /** Ledger clock, ms (DingTalk's signature timestamp uses it too). */
  now: () => number;
  /** Whether to start another delivery. */
  hasTime: () => boolean;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** Entries claimed per ledger query (default 20). */
  batch?: number;
  /** Deliveries in flight at once (default 4). */
  concurrency?: number;
  dispatcher?: Dispatcher;
}

export interface DeliveryCounts {
  sent: number;
  failed: number;
  dead: number;
}

export class DeliveryError extends Error {
  override name = 'DeliveryError';
}

export function resolveTarget(targets: readonly NotificationTarget[], name: string): NotificationTarget | undefined {
  const index = Number(name.split(':', 1)[0]);
  const t = Number.isInteger(index) ? targets[index] : undefined;
  return t && notificationTargetName(t, index) === name ? t : undefined;
}

export async function deliverDue(deps: Deps, opts: DeliverOptions): Promise<DeliveryCounts> {
  const counts: DeliveryCounts = { sent: 0, failed: 0, dead: 0 };
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const batch = opts.batch ?? 20;
  const concurrency = opts.concurrency ?? 4;
  // The lease outlives every send of a batch, so markSent cannot find it taken by another run.
  const leaseMs = timeoutMs * Math.ceil(batch / concurrency) + 60_000;
  while (opts.hasTime()) {
    const due = await deps.ledger.outbox.claimDue({ owner: opts.owner, limit: batch, leaseMs });
    if (due.length === 0) break;
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const n = due[next++]!;
        if (!opts.hasTime()) {
          // Not attempted: leave it for the next run without spending an attempt (its lease expires).
          continue;
        }
        await deliverOne(deps, n, opts, timeoutMs, counts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
    if (due.length < batch) break;
  }
  return counts;
}

async function deliverOne(deps: Deps, n: NotificationRow, opts: DeliverOptions, timeoutMs: number, counts: DeliveryCounts): Promise<void> {
  const target = resolveTarget(deps.config.notifications, n.target);
  let failure: string | undefined;
  if (!target) {
    failure = `notification target ${n.target} is not configured any more`;
  } else {
    const message = await messageOf(deps, n);
    if (message === null) return withdraw(deps, n, opts.owner);
    if (typeof message === 'string') failure = message;
    else {
      try {
        await send(target, n, message, opts, timeoutMs);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
    }
  }
  try {
    if (failure === undefined) {
      await deps.ledger.outbox.markSent(n.id, opts.owner);
      counts.sent++;
      return;
    }
    const row = await deps.ledger.outbox.markFailed(n.id, { owner: opts.owner, error: failure });
    if (row.state === 'dead') {
      counts.dead++;
      deps.log.error('notification given up', { notificationId: n.id, target: n.target, kind: n.kind, attempts: row.attempts, error: failure });
    } else {
      counts.failed++;
      deps.log.warn('notification not delivered, will retry', { notificationId: n.id, target: n.target, kind: n.kind, attempts: row.attempts, nextAttemptAt: row.nextAttemptAt, error: failure });
    }
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    deps.log.warn('notification outcome not recorded', { notificationId: n.id, error: err.message });
  }
}

/** The entry's message; null when it has nothing left to say; a string when it cannot be built (why). */
async function messageOf(deps: Deps, n: NotificationRow): Promise<Message | null | string> {
  const replicationId = (n.payload as { replicationId?: unknown }).replicationId;
  const id = typeof replicationId === 'string' ? replicationId : n.replicationId;
  const rep = id ? await deps.ledger.getReplication(id) : null;
  if (!rep) return `replication ${id ?? '(none)'} of notification ${n.id} is not in the ledger`;
  return buildMessage(n, rep, linkBaseOf(deps.config));
}

async function withdraw(deps: Deps, n: NotificationRow, owner: string): Promise<void> {
  try {
    await deps.ledger.outbox.withdraw(n.id, owner);
    deps.log.info('notification withdrawn: every failed target succeeded on a retry', { notificationId: n.id, target: n.target, kind: n.kind, replicationId: n.replicationId });
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    deps.log.warn('notification outcome not recorded', { notificationId: n.id, error: err.message });
  }
}

async function send(target: NotificationTarget, n: NotificationRow, message: Message, opts: DeliverOptions, timeoutMs: number): Promise<void> {
  let url = target.url;
  let body: object;
  switch (target.type) {
    case 'webhook':
      body = webhookBody(message);
      break;
    case 'slack':
      body = slackBody(message);
      break;
    case 'dingtalk':
      body = dingtalkBody(message);
      url = signedDingtalkUrl(target.url, target.secret, opts.now());
      break;
  }
  const raw = JSON.stringify(body);
  let status: number;
  let contentType: string | undefined;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-ferry-notification-id': n.id,
        'user-agent': 'ferry-notify/1',
        ...(target.type === 'webhook' && target.secret ? signatureHeaders(target.secret, opts.now(), raw) : {}),
      },
      body: raw,
      signal: AbortSignal.timeout(timeoutMs),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    status = res.statusCode;
    contentType = mediaType(res.headers['content-type']);
    text = await res.body.text();
  } catch (err) {
    // Never echo the URL: it carries the target's secret (token, access_token).
    const code = (err as { code?: string })?.code ?? (err as Error)?.name ?? 'Error';
    throw new DeliveryError(`${target.type} delivery failed: ${/^[A-Za-z0-9_]{1,64}$/.test(code) ? code : 'Error'}`);
  }
  // Never the receiver's body either: an error page may quote the request (the URL's secret path or
  // access_token), and this message is logged and stored as the outbox entry's last error.
  if (status < 200 || status > 299) throw new DeliveryError(`${target.type} answered HTTP ${status}${contentType ? ` (${contentType})` : ''}`);
  if (target.type === 'dingtalk') {
    // DingTalk answers 200 with {errcode, errmsg}; errcode ≠ 0 is a refusal (bad sign, keyword, rate limit).
    let parsed: { errcode?: unknown } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new DeliveryError(`dingtalk answered HTTP ${status} with a body that is not JSON`);
    }
    if (parsed.errcode !== undefined && Number(parsed.errcode) !== 0) {
      const code = Number(parsed.errcode);
      // The code only: errmsg is the receiver's text.
      throw new DeliveryError(`dingtalk refused the message: errcode ${Number.isSafeInteger(code) ? code : '(not a number)'}`);
    }
  }
}

/** `text/html` from `text/html; charset=utf-8`; undefined when absent or not a plain media type. */
function mediaType(header: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.split(';', 1)[0]?.trim().toLowerCase();
  return value && /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(value) ? value : undefined;
}
