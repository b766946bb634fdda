/** One DER element found in a buffer: its tag, where its content starts, and where it ends. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  content: number;
  /** Offset just past the element. */
  end: number;
}

/**
 * Reads the element at `offset` (X.690 §8.1: one-byte tags, definite lengths of up to four
 * octets, which is all PKIX uses). Throws RangeError for anything that does not fit.
 *
 * @example
 *   const csr = readTlv(der, 0); // the outer SEQUENCE
 *   const [info, algorithm, signature] = children(der, csr);
 */
export function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new RangeError('DER ends early');
  let content = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new RangeError('DER length form not supported');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[content + i] ?? NaN);
    content += octets;
  }
  const end = content + length;
  if (!Number.isFinite(end) || end > der.length) throw new RangeError('DER element overruns');
  return { tag, start: offset, content, end };
}

/** The elements inside a constructed element, in order. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.content; offset < parent.end;) {
    const child = readTlv(der, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** The whole encoding of an element, tag and length included. */
export function bytesOf(der: Uint8Array, tlv: Tlv): Uint8Array {
  return der.subarray(tlv.start, tlv.end);
}

/** An OBJECT IDENTIFIER's dotted text (X.690 §8.19). */
export function oidOf(der: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x06) throw new RangeError('not an OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.content; i < tlv.end; i++) {
    const byte = der[i] ?? 0;
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (parts.length === 0)
      parts.push(
        Math.min(2, Math.floor(value / 40)),
        value - Math.min(2, Math.floor(value / 40)) * 40,
      );
    else parts.push(value);
    value = 0;
  }
  return parts.join('.');
}
