import { KeyObject, createHash, sign } from 'node:crypto';
import {
  OID,
  derBitString,
  derBoolean,
  derElement,
  derExplicit,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derTime,
  subjectPublicKeyBits,
} from './der.js';
import type { Issuer } from './issuer.js';
import { randomSerialNumber } from './serial.js';
import { x509 } from './x509.js';

// RFC 5758 §3.2: ecdsa-with-SHA256 for P-256 keys, ecdsa-with-SHA384 for P-384.
const ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';

/** What goes into an end-entity certificate besides what the issuer fixes. */
export interface TbsParams {
  /** The subject Name, DER, kept byte for byte. */
  subject: Uint8Array;
  /** The SubjectPublicKeyInfo, DER, kept byte for byte. */
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Each a DER Extension; the SKI and AKI are added here. */
  extensions: Uint8Array[];
}

/** One DER Extension (RFC 5280 §4.1): critical DEFAULT FALSE is left out when false. */
export function derExtension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  return derSequence(derOid(oid), ...(critical ? [derBoolean(true)] : []), derOctetString(value));
}

/**
 * Signs a certificate with node:crypto over DER written directly: what an EST server does for
 * every enrollment, where the generic ASN.1 schema library cost several milliseconds each. A
 * random 16-byte serial, the issuer's subject as issuer name, SKI from the key (RFC 5280
 * §4.2.1.2 method 1) and AKI from the issuer's SKI; notAfter never past the issuer's.
 *
 * @example
 *   const cert = signWithDer(deviceIssuing, { subject, spki, notBefore, notAfter, extensions });
 */
export function signWithDer(issuer: Issuer, params: TbsParams): x509.X509Certificate {
  const p384 = (issuer.key.algorithm as { namedCurve?: string }).namedCurve === 'P-384';
  const algorithm = derSequence(derOid(p384 ? ECDSA_WITH_SHA384 : OID.ecdsaWithSha256));
  const notAfter = params.notAfter > issuer.cert.notAfter ? issuer.cert.notAfter : params.notAfter;
  const keyId = createHash('sha1').update(subjectPublicKeyBits(params.spki)).digest();

  const tbs = derSequence(
    derExplicit(0, derInteger(2)), // v3
    derInteger(Buffer.from(randomSerialNumber(), 'hex')),
    algorithm,
    new Uint8Array(issuer.cert.subjectName.toArrayBuffer()),
    derSequence(derTime(params.notBefore), derTime(notAfter)),
    params.subject,
    params.spki,
    derExplicit(
      3,
      derSequence(
        ...params.extensions,
        derExtension(OID.subjectKeyIdentifier, false, derOctetString(keyId)),
        derExtension(
          OID.authorityKeyIdentifier,
          false,
          derSequence(derElement(0x80, issuerKeyId(issuer))),
        ),
      ),
    ),
  );
  const signature = sign(p384 ? 'sha384' : 'sha256', tbs, KeyObject.from(issuer.key));
  return new x509.X509Certificate(derSequence(tbs, algorithm, derBitString(signature)));
}

function issuerKeyId(issuer: Issuer): Buffer {
  const ski = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return Buffer.from(ski.keyId, 'hex');
  return createHash('sha1')
    .update(subjectPublicKeyBits(new Uint8Array(issuer.cert.publicKey.rawData)))
    .digest();
}
