/**
 * The local cloud's plain registry (seed `registry.generic`): a real client (skopeo) pushes with the
 * seeded user, anonymous and wrong credentials are refused, and every tagged push is announced to the
 * notification endpoints in CNCF distribution's envelope — what Ferry's `/webhooks/distribution` reads.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { EVENTS_MEDIA_TYPE } from '../local/cloud/registry/generic.ts';
import { buildOciImage, pushWithSkopeo, skopeoDigest } from './helpers/registry/index.ts';

let cloud: LocalCloud;
let work: string;
let hook: Server;
let hookUrl: string;
const received: { headers: Record<string, string | string[] | undefined>; body: unknown }[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-generic-registry-'));
  hook = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(text) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/distribution`;
  cloud = await startLocalCloud({ port: 0, seed: { registry: { generic: [{ name: 'hub', username: 'dev', password: 'dev-pass' }] } } });
  cloud.notifyRegistry('hub', [{ url: hookUrl, headers: { authorization: 'Bearer t0k3n' } }]);
});

afterAll(async () => {
  await cloud?.close();
  await new Promise((r) => hook?.close(r));
  rmSync(work, { recursive: true, force: true });
});

it('takes a push from a real client and announces it as distribution does', async () => {
  const host = new URL(cloud.registries.generic.hub!).host;
  const image = await buildOciImage(join(work, 'img'), { layers: [20_000, 3_000], tag: 'v1' });
  await expect(pushWithSkopeo(image.dir, 'v1', `${host}/apps/web:v1`)).rejects.toThrow();
  await expect(pushWithSkopeo(image.dir, 'v1', `${host}/apps/web:v1`, { username: 'dev', password: 'wrong' })).rejects.toThrow();
  expect(received).toHaveLength(0);
  await pushWithSkopeo(image.dir, 'v1', `${host}/apps/web:v1`, { username: 'dev', password: 'dev-pass' });
  expect(await skopeoDigest(`${host}/apps/web:v1`, { username: 'dev', password: 'dev-pass' })).toBe(image.digest);
  await expect.poll(() => received.length).toBe(1);
  const [{ headers, body }] = received as [{ headers: Record<string, string>; body: { events: Array<Record<string, any>> } }];
  expect(headers['content-type']).toBe(EVENTS_MEDIA_TYPE);
  expect(headers.authorization).toBe('Bearer t0k3n');
  expect(body.events).toHaveLength(1);
  expect(body.events[0]).toMatchObject({ action: 'push', target: { repository: 'apps/web', tag: 'v1', digest: image.digest }, request: { host } });
}, 60_000);

it('refuses notifications for a registry that is not seeded', () => {
  expect(() => cloud.notifyRegistry('nope', [])).toThrow(/no plain registry "nope"/);
});
