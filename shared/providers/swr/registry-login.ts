/** Logging in to SWR's registry with an AK/SK (Huawei's "long-term login command"), for the copy engine. */
import { createHmac } from 'node:crypto';
import type { Login } from '../../copy/types.ts';

/** The public registry of a region, e.g. `https://swr.cn-north-4.myhuaweicloud.com`. */
export function swrRegistryUrl(region: string): string {
  return `https://swr.${region}.myhuaweicloud.com`;
}

/** The long-term login password: lowercase hex HMAC-SHA256 keyed with the SK over the AK. */
export function swrLoginPassword(accessKey: string, secretKey: string): string {
  return createHmac('sha256', secretKey).update(accessKey).digest('hex');
}

/** User `<region>@<AK>` with the derived password; it never expires, so the engine keeps it. */
export function swrRegistryLogin(region: string, accessKey: string, secretKey: string): Login {
  const username = `${region}@${accessKey}`;
  const password = swrLoginPassword(accessKey, secretKey);
  return async () => ({ username, password });
}
