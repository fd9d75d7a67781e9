import type { z } from 'zod';

/** One problem in the config: where (`rules[0].targets[1].region`) and what is wrong. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * A config that cannot be used. The message lists every problem, one per line, as
 * `path: what is wrong`; it never holds a secret value nor a stack trace.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], file?: string) {
    const head = `invalid Ferry config${file ? ` ${file}` : ''} (${issues.length} problem${issues.length === 1 ? '' : 's'}):`;
    super([head, ...formatIssues(issues).split('\n')].join('\n'));
    this.issues = issues;
    this.file = file;
    // Printed as is when uncaught: the operator needs the list, not our call stack.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** `path: message` lines. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['rules', 0, 'targets', 1, 'region']` → `rules[0].targets[1].region`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      out += IDENT.test(key) ? (out ? '.' : '') + key : `[${JSON.stringify(key)}]`;
    }
  }
  return out || '(config)';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

const EXPECTED: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false', int: 'an integer' };

function list(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/**
 * Our wording for zod's issues. Parsing runs with `reportInput` so types can be described;
 * input values are never copied into a message (they may be secrets).
 */
export function fromZodIssue(issue: z.core.$ZodIssue): ConfigIssue[] {
  return zodIssueToRaw(issue).map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** An issue whose path is still a list of segments (for ordering). */
export interface RawIssue {
  path: (string | number)[];
  message: string;
}

export function zodIssueToRaw(issue: z.core.$ZodIssue): RawIssue[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  const at = (message: string): RawIssue[] => [{ path, message }];
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return at('is required');
      return at(`must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${describe(issue.input)}`);
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return at(min <= 1 ? 'must not be empty' : `must have at least ${min} items`);
      if (issue.origin === 'string') return at(min <= 1 ? 'must not be empty' : `must be at least ${min} characters`);
      return at(`must be ${issue.inclusive ? 'at least' : 'greater than'} ${min}`);
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return at(`must have at most ${max} items`);
      if (issue.origin === 'string') return at(`must be at most ${max} characters`);
      return at(`must be ${issue.inclusive ? 'at most' : 'less than'} ${max}`);
    }
    case 'invalid_value':
      return at(issue.values.length === 1 ? `must be ${list(issue.values)}` : `must be one of ${list(issue.values)}`);
    case 'invalid_union': {
      const { options, note, discriminator } = issue as { options?: unknown[]; note?: string; discriminator?: string };
      if (options && note === 'No matching discriminator') {
        const input = issue.input as Record<string, unknown> | undefined;
        const absent = discriminator !== undefined && (input === undefined || (typeof input === 'object' && input !== null && input[discriminator] === undefined));
        return at(absent ? `is required (one of ${list(options)})` : `must be one of ${list(options)}`);
      }
      // Report the branch that got furthest rather than "invalid input".
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      if (best?.length) return best.flatMap((sub) => zodIssueToRaw({ ...sub, path: [...issue.path, ...sub.path] }));
      return at(issue.message);
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field' }));
    case 'not_multiple_of':
      return at(`must be a multiple of ${String(issue.divisor)}`);
    default:
      return at(issue.message);
  }
}
