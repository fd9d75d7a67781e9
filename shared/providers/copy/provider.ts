/**
 * Ferry copies the image itself, registry to registry (shared/copy), wherever no cloud sync
 * applies: ACR to SWR, Harbor to ACR, Docker Hub to a private registry… A task's copy is a job in
 * the ledger (its cloud reference), advanced in slices by the sweep's reconciliation and resumed
 * from its checkpoint by whichever process comes next.
 */
import * as z from '../../zod.ts';
import { CopyError, copyImage, resolveDigest } from '../../copy/index.ts';
import * as naming from '../../rules/naming.ts';
import type { CloudProvider, ConnectOptions } from '../types.ts';
import { advanceCopies } from './advance.ts';
import { deleteCopy } from './delete.ts';
import { Endpoints } from './endpoints.ts';
import { asCloudError, copyTargetDigest, registryInventory } from './inventory.ts';
import { cancelJob, cancelJobByRef, carriedCheckpoint, jobObservation, running } from './jobs.ts';
import { type CopyTarget, type CopyTaskTarget, checkCopyTarget, copyTargetSchema, GENERIC_KINDS, parseCopyTarget, renderCopy } from './target.ts';

function jobsOf(opts: ConnectOptions) {
  if (!opts.copyJobs) throw new Error('the copy provider keeps its jobs in the ledger: ConnectOptions.copyJobs is not set');
  return opts.copyJobs;
}

export const copyProvider: CloudProvider<CopyTarget> = {
  name: 'copy',
  title: 'copy',
  doesWork: true,
  sourceKinds: ['acr', 'swr', ...GENERIC_KINDS],
  inventoryKinds: GENERIC_KINDS,
  targetSchema: copyTargetSchema,
  checkTarget: checkCopyTarget,
  render: renderCopy,
  parseTarget: parseCopyTarget,
  // One scope per destination registry: the sweep advances its copies together.
  scopeOf: (t) => t.to.registry,
  checkSourceImage: (image) => naming.checkImageNames(image, { namespace: naming.ociNamespace, repository: naming.ociRepository }),
  // A job's reference is its task's cloudRef: cancelling by it cancels that Ferry task (ledger and copy).
  reference: {
    schema: (kit) =>
      z.strictObject({
        ref: kit.checked(naming.copyJobRef, naming.COPY_JOB_REF).check(z.describe("Copy job: copy:<Ferry task id>:<attempt>, a copy task's cloudRef")),
      }),
    taskRef: (ref) => String(ref.ref),
    matchesTask: (ref, task) => task.cloudRef === ref.ref,
    describe: (ref) => `copy job ${String(ref.ref)}`,
  },
  connect(opts) {
    const endpoints = new Endpoints(opts);
    return {
      async submit(task) {
        const jobs = jobsOf(opts);
        const ref = `copy:${task.id}:${task.attempts}`;
        await jobs.create({ ref, taskId: task.id, attempt: task.attempts, checkpoint: carriedCheckpoint(await jobs.latestForTask(task.id)) });
        return { ref, action: 'CopyImage', requestId: null };
      },
      async findExisting(task, _t, known) {
        const job = await jobsOf(opts).latestForTask(task.id);
        return job && !known.has(job.ref) ? { ref: job.ref, createdAt: Date.parse(job.createdAt) } : null;
      },
      observe: (tasks, ctx) => advanceCopies({ jobs: jobsOf(opts), endpoints, copyImage }, tasks, ctx),
      async reread(task) {
        const job = task.cloudRef ? await jobsOf(opts).get(task.cloudRef) : null;
        if (!job) return { kind: 'gone', code: 'CopyJobNotFound', message: `no copy job ${task.cloudRef ?? '(none recorded)'}`, requestId: null };
        return jobObservation(job) ?? running();
      },
      targetDigest: (t) => copyTargetDigest(endpoints, t as CopyTaskTarget),
      inventory: registryInventory(endpoints),
      cancel: (task) => cancelJob(jobsOf(opts), task.cloudRef),
      deleteTag: (t) => deleteCopy(endpoints, t as CopyTaskTarget),
      cancelReference: (ref) => cancelJobByRef(jobsOf(opts), String(ref.ref)),
      async resolveDigest(image) {
        // A cloud's own source is looked up by its provider's API; Ferry asks registries only where nothing else can.
        if (!image.tag || !(GENERIC_KINDS as readonly string[]).includes(image.kind)) return null;
        try {
          return await resolveDigest({ registry: endpoints.of(image.source), repository: `${image.namespace}/${image.repository}`, tag: image.tag });
        } catch (err) {
          if (!(err instanceof CopyError)) throw err;
          // A registry Ferry cannot reach by config, or a tag it does not have, is no digest: not an outage.
          if (err.code === 'UNSUPPORTED' || err.code === 'MANIFEST_UNKNOWN' || err.code === 'NAME_UNKNOWN') return null;
          throw asCloudError(err);
        }
      },
    };
  },
};
