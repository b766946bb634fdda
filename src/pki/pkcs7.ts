import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { HomeportError } from '../errors.js';
import { derElement, derExplicit, derInteger, derOid, derSequence, derSet } from './der.js';
import { base64Problem, wrap } from './encoding.js';
import { certificateFromDer } from './pem.js';
import type { x509 } from './x509.js';

// RFC 5652 §4 and §5.1
const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/**
 * Encodes certificates as a CMS certs-only message (RFC 5272 §4.1, RFC 7030 §4.1.3): a
 * ContentInfo holding SignedData version 1 with no digest algorithms, an encapContentInfo of
 * type id-data with no eContent, the certificates, and no signerInfos. Returns DER.
 *
 * @example
 *   const body = toBase64Lines(encodeCertsOnly([deviceIssuing.cert, deviceRoot.cert]));
 *   reply.type('application/pkcs7-mime; smime-type=certs-only').send(body);
 */
export function encodeCertsOnly(certs: readonly x509.X509Certificate[]): Uint8Array {
  if (certs.length === 0) {
    throw new RangeError('Cannot encode a certs-only message: the certificate list is empty.');
  }

  // Written with the DER primitives rather than pkijs: an EST server answers every enrollment
  // with one of these, and building it through pkijs cost several milliseconds each.
  const signedData = derSequence(
    derInteger(1), // version
    derSet(), // digestAlgorithms: none
    derSequence(derOid(ID_DATA)), // RFC 7030 §4.1.3: certs-only, so no eContent
    derElement(0xa0, Buffer.concat(certs.map((cert) => new Uint8Array(cert.rawData)))), // [0] IMPLICIT
    derSet(), // signerInfos: none
  );
  return new Uint8Array(derSequence(derOid(ID_SIGNED_DATA), derExplicit(0, signedData)));
}

/**
 * Decodes a CMS certs-only message (DER) into its certificates, in the order they appear.
 * Refuses with PKCS7_INVALID anything that is not a signedData ContentInfo holding at least one
 * X.509 certificate.
 *
 * @example
 *   const certs = decodeCertsOnly(fromBase64Body(await response.text()));
 */
export function decodeCertsOnly(der: Uint8Array): x509.X509Certificate[] {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) throw pkcs7Error('its bytes are not DER');
  if (parsed.offset !== der.length) {
    throw pkcs7Error(`${der.length - parsed.offset} bytes follow the ContentInfo`);
  }

  const contentInfo = parseOrFail(
    () => new pkijs.ContentInfo({ schema: parsed.result }),
    'it is not a CMS ContentInfo',
  );
  if (contentInfo.contentType !== ID_SIGNED_DATA) {
    throw pkcs7Error(
      `its content type is ${contentInfo.contentType}, not signedData (${ID_SIGNED_DATA})`,
    );
  }

  const signedData = parseOrFail(
    () => new pkijs.SignedData({ schema: contentInfo.content }),
    'its signedData content does not parse',
  );
  const items = signedData.certificates ?? [];
  if (items.length === 0) throw pkcs7Error('it holds no certificates');
  return items.map((item, index) => toX509(item, index + 1));
}

/**
 * Base64 of DER in 76-character lines separated by CRLF, the body format of EST responses
 * (RFC 7030 §4.1.3, RFC 2045 §6.8).
 *
 * @example
 *   toBase64Lines(der); // 'MIIC...\r\n...\r\n'
 */
export function toBase64Lines(der: Uint8Array): string {
  return wrap(Buffer.from(der).toString('base64'), 76)
    .map((line) => `${line}\r\n`)
    .join('');
}

/**
 * Decodes a base64 HTTP body such as an EST request or response, ignoring line breaks and any
 * other whitespace. Throws MALFORMED_BODY when what remains is not base64.
 *
 * @example
 *   const der = fromBase64Body('MIIB\r\nAAAA\r\n');
 */
export function fromBase64Body(text: string): Uint8Array {
  const base64 = text.replace(/\s+/g, '');
  const problem = base64.length === 0 ? 'it is empty' : base64Problem(base64);
  if (problem) {
    throw new HomeportError('MALFORMED_BODY', `Cannot decode the base64 body: ${problem}.`);
  }
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function toX509(item: pkijs.CertificateSetItem, number: number): x509.X509Certificate {
  if (!(item instanceof pkijs.Certificate)) {
    throw pkcs7Error(`certificate ${number} is not an X.509 certificate`);
  }

  const cert = certificateFromDer(new Uint8Array(item.toSchema().toBER(false)));
  if (typeof cert === 'string') throw pkcs7Error(`certificate ${number} is unusable: ${cert}`);
  return cert;
}

function parseOrFail<T>(parse: () => T, reason: string): T {
  try {
    return parse();
  } catch (err) {
    throw new HomeportError('PKCS7_INVALID', `Cannot read PKCS#7 certs-only: ${reason}.`, {
      cause: err,
    });
  }
}

function pkcs7Error(reason: string): HomeportError {
  return new HomeportError('PKCS7_INVALID', `Cannot read PKCS#7 certs-only: ${reason}.`);
}
