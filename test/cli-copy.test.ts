// `ferry copy` as operators run it (`node bin/ferry.js copy …`) between two real registries, and its
// reference parsing.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../shared/cli/copy.ts';
import { pushNewImage, type Registry, skopeoDigest, startRegistry } from './helpers/registry/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ferry.js');

function ferry(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FERRY_')) base[k] = v;
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const DEST = { username: 'ferry', password: 's3cret-pass' };
let a: Registry;
let b: Registry;
let pushed: string;

beforeAll(async () => {
  a = await startRegistry();
  b = await startRegistry({ htpasswd: { [DEST.username]: DEST.password } });
  await pushNewImage(`${a.host}/team/app:v1`, { layers: [2000, 70_000] });
  pushed = await skopeoDigest(`${a.host}/team/app:v1`);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

describe('ferry copy', () => {
  it('copies between two registries, credentials from the environment, one JSON result', async () => {
    const r = await ferry(['copy', `${a.host}/team/app:v1`, `${b.host}/mirror/app`, '--json'], { FERRY_DEST_CREDS: 'ferry:s3cret-pass' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, source: `${a.host}/team/app:v1`, destination: `${b.host}/mirror/app:v1`, sourceDigest: pushed, targetDigest: pushed });
    expect(await skopeoDigest(`${b.host}/mirror/app:v1`, DEST)).toBe(pushed);
    expect(r.stdout).not.toContain('s3cret');
  });

  it('a refused login fails with exit 1 naming the code; a bad reference is a usage error (2)', async () => {
    const denied = await ferry(['copy', `${a.host}/team/app:v1`, `${b.host}/mirror/app:v2`], { FERRY_DEST_CREDS: 'ferry:wrong' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^ferry: copy failed: UNAUTHORIZED: /);
    expect(denied.stderr).not.toContain('wrong');

    const missing = await ferry(['copy', `${a.host}/team/nope:v1`, `${b.host}/mirror/nope:v1`, '--dest-creds', 'ferry:s3cret-pass', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { code: expect.stringMatching(/MANIFEST_UNKNOWN|NAME_UNKNOWN/) } });

    const bad = await ferry(['copy', `${a.host}/Team/App:v1`, `${b.host}/x:v1`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('source: "Team/App" is not a repository');
    expect((await ferry(['copy', `${a.host}/team/app:v1`])).code).toBe(2);
    expect((await ferry(['copy', `${a.host}/team/app:v1`, `${b.host}/x@sha256:${'a'.repeat(64)}`])).stderr).toContain('destination: give a tag, not a digest');
    expect((await ferry(['copy', 'a/b', 'c/d', '--platform', 'linux'])).stderr).toContain('--platform: "linux" must be os/arch');
  });
});

describe('image references', () => {
  it.each([
    ['nginx', { url: 'https://registry-1.docker.io', repository: 'library/nginx' }],
    ['user/app:1.0', { url: 'https://registry-1.docker.io', repository: 'user/app', tag: '1.0' }],
    ['127.0.0.1:5000/team/app:v1', { url: 'http://127.0.0.1:5000', repository: 'team/app', tag: 'v1' }],
    ['localhost:5000/app', { url: 'http://localhost:5000', repository: 'app' }],
    ['registry.example.com/team/app@sha256:' + 'b'.repeat(64), { url: 'https://registry.example.com', repository: 'team/app', digest: `sha256:${'b'.repeat(64)}` }],
    ['http://registry.lan:8080/team/app:v2', { url: 'http://registry.lan:8080', repository: 'team/app', tag: 'v2' }],
    ['https://127.0.0.1:5443/app:v1', { url: 'https://127.0.0.1:5443', repository: 'app', tag: 'v1' }],
  ])('%s', (text, expected) => {
    expect(parseImageRef(text, 'source')).toMatchObject(expected);
  });

  it.each([
    ['registry.example.com', 'names no repository'],
    ['registry.example.com/team/app:bad tag', 'is not a tag'],
    ['registry.example.com/team/app@sha256:xyz', 'is not a digest'],
  ])('%s is refused', (text, message) => {
    expect(() => parseImageRef(text, 'source')).toThrow(message);
  });
});
