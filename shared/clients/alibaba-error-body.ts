/**
 * An Alibaba answer's body as fields, whatever shape the gateway chose: a JSON object (`Code`,
 * `Message`, `RequestId`, or the same keys in lower case: `code`, `message`, `requestId`/`requestID`)
 * or XML (`<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`).
 */

export interface AlibabaErrorBody {
  RequestId?: string | undefined;
  HostId?: string | undefined;
  Code?: string | undefined;
  Message?: string | undefined;
  Recommend?: string | undefined;
}

export interface ReadBody {
  /** The JSON object, when the body is one. */
  json: Record<string, unknown> | undefined;
  /** The error fields, from the JSON object or the XML document. */
  error: AlibabaErrorBody;
  /** Whether the body is an answer at all: a JSON object, or XML naming a `Code` (not a proxy's HTML page). */
  readable: boolean;
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  // No trim(): it would copy every answer; an empty or blank body fails JSON.parse all the same.
  if (text.length === 0) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s
    .replace(/^<!\[CDATA\[([\s\S]*)\]\]>$/, '$1')
    .replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) =>
      e[0] === '#' ? String.fromCodePoint(e[1]?.toLowerCase() === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1))) : ENTITIES[e.toLowerCase()]!,
    );
}

/** The leaf elements of an XML document (`<Code>X</Code>` → Code: X), first occurrence of each name. */
function xmlLeaves(text: string): Record<string, string> | undefined {
  if (!text.trimStart().startsWith('<')) return undefined;
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<([A-Za-z_][\w.-]*)(?:\s[^>]*)?>((?:<!\[CDATA\[[\s\S]*?\]\]>|[^<])*)<\/\1\s*>/g)) {
    const name = m[1]!;
    if (!(name in out)) out[name] = unescapeXml(m[2]!.trim());
  }
  return Object.keys(out).length ? out : undefined;
}

/** Reads `fields[name]` whatever the case of its key (`Code`/`code`, `RequestId`/`requestId`/`requestID`). */
function field(fields: Record<string, unknown>, name: string): string | undefined {
  const exact = fields[name];
  const key = exact === undefined ? Object.keys(fields).find((k) => k.toLowerCase() === name.toLowerCase()) : name;
  const v = key === undefined ? undefined : fields[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function readAlibabaBody(text: string): ReadBody {
  const json = jsonObject(text);
  const fields = json ?? xmlLeaves(text);
  if (!fields) return { json, error: {}, readable: false };
  const error: AlibabaErrorBody = {
    RequestId: field(fields, 'RequestId'),
    HostId: field(fields, 'HostId'),
    Code: field(fields, 'Code'),
    Message: field(fields, 'Message'),
    Recommend: field(fields, 'Recommend'),
  };
  return { json, error, readable: json !== undefined || error.Code !== undefined };
}
