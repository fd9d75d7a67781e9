import { createHmac } from 'node:crypto';

/**
 * Function Compute 2.0 request signature, as `@alicloud/fc2` computes it (lib/helper.js):
 *   METHOD \n Content-MD5 \n Content-Type \n Date \n CanonicalizedFCHeaders Path [\n sorted k=v lines]
 * CanonicalizedFCHeaders: every `x-fc-*` header, lowercased, sorted, `name:value\n`.
 * The path is the unencoded `/2016-08-15/...`; queries are signed only for `/proxy/` paths.
 * Authorization: `FC <accessKeyID>:<base64(HMAC-SHA256(secret, stringToSign))>`.
 */
export function fcStringToSign(method: string, path: string, headers: Record<string, string>, queries: Record<string, string | string[]> | null): string {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase().trim()] = v;
  const fcHeaders = Object.keys(lower)
    .filter((k) => k.startsWith('x-fc-'))
    .sort()
    .map((k) => `${k}:${lower[k]}\n`)
    .join('');
  let s = `${method}\n${lower['content-md5'] ?? ''}\n${lower['content-type'] ?? ''}\n${lower['date'] ?? ''}\n${fcHeaders}${path}`;
  if (queries) {
    const params: string[] = [];
    for (const [k, v] of Object.entries(queries)) {
      if (Array.isArray(v)) for (const one of v) params.push(`${k}=${one}`);
      else params.push(`${k}=${v}`);
    }
    params.sort();
    s += '\n' + params.join('\n');
  }
  return s;
}

export function fcSignature(stringToSign: string, accessKeySecret: string): string {
  return createHmac('sha256', accessKeySecret).update(stringToSign, 'utf8').digest('base64');
}

export function fcAuthorization(accessKeyId: string, signature: string): string {
  return `FC ${accessKeyId}:${signature}`;
}
