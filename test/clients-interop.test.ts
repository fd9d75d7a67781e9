/**
 * The server-side signature checks of the client tests must agree with Alibaba's and Huawei's
 * official SDKs, or "our client signs correctly" would only mean "agrees with itself".
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import OpenApi, * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import { huaweiSignature } from '../shared/clients/signing/huawei.ts';
import { alibabaSignatureProblem, startServer } from './clients-harness.ts';

const require = createRequire(import.meta.url);

describe('official SDKs vs. the test harness', () => {
  it('@alicloud/openapi-client V3 and V1 RPC requests pass alibabaSignatureProblem', async () => {
    const server = await startServer(() => ({ status: 200, body: { RequestId: 'x' } }));
    try {
      type RpcCaller = { callApi(p: $OpenApi.Params, r: $OpenApi.OpenApiRequest, o: $Util.RuntimeOptions): Promise<unknown> };
      const mod = OpenApi as unknown as { default?: unknown };
      const Client = (mod.default ?? OpenApi) as unknown as new (c: $OpenApi.Config) => RpcCaller;
      for (const signatureAlgorithm of [undefined, 'v2']) {
        const c = new Client(new $OpenApi.Config({ accessKeyId: 'ak', accessKeySecret: 'sk', securityToken: 'tok', endpoint: new URL(server.url).host, protocol: 'http', signatureAlgorithm }));
        const params = new $OpenApi.Params({
          action: 'CancelRepoSyncTask',
          version: '2018-12-01',
          protocol: 'HTTP',
          pathname: '/',
          method: 'POST',
          authType: 'AK',
          style: 'RPC',
          reqBodyType: 'formData',
          bodyType: 'json',
        });
        await c.callApi(params, new $OpenApi.OpenApiRequest({ query: { InstanceId: 'cri-abcd1234', Tag: 'a b*~' } }), new $Util.RuntimeOptions({}));
      }
      expect(server.requests).toHaveLength(2);
      expect(server.requests[0]!.headers.authorization).toMatch(/^ACS3-HMAC-SHA256 /);
      expect(server.requests[1]!.query.Signature).toBeTruthy();
      for (const r of server.requests) {
        expect(alibabaSignatureProblem(r, 'sk')).toBeNull();
        expect(alibabaSignatureProblem(r, 'other')).not.toBeNull();
      }
    } finally {
      await server.close();
    }
  });

  it('@huaweicloud/huaweicloud-sdk-core AKSKSigner agrees with signing/huawei.ts for a $ path and a filter query', () => {
    const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js') as {
      AKSKSigner: { sign(req: unknown, cred: unknown): { Authorization: string } };
    };
    const path = '/v2/manage/namespaces/team/repos/group$app/sync_job';
    const query = { filter: 'limit::1|offset::5|order::asc' };
    const out = AKSKSigner.sign(
      { endpoint: `https://swr-api.cn-north-4.myhuaweicloud.com${path}`, method: 'GET', headers: { 'content-type': 'application/json', 'X-Sdk-Date': '20200608T023900Z' }, queryParams: query },
      { getAk: () => 'AK', getSk: () => 'SK' },
    );
    const official = /Signature=([0-9a-f]{64})/.exec(out.Authorization)![1];
    const headers = { 'content-type': 'application/json', 'x-sdk-date': '20200608T023900Z', host: 'swr-api.cn-north-4.myhuaweicloud.com' };
    expect(huaweiSignature({ method: 'GET', path, query, headers, body: '' }, ['content-type', 'host', 'x-sdk-date'], '20200608T023900Z', 'SK')).toBe(official);
  });
});
