import {
  authorityKeyIdentifier,
  signingAlgorithm,
  signWithIssuer,
  subjectName,
  validityPeriod,
  type Issuer,
  type SubjectParams,
} from './issuer.js';
import { generateKeyPair } from './keys.js';
import { randomSerialNumber } from './serial.js';
import { x509 } from './x509.js';

export type { Issuer } from './issuer.js';

/** What a new CA certificate says about itself. */
export interface CaParams extends SubjectParams {
  validityDays: number;
  now?: Date;
}

// RFC 5280 §4.2.1.3: a CA key signs certificates and CRLs, nothing else.
const CA_KEY_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/**
 * Creates a self-signed root CA with a fresh ECDSA P-256 key: basicConstraints CA:true with
 * pathLen 1 (one issuing CA below it), keyUsage keyCertSign and cRLSign, both critical, and a
 * subjectKeyIdentifier.
 *
 * @example
 *   const root = await createRootCa({ commonName: 'Homeport Device Root CA', validityDays: 7305 });
 */
export async function createRootCa(params: CaParams): Promise<Issuer> {
  const subject = subjectName(params);
  const { notBefore, notAfter } = validityPeriod(params.validityDays, params.now);
  const keys = await generateKeyPair();

  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: subject,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      // RFC 5280 §4.2.1.9: critical in CA certificates.
      new x509.BasicConstraintsExtension(true, 1, true),
      // RFC 5280 §4.2.1.3: should be critical.
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      // RFC 5280 §4.2.1.2: required in CA certificates.
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });

  return { cert, key: keys.privateKey, chain: [cert] };
}

/**
 * Creates an issuing (intermediate) CA signed by `parent`, with a fresh ECDSA P-256 key:
 * basicConstraints CA:true pathLen 0 (it signs only end-entity certificates), keyUsage
 * keyCertSign and cRLSign, subjectKeyIdentifier, and authorityKeyIdentifier = the parent's SKI.
 *
 * @example
 *   const issuing = await createIssuingCa(root, { commonName: 'Issuing CA', validityDays: 3653 });
 *   issuing.chain; // [issuing.cert, root.cert]
 */
export async function createIssuingCa(parent: Issuer, params: CaParams): Promise<Issuer> {
  const subject = subjectName(params);
  const { notBefore, notAfter } = validityPeriod(params.validityDays, params.now);
  const keys = await generateKeyPair();

  const cert = await signWithIssuer(parent, {
    subject,
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
    extensions: [
      // RFC 5280 §4.2.1.9: pathLenConstraint 0, only end-entity certificates may follow.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      // RFC 5280 §4.2.1.1: required in every certificate not self-signed.
      await authorityKeyIdentifier(parent),
    ],
  });

  return { cert, key: keys.privateKey, chain: [cert, ...parent.chain] };
}
