import type { AcrState, OutcomeRuleInput, TaskIssue } from './acr.ts';
import { adminJson, bool, guarded, num, readJsonObject, str } from './admin-util.ts';
import type { EcsState } from './ecs.ts';
import type { CloudRequest, CloudResponse } from './types.ts';

/**
 * Admin routes of the Alibaba half (unsigned, loopback only; the server checks that):
 * - `POST /_local/acr/push` {instanceId, namespace, repo, tag, digest?} → push result with trigger deliveries
 * - `GET  /_local/acr/tasks` → every sync task with its current status
 * - `POST /_local/acr/outcomes` {targetInstanceId?, repo?, tag?, count?, outcome: 'error'|'stuck'|'retrying', taskIssue?} → {id}
 * - `GET  /_local/acr/outcomes`
 * - `POST /_local/acr/triggers` {instanceId, namespace, repo, url, type?: 'ALL'|'TAG_LIST'|'TAG_REG_EXP', tag?, name?} → {triggerId}
 * - `POST /_local/ecs/tasks` {regionId, action?, stuck?, fails?, durationMs?, cancellable?} → task view
 * - `GET  /_local/ecs/tasks`
 */
export async function handleAlibabaAdmin(req: CloudRequest, state: { acr: AcrState; ecs: EcsState }): Promise<CloudResponse | null> {
  const { acr, ecs } = state;
  const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
  switch (route) {
    case 'POST /_local/acr/push':
      return guarded(async () => {
        const b = readJsonObject(req);
        const result = await acr.push({
          instanceId: str(b, 'instanceId', true),
          namespace: str(b, 'namespace', true),
          repo: str(b, 'repo', true),
          tag: str(b, 'tag', true),
          digest: str(b, 'digest'),
          size: num(b, 'size'),
        });
        return adminJson(200, result);
      });
    case 'GET /_local/acr/tasks':
      acr.settle(req.now);
      return adminJson(200, { tasks: acr.tasks.map((t) => acr.view(t, req.now)) });
    case 'POST /_local/acr/outcomes':
      return guarded(() => {
        const b = readJsonObject(req);
        const rule: OutcomeRuleInput = {
          targetInstanceId: str(b, 'targetInstanceId'),
          repo: str(b, 'repo'),
          tag: str(b, 'tag'),
          count: num(b, 'count'),
          outcome: str(b, 'outcome', true) as OutcomeRuleInput['outcome'],
          taskIssue: str(b, 'taskIssue') as TaskIssue | undefined,
        };
        return adminJson(200, { id: acr.addOutcome(rule) });
      });
    case 'GET /_local/acr/outcomes':
      return adminJson(200, { outcomes: acr.listOutcomes() });
    case 'POST /_local/acr/triggers':
      return guarded(() => {
        const b = readJsonObject(req);
        const trigger = addTrigger(acr, {
          instanceId: str(b, 'instanceId', true),
          namespace: str(b, 'namespace', true),
          repo: str(b, 'repo', true),
          url: str(b, 'url', true),
          type: (str(b, 'type') ?? 'ALL') as 'ALL' | 'TAG_LIST' | 'TAG_REG_EXP',
          tag: str(b, 'tag'),
          name: str(b, 'name'),
          now: req.now,
        });
        return adminJson(200, trigger);
      });
    case 'POST /_local/ecs/tasks':
      return guarded(() => {
        const b = readJsonObject(req);
        return adminJson(
          200,
          ecs.createTask({
            regionId: str(b, 'regionId', true),
            action: str(b, 'action'),
            stuck: bool(b, 'stuck'),
            fails: bool(b, 'fails'),
            durationMs: num(b, 'durationMs'),
            cancellable: bool(b, 'cancellable'),
          }),
        );
      });
    case 'GET /_local/ecs/tasks':
      return adminJson(200, { tasks: ecs.tasks.map((t) => ecs.view(t, req.now)) });
    default:
      return null;
  }
}

export function addTrigger(
  acr: AcrState,
  input: { instanceId: string; namespace: string; repo: string; url: string; type?: 'ALL' | 'TAG_LIST' | 'TAG_REG_EXP'; tag?: string | undefined; name?: string | undefined; now: number },
): { triggerId: string; repoId: string } {
  const instance = acr.instances.get(input.instanceId);
  if (!instance) throw new Error(`unknown instanceId "${input.instanceId}"`);
  const type = input.type ?? 'ALL';
  if (!['ALL', 'TAG_LIST', 'TAG_REG_EXP'].includes(type)) throw new Error('type must be ALL, TAG_LIST or TAG_REG_EXP');
  if (type !== 'ALL' && !input.tag) throw new Error(`tag is required when type is ${type}`);
  const repo = acr.ensureRepo(instance, input.namespace, input.repo, input.now);
  const triggerId = `crw-${repo.repoId.slice(4, 12)}${String(repo.triggers.length + 1).padStart(4, '0')}`;
  repo.triggers.push({ triggerId, triggerName: input.name ?? `trigger-${repo.triggers.length + 1}`, triggerType: type, triggerUrl: input.url, triggerTag: input.tag ?? '' });
  return { triggerId, repoId: repo.repoId };
}
