import { readFileSync, existsSync } from 'node:fs';
import { resolve, extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { registerSecret } from '../log.ts';
import { crossCheck } from './cross-checks.ts';
import { ConfigError, formatPath, yamlSyntaxIssue, zodIssueToRaw, type ConfigIssue, type RawIssue } from './errors.ts';
import { buildConfigSchema, type FerryConfigData } from './schema.ts';
import { locateKmsRefs, type KmsRef } from './kms-refs.ts';
import { KmsSecrets, SecretSink, type Env } from './secrets.ts';

/** The `${kms:…}` secrets a config references; `resolved` once their values stand in the config (resolve.ts). */
export interface KmsState {
  readonly refs: readonly KmsRef[];
  readonly resolved: boolean;
}

export type FerryConfig = FerryConfigData & {
  /** Every resolved secret value, for the logger's mask (see registerConfigSecrets). */
  readonly secretValues: readonly string[];
  /** Absent on configs built by hand (tests): no KMS references. */
  readonly kms?: KmsState;
};

export type ValidationResult = { ok: true; config: FerryConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * Validate a parsed document (an object from YAML or JSON) against an environment. `kmsValues`
 * holds the `${kms:…}` secrets' values once fetched; without it they stay unresolved.
 */
export function validateConfig(input: unknown, env: Env = process.env, kmsValues?: ReadonlyMap<string, string>): ValidationResult {
  const doc = input ?? {};
  const secrets = new SecretSink();
  const kms = new KmsSecrets(kmsValues);
  const parsed = buildConfigSchema({ env, secrets, kms }).safeParse(doc, { reportInput: true });
  const raw: RawIssue[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) raw.push(...zodIssueToRaw(issue));
  }
  raw.push(...crossCheck(doc));
  if (raw.length) return { ok: false, issues: inDocumentOrder(doc, dedupe(raw)).map((i) => ({ path: formatPath(i.path), message: i.message })) };
  const refs = locateKmsRefs(doc, kms.names, env.DATABASE_URL);
  const state: KmsState = { refs, resolved: refs.length === 0 || kmsValues !== undefined };
  return { ok: true, config: { ...(parsed.data as FerryConfigData), secretValues: secrets.values, kms: state } };
}

/** Like validateConfig, but throws ConfigError. */
export function parseConfig(input: unknown, env: Env = process.env, file?: string, kmsValues?: ReadonlyMap<string, string>): FerryConfig {
  const result = validateConfig(input, env, kmsValues);
  if (!result.ok) throw new ConfigError(result.issues, file);
  return result.config;
}

/** Parse YAML (or JSON when `format` is json) text. A syntax error is the only issue reported, by line and column, never quoting the text. */
export function parseConfigText(text: string, format: 'yaml' | 'json', env: Env = process.env, file?: string): FerryConfig {
  return parseConfig(readDocument(text, format, file), env, file);
}

export interface LoadOptions {
  /** Config file; else env FERRY_CONFIG; else ferry.config.yaml (.yml, .json) in cwd. */
  path?: string;
  env?: Env;
  cwd?: string;
  /** With no file found (and none named), return the defaults instead of failing. */
  allowMissing?: boolean;
  /** Register resolved secrets with the logger (default true). */
  registerSecrets?: boolean;
}

export const DEFAULT_FILES = ['ferry.config.yaml', 'ferry.config.yml', 'ferry.config.json'];

/** The config file's document, before validation: `{}` (and no file) when allowed to be missing. */
export interface ConfigDocument {
  doc: unknown;
  file: string | undefined;
}

/** Find and read the config file. Throws ConfigError when it is missing (unless allowed), unreadable or not YAML/JSON. */
export function readConfigDocument(options: LoadOptions = {}): ConfigDocument {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const named = options.path ?? (env.FERRY_CONFIG || undefined);
  let file: string | undefined;
  if (named !== undefined) {
    file = resolve(cwd, named);
    if (!existsSync(file)) {
      const via = options.path !== undefined ? 'path' : 'FERRY_CONFIG';
      throw new ConfigError([{ path: via, message: `file ${file} not found` }]);
    }
  } else {
    file = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
    if (!file) {
      if (options.allowMissing) return { doc: {}, file: undefined };
      throw new ConfigError([{ path: '(config)', message: `no ${DEFAULT_FILES[0]} in ${cwd}; set FERRY_CONFIG to the config file's path` }]);
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '(config)', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], file);
  }
  return { doc: readDocument(text, extname(file).toLowerCase() === '.json' ? 'json' : 'yaml', file), file };
}

