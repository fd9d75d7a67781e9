// deploy/ferry-fc-plugin.cjs logic through the REAL @alicloud/fc2 client over loopback HTTP.
// The FC side is a minimal stand-in for the trigger + async-config routes (FC 2.0 error shape:
// {ErrorCode, ErrorMessage}); switch to shared/local-cloud's FC emulation once it exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const plugin = require('../deploy/ferry-fc-plugin.cjs') as {
  syncTimer(fc: unknown, o: Record<string, unknown>): Promise<string>;
  removeTimer(fc: unknown, o: Record<string, unknown>): Promise<string>;
  putAsyncConfigs(fc: unknown, svc: string, cfgs: Record<string, unknown>[]): Promise<string[]>;
  removeAsyncConfigs(fc: unknown, svc: string, fns: string[]): Promise<string[]>;
  createFcClient(o: { credentialsFile: string; region: string; endpoint?: string }): unknown;
  readCredentials(file: string): Record<string, string>;
};

const triggers = new Map<string, Record<string, unknown>>();
const asyncConfigs = new Map<string, Record<string, unknown>>();
const seen: string[] = [];
let server: Server;
let endpoint = '';
const dir = mkdtempSync(join(tmpdir(), 'ferry-plugin-'));
const ini = join(dir, 'creds');

beforeAll(async () => {
  writeFileSync(ini, '[other]\naliyun_account_id = nope\n[default]\naliyun_account_id = 1234567890\naliyun_access_key_id = id\naliyun_access_key_secret = secret\n');
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} sig=${/^FC id:/.test(String(req.headers.authorization))}`);
      const send = (status: number, data: unknown) => {
        if (status === 204) return res.writeHead(204, { 'x-fc-request-id': 'rid' }).end();
        res.writeHead(status, { 'content-type': 'application/json', 'x-fc-request-id': 'rid' });
        res.end(JSON.stringify(data));
      };
      const notFound = (code: string) => send(404, { ErrorCode: code, ErrorMessage: `${code}` });
      const url = new URL(req.url!, 'http://x');
      const m = /^\/2016-08-15\/services\/([^/]+)\/functions\/([^/]+)\/(triggers(?:\/([^/]+))?|async-invoke-config)$/.exec(url.pathname);
      if (!m) return notFound('PathNotFound');
      const [, svc, fn, kind, trig] = m;
      const json = body ? JSON.parse(body) : {};
      if (kind === 'async-invoke-config') {
        const key = `${svc}/${fn}/${url.searchParams.get('qualifier') ?? ''}`;
        if (req.method === 'PUT') return asyncConfigs.set(key, json), send(200, json);
        if (req.method === 'DELETE') return asyncConfigs.delete(key) ? send(204, {}) : notFound('AsyncConfigNotExists');
      }
      if (kind === 'triggers' && req.method === 'POST') {
        triggers.set(`${svc}/${fn}/${json.triggerName}`, json);
        return send(200, json);
      }
      const key = `${svc}/${fn}/${trig}`;
      const t = triggers.get(key);
      if (!t) return notFound('TriggerNotFound');
      if (req.method === 'GET') return send(200, t);
      if (req.method === 'PUT') return triggers.set(key, { ...t, ...json }), send(200, triggers.get(key));
      if (req.method === 'DELETE') return triggers.delete(key), send(204, {});
      return notFound('PathNotFound');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 10_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('ferry-fc-plugin with @alicloud/fc2', () => {
  it('reads only the [default] section of the credentials INI', () => {
    expect(plugin.readCredentials(ini)).toMatchObject({ aliyun_account_id: '1234567890', aliyun_access_key_id: 'id' });
    writeFileSync(join(dir, 'bad'), '[default]\naliyun_account_id = 1\n');
    expect(() => plugin.readCredentials(join(dir, 'bad'))).toThrow(/aliyun_access_key_id/);
  });

  it('creates the timer trigger, then updates it, then removes it (404 tolerated)', async () => {
    const fc = plugin.createFcClient({ credentialsFile: ini, region: 'cn-hangzhou', endpoint });
    const opts = { serviceName: 'ferry-dev', functionName: 'ferry-dev-sweep', cronExpression: '0 */1 * * * *' };
    expect(await plugin.syncTimer(fc, opts)).toBe('created');
    expect(triggers.get('ferry-dev/ferry-dev-sweep/ferry-sweep-timer')).toEqual({
      triggerName: 'ferry-sweep-timer', triggerType: 'timer', triggerConfig: { cronExpression: '0 */1 * * * *', enable: true, payload: '' },
    });
    expect(await plugin.syncTimer(fc, { ...opts, cronExpression: '@every 5m' })).toBe('updated');
    expect(triggers.get('ferry-dev/ferry-dev-sweep/ferry-sweep-timer')!.triggerConfig).toMatchObject({ cronExpression: '@every 5m' });
    expect(await plugin.removeTimer(fc, opts)).toBe('deleted');
    expect(await plugin.removeTimer(fc, opts)).toBe('absent');
    expect(seen.every((s) => s.endsWith('sig=true'))).toBe(true);
  });

  it('rejects a five-field cron before calling FC', async () => {
    const fc = plugin.createFcClient({ credentialsFile: ini, region: 'cn-hangzhou', endpoint });
    const before = seen.length;
    await expect(plugin.syncTimer(fc, { serviceName: 's', functionName: 'f', cronExpression: '*/1 * * * *' })).rejects.toThrow(/six fields/);
    expect(seen.length).toBe(before);
  });

  it('puts and removes async configs; validates ranges', async () => {
    const fc = plugin.createFcClient({ credentialsFile: ini, region: 'cn-hangzhou', endpoint });
    const done = await plugin.putAsyncConfigs(fc, 'ferry-dev', [
      { functionName: 'ferry-dev-webhook', maxAsyncRetryAttempts: 2, maxAsyncEventAgeInSeconds: 3600 },
      { functionName: 'ferry-dev-cancel' },
    ]);
    expect(done).toEqual(['ferry-dev-webhook']);
    // fc2 puts the qualifier into the service segment: /services/ferry-dev.LATEST/…
    expect([...asyncConfigs.entries()]).toEqual([['ferry-dev.LATEST/ferry-dev-webhook/', { maxAsyncRetryAttempts: 2, maxAsyncEventAgeInSeconds: 3600 }]]);
    expect(await plugin.removeAsyncConfigs(fc, 'ferry-dev', ['ferry-dev-webhook', 'ferry-dev-cancel'])).toEqual(['ferry-dev-webhook']);
    await expect(plugin.putAsyncConfigs(fc, 'ferry-dev', [{ functionName: 'x', maxAsyncRetryAttempts: 9 }])).rejects.toThrow(/0–8/);
  });
});
