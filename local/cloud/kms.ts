import { AlibabaApiError, invalidParameter, required, type Params } from './alibaba-common.ts';
import type { LocalCloudEnv } from './types.ts';

/**
 * KMS Secrets Manager (2016-01-20): GetSecretValue over the secrets of the seed
 * (`alibaba.kmsSecrets`), per account. What the reference pages state: without VersionId or
 * VersionStage the ACSCurrent version answers; an unknown secret is HTTP 404
 * `Forbidden.ResourceNotFound`; a secret of another account is named by its ARN
 * (`acs:kms:<region>:<account>:secret/<name>`); VersionStage and VersionId that do not name
 * the same version are "a parameter error".
 *
 * Documented choices (not stated by Alibaba's pages):
 * - The region is not checked: one local endpoint serves every region, and the host does not say which.
 * - A VersionStage no version carries → 404 `Forbidden.ResourceNotFound`; a stage label other
 *   than ACSCurrent/ACSPrevious → 400 `InvalidParameter`.
 * - Another account's secret, by ARN → 403 `Forbidden.NoPermission` (no resource policy is emulated).
 * - `VersionStages` is written as the classic RPC JSON writes lists, `{"VersionStage": [...]}`.
 */
export interface KmsSecretVersion {
  versionId: string;
  data: string;
  dataType: 'text' | 'binary';
  stages: string[];
  createdAt: number;
}

export interface KmsSecret {
  name: string;
  accountId: string;
  versions: KmsSecretVersion[];
}

const STAGES = new Set(['ACSCurrent', 'ACSPrevious']);
const ARN = /^acs:kms:([a-z0-9-]+):(\d+):secret\/(.+)$/;

function notFound(): AlibabaApiError {
  return new AlibabaApiError(404, 'Forbidden.ResourceNotFound', 'The resource does not exist.');
}

export class KmsState {
  secrets: KmsSecret[] = [];
  /** GetSecretValue calls that reached a secret, per account and name (tests count reads). */
  readonly reads = new Map<string, number>();

  constructor(private readonly env: LocalCloudEnv) {
    this.reset();
  }

  reset(): void {
    const alibaba = this.env.seed.alibaba;
    const defaultAccount = alibaba.accounts[0]?.accountId ?? '';
    const now = this.env.clock.now();
    this.secrets = alibaba.kmsSecrets.map((s) => ({
      name: s.name,
      accountId: s.accountId ?? defaultAccount,
      versions: [
        { versionId: s.versionId, data: s.value, dataType: s.dataType, stages: ['ACSCurrent'], createdAt: now },
        ...(s.previous !== undefined ? [{ versionId: `${s.versionId}-previous`, data: s.previous, dataType: s.dataType, stages: ['ACSPrevious'], createdAt: now }] : []),
      ],
    }));
    this.reads.clear();
  }

  /** Rotation as PutSecretValue does it: the new version becomes ACSCurrent, the old one ACSPrevious. */
  put(input: { name: string; accountId?: string | undefined; value: string; versionId: string }, now: number): void {
    const accountId = input.accountId ?? this.env.seed.alibaba.accounts[0]?.accountId ?? '';
    let secret = this.secrets.find((s) => s.name === input.name && s.accountId === accountId);
    if (!secret) {
      secret = { name: input.name, accountId, versions: [] };
      this.secrets.push(secret);
    }
    for (const v of secret.versions) v.stages = v.stages.includes('ACSCurrent') ? ['ACSPrevious'] : [];
    secret.versions.unshift({ versionId: input.versionId, data: input.value, dataType: 'text', stages: ['ACSCurrent'], createdAt: now });
  }

  readCount(name: string, accountId?: string): number {
    return this.reads.get(`${accountId ?? this.env.seed.alibaba.accounts[0]?.accountId ?? ''}/${name}`) ?? 0;
  }

  op(action: string, params: Params, ctx: { accountId: string }): Record<string, unknown> {
    if (action !== 'GetSecretValue') throw new AlibabaApiError(400, 'UnsupportedOperation', 'This action is not supported.');
    return this.getSecretValue(params, ctx.accountId);
  }

  private getSecretValue(params: Params, caller: string): Record<string, unknown> {
    const given = required(params, 'SecretName');
    const arn = ARN.exec(given);
    const owner = arn ? arn[2]! : caller;
    const name = arn ? arn[3]! : given;
    const secret = this.secrets.find((s) => s.name === name && s.accountId === owner);
    if (!secret) throw notFound();
    if (owner !== caller) throw new AlibabaApiError(403, 'Forbidden.NoPermission', 'This operation is forbidden by permission system.');
    const stage = params.VersionStage || undefined;
    const versionId = params.VersionId || undefined;
    if (stage !== undefined && !STAGES.has(stage)) throw invalidParameter('VersionStage', 'must be ACSCurrent or ACSPrevious');
    const version = versionId !== undefined ? secret.versions.find((v) => v.versionId === versionId) : secret.versions.find((v) => v.stages.includes(stage ?? 'ACSCurrent'));
    if (!version) throw notFound();
    if (versionId !== undefined && stage !== undefined && !version.stages.includes(stage)) throw invalidParameter('VersionStage', `version ${versionId} is not labelled ${stage}`);
    const key = `${secret.accountId}/${secret.name}`;
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return {
      SecretName: secret.name,
      SecretType: 'Generic',
      SecretData: version.data,
      SecretDataType: version.dataType,
      VersionId: version.versionId,
      VersionStages: { VersionStage: version.stages },
      CreateTime: new Date(version.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }

  snapshot(): unknown {
    // Names and versions only: the local cloud's state view never shows a secret value.
    return this.secrets.map((s) => ({ name: s.name, accountId: s.accountId, versions: s.versions.map((v) => ({ versionId: v.versionId, stages: v.stages })) }));
  }
}
