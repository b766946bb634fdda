/**
 * Finds what makes a whitespace-free base64 text invalid: a character outside the alphabet,
 * padding before the end, or a length that is not a multiple of 4 (RFC 4648 §4).
 *
 * @example
 *   base64Problem('AAA*'); // 'character "*" at offset 3 is not base64'
 */
export function base64Problem(text: string): string | undefined {
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return `character ${JSON.stringify(text[bad])} at offset ${bad} is not base64`;

  const pad = text.indexOf('=');
  if (pad >= 0 && !/^={1,2}$/.test(text.slice(pad))) {
    return `padding '=' at offset ${pad} is not at the end`;
  }

  if (text.length % 4 !== 0) return `its length ${text.length} is not a multiple of 4`;
  return undefined;
}

/**
 * Encodes DER as a PEM block: 64-character base64 lines between BEGIN and END lines, ending
 * with a newline (RFC 7468 §2).
 *
 * @example
 *   encodePem('CERTIFICATE', cert.rawData); // "-----BEGIN CERTIFICATE-----\nMIIB...\n"
 */
export function encodePem(label: string, der: ArrayBuffer | Uint8Array): string {
  const lines = wrap(Buffer.from(toBytes(der)).toString('base64'), 64);
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n');
}

/**
 * Splits a string into lines of at most `width` characters.
 *
 * @example
 *   wrap('abcdef', 4); // ['abcd', 'ef']
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines;
}

/**
 * The total length (header and content) that the first element of `der` declares, read from
 * its tag and length octets only, or undefined when the header is not DER. Used to refuse
 * trailing bytes after a structure, which the parsers ignore, without parsing it twice.
 *
 * @example
 *   firstElementLength(der) === der.length; // exactly one element, nothing after it
 */
export function firstElementLength(der: Uint8Array): number | undefined {
  let offset = 1;
  // X.690 §8.1.2.4: high tag numbers continue while bit 8 is set.
  if ((der[0] & 0x1f) === 0x1f) {
    while (offset < der.length && der[offset] & 0x80) offset++;
    offset++;
  }
  if (offset >= der.length) return undefined;

  const first = der[offset++];
  if (first < 0x80) return offset + first;

  // X.690 §10.1: DER uses the definite form; 0x80 (indefinite) is BER only.
  const count = first & 0x7f;
  if (count === 0 || count > 4 || offset + count > der.length) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + der[offset++];
  return offset + length;
}

/**
 * A Uint8Array view of binary data, without copying.
 *
 * @example
 *   toBytes(cert.rawData).length;
 */
export function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(data);
}
