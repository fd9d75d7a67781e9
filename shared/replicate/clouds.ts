import type { FerryConfig } from '../config/index.ts';
import { AcrClient } from '../clients/acr.ts';
import { EcsClient } from '../clients/ecs.ts';
import { SwrClient } from '../clients/swr.ts';
import { IamTokenProvider } from '../clients/huawei-iam.ts';
import { alibabaCredentialsFromEnv, type AlibabaCredentials, type CredentialSource } from '../clients/credentials.ts';
import type { Clock } from '../clock.ts';

export interface CloudsOptions {
  config: Pick<FerryConfig, 'clouds'>;
  /** The function role's STS credentials (FC context), used when the config names no keys. */
  invocationCredentials?: () => AlibabaCredentials | undefined;
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Client timeouts; the webhook's budget wants short ones. */
  timeoutMs?: number;
}

/**
 * One client per (product, region), built on first use and kept for the instance's life.
 * Credentials are resolved per request, so rotating STS credentials are always fresh.
 */
export class Clouds {
  private readonly acrClients = new Map<string, AcrClient>();
  private readonly ecsClients = new Map<string, EcsClient>();
  private readonly swrClients = new Map<string, SwrClient>();
  private readonly alibabaCredentials: CredentialSource;

  constructor(private readonly opts: CloudsOptions) {
    const a = opts.config.clouds.alibaba;
    this.alibabaCredentials = () => {
      if (a?.accessKeyId && a.accessKeySecret) {
        return { accessKeyId: a.accessKeyId, accessKeySecret: a.accessKeySecret, ...(a.securityToken ? { securityToken: a.securityToken } : {}) };
      }
      return opts.invocationCredentials?.() ?? alibabaCredentialsFromEnv(opts.env ?? process.env);
    };
  }

  private alibabaOptions(regionId: string) {
    const endpoint = this.opts.config.clouds.alibaba?.endpoint;
    return {
      regionId,
      credentials: this.alibabaCredentials,
      ...(endpoint ? { endpoint } : {}),
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    };
  }

  acr(region: string): AcrClient {
    let c = this.acrClients.get(region);
    if (!c) this.acrClients.set(region, (c = new AcrClient(this.alibabaOptions(region))));
    return c;
  }

  ecs(region: string): EcsClient {
    let c = this.ecsClients.get(region);
    if (!c) this.ecsClients.set(region, (c = new EcsClient(this.alibabaOptions(region))));
    return c;
  }

  swr(region: string): SwrClient {
    let c = this.swrClients.get(region);
    if (c) return c;
    const h = this.opts.config.clouds.huawei;
    if (!h) throw new Error('clouds.huawei: not configured, but an SWR task needs it');
    const common = {
      region,
      ...(h.endpoints.swr ? { endpoint: h.endpoints.swr } : {}),
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    };
    const auth =
      h.auth.type === 'aksk'
        ? { kind: 'aksk' as const, accessKey: h.auth.accessKey, secretKey: h.auth.secretKey, ...(h.auth.securityToken ? { securityToken: h.auth.securityToken } : {}) }
        : {
            kind: 'token' as const,
            iam: new IamTokenProvider({
              region,
              user: h.auth.user,
              password: h.auth.password,
              domain: h.auth.domain,
              ...(h.endpoints.iam ? { endpoint: h.endpoints.iam } : {}),
              ...(this.opts.clock ? { clock: this.opts.clock } : {}),
            }),
          };
    c = new SwrClient({ ...common, auth });
    this.swrClients.set(region, c);
    return c;
  }
}

/** GetRepository answers rarely change: RepoId per (instance, namespace, repo), cached for the instance's life. */
export class RepoIdCache {
  private readonly ids = new Map<string, Promise<string>>();
  constructor(private readonly clouds: Clouds) {}

  get(region: string, instanceId: string, namespace: string, repo: string): Promise<string> {
    const key = `${instanceId}/${namespace}/${repo}`;
    let p = this.ids.get(key);
    if (!p) {
      p = this.clouds
        .acr(region)
        .getRepository({ instanceId, repoNamespaceName: namespace, repoName: repo })
        .then((r) => r.repoId);
      // A failure is not cached: the next caller asks again.
      p.catch(() => this.ids.delete(key));
      this.ids.set(key, p);
    }
    return p;
  }
}
