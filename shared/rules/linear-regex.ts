/**
 * JavaScript regular expressions matched in time linear in the input: the pattern becomes a
 * Thompson NFA and `test` walks the input once, carrying the set of live states (at most the
 * program's size) from one character to the next. No input can make it backtrack: a 128-character
 * tag costs at most 128 × program-size steps, whatever the pattern (`/(a+)+$/` included).
 *
 * Syntax and semantics are JavaScript's: V8 first compiles the pattern (its syntax errors are the
 * ones reported), and every construct that consumes one character (a literal, `.`, a class, `\d`,
 * `\p{…}`, …) is tested by V8 itself against that one character with the pattern's flags, so case
 * folding, `\w` under `iu` and classes behave exactly as in `RegExp`. The structure around them
 * (sequence, `|`, groups, `*` `+` `?` `{n,m}`, `^` `$` `\b` `\B`) is the NFA's.
 *
 * Refused (UnsupportedRegexError), as RE2 refuses them: backreferences (`\1`, `\k<name>`: no engine
 * matches those in linear time), lookahead and lookbehind (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`).
 * Also refused: legacy octal escapes, the `v` flag (its classes may match several characters), and
 * patterns whose counted repetitions expand to more than MAX_STATES states, which bounds the cost
 * of one test. Flags `g`, `y` and `d` change nothing for a yes/no test.
 */

export class UnsupportedRegexError extends Error {
  override name = 'UnsupportedRegexError';
}

/** Upper bound on a compiled program (one state per consumed character, assertion or branch). */
export const MAX_STATES = 1000;

type Assertion = 'bol' | 'eol' | 'word' | 'notWord';
type Node = { t: 'char'; atom: number } | { t: 'assert'; kind: Assertion } | { t: 'seq'; items: Node[] } | { t: 'alt'; options: Node[] } | { t: 'rep'; body: Node; min: number; max: number };

/** One character test: an exact character (no `i` flag), or a one-character V8 RegExp. */
interface Atom {
  literal: string | null;
  regex: RegExp | null;
}

const SYNTAX_CHAR = /[\\^$.*+?()[\]{}|/]/;
const BRACED_QUANTIFIER = /^\{(\d+)(?:(,)(\d*))?\}/;
const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

function unsupported(what: string): never {
  throw new UnsupportedRegexError(`${what} (patterns are matched in linear time)`);
}

class Parser {
  i = 0;
  readonly atoms: Atom[] = [];
  private readonly atomIds = new Map<string, number>();

  constructor(
    private readonly src: string,
    private readonly unicode: boolean,
    private readonly ignoreCase: boolean,
    private readonly charFlags: string,
  ) {}

  parse(): Node {
    const node = this.disjunction();
    if (this.i !== this.src.length) unsupported(`"${this.src[this.i]}" at offset ${this.i} is not understood`);
    return node;
  }

