/** RFC 3986 percent-encoding: keeps A-Z a-z 0-9 - _ . ~, everything else %XY (UTF-8, uppercase hex). */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Sorted `k=v&k=v` with both sides RFC 3986 encoded; an empty value keeps its `=`. */
export function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(params[k] ?? '')}`)
    .join('&');
}
