// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata
// polyfill loaded before the library itself.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/** A WebCrypto key as Node's webcrypto implements it. */
export type CryptoKey = webcrypto.CryptoKey;

/** A WebCrypto key pair as Node's webcrypto implements it. */
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * @peculiar/x509 with Node's WebCrypto installed as its provider. Import it from here, not
 * from the package, so that the provider is always set before the first certificate is built.
 *
 * @example
 *   import { x509 } from './x509.js';
 *   const cert = new x509.X509Certificate(pem);
 */
export { x509 };