  private disjunction(): Node {
    const options = [this.alternative()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.alternative());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private alternative(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') items.push(this.term());
    return { t: 'seq', items };
  }

  private term(): Node {
    const { src, i } = this;
    if (src[i] === '^' || src[i] === '$') {
      this.i++;
      return { t: 'assert', kind: src[i] === '^' ? 'bol' : 'eol' };
    }
    if (src[i] === '\\' && (src[i + 1] === 'b' || src[i + 1] === 'B')) {
      this.i += 2;
      return { t: 'assert', kind: src[i + 1] === 'b' ? 'word' : 'notWord' };
    }
    return this.quantified(this.atom());
  }

  private quantified(body: Node): Node {
    const { src, i } = this;
    let min: number;
    let max: number;
    const braced = src[i] === '{' ? BRACED_QUANTIFIER.exec(src.slice(i)) : null;
    if (src[i] === '*' || src[i] === '+' || src[i] === '?') {
      [min, max] = src[i] === '*' ? [0, Infinity] : src[i] === '+' ? [1, Infinity] : [0, 1];
      this.i++;
    } else if (braced) {
      min = Number(braced[1]);
      max = braced[2] ? (braced[3] ? Number(braced[3]) : Infinity) : min;
      this.i += braced[0].length;
    } else {
      return body;
    }
    if (src[this.i] === '?') this.i++; // lazy: the same for a yes/no answer
    return { t: 'rep', body, min, max };
  }

  private atom(): Node {
    const { src, i } = this;
    const c = src[i]!;
    if (c === '(') {
      if (/^\(\?<?[=!]/.test(src.slice(i, i + 4))) unsupported('lookahead and lookbehind, (?=…) (?!…) (?<=…) (?<!…), are not supported');
      if (src.startsWith('(?:', i)) this.i += 3;
      else if (src.startsWith('(?<', i)) this.i = src.indexOf('>', i) + 1;
      else if (src[i + 1] === '?') unsupported(`the group "${src.slice(i, i + 3)}…" is not supported`);
      else this.i++;
      const body = this.disjunction();
      if (src[this.i] !== ')') unsupported(`the group at offset ${i} is not closed`);
      this.i++;
      return body;
    }
    if (c === '[') {
      const end = this.classEnd(i);
      this.i = end;
      return this.char(src.slice(i, end));
    }
    if (c === '.') {
      this.i++;
      return this.char('.');
    }
    if (c === '\\') return this.escape();
    // V8 refuses these where an atom is due; anything it let through is not understood here.
    if (c === '*' || c === '+' || c === '?' || (c === '{' && BRACED_QUANTIFIER.test(src.slice(i)))) unsupported(`"${c}" at offset ${i} is not understood`);
    const ch = this.unicode ? String.fromCodePoint(src.codePointAt(i)!) : c;
    this.i += ch.length;
    return this.literal(ch);
  }

  /** Offset just after the `]` closing the class that opens at `start`. */
  private classEnd(start: number): number {
    let j = start + 1;
    if (this.src[j] === '^') j++;
    for (; j < this.src.length; j++) {
      if (this.src[j] === '\\') j++;
      else if (this.src[j] === ']') return j + 1;
    }
    return unsupported(`the character class at offset ${start} is not closed`);
  }

  private escape(): Node {
    const { src, i } = this;
    const n = src[i + 1];
    if (n === undefined) unsupported('a trailing "\\" is not supported');
    if (/[1-9]/.test(n)) unsupported('backreferences (\\1, \\2, …) are not supported');
    if (n === 'k') unsupported('backreferences (\\k<name>) are not supported');
    let len = 2;
    if (n === '0' && /[0-9]/.test(src[i + 2] ?? '')) unsupported('legacy octal escapes (\\01…) are not supported; write \\x01');
    if (n === 'c' && !/[A-Za-z]/.test(src[i + 2] ?? '')) unsupported('"\\c" must be followed by a letter');
    if (n === 'c') len = 3;
    else if (n === 'x' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 2, i + 4))) len = 4;
    else if (n === 'u' && this.unicode && src[i + 2] === '{') len = src.indexOf('}', i) + 1 - i;
    else if (n === 'u' && /^[0-9A-Fa-f]{4}$/.test(src.slice(i + 2, i + 6))) {
      len = 6;
      // In unicode mode an escaped surrogate pair is one code point.
      const lead = parseInt(src.slice(i + 2, i + 6), 16);
      const trail = /^\\u([0-9A-Fa-f]{4})/.exec(src.slice(i + 6));
      if (this.unicode && lead >= 0xd800 && lead <= 0xdbff && trail && /^d[c-f]/i.test(trail[1]!)) len = 12;
    } else if ((n === 'p' || n === 'P') && this.unicode) len = src.indexOf('}', i) + 1 - i;
    else if (this.unicode) len = 1 + String.fromCodePoint(src.codePointAt(i + 1)!).length;
    if (len <= 1) unsupported(`the escape at offset ${i} is not understood`);
    this.i += len;
    return this.char(src.slice(i, i + len));
  }

