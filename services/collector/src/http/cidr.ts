import { isIP } from 'node:net';

/** An address range: `10.0.0.0/8`, `fc00::/7`; a bare address is a /32 or /128. */
export interface Cidr {
  text: string;
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

export class CidrError extends Error {}

/** Bytes of an IPv4 or IPv6 literal; IPv4-mapped IPv6 (`::ffff:10.0.0.1`) comes back as its IPv4 bytes. */
export function addressBytes(address: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const kind = isIP(bare);
  if (kind === 4) return { family: 4, bytes: Uint8Array.from(bare.split('.').map(Number)) };
  if (kind !== 6) return undefined;
  const bytes = ipv6Bytes(bare.replace(/%.*$/, ''));
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
}

function ipv6Bytes(text: string): Uint8Array {
  let head = text;
  let v4Tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    v4Tail = text.slice(lastColon + 1).split('.').map(Number);
    head = `${text.slice(0, lastColon)}:0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (v4Tail.length === 4) out.set(v4Tail, 12);
  return out;
}

export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const [addr, prefixText, extra] = trimmed.split('/');
  const parsed = addr === undefined ? undefined : addressBytes(addr);
  if (!parsed || extra !== undefined) throw new CidrError(`"${trimmed}" is not a CIDR such as 10.0.0.0/8 or fc00::/7`);
  const max = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) throw new CidrError(`"${trimmed}" has a prefix length outside 0..${max}`);
  return { text: trimmed, family: parsed.family, bytes: parsed.bytes, prefix };
}

/** Comma-separated CIDRs (COLLECTOR_ALLOW_CIDRS); empty entries are ignored. */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseCidr);
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const a = addressBytes(address);
  if (!a || a.family !== cidr.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a.bytes[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * Destinations a fetch must never reach unless allow-listed: loopback,
 * private, link-local (169.254.169.254, the cloud metadata endpoint, is in
 * 169.254/16), unspecified, carrier-grade NAT, multicast and broadcast.
 */
const FORBIDDEN: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['169.254.0.0/16', 'link-local'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['198.18.0.0/15', 'benchmarking'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'private'],
  // IPv6 forms that carry an IPv4 address a gateway translates to: NAT64 and 6to4 could reach private hosts.
  ['64:ff9b::/96', 'NAT64'],
  ['64:ff9b:1::/48', 'NAT64'],
  ['2002::/16', '6to4'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
];
const FORBIDDEN_CIDRS = FORBIDDEN.map(([c, why]) => ({ cidr: parseCidr(c), why }));

/** Why `address` is refused (`"link-local 169.254.0.0/16"`), or undefined when a fetch may go there. */
export function refusalOf(address: string, allow: readonly Cidr[]): string | undefined {
  if (!addressBytes(address)) return `"${address}" is not an IP address`;
  if (allow.some((c) => cidrContains(c, address))) return undefined;
  const hit = FORBIDDEN_CIDRS.find(({ cidr }) => cidrContains(cidr, address));
  return hit ? `${hit.why} ${hit.cidr.text}` : undefined;
}
