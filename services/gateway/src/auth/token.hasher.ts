import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// OWASP's scrypt minimum (N=2^17, r=8, p=1) costs ~130 MB and ~300 ms per
// verification here; tokens carry 256 random bits, so the work factor only
// has to protect the person-chosen bootstrap token. N=2^14 keeps a cold
// verification around 40 ms; the cache absorbs the rest.
const PARAMS: ScryptOptions = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function derive(token: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(token, salt, KEY_LENGTH, PARAMS, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export interface TokenHash {
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
}

export async function hashToken(token: string): Promise<TokenHash> {
  const salt = randomBytes(16);
  return { salt: salt.toString('base64'), hash: (await derive(token, salt)).toString('base64') };
}

export async function verifyTokenHash(token: string, stored: TokenHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await derive(token, Buffer.from(stored.salt, 'base64'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
