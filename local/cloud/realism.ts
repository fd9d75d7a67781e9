/**
 * Realism modes: the local cloud answering the way the real APIs also do, beyond what Ferry itself
 * asks for (other tasks in listings, statuses Ferry does not know, the other shapes of error bodies).
 * Off by default; switched on by `startLocalCloud({ realism })` or `POST /_local/realism`, and on in
 * the reliability suite. Each service asks `realism.on(mode)` where it answers.
 */
export const REALISM_MODES = {
  'acr.foreign-tasks': 'ListRepoSyncTask also lists sync tasks Ferry did not create: PASSIVE (sync rules), fields missing, statuses Ferry does not know (RETRYING)',
  'acr.error-bodies': 'Alibaba error bodies with lowercase keys (code, message, requestId) or in XML',
  'ecs.foreign-tasks': 'DescribeTasks also lists tasks with optional fields missing and statuses Ferry does not know',
  'swr.delete-missing-400': 'DELETE sync_repo of a missing automatic sync task answers 400 SVCSTG.SWR.4001158 (as Huawei does), not 404',
  'swr.foreign-jobs': 'sync_job lists jobs Ferry did not create (automatic sync), with statuses Ferry does not know and optional fields missing; sync_repo lists tasks others made, fields missing',
  'swr.error-bodies': 'SWR error bodies as [{errorCode,errorMessage}], {"errors":[…]} or {error_code,error_msg}',
} as const;

export type RealismMode = keyof typeof REALISM_MODES;

export class Realism {
  private readonly modes = new Set<RealismMode>();

  on(mode: RealismMode): boolean {
    return this.modes.has(mode);
  }

  /** `all`, or a list of modes; unknown names are an error naming them. */
  set(modes: 'all' | readonly string[]): RealismMode[] {
    const all = Object.keys(REALISM_MODES) as RealismMode[];
    const wanted = modes === 'all' ? all : modes;
    const unknown = wanted.filter((m) => !(m in REALISM_MODES));
    if (unknown.length) throw new Error(`unknown realism mode(s) ${unknown.join(', ')}; known: ${all.join(', ')}`);
    this.modes.clear();
    for (const m of wanted as RealismMode[]) this.modes.add(m);
    return this.list();
  }

  list(): RealismMode[] {
    return [...this.modes].sort();
  }
}
