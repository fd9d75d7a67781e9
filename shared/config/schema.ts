import * as z from '../zod.ts';
import { providers } from '../providers/registry.ts';
import type { SchemaKit } from '../providers/types.ts';
import * as naming from '../rules/naming.ts';
import { isAlibabaRegion, isHuaweiRegion } from '../rules/regions.ts';
import { checkPattern, compileGlob } from '../rules/glob.ts';
import { checkTemplate, compileTemplate } from '../rules/template.ts';
import { looksLikeKmsRef } from './kms-refs.ts';
import { kmsValue, plainOrRef, secretRef, UNRESOLVED, type RefContext } from './secrets.ts';

/**
 * The operator's config file. Built per parse because secret references resolve
 * against the environment given to that parse. Cross-field checks (names referenced
 * elsewhere, duplicates) live in cross-checks.ts; this file checks each field alone.
 */

export const POLICY_DEFAULTS = {
  maxAttempts: 3,
  backoff: { initialSeconds: 30, maxSeconds: 900, multiplier: 2 },
  deadlineMinutes: 60,
  retryOnTimeout: true,
} as const;

function checked(check: naming.NameCheck) {
  return z.string().check(
    z.superRefine((v, ctx) => {
      const reason = check(v);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    }),
  );
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const name = z.string().check(z.regex(NAME, { error: 'must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit' }));

const alibabaRegion = z.string().check(z.refine(isAlibabaRegion, { error: (iss) => `unknown region "${String(iss.input)}"` }));
const huaweiRegion = z.string().check(z.refine(isHuaweiRegion, { error: (iss) => `unknown Huawei Cloud region "${String(iss.input)}"` }));

/** A glob or `/regex/flags`. */
const pattern = z.string().check(
  z.superRefine((v, ctx) => {
    const reason = checkPattern(v);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  }),
);

/** A glob over source names. */
const sourceGlob = z
  .string()
  .check(z.minLength(1))
  .check(
    z.superRefine((v, ctx) => {
      try {
        compileGlob(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  );

/** A target name template; when it has no placeholder the literal must already be a valid name. */
function template(fallback: string, check: naming.NameCheck) {
  return z._default(
    z.string().check(
      z.superRefine((v, ctx) => {
        const reason = checkTemplate(v);
        if (reason) return ctx.addIssue({ code: 'custom', message: reason });
        if (compileTemplate(v).placeholders.size === 0) {
          const bad = check(v);
          if (bad) ctx.addIssue({ code: 'custom', message: bad });
        }
      }),
    ),
    fallback,
  );
}

/** A plain string or an object, told apart by shape so a problem is reported by the schema it belongs to. */
function stringOrObject<S extends z.ZodMiniType<unknown, string>, O extends z.ZodMiniType>(str: S, obj: O) {
  return z.pipe(
    z.unknown(),
    z.transform((v, t): z.output<S> | z.output<O> => {
      const r = (typeof v === 'string' ? str : obj).safeParse(v, { reportInput: true });
      if (r.success) return r.data;
      t.issues.push(...(r.error.issues as z.core.$ZodRawIssue[]));
      return z.NEVER;
    }),
  );
}

/** `{<Huawei region>: value}`, an unknown region named as such. */
function perHuaweiRegion<V extends z.ZodMiniType>(value: V) {
  return z.record(z.string(), value).check(
    z.superRefine((m, c) => {
      for (const region of Object.keys(m)) if (!isHuaweiRegion(region)) c.addIssue({ code: 'custom', path: [region], message: `unknown Huawei Cloud region "${region}"` });
    }),
  );
}

/** An IAM project id: 32 lowercase hex characters. */
const huaweiProjectId = z.string().check(z.regex(/^[0-9a-f]{32}$/, { error: 'must be an IAM project id (32 lowercase hex characters)' }));

const url = z.string().check(z.refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), { error: 'must be an http(s) URL' }));

// ---------- sources: the registries Ferry knows ----------
/**
 * A registry's base URL (no `/v2`, no path): `http://` too, for loopback and private registries.
 * The trailing slash is dropped.
 */
const registryUrl = z.pipe(
  z.string().check(
    z.superRefine((v, ctx) => {
      const u = URL.canParse(v) ? new URL(v) : null;
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !/^https?:\/\/[^\s/]+/.test(v)) return ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
      if (u.username || u.password) return ctx.addIssue({ code: 'custom', message: 'must not carry credentials (give username and password instead)' });
      if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) ctx.addIssue({ code: 'custom', message: "must be the registry's base URL, without a path (Ferry adds /v2/)" });
    }),
  ),
  z.transform((v) => v.replace(/\/+$/, '')),
);

/** An ACR Enterprise instance name, as its registry host carries it (`<name>-registry.<region>.cr.aliyuncs.com`). */
const acrInstanceName = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$/, { error: 'must be 3 to 64 lowercase letters, digits or "-" (the instance name in its registry host)' }));

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;

