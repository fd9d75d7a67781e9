/**
 * Checked inputs and checked answers, with errors naming the field and the rule. Takes zod schemas
 * and shape.ts readers alike, and loads no zod itself: the ACR client's bundle stays without it.
 */
import type * as z from '../zod.ts';
import { CloudInvalidRequestError, CloudMalformedResponseError, type CloudProvider } from './errors.ts';
import type { Parser } from './shape.ts';

/** Whether a listing may go on after `pageNo` pages of `pageSize` (`listed`: items of the last page, readable or not). */
export function hasMorePages(page: { listed: number; totalCount?: number | undefined }, pageNo: number, pageSize: number): boolean {
  return page.listed >= pageSize && (page.totalCount === undefined || pageNo * pageSize < page.totalCount);
}

export function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validates a method's input; a bad one throws CloudInvalidRequestError naming the field, before any request. */
export function checkInput<S extends z.ZodMiniType>(schema: S, input: unknown, provider: CloudProvider, action: string): z.output<S>;
export function checkInput<T>(schema: Parser<T>, input: unknown, provider: CloudProvider, action: string): T;
export function checkInput<T>(schema: Parser<T>, input: unknown, provider: CloudProvider, action: string): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new CloudInvalidRequestError({ provider, action, code: 'InvalidInput', message: `invalid input: ${describeIssues(r.error)}` });
  }
  return r.data;
}

type OutputContext = { provider: CloudProvider; action: string; requestId?: string | undefined; status?: number | undefined };

/** Validates a response; a surprise becomes CloudMalformedResponseError naming the field, never a crash. */
export function checkOutput<S extends z.ZodMiniType>(schema: S, data: unknown, ctx: OutputContext): z.output<S>;
export function checkOutput<T>(schema: Parser<T>, data: unknown, ctx: OutputContext): T;
export function checkOutput<T>(schema: Parser<T>, data: unknown, ctx: OutputContext): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    throw new CloudMalformedResponseError({
      ...ctx,
      code: 'MalformedResponse',
      message: `response does not match the documented shape: ${describeIssues(r.error)}`,
    });
  }
  return r.data;
}
