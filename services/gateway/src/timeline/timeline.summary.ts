import { maskTokens } from '../auth/token.format';

const MAX_SUMMARY = 100;
const MAX_VALUE = 40;
export const REDACTED = '[REDACTED]';

// Keys whose values never leave the gateway: credentials, and the token
// hash and salt (kept in the log only so the token table can be rebuilt).
// `token$` rather than `token` so ids such as `tokenId` stay readable.
const SECRET_KEY = /(password|passwd|secret|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|signature|salt|hash$|token$)/i;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@\s]+)(@)/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;

function redactText(text: string): string {
  return maskTokens(text.replace(URL_CREDENTIALS, `$1${REDACTED}$3`).replace(BEARER, `$1 ${REDACTED}`));
}

/** A deep copy of event data that is safe to show anyone with the viewer role. */
export function redactData(value: unknown, depth = 0): unknown {
  if (depth > 12) return '[truncated]';
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactData(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redactData(v, depth + 1);
    return out;
  }
  return value;
}

type Data = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const withReason = (d: Data): string => (d.reason ? `: ${str(d.reason)}` : '');

/**
 * One line per event type that deserves better than key=value. Domain
 * services add theirs here as their events appear; everything else gets the
 * generic summary.
 */
const SUMMARISERS: Record<string, (d: Data) => string> = {
  'token.created': (d) => `token "${str(d.name)}" (${str(d.role)}) created${d.bootstrap ? ' at bootstrap' : ''}`,
  'token.revoked': (d) => `token ${str(d.tokenId)} revoked${withReason(d)}`,
  'gateway.bootstrapped': (d) =>
    `first admin token ${str(d.tokenId)} ${d.source === 'env' ? 'taken from STEWARD_BOOTSTRAP_TOKEN' : 'generated'}`,
  'operator.action_recorded': (d) => {
    const target = d.target && typeof d.target === 'object' ? Object.entries(d.target as Data).map(([k, v]) => `${k}=${str(v)}`).join(' ') : '';
    return `${str(d.action)} requested${target ? ` (${target})` : ''}${withReason(d)}`;
  },
  'command.rejected': (d) => `${str(d.service)} rejected ${str(d.command)}: ${str(d.reason)}`,
  'command.accepted': (d) => `${str(d.service)} applied ${str(d.command)}`,
};

// What an operator scans for first when several fields compete for 100 characters.
const FIRST = ['error', 'reason', 'status', 'message', 'name'];

function shortValue(key: string, v: unknown): string {
  if (SECRET_KEY.test(key)) return '***';
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.length}]`;
  if (typeof v === 'object') return '{…}';
  const text = redactText(String(v));
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

export function truncate(text: string, max = MAX_SUMMARY): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** `k=v, k=v`: the fallback for types without a summariser. */
export function genericSummary(data: unknown): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return truncate(shortValue('', data));
  const keys = Object.keys(data).sort((a, b) => rank(a) - rank(b));
  return truncate(keys.map((k) => `${k}=${shortValue(k, (data as Data)[k])}`).join(', '));
}

function rank(key: string): number {
  const i = FIRST.indexOf(key);
  return i === -1 ? FIRST.length : i;
}

/** A short human line for a timeline entry; never contains a secret. */
export function summarise(type: string, data: unknown): string {
  const specific = SUMMARISERS[type];
  if (specific && data !== null && typeof data === 'object') {
    try {
      return truncate(redactText(specific(data as Data)));
    } catch {
      // A malformed old payload falls back to the generic line rather than failing the page.
    }
  }
  return genericSummary(data);
}
