import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { huaweiCanonicalRequest, parseHuaweiAuthorization, parseSdkDate } from '../../shared/clients/signing/huawei.ts';
import type { CloudRequest, CloudResponse, LocalCloudEnv } from './types.ts';
import { hexId, swrTime } from './swr-state.ts';

/** API Gateway rejects an `X-Sdk-Date` further than this from the server's time. */
export const SDK_DATE_TOLERANCE_MS = 15 * 60 * 1000;

export interface IamToken {
  token: string;
  user: string;
  /** Region the token is scoped to (project name), or null for an unscoped token. */
  region: string | null;
  issuedAt: number;
  expiresAt: number;
}

const tokenRequestSchema = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.array(z.string()),
      password: z.object({
        user: z.object({
          name: z.string().min(1),
          password: z.string(),
          domain: z.object({ name: z.string().min(1) }),
        }),
      }),
    }),
    scope: z
      .object({
        project: z.object({ name: z.string().optional(), id: z.string().optional() }).optional(),
        domain: z.object({ name: z.string().optional(), id: z.string().optional() }).optional(),
      })
      .optional(),
  }),
});

export function iamError(status: number, title: string, message: string, requestId: string): CloudResponse {
  return { status, headers: { 'x-request-id': requestId, 'content-type': 'application/json' }, body: { error: { code: status, message, title } } };
}

export function projectIdOf(region: string): string {
  return hexId('project', region);
}

/** IAM `POST /v3/auth/tokens` with the password method, plus token lookup for SWR. */
export class IamTokens {
  private tokens = new Map<string, IamToken>();
  private counter = 0;

  constructor(private readonly env: LocalCloudEnv) {}

  reset(): void {
    this.tokens.clear();
    this.counter = 0;
  }

  lookup(token: string): IamToken | undefined {
    return this.tokens.get(token);
  }

  /** Region named by a token request's project scope, for fault matching. */
  static scopeOf(body: Buffer): string | undefined {
    try {
      const parsed = tokenRequestSchema.safeParse(JSON.parse(body.toString('utf8')));
      return parsed.success ? parsed.data.auth.scope?.project?.name : undefined;
    } catch {
      return undefined;
    }
  }

  issue(req: CloudRequest, requestId: string): CloudResponse {
    let json: unknown;
    try {
      json = JSON.parse(req.body.toString('utf8'));
    } catch {
      return iamError(400, 'Bad Request', 'The request body is not valid JSON.', requestId);
    }
    const parsed = tokenRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return iamError(400, 'Bad Request', `Invalid request body: ${issue.path.join('.')} ${issue.message}.`, requestId);
    }
    const { identity, scope } = parsed.data.auth;
    if (!identity.methods.includes('password')) {
      return iamError(400, 'Bad Request', 'auth.identity.methods must include "password".', requestId);
    }
    const { name, password, domain } = identity.password.user;
    const huawei = this.env.seed.huawei;
    const user = huawei.users.find((u) => u.name === name);
    if (domain.name !== huawei.domain || !user || user.password !== password) {
      return iamError(401, 'Unauthorized', 'The username or password is wrong.', requestId);
    }
    let region: string | null = null;
    if (scope?.project) {
      const wanted = scope.project.name ?? huawei.regions.find((r) => projectIdOf(r) === scope.project!.id);
      if (!wanted || !huawei.regions.includes(wanted)) {
        return iamError(400, 'Bad Request', `Project ${scope.project.name ?? scope.project.id ?? ''} does not exist in domain ${huawei.domain}.`, requestId);
      }
      region = wanted;
    }
    const token = this.mint();
    const record: IamToken = { token, user: name, region, issuedAt: req.now, expiresAt: req.now + huawei.tokenTtlMs };
    this.tokens.set(token, record);

