/** KMS Secrets Manager (2016-01-20): GetSecretValue, the one call Ferry makes, to read `${kms:…}` config secrets. */
import * as z from '../zod.ts';
import { AlibabaRpcClient, type AlibabaRpcOptions, type RpcCallOptions } from './alibaba-rpc.ts';
import { CloudConflictError, CloudNotFoundError, CloudPermissionError } from './errors.ts';
import { lenient } from './validation.ts';

export type KmsClientOptions = Omit<AlibabaRpcOptions, 'product'>;

/**
 * KMS spells "not found" as a `Forbidden.` code (HTTP 404), which the generic mapping would
 * read as a permission problem. `Rejected.*`: the secret's key is disabled, pending deletion or
 * unavailable, so asking again will not help until someone acts.
 */
const KMS_ERRORS = {
  'Forbidden.ResourceNotFound': CloudNotFoundError,
  'Forbidden.KeyNotFound': CloudNotFoundError,
  'Forbidden.NoPermission': CloudPermissionError,
  'Rejected.Disabled': CloudConflictError,
  'Rejected.PendingDeletion': CloudConflictError,
  'Rejected.Unavailable': CloudConflictError,
} satisfies RpcCallOptions['errorCodes'];

/** A list as KMS writes it in JSON: `["ACSCurrent"]`, or wrapped as its XML form is, `{VersionStage: [...]}`. */
const stageList = z.catch(
  z.optional(
    z.union([
      z.array(z.string()),
      z.pipe(
        z.object({ VersionStage: z.union([z.array(z.string()), z.string()]) }),
        z.transform((o) => (Array.isArray(o.VersionStage) ? o.VersionStage : [o.VersionStage])),
      ),
    ]),
  ),
  undefined,
);

/** Only SecretData is needed; everything else is read when it is there and shaped as documented. */
const getSecretValueOutput = z.object({
  SecretData: z.string(),
  SecretDataType: lenient(z.string()),
  SecretName: lenient(z.string()),
  VersionId: lenient(z.string()),
  VersionStages: stageList,
  RequestId: lenient(z.string()),
});

export interface SecretValue {
  name: string;
  /** Plain text, or base64 when `dataType` is `binary`. */
  data: string;
  dataType: 'text' | 'binary';
  versionId?: string | undefined;
  versionStages: string[];
  requestId?: string | undefined;
}

export interface GetSecretValueInput {
  /** The secret's name, or its ARN (`acs:kms:<region>:<account>:secret/<name>`) for another account's. */
  secretName: string;
  /** Default (KMS's): ACSCurrent. */
  versionStage?: string | undefined;
  versionId?: string | undefined;
}

export class KmsClient {
  private readonly rpc: AlibabaRpcClient;

  constructor(options: KmsClientOptions) {
    this.rpc = new AlibabaRpcClient({ ...options, product: 'kms' });
  }

  get regionId(): string {
    return this.rpc.regionId;
  }

  async getSecretValue(input: GetSecretValueInput): Promise<SecretValue> {
    const out = await this.rpc.call(
      'GetSecretValue',
      { SecretName: input.secretName, VersionStage: input.versionStage, VersionId: input.versionId, FetchExtendedConfig: false },
      getSecretValueOutput,
      { errorCodes: KMS_ERRORS },
    );
    return {
      name: out.SecretName ?? input.secretName,
      data: out.SecretData,
      dataType: out.SecretDataType === 'binary' ? 'binary' : 'text',
      versionId: out.VersionId,
      versionStages: out.VersionStages ?? [],
      requestId: out.RequestId,
    };
  }
}
