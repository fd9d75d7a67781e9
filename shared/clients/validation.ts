/** zod helpers shared by the clients: checked inputs and checked responses, with errors naming the field. */
import * as z from '../zod.ts';
import type { NameCheck } from '../rules/naming.ts';
import type { CloudProvider } from './errors.ts';
import { checkOutput } from './checked.ts';

// Checked inputs and answers live in checked.ts (no zod at import: the ACR client's bundle loads without it).
export { checkInput, checkOutput, describeIssues, hasMorePages } from './checked.ts';

/** A string that must pass one of `shared/rules/naming.ts`' checks. */
export function named(check: NameCheck) {
  return z.string().check(
    z.superRefine((value, ctx) => {
      const reason = check(value);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    }),
  );
}

/** Alibaba/Huawei region id shape, e.g. `cn-hangzhou`, `eu-west-101`. */
export const regionId = z.string().check(z.regex(/^[a-z]{2,3}(?:-[a-z0-9]+)+$/, 'must be a region id like "cn-hangzhou"'));

/** A long that some APIs send as a number and others as a numeric string. */
export const longish = z.union([z.number(), z.pipe(z.string().check(z.regex(/^-?\d+$/, 'expected a number')), z.transform(Number))]);

/** A boolean that ECS sends as "true"/"false". */
export const boolish = z.union([
  z.boolean(),
  z.pipe(
    z.enum(['true', 'false']),
    z.transform((v) => v === 'true'),
  ),
]);

/**
 * An optional field of a list item: a value of another type reads as absent. A listing also carries
 * items Ferry did not make, so one odd field must not cost the item, let alone the page.
 */
export function lenient<S extends z.ZodMiniType>(schema: S) {
  return z.catch(z.optional(schema), undefined);
}

/** A list read item by item: an item that does not parse (no id) is left out and counted, never the whole answer. */
export function listOf<S extends z.ZodMiniType>(item: S) {
  return z.pipe(
    z.nullish(z.array(z.unknown())),
    z.transform((raw) => {
      const items: z.output<S>[] = [];
      for (const entry of raw ?? []) {
        const r = item.safeParse(entry);
        if (r.success) items.push(r.data);
      }
      return { items, listed: raw?.length ?? 0 };
    }),
  );
}

/**
 * A listing validated record by record: the listing must be an array, but a record the schema
 * refuses (a kind the caller does not handle, a field it reads missing) is left out and counted,
 * so one odd record never fails the page.
 */
export function checkRecords<S extends z.ZodMiniType>(
  schema: S,
  data: unknown,
  ctx: { provider: CloudProvider; action: string; requestId?: string | undefined; status?: number | undefined },
): { records: z.output<S>[]; skipped: number } {
  const records: z.output<S>[] = [];
  let skipped = 0;
  for (const item of checkOutput(z.array(z.unknown()), data, ctx)) {
    const r = schema.safeParse(item);
    if (r.success) records.push(r.data);
    else skipped++;
  }
  return { records, skipped };
}
