/**
 * SWR automatic sync tasks (sync_repo): the only SWR sync work that can be stopped, by deleting it.
 * A manual sync job (sync_images) has no cancel API.
 */
import { syncRepoGone } from '../../clients/swr.ts';
import { cancelFailure } from '../outcomes.ts';
import type { CancelOutcome } from '../types.ts';
import type { SwrClients } from './clients.ts';

export interface AutoSyncRef {
  region: string;
  namespace: string;
  repository: string;
  remoteRegionId: string;
  remoteNamespace: string;
}

export const MANUAL_JOB_NOTE = 'SWR cannot stop a manual sync job (sync_images); one already running may still complete';

/** Deletes the automatic sync task; SWR saying it is already gone (404, or 400 SVCSTG.SWR.4001158) is "already canceled". */
export async function deleteAutoSync(clients: SwrClients, ref: AutoSyncRef): Promise<CancelOutcome> {
  try {
    const { region, ...key } = ref;
    await clients.region(region).deleteSyncRepo(key);
    return { outcome: 'canceled', already: false };
  } catch (err) {
    if (syncRepoGone(err)) return { outcome: 'canceled', already: true };
    return cancelFailure(err);
  }
}

/**
 * An operator's cancel of an SWR task: the manual job cannot be stopped, so the automatic sync task
 * from the same repository to the same remote is deleted when SWR lists one; either way the answer
 * says what could not be stopped.
 */
export async function cancelForOperator(clients: SwrClients, ref: AutoSyncRef): Promise<CancelOutcome> {
  let exists: boolean;
  try {
    const { region, ...key } = ref;
    exists = (await clients.region(region).findSyncRepo(key)) !== undefined;
  } catch (err) {
    return cancelFailure(err);
  }
  if (!exists) return { outcome: 'canceled', already: false, note: `${MANUAL_JOB_NOTE}; no automatic sync task to delete` };
  const r = await deleteAutoSync(clients, ref);
  if (r.outcome === 'canceled' || r.outcome === 'not_found') {
    return { outcome: 'canceled', already: r.outcome === 'canceled' ? r.already : true, note: `${MANUAL_JOB_NOTE}; the automatic sync task was deleted` };
  }
  return r;
}
