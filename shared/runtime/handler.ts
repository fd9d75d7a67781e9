/**
 * FC handler factories. The app (and everything it holds: DB pool, cloud clients) is built
 * lazily ONCE per instance on the first invocation and reused while the instance lives.
 * A failed build is not cached: the next invocation tries again.
 * Every invocation's context (the execution role's STS credentials) is recorded first
 * (invocation.ts), so function entries only wire an app or a job.
 */
import { withRequestLog } from './request-log.ts';
import { createLogger, type Logger } from '../log.ts';
import { handleApiGatewayEvent, isApiGatewayEvent } from './api-gateway.ts';
import { invocationContextFromFc, type FetchApp, type InvocationContext } from './context.ts';
import { handleFc3HttpEvent, isFc3HttpEvent } from './fc3-http.ts';
import { BadEventError, errorResult, parseEventJson, type FcHttpResult } from './http.ts';
import { rememberInvocation } from './invocation.ts';
import { parseTimerEvent, type TimerEvent } from './timer.ts';

export type FcHandler<R> = (event: unknown, context: unknown) => Promise<R>;

/** Memoises an async factory; a rejection clears the memo so a later call retries. */
export function once<T>(factory: () => T | Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      pending = Promise.resolve().then(factory);
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

export interface HandlerOptions {
  logger?: Logger;
}

/** FC handler for HTTP functions: detects API Gateway vs FC 3.0 HTTP trigger events and dispatches. */
export function httpHandler(appFactory: () => FetchApp | Promise<FetchApp>, opts: HandlerOptions = {}): FcHandler<FcHttpResult> {
  const log = opts.logger ?? createLogger({ component: 'runtime' });
  const getApp = once(async () => withRequestLog(await appFactory(), log));
  const onError = (err: unknown, ctx: InvocationContext) => log.error('app failed', { requestId: ctx.requestId, err });
  return async (event, context) => {
    const ctx = invocationContextFromFc(context);
    rememberInvocation(ctx);
    let parsed: Record<string, unknown>;
    try {
      parsed = parseEventJson(event, 'HTTP');
    } catch (err) {
      return errorResult(400, 'BadEvent', err instanceof BadEventError ? err.message : 'malformed event', ctx.requestId);
    }
    let app: FetchApp;
    try {
      app = await getApp();
    } catch (err) {
      log.error('app initialisation failed', { requestId: ctx.requestId, err });
      return errorResult(503, 'Unavailable', 'the function could not start; try again', ctx.requestId);
    }
    if (isFc3HttpEvent(parsed)) return handleFc3HttpEvent(app, parsed, ctx, onError);
    if (isApiGatewayEvent(parsed)) return handleApiGatewayEvent(app, parsed, ctx, onError);
    return errorResult(400, 'BadEvent', 'event is neither an API Gateway event (httpMethod) nor an FC HTTP trigger event (requestContext.http)', ctx.requestId);
  };
}

export type TimerJob<R> = (tick: TimerEvent, ctx: InvocationContext) => Promise<R>;

/**
 * FC handler for timer functions. A malformed event throws (FC records the failure) —
 * a timer has no caller to answer with a 400. Each tick is logged (request id, trigger, time).
 */
export function timerHandler<R>(jobFactory: () => TimerJob<R> | Promise<TimerJob<R>>, opts: HandlerOptions = {}): FcHandler<R> {
  const log = opts.logger ?? createLogger({ component: 'runtime' });
  const getJob = once(jobFactory);
  return async (event, context) => {
    const ctx = invocationContextFromFc(context);
    rememberInvocation(ctx);
    const tick = parseTimerEvent(event);
    log.info('timer tick', { requestId: ctx.requestId, trigger: tick.triggerName, triggerTime: tick.triggerTime.toISOString() });
    const job = await getJob();
    return job(tick, ctx);
  };
}
