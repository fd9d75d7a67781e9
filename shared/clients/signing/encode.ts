/** Characters RFC 3986 leaves as they are: most names and values Ferry sends are only these. */
const UNRESERVED = /^[A-Za-z0-9_.~-]*$/;

/** RFC 3986 percent-encoding: keeps A-Z a-z 0-9 - _ . ~, everything else %XY (UTF-8, uppercase hex). */
export function rfc3986(value: string): string {
  if (UNRESERVED.test(value)) return value;
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Sorted `k=v&k=v` with both sides RFC 3986 encoded; an empty value keeps its `=`. */
export function canonicalQuery(params: Record<string, string>): string {
  const keys = Object.keys(params).sort();
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i ? '&' : ''}${rfc3986(k)}=${rfc3986(params[k] ?? '')}`;
  }
  return out;
}
