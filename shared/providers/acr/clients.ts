import { AcrClient } from '../../clients/acr.ts';
import { alibabaClientsPerRegion } from '../../clients/regional.ts';
import { InstanceState } from '../instance-state.ts';
import type { ConnectOptions } from '../types.ts';
import { REPO_ID_CACHE_DEFAULTS, RepoIdCache } from './repo-ids.ts';

/**
 * ACR clients, one per region, and the repository ids CreateRepoSyncTask needs (repo-ids.ts: kept
 * per function instance, shared with every other connection of it).
 */
export class AcrClients {
  readonly region: (regionId: string) => AcrClient;
  private readonly repoIds: RepoIdCache;

  constructor(opts: ConnectOptions) {
    this.region = alibabaClientsPerRegion(opts, (o) => new AcrClient(o));
    const state = opts.instanceState ?? new InstanceState();
    this.repoIds = state.of('acr.repoIds', () => new RepoIdCache({ ...REPO_ID_CACHE_DEFAULTS, now: () => opts.clock.now() }));
  }

  /** A repository id a listing gave: the next repoId() for it needs no GetRepository. */
  remember(instanceId: string, namespace: string, repo: string, repoId: string): void {
    this.repoIds.remember(`${instanceId}/${namespace}/${repo}`, repoId);
  }

  /** Forgets a repository id the cloud no longer knows (the repository was deleted, maybe made again). */
  forget(instanceId: string, namespace: string, repo: string): void {
    this.repoIds.forget(`${instanceId}/${namespace}/${repo}`);
  }

  repoId(region: string, instanceId: string, namespace: string, repo: string): Promise<string> {
    return this.repoIds.get(`${instanceId}/${namespace}/${repo}`, () =>
      this.region(region)
        .getRepository({ instanceId, repoNamespaceName: namespace, repoName: repo })
        .then((r) => r.repoId),
    );
  }
}
