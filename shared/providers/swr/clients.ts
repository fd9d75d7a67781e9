import { IamTokenProvider } from '../../clients/huawei-iam.ts';
import { SwrClient } from '../../clients/swr.ts';
import type { ConnectOptions } from '../types.ts';

/** SWR clients, one per region, built on first use and kept for the instance's life. */
export class SwrClients {
  private readonly clients = new Map<string, SwrClient>();
  constructor(private readonly opts: ConnectOptions) {}

  region(region: string): SwrClient {
    let c = this.clients.get(region);
    if (c) return c;
    const h = this.opts.config.clouds.huawei;
    if (!h) throw new Error('clouds.huawei: not configured, but an SWR task needs it');
    const common = {
      region,
      clock: this.opts.clock,
      ...(h.endpoints.swr ? { endpoint: h.endpoints.swr } : {}),
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    };
    const auth =
      h.auth.type === 'aksk'
        ? {
            kind: 'aksk' as const,
            accessKey: h.auth.accessKey,
            secretKey: h.auth.secretKey,
            securityToken: h.auth.securityToken,
            projectId: typeof h.auth.projectId === 'string' ? h.auth.projectId : h.auth.projectId?.[region],
          }
        : {
            kind: 'token' as const,
            iam: new IamTokenProvider({
              region,
              user: h.auth.user,
              password: h.auth.password,
              domain: h.auth.domain,
              clock: this.opts.clock,
              ...(h.endpoints.iam ? { endpoint: h.endpoints.iam } : {}),
            }),
          };
    c = new SwrClient({ ...common, auth });
    this.clients.set(region, c);
    return c;
  }
}
