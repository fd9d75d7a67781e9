import type * as z from '../zod.ts';

/**
 * A provider's parser of the `target` JSON its ledger tasks hold. Rows are read once and their
 * target parsed once: the result is kept per JSON object.
 */
export function storedTargetParser<T>(schema: z.ZodMiniType): (json: unknown) => T {
  const parsed = new WeakMap<object, T>();
  return (json) => {
    const key = json !== null && typeof json === 'object' ? json : undefined;
    const cached = key && parsed.get(key);
    if (cached) return cached;
    const t = schema.parse(json) as T;
    if (key) parsed.set(key, t);
    return t;
  };
}
