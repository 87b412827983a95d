import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { permanent, transient } from '../capture/collect.error';
import { refusalOf, type Cidr } from './cidr';

export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * The SSRF guard: resolves the host itself and refuses loopback, private,
 * link-local and unspecified destinations unless allow-listed. Every
 * address a name resolves to must pass (an attacker's name may return a
 * public and a private address and let the OS pick), and the fetch then
 * connects to the vetted address only, so a second resolution cannot
 * rebind the name to another one between the check and the connect.
 */
export class DestinationGuard {
  constructor(
    private readonly allow: readonly Cidr[],
    private readonly resolve: Resolver = systemResolver,
  ) {}

  async vet(url: URL): Promise<VettedAddress> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw permanent('destination_refused', `only http and https may be fetched, not ${url.protocol}`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let addresses: Array<{ address: string; family: number }>;
    if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
    else {
      try {
        addresses = await this.resolve(host);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
        // NXDOMAIN may be a typo or a zone not yet published; the retry policy bounds it either way.
        throw transient('dns_failed', `cannot resolve ${host}: ${code}`);
      }
    }
    if (addresses.length === 0) throw transient('dns_failed', `${host} resolved to no address`);
    for (const a of addresses) {
      const why = refusalOf(a.address, this.allow);
      if (why !== undefined) {
        const shown = a.address === host ? host : `${host} (${a.address})`;
        throw permanent('destination_refused', `refused to fetch ${shown}: ${why} destinations are not allowed (COLLECTOR_ALLOW_CIDRS)`);
      }
    }
    const first = addresses[0]!;
    return { address: first.address, family: first.family === 6 ? 6 : 4 };
  }
}
