import { alibabaCredentialSource } from '../clients/credentials.ts';
import { EcsClient } from '../clients/ecs.ts';
import type { ConnectOptions } from '../providers/types.ts';

/** ECS clients, one per region, built on first use and kept for the instance's life. */
export class EcsClients {
  private readonly clients = new Map<string, EcsClient>();
  private readonly credentials;

  constructor(private readonly opts: ConnectOptions) {
    this.credentials = alibabaCredentialSource({ keys: opts.config.clouds.alibaba, runtimeCredentials: opts.runtimeCredentials, env: opts.env });
  }

  region(regionId: string): EcsClient {
    let c = this.clients.get(regionId);
    if (!c) {
      const endpoint = this.opts.config.clouds.alibaba?.endpoint;
      c = new EcsClient({
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
}
