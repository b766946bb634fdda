import { randomBytes } from 'node:crypto';

/** Serial numbers are 16 random bytes: 127 bits of entropy (CA/B Baseline Requirements §7.1). */
export const SERIAL_BYTES = 16;

/**
 * A random, positive certificate serial number that encodes as exactly 16 DER bytes, as a
 * lowercase hex string. The top bit is cleared so DER needs no leading 0x00 (which would make
 * it 17 bytes), and the first byte is non-zero so DER does not drop it (15 bytes).
 * RFC 5280 §4.1.2.2: positive, at most 20 octets.
 *
 * @example
 *   randomSerialNumber(); // '5f3a9c...' (32 hex digits)
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(SERIAL_BYTES);
  bytes[0] = bytes[0] & 0x7f || 0x01;
  return bytes.toString('hex');
}
