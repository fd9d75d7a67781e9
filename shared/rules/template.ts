/**
 * Target name templates: `{namespace}`, `{repo}` (also `{repository}`), `{tag}`, `{source}`, `{digest}`
 * and `{repo_last}` (the last `/` segment of the repository). `{{` and `}}` are literal braces.
 * Compiled once when the config loads; rendering is a join.
 */
export const PLACEHOLDERS = ['namespace', 'repo', 'repository', 'repo_last', 'tag', 'source', 'digest'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export type TemplateVars = Partial<Record<Placeholder, string | undefined>>;

export type RenderResult = { ok: true; value: string } | { ok: false; reason: string };

export interface Template {
  readonly source: string;
  readonly placeholders: ReadonlySet<Placeholder>;
  render(vars: TemplateVars): RenderResult;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

type Part = { text: string } | { name: Placeholder };

const KNOWN = new Set<string>(PLACEHOLDERS);

function parse(template: string): Part[] {
  const parts: Part[] = [];
  const unknown: string[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if ((ch === '{' || ch === '}') && template[i + 1] === ch) {
      text += ch;
      i++;
    } else if (ch === '{') {
      const end = template.indexOf('}', i + 1);
      if (end < 0) throw new TemplateError(`unclosed "{" at position ${i + 1}`);
      const name = template.slice(i + 1, end).trim();
      if (!KNOWN.has(name)) unknown.push(`{${name}}`);
      else {
        if (text) parts.push({ text });
        text = '';
        parts.push({ name: name as Placeholder });
      }
      i = end;
    } else if (ch === '}') {
      throw new TemplateError(`unmatched "}" at position ${i + 1} (write "}}" for a literal brace)`);
    } else {
      text += ch;
    }
  }
  if (unknown.length) {
    const known = PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
    throw new TemplateError(`unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${known})`);
  }
  if (text) parts.push({ text });
  return parts;
}

/** Throws TemplateError naming every unknown placeholder. */
export function compileTemplate(template: string): Template {
  const parts = parse(template);
  const placeholders = new Set(parts.flatMap((p) => ('name' in p ? [p.name] : [])));
  return {
    source: template,
    placeholders,
    render(vars) {
      let value = '';
      for (const part of parts) {
        if ('text' in part) value += part.text;
        else {
          const v = vars[part.name];
          if (v === undefined || v === '') return { ok: false, reason: missingReason(part.name) };
          value += v;
        }
      }
      return { ok: true, value };
    },
  };
}

function missingReason(name: Placeholder): string {
  if (name === 'tag') return 'the push has no tag (it was pushed by digest) but the template uses {tag}';
  if (name === 'digest') return 'the push carries no digest but the template uses {digest}';
  return `the push has no value for {${name}}`;
}

/** null when the template compiles, else the reason. */
export function checkTemplate(template: string): string | null {
  try {
    compileTemplate(template);
    return null;
  } catch (err) {
    if (err instanceof TemplateError) return err.message;
    throw err;
  }
}

/** The variables a push provides to templates. */
export function templateVars(push: { source: string; namespace: string; repository: string; tag?: string | undefined; digest?: string | undefined }): TemplateVars {
  return {
    namespace: push.namespace,
    repo: push.repository,
    repository: push.repository,
    repo_last: push.repository.split('/').pop(),
    tag: push.tag,
    source: push.source,
    digest: push.digest,
  };
}