function sourceSchemas(ctx: RefContext) {
  const acrSource = z.strictObject({
    kind: z.literal('acr'),
    name,
    instanceId: checked(naming.acrInstanceId),
    region: alibabaRegion,
    accountId: z.optional(checked(naming.accountId)),
    /** For copies Ferry makes itself: the registry host is `<instanceName>-registry.<region>.cr.aliyuncs.com`. */
    instanceName: z.optional(acrInstanceName),
    /** The registry URL instead (a VPC endpoint, the local cloud's registry). */
    registry: z.optional(plainOrRef(ctx, registryUrl)),
  });
  const swrSource = z.strictObject({
    kind: z.literal('swr'),
    name,
    region: huaweiRegion,
    namespaces: z.array(checked(naming.swrNamespace)).check(z.minLength(1)),
    /** For copies Ferry makes itself; default `https://swr.<region>.myhuaweicloud.com`. */
    registry: z.optional(plainOrRef(ctx, registryUrl)),
  });
  const registrySource = <K extends 'harbor' | 'distribution' | 'dockerhub'>(kind: K) =>
    z
      .strictObject({
        kind: z.literal(kind),
        name,
        host: z.optional(z.string().check(z.regex(HOST, { error: 'must be a host name, optionally with ":port"' }))),
        /** An ACR or SWR source that holds this registry's images under the same names (clouds copy from there). */
        mirrorOf: z.optional(name),
        /** The registry's URL for copies Ferry makes itself; default `https://<host>` (Docker Hub: its registry). */
        url: z.optional(plainOrRef(ctx, registryUrl)),
        username: z.optional(plainOrRef(ctx, z.string().check(z.minLength(1)))),
        password: z.optional(secretRef(ctx, 'FERRY_REGISTRY_PASSWORD')),
      })
      .check(
        z.superRefine((s, c) => {
          if ((s.username === undefined) !== (s.password === undefined)) {
            c.addIssue({ code: 'custom', path: [s.username === undefined ? 'username' : 'password'], message: 'is required when the other of username and password is given' });
          }
        }),
      );
  return z.discriminatedUnion('kind', [acrSource, swrSource, registrySource('harbor'), registrySource('distribution'), registrySource('dockerhub')]);
}

// ---------- policy ----------
const backoffPartial = z.strictObject({
  initialSeconds: z.optional(z.number().check(z.positive()).check(z.lte(86_400))),
  maxSeconds: z.optional(z.number().check(z.positive()).check(z.lte(86_400))),
  multiplier: z.optional(z.number().check(z.gte(1)).check(z.lte(10))),
});
export const policyPartialSchema = z.strictObject({
  maxAttempts: z.optional(z.int().check(z.gte(1)).check(z.lte(20))),
  backoff: z.optional(backoffPartial),
  deadlineMinutes: z.optional(z.int().check(z.gte(1)).check(z.lte(10_080))),
  retryOnTimeout: z.optional(z.boolean()),
});
export type PolicyInput = z.output<typeof policyPartialSchema>;

export interface Backoff {
  initialSeconds: number;
  maxSeconds: number;
  multiplier: number;
}
export interface Policy {
  /** Submissions of one task before it is given up (1–20). */
  maxAttempts: number;
  backoff: Backoff;
  /** A task still running this long after it was created is cancelled. */
  deadlineMinutes: number;
  /** Whether a task cancelled at its deadline (or timed out in the cloud) is retried. */
  retryOnTimeout: boolean;
}

