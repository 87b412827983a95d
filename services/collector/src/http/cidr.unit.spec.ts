import { addressBytes, cidrContains, parseCidr, parseCidrList, refusalOf } from './cidr';

describe('CIDR matching', () => {
  it('matches IPv4 and IPv6 ranges by prefix', () => {
    expect(cidrContains(parseCidr('172.16.0.0/12'), '172.31.255.255')).toBe(true);
    expect(cidrContains(parseCidr('172.16.0.0/12'), '172.32.0.1')).toBe(false);
    expect(cidrContains(parseCidr('fc00::/7'), 'fd12:3456::1')).toBe(true);
    expect(cidrContains(parseCidr('fe80::/10'), 'fe80::1%eth0')).toBe(true);
    expect(cidrContains(parseCidr('fe80::/10'), 'fec0::1')).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '8.8.8.8')).toBe(true);
    expect(cidrContains(parseCidr('10.1.2.3'), '10.1.2.3')).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8'), '::1')).toBe(false);
  });

  it('reads IPv4-mapped IPv6 addresses as the IPv4 address they carry', () => {
    expect(addressBytes('::ffff:169.254.169.254')).toEqual({ family: 4, bytes: Uint8Array.from([169, 254, 169, 254]) });
    expect(refusalOf('::ffff:10.0.0.1', [])).toBe('private 10.0.0.0/8');
  });

  it('refuses loopback, private, link-local and unspecified destinations unless allow-listed', () => {
    expect(refusalOf('127.0.0.1', [])).toBe('loopback 127.0.0.0/8');
    expect(refusalOf('169.254.169.254', [])).toBe('link-local 169.254.0.0/16');
    expect(refusalOf('10.0.0.1', [])).toBe('private 10.0.0.0/8');
    expect(refusalOf('192.168.1.1', [])).toBe('private 192.168.0.0/16');
    expect(refusalOf('0.0.0.0', [])).toBe('unspecified 0.0.0.0/8');
    expect(refusalOf('::1', [])).toBe('loopback ::1/128');
    expect(refusalOf('fe80::1', [])).toBe('link-local fe80::/10');
    expect(refusalOf('93.184.215.14', [])).toBeUndefined();
    expect(refusalOf('127.0.0.1', parseCidrList('127.0.0.0/8, ::1'))).toBeUndefined();
    expect(refusalOf('10.0.0.1', parseCidrList('127.0.0.0/8'))).toBe('private 10.0.0.0/8');
  });

  it('refuses IPv6 forms a gateway translates to IPv4 (NAT64, 6to4) and the special-purpose IPv4 blocks', () => {
    expect(refusalOf('64:ff9b::a00:1', [])).toBe('NAT64 64:ff9b::/96');
    expect(refusalOf('2002:a00:1::1', [])).toBe('6to4 2002::/16');
    expect(refusalOf('198.18.0.1', [])).toBe('benchmarking 198.18.0.0/15');
    expect(refusalOf('192.0.0.8', [])).toBe('IETF protocol assignments 192.0.0.0/24');
    expect(refusalOf('2606:4700::1111', [])).toBeUndefined();
  });

  it('says which entry is not a CIDR', () => {
    expect(() => parseCidrList('127.0.0.0/8,10.0.0.0/33')).toThrow('"10.0.0.0/33" has a prefix length outside 0..32');
    expect(() => parseCidrList('localhost')).toThrow('"localhost" is not a CIDR such as 10.0.0.0/8 or fc00::/7');
  });
});
