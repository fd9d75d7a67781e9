/**
 * The local stack's single HTTP app: `/webhooks/*` goes to the webhook function's app, the
 * rest to the operator API (what API Gateway does in front of the two deployed functions).
 * Every request is logged as one JSON line WITHOUT its query string (ACR triggers carry the
 * webhook token there). During shutdown new requests get 503 while in-flight ones finish.
 */
import type { FetchApp } from '../../shared/runtime/context.ts';
import { clip, type Logger } from '../../shared/log.ts';
import { withRequestLog } from '../../shared/runtime/request-log.ts';
import { errorResponse } from '../../shared/http/errors.ts';

export interface ServedApp {
  app: FetchApp;
  /** Refuse new requests, then wait (at most `timeoutMs`) for in-flight ones. True when drained. */
  drain(timeoutMs: number): Promise<boolean>;
  readonly inFlight: number;
}

export function routeByPath(webhook: FetchApp, api: FetchApp): FetchApp {
  return (req, ctx) => {
    const path = new URL(req.url).pathname;
    return path === '/webhooks' || path.startsWith('/webhooks/') ? webhook(req, ctx) : api(req, ctx);
  };
}

export function serveApp(inner: FetchApp, log: Logger): ServedApp {
  const pending = new Set<Promise<unknown>>();
  let draining = false;
  const logged = withRequestLog(inner, log);
  const app: FetchApp = async (req, ctx) => {
    if (draining) {
      log.info('http request refused: shutting down', { requestId: ctx.requestId, method: clip(req.method, 20), path: clip(new URL(req.url).pathname), status: 503 });
      return errorResponse(503, 'Unavailable', 'Ferry is shutting down', { requestId: ctx.requestId }, { 'retry-after': '5' });
    }
    const work = logged(req, ctx);
    pending.add(work);
    try {
      return await work;
    } finally {
      pending.delete(work);
    }
  };
  return {
    app,
    get inFlight() {
      return pending.size;
    },
    async drain(timeoutMs) {
      draining = true;
      if (!pending.size) return true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
      const done = Promise.allSettled([...pending]).then(() => true as const);
      const ok = await Promise.race([done, timedOut]);
      clearTimeout(timer);
      return ok;
    },
  };
}
