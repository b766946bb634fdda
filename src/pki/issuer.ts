import { randomSerialNumber } from './serial.js';
import { x509, type CryptoKey } from './x509.js';

/**
 * A CA that can sign: its certificate, its private key, and its chain, which starts with its
 * own certificate and ends with the root (a root's chain is just itself).
 */
export interface Issuer {
  cert: x509.X509Certificate;
  key: CryptoKey;
  chain: x509.X509Certificate[];
}

/** The subject of a CA or server certificate, written in this RDN order: O, then CN. */
export interface SubjectParams {
  commonName: string;
  organization?: string;
}

/** What {@link signWithIssuer} needs besides the issuer. */
export interface SignParams {
  subject: x509.Name | x509.JsonName;
  publicKey: x509.PublicKey | CryptoKey;
  notBefore: Date;
  notAfter: Date;
  extensions: x509.Extension[];
}

/** How far notBefore is set in the past, so that a device whose clock is behind accepts it. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

// RFC 5280 Appendix A.1: ub-common-name INTEGER ::= 64
const MAX_COMMON_NAME = 64;

/**
 * Builds a subject name in the order written: O first, then CN. @peculiar/x509 keeps the order
 * of the JSON form as given, and a JSON name needs no escaping of commas or plus signs.
 *
 * @example
 *   subjectName({ organization: 'Homeport', commonName: 'Homeport Device Root CA' });
 */
export function subjectName(params: SubjectParams): x509.JsonName {
  const { commonName, organization } = params;
  if (commonName.length === 0 || commonName.length > MAX_COMMON_NAME) {
    throw new RangeError(
      `Cannot build a subject with commonName ${JSON.stringify(commonName)}: ` +
        `it must be 1 to ${MAX_COMMON_NAME} characters long.`,
    );
  }

  const name: x509.JsonName = [];
  if (organization !== undefined) name.push({ O: [organization] });
  name.push({ CN: [commonName] });
  return name;
}

/**
 * The validity period of a new certificate: from 5 minutes before `now` (clock skew) until
 * `validityDays` after `now`.
 *
 * @example
 *   const { notBefore, notAfter } = validityPeriod(397);
 */
export function validityPeriod(
  validityDays: number,
  now: Date = new Date(),
): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(validityDays) || validityDays < 1) {
    throw new RangeError(
      `Cannot set a validity of ${validityDays} days: it must be a whole number of at least 1.`,
    );
  }

  return {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
  };
}

/**
 * The authorityKeyIdentifier of a certificate signed by `issuer`: the keyIdentifier of the
 * issuer's subjectKeyIdentifier, computed from its key if the certificate lacks one.
 * RFC 5280 §4.2.1.1
 *
 * @example
 *   extensions.push(await authorityKeyIdentifier(issuer));
 */
export async function authorityKeyIdentifier(
  issuer: Issuer,
): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey);
}

/**
 * Signs a certificate with an issuer's key: a random 16-byte serial, the issuer's subject as
 * issuer name (its DER kept as is), ECDSA with the hash that matches the issuer's curve. The
 * certificate never outlives its issuer: notAfter is cut to the issuer's notAfter.
 *
 * @example
 *   const period = validityPeriod(30);
 *   const cert = await signWithIssuer(issuer, { subject, publicKey, ...period, extensions: [] });
 */
export async function signWithIssuer(
  issuer: Issuer,
  params: SignParams,
): Promise<x509.X509Certificate> {
  const notAfter = params.notAfter > issuer.cert.notAfter ? issuer.cert.notAfter : params.notAfter;
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: params.subject,
    issuer: issuer.cert.subjectName,
    notBefore: params.notBefore,
    notAfter,
    publicKey: params.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: signingAlgorithm(issuer.key),
    extensions: params.extensions,
  });
}

/**
 * The signature algorithm for an ECDSA key: SHA-256 for P-256, SHA-384 for P-384
 * (RFC 5758 §3.2, ecdsa-with-SHA256 / ecdsa-with-SHA384).
 *
 * @example
 *   signingAlgorithm(key); // { name: 'ECDSA', hash: 'SHA-256' }
 */
export function signingAlgorithm(key: CryptoKey): { name: 'ECDSA'; hash: string } {
  const curve = (key.algorithm as { namedCurve?: string }).namedCurve;
  return { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
}
