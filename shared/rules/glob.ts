import { LinearRegex, UnsupportedRegexError } from './linear-regex.ts';

/**
 * Name patterns used by rules: globs, or regular expressions written `/body/flags`.
 *
 * Globs are anchored and match a whole name:
 * - `*` any run of characters except `/`
 * - `**` any run of characters, `/` included; a `**` segment also matches zero
 *   segments (`a/` `**` `/b` matches `a/b`)
 * - `?` one character except `/`
 * - `\x` the character `x` literally
 * Regular expressions are not anchored (write `^…$` to anchor them); flags `g` and `y`
 * are dropped because they make `test` stateful.
 *
 * Both are matched by linear-regex.ts, in time linear in the name: no pattern in a config can make
 * matching backtrack (`/(a+)+$/` against thirty `a`s and a `-` took V8 28 s). Regular expressions
 * therefore may not use backreferences or lookaround; the config check names the pattern that does.
 */
export interface Pattern {
  /** The pattern as written. */
  readonly source: string;
  readonly kind: 'glob' | 'regex';
  test(value: string): boolean;
}

export class PatternError extends Error {
  override name = 'PatternError';
}

const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/s;
const REGEX_FLAGS = /^[dgimsuvy]*$/;

export function isRegexPattern(pattern: string): boolean {
  return REGEX_LITERAL.test(pattern);
}

/** True when the glob contains a wildcard (otherwise it matches only itself). */
export function hasWildcard(glob: string): boolean {
  return /(^|[^\\])[*?]/.test(glob);
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(ch) ? '\\' + ch : ch;
}

/** Translate a glob to the source of an anchored regular expression. Throws PatternError on a trailing `\`. */
export function globToSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\') {
      const next = glob[i + 1];
      if (next === undefined) throw new PatternError('a glob may not end with an unescaped "\\"');
      out += escapeRegex(next);
      i++;
    } else if (ch === '*' && glob[i + 1] === '*') {
      let j = i;
      while (glob[j] === '*') j++;
      const atSegmentStart = i === 0 || glob[i - 1] === '/';
      if (atSegmentStart && glob[j] === '/') {
        out += '(?:.*/)?'; // `**/` : zero or more whole segments
        j++;
      } else if (glob[i - 1] === '/' && j === glob.length && out.endsWith('/')) {
        out = out.slice(0, -1) + '(?:/.*)?'; // trailing `/**` : the prefix itself or anything below
      } else {
        out += '.*';
      }
      i = j - 1;
    } else if (ch === '*') {
      out += '[^/]*';
    } else if (ch === '?') {
      out += '[^/]';
    } else {
      out += escapeRegex(ch);
    }
  }
  return `^${out}$`;
}

/** Compile a glob or `/regex/flags`. Throws PatternError with a reason. */
export function compilePattern(pattern: string): Pattern {
  if (pattern.length === 0) throw new PatternError('must not be empty');
  const literal = REGEX_LITERAL.exec(pattern);
  if (literal) {
    const [, body, flags = ''] = literal;
    if (!REGEX_FLAGS.test(flags)) throw new PatternError(`invalid regular expression flags "${flags}"`);
    let regex: LinearRegex;
    try {
      regex = new LinearRegex(body!, [...new Set(flags.replace(/[gy]/g, ''))].join(''));
    } catch (err) {
      if (err instanceof UnsupportedRegexError) throw new PatternError(`regular expression ${pattern}: ${err.message}`);
      const why = (err as Error).message.replace(/^Invalid regular expression: /, '');
      throw new PatternError(`invalid regular expression: ${why}`);
    }
    return { source: pattern, kind: 'regex', test: (v) => regex.test(v) };
  }
  if (pattern.startsWith('/') && pattern.length > 1 && !pattern.includes('/', 1)) {
    throw new PatternError(`"${pattern}" looks like a regular expression but has no closing "/"`);
  }
  return compileGlob(pattern);
}

/** null when the pattern compiles, else the reason. */
export function checkPattern(pattern: string): string | null {
  try {
    compilePattern(pattern);
    return null;
  } catch (err) {
    if (err instanceof PatternError) return err.message;
    throw err;
  }
}

/** A glob (never a regex): for names such as sources, namespaces, repositories. Throws PatternError on a trailing `\`. */
export function compileGlob(glob: string): Pattern {
  let regex: LinearRegex;
  try {
    regex = new LinearRegex(globToSource(glob), 'u');
  } catch (err) {
    // A glob of more than LinearRegex's states (hundreds of wildcards).
    if (err instanceof UnsupportedRegexError) throw new PatternError(`glob: ${err.message}`);
    throw err;
  }
  return { source: glob, kind: 'glob', test: (v) => regex.test(v) };
}
