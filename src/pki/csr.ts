import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { HomeportError } from '../errors.js';
import { firstElementLength } from './encoding.js';
import { OID, derElement, derOid, derSequence } from './der.js';
import { bytesOf, children, oidOf, readTlv, type Tlv } from './der-reader.js';
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
export function signCsr(
  issuer: Issuer,
  csr: string | Uint8Array,
  options: SignCsrOptions,
): Promise<x509.X509Certificate> {
  // Kept asynchronous for its callers; every failure arrives as a rejection.
  return new Promise((resolve) => resolve(signCsrNow(issuer, csr, options)));
}

function signCsrNow(
  issuer: Issuer,
  csr: string | Uint8Array,
  options: SignCsrOptions,
): x509.X509Certificate {
  const validityDays = checkValidityDays(options.validityDays ?? DEFAULT_CSR_VALIDITY_DAYS);
  const request = readCsr(csrDer(csr));
  const key = checkCsrKey(request.spki);
  checkCsrSignature(request, key);
  checkCsrSubject(request.commonNames, options.endpoint);

  const profile = PROFILES[options.profile];
  const { notBefore, notAfter } = validityPeriod(validityDays, options.now);
  const san = request.subjectAltName;

  return signWithDer(issuer, {
    subject: request.subject,
    spki: request.spki,
    notBefore,
    notAfter,
    extensions: [
      // RFC 5280 §4.2.1.9: an end entity.
      derExtension(OID.basicConstraints, true, derSequence()),
      // RFC 5280 §4.2.1.3: should be critical.
      derExtension(OID.keyUsage, true, derElement(0x03, profile.keyUsageBits)),
      derExtension(OID.extKeyUsage, false, derSequence(...profile.extendedKeyUsages.map(derOid))),
      ...(san ? [san] : []),
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

function checkCsrKey(spki: Uint8Array): KeyObject {
  const key = describeCsrKey(spki);
  if (key.object && key.accepted) return key.object;

  throw new HomeportError(
    'CSR_KEY_REJECTED',
    `Cannot sign CSR: its key is ${key.text}; accepted are EC P-256, EC P-384 and RSA of at ` +
      `least ${MIN_RSA_BITS} bits.`,
  );
}

function describeCsrKey(spki: Uint8Array): { object?: KeyObject; accepted: boolean; text: string } {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return { accepted: false, text: 'of a type Homeport cannot read' };
  }

  const { namedCurve, modulusLength } = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return {
        object: key,
        accepted: ACCEPTED_CURVES.has(namedCurve ?? ''),
        text: `EC ${namedCurve ?? 'with explicit curve parameters'}`,
      };
    case 'rsa':
      return {
        object: key,
        accepted: (modulusLength ?? 0) >= MIN_RSA_BITS,
        text: `RSA-${modulusLength}`,
      };
    default:
      return { accepted: false, text: key.asymmetricKeyType ?? 'of an unknown type' };
  }
}

function checkCsrSignature(request: CsrParts, key: KeyObject): void {
  const hash = SIGNATURE_HASHES[request.signatureAlgorithm];
  if (!hash) {
    throw csrInvalid(`its signature algorithm ${request.signatureAlgorithm} is not supported`);
  }
  // RFC 2986 §3: the signature proves the requester holds the private key.
  let valid = false;
  try {
    valid = verify(hash, request.info, key, request.signature);
  } catch {
    valid = false;
  }
  if (!valid) throw csrInvalid('its signature does not verify with its own public key');
}

function checkCsrSubject(names: string[], endpoint: string): void {
  if (names.length === 1 && names[0] === endpoint) return;

  const found =
    names.length === 0 ? 'no CN' : `CN ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  throw new HomeportError(
    'CSR_SUBJECT_MISMATCH',
    `Cannot sign CSR for endpoint ${JSON.stringify(endpoint)}: its subject has ${found}, ` +
      'which must be the endpoint name exactly.',
  );
}

// RFC 5758 §3.2 (ECDSA) and RFC 4055 §5 (RSA PKCS#1 v1.5): the algorithms a CSR may be signed with.
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** The parts of a PKCS#10 request (RFC 2986 §4) that signing needs, read straight off the DER. */
interface CsrParts {
  /** CertificationRequestInfo, the signed bytes. */
  info: Uint8Array;
  subject: Uint8Array;
  spki: Uint8Array;
  commonNames: string[];
  /** The requested subjectAltName, as a whole DER Extension. */
  subjectAltName?: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
}

function csrDer(csr: string | Uint8Array): Uint8Array {
  if (typeof csr !== 'string') {
    if (firstElementLength(csr) !== csr.length) {
      throw csrInvalid('its bytes are not exactly one DER structure');
    }
    return csr;
  }
  const match =
    /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([^-]*)-----END (NEW )?CERTIFICATE REQUEST-----/.exec(
      csr,
    );
  if (!match) throw csrInvalid('the text is not a PEM CERTIFICATE REQUEST');
  return new Uint8Array(Buffer.from((match[2] ?? '').replace(/\s+/g, ''), 'base64'));
}

function readCsr(der: Uint8Array): CsrParts {
  try {
    const [info, algorithm, signature] = children(der, readTlv(der, 0));
    if (!info || !algorithm || signature?.tag !== 0x03) throw new RangeError('not a CSR');
    const [version, subject, spki, attributes] = children(der, info);
    if (version?.tag !== 0x02 || subject?.tag !== 0x30 || spki?.tag !== 0x30) {
      throw new RangeError('not a CertificationRequestInfo');
    }
    const [oid] = children(der, algorithm);
    const san = attributes?.tag === 0xa0 ? requestedSan(der, attributes) : undefined;
    return {
      info: bytesOf(der, info),
      subject: bytesOf(der, subject),
      spki: bytesOf(der, spki),
      commonNames: commonNames(der, subject),
      ...(san && { subjectAltName: san }),
      signatureAlgorithm: oid ? oidOf(der, oid) : '',
      // BIT STRING: the first content octet counts unused bits, 0 for a signature.
      signature: der.subarray(signature.content + 1, signature.end),
    };
  } catch (err) {
    if (err instanceof HomeportError) throw err;
    throw csrInvalid('it is not a PKCS#10 certification request', err);
  }
}

const COMMON_NAME = '2.5.4.3';
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

function commonNames(der: Uint8Array, name: Tlv): string[] {
  const found: string[] = [];
  for (const rdn of children(der, name)) {
    for (const pair of children(der, rdn)) {
      const [type, value] = children(der, pair);
      if (!type || !value || oidOf(der, type) !== COMMON_NAME) continue;
      const text = Buffer.from(der.subarray(value.content, value.end));
      found.push(value.tag === 0x1e ? text.swap16().toString('utf16le') : text.toString('utf8'));
    }
  }
  return found;
}

// RFC 2985 §5.4.2: extensionRequest carries the extensions asked for, here the SAN.
function requestedSan(der: Uint8Array, attributes: Tlv): Uint8Array | undefined {
  for (const attribute of children(der, attributes)) {
    const [type, values] = children(der, attribute);
    if (!type || !values || oidOf(der, type) !== EXTENSION_REQUEST) continue;
    for (const extensions of children(der, values)) {
      for (const extension of children(der, extensions)) {
        const [oid] = children(der, extension);
        if (oid && oidOf(der, oid) === SUBJECT_ALT_NAME) return bytesOf(der, extension);
      }
    }
  }
  return undefined;
}

function csrInvalid(reason: string, cause?: unknown): HomeportError {
  const message = `Cannot sign CSR: ${reason}.`;
  return cause === undefined
    ? new HomeportError('CSR_INVALID', message)
    : new HomeportError('CSR_INVALID', message, { cause });
}
