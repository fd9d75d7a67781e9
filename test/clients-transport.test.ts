import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { alibabaCredentialsFromEnv, alibabaCredentialsFromFcContext } from '../shared/clients/credentials.ts';
import { CloudInvalidRequestError, CloudThrottledError, CloudTransientError } from '../shared/clients/errors.ts';
import {
  AccountLimiter,
  backoffDelay,
  defaultRetryPolicy,
  getAccountLimiter,
  isRetryable,
  LIMITER_BUSY,
  resetAccountLimiters,
  sendHttp,
  withRetry,
  withoutQueueing,
} from '../shared/clients/transport.ts';
import { AcrClient } from '../shared/clients/acr.ts';
import { serverWaitMs } from '../shared/clients/alibaba-rpc.ts';
import { fakeClock, startServer, type TestServer } from './clients-harness.ts';

const transient = (code = 'HTTP500') => new CloudTransientError({ provider: 'acr', code, message: 'x' });
const throttled = (retryAfterMs?: number) => new CloudThrottledError({ provider: 'acr', code: 'Throttling', message: 'x', retryAfterMs });

describe('withRetry', () => {
  const policy = { ...defaultRetryPolicy, random: () => 1 - Number.EPSILON };

  it('retries transient errors with capped exponential full-jitter backoff', async () => {
    const clock = fakeClock();
    let calls = 0;
    const r = await withRetry(async () => (++calls < 4 ? Promise.reject(transient()) : 'done'), { ...policy, maxAttempts: 4 }, clock);
    expect(r).toBe('done');
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([199, 399, 799]);
  });

  it('full jitter stays in [0, min(max, base·2^n)]', () => {
    for (const random of [() => 0, () => 0.999]) {
      const p = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000, random };
      for (let n = 1; n <= 10; n++) {
        const d = backoffDelay(p, n);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (n - 1)));
      }
    }
  });

  it('never retries errors that are not throttling/transient', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new CloudInvalidRequestError({ provider: 'ecs', code: 'MissingParameter', message: 'x' });
        },
        policy,
        fakeClock(),
      ),
    ).rejects.toBeInstanceOf(CloudInvalidRequestError);
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error('bug');
        },
        policy,
        fakeClock(),
      ),
    ).rejects.toThrow('bug');
    expect(calls).toBe(2);
  });

  it('honours the server wait when longer than the backoff', async () => {
    const clock = fakeClock();
    let calls = 0;
    await withRetry(async () => (++calls === 1 ? Promise.reject(throttled(4321)) : 1), policy, clock);
    expect(clock.sleeps).toEqual([4321]);
  });

  it('mayHaveCreated: throttling and never-sent failures are retried, other transient failures are not', async () => {
    const clock = fakeClock();
    let calls = 0;
    await withRetry(async () => (++calls === 1 ? Promise.reject(throttled()) : 1), policy, clock, { mayHaveCreated: true });
    expect(calls).toBe(2);
    calls = 0;
    await withRetry(async () => (++calls === 1 ? Promise.reject(transient('ECONNREFUSED')) : 1), policy, clock, { mayHaveCreated: true });
    expect(calls).toBe(2);
    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw transient('UND_ERR_SOCKET');
        },
        policy,
        clock,
        { mayHaveCreated: true },
      ),
    ).rejects.toBeInstanceOf(CloudTransientError);
    expect(calls).toBe(1);
  });
});

describe('sendHttp', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('a response that never comes → CloudTransientError RequestTimeout', async () => {
    server.script('hang');
    const t0 = Date.now();
    const e = await sendHttp({ method: 'POST', url: server.url + '/', headers: {}, timeoutMs: 150, provider: 'acr', action: 'X' }).catch((x) => x);
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(e.code).toBe('RequestTimeout');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a refused connection → CloudTransientError ECONNREFUSED (safe to re-send even for creates)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const clock = fakeClock();
    const acr = new AcrClient({
      regionId: 'cn-hangzhou',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: () => ({ accessKeyId: 'a', accessKeySecret: 'b' }),
      clock,
      limiter: new AccountLimiter({}, clock),
      retry: { maxAttempts: 3, random: () => 0.5 },
    });
    const e = await acr
      .createRepoSyncTask({
        instanceId: 'cri-abcd1234',
        repoId: 'crr-abcd1234',
        tag: 'v1',
        targetInstanceId: 'cri-abcd5678',
        targetNamespace: 'ns',
        targetRegionId: 'cn-beijing',
        targetRepoName: 'repo',
        targetTag: 'v1',
      })
      .catch((x) => x);
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(e.code).toBe('ECONNREFUSED');
    expect(clock.sleeps).toEqual([100, 200]); // retried twice: nothing was sent
  });
});

