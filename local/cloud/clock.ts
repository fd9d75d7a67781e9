import type { VirtualClock } from './types.ts';

/**
 * Virtual time = start + (real elapsed × speed) + advanced offset. Changing the speed
 * re-bases the origin so time never jumps; `sleep` wakes early when `advance` passes it.
 */
export interface LocalVirtualClock extends VirtualClock {
  readonly speed: number;
}

interface Sleeper {
  target: number;
  resolve: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export function createVirtualClock(options: { start?: number; speed?: number; realNow?: () => number } = {}): LocalVirtualClock {
  const realNow = options.realNow ?? Date.now;
  let speed = checkSpeed(options.speed ?? 1);
  let baseVirtual = options.start ?? realNow();
  let baseReal = realNow();
  const sleepers = new Set<Sleeper>();

  const now = () => baseVirtual + (realNow() - baseReal) * speed;

  function schedule(s: Sleeper): void {
    if (s.timer) clearTimeout(s.timer);
    const remaining = s.target - now();
    if (remaining <= 0) {
      sleepers.delete(s);
      s.timer = undefined;
      s.resolve();
      return;
    }
    // Cap the real wait so a sleeper never overshoots by a large amount after setSpeed.
    s.timer = setTimeout(() => schedule(s), Math.min(Math.ceil(remaining / speed), 2 ** 31 - 1));
  }

  const rescheduleAll = () => {
    for (const s of [...sleepers]) schedule(s);
  };

  return {
    now,
    get speed() {
      return speed;
    },
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`advance: ms must be a non-negative number, got ${ms}`);
      baseVirtual += ms;
      rescheduleAll();
    },
    setSpeed(next: number) {
      const current = now();
      speed = checkSpeed(next);
      baseVirtual = current;
      baseReal = realNow();
      rescheduleAll();
    },
    sleep(ms: number) {
      return new Promise<void>((resolve) => {
        const s: Sleeper = { target: now() + Math.max(0, ms), resolve, timer: undefined };
        sleepers.add(s);
        schedule(s);
      });
    },
  };
}

function checkSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0) throw new Error(`speed must be a positive number, got ${speed}`);
  return speed;
}