  private literal(ch: string): Node {
    if (!this.ignoreCase) return this.atomNode(`=${ch}`, () => ({ literal: ch, regex: null }));
    return this.char(SYNTAX_CHAR.test(ch) ? `\\${ch}` : ch);
  }

  /** A construct that consumes one character, tested by V8 on that character alone. */
  private char(source: string): Node {
    return this.atomNode(source, () => {
      try {
        return { literal: null, regex: new RegExp(`^(?:${source})$`, this.charFlags) };
      } catch {
        return unsupported(`"${source}" is not understood`);
      }
    });
  }

  private atomNode(key: string, make: () => Atom): Node {
    let id = this.atomIds.get(key);
    if (id === undefined) {
      id = this.atoms.push(make()) - 1;
      this.atomIds.set(key, id);
    }
    return { t: 'char', atom: id };
  }
}

/** States the node compiles to; throws once the running total passes MAX_STATES. */
function size(node: Node): number {
  let n: number;
  switch (node.t) {
    case 'char':
    case 'assert':
      return 1;
    case 'seq':
      n = node.items.reduce((sum, item) => sum + size(item), 0);
      break;
    case 'alt':
      n = node.options.reduce((sum, option) => sum + size(option), node.options.length - 1);
      break;
    case 'rep': {
      const body = size(node.body);
      n = node.min * body + (node.max === Infinity ? body + 1 : (node.max - node.min) * (body + 1));
      break;
    }
  }
  if (n > MAX_STATES) unsupported(`the pattern expands to more than ${MAX_STATES} states; use smaller counted repetitions ({n,m})`);
  return n;
}

// The compiled NFA, one state per index: op[k] with operands a[k] and b[k]. State 0 is Match.
// Char: a = atom, b = next state. Assert: a = index in ASSERTIONS, b = next. Split: a and b, both taken.
const MATCH = 0;
const CHAR = 1;
const SPLIT = 2;
const ASSERT = 3;
const ASSERTIONS: readonly Assertion[] = ['bol', 'eol', 'word', 'notWord'];

interface Builder {
  op: number[];
  a: number[];
  b: number[];
}

function state(p: Builder, op: number, a: number, b: number): number {
  p.op.push(op);
  p.a.push(a);
  p.b.push(b);
  return p.op.length - 1;
}

/** Emits `node` in front of the state `next`; returns the node's first state. */
function emit(p: Builder, node: Node, next: number): number {
  switch (node.t) {
    case 'char':
      return state(p, CHAR, node.atom, next);
    case 'assert':
      return state(p, ASSERT, ASSERTIONS.indexOf(node.kind), next);
    case 'seq': {
      let start = next;
      for (let k = node.items.length - 1; k >= 0; k--) start = emit(p, node.items[k]!, start);
      return start;
    }
    case 'alt': {
      const starts = node.options.map((o) => emit(p, o, next));
      let start = starts.pop()!;
      while (starts.length) start = state(p, SPLIT, starts.pop()!, start);
      return start;
    }
    case 'rep': {
      let start = next;
      if (size(node.body) === 0) return start; // (?:){n}: nothing to repeat, however often
      if (node.max === Infinity) {
        const loop = state(p, SPLIT, -1, next);
        p.a[loop] = emit(p, node.body, loop);
        start = loop;
      } else {
        for (let k = node.min; k < node.max; k++) start = state(p, SPLIT, emit(p, node.body, start), next);
      }
      for (let k = 0; k < node.min; k++) start = emit(p, node.body, start);
      return start;
    }
  }
}

export class LinearRegex {
  private readonly op: Uint8Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly start: number;
  private readonly atoms: Atom[];
  private readonly unicode: boolean;
  private readonly multiline: boolean;
  private readonly wordChar: RegExp;