export function mergePolicy(base: Policy, over: PolicyInput | undefined): Policy {
  if (!over) return base;
  return {
    maxAttempts: over.maxAttempts ?? base.maxAttempts,
    backoff: {
      initialSeconds: over.backoff?.initialSeconds ?? base.backoff.initialSeconds,
      maxSeconds: over.backoff?.maxSeconds ?? base.backoff.maxSeconds,
      multiplier: over.backoff?.multiplier ?? base.backoff.multiplier,
    },
    deadlineMinutes: over.deadlineMinutes ?? base.deadlineMinutes,
    retryOnTimeout: over.retryOnTimeout ?? base.retryOnTimeout,
  };
}

// ---------- the drift audit ----------
const DURATION = /^(\d{1,6})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const AUDIT_MIN_MS = 5 * 60_000;
export const AUDIT_MAX_MS = 30 * 86_400_000;

/** `30m`, `6h`, `1d` in ms, or null when the text is not such a duration. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

const auditSchema = z.pipe(
  z.prefault(z.unknown(), { every: '6h' }),
  z.transform((v, ctx): { every: string; everyMs: number } | false => {
    if (v === false) return false;
    const given = v === undefined ? { every: '6h' } : v;
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      ctx.issues.push({ code: 'custom', input: v, message: "must be false (no audit) or { every: '<duration>' }, e.g. { every: '6h' }" });
      return z.NEVER;
    }
    const { every = '6h', ...rest } = given as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) {
      ctx.issues.push({ code: 'custom', input: v, path: [extra], message: 'is not an audit setting (only "every")' });
      return z.NEVER;
    }
    const ms = typeof every === 'string' ? parseDuration(every) : null;
    if (ms === null) {
      ctx.issues.push({ code: 'custom', input: v, path: ['every'], message: `must be a duration such as "30m", "6h" or "1d" (got ${JSON.stringify(every)})` });
      return z.NEVER;
    }
    if (ms < AUDIT_MIN_MS || ms > AUDIT_MAX_MS) {
      ctx.issues.push({ code: 'custom', input: v, path: ['every'], message: `must be between 5m and 30d (got "${every}")` });
      return z.NEVER;
    }
    return { every: every as string, everyMs: ms };
  }),
);

// ---------- targets: one schema per registered provider ----------
export const schemaKit: SchemaKit = { checked, template, alibabaRegion, huaweiRegion };

/** A rule target: `provider` names a registered provider, whose schema checks the rest. */
function targetSchema() {
  const byName = new Map(providers().map((p) => [p.name, p.targetSchema(schemaKit)]));
  return z.pipe(
    z.looseObject({ provider: z.string() }),
    z.transform((t, ctx) => {
      const schema = byName.get(t.provider);
      if (!schema) {
        ctx.issues.push({ code: 'custom', input: t, path: ['provider'], message: `unknown provider "${t.provider}" (one of ${[...byName.keys()].join(', ')})` });
        return z.NEVER;
      }
      const r = schema.safeParse(t);
      if (r.success) return r.data as { provider: string } & Record<string, unknown>;
      ctx.issues.push(...(r.error.issues as z.core.$ZodRawIssue[]));
      return z.NEVER;
    }),
  );
}