/**
 * Find, read and validate the config. Throws ConfigError listing every problem. `${kms:…}`
 * secrets are left unresolved (config.kms): a function resolves them with loadResolvedConfig.
 */
export function loadConfig(options: LoadOptions = {}): FerryConfig & { file: string | undefined } {
  const { doc, file } = readConfigDocument(options);
  return finish({ ...parseConfig(doc, options.env ?? process.env, file), file }, options);
}

export function finish<T extends FerryConfig>(config: T, options: LoadOptions): T {
  if (options.registerSecrets !== false) registerConfigSecrets(config);
  return config;
}

/** Hand every resolved secret to the logger so it is masked wherever it appears. */
export function registerConfigSecrets(config: Pick<FerryConfig, 'secretValues'>): void {
  for (const value of config.secretValues) registerSecret(value);
}

function readDocument(text: string, format: 'yaml' | 'json', file?: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ConfigError([jsonSyntax(text, err as Error)], file);
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    // The first error alone, in our words: the parser's messages may quote the text (a secret).
    const { line, col } = lines.linePos(first.pos[0]);
    throw new ConfigError([yamlSyntaxIssue(first, line, col)], file);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias bomb, or an alias without its anchor: often a value that starts with `*` (a password?).
    // The parser's message names it: locate it instead.
    const message = (err as Error).message;
    if (/alias count/i.test(message)) throw new ConfigError([{ path: '(yaml)', message: 'YAML error: too many aliases' }], file);
    const name = /^Unresolved alias \(the anchor must be set before the alias\): (.+)$/s.exec(message)?.[1];
    const at = name === undefined ? -1 : text.indexOf(`*${name}`);
    const where = at < 0 ? '(yaml)' : `line ${lines.linePos(at).line}, column ${lines.linePos(at).col}`;
    throw new ConfigError([{ path: where, message: 'YAML error: an alias (*name) with no anchor (&name) before it; quote the value if it is not an alias' }], file);
  }
}

/** V8's JSON messages may quote the text (and so a secret): keep only the reason, never a character of the text; locate it by line. */
function jsonSyntax(text: string, err: Error): ConfigIssue {
  const reason = err.message
    .split('\n')[0]!
    .replace(/, ".*$/s, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/^Unexpected token .*/, 'Unexpected character');
  let pos: number | undefined;
  const at = / at position (\d+)/.exec(err.message);
  if (at) pos = Number(at[1]);
  else {
    // No position in this V8 message: JSON is YAML, so ask the YAML parser where it breaks.
    const located = parseDocument(text, { prettyErrors: false }).errors[0];
    if (located) pos = located.pos[0];
  }
  if (pos === undefined) return { path: '(json)', message: `JSON syntax error: ${reason}` };
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return { path: `line ${line}, column ${col}`, message: `JSON syntax error: ${reason}` };
}

function dedupe(issues: RawIssue[]): RawIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = JSON.stringify(i);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Sort issues as their fields appear in the document; fields it lacks go last in their mapping. */
function inDocumentOrder(doc: unknown, issues: RawIssue[]): RawIssue[] {
  const rank = (path: (string | number)[]): number[] => {
    const out: number[] = [];
    let node: unknown = doc;
    for (const seg of path) {
      if (typeof seg === 'number') out.push(seg);
      else {
        const keys = node && typeof node === 'object' && !Array.isArray(node) ? Object.keys(node) : [];
        const at = keys.indexOf(seg);
        out.push(at < 0 ? Number.MAX_SAFE_INTEGER : at);
      }
      node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
    }
    return out;
  };
  const ranked = issues.map((issue, index) => ({ issue, index, rank: rank(issue.path) }));
  ranked.sort((a, b) => {
    for (let k = 0; k < Math.min(a.rank.length, b.rank.length); k++) if (a.rank[k] !== b.rank[k]) return a.rank[k]! - b.rank[k]!;
    return a.rank.length - b.rank.length || a.index - b.index;
  });
  return ranked.map((r) => r.issue);
}
