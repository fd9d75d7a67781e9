/**
 * FC timer trigger event (2.0 and 3.0): {"triggerTime":"2023-12-26T07:49:00Z","triggerName":"…","payload":"…"}.
 */
import { BadEventError, isRecord, parseEventJson } from './http.ts';

export interface TimerEvent {
  triggerTime: Date;
  triggerName: string;
  payload: string;
}

export class BadTimerEventError extends BadEventError {
  override name = 'BadTimerEventError';
}

/** Buffer / string / object → TimerEvent; throws BadTimerEventError naming the field. */
export function parseTimerEvent(event: unknown): TimerEvent {
  let e: Record<string, unknown>;
  try {
    e = isRecord(event) ? event : parseEventJson(event, 'timer');
  } catch (err) {
    throw new BadTimerEventError((err as Error).message);
  }
  const { triggerTime, triggerName, payload } = e;
  if (typeof triggerTime !== 'string' || triggerTime === '') throw new BadTimerEventError('timer event: triggerTime must be an ISO-8601 string');
  const when = new Date(triggerTime);
  if (Number.isNaN(when.getTime())) throw new BadTimerEventError(`timer event: triggerTime ${JSON.stringify(triggerTime)} is not a valid date`);
  if (typeof triggerName !== 'string' || triggerName === '') throw new BadTimerEventError('timer event: triggerName must be a non-empty string');
  if (payload != null && typeof payload !== 'string') throw new BadTimerEventError('timer event: payload must be a string when present');
  return { triggerTime: when, triggerName, payload: payload ?? '' };
}
