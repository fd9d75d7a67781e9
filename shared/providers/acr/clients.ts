import { AcrClient } from '../../clients/acr.ts';
import { alibabaCredentialSource } from '../../clients/credentials.ts';
import type { ConnectOptions } from '../types.ts';

/**
 * ACR clients, one per region, built on first use and kept for the instance's life, and the
 * repository ids CreateRepoSyncTask needs (GetRepository answers rarely change: cached per
 * instance/namespace/repo; a failure is not cached).
 */
export class AcrClients {
  private readonly clients = new Map<string, AcrClient>();
  private readonly repoIds = new Map<string, Promise<string>>();
  private readonly credentials;

  constructor(private readonly opts: ConnectOptions) {
    this.credentials = alibabaCredentialSource({ keys: opts.config.clouds.alibaba, runtimeCredentials: opts.runtimeCredentials, env: opts.env });
  }

  region(regionId: string): AcrClient {
    let c = this.clients.get(regionId);
    if (!c) {
      const endpoint = this.opts.config.clouds.alibaba?.endpoint;
      c = new AcrClient({
        regionId,
        credentials: this.credentials,
        clock: this.opts.clock,
        ...(endpoint ? { endpoint } : {}),
        ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
      });
      this.clients.set(regionId, c);
    }
    return c;
  }

  repoId(region: string, instanceId: string, namespace: string, repo: string): Promise<string> {
    const key = `${instanceId}/${namespace}/${repo}`;
    let p = this.repoIds.get(key);
    if (!p) {
      p = this.region(region)
        .getRepository({ instanceId, repoNamespaceName: namespace, repoName: repo })
        .then((r) => r.repoId);
      p.catch(() => this.repoIds.delete(key));
      this.repoIds.set(key, p);
    }
    return p;
  }
}
