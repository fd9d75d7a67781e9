/** The copy engine and registry auth: Basic (htpasswd) and Bearer tokens (a token server) on real registries. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CopyError, copyImage, type ImageRef, type Login } from '../shared/copy/index.ts';
import { type BuiltImage, buildOciImage, pushWithSkopeo, type Registry, skopeoDigest, startRegistry, stopAllRegistries } from './helpers/registry/index.ts';

const alice = { username: 'alice', password: 'wonderland' };
const bob = { username: 'bob', password: 'builder' };
let basicReg: Registry;
let tokenReg: Registry;
let work: string;
let image: BuiltImage;

const ref = (r: Registry, repository: string, tag: string, login: Login): ImageRef => ({ registry: { url: r.url, name: r.host, login }, repository, tag });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-copy-auth-'));
  [basicReg, tokenReg] = await Promise.all([
    startRegistry({ htpasswd: { [alice.username]: alice.password } }),
    startRegistry({
      token: { users: { [bob.username]: bob.password }, expiresIn: 60, grant: (user, repo, wanted) => (user && !repo.startsWith('readonly/') ? wanted : wanted.filter((a) => a === 'pull')) },
    }),
  ]);
  image = await buildOciImage(join(work, 'img'), { layers: [1000, 50_000], tag: 'v1' });
  await pushWithSkopeo(image.dir, 'v1', `${basicReg.host}/team/app:v1`, alice);
}, 60_000);

afterAll(async () => {
  await stopAllRegistries();
  rmSync(work, { recursive: true, force: true });
});

describe('registry auth', () => {
  it('Basic at the source, Bearer tokens at the target; login() asked lazily, once per registry', async () => {
    const srcLogin = vi.fn(async () => alice);
    const dstLogin = vi.fn(async () => bob);
    const r = await copyImage(ref(basicReg, 'team/app', 'v1', srcLogin), ref(tokenReg, 'mirror/app', 'v1', dstLogin));
    expect(r).toMatchObject({ status: 'done', targetDigest: image.digest });
    const asked = [...tokenReg.tokenServer!.requests];
    expect(await skopeoDigest(`${tokenReg.host}/mirror/app:v1`, bob)).toBe(image.digest);
    expect(srcLogin).toHaveBeenCalledTimes(1);
    expect(dstLogin).toHaveBeenCalledTimes(1);
    // One token for the scope set (cached for every request of the copy).
    expect(asked.map((t) => t.scopes)).toEqual([['repository:mirror/app:pull,push']]);
    expect(asked[0]!.user).toBe('bob');
  });

  it('pulls with a Bearer token and mounts with pull on the source repository in the same token', async () => {
    const login = vi.fn(async () => bob);
    const before = tokenReg.tokenServer!.requests.length;
    const r = await copyImage(ref(tokenReg, 'mirror/app', 'v1', login), ref(tokenReg, 'copy/app', 'v1', login));
    expect(r).toMatchObject({ status: 'done', stats: { blobsMounted: 3, bytesCopied: 0 } });
    const scopes = tokenReg.tokenServer!.requests.slice(before).map((t) => t.scopes);
    expect(scopes).toContainEqual(['repository:mirror/app:pull']);
    expect(scopes).toContainEqual(['repository:copy/app:pull,push', 'repository:mirror/app:pull']);
  });

  it('logs in again when the credentials expire', async () => {
    let now = Date.now();
    const login = vi.fn(async () => ({ ...alice, expiresAt: now + 1000 }));
    const src = ref(basicReg, 'team/app', 'v1', login);
    const clockedFetch: typeof fetch = async (input, init) => {
      now += 600;
      return fetch(input, init);
    };
    const r = await copyImage(
      src,
      ref(tokenReg, 'fresh/app', 'v1', async () => bob),
      { fetch: clockedFetch, now: () => now, concurrency: 1 },
    );
    expect(r.status).toBe('done');
    expect(login.mock.calls.length).toBeGreaterThan(1);
  });

  it('wrong password: UNAUTHORIZED, not retryable, after one fresh login; the registry message is kept', async () => {
    const login = vi.fn(async () => ({ username: 'alice', password: 'wrong' }));
    const err = await copyImage(
      ref(basicReg, 'team/app', 'v1', login),
      ref(tokenReg, 'mirror/app', 'x', async () => bob),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyError);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', retryable: false, status: 401 });
    expect((err as Error).message).toMatch(/UNAUTHORIZED/);
    expect(login).toHaveBeenCalledTimes(2);
  });

  it('a token server refusing the credentials: UNAUTHORIZED with its message', async () => {
    const err = await copyImage(
      ref(basicReg, 'team/app', 'v1', async () => alice),
      ref(tokenReg, 'mirror/app', 'x', async () => ({ username: 'bob', password: 'nope' })),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect((err as Error).message).toMatch(/bad credentials/);
  });

  it('push not granted: DENIED, not retryable, and no tag', async () => {
    const err = await copyImage(
      ref(basicReg, 'team/app', 'v1', async () => alice),
      ref(tokenReg, 'readonly/app', 'v1', async () => bob),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DENIED', retryable: false });
  });

  it('anonymous against Basic auth: UNAUTHORIZED saying credentials are missing', async () => {
    await expect(
      copyImage(
        ref(basicReg, 'team/app', 'v1', async () => null),
        ref(tokenReg, 'mirror/app', 'x', async () => bob),
      ),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      retryable: false,
      message: expect.stringMatching(/no credentials/),
    });
  });
});
