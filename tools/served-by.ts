// Which backend served an answer, for any service: a header (hitcounter's
// X-Served-By, the default), a field of a JSON body (traefik/whoami's /api has
// "hostname"), or the first group of a regular expression over the body.

export type ServedBy =
  | { kind: 'header', name: string }
  | { kind: 'json', field: string }
  | { kind: 'regex', pattern: RegExp }

export const DEFAULT_SERVED_BY = 'header:X-Served-By'

/** `header:NAME`, `json:FIELD` (dots for a nested field) or `regex:RE` (with a group); an Error says what is wrong. */
export function parseServedBy (spec: string): ServedBy {
  const colon = spec.indexOf(':')
  const [kind, rest] = colon === -1 ? [spec, ''] : [spec.slice(0, colon), spec.slice(colon + 1)]
  if (rest === '') throw new Error(`--served-by must be header:NAME, json:FIELD or regex:RE (got "${spec}")`)
  if (kind === 'header') {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(rest)) throw new Error(`--served-by header:NAME needs a header name (got "${rest}")`)
    return { kind, name: rest }
  }
  if (kind === 'json') return { kind, field: rest }
  if (kind === 'regex') {
    let pattern
    try {
      pattern = new RegExp(rest)
    } catch (err) {
      throw new Error(`--served-by regex:RE is not a regular expression: ${(err as Error).message}`)
    }
    // A pattern that matches nothing at all still counts its groups this way.
    if (new RegExp(`${rest}|`).exec('')!.length < 2) throw new Error(`--served-by regex:RE needs a group, the backend's name (got "${rest}")`)
    return { kind, pattern }
  }
  throw new Error(`--served-by must be header:NAME, json:FIELD or regex:RE (got "${spec}")`)
}

/** The backend named in an answer, or '' when it names none. */
export function backendOf (servedBy: ServedBy, headers: { get: (name: string) => string | null }, body: string): string {
  switch (servedBy.kind) {
    case 'header':
      return headers.get(servedBy.name) ?? ''
    case 'regex':
      return servedBy.pattern.exec(body)?.[1] ?? ''
    case 'json': {
      let value: unknown
      try { value = JSON.parse(body) } catch { return '' }
      for (const key of servedBy.field.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
      return typeof value === 'string' || typeof value === 'number' ? String(value) : ''
    }
  }
}
