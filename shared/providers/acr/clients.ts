import { AcrClient } from '../../clients/acr.ts';
import { alibabaClientsPerRegion } from '../../clients/regional.ts';
import type { ConnectOptions } from '../types.ts';

/**
 * ACR clients, one per region, and the
 * repository ids CreateRepoSyncTask needs (GetRepository answers rarely change: cached per
 * instance/namespace/repo; a failure is not cached).
 */
export class AcrClients {
  readonly region: (regionId: string) => AcrClient;
  private readonly repoIds = new Map<string, Promise<string>>();

  constructor(opts: ConnectOptions) {
    this.region = alibabaClientsPerRegion(opts, (o) => new AcrClient(o));
  }

  /** A repository id a listing gave: the next repoId() for it needs no GetRepository. */
  remember(instanceId: string, namespace: string, repo: string, repoId: string): void {
    this.repoIds.set(`${instanceId}/${namespace}/${repo}`, Promise.resolve(repoId));
  }

  /** Forgets a repository id the cloud no longer knows (the repository was deleted, maybe made again). */
  forget(instanceId: string, namespace: string, repo: string): void {
    this.repoIds.delete(`${instanceId}/${namespace}/${repo}`);
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
