/**
 * Hand-written readers for the clients' answers: the same checks as their zod schemas had, at a
 * fraction of the cost (zod took longer to check a ListRepoSyncTask page than JSON.parse took to
 * read it; `npm run bench -- clients`). A reader has zod's `safeParse` shape, so `checkOutput`
 * takes either. Only the fields a reader names are kept; a failure names the field and the rule.
 */

export interface ShapeIssue {
  path: PropertyKey[];
  message: string;
}

export type ShapeResult<T> = { success: true; data: T } | { success: false; error: { issues: ShapeIssue[] } };

/** Anything that checks a value the way zod's safeParse does: zod schemas and the readers below. */
export interface Parser<T> {
  safeParse(value: unknown): ShapeResult<T>;
}

/** Reads one field's value; throws FieldIssue when the value breaks the field's rule. */
export type Field<T> = (value: unknown) => T;

class FieldIssue extends Error {
  constructor(
    readonly path: PropertyKey[],
    readonly reason: string,
  ) {
    super(reason);
  }
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const refuse = (rule: string, v: unknown): never => {
  throw new FieldIssue([], `${rule}, got ${kind(v)}`);
};
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const DIGITS = /^-?\d+$/;

// ---------------------------------------------------------------- fields

/** A string, absent allowed; anything else is refused. */
export const optionalString: Field<string | undefined> = (v) => (v === undefined || typeof v === 'string' ? v : refuse('expected a string', v));
/** A non-empty string. */
export const requiredId: Field<string> = (v) => (typeof v === 'string' && v.length > 0 ? v : refuse('expected a non-empty string', v));
/** A boolean, absent allowed. */
export const optionalBoolean: Field<boolean | undefined> = (v) => (v === undefined || typeof v === 'boolean' ? v : refuse('expected a boolean', v));
/** A long sent as a number or as a numeric string (`"42"`), absent allowed. */
export const optionalLong: Field<number | undefined> = (v) =>
  v === undefined || (typeof v === 'number' && Number.isFinite(v)) ? v : typeof v === 'string' && DIGITS.test(v) ? Number(v) : refuse('expected a number', v);
/** A string matching `pattern`. */
export function matching(pattern: RegExp, rule: string): Field<string> {
  return (v) => (typeof v === 'string' && pattern.test(v) ? v : typeof v === 'string' ? refuse(rule, v) : refuse('expected a string', v));
}

/**
 * An optional field of a list item: a value of another type reads as absent. A listing also carries
 * items Ferry did not make, so one odd field must not cost the item, let alone the page.
 */
export function lenient<T>(field: Field<T>): Field<T | undefined> {
  return (v) => {
    if (v === undefined) return undefined;
    try {
      return field(v);
    } catch (e) {
      if (e instanceof FieldIssue) return undefined;
      throw e;
    }
  };
}

/** The lenient string, the most common field: written out, as it is read for every field of every item. */
export const text: Field<string | undefined> = (v) => (typeof v === 'string' ? v : undefined);
/** The lenient long. */
export const looseLong: Field<number | undefined> = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && DIGITS.test(v) ? Number(v) : undefined);
/** The lenient boolean. */
export const looseBoolean: Field<boolean | undefined> = (v) => (typeof v === 'boolean' ? v : undefined);

type Fields = Record<string, Field<unknown>>;
export type Read<F extends Fields> = { [K in keyof F]: ReturnType<F[K]> };

/** An object with `fields` (others are dropped); a field that breaks its rule is named in the issue. */
export function object<F extends Fields>(fields: F): Field<Read<F>> {
  const keys = Object.keys(fields);
  const readers = keys.map((k) => fields[k]!);
  return (v) => {
    if (!isRecord(v)) refuse('expected an object', v);
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      try {
        out[key] = readers[i]!(o[key]);
      } catch (e) {
        if (e instanceof FieldIssue) e.path.unshift(key);
        throw e;
      }
    }
    return out as Read<F>;
  };
}