describe('AccountLimiter', () => {
  it('bounds concurrency', async () => {
    const limiter = new AccountLimiter({ maxConcurrent: 3, ratePerSecond: 1e6, burst: 1e6 });
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 2));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(limiter.inFlight).toBe(0);
  });

  it('token bucket: a burst, then ratePerSecond (virtual clock)', async () => {
    const clock = fakeClock(0);
    const limiter = new AccountLimiter({ maxConcurrent: 100, ratePerSecond: 10, burst: 5 }, clock);
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 15 }, () => limiter.run(async () => void starts.push(clock.now()))));
    expect(starts.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(starts[14]).toBe(1000); // 10 more at 10/s
    for (let i = 6; i < 15; i++) expect(starts[i]! - starts[i - 1]!).toBe(100);
  });

  it('withoutQueueing: a call runs only with a slot and a token free now, else LimiterBusy at once (not retried); counted', async () => {
    const clock = fakeClock(0);
    const limiter = new AccountLimiter({ maxConcurrent: 2, ratePerSecond: 10, burst: 3 }, clock);
    const tally = { sent: 0, refused: 0 };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const outcomes = await withoutQueueing(async () => {
      const slow = [limiter.run(() => held), limiter.run(() => held)];
      // Both slots taken: refused though a token is left.
      const third = await limiter.run(async () => 'ran').catch((e: CloudTransientError) => e.code);
      release();
      await Promise.all(slow);
      // A slot is free and one token left: runs; then none left: refused, no wait.
      const fourth = await limiter.run(async () => 'ran').catch((e: CloudTransientError) => e.code);
      const fifth = await limiter.run(async () => 'ran').catch((e: CloudTransientError) => e.code);
      return [third, fourth, fifth];
    }, tally);
    expect(outcomes).toEqual([LIMITER_BUSY, 'ran', LIMITER_BUSY]);
    expect(tally).toEqual({ sent: 3, refused: 2 });
    expect(clock.sleeps).toEqual([]);
    expect(limiter.inFlight).toBe(0);
    expect(isRetryable(new CloudTransientError({ provider: 'acr', code: LIMITER_BUSY, message: 'x' }), false)).toBe(false);
    // Outside withoutQueueing the same limiter waits for its token instead.
    await expect(limiter.run(async () => 'queued')).resolves.toBe('queued');
  });

  it('a failing call releases its slot', async () => {
    const limiter = new AccountLimiter({ maxConcurrent: 1 });
    await expect(
      limiter.run(async () => {
        throw new Error('x');
      }),
    ).rejects.toThrow('x');
    await expect(limiter.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('getAccountLimiter is one per key, process-wide', () => {
    resetAccountLimiters();
    const a = getAccountLimiter('alibaba:123', { maxConcurrent: 2 });
    expect(getAccountLimiter('alibaba:123')).toBe(a);
    expect(getAccountLimiter('alibaba:456')).not.toBe(a);
    expect(a.options).toMatchObject({ maxConcurrent: 2, ratePerSecond: 20 });
    resetAccountLimiters();
  });
});

describe('credentials and headers', () => {
  it('from env and FC context', () => {
    expect(alibabaCredentialsFromEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'id', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret1', ALIBABA_CLOUD_SECURITY_TOKEN: 'tok1' })).toEqual({
      accessKeyId: 'id',
      accessKeySecret: 'secret1',
      securityToken: 'tok1',
    });
    expect(() => alibabaCredentialsFromEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'id' })).toThrow('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
    expect(alibabaCredentialsFromFcContext({ credentials: { accessKeyId: 'STS.x', accessKeySecret: 'sec2', securityToken: 'tok2' } })).toEqual({
      accessKeyId: 'STS.x',
      accessKeySecret: 'sec2',
      securityToken: 'tok2',
    });
    expect(() => alibabaCredentialsFromFcContext({})).toThrow('RAM role');
  });

  it('server wait headers', () => {
    expect(serverWaitMs({ 'x-ratelimit-user-api': 'Limit:1,Remain:0,TimeLeft:2000,Reset:1234' }, 0)).toBe(2000);
    expect(serverWaitMs({ 'x-ratelimit-user': 'Limit:5,Remain:0,TimeLeft:700,Reset:1' }, 0)).toBe(700);
    expect(serverWaitMs({ 'retry-after': '1.5' }, 0)).toBe(1500);
    expect(serverWaitMs({ 'retry-after': new Date(5000).toUTCString() }, 1000)).toBe(4000);
    expect(serverWaitMs({}, 0)).toBeUndefined();
  });
});
