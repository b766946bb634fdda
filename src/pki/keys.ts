import { createPrivateKey, createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import { HomeportError } from '../errors.js';
import { encodePem, toBytes } from './encoding.js';
import type { CryptoKey, CryptoKeyPair, x509 } from './x509.js';

/** The curves Homeport's own keys use, by their WebCrypto and OpenSSL names. */
const CURVES: Record<string, 'P-256' | 'P-384'> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
};

/**
 * Generates an extractable ECDSA P-256 key pair, the key type of every Homeport CA and server
 * certificate.
 *
 * @example
 *   const { privateKey, publicKey } = await generateKeyPair();
 */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
}

/**
 * Exports a private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 5958).
 *
 * @example
 *   await writePrivateKeyFile(path, await exportPrivateKeyPem(keys.privateKey));
 */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return encodePem('PRIVATE KEY', der);
}

/**
 * Exports a public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
 *
 * @example
 *   const pem = await exportPublicKeyPem(keys.publicKey);
 */
export async function exportPublicKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', key);
  return encodePem('PUBLIC KEY', der);
}

/**
 * Imports an ECDSA P-256 or P-384 private key from PEM (PKCS#8, or the SEC 1
 * `EC PRIVATE KEY` form OpenSSL writes) as an extractable signing key.
 *
 * @example
 *   const key = await importPrivateKeyPem(await readFile(keyPath, 'utf8'));
 */
export async function importPrivateKeyPem(pem: string, source = 'private key'): Promise<CryptoKey> {
  const keyObject = parseKey(() => createPrivateKey({ key: pem, format: 'pem' }), source);
  const namedCurve = ecCurveOf(keyObject, source);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, true, ['sign']);
}

/**
 * Imports an ECDSA P-256 or P-384 public key from SubjectPublicKeyInfo PEM.
 *
 * @example
 *   const key = await importPublicKeyPem(pem);
 */
export async function importPublicKeyPem(pem: string, source = 'public key'): Promise<CryptoKey> {
  const keyObject = parseKey(() => createPublicKey({ key: pem, format: 'pem' }), source);
  const namedCurve = ecCurveOf(keyObject, source);
  const der = keyObject.export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve }, true, ['verify']);
}

/**
 * Tells whether a private key belongs to a certificate, by comparing the public key derived
 * from it with the certificate's SubjectPublicKeyInfo.
 *
 * @example
 *   if (!privateKeyMatchesCertificate(key, cert)) throw new Error('wrong key');
 */
export function privateKeyMatchesCertificate(key: CryptoKey, cert: x509.X509Certificate): boolean {
  const derived = createPublicKey(KeyObject.from(key)).export({ type: 'spki', format: 'der' });
  return Buffer.compare(derived, toBytes(cert.publicKey.rawData)) === 0;
}

function parseKey(parse: () => KeyObject, source: string): KeyObject {
  try {
    return parse();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new HomeportError('PEM_INVALID', `Cannot read ${source}: ${reason}.`, { cause: err });
  }
}

function ecCurveOf(keyObject: KeyObject, source: string): 'P-256' | 'P-384' {
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  const namedCurve = curve === undefined ? undefined : CURVES[curve];
  if (keyObject.asymmetricKeyType === 'ec' && namedCurve) return namedCurve;

  const type = keyObject.asymmetricKeyType ?? 'unknown';
  const found = type === 'ec' ? `an EC ${curve} key` : `a key of type ${type}`;
  throw new HomeportError(
    'PEM_INVALID',
    `Cannot read ${source}: it is ${found}; Homeport keys are ECDSA P-256 or P-384.`,
  );
}
