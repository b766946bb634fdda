import { HomeportError } from '../errors.js';

/**
 * How the production line numbers its devices: MAC addresses from a prefix and a counter, and
 * serial numbers, IMEIs and aliases derived from the MAC, so that two batches with different
 * prefixes or counter ranges never collide.
 */

/** The default MAC prefix: locally administered (IEEE 802 bit 0x02 of the first octet), "HP". */
export const DEFAULT_MAC_PREFIX = '02:48:50';

// An invented Type Allocation Code; 3GPP TS 23.003 §6.2.1: TAC (8 digits), SNR (6), check digit.
const IMEI_TAC = '35960110';

/** A parsed MAC prefix: its octets and how many devices fit after it. */
export interface MacPrefix {
  octets: number[];
  capacity: number;
}

/**
 * Parses a MAC prefix of 1 to 5 octets (`02:48:50`, `02-48-50`). A multicast prefix (bit 0x01
 * of the first octet) can never be a device address and is refused with MAC_INVALID.
 *
 * @example
 *   parseMacPrefix('02:48:50'); // { octets: [2, 72, 80], capacity: 16777216 }
 */
export function parseMacPrefix(text: string): MacPrefix {
  const parts = text.trim().split(/[:-]/);
  const valid =
    parts.length >= 1 && parts.length <= 5 && parts.every((p) => /^[0-9a-f]{2}$/i.test(p));
  if (!valid) {
    throw new HomeportError(
      'MAC_INVALID',
      `Cannot use MAC prefix ${JSON.stringify(text)}: give 1 to 5 octets such as 02:48:50.`,
    );
  }

  const octets = parts.map((p) => parseInt(p, 16));
  // IEEE 802-2014 §8.2.2: the I/G bit set means a group (multicast) address.
  if (octets[0] & 0x01) {
    throw new HomeportError(
      'MAC_INVALID',
      `Cannot use MAC prefix ${JSON.stringify(text)}: its first octet is multicast; ` +
        'device addresses are unicast (try 02:48:50).',
    );
  }
  return { octets, capacity: 256 ** (6 - octets.length) };
}

/**
 * The MAC of device number `counter` after a prefix, upper case with colons.
 *
 * @example
 *   macAddress(parseMacPrefix('02:48:50'), 1); // '02:48:50:00:00:01'
 */
export function macAddress(prefix: MacPrefix, counter: number): string {
  if (!Number.isInteger(counter) || counter < 0 || counter >= prefix.capacity) {
    throw new RangeError(
      `Cannot number device ${counter}: the prefix leaves room for 0 to ${prefix.capacity - 1}.`,
    );
  }

  const octets = [...prefix.octets];
  const suffix: number[] = [];
  for (let rest = counter, i = octets.length; i < 6; i++, rest = Math.floor(rest / 256)) {
    suffix.unshift(rest % 256);
  }
  return [...octets, ...suffix].map((o) => o.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/**
 * The MAC as a 48-bit number.
 *
 * @example
 *   macToNumber('00:00:00:00:01:00'); // 256
 */
export function macToNumber(mac: string): number {
  return parseInt(mac.replace(/[:-]/g, ''), 16);
}

/**
 * The serial number printed on the device: `HP` and the MAC as 15 decimal digits, so that it is
 * unique exactly when the MAC is.
 *
 * @example
 *   serialNumberFor('02:48:50:00:00:01'); // 'HP002509603078145'
 */
export function serialNumberFor(mac: string): string {
  return `HP${String(macToNumber(mac)).padStart(15, '0')}`;
}

/**
 * A 15-digit IMEI: a fixed TAC, the low six decimal digits of the MAC (as a number) as SNR,
 * and the Luhn check digit (3GPP TS 23.003 Annex B). Unique among a million consecutive MACs.
 *
 * @example
 *   imeiFor('02:48:50:00:00:01'); // '359601100781451'
 */
export function imeiFor(mac: string): string {
  const snr = String(macToNumber(mac) % 1_000_000).padStart(6, '0');
  const body = `${IMEI_TAC}${snr}`;
  return `${body}${luhnCheckDigit(body)}`;
}

/**
 * The Luhn check digit of a string of decimal digits (ISO/IEC 7812-1 Annex B).
 *
 * @example
 *   luhnCheckDigit('7992739871'); // 3
 */
export function luhnCheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) {
    throw new RangeError(`Cannot compute a Luhn digit of ${JSON.stringify(digits)}: not digits.`);
  }

  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Double every second digit counting from the right, starting with the rightmost.
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * Whether a string is a 15-digit IMEI whose last digit is its Luhn check digit.
 *
 * @example
 *   isValidImei('490154203237518'); // true
 */
export function isValidImei(imei: string): boolean {
  return /^\d{15}$/.test(imei) && luhnCheckDigit(imei.slice(0, 14)) === Number(imei[14]);
}

/**
 * The folder name of a device in a factory output: its MAC with dashes, which every file
 * system accepts.
 *
 * @example
 *   deviceFolderName('02:48:50:00:00:01'); // '02-48-50-00-00-01'
 */
export function deviceFolderName(mac: string): string {
  return mac.replace(/:/g, '-');
}
