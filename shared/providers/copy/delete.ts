/** Deletion replication for copies: the tag Ferry wrote to a registry, through the OCI API. */
import { CopyError } from '../../copy/index.ts';
import { deleteCopiedTag } from '../../copy/delete-tag.ts';
import type { DeleteOutcome } from '../types.ts';
import type { Endpoints } from './endpoints.ts';
import { asCloudError } from './inventory.ts';
import type { CopyTaskTarget } from './target.ts';

export async function deleteCopy(endpoints: Endpoints, t: CopyTaskTarget): Promise<DeleteOutcome> {
  const { to } = t;
  // A platform-filtered copy wrote an index of its own: only the digest the copy reported proves it.
  const written = t.written?.digest ?? (to.platforms ? undefined : t.from.digest);
  if (!written) return { outcome: 'refused', reason: `the digest Ferry wrote to ${to.registry}/${to.namespace}/${to.repository}:${to.tag} is not recorded` };
  try {
    const r = await deleteCopiedTag({ registry: endpoints.of(to.registry), repository: `${to.namespace}/${to.repository}`, tag: to.tag, written });
    return r.outcome === 'deleted' ? { outcome: 'deleted', action: 'DeleteManifest', requestId: null } : r;
  } catch (err) {
    throw err instanceof CopyError ? asCloudError(err) : err;
  }
}