// ---------- the whole file ----------
export function buildConfigSchema(ctx: RefContext) {
  const rule = z.strictObject({
    name,
    source: sourceGlob,
    namespace: z._default(pattern, '**'),
    repository: z._default(pattern, '**'),
    tags: z.prefault(z.strictObject({ include: z._default(z.array(pattern), []), exclude: z._default(z.array(pattern), []) }), {}),
    /** Also match pushes that carry a digest and no tag. */
    digestOnly: z._default(z.boolean(), false),
    /** Deletion replication: a tag deleted at the source is deleted at the targets Ferry copied it to (and nowhere else). */
    deletes: z._default(z.boolean(), false),
    targets: z.array(targetSchema()).check(z.minLength(1)),
    policy: z.optional(policyPartialSchema),
    /** The sweep's drift audit of what the rule should have copied: `{ every: '6h' }` (default), or false. */
    audit: auditSchema,
  });

  const webhookTokenObject = z.strictObject({
    token: secretRef(ctx, 'FERRY_WEBHOOK_TOKEN'),
    /** Sources this token may push for; all when omitted. */
    sources: z.optional(z.array(name).check(z.minLength(1))),
  });
  const webhookTokenRef = z.pipe(
    secretRef(ctx, 'FERRY_WEBHOOK_TOKEN'),
    z.transform((token): { token: string; sources?: string[] | undefined } => ({ token })),
  );
  const webhookToken = stringOrObject(webhookTokenRef, webhookTokenObject);

  const auth = z.prefault(
    z.strictObject({
      webhookTokens: z._default(z.array(webhookToken), []),
      apiTokens: z._default(z.array(z.strictObject({ name: z.optional(name), token: secretRef(ctx, 'FERRY_API_TOKEN'), role: z.enum(['admin', 'read']) })), []),
    }),
    {},
  );

  const alibaba = z
    .strictObject({
      accessKeyId: z.optional(secretRef(ctx, 'ALIBABA_CLOUD_ACCESS_KEY_ID')),
      accessKeySecret: z.optional(secretRef(ctx, 'ALIBABA_CLOUD_ACCESS_KEY_SECRET')),
      securityToken: z.optional(secretRef(ctx, 'ALIBABA_CLOUD_SECURITY_TOKEN')),
      /** One URL for every Alibaba API (the local cloud); default `https://<product>.<region>.aliyuncs.com`. */
      endpoint: z.optional(plainOrRef(ctx, url)),
      /** Where `${kms:…}` secrets are read: default the function's own region, and `https://kms.<region>.aliyuncs.com`. */
      kms: z.optional(z.strictObject({ region: z.optional(alibabaRegion), endpoint: z.optional(plainOrRef(ctx, url)) })),
    })
    .check(
      z.superRefine((a, c) => {
        if ((a.accessKeyId === undefined) !== (a.accessKeySecret === undefined)) {
          const missing = a.accessKeyId === undefined ? 'accessKeyId' : 'accessKeySecret';
          c.addIssue({ code: 'custom', path: [missing], message: 'is required when the other half of the AccessKey pair is given' });
        }
        if (a.securityToken !== undefined && a.accessKeyId === undefined) {
          c.addIssue({ code: 'custom', path: ['securityToken'], message: 'needs accessKeyId and accessKeySecret' });
        }
      }),
    );

  const huawei = z.pipe(
    z
      .strictObject({
        accessKey: z.optional(secretRef(ctx, 'HUAWEICLOUD_SDK_AK')),
        secretKey: z.optional(secretRef(ctx, 'HUAWEICLOUD_SDK_SK')),
        securityToken: z.optional(secretRef(ctx, 'HUAWEICLOUD_SDK_SECURITY_TOKEN')),
        // IAM user and domain are not secret (masking a short user name would blank out log lines).
        user: z.optional(plainOrRef(ctx, z.string().check(z.minLength(1)))),
        password: z.optional(secretRef(ctx, 'HUAWEI_IAM_PASSWORD')),
        domain: z.optional(plainOrRef(ctx, z.string().check(z.minLength(1)))),
        /**
         * With AK/SK, the IAM project SWR calls name in X-Project-Id, as the SDKs do (a token names its
         * own): one id, or one per SWR region `{cn-north-4: …}`.
         */
        projectId: z.optional(stringOrObject(plainOrRef(ctx, huaweiProjectId), perHuaweiRegion(plainOrRef(ctx, huaweiProjectId)))),
        endpoints: z.prefault(z.strictObject({ swr: z.optional(plainOrRef(ctx, url)), iam: z.optional(plainOrRef(ctx, url)) }), {}),
      })
      .check(
        z.superRefine((h, c) => {
          const aksk = ['accessKey', 'secretKey'] as const;
          const iam = ['user', 'password', 'domain'] as const;
          const given = (keys: readonly (keyof typeof h)[]) => keys.filter((k) => h[k] !== undefined);
          const a = given(aksk);
          const p = given(iam);
          if (a.length && p.length) {
            c.addIssue({ code: 'custom', message: 'give either accessKey and secretKey, or user, password and domain, not both' });
          } else if (!a.length && !p.length) {
            c.addIssue({ code: 'custom', message: 'give either accessKey and secretKey, or user, password and domain' });
          } else {
            const group = a.length ? aksk : iam;
            for (const k of group) if (h[k] === undefined) c.addIssue({ code: 'custom', path: [k], message: `is required with ${group.filter((g) => g !== k).join(' and ')}` });
          }
          if (h.securityToken !== undefined && !a.length) c.addIssue({ code: 'custom', path: ['securityToken'], message: 'needs accessKey and secretKey' });
          if (h.projectId !== undefined && !a.length) c.addIssue({ code: 'custom', path: ['projectId'], message: 'needs accessKey and secretKey (an IAM token names its own project)' });
        }),
      ),
    z.transform((h) => ({
      auth:
        h.accessKey !== undefined
          ? {
              type: 'aksk' as const,
              accessKey: h.accessKey,
              secretKey: h.secretKey!,
              ...(h.securityToken ? { securityToken: h.securityToken } : {}),
              ...(h.projectId !== undefined ? { projectId: h.projectId } : {}),
            }
          : { type: 'password' as const, user: h.user!, password: h.password!, domain: h.domain! },
      endpoints: h.endpoints,
    })),
  );

  const store = z.pipe(
    z.prefault(
      z.strictObject({
        /** PostgreSQL URL; else env DATABASE_URL; else embedded PGlite in dataDir. */
        databaseUrl: z.optional(secretRef(ctx, 'DATABASE_URL')),
        dataDir: z._default(z.string().check(z.minLength(1)), '.ferry'),
        retentionDays: z._default(z.int().check(z.gte(1)).check(z.lte(3650)), 30),
      }),
      {},
    ),
    z.transform((s, t) => {
      const fromEnv = ctx.env.DATABASE_URL || undefined;
      // DATABASE_URL itself may be `${kms:NAME}`: the variable then names the secret that holds the URL.
      const databaseUrl = s.databaseUrl ?? (fromEnv !== undefined && looksLikeKmsRef(fromEnv) ? (kmsValue(ctx, fromEnv, t.issues, 'environment variable DATABASE_URL') as string) : fromEnv);
      if (databaseUrl !== undefined) {
        if (databaseUrl !== UNRESOLVED) ctx.secrets.add(databaseUrl);
        return { kind: 'postgres' as const, databaseUrl, retentionDays: s.retentionDays };
      }
      return { kind: 'pglite' as const, dataDir: s.dataDir, retentionDays: s.retentionDays };
    }),
  );

  const notifyOn = z._default(z.array(z.enum(['failure', 'success'])).check(z.minLength(1)), ['failure']);
  /** `task`: one message per failed target; `replication`: one per replication once none of its targets is open, listing the failed ones. */
  const notifyGroup = z._default(z.enum(['task', 'replication']), 'task');
  const notification = z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('webhook'),
      url: secretRef(ctx, 'FERRY_NOTIFY_URL'),
      /** HMAC-SHA256 key: each message carries X-Ferry-Timestamp and X-Ferry-Signature (README "Notifications"). */
      secret: z.optional(secretRef(ctx, 'FERRY_NOTIFY_SECRET')),
      on: notifyOn,
      group: notifyGroup,
    }),
    z.strictObject({ type: z.literal('slack'), url: secretRef(ctx, 'FERRY_SLACK_WEBHOOK_URL'), on: notifyOn, group: notifyGroup }),
    z.strictObject({
      type: z.literal('dingtalk'),
      url: secretRef(ctx, 'FERRY_DINGTALK_URL'),
      /** DingTalk robot signing secret ("SEC…"). */
      secret: z.optional(secretRef(ctx, 'FERRY_DINGTALK_SECRET')),
      on: notifyOn,
      group: notifyGroup,
    }),
  ]);

  const api = z.prefault(
    z.strictObject({
      /**
       * The operator API's public base URL: notifications link to its status pages (`<publicUrl>/ui/tasks/<id>`).
       * Unset: `webhook.publicUrl`, which is the same API Gateway group (serverless.yml) and the same server (`npm start`).
       */
      publicUrl: z.optional(plainOrRef(ctx, url)),
    }),
    {},
  );

  const webhook = z.prefault(
    z.strictObject({
      /** This Ferry's public base URL, as registries reach it (`ferry triggers` registers `<publicUrl>/webhooks/…` there). */
      publicUrl: z.optional(plainOrRef(ctx, url)),
      /** The webhook's answer is due this long after the request arrived, whatever the clouds do; what is not submitted by then is left to the sweep. */
      submitBudgetMs: z._default(z.int().check(z.gte(100)).check(z.lte(60_000)), 2500),
      maxBodyBytes: z._default(
        z
          .int()
          .check(z.gte(1024))
          .check(z.lte(16 * 1024 * 1024)),
        1024 * 1024,
      ),
    }),
    {},
  );

  const sweep = z.prefault(
    z.strictObject({
      /** A task younger than this is left to the webhook that created it. */
      graceSeconds: z._default(z.int().check(z.gte(0)).check(z.lte(3600)), 60),
      /** Wall time one sweep run may use. */
      budgetMs: z._default(z.int().check(z.gte(1000)).check(z.lte(600_000)), 50_000),
      /** Tasks handled per ledger query. */
      batchSize: z._default(z.int().check(z.gte(1)).check(z.lte(1000)), 50),
      /** /healthz answers 503 when the last completed sweep is older than this (the sweep runs every minute). */
      staleAfterSeconds: z._default(
        z
          .int()
          .check(z.gte(60))
          .check(z.lte(7 * 86_400)),
        600,
      ),
      /** ECS image import/export tasks to watch (and cancel past their deadline). */
      ecsWatch: z.prefault(
        z.strictObject({
          regions: z._default(z.array(alibabaRegion), []),
          taskActions: z._default(z.array(z.enum(['ImportImage', 'ExportImage'])).check(z.minLength(1)), ['ImportImage', 'ExportImage']),
        }),
        {},
      ),
    }),
    {},
  );

  return z.pipe(
    z.strictObject({
      sources: z._default(z.array(sourceSchemas(ctx)), []),
      rules: z._default(z.array(rule), []),
      defaults: z.optional(policyPartialSchema),
      auth,
      clouds: z.prefault(z.strictObject({ alibaba: z.optional(alibaba), huawei: z.optional(huawei) }), {}),
      store,
      notifications: z._default(z.array(notification), []),
      api,
      webhook,
      sweep,
      /** Infrastructure settings (VPC, account): read by `npm run package` and the deploy plugin (deploy/), ignored here. */
      deploy: z.optional(z.unknown()),
    }),
    z.transform((c, t) => {
      const defaults = mergePolicy(structuredClone(POLICY_DEFAULTS) as Policy, c.defaults);
      checkBackoff(defaults.backoff, ['defaults', 'backoff'], t.issues);
      const rules = c.rules.map((r, i) => {
        const policy = mergePolicy(defaults, r.policy);
        if (r.policy?.backoff) checkBackoff(policy.backoff, ['rules', i, 'policy', 'backoff'], t.issues);
        return { ...r, policy };
      });
      const { defaults: _given, deploy: _deploy, ...rest } = c;
      return { ...rest, defaults, rules };
    }),
  );
}

function checkBackoff(b: Backoff, path: (string | number)[], issues: z.core.$ZodRawIssue[]): void {
  if (b.maxSeconds < b.initialSeconds) {
    issues.push({ code: 'custom', path: [...path, 'maxSeconds'], message: `must be at least initialSeconds (${b.initialSeconds})`, input: b.maxSeconds });
  }
}

type Schema = ReturnType<typeof buildConfigSchema>;
export type FerryConfigData = z.output<Schema>;
export type FerryConfigInput = z.input<Schema>;
