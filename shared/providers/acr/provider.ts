/** Alibaba Cloud Container Registry Enterprise: native cross-instance sync (CreateRepoSyncTask). */
import * as z from '../../zod.ts';
import * as naming from '../../rules/naming.ts';
import type { CloudProvider } from '../types.ts';
import { CopyError } from '../../copy/types.ts';
import { CloudNotFoundError } from '../../clients/errors.ts';
import { AcrClients } from './clients.ts';
import { acrInventory, acrTargetDigest } from './inventory.ts';
import { acrRegistryLogin, acrRegistryUrl } from './registry-login.ts';
import { observeAcrInstance, rereadAcr } from './observe.ts';
import { cancelSyncTask, createSyncTask, findSyncTask } from './sync-tasks.ts';
import { checkAcrTriggers } from './triggers.ts';
import { acrTargetOf, acrTargetSchema, parseAcrTarget, renderAcr, type AcrTarget, type AcrTaskTarget } from './target.ts';

const asAcr = (t: unknown) => t as AcrTaskTarget;

export const acrProvider: CloudProvider<AcrTarget> = {
  name: 'acr',
  title: 'ACR',
  sourceKinds: ['acr'],
  triggerKinds: ['acr'],
  inventoryKinds: ['acr'],
  targetSchema: acrTargetSchema,
  render: renderAcr,
  parseTarget: parseAcrTarget,
  scopeOf: (t) => asAcr(t).from.instanceId,
  checkSourceImage: (image) => naming.checkImageNames(image, { namespace: naming.acrNamespace, repository: naming.acrRepository }),
  reference: {
    schema: (kit) =>
      z.strictObject({
        instanceId: kit.checked(naming.acrInstanceId, /^cri-[a-z0-9]{4,32}$/).check(z.describe('ACR Enterprise instance id (cri-…)')),
        syncTaskId: kit.checked(naming.acrSyncTaskId, /^rst-[a-z0-9]{4,32}$/).check(z.describe('ACR replication task id (rst-…)')),
        region: z.optional(kit.alibabaRegion).check(z.describe('Region of the instance; default: the configured source with that instance id')),
      }),
    taskRef: (ref) => String(ref.syncTaskId),
    matchesTask: (ref, task) => {
      const { from } = acrTargetOf(task);
      return task.cloudRef === ref.syncTaskId && from.instanceId === ref.instanceId && (ref.region === undefined || from.region === ref.region);
    },
    describe: (ref) => `ACR sync task ${String(ref.syncTaskId)}`,
    complete(ref, known) {
      if (typeof ref.region === 'string') return ref;
      const source = known.sources.find((s) => s.kind === 'acr' && s.instanceId === ref.instanceId);
      if (typeof source?.region === 'string') return { ...ref, region: source.region };
      const from = known.task?.provider === 'acr' ? acrTargetOf(known.task).from : undefined;
      if (from && from.instanceId === ref.instanceId) return { ...ref, region: from.region };
      return { field: 'region', message: `is required: no configured ACR source has instance ${String(ref.instanceId)}` };
    },
  },
  checkRegistry: (source) =>
    typeof source.instanceName === 'string' || typeof source.registry === 'string'
      ? null
      : 'give it instanceName (its registry is <instanceName>-registry.<region>.cr.aliyuncs.com) or registry (the registry URL)',
  registryFor(source, opts) {
    if (source.kind !== 'acr') throw new Error(`source "${source.name}" is not an ACR source`);
    const url = source.registry ?? (source.instanceName ? acrRegistryUrl(source.instanceName, source.region) : undefined);
    if (!url) throw new CopyError('UNSUPPORTED', `ACR source "${source.name}" has neither instanceName nor registry: its registry is unknown`, false);
    const client = new AcrClients(opts).region(source.region);
    return { url, name: source.name, login: acrRegistryLogin(client, source.instanceId, { now: () => opts.clock.now() }) };
  },
  connect(opts) {
    const clients = new AcrClients(opts);
    return {
      submit: (_task, t) => createSyncTask(clients, asAcr(t)),
      findExisting: (task, t, known) => findSyncTask(clients, task, asAcr(t), known),
      async resolveDigest(image) {
        if (!image.region || !image.instanceId || !image.tag) return null;
        const repoId = await clients.repoId(image.region, image.instanceId, image.namespace, image.repository);
        return clients.region(image.region).getRepoTagDigest({ instanceId: image.instanceId, repoId, tag: image.tag });
      },
      targetDigest: (t) => acrTargetDigest(clients, asAcr(t)),
      inventory: acrInventory(clients),
      observe: (tasks, ctx) => observeAcrInstance(clients, tasks, ctx),
      reread: (task, t, ctx) => rereadAcr(clients, task, asAcr(t), ctx),
      async cancel(task, t) {
        const { from } = asAcr(t);
        if (!task.cloudRef) return { outcome: 'canceled', already: false, cloudCall: false, note: 'no cloud task reference recorded; canceled in the ledger only' };
        return cancelSyncTask(clients, { region: from.region, instanceId: from.instanceId, syncTaskId: task.cloudRef });
      },
      cancelReference: (ref) => cancelSyncTask(clients, ref as { region: string; instanceId: string; syncTaskId: string }),
      async deleteTag(t) {
        const { to } = asAcr(t);
        try {
          const repoId = await clients.repoId(to.region, to.instanceId, to.namespace, to.repo);
          const client = clients.region(to.region);
          const held = await client.getRepoTagDigest({ instanceId: to.instanceId, repoId, tag: to.tag });
          // Someone pushed over Ferry's copy: that image is theirs, not Ferry's to delete.
          if (t.from.digest && held !== t.from.digest)
            return { outcome: 'refused', reason: `${to.namespace}/${to.repo}:${to.tag} at ${to.instanceId} now holds ${held}, not ${t.from.digest} that Ferry copied` };
          const r = await client.deleteRepoTag({ instanceId: to.instanceId, repoId, tag: to.tag });
          return { outcome: 'deleted', action: 'DeleteRepoTag', requestId: r.requestId ?? null };
        } catch (err) {
          if (err instanceof CloudNotFoundError) return { outcome: 'absent' };
          throw err;
        }
      },
      triggers: { check: (source, spec, ctx) => checkAcrTriggers(clients, source, spec, ctx) },
    };
  },
};
