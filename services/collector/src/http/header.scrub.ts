/** Response headers that carry credentials or session state: never kept in an event. */
const SECRET_HEADERS = new Set(['set-cookie', 'set-cookie2', 'cookie', 'authorization', 'proxy-authorization', 'proxy-authenticate', 'x-api-key', 'x-auth-token']);
const MAX_HEADER_VALUE = 2000;

/**
 * Headers as they may be recorded: credential headers removed by name, any
 * header whose value contains one of the request's secrets removed by
 * value (a server echoing the token back), long values cut.
 */
export function scrubHeaders(headers: Record<string, string>, secrets: readonly string[], extraNames: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const drop = new Set([...SECRET_HEADERS, ...extraNames.map((n) => n.toLowerCase())]);
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (drop.has(key)) continue;
    if (secrets.some((s) => s.length >= 4 && value.includes(s))) continue;
    out[key] = value.length > MAX_HEADER_VALUE ? `${value.slice(0, MAX_HEADER_VALUE)}…` : value;
  }
  return out;
}

/** Replaces each secret in text (a body excerpt, an error message). */
export function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}
