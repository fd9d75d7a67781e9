/**
 * A push, as every webhook format is reduced to before rules see it. `source` is the
 * name of a configured source (the webhook resolves which one sent the event).
 */
export type PushSourceKind = 'acr' | 'harbor' | 'distribution' | 'dockerhub' | 'swr' | 'cloudevents';

export interface PushEvent {
  sourceKind: PushSourceKind;
  /** Name of the configured source the push came from. */
  source: string;
  namespace: string;
  /** Repository below the namespace; may contain `/`. */
  repository: string;
  /** Absent for a push by digest. */
  tag?: string | undefined;
  digest?: string | undefined;
  pushedAt: Date;
}
