import { adminError, adminJson, guarded, num, readJsonObject } from './admin-util.ts';
import type { LocalVirtualClock } from './clock.ts';
import type { FaultRegistry, FaultRuleInput } from './faults.ts';
import type { LocalService } from './local-service.ts';
import { REALISM_MODES, type Realism } from './realism.ts';
import type { CloudRequest, CloudResponse } from './types.ts';

/**
 * `/_local/*`: the local cloud's unsigned admin API (loopback callers only).
 * Core routes:
 * - `GET    /_local/state`   → {now, speed, faults, services: {<name>: snapshot}}
 * - `POST   /_local/reset`   → every service back to its seed, faults cleared (clock kept)
 * - `GET    /_local/faults`  → rules; `POST /_local/faults` <rule> → {id};
 *   `DELETE /_local/faults` → clear all; `DELETE /_local/faults/<id>` → remove one
 * - `GET    /_local/clock`   → {now, speed}; `POST /_local/clock` {advanceMs?, speed?} → {now, speed}
 * - `GET    /_local/realism` → {modes, known}; `POST /_local/realism` {modes: "all" | [mode…]} → {modes}
 * - `/_local/registries/*`: the registry endpoints and their logins (registry/admin.ts)
 * Anything else is offered to each service's `admin(req)` (e.g. `/_local/acr/*`,
 * `/_local/ecs/*`, `/_local/swr/*`, `/_local/fc/*`); 404 when none answers.
 */
export interface AdminContext {
  clock: LocalVirtualClock;
  faults: FaultRegistry;
  services: LocalService[];
  reset(): void;
  realism: Realism;
  /** `/_local/registries/*` (registry/admin.ts). */
  registries?: (req: CloudRequest) => CloudResponse | null | Promise<CloudResponse | null>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (LOOPBACK.has(address) || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

export async function handleAdmin(req: CloudRequest, remoteAddress: string | undefined, ctx: AdminContext): Promise<CloudResponse> {
  if (!isLoopback(remoteAddress)) return adminError(403, 'the admin API answers loopback callers only');
  const path = req.path.replace(/\/+$/, '');
  const route = `${req.method} ${path}`;
  const clockView = () => ({ now: ctx.clock.now(), iso: new Date(ctx.clock.now()).toISOString(), speed: ctx.clock.speed });
  switch (route) {
    case 'GET /_local/state':
      return adminJson(200, {
        ...clockView(),
        faults: ctx.faults.list(),
        services: Object.fromEntries(ctx.services.map((s) => [s.name, s.snapshot()])),
      });
    case 'POST /_local/reset':
      ctx.reset();
      return adminJson(200, { ok: true });
    case 'GET /_local/faults':
      return adminJson(200, { faults: ctx.faults.list() });
    case 'POST /_local/faults':
      return guarded(() => adminJson(200, { id: ctx.faults.add(readJsonObject(req) as FaultRuleInput) }));
    case 'DELETE /_local/faults':
      ctx.faults.clear();
      return adminJson(200, { ok: true });
    case 'GET /_local/realism':
      return adminJson(200, { modes: ctx.realism.list(), known: REALISM_MODES });
    case 'POST /_local/realism':
      return guarded(() => {
        const modes = readJsonObject(req).modes;
        if (modes !== 'all' && !(Array.isArray(modes) && modes.every((m) => typeof m === 'string'))) throw new Error('modes: must be "all" or a list of mode names');
        return adminJson(200, { modes: ctx.realism.set(modes as 'all' | string[]) });
      });
    case 'GET /_local/clock':
      return adminJson(200, clockView());
    case 'POST /_local/clock':
      return guarded(() => {
        const b = readJsonObject(req);
        const advanceMs = num(b, 'advanceMs');
        const speed = num(b, 'speed');
        if (advanceMs !== undefined) ctx.clock.advance(advanceMs);
        if (speed !== undefined) ctx.clock.setSpeed(speed);
        return adminJson(200, clockView());
      });
  }
  const fault = /^DELETE \/_local\/faults\/([^/]+)$/.exec(route);
  if (fault) return ctx.faults.remove(decodeURIComponent(fault[1]!)) ? adminJson(200, { ok: true }) : adminError(404, `no fault rule ${fault[1]}`);
  const registries = await ctx.registries?.(req);
  if (registries) return registries;
  for (const service of ctx.services) {
    const answer = await service.admin?.(req);
    if (answer) return answer;
  }
  return adminError(404, `no admin route ${req.method} ${req.path}`);
}
