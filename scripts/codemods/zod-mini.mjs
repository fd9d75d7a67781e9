#!/usr/bin/env node
/**
 * Rewrites classic zod method chains into zod/mini calls (imported from shared/zod.ts), using the type checker to tell schemas
 * from other receivers: `x.optional()` → `z.optional(x)`, `.min(n)` → `.check(z.minLength(n))` (or
 * `z.gte(n)` on numbers), `.transform(f)` → `z.pipe(x, z.transform(f))`, `z.ZodType` → `z.ZodMiniType`, …
 * Kept for merging branches that still add classic schemas to code bundled into functions (shared/).
 * Then by hand: inside `z.transform`, `ctx.addIssue(i)` → `ctx.issues.push({ ...i, input })`
 * (mini's transform context has no addIssue); a literal's `.value` → `.def.values[0]`.
 *
 * Usage: node scripts/codemods/zod-mini.mjs <file.ts ...>; then `npx biome check --write` those files.
 */
import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const files = process.argv.slice(2).map((f) => resolve(root, f));
const cfgPath = resolve(root, 'tsconfig.json');
const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(cfgPath, ts.sys.readFile).config, ts.sys, root);
const program = ts.createProgram({ rootNames: [...new Set([...cfg.fileNames, ...files])], options: cfg.options });
const checker = program.getTypeChecker();
const warnings = [];

const isZod = (expr) => {
  const t = checker.getTypeAtLocation(expr);
  return !!t.getProperty('_zod');
};
const typeName = (expr) => checker.typeToString(checker.getTypeAtLocation(expr));
const numberish = (expr) => /^(z\.)?Zod(Mini)?(Number|NumberFormat|Int|BigInt|Float)/.test(typeName(expr)) || /Zod(Mini)?(Number|Int)\b/.test(typeName(expr));
const CHECKS = new Set([
  'trim',
  'toLowerCase',
  'toUpperCase',
  'regex',
  'startsWith',
  'endsWith',
  'includes',
  'lowercase',
  'uppercase',
  'positive',
  'nonnegative',
  'negative',
  'nonpositive',
  'gt',
  'gte',
  'lt',
  'lte',
  'refine',
  'superRefine',
  'describe',
  'meta',
  'multipleOf',
  'length',
  'normalize',
]);
const WRAP = { optional: 'optional', nullable: 'nullable', nullish: 'nullish', array: 'array', keyof: 'keyof', readonly: 'readonly' };
const WRAP_ARG = {
  default: '_default',
  prefault: 'prefault',
  catch: 'catch',
  pipe: 'pipe',
  extend: 'extend',
  safeExtend: 'safeExtend',
  pick: 'pick',
  omit: 'omit',
  partial: 'partial',
  required: 'required',
  and: 'intersection',
  catchall: 'catchall',
};

function rewrite(node, sf) {
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
    const m = node.expression.name.text;
    const recvNode = node.expression.expression;
    if (
      (CHECKS.has(m) || m in WRAP || m in WRAP_ARG || ['min', 'max', 'nonempty', 'int', 'url', 'uuid', 'email', 'transform', 'or', 'strict', 'loose', 'passthrough'].includes(m)) &&
      isZod(recvNode)
    ) {
      const R = rewrite(recvNode, sf);
      const A = node.arguments.map((a) => rewrite(a, sf));
      const args = A.join(', ');
      if (m in WRAP) return `z.${WRAP[m]}(${R})`;
      if (m in WRAP_ARG) return `z.${WRAP_ARG[m]}(${[R, ...A].join(', ')})`;
      if (m === 'min' || m === 'max') {
        const fn = numberish(recvNode) ? (m === 'min' ? 'gte' : 'lte') : m === 'min' ? 'minLength' : 'maxLength';
        return `${R}.check(z.${fn}(${args}))`;
      }
      if (m === 'nonempty') return `${R}.check(z.minLength(1${args ? `, ${args}` : ''}))`;
      if (CHECKS.has(m)) return `${R}.check(z.${m}(${args}))`;
      if (m === 'transform') return `z.pipe(${R}, z.transform(${args}))`;
      if (m === 'or') return `z.union([${R}, ${args}])`;
      if (m === 'int' || m === 'url' || m === 'uuid' || m === 'email') {
        const base = m === 'int' ? 'z.number()' : 'z.string()';
        if (R.replace(/\s+/g, '') === base) return `z.${m}(${args})`;
        warnings.push(`${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}: .${m}() on ${R.slice(0, 60)}`);
        return `${R}.check(z.${m}(${args}))`;
      }
      if (m === 'strict' || m === 'loose' || m === 'passthrough') {
        const ctor = m === 'strict' ? 'z.strictObject(' : 'z.looseObject(';
        if (/^z\s*\.(object|strictObject|looseObject)\(/.test(R)) return R.replace(/^z\s*\.(object|strictObject|looseObject)\(/, ctor);
        warnings.push(`${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}: .${m}() on ${R.slice(0, 60)}`);
        return `${ctor}${R}.shape)`;
      }
    }
  }
  // Types: z.ZodX → z.ZodMiniX
  if (ts.isQualifiedName(node) && ts.isIdentifier(node.left) && node.left.text === 'z' && /^Zod/.test(node.right.text)) {
    const n = node.right.text;
    if (n === 'ZodError') return 'z.core.$ZodError';
    if (n === 'ZodIssue') return 'z.core.$ZodIssue';
    if (n === 'ZodTypeAny') return 'z.ZodMiniType';
    return `z.${n.replace(/^Zod/, 'ZodMini')}`;
  }
  const start = node.getStart(sf);
  let text = '';
  let pos = start;
  const kids = [];
  ts.forEachChild(node, (c) => {
    kids.push(c);
  });
  for (const c of kids) {
    const cs = c.getStart(sf);
    if (cs < pos) continue;
    text += sf.text.slice(pos, cs) + rewrite(c, sf);
    pos = c.end;
  }
  return text + sf.text.slice(pos, node.end);
}

for (const f of files) {
  const sf = program.getSourceFile(f);
  if (!sf) {
    console.error('missing', f);
    continue;
  }
  let out = sf.text.slice(0, sf.getStart(sf)) + rewrite(sf, sf);
  // shared/zod.ts: zod/mini with zod's English messages installed (mini installs none by itself).
  let zod = relative(dirname(f), resolve(root, 'shared/zod.ts')).split(sep).join('/');
  if (!zod.startsWith('.')) zod = `./${zod}`;
  out = out.replace(/import \{ z \} from 'zod';/, `import * as z from '${zod}';`).replace(/import type \{ z \} from 'zod';/, `import type * as z from '${zod}';`);
  if (out !== sf.text) writeFileSync(f, out);
}
for (const w of warnings) console.log('WARN', w);
