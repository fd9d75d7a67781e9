import { clip, type Logger } from '../log.ts';
import type { FetchApp } from './context.ts';

/**
 * One JSON line per request: request id, method, path WITHOUT its query string (ACR triggers carry
 * the webhook token there) and cut to CLIP_DEFAULT characters (it is the sender's, read before any
 * authentication), status and duration. Same line locally and in Function Compute.
 */
export function withRequestLog(app: FetchApp, log: Logger): FetchApp {
  return async (req, ctx) => {
    const started = performance.now();
    const fields = { requestId: ctx.requestId, method: clip(req.method, 20), path: clip(new URL(req.url).pathname) };
    try {
      const res = await app(req, ctx);
      log.info('http request', { ...fields, status: res.status, durationMs: Math.round(performance.now() - started) });
      return res;
    } catch (err) {
      log.error('http request failed', { ...fields, status: 500, durationMs: Math.round(performance.now() - started), err });
      throw err;
    }
  };
}
