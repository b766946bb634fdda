import { createPublicKey, type KeyObject } from 'node:crypto';
import { HomeportError } from '../errors.js';
import { firstElementLength, toBytes } from './encoding.js';
import { OID, derElement, derOid, derSequence } from './der.js';
import { validityPeriod, type Issuer } from './issuer.js';
import { derExtension, signWithDer } from './sign-der.js';
import { x509 } from './x509.js';

/**
 * The kinds of certificate {@link signCsr} issues. Each profile fixes the extensions of the
 * certificate; add a profile here and in PROFILES.
 */
export type CsrProfile = 'device-client';

/** How to sign a CSR. */
export interface SignCsrOptions {
  profile: CsrProfile;
  /** The device's endpoint name: the CSR's subject CN must equal it exactly. */
  endpoint: string;
  /** Default 365, at most 825. */
  validityDays?: number;
  now?: Date;
}

interface Profile {
  extendedKeyUsages: string[];
  /** The keyUsage BIT STRING's content: unused-bit count, then the bits (RFC 5280 §4.2.1.3). */
  keyUsageBits: Uint8Array;
}

const PROFILES: Record<CsrProfile, Profile> = {
  // A device authenticates itself to the Management Server in mutual TLS.
  'device-client': {
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
    // digitalSignature (bit 0) alone: 7 unused bits, then 1000 0000.
    keyUsageBits: new Uint8Array([0x07, 0x80]),
  },
};

export const DEFAULT_CSR_VALIDITY_DAYS = 365;
// CA/B Baseline Requirements (2018) limit on a TLS certificate's lifetime.
export const MAX_CSR_VALIDITY_DAYS = 825;
const MIN_RSA_BITS = 2048;
const ACCEPTED_CURVES = new Set(['prime256v1', 'secp384r1']);
const SUBJECT_ALT_NAME = '2.5.29.17';

/**
 * Issues a certificate for a PKCS#10 CSR (PEM or DER) after checking it: its self-signature
 * must verify (CSR_INVALID), its key must be EC P-256, EC P-384 or RSA of at least 2048 bits
 * (CSR_KEY_REJECTED), and its subject CN must be the endpoint (CSR_SUBJECT_MISMATCH). The
 * certificate keeps the CSR's subject and requested subjectAltName, gets the profile's key
 * usages, a random 16-byte serial, and is valid from 5 minutes ago for `validityDays`.
 *
 * @example
 *   const cert = await signCsr(deviceIssuing, body, {
 *     profile: 'device-client',
 *     endpoint: '00:0a:14:81:2c:3d',
 *   });
 */
export async function signCsr(
  issuer: Issuer,
  csr: string | Uint8Array,
  options: SignCsrOptions,
): Promise<x509.X509Certificate> {
  const validityDays = checkValidityDays(options.validityDays ?? DEFAULT_CSR_VALIDITY_DAYS);
  const request = parseCsr(csr);
  checkCsrKey(request);
  await checkCsrSignature(request);
  checkCsrSubject(request, options.endpoint);

  const profile = PROFILES[options.profile];
  const { notBefore, notAfter } = validityPeriod(validityDays, options.now);
  const san = request.getExtension(SUBJECT_ALT_NAME);

  return signWithDer(issuer, {
    subject: new Uint8Array(request.subjectName.toArrayBuffer()),
    spki: new Uint8Array(request.publicKey.rawData),
    notBefore,
    notAfter,
    extensions: [
      // RFC 5280 §4.2.1.9: an end entity.
      derExtension(OID.basicConstraints, true, derSequence()),
      // RFC 5280 §4.2.1.3: should be critical.
      derExtension(OID.keyUsage, true, derElement(0x03, profile.keyUsageBits)),
      derExtension(OID.extKeyUsage, false, derSequence(...profile.extendedKeyUsages.map(derOid))),
      ...(san ? [new Uint8Array(san.rawData)] : []),
    ],
  });
}

/**
 * Parses a PKCS#10 CSR from PEM text or DER bytes, refusing anything else with CSR_INVALID.
 *
 * @example
 *   parseCsr(pem).subject; // 'CN=00:0a:14:81:2c:3d'
 */
export function parseCsr(csr: string | Uint8Array): x509.Pkcs10CertificateRequest {
  if (typeof csr === 'string' && !/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(csr)) {
    throw csrInvalid('the text is not a PEM CERTIFICATE REQUEST');
  }

  if (typeof csr !== 'string' && firstElementLength(csr) !== csr.length) {
    throw csrInvalid('its bytes are not exactly one DER structure');
  }

  try {
    return new x509.Pkcs10CertificateRequest(typeof csr === 'string' ? csr : csr.slice());
  } catch (err) {
    throw csrInvalid('it is not a PKCS#10 certification request', err);
  }
}

function checkValidityDays(days: number): number {
  if (Number.isInteger(days) && days >= 1 && days <= MAX_CSR_VALIDITY_DAYS) return days;
  throw new RangeError(
    `Cannot sign a CSR for ${days} days: validityDays must be a whole number from 1 to ` +
      `${MAX_CSR_VALIDITY_DAYS}.`,
  );
}

function checkCsrKey(request: x509.Pkcs10CertificateRequest): void {
  const key = describeCsrKey(request);
  if (key.accepted) return;

  throw new HomeportError(
    'CSR_KEY_REJECTED',
    `Cannot sign CSR: its key is ${key.text}; accepted are EC P-256, EC P-384 and RSA of at ` +
      `least ${MIN_RSA_BITS} bits.`,
  );
}

function describeCsrKey(request: x509.Pkcs10CertificateRequest): {
  accepted: boolean;
  text: string;
} {
  let key: KeyObject;
  try {
    const spki = Buffer.from(toBytes(request.publicKey.rawData));
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return { accepted: false, text: 'of a type Homeport cannot read' };
  }

  const { namedCurve, modulusLength } = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return {
        accepted: ACCEPTED_CURVES.has(namedCurve ?? ''),
        text: `EC ${namedCurve ?? 'with explicit curve parameters'}`,
      };
    case 'rsa':
      return { accepted: (modulusLength ?? 0) >= MIN_RSA_BITS, text: `RSA-${modulusLength}` };
    default:
      return { accepted: false, text: key.asymmetricKeyType ?? 'of an unknown type' };
  }
}

async function checkCsrSignature(request: x509.Pkcs10CertificateRequest): Promise<void> {
  // RFC 2986 §3: the signature proves the requester holds the private key.
  const valid = await request.verify().catch(() => false);
  if (!valid) throw csrInvalid('its signature does not verify with its own public key');
}

function checkCsrSubject(request: x509.Pkcs10CertificateRequest, endpoint: string): void {
  const names = request.subjectName.getField('CN');
  if (names.length === 1 && names[0] === endpoint) return;

  const found =
    names.length === 0 ? 'no CN' : `CN ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  throw new HomeportError(
    'CSR_SUBJECT_MISMATCH',
    `Cannot sign CSR for endpoint ${JSON.stringify(endpoint)}: its subject has ${found}, ` +
      'which must be the endpoint name exactly.',
  );
}

function csrInvalid(reason: string, cause?: unknown): HomeportError {
  const message = `Cannot sign CSR: ${reason}.`;
  return cause === undefined
    ? new HomeportError('CSR_INVALID', message)
    : new HomeportError('CSR_INVALID', message, { cause });
}