  /** Throws SyntaxError (V8's) for an invalid pattern, UnsupportedRegexError for one it cannot match in linear time. */
  constructor(
    readonly source: string,
    readonly flags: string = '',
  ) {
    new RegExp(source, flags); // V8's syntax check and messages
    if (flags.includes('v')) unsupported('the "v" flag is not supported (use "u")');
    this.unicode = flags.includes('u');
    this.multiline = flags.includes('m');
    const charFlags = [...'isu'].filter((f) => flags.includes(f)).join('');
    const parser = new Parser(source, this.unicode, flags.includes('i'), charFlags);
    const tree = parser.parse();
    size(tree);
    this.atoms = parser.atoms;
    this.wordChar = new RegExp('^\\w$', charFlags);
    const p: Builder = { op: [MATCH], a: [0], b: [0] };
    this.start = emit(p, tree, 0);
    this.op = Uint8Array.from(p.op);
    this.a = Int32Array.from(p.a);
    this.b = Int32Array.from(p.b);
  }

  /** States of the compiled program. */
  get states(): number {
    return this.op.length;
  }

  /** Whether the pattern matches anywhere in `input` (like RegExp#test without `g`/`y`). */
  test(input: string): boolean {
    const chars = this.unicode ? Array.from(input) : input.split('');
    const n = chars.length;
    const { op, a, b, atoms, start } = this;
    const size = op.length;
    const marks = new Int32Array(size);
    const stack = new Int32Array(size);
    let list = new Int32Array(size);
    let next = new Int32Array(size);
    let listLength = 0;
    let nextLength = 0;
    const atomAt = new Int32Array(atoms.length);
    const atomOk = new Uint8Array(atoms.length);
    let gen = 1;

    const isWord = (ch: string | undefined) => ch !== undefined && this.wordChar.test(ch);
    const holds = (kind: number, pos: number): boolean => {
      switch (ASSERTIONS[kind]) {
        case 'bol':
          return pos === 0 || (this.multiline && LINE_TERMINATOR.test(chars[pos - 1]!));
        case 'eol':
          return pos === n || (this.multiline && LINE_TERMINATOR.test(chars[pos]!));
        case 'word':
          return isWord(chars[pos - 1]) !== isWord(chars[pos]);
        default:
          return isWord(chars[pos - 1]) === isWord(chars[pos]);
      }
    };
    /** Adds `pc` and every state it reaches without consuming input to `next`; true on reaching Match. */
    const add = (pc: number, pos: number): boolean => {
      if (marks[pc] === gen) return false;
      marks[pc] = gen;
      let sp = 0;
      stack[sp++] = pc;
      while (sp > 0) {
        const s = stack[--sp]!;
        const o = op[s];
        if (o === CHAR) next[nextLength++] = s;
        else if (o === MATCH) return true;
        else if (o === SPLIT || holds(a[s]!, pos)) {
          const y = b[s]!;
          if (marks[y] !== gen) {
            marks[y] = gen;
            stack[sp++] = y;
          }
          const x = a[s]!;
          if (o === SPLIT && marks[x] !== gen) {
            marks[x] = gen;
            stack[sp++] = x;
          }
        }
      }
      return false;
    };

    if (add(start, 0)) return true;
    for (let pos = 0; pos < n; pos++) {
      [list, next] = [next, list];
      listLength = nextLength;
      nextLength = 0;
      gen++;
      const ch = chars[pos]!;
      for (let k = 0; k < listLength; k++) {
        const s = list[k]!;
        const id = a[s]!;
        const atom = atoms[id]!;
        let ok: boolean;
        if (atom.literal !== null) ok = atom.literal === ch;
        else if (atomAt[id] === gen) ok = atomOk[id] === 1;
        else {
          ok = atom.regex!.test(ch);
          atomAt[id] = gen;
          atomOk[id] = ok ? 1 : 0;
        }
        if (ok && add(b[s]!, pos + 1)) return true;
      }
      // Unanchored: a match may also start at the next position.
      if (add(start, pos + 1)) return true;
    }
    return false;
  }
}
