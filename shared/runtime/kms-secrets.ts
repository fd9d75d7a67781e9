/**
 * `${kms:…}` config secrets, read with GetSecretValue by Ferry's own KMS client and kept for the
 * instance's life: one call per secret per instance, concurrent first reads share it. A failed
 * read is not kept, so the next cold-start attempt asks again. A new instance reads anew, which
 * is how a rotated secret reaches the functions.
 */
import { type AlibabaCredentials, alibabaCredentialSource } from '../clients/credentials.ts';
import { CloudAuthError, CloudError, CloudNotFoundError, CloudPermissionError } from '../clients/errors.ts';
import { KmsClient } from '../clients/kms.ts';
import type { Clock } from '../clock.ts';
import type { FerryConfig } from '../config/index.ts';
import type { SecretFetcher } from '../config/resolve.ts';
import { registerSecret } from '../log.ts';

export class SecretCache {
  private readonly entries = new Map<string, Promise<string>>();

  get(key: string, load: () => Promise<string>): Promise<string> {
    const cached = this.entries.get(key);
    if (cached) return cached;
    const pending = load();
    this.entries.set(key, pending);
    pending.catch(() => {
      if (this.entries.get(key) === pending) this.entries.delete(key);
    });
    return pending;
  }
}

/** This instance's secrets (FC keeps module state while the instance lives). */
export const instanceSecrets = new SecretCache();

export interface KmsFetcherOptions {
  env: Record<string, string | undefined>;
  /** The function role's STS credentials (FC context), used when the config names no keys of its own. */
  runtimeCredentials?: (() => AlibabaCredentials | undefined) | undefined;
  /** The function's region (FC context). */
  runtimeRegion?: (() => string | undefined) | undefined;
  cache?: SecretCache | undefined;
  clock?: Clock | undefined;
  timeoutMs?: number | undefined;
}

/** The region KMS is asked in: the config's, else the function's own. */
export function kmsRegion(config: Pick<FerryConfig, 'clouds'>, o: Pick<KmsFetcherOptions, 'env' | 'runtimeRegion'>): string | undefined {
  return config.clouds.alibaba?.kms?.region ?? o.runtimeRegion?.() ?? (o.env.FC_REGION || undefined) ?? (o.env.ALIBABA_CLOUD_REGION_ID || undefined);
}

/** A SecretFetcher for the config's `${kms:…}` secrets. */
export function kmsSecretFetcher(config: FerryConfig, o: KmsFetcherOptions): SecretFetcher {
  const alibaba = config.clouds.alibaba;
  const region = kmsRegion(config, o);
  const endpoint = alibaba?.kms?.endpoint ?? alibaba?.endpoint;
  // Keys that are themselves KMS secrets cannot sign the call that reads them: the role's credentials do.
  const keysFromKms = (config.kms?.refs ?? []).some((r) => r.fields.some((f) => /^clouds\.alibaba\.(accessKeyId|accessKeySecret|securityToken)$/.test(f)));
  const credentials = alibabaCredentialSource({ keys: keysFromKms ? undefined : alibaba, runtimeCredentials: o.runtimeCredentials, env: o.env });
  const client = region
    ? new KmsClient({ regionId: region, credentials, ...(endpoint ? { endpoint } : {}), ...(o.clock ? { clock: o.clock } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) })
    : undefined;
  const cache = o.cache ?? instanceSecrets;
  return (name) => {
    if (!client) {
      return Promise.reject(new Error(`cannot read KMS secret "${name}": the region is unknown outside Function Compute; set clouds.alibaba.kms.region`));
    }
    return cache.get(`${client.regionId}\u0000${endpoint ?? ''}\u0000${name}`, () => readSecret(client, name));
  };
}

async function readSecret(client: KmsClient, name: string): Promise<string> {
  let secret: Awaited<ReturnType<KmsClient['getSecretValue']>>;
  try {
    secret = await client.getSecretValue({ secretName: name });
  } catch (err) {
    throw new Error(explain(err, name, client.regionId));
  }
  registerSecret(secret.data);
  if (secret.dataType === 'binary') throw new Error(`KMS secret "${name}" holds binary data; Ferry reads text secrets`);
  if (secret.data === '') throw new Error(`KMS secret "${name}" is empty`);
  return secret.data;
}

function explain(err: unknown, name: string, region: string): string {
  if (!(err instanceof CloudError)) return `cannot read KMS secret "${name}" in ${region}: ${(err as Error).message}`;
  const code = `${err.code}${err.requestId ? `, request ${err.requestId}` : ''}`;
  if (err instanceof CloudNotFoundError) return `KMS secret "${name}" not found in ${region} (${code}): create it in KMS Secrets Manager there, or correct the name`;
  if (err instanceof CloudPermissionError) {
    const arn = name.startsWith('acs:') ? name : `acs:kms:${region}:<account-id>:secret/${name}`;
    return `not allowed to read KMS secret "${name}" in ${region} (${code}): the function's RAM role needs kms:GetSecretValue on ${arn} (and kms:Decrypt on its key when it is not KMS's default)`;
  }
  if (err instanceof CloudAuthError) return `KMS refused the credentials reading secret "${name}" in ${region} (${code})`;
  return `cannot read KMS secret "${name}" in ${region}: ${err.message}`;
}
