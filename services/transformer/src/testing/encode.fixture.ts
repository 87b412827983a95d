/** JSON bytes of a message body, as the messaging lib encodes it. */
export function encodeJsonForTest(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
