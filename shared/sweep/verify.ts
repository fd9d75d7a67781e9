/**
 * A success is the cloud's word; verification checks it at the target: the tag is there with the
 * digest the task copied (the source's; a copy's own target digest, which differs from the source's
 * when `platforms` rewrote an index). A task whose digest is unknown is checked for presence only.
 */
import { CloudError } from '../clients/errors.ts';
import type { TaskRow } from '../ledger/index.ts';
import { targetOf } from '../providers/registry.ts';
import type { Connected, Observation } from '../providers/types.ts';
import type { SweepContext } from './context.ts';

export type Verification =
  /** Confirmed (or not checkable by this provider); `details` go into the task's history. */
  | { kind: 'verified'; details: Record<string, unknown> }
  /** The target does not hold what the task copied. */
  | { kind: 'mismatch'; message: string; details: Record<string, unknown> }
  /** The cloud could not answer now (throttled, 5xx): the task is looked at again next sweep. */
  | { kind: 'deferred'; reason: string };

/** The digest the target should hold, or null when only presence can be checked. */
function expectedDigest(task: TaskRow, obs: Extract<Observation, { kind: 'succeeded' }>): string | null {
  const copied = obs.details?.targetDigest;
  if (typeof copied === 'string' && copied) return copied;
  return targetOf(task).from.digest ?? null;
}

export async function verifySuccess(ctx: SweepContext, task: TaskRow, obs: Extract<Observation, { kind: 'succeeded' }>, cloud: Connected): Promise<Verification> {
  if (!cloud.targetDigest) return { kind: 'verified', details: {} };
  const target = targetOf(task);
  const expected = expectedDigest(task, obs);
  let actual: string | null;
  try {
    actual = await cloud.targetDigest(target, ctx);
  } catch (err) {
    if (!(err instanceof CloudError)) throw err;
    if (err.retryable) {
      ctx.stats.event('verify.deferred');
      return { kind: 'deferred', reason: err.message };
    }
    // Ferry may not read the target (another account's instance, a permission it lacks): the cloud's word stands.
    ctx.stats.event('verify.unverifiable');
    return { kind: 'verified', details: { verify: 'unverifiable', verifyError: { code: err.code, message: err.message } } };
  }
  if (actual !== null && (expected === null || actual === expected)) {
    ctx.stats.event(expected === null ? 'verify.present' : 'verify.ok');
    return { kind: 'verified', details: { verify: expected === null ? 'present' : 'ok', verifiedDigest: actual } };
  }
  if (actual !== null && (await supersededAtSource(ctx, task, cloud, actual))) {
    ctx.stats.event('verify.superseded');
    return { kind: 'verified', details: { verify: 'superseded', verifiedDigest: actual, expectedDigest: expected } };
  }
  ctx.stats.event(actual === null ? 'verify.missing' : 'verify.mismatch');
  const where = `the target ${task.targetKey}`;
  const message = actual === null ? `${where} does not exist after the cloud reported success (expected ${expected ?? 'the tag'})` : `${where} holds ${actual}, not the expected ${expected}`;
  return { kind: 'mismatch', message, details: { expectedDigest: expected, targetDigest: actual } };
}

/**
 * The source tag was pushed again since this task was made and the target holds that newer image: the
 * target is in step with the source (the newer push has its own task), so this is no mismatch.
 */
async function supersededAtSource(ctx: SweepContext, task: TaskRow, cloud: Connected, actual: string): Promise<boolean> {
  const { from } = targetOf(task);
  if (!cloud.resolveDigest || !from.tag || !from.digest) return false;
  try {
    const now = await cloud.resolveDigest(from, ctx);
    return now !== null && now !== from.digest && now === actual;
  } catch {
    // The source cannot say: the mismatch stands, and the retry will tell.
    return false;
  }
}