/** A list read item by item: an item that does not read (no id) is left out and counted, never the whole answer. */
export function listOf<T>(item: Field<T>): Field<{ items: T[]; listed: number }> {
  return (v) => {
    if (v === undefined || v === null) return { items: [], listed: 0 };
    if (!Array.isArray(v)) refuse('expected an array', v);
    const raw = v as unknown[];
    const items: T[] = [];
    for (const entry of raw) {
      try {
        items.push(item(entry));
      } catch (e) {
        if (!(e instanceof FieldIssue)) throw e;
      }
    }
    return { items, listed: raw.length };
  };
}

/** A whole answer read by `field`, as a Parser. */
export function reader<T>(field: Field<T>): Parser<T> {
  return {
    safeParse(value) {
      try {
        return { success: true, data: field(value) };
      } catch (e) {
        if (e instanceof FieldIssue) return { success: false, error: { issues: [{ path: e.path, message: e.reason }] } };
        throw e;
      }
    },
  };
}

// ---------------------------------------------------------------- inputs
// A method's input is checked field by field too: unknown keys are refused, a failure names the rule.

/** Absent allowed, else `field`'s rule. */
export function optional<T>(field: Field<T>): Field<T | undefined> {
  return (v) => (v === undefined ? undefined : field(v));
}

/** A string that passes `check` (one of shared/rules/naming.ts' checks: null, or the rule it breaks). */
export function named(check: (value: string) => string | null): Field<string> {
  return (v) => {
    if (typeof v !== 'string') refuse('expected a string', v);
    const reason = check(v as string);
    if (reason) throw new FieldIssue([], reason);
    return v as string;
  };
}

/** A string matching `pattern`, else `rule`. */
export function pattern(re: RegExp, rule: string): Field<string> {
  return (v) => {
    if (typeof v !== 'string') refuse('expected a string', v);
    if (!re.test(v as string)) throw new FieldIssue([], rule);
    return v as string;
  };
}

/** A string of `min` to `max` characters. */
export function sized(min: number, max: number): Field<string> {
  return (v) => {
    if (typeof v !== 'string') refuse('expected a string', v);
    const n = (v as string).length;
    if (n < min || n > max) throw new FieldIssue([], min === 0 ? `must be at most ${max} characters` : `must be ${min} to ${max} characters`);
    return v as string;
  };
}

/** An integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Field<number> {
  return (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) refuse('expected an integer', v);
    if ((v as number) < min) throw new FieldIssue([], `must be at least ${min}`);
    if ((v as number) > max) throw new FieldIssue([], `must be at most ${max}`);
    return v as number;
  };
}

export const boolean: Field<boolean> = (v) => (typeof v === 'boolean' ? v : refuse('expected a boolean', v));

/** One of `values`. */
export function oneOf<const V extends string>(values: readonly V[]): Field<V> {
  const rule = `must be one of ${values.join(', ')}`;
  return (v) => {
    if (typeof v !== 'string') refuse('expected a string', v);
    if (!(values as readonly string[]).includes(v as string)) throw new FieldIssue([], rule);
    return v as V;
  };
}

/** An absolute http(s) URL. */
export const httpUrl: Field<string> = (v) => {
  if (typeof v !== 'string') refuse('expected a string', v);
  let url: URL | undefined;
  try {
    url = new URL(v as string);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new FieldIssue([], 'must be an http(s) URL');
  return v as string;
};

/** `object`, refusing keys it does not name (a misspelt option must not be ignored silently). */
export function strictObject<F extends Fields>(fields: F): Field<Read<F>> {
  const read = object(fields);
  return (v) => {
    const out = read(v);
    for (const key of Object.keys(v as object)) if (!(key in fields)) throw new FieldIssue([key], 'is not a known field');
    return out;
  };
}

/** A failure at `path` with `rule`, for checks across fields. */
export function issue(path: PropertyKey[], rule: string): never {
  throw new FieldIssue(path, rule);
}
