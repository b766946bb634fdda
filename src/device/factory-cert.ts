import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import { x509, type Issuer } from '../pki/index.js';
import {
  derBitString,
  derBoolean,
  derElement,
  derExplicit,
  derInteger,
  derName,
  derOctetString,
  derOid,
  derSequence,
  derTime,
  OID,
  pemOf,
  subjectPublicKeyBits,
} from '../pki/der.js';

/** What a factory certificate names: the device's MAC, its serial and its maker. */
export interface FactorySubject {
  mac: string;
  serial: string;
  manufacturer: string;
}

/** A freshly made factory credential, PEM. */
export interface FactoryCredentialPem {
  keyPem: string;
  certPem: string;
}

const SIGNATURE_ALGORITHM = derSequence(derOid(OID.ecdsaWithSha256));

/**
 * Signs factory ("birth") certificates in bulk with node:crypto: the parts common to every
 * certificate of a batch (issuer, validity, extensions) are encoded once, so one certificate
 * costs a key generation and one ECDSA signature, well under a millisecond.
 *
 * Each certificate: subject `CN=<MAC>, serialNumber=<serial>, O=<manufacturer>` in that order,
 * a fresh ECDSA P-256 key, basicConstraints CA:false, keyUsage digitalSignature, EKU clientAuth,
 * subject and authority key identifiers, ecdsa-with-SHA256.
 *
 * @example
 *   const signer = new FactoryCertificateSigner(manufacturerCa, { validityDays: 7305 });
 *   const { keyPem, certPem } = signer.issue({ mac, serial, manufacturer: 'Homeport' });
 */
export class FactoryCertificateSigner {
  private readonly caKey: KeyObject;
  private readonly issuerName: Uint8Array;
  private readonly validity: Buffer;
  private readonly fixedExtensions: Buffer[];

  constructor(issuer: Issuer, options: { validityDays: number; now?: Date }) {
    this.caKey = KeyObject.from(issuer.key);
    this.issuerName = new Uint8Array(issuer.cert.subjectName.toArrayBuffer());
    this.validity = validityOf(issuer, options.validityDays, options.now ?? new Date());
    this.fixedExtensions = [
      // RFC 5280 §4.2.1.9: an end entity, marked critical.
      extension(OID.basicConstraints, true, derSequence()),
      // RFC 5280 §4.2.1.3: an ECDSA key that signs TLS handshakes; digitalSignature is bit 0.
      extension(OID.keyUsage, true, derElement(0x03, Buffer.from([0x07, 0x80]))),
      // RFC 5280 §4.2.1.12: id-kp-clientAuth, for mutual TLS to the Bootstrap Server.
      extension(OID.extKeyUsage, false, derSequence(derOid(OID.clientAuth))),
      // RFC 5280 §4.2.1.1: keyIdentifier [0] of the CA's subjectKeyIdentifier.
      extension(OID.authorityKeyIdentifier, false, derSequence(derElement(0x80, caKeyId(issuer)))),
    ];
  }

  /** Makes a key pair and the certificate for it. */
  issue(subject: FactorySubject): FactoryCredentialPem {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const tbs = this.tbsCertificate(subject, spki);
    const signature = sign('sha256', tbs, this.caKey);
    const der = derSequence(tbs, SIGNATURE_ALGORITHM, derBitString(signature));

    return {
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      certPem: pemOf(der),
    };
  }

  private tbsCertificate(subject: FactorySubject, spki: Buffer): Buffer {
    // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
    const keyId = createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
    return derSequence(
      derExplicit(0, derInteger(2)), // v3
      derInteger(serialNumber()),
      SIGNATURE_ALGORITHM,
      this.issuerName,
      this.validity,
      derName([
        [OID.commonName, subject.mac],
        [OID.serialNumber, subject.serial],
        [OID.organization, subject.manufacturer],
      ]),
      spki,
      derExplicit(
        3,
        derSequence(
          ...this.fixedExtensions,
          extension(OID.subjectKeyIdentifier, false, derOctetString(keyId)),
        ),
      ),
    );
  }
}

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  // RFC 5280 §4.1: critical DEFAULT FALSE, so DER leaves it out when false.
  const flag = critical ? [derBoolean(true)] : [];
  return derSequence(derOid(oid), ...flag, derOctetString(value));
}

function serialNumber(): Buffer {
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random bytes with the top bit cleared.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0] & 0x7f || 0x01;
  return bytes;
}

function validityOf(issuer: Issuer, days: number, now: Date): Buffer {
  const notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  const wanted = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  // A certificate never outlives its issuer.
  const notAfter = wanted > issuer.cert.notAfter ? issuer.cert.notAfter : wanted;
  return derSequence(derTime(notBefore), derTime(notAfter));
}

function caKeyId(issuer: Issuer): Buffer {
  const ski = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return Buffer.from(ski.keyId, 'hex');
  const spki = Buffer.from(issuer.cert.publicKey.rawData);
  return createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
}
