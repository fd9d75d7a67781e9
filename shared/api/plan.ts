/**
 * `POST /plan`: what a push of this image would do — rules, rendered targets, naming errors, whether
 * each target already holds it — creating nothing. A read token suffices.
 */
import type { Hono } from 'hono';
import type { Deps } from '../replicate/deps.ts';
import { planPush } from '../replicate/plan.ts';
import { planInputOfReference } from '../replicate/plan-ref.ts';
import { ApiError } from './errors.ts';
import { type Env, parse, readJson } from './request.ts';
import { planBody } from './schemas-rerun.ts';

export function planRoute(app: Hono<Env>, deps: Deps): void {
  app.post('/plan', async (c) => {
    const body = parse(planBody, await readJson(c), 'body');
    let input = { source: body.source!, namespace: body.namespace!, repository: body.repository!, tag: body.tag, digest: body.digest };
    if (body.image !== undefined) {
      const ref = planInputOfReference(body.image, deps.clouds.options);
      if (!ref.ok) throw new ApiError(400, 'InvalidRequest', `body.image: ${ref.message}`, { field: 'body.image' });
      input = { ...ref.input, tag: ref.input.tag, digest: ref.input.digest };
    }
    const r = await planPush(input, deps);
    if (!r.ok) {
      const field = body.image !== undefined ? 'body.image' : `body.${r.field}`;
      throw new ApiError(400, 'InvalidRequest', `${field}: ${r.message}`, { field });
    }
    return c.json(r.plan);
  });
}
