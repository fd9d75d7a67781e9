/**
 * ACR repository triggers that call this Ferry: one per repository (ACR has no instance-wide trigger),
 * listed with ListRepository + ListRepoTrigger and created with CreateRepoTrigger. The trigger URL is
 * `<publicUrl>/webhooks/acr?token=…&instance=<instanceId>`: ACR cannot set headers, and its payload
 * does not name the instance.
 */
import type { AcrClient, AcrTrigger } from '../../clients/acr.ts';
import { CloudError } from '../../clients/errors.ts';
import { hasMorePages } from '../../clients/validation.ts';
import type { CloudContext, SourceRepository, TriggerSpec, TriggerState } from '../types.ts';
import type { AcrClients } from './clients.ts';

export const TRIGGER_NAME = 'ferry';
const PAGE_SIZE = 100;
const MAX_PAGES = 1000;

export function acrTriggerUrl(publicUrl: string, token: string, instanceId: string): string {
  const u = new URL('webhooks/acr', publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
  u.searchParams.set('token', token);
  u.searchParams.set('instance', instanceId);
  return u.toString();
}

/** A URL as it may be shown: any `token` parameter elided. */
export function elideToken(url: string): string {
  if (!URL.canParse(url)) return url.replace(/token=[^&]*/g, 'token=…');
  const u = new URL(url);
  if (u.searchParams.has('token')) u.searchParams.set('token', '…');
  return u.toString().replace('token=%E2%80%A6', 'token=…');
}

/** How an existing trigger relates to the one wanted: the same, the same but for its token, or another. */
function compare(existing: string | undefined, wanted: URL): 'same' | 'token' | 'other' {
  if (!existing || !URL.canParse(existing)) return 'other';
  const u = new URL(existing);
  const sameEndpoint = u.origin === wanted.origin && u.pathname === wanted.pathname && u.searchParams.get('instance') === wanted.searchParams.get('instance');
  if (!sameEndpoint) return 'other';
  return u.searchParams.get('token') === wanted.searchParams.get('token') ? 'same' : 'token';
}

async function* repositories(client: AcrClient, instanceId: string, namespaces: readonly string[] | null): AsyncGenerator<SourceRepository & { repoId: string }> {
  for (const ns of namespaces ?? [undefined]) {
    for (let pageNo = 1; pageNo <= MAX_PAGES; pageNo++) {
      const page = await client.listRepository({ instanceId, repoStatus: 'NORMAL', pageNo, pageSize: PAGE_SIZE, ...(ns ? { repoNamespaceName: ns } : {}) });
      for (const r of page.items) {
        if (r.repoNamespaceName && r.repoName) yield { repoId: r.repoId, namespace: r.repoNamespaceName, repository: r.repoName };
      }
      if (!hasMorePages(page, pageNo, PAGE_SIZE)) break;
    }
  }
}

function stateOf(triggers: AcrTrigger[], wanted: URL): Omit<TriggerState, 'namespace' | 'repository'> {
  let tokenDiffers: AcrTrigger | undefined;
  for (const t of triggers) {
    const c = compare(t.triggerUrl, wanted);
    if (c === 'same') return { state: 'present', triggerId: t.triggerId, url: elideToken(t.triggerUrl!) };
    if (c === 'token') tokenDiffers ??= t;
  }
  if (tokenDiffers) return { state: 'token_differs', triggerId: tokenDiffers.triggerId, url: elideToken(tokenDiffers.triggerUrl!) };
  const named = triggers.find((t) => t.triggerName === TRIGGER_NAME);
  if (named) return { state: 'name_taken', triggerId: named.triggerId, url: named.triggerUrl ? elideToken(named.triggerUrl) : undefined };
  return { state: 'missing' };
}

export async function checkAcrTriggers(clients: AcrClients, source: Record<string, unknown>, spec: TriggerSpec, _ctx: CloudContext): Promise<TriggerState[]> {
  const instanceId = String(source.instanceId);
  const client = clients.region(String(source.region));
  const wanted = new URL(acrTriggerUrl(spec.publicUrl, spec.token, instanceId));
  const out: TriggerState[] = [];
  for await (const repo of repositories(client, instanceId, spec.namespaces)) {
    if (!spec.wanted(repo)) continue;
    const name = { namespace: repo.namespace, repository: repo.repository };
    try {
      const { triggers } = await client.listRepoTrigger({ instanceId, repoId: repo.repoId });
      const found = stateOf(triggers, wanted);
      if (found.state !== 'missing' || !spec.apply) {
        out.push({ ...name, ...found });
        continue;
      }
      const created = await client.createRepoTrigger({ instanceId, repoId: repo.repoId, triggerName: TRIGGER_NAME, triggerUrl: wanted.toString(), triggerType: 'ALL' });
      out.push({ ...name, state: 'created', triggerId: created.triggerId, url: elideToken(wanted.toString()) });
    } catch (err) {
      const e = err instanceof CloudError ? { code: err.code, message: err.message } : { code: 'InternalError', message: err instanceof Error ? err.message : String(err) };
      // A cloud's message may quote the URL it was given: the token never leaves.
      const error = { code: e.code, message: e.message.split(spec.token).join('…') };
      out.push({ ...name, state: 'failed', error });
    }
  }
  return out;
}
