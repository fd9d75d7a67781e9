/** Huawei Cloud SWR: manual image sync between regions (sync_images), followed through sync_job. */
import * as z from '../../zod.ts';
import * as naming from '../../rules/naming.ts';
import type { CloudProvider } from '../types.ts';
import { cancelForOperator, deleteAutoSync, MANUAL_JOB_NOTE, type AutoSyncRef } from './auto-sync.ts';
import { CopyError } from '../../copy/types.ts';
import { SwrClients } from './clients.ts';
import { swrInventory, swrTargetDigest } from './inventory.ts';
import { swrRegistryLogin, swrRegistryUrl } from './registry-login.ts';
import { deleteSwrTag } from './delete-tag.ts';
import { findSyncJob, observeSwrRepository, syncImages } from './jobs.ts';
import { checkSwrTarget, parseSwrTarget, renderSwr, swrTargetSchema, type SwrTarget, type SwrTaskTarget } from './target.ts';

const asSwr = (t: unknown) => t as SwrTaskTarget;

function autoSyncRef(t: SwrTaskTarget): AutoSyncRef {
  return { region: t.from.region, namespace: t.from.namespace, repository: t.from.repository, remoteRegionId: t.to.remoteRegion, remoteNamespace: t.to.remoteNamespace };
}

export const swrProvider: CloudProvider<SwrTarget> = {
  name: 'swr',
  title: 'SWR',
  sourceKinds: ['swr'],
  inventoryKinds: ['swr'],
  targetSchema: swrTargetSchema,
  checkTarget: checkSwrTarget,
  render: renderSwr,
  parseTarget: parseSwrTarget,
  scopeOf: (t) => `${asSwr(t).from.region}/${t.from.namespace}/${t.from.repository}`,
  checkSourceImage: (image) => naming.checkImageNames(image, { namespace: naming.swrNamespace, repository: naming.swrRepository }),
  reference: {
    schema: (kit) =>
      z.strictObject({
        region: kit.huaweiRegion.check(z.describe('Source region of the automatic sync task')),
        namespace: kit.checked(naming.swrNamespace).check(z.describe('SWR organization')),
        repository: kit.checked(naming.swrRepository).check(z.describe('SWR repository')),
        remoteRegionId: kit.huaweiRegion.check(z.describe('Target region')),
        remoteNamespace: kit.checked(naming.swrNamespace).check(z.describe('Target organization')),
      }),
    describe: (r) => `SWR automatic sync task ${String(r.region)}/${String(r.namespace)}/${String(r.repository)} → ${String(r.remoteRegionId)}/${String(r.remoteNamespace)}`,
  },
  registryFor(source, opts) {
    if (source.kind !== 'swr') throw new Error(`source "${source.name}" is not an SWR source`);
    const h = opts.config.clouds.huawei;
    if (h?.auth.type !== 'aksk') throw new CopyError('UNAUTHORIZED', "SWR's registry login is derived from clouds.huawei accessKey and secretKey, which are not configured", false);
    return { url: source.registry ?? swrRegistryUrl(source.region), name: source.name, login: swrRegistryLogin(source.region, h.auth.accessKey, h.auth.secretKey) };
  },
  checkRegistry(_source, clouds) {
    const huawei = clouds.huawei;
    if (typeof huawei !== 'object' || huawei === null) return "SWR's registry login is derived from an AccessKey: configure clouds.huawei with accessKey and secretKey";
    if (!('accessKey' in huawei)) {
      return "SWR's registry login is derived from clouds.huawei accessKey and secretKey; IAM password auth (user, password, domain) cannot log in to the registry";
    }
    return null;
  },
  connect(opts) {
    const clients = new SwrClients(opts);
    return {
      submit: (task, t) => syncImages(clients, task, asSwr(t)),
      findExisting: (task, t, known) => findSyncJob(clients, task, asSwr(t), known),
      resolveDigest: (image) =>
        image.region && image.tag ? clients.region(image.region).tagDigest({ namespace: image.namespace, repository: image.repository, tag: image.tag }) : Promise.resolve(null),
      targetDigest: (t) => swrTargetDigest(clients, asSwr(t)),
      inventory: swrInventory(clients),
      observe: (tasks, ctx) => observeSwrRepository(clients, tasks, ctx),
      async reread(task) {
        throw new Error(`task ${task.id}: SWR sync jobs are re-read by listing, not one by one`);
      },
      async cancel(_task, t, _ctx, by) {
        if (by === 'operator') return cancelForOperator(clients, autoSyncRef(asSwr(t)));
        return { outcome: 'unsupported', error: { code: 'SWR.ManualSyncNotCancellable', message: MANUAL_JOB_NOTE, requestId: null, status: null } };
      },
      deleteTag: (t) => deleteSwrTag(clients, asSwr(t)),
      async cancelReference(ref) {
        const r = await deleteAutoSync(clients, ref as unknown as AutoSyncRef);
        if (r.outcome !== 'canceled') return r;
        return { ...r, note: `automatic sync task ${r.already ? 'was already deleted' : 'deleted'}; manual sync jobs already running are not stopped` };
      },
    };
  },
};
