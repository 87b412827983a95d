import { createHash, randomBytes } from 'node:crypto';

/** `stw_<id>_<secret>`: the id finds the stored hash in one lookup, the secret is 256 random bits. */
const TOKEN = /^stw_([0-9a-f]{16})_([A-Za-z0-9_-]{32,})$/;
export const TOKEN_ID = /^[0-9a-f]{16}$/;
/** A person-chosen bootstrap token must still be long enough not to be guessed. */
const MIN_FREE_FORM_LENGTH = 24;

export function generateToken(): { id: string; token: string } {
  const id = randomBytes(8).toString('hex');
  return { id, token: `stw_${id}_${randomBytes(32).toString('base64url')}` };
}

/**
 * The id a presented token is stored under. A free-form bootstrap token has
 * no id of its own, so it gets one derived from its digest: the same token
 * always finds the same row, and any other string finds none.
 */
export function tokenIdOf(token: string): string {
  const m = TOKEN.exec(token);
  return m ? m[1]! : createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export function isAcceptableBootstrapToken(value: string): boolean {
  return TOKEN.test(value) || (value.length >= MIN_FREE_FORM_LENGTH && !/\s/.test(value));
}

/** Key of the verification cache and the rate limiter: never the token itself. */
export function fingerprintOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Masks anything shaped like one of our tokens inside free text. */
export function maskTokens(text: string): string {
  return text.replace(/stw_[0-9a-f]{16}_[A-Za-z0-9_-]+/g, 'stw_***');
}
