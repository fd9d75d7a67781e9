import { type AlibabaCredentials, alibabaCredentialSource } from './credentials.ts';
import type { Clock } from '../clock.ts';

/** What Ferry's Alibaba clients of one account need, whatever the product. */
export interface AlibabaAccountOptions {
  config: { clouds: { alibaba?: { accessKeyId?: string | undefined; accessKeySecret?: string | undefined; securityToken?: string | undefined; endpoint?: string | undefined } | undefined } };
  clock: Clock;
  env: Record<string, string | undefined>;
  runtimeCredentials?: (() => AlibabaCredentials | undefined) | undefined;
  timeoutMs?: number | undefined;
}

/**
 * One client per region, built on first use and kept for the instance's life, all signing with the
 * same credentials (resolved per request, so rotating STS credentials are always fresh).
 */
export function alibabaClientsPerRegion<T>(
  o: AlibabaAccountOptions,
  create: (options: { regionId: string; credentials: ReturnType<typeof alibabaCredentialSource>; clock: Clock; endpoint?: string; timeoutMs?: number }) => T,
): (regionId: string) => T {
  const credentials = alibabaCredentialSource({ keys: o.config.clouds.alibaba, runtimeCredentials: o.runtimeCredentials, env: o.env });
  const endpoint = o.config.clouds.alibaba?.endpoint;
  const clients = new Map<string, T>();
  return (regionId) => {
    let c = clients.get(regionId);
    if (!c) {
      c = create({ regionId, credentials, clock: o.clock, ...(endpoint ? { endpoint } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
      clients.set(regionId, c);
    }
    return c;
  };
}
