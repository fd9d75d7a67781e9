/** Reading an operator API request: the JSON body (bounded) and zod validation that names the field at fault. */
import type { Context } from 'hono';
import type * as z from '../zod.ts';
import { readBodyLimited } from '../runtime/body.ts';
import type { InvocationContext } from '../runtime/context.ts';
import type { Caller } from './auth.ts';
import { ApiError, invalidField } from './errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

export type Env = { Variables: { caller: Caller }; Bindings: { ctx: InvocationContext } };

export function parse<S extends z.ZodMiniType>(schema: S, value: unknown, where: 'body' | 'query' | 'path', field?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  if (field) {
    const issue = r.error.issues[0]!;
    throw new ApiError(400, 'InvalidRequest', `${where}.${field}: ${issue.message}`, { field: `${where}.${field}` });
  }
  throw invalidField(r.error, where, value);
}

/** The JSON body, at most MAX_BODY_BYTES; an empty body is `{}`. */
export async function readJson(c: Context<Env>): Promise<unknown> {
  const body = await readBodyLimited(c.req.raw, MAX_BODY_BYTES);
  if (!body.ok) throw body.status === 413 ? tooLarge() : new ApiError(body.status, body.code, `body: ${body.message}`, { field: 'body' });
  const text = body.text.trim();
  if (!text) return {};
  const type = (c.req.header('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new ApiError(415, 'UnsupportedMediaType', `content-type ${type} is not accepted; send application/json`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'InvalidJson', `body: not valid JSON (${(err as Error).message.split('\n')[0]})`, { field: 'body' });
  }
}

function tooLarge(): ApiError {
  return new ApiError(413, 'PayloadTooLarge', `body: larger than ${MAX_BODY_BYTES} bytes`, { field: 'body' });
}
