import { registerSecret } from '../log.ts';

/** An Alibaba Cloud AccessKey pair; `securityToken` is set for STS (temporary) credentials. */
export interface AlibabaCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string | undefined;
}

/**
 * Where a client gets credentials, asked again for every attempt so short-lived STS
 * credentials (Function Compute's `context.credentials`) can rotate underneath a client.
 */
export type CredentialSource = () => AlibabaCredentials | Promise<AlibabaCredentials>;

/** Huawei Cloud AK/SK; `securityToken` is set for temporary credentials. */
export interface HuaweiAkSk {
  accessKey: string;
  secretKey: string;
  securityToken?: string | undefined;
}

function required(value: string | undefined, name: string): string {
  if (!value?.trim()) throw new Error(`${name} is not set (required for Alibaba Cloud credentials)`);
  return value.trim();
}

function remember(creds: AlibabaCredentials): AlibabaCredentials {
  registerSecret(creds.accessKeySecret);
  registerSecret(creds.securityToken);
  return creds;
}

/** ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET / ALIBABA_CLOUD_SECURITY_TOKEN (optional). */
export function alibabaCredentialsFromEnv(env: Record<string, string | undefined> = process.env): AlibabaCredentials {
  const token = env.ALIBABA_CLOUD_SECURITY_TOKEN?.trim();
  return remember({
    accessKeyId: required(env.ALIBABA_CLOUD_ACCESS_KEY_ID, 'ALIBABA_CLOUD_ACCESS_KEY_ID'),
    accessKeySecret: required(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET, 'ALIBABA_CLOUD_ACCESS_KEY_SECRET'),
    ...(token ? { securityToken: token } : {}),
  });
}

/** The STS credentials of the function's RAM role, from a Function Compute handler's `context`. */
export function alibabaCredentialsFromFcContext(context: { credentials?: { accessKeyId?: string; accessKeySecret?: string; securityToken?: string } | undefined }): AlibabaCredentials {
  const c = context.credentials;
  if (!c) throw new Error('context.credentials is missing: give the function a RAM role');
  return remember({
    accessKeyId: required(c.accessKeyId, 'context.credentials.accessKeyId'),
    accessKeySecret: required(c.accessKeySecret, 'context.credentials.accessKeySecret'),
    ...(c.securityToken ? { securityToken: c.securityToken } : {}),
  });
}

/** A CredentialSource that always returns the same credentials. */
export function staticCredentials(creds: AlibabaCredentials): CredentialSource {
  remember(creds);
  return () => creds;
}

/**
 * Alibaba credentials for Ferry's clients: the config's keys when it names them, else the function
 * role's temporary credentials (FC context), else the standard environment variables.
 */
export function alibabaCredentialSource(o: {
  keys?: { accessKeyId?: string | undefined; accessKeySecret?: string | undefined; securityToken?: string | undefined } | undefined;
  runtimeCredentials?: (() => AlibabaCredentials | undefined) | undefined;
  env: Record<string, string | undefined>;
}): CredentialSource {
  const k = o.keys;
  if (k?.accessKeyId && k.accessKeySecret) {
    const fixed = { accessKeyId: k.accessKeyId, accessKeySecret: k.accessKeySecret, ...(k.securityToken ? { securityToken: k.securityToken } : {}) };
    return () => fixed;
  }
  return () => o.runtimeCredentials?.() ?? alibabaCredentialsFromEnv(o.env);
}
