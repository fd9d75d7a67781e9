/**
 * The generated Huawei SWR SDK (@huaweicloud/huaweicloud-sdk-swr's SwrClient with AK/SK
 * BasicCredentials and the region's project id, endpoint on the local cloud) as a fidelity driver:
 * every SWR operation Ferry uses, with the requests exactly as the SDK builds them.
 */
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import * as swr from '@huaweicloud/huaweicloud-sdk-swr';
import { HW_AKSK, swrDriverError, type SwrDriverFactory } from './fidelity-drivers.ts';

/** A response as it came over the wire. */
export interface SdkReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface SdkSwr {
  client: swr.SwrClient;
  /** The last response: the SDK's own errors keep no SWR error code (it reads `error_code` only) and no headers. */
  last(): SdkReply | undefined;
}

/** An SDK SwrClient on `endpoint`; without `projectId` it sends no X-Project-Id (an endpoint, no region to look one up for). */
export function sdkSwr(endpoint: string, projectId?: string): SdkSwr {
  let last: SdkReply | undefined;
  const credential = new BasicCredentials().withAk(HW_AKSK.accessKey).withSk(HW_AKSK.secretKey);
  if (projectId) credential.withProjectId(projectId);
  const client = swr.SwrClient.newBuilder()
    .withCredential(credential)
    .withEndpoint(endpoint)
    .withOptions({
      axiosRequestConfig: {
        // Parses as axios would, and keeps what the SDK drops.
        transformResponse: [
          (data: unknown, headers, status) => {
            let body = data;
            try {
              body = typeof data === 'string' && data ? JSON.parse(data) : data;
            } catch {
              // not JSON: keep the text
            }
            last = { status: status ?? 0, headers: JSON.parse(JSON.stringify(headers ?? {})), body };
            return body;
          },
        ],
      },
    })
    .build();
  return { client, last: () => last };
}

/** The SDK's answer for an operation whose model declares an array `body`: the array itself at runtime. */
export function arrayBody<T>(answer: unknown): T[] {
  return Array.isArray(answer) ? [...answer] : ((answer as { body?: T[] }).body ?? []);
}

const seg = (repo: string) => repo.replaceAll('/', '$');

export const swrSdkClient: SwrDriverFactory = {
  name: '@huaweicloud/huaweicloud-sdk-swr SwrClient (AK/SK, X-Project-Id)',
  make(cc) {
    const { client, last } = sdkSwr(cc.cloud.url, cc.cloud.services.huawei.projectId('cn-north-4'));
    async function call<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (err) {
        const reply = last();
        if (!reply || (err as { httpStatusCode?: unknown }).httpStatusCode === undefined) throw err;
        throw swrDriverError(reply.status, reply.headers, reply.body);
      }
    }
    return {
      name: this.name,
      kind: 'sdk',
      auth: 'aksk',
      validatesNames: false,
      async createSyncRepo(ns, repo, b) {
        const body = new swr.CreateImageSyncRepoRequestBody(b.remoteRegionId, b.remoteNamespace).withSyncAuto(b.syncAuto ?? false).withOverride(b.override ?? false);
        await call(() => client.createImageSyncRepo(new swr.CreateImageSyncRepoRequest().withNamespace(ns).withRepository(seg(repo)).withBody(body)));
      },
      async listSyncRepos(ns, repo) {
        return arrayBody(await call(() => client.listImageAutoSyncReposDetails(new swr.ListImageAutoSyncReposDetailsRequest().withNamespace(ns).withRepository(seg(repo)))));
      },
      async deleteSyncRepo(ns, repo, b) {
        const body = new swr.DeleteImageSyncRepoRequestBody(b.remoteRegionId, b.remoteNamespace);
        await call(() => client.deleteImageSyncRepo(new swr.DeleteImageSyncRepoRequest().withNamespace(ns).withRepository(seg(repo)).withBody(body)));
      },
      async syncImages(ns, repo, b) {
        const body = new swr.CreateManualImageSyncRepoRequestBody(b.imageTag, b.remoteNamespace, b.remoteRegionId).withOverride(b.override ?? false);
        return arrayBody(await call(() => client.createManualImageSyncRepo(new swr.CreateManualImageSyncRepoRequest().withNamespace(ns).withRepository(seg(repo)).withBody(body))));
      },
      async listSyncJobs(ns, repo, page) {
        const filter = `limit::${page.limit}|offset::${page.offset}|order::${page.order}`;
        const answer = await call(() => client.showSyncJob(new swr.ShowSyncJobRequest().withNamespace(ns).withRepository(seg(repo)).withFilter(filter)));
        const contentRange = (answer as unknown as Record<string, string | undefined>)['Content-Range'];
        const total = /\/(\d+)$/.exec(contentRange ?? '');
        return { jobs: arrayBody(answer), total: total ? Number(total[1]) : null, contentRange };
      },
    };
  },
};
