import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHomeportError } from '../../src/errors.js';
import {
  createIssuingCa,
  createRootCa,
  decodeCertsOnly,
  encodeCertsOnly,
  fingerprint256,
  fromBase64Body,
  toBase64Lines,
  type Issuer,
} from '../../src/pki/index.js';
import { openssl, tempDir, writePem } from './helpers.js';

function pkcs7Reason(der: Uint8Array): string {
  try {
    decodeCertsOnly(der);
  } catch (err) {
    if (isHomeportError(err, 'PKCS7_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected PKCS7_INVALID');
}

describe('PKCS#7 certs-only messages', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: Issuer;
  let issuing: Issuer;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = await createRootCa({ commonName: 'P7 Root', validityDays: 30 });
    issuing = await createIssuingCa(root, { commonName: 'P7 Issuing', validityDays: 30 });
  });

  afterAll(async () => cleanup());

  it('openssl pkcs7 -print_certs lists the encoded certificates in order', async () => {
    const der = encodeCertsOnly([issuing.cert, root.cert]);
    const out = await openssl(['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], der);
    const subjects = out.split('\n').filter((line) => line.startsWith('subject='));
    expect(subjects).toEqual(['subject=CN = P7 Issuing', 'subject=CN = P7 Root']);
  });

  it('the message is SignedData v1 with no digest algorithms, no eContent and no signers', () => {
    const der = encodeCertsOnly([issuing.cert]);
    const contentInfo = pkijs.ContentInfo.fromBER(der);
    expect(contentInfo.contentType).toBe('1.2.840.113549.1.7.2');
    const signed = new pkijs.SignedData({ schema: contentInfo.content });
    expect(signed.version).toBe(1);
    expect(signed.digestAlgorithms).toHaveLength(0);
    expect(signed.encapContentInfo.eContentType).toBe('1.2.840.113549.1.7.1');
    expect(signed.encapContentInfo.eContent).toBeUndefined();
    expect(signed.signerInfos).toHaveLength(0);
    expect(signed.certificates).toHaveLength(1);
  });

  it('openssl asn1parse shows id-data followed directly by the certificates', async () => {
    const out = await openssl(['asn1parse', '-inform', 'DER'], encodeCertsOnly([root.cert]));
    const lines = out.split('\n');
    const data = lines.findIndex((line) => line.includes(':pkcs7-data'));
    expect(data).toBeGreaterThan(0);
    // encapContentInfo is a SEQUENCE of 11 bytes: the 9-byte OID and its header, nothing else.
    expect(lines[data - 1]).toMatch(/d=3 +hl=2 l= +11 cons: SEQUENCE/);
    expect(lines[data]).toMatch(/d=4 /);
    // What follows is its sibling, the [0] certificates set, not an [0] eContent inside it.
    expect(lines[data + 1]).toMatch(/d=3 +hl=\d l= *\d+ cons: cont \[ 0 \]/);
  });

  it('decodes a bundle made by openssl crl2pkcs7, byte for byte', async () => {
    const certfile = await writePem(dir, 'chain.pem', [issuing.cert, root.cert]);
    const p7 = join(dir, 'chain.p7b');
    await openssl(['crl2pkcs7', '-nocrl', '-certfile', certfile, '-outform', 'DER', '-out', p7]);
    const certs = decodeCertsOnly(new Uint8Array(await readFile(p7)));
    expect(certs.map(fingerprint256)).toEqual([issuing.cert, root.cert].map(fingerprint256));
  });

  it('encode then decode returns the same certificates', () => {
    const certs = decodeCertsOnly(encodeCertsOnly([root.cert, issuing.cert]));
    expect(certs.map(fingerprint256)).toEqual([root.cert, issuing.cert].map(fingerprint256));
  });

  it('garbage, trailing bytes and an empty list are refused', () => {
    expect(pkcs7Reason(new Uint8Array([1, 2, 3]))).toMatch(/^Cannot read PKCS#7 certs-only: /);
    const der = encodeCertsOnly([root.cert]);
    expect(pkcs7Reason(new Uint8Array([...der, 0, 0]))).toMatch(/2 bytes follow the ContentInfo/);
    expect(() => encodeCertsOnly([])).toThrow(RangeError);
  });

  it('a ContentInfo of another type is refused naming that type', () => {
    const data = new pkijs.ContentInfo({
      contentType: '1.2.840.113549.1.7.1',
      content: new asn1js.OctetString({ valueHex: new Uint8Array([1, 2]).buffer }),
    });
    const der = new Uint8Array(data.toSchema().toBER());
    expect(pkcs7Reason(der)).toBe(
      'Cannot read PKCS#7 certs-only: its content type is 1.2.840.113549.1.7.1, ' +
        'not signedData (1.2.840.113549.1.7.2).',
    );
  });

  it('a signedData without certificates is refused', () => {
    const signed = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    });
    const info = new pkijs.ContentInfo({
      contentType: '1.2.840.113549.1.7.2',
      content: signed.toSchema(),
    });
    expect(pkcs7Reason(new Uint8Array(info.toSchema().toBER()))).toMatch(/holds no certificates/);
  });

  it('EST bodies: base64 in 76-character CRLF lines, read back with any whitespace', () => {
    const der = encodeCertsOnly([issuing.cert, root.cert]);
    const body = toBase64Lines(der);
    const lines = body.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -2).every((line) => line.length === 76)).toBe(true);
    expect(body).not.toMatch(/[^\r]\n/);

    expect(fromBase64Body(body)).toEqual(der);
    expect(fromBase64Body(` ${body.replace(/\r\n/g, '\n\t')} `)).toEqual(der);
  });

  it('a body that is not base64 is refused with MALFORMED_BODY', () => {
    expect(() => fromBase64Body('MIIB*AAA')).toThrow(/character "\*" at offset 4 is not base64/);
    expect(() => fromBase64Body('\r\n')).toThrow(/it is empty/);
    try {
      fromBase64Body('abc');
    } catch (err) {
      expect(isHomeportError(err, 'MALFORMED_BODY')).toBe(true);
    }
  });
});
