import { z } from 'zod';
import { DEFAULT_KEEP_FINISHED } from './task-cap.ts';

/**
 * What the local cloud starts with: the `localCloud` section of Ferry's config.
 * Every field has a default so `npm start` works with no config at all.
 */
const tagMap = z.record(z.string(), z.string()).default({}); // tag -> digest

const repoSeed = z.object({ name: z.string(), tags: tagMap });
const namespaceSeed = z.object({ name: z.string(), repos: z.array(repoSeed).default([]) });

export const localCloudSeedSchema = z.object({
  /** Virtual time runs this many times faster than real time (deadlines, task durations). */
  speed: z.number().positive().default(1),
  /** How long an emulated sync/import task takes, in virtual milliseconds. */
  syncDurationMs: z.object({ min: z.number().int().nonnegative().default(300), max: z.number().int().nonnegative().default(1500) }).prefault({}),
  /**
   * Finished tasks (ACR sync tasks per source instance, ECS tasks and SWR sync jobs per region) the
   * emulator remembers; older ones are forgotten (task-cap.ts). Open tasks are always kept.
   */
  keepFinishedTasks: z.number().int().positive().default(DEFAULT_KEEP_FINISHED),
  alibaba: z
    .object({
      accounts: z
        .array(z.object({ accountId: z.string(), accessKeyId: z.string(), accessKeySecret: z.string() }))
        .default([{ accountId: '1000000000000001', accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' }]),
      instances: z
        .array(
          z.object({
            instanceId: z.string(),
            region: z.string(),
            /** Owner account; defaults to the first account. */
            accountId: z.string().optional(),
            namespaces: z.array(namespaceSeed).default([]),
          }),
        )
        .default([
          { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
          { instanceId: 'cri-localdst001', region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
          { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team', repos: [] }] },
        ]),
      ecsRegions: z.array(z.string()).default(['cn-hangzhou', 'cn-shanghai', 'cn-beijing']),
      /** KMS Secrets Manager secrets (GetSecretValue), each owned by one account (default the first). */
      kmsSecrets: z
        .array(
          z.object({
            name: z.string().min(1),
            value: z.string(),
            accountId: z.string().optional(),
            dataType: z.enum(['text', 'binary']).default('text'),
            versionId: z.string().default('v1'),
            /** A rotated-out value, labelled ACSPrevious. */
            previous: z.string().optional(),
          }),
        )
        .default([]),
    })
    .prefault({}),
  huawei: z
    .object({
      domain: z.string().default('ferry-local'),
      users: z.array(z.object({ name: z.string(), password: z.string() })).default([{ name: 'ferry', password: 'local-ferry-password' }]),
      credentials: z.array(z.object({ accessKey: z.string(), secretKey: z.string() })).default([{ accessKey: 'HWLOCALFERRYAK', secretKey: 'local-ferry-sk' }]),
      /** Token lifetime in virtual ms (real IAM: 24 h). */
      tokenTtlMs: z
        .number()
        .int()
        .positive()
        .default(24 * 3600 * 1000),
      regions: z.array(z.string()).default(['cn-north-4', 'cn-east-3', 'cn-south-1', 'ap-southeast-1']),
      namespaces: z.array(z.object({ region: z.string(), name: z.string(), repos: z.array(repoSeed).default([]) })).default([
        { region: 'cn-north-4', name: 'team', repos: [{ name: 'app', tags: {} }] },
        { region: 'cn-east-3', name: 'team', repos: [] },
      ]),
    })
    .prefault({}),
  /** The registries (one per ACR instance, one per SWR region): fixed ports; unlisted ones get a free port. */
  registry: z
    .object({
      ports: z
        .object({
          acr: z.record(z.string(), z.number().int().min(0).max(65535)).default({}),
          swr: z.record(z.string(), z.number().int().min(0).max(65535)).default({}),
          generic: z.record(z.string(), z.number().int().min(0).max(65535)).default({}),
        })
        .prefault({}),
      /** Plain registries (CNCF distribution's kind) with one user, sending push notifications (generic.ts). */
      generic: z.array(z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/), username: z.string().min(1), password: z.string().min(1) })).default([]),
    })
    .prefault({}),
  fc: z
    .object({
      accountId: z.string().default('1000000000000001'),
      services: z
        .array(z.object({ name: z.string(), functions: z.array(z.string()).default([]), role: z.string().optional() }))
        .default([{ name: 'ferry', functions: ['webhook', 'sweep', 'cancel'] }]),
    })
    .prefault({}),
});

export type LocalCloudSeedInput = z.input<typeof localCloudSeedSchema>;
export type LocalCloudSeed = z.output<typeof localCloudSeedSchema>;

export function defaultSeed(): LocalCloudSeed {
  return localCloudSeedSchema.parse({});
}
