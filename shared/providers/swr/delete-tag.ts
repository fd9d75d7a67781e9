/** Deletion replication at SWR: the tag a sync wrote to the remote region and organization. */
import { CloudNotFoundError } from '../../clients/errors.ts';
import type { DeleteOutcome } from '../types.ts';
import type { SwrClients } from './clients.ts';
import type { SwrTaskTarget } from './target.ts';

export async function deleteSwrTag(clients: SwrClients, t: SwrTaskTarget): Promise<DeleteOutcome> {
  const client = clients.region(t.to.remoteRegion);
  const ref = { namespace: t.to.remoteNamespace, repository: t.to.repo, tag: t.to.tag };
  try {
    const held = await client.tagDigest(ref);
    if (held === null) return { outcome: 'absent' };
    // Someone pushed over Ferry's copy: that image is theirs, not Ferry's to delete.
    if (t.from.digest && held !== t.from.digest) {
      return { outcome: 'refused', reason: `${ref.namespace}/${ref.repository}:${ref.tag} in ${t.to.remoteRegion} now holds ${held}, not ${t.from.digest} that Ferry copied` };
    }
    const r = await client.deleteRepoTag(ref);
    return { outcome: 'deleted', action: 'DELETE tag', requestId: r.requestId ?? null };
  } catch (err) {
    if (err instanceof CloudNotFoundError) return { outcome: 'absent' };
    throw err;
  }
}