    const domainRef = { name: huawei.domain, id: hexId('domain', huawei.domain) };
    const body: Record<string, unknown> = {
      expires_at: swrTime(record.expiresAt),
      issued_at: swrTime(record.issuedAt),
      methods: ['password'],
      user: { name, id: hexId('user', name), domain: domainRef, password_expires_at: '' },
      roles: [{ name: 'te_admin', id: hexId('role', 'te_admin') }],
    };
    if (region) body.project = { name: region, id: projectIdOf(region), domain: domainRef };
    else body.domain = domainRef;
    // Any non-empty `nocatalog` leaves the catalog empty (Huawei's example answers `"catalog": []`).
    const nocatalog = Boolean(req.query.get('nocatalog'));
    body.catalog =
      region && !nocatalog
        ? [
            {
              type: 'swr',
              name: 'swr',
              id: hexId('svc', 'swr'),
              endpoints: [{ interface: 'public', region, region_id: region, url: `https://swr-api.${region}.myhuaweicloud.com`, id: hexId('ep', region) }],
            },
          ]
        : [];
    return {
      status: 201,
      headers: { 'x-subject-token': token, 'x-request-id': requestId, 'content-type': 'application/json' },
      body: { token: body },
    };
  }

  private mint(): string {
    const seed = `${++this.counter}:${this.env.random()}:${this.env.random()}`;
    return (
      'MIIL' +
      createHash('sha256').update(seed).digest('base64url') +
      createHash('sha256')
        .update(seed + '#')
        .digest('base64url')
    );
  }

  snapshot(now: number): unknown {
    return [...this.tokens.values()].map((t) => ({
      user: t.user,
      region: t.region,
      tokenPrefix: t.token.slice(0, 12),
      expiresAt: swrTime(t.expiresAt),
      expired: now >= t.expiresAt,
    }));
  }
}

export type AkskResult = { ok: true; accessKey: string } | { ok: false; code: 'APIGW.0301' | 'APIGW.0303'; message: string };

/**
 * Verifies an SDK-HMAC-SHA256 signature as API Gateway does. The `X-Sdk-Date` window is
 * checked against both the virtual clock and the wall clock: official SDKs sign with the
 * wall clock while Ferry may sign with the virtual one, and both must pass.
 */
export function verifyAksk(req: CloudRequest, credentials: { accessKey: string; secretKey: string }[]): AkskResult {
  const auth = parseHuaweiAuthorization(req.headers['authorization'] ?? '');
  if (!auth) return { ok: false, code: 'APIGW.0301', message: 'Incorrect IAM authentication information: Authorization header is not a valid SDK-HMAC-SHA256 signature' };
  const rawDate = req.headers['x-sdk-date'];
  const date = rawDate ? parseSdkDate(rawDate) : null;
  if (!rawDate || !date) return { ok: false, code: 'APIGW.0301', message: 'Incorrect IAM authentication information: X-Sdk-Date is missing or not YYYYMMDDTHHMMSSZ' };
  const t = date.getTime();
  if (Math.abs(t - req.now) > SDK_DATE_TOLERANCE_MS && Math.abs(t - Date.now()) > SDK_DATE_TOLERANCE_MS) {
    return { ok: false, code: 'APIGW.0303', message: 'Incorrect app authentication information: X-Sdk-Date is more than 15 minutes away from the server time' };
  }
  const credential = credentials.find((c) => c.accessKey === auth.accessKey);
  if (!credential) return { ok: false, code: 'APIGW.0301', message: `Incorrect IAM authentication information: ak ${auth.accessKey} not found` };

  const query: Record<string, string> = {};
  for (const [k, v] of req.query) query[k] = v;
  const body = req.body.toString('utf8');
  const declared = req.headers['x-sdk-content-sha256'];
  const signatureFor = (path: string): string => {
    let canonical = huaweiCanonicalRequest({ method: req.method, path, query, headers: req.headers, body }, auth.signedHeaders);
    // The SDKs sign the literal X-Sdk-Content-Sha256 value (e.g. UNSIGNED-PAYLOAD) instead of the body hash.
    if (declared) canonical = canonical.slice(0, canonical.lastIndexOf('\n') + 1) + declared;
    const stringToSign = `SDK-HMAC-SHA256\n${rawDate}\n${createHash('sha256').update(canonical).digest('hex')}`;
    return createHmac('sha256', credential.secretKey).update(stringToSign).digest('hex');
  };
  // Canonical URI: segments decoded then encoded (`$` and `%24` both sign as `%24`); a client
  // that sent an already-encoded path may instead have encoded it again, as the SDKs do.
  const candidates = [req.path];
  if (req.path.includes('%')) candidates.push(req.path.replace(/%/g, '%25'));
  const given = Buffer.from(auth.signature);
  const valid = candidates.some((path) => {
    const want = Buffer.from(signatureFor(path));
    return given.length === want.length && timingSafeEqual(given, want);
  });
  if (!valid) return { ok: false, code: 'APIGW.0301', message: 'Incorrect IAM authentication information: verify aksk signature fail' };
  return { ok: true, accessKey: auth.accessKey };
}
