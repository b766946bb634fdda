/**
 * A minimal DER encoder (ITU-T X.690) for the few structures a device and a production line
 * build by the thousand: certificates, CSRs and names. @peculiar/x509 does the same through a
 * generic ASN.1 schema at about 3 ms per certificate; this takes a few microseconds.
 *
 * @example
 *   const name = derName([[OID.commonName, '02:48:50:00:00:01']]);
 */

/** Object identifiers used by the device side. */
export const OID = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

// X.680 §41.4: the characters a PrintableString may hold.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * One DER element: tag, definite length (X.690 §8.1.3), content.
 *
 * @example
 *   derElement(0x04, Buffer.from('hi')); // OCTET STRING
 */
export function derElement(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** @example derSequence(derInteger(0), derOid(OID.commonName)); */
export function derSequence(...items: Uint8Array[]): Buffer {
  return derElement(0x30, Buffer.concat(items));
}

/** A SET OF; X.690 §11.6 wants the elements sorted, which callers with one element satisfy. */
export function derSet(...items: Uint8Array[]): Buffer {
  return derElement(0x31, Buffer.concat(items));
}

/**
 * A non-negative INTEGER from a small number or big-endian bytes, with the leading zero octet
 * that keeps it positive (X.690 §8.3.2).
 *
 * @example
 *   derInteger(2); derInteger(Buffer.from('7f01', 'hex'));
 */
export function derInteger(value: number | Uint8Array): Buffer {
  let bytes = typeof value === 'number' ? numberBytes(value) : Buffer.from(value);
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && bytes[start + 1] < 0x80) start++;
  bytes = bytes.subarray(start);
  if (bytes[0] >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return derElement(0x02, bytes);
}

/** @example derOid('2.5.4.3'); */
export function derOid(oid: string): Buffer {
  const [first, second, ...rest] = oid.split('.').map(Number);
  // X.690 §8.19.4: the first two arcs share one subidentifier.
  const arcs = [first * 40 + second, ...rest];
  const bytes: number[] = [];
  for (const arc of arcs) {
    const chunk = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      chunk.unshift((value & 0x7f) | 0x80);
    }
    bytes.push(...chunk);
  }
  return derElement(0x06, Buffer.from(bytes));
}

/** A BIT STRING with no unused bits (X.690 §8.6.2). */
export function derBitString(bytes: Uint8Array): Buffer {
  return derElement(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

export function derOctetString(bytes: Uint8Array): Buffer {
  return derElement(0x04, bytes);
}

export function derBoolean(value: boolean): Buffer {
  return derElement(0x01, Buffer.from([value ? 0xff : 0x00]));
}

/** Text as PrintableString when it fits that alphabet, else UTF8String (RFC 5280 §4.1.2.4). */
export function derDirectoryString(text: string): Buffer {
  return derElement(PRINTABLE.test(text) ? 0x13 : 0x0c, Buffer.from(text, 'utf8'));
}

/** An explicitly tagged, constructed context-specific element: `[n] EXPLICIT`. */
export function derExplicit(tagNumber: number, inner: Uint8Array): Buffer {
  return derElement(0xa0 | tagNumber, inner);
}

/**
 * A certificate time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5),
 * in seconds, always in Z.
 *
 * @example
 *   derTime(new Date('2046-01-01T00:00:00Z')); // UTCTime 460101000000Z
 */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2046-01-01T00:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return derElement(0x17, Buffer.from(`${digits.slice(2)}Z`));
  return derElement(0x18, Buffer.from(`${digits}Z`));
}

/**
 * A distinguished name with one attribute per RDN, in the order given (RFC 5280 §4.1.2.4).
 *
 * @example
 *   derName([[OID.commonName, 'AA:BB:CC:DD:EE:FF'], [OID.organization, 'Homeport']]);
 */
export function derName(attributes: readonly (readonly [string, string])[]): Buffer {
  const rdns = attributes.map(([oid, value]) =>
    derSet(derSequence(derOid(oid), derDirectoryString(value))),
  );
  return derSequence(...rdns);
}

/**
 * The content octets of the subjectPublicKey BIT STRING of a SubjectPublicKeyInfo, without the
 * unused-bits octet: what RFC 5280 §4.2.1.2 method (1) hashes into a key identifier.
 *
 * @example
 *   createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
 */
export function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  const outer = readHeader(spki, 0);
  const algorithm = readHeader(spki, outer.contentStart);
  const bitString = readHeader(spki, algorithm.end);
  if (outer.tag !== 0x30 || algorithm.tag !== 0x30 || bitString.tag !== 0x03) {
    throw new RangeError('Cannot read the public key: the bytes are not a SubjectPublicKeyInfo.');
  }
  return spki.subarray(bitString.contentStart + 1, bitString.end);
}

/**
 * DER as a PEM block (a certificate unless `label` says otherwise), in 64-character lines
 * (RFC 7468 §2).
 *
 * @example
 *   pemOf(der); // '-----BEGIN CERTIFICATE-----\nMIIB...'
 */
export function pemOf(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function readHeader(der: Uint8Array, offset: number) {
  const tag = der[offset];
  let length = der[offset + 1];
  let contentStart = offset + 2;
  if (length >= 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i];
    contentStart += count;
  }
  return { tag, contentStart, end: contentStart + length };
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes = numberBytes(length);
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

function numberBytes(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot encode ${value} in DER: it is not a non-negative integer.`);
  }
  const bytes: number[] = [];
  for (let rest = value; rest > 0 || bytes.length === 0; rest = Math.floor(rest / 256)) {
    bytes.unshift(rest % 256);
  }
  return Buffer.from(bytes);
}
