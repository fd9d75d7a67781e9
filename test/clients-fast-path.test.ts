/**
 * The ACR client's hot path (issue #19): hand-written response readers with the zod schemas' rules,
 * and signatures built straight from the canonical strings, checked against the generic signing
 * code on values that need percent-encoding, over real HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { CloudMalformedResponseError, type CloudError } from '../shared/clients/errors.ts';
import { lenient, listOf, looseLong, object, optionalLong, reader, requiredId, text } from '../shared/clients/shape.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import { canonicalQuery, rfc3986 } from '../shared/clients/signing/encode.ts';
import { alibabaSignatureProblem, fakeClock, startServer, type TestServer } from './clients-harness.ts';

const SECRET = 'test-secret-fast';
const INSTANCE = 'cri-abcd1234';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

function client(extra: Partial<ConstructorParameters<typeof AcrClient>[0]> = {}) {
  const clock = fakeClock();
  return new AcrClient({
    regionId: 'cn-hangzhou',
    endpoint: server.url,
    credentials: () => ({ accessKeyId: 'LTAI-fast', accessKeySecret: SECRET }),
    clock,
    limiter: new AccountLimiter({ ratePerSecond: 1000, burst: 1000 }, clock),
    retry: { maxAttempts: 1 },
    ...extra,
  });
}

const ok = (body: object) => ({ status: 200, body: { RequestId: 'REQ-F', Code: 'success', IsSuccess: true, ...body } });
const ODD = "a b/c*~'()!é+=&%";

describe('signing from the canonical strings', () => {
  for (const signatureVersion of ['v3', 'v1'] as const) {
    for (const securityToken of [undefined, ' sts token/+= ']) {
      it(`${signatureVersion}${securityToken ? ' with STS' : ''}: parameters that need encoding verify with the generic signer`, async () => {
        server.script(ok({ PageNo: 1, PageSize: 10, TotalCount: 0, SyncTasks: [] }));
        const c = client({ signatureVersion, credentials: () => ({ accessKeyId: 'LTAI-fast', accessKeySecret: SECRET, ...(securityToken ? { securityToken } : {}) }) });
        await c.listRepoSyncTask({ instanceId: INSTANCE, syncRecordId: ODD, pageSize: 10 });
        const req = server.requests[0]!;
        expect(req.query.SyncRecordId).toBe(ODD);
        expect(alibabaSignatureProblem(req, SECRET)).toBeNull();
        expect(alibabaSignatureProblem(req, 'another-secret')).not.toBeNull();
      });
    }
  }

  it('nonces differ across many calls (cut from a pooled buffer)', async () => {
    const c = client();
    const n = 300; // more than one pool of 256 nonces
    for (let i = 0; i < n; i++) server.script(ok({}));
    for (let i = 0; i < n; i++) await c.cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: 'rst-abcd1234' });
    const nonces = new Set(server.requests.map((r) => r.headers['x-acs-signature-nonce']));
    expect(nonces.size).toBe(n);
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it('rfc3986 and canonicalQuery: the unreserved fast path and the encoded path agree with encodeURIComponent', () => {
    expect(rfc3986('AZaz09-_.~')).toBe('AZaz09-_.~');
    expect(rfc3986(ODD)).toBe('a%20b%2Fc%2A~%27%28%29%21%C3%A9%2B%3D%26%25');
    expect(canonicalQuery({ b: '2', a: '', 'c d': 'x*y' })).toBe('a=&b=2&c%20d=x%2Ay');
    expect(canonicalQuery({})).toBe('');
  });
});

describe('response readers (shape.ts)', () => {
  const item = object({ Id: requiredId, Name: text, Size: looseLong, Status: lenient(requiredId) });
  const page = reader(object({ TotalCount: optionalLong, Items: listOf(item) }));

  it('keeps only the named fields; lenient fields read odd values as absent; numeric strings become numbers', () => {
    const r = page.safeParse({ TotalCount: '3', Extra: 1, Items: [{ Id: 'a', Name: 5, Size: '12', Status: '', More: true }] });
    expect(r).toEqual({ success: true, data: { TotalCount: 3, Items: { items: [{ Id: 'a', Name: undefined, Size: 12, Status: undefined }], listed: 1 } } });
  });

  it('an item without its id is left out and counted; a missing or null list is empty', () => {
    expect(page.safeParse({ Items: [{ Id: '' }, { Name: 'x' }, 'str', { Id: 'b' }] })).toMatchObject({ success: true, data: { Items: { items: [{ Id: 'b' }], listed: 4 } } });
    expect(page.safeParse({ Items: null })).toMatchObject({ success: true, data: { Items: { items: [], listed: 0 } } });
    expect(page.safeParse({})).toMatchObject({ success: true, data: { Items: { items: [], listed: 0 } } });
  });

  it('a strict field or a list of another type fails, naming the field and the rule', () => {
    expect(page.safeParse({ TotalCount: 'lots' })).toEqual({ success: false, error: { issues: [{ path: ['TotalCount'], message: 'expected a number, got string' }] } });
    expect(page.safeParse({ Items: { Id: 'a' } })).toEqual({ success: false, error: { issues: [{ path: ['Items'], message: 'expected an array, got object' }] } });
    expect(page.safeParse([])).toEqual({ success: false, error: { issues: [{ path: [], message: 'expected an object, got array' }] } });
    const nested = reader(object({ Outer: object({ Id: requiredId }) }));
    expect(nested.safeParse({ Outer: { Id: 7 } })).toEqual({ success: false, error: { issues: [{ path: ['Outer', 'Id'], message: 'expected a non-empty string, got number' }] } });
  });

  it('through the client: a task without TaskStatus in GetRepoSyncTask is malformed, naming the field', async () => {
    server.script(ok({ SyncTaskId: 'rst-abcd1234', LayerTasks: [] }));
    const e = (await client()
      .getRepoSyncTask({ instanceId: INSTANCE, syncTaskId: 'rst-abcd1234' })
      .catch((x: unknown) => x)) as CloudError;
    expect(e).toBeInstanceOf(CloudMalformedResponseError);
    expect(e.message).toMatch(/TaskStatus: expected a non-empty string, got undefined/);
    expect(e.requestId).toBe('REQ-F');
  });

  it('through the client: odd image refs and odd fields of a listed task read as absent, the task is kept', async () => {
    server.script(
      ok({
        TotalCount: 2,
        SyncTasks: [{ SyncTaskId: 'rst-odd00001', TaskStatus: 7, CreateTime: 'soon', CrossUser: 'yes', ImageFrom: 'cri-x', ImageTo: { InstanceId: 5, RepoName: 'app' } }, { TaskStatus: 'SUCCESS' }],
      }),
    );
    const p = await client().listRepoSyncTask({ instanceId: INSTANCE });
    expect(p.listed).toBe(2);
    expect(p.items).toEqual([
      {
        syncTaskId: 'rst-odd00001',
        taskStatus: undefined,
        syncBatchTaskId: undefined,
        syncRuleId: undefined,
        taskTrigger: undefined,
        taskIssue: undefined,
        createTime: undefined,
        modifiedTime: undefined,
        crossUser: undefined,
        imageFrom: undefined,
        imageTo: { instanceId: undefined, regionId: undefined, repoNamespaceName: undefined, repoName: 'app', imageTag: undefined },
      },
    ]);
  });

  it('through the client: a digest that is not one makes GetRepoTag malformed; a listed tag keeps its other fields', async () => {
    server.script(ok({ Digest: 'not-a-digest' }), ok({ Images: [{ Tag: 'v1', Digest: 'zz', ImageSize: '10' }] }));
    const e = (await client()
      .getRepoTagDigest({ instanceId: INSTANCE, repoId: 'crr-abcd1234', tag: 'v1' })
      .catch((x: unknown) => x)) as CloudError;
    expect(e).toBeInstanceOf(CloudMalformedResponseError);
    expect(e.message).toContain('Digest');
    const tags = await client().listRepoTag({ instanceId: INSTANCE, repoId: 'crr-abcd1234' });
    expect(tags.items).toEqual([{ tag: 'v1', digest: undefined, imageId: undefined, imageSize: 10, imageCreate: undefined, imageUpdate: undefined, status: undefined }]);
  });
});

describe('input checks (no zod on the client path)', () => {
  const refused = async (p: Promise<unknown>) => {
    const e = (await p.catch((x: unknown) => x)) as CloudError;
    expect(e.constructor.name).toBe('CloudInvalidRequestError');
    return e.message;
  };

  it('each bad field is refused before any request, naming the field and the rule', async () => {
    const c = client();
    expect(await refused(c.getRepoSyncTask({ instanceId: INSTANCE, syncTaskId: 'task-1' }))).toMatch(/syncTaskId: must look like "rst-"/);
    expect(await refused(c.listRepoSyncTask({ instanceId: INSTANCE, pageNo: 0 }))).toMatch(/pageNo: must be at least 1/);
    expect(await refused(c.listRepoSyncTask({ instanceId: INSTANCE, pageSize: 2.5 }))).toMatch(/pageSize: expected an integer, got number/);
    expect(await refused(c.listRepoSyncTask({ instanceId: INSTANCE, syncRecordId: '' }))).toMatch(/syncRecordId: must be 1 to 128 characters/);
    expect(await refused(c.listRepository({ instanceId: INSTANCE, repoStatus: 'GONE' as 'ALL' }))).toMatch(/repoStatus: must be one of NORMAL, DELETING, DELETED, ALL/);
    expect(await refused(c.listRepoSyncTask({ instanceId: INSTANCE, pagesize: 10 } as never))).toMatch(/pagesize: is not a known field/);
    expect(await refused(c.getRepository({ instanceId: INSTANCE, repoNamespaceName: 'team' } as never))).toMatch(/repoName: expected a string, got undefined/);
    expect(await refused(c.getRepository({ instanceId: INSTANCE, repoId: 'crr-abcd1234', repoName: 'app' } as never))).toMatch(/repoName: is not a known field/);
    const trigger = { instanceId: INSTANCE, repoId: 'crr-abcd1234', triggerName: 'ferry', triggerUrl: 'https://example.com/hook', triggerType: 'TAG_LIST' as const };
    expect(await refused(c.createRepoTrigger(trigger))).toMatch(/triggerTag: is required unless triggerType is ALL/);
    expect(await refused(c.createRepoTrigger({ ...trigger, triggerType: 'ALL', triggerUrl: 'ftp://example.com/' }))).toMatch(/triggerUrl: must be an http\(s\) URL/);
    expect(
      await refused(
        c.createRepoSyncTask({
          instanceId: INSTANCE,
          repoId: 'crr-abcd1234',
          tag: 'v1',
          targetInstanceId: INSTANCE,
          targetNamespace: 'ns',
          targetRegionId: 'Hangzhou',
          targetRepoName: 'app',
          targetTag: 'v1',
        }),
      ),
    ).toMatch(/targetRegionId: must be a region id like "cn-hangzhou"/);
    expect(server.requests).toHaveLength(0);
  });

  it('good inputs pass, with optional fields left out or undefined', async () => {
    server.script(ok({ RepoId: 'crr-abcd1234' }), ok({ RepoId: 'crr-abcd1234' }), ok({ TriggerId: 'crt-1' }));
    const c = client();
    await expect(c.getRepository({ instanceId: INSTANCE, repoId: 'crr-abcd1234' })).resolves.toMatchObject({ repoId: 'crr-abcd1234' });
    await expect(c.getRepository({ instanceId: INSTANCE, repoNamespaceName: 'team', repoName: 'app' })).resolves.toMatchObject({ repoId: 'crr-abcd1234' });
    await expect(
      c.createRepoTrigger({ instanceId: INSTANCE, repoId: 'crr-abcd1234', triggerName: 'ferry', triggerUrl: 'https://example.com/hook', triggerType: 'ALL', triggerTag: undefined }),
    ).resolves.toMatchObject({ triggerId: 'crt-1' });
    expect(server.requests.map((r) => r.query.RepoName)).toEqual([undefined, 'app', undefined]);
  });
});
