import type * as z from '../zod.ts';

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

/**
 * A YAML syntax error in our words, by the parser's error code. The parser's own messages may quote
 * the text at fault (`Unexpected scalar token in YAML stream: "<the value>"`, an alias name), and a
 * config's text may hold an inline secret: say where, never what.
 */
const YAML_PROBLEMS: Record<string, string> = {
  ALIAS_PROPS: 'an alias (*name) cannot have a tag or an anchor',
  BAD_ALIAS: 'an alias (*name) that is not valid here',
  BAD_DIRECTIVE: 'an invalid % directive',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation, or a [ or { that is not closed',
  BAD_PROP_ORDER: 'an anchor (&) or tag (!) in the wrong place',
  BAD_SCALAR_START: 'a plain value starts with a reserved character (quote the value)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested mapping or list where a plain value was expected (a ": " inside an unquoted value? quote it)',
  BLOCK_IN_FLOW: 'an indented block inside [ ] or { }',
  DUPLICATE_KEY: 'a key that appears twice in the same mapping',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a missing character: an unclosed quote, ] or }, a missing comma, or a key without ":"',
  MULTILINE_IMPLICIT_KEY: 'a key that runs over several lines (a missing ":" or bad indentation)',
  MULTIPLE_ANCHORS: 'a value with more than one anchor (&)',
  MULTIPLE_DOCS: 'more than one YAML document (---): the config is one document',
  MULTIPLE_TAGS: 'a value with more than one tag (!)',
  NON_STRING_KEY: 'a key that is not a string',
  RESOURCE_EXHAUSTION: 'too many aliases',
  TAB_AS_INDENT: 'a tab used for indentation (indent with spaces)',
  TAG_RESOLVE_FAILED: 'a value that does not match its tag',
  UNEXPECTED_TOKEN: 'unexpected text here (bad indentation? a value starting with | > * & ! % @ that needs quotes?)',
  BAD_COLLECTION_TYPE: 'a collection of the wrong type for its tag',
};

/**
 * The parser's messages that never carry text of the document (fixed wording, or a token TYPE such as
 * `map-value-ind`): passed on as they are, being more precise than the code's description.
 */
const SAFE_YAML_MESSAGES: readonly RegExp[] = [
  /^Sequence item without - indicator$/,
  /^Map keys must be unique$/,
  /^All (sequence|mapping) items must start at the same column$/,
  /^Flow (sequence|map|mapping) in block collection must be sufficiently indented and end with a [\]}]$/,
  /^Flow (sequence|map|mapping) must end with a [\]}]$/,
  /^Nested mappings are not allowed in compact mappings$/,
  /^A block sequence may not be used as an implicit map key$/,
  /^Implicit keys (of flow sequence pairs )?need to be on a single line$/,
  /^Implicit map keys need to be followed by map values$/,
  /^Missing closing ["']quote$/,
  /^Tabs are not allowed as indentation$/,
  /^Missing , (or : )?between flow (sequence|map|mapping) items$/,
  /^Missing space after : in flow (sequence|map|mapping)$/,
  /^Comments must be separated from other tokens by white space characters$/,
  /^Tags and anchors must be separated from the next token by white space$/,
  /^Unexpected (,|empty item) in flow (sequence|map|mapping)$/,
  /^Unexpected [a-z-]{1,32} (token|at node end)$/,
  /^A node can have at most one (anchor|tag)$/,
  /^An alias node must not specify any properties$/,
];

/**
 * The one issue a YAML document with syntax errors gets: the first error, located by line and column.
 * The parser's later errors mostly follow from the first (one missing `]` can make hundreds), and a
 * document that does not parse is not validated further.
 */
export function yamlSyntaxIssue(error: { code: string; message: string }, line: number, col: number): ConfigIssue {
  const text = error.message.split('\n')[0] ?? '';
  const what = SAFE_YAML_MESSAGES.some((re) => re.test(text)) ? text : (YAML_PROBLEMS[error.code] ?? 'the YAML cannot be parsed here');
  return { path: `line ${line}, column ${col}`, message: `YAML syntax error: ${what}; nothing else is checked until it is fixed` };
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
