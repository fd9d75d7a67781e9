/**
 * The emulator's task lists stay bounded: of the finished tasks (ACR sync tasks, ECS import/export
 * tasks, SWR sync jobs) it keeps the newest `keep` per scope (ACR: source instance; ECS and SWR:
 * region) and forgets older ones, as the real services expire their task history. Open tasks are
 * never dropped. A forgotten task answers "not found", as an expired one does in the cloud.
 */

/** Finished tasks kept per scope when the seed does not say (`keepFinishedTasks`). */
export const DEFAULT_KEEP_FINISHED = 1000;

export interface TaskCap<T> {
  /** How many finished tasks to keep per scope. */
  keep: number;
  scopeOf(task: T): string;
  /** When the task finished; undefined while it is open. */
  finishedAt(task: T): number | undefined;
}

/** `tasks` without the finished ones beyond the cap (the same array when nothing goes). Order is kept. */
export function pruneFinished<T>(tasks: T[], cap: TaskCap<T>): T[] {
  const finished = new Map<string, { task: T; at: number }[]>();
  for (const task of tasks) {
    const at = cap.finishedAt(task);
    if (at === undefined) continue;
    const scope = cap.scopeOf(task);
    const list = finished.get(scope);
    if (list) list.push({ task, at });
    else finished.set(scope, [{ task, at }]);
  }
  const drop = new Set<T>();
  for (const list of finished.values()) {
    if (list.length <= cap.keep) continue;
    list.sort((a, b) => b.at - a.at);
    for (const { task } of list.slice(cap.keep)) drop.add(task);
  }
  return drop.size ? tasks.filter((t) => !drop.has(t)) : tasks;
}

/**
 * Prunes now and then, not on every change: once the list has grown by `keep` (at least 64) since
 * the last prune. The list then never holds more than the open tasks, `keep` finished per scope and
 * that much slack.
 */
export class Pruner<T> {
  private nextAt: number;

  constructor(private readonly cap: TaskCap<T>) {
    this.nextAt = this.slack();
  }

  private slack(): number {
    return Math.max(64, this.cap.keep);
  }

  maybePrune(tasks: T[]): T[] {
    if (tasks.length < this.nextAt) return tasks;
    const kept = pruneFinished(tasks, this.cap);
    this.nextAt = kept.length + this.slack();
    return kept;
  }

  reset(): void {
    this.nextAt = this.slack();
  }
}
