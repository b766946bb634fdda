/**
 * Homeport's PKI: keys, CAs, server and device certificates, PEM bundles, PKCS#7 certs-only
 * messages, and the PKI every deployment keeps in its data directory.
 *
 * @example
 *   import { loadOrCreateDeploymentPki, signCsr } from '../pki/index.js';
 */
export { x509, type CryptoKey, type CryptoKeyPair } from './x509.js';
export {
  ensurePrivateDirectory,
  PRIVATE_DIR_MODE,
  PRIVATE_KEY_MODE,
  syncDirectory,
  writeFileAtomic,
  writePrivateKeyFile,
} from './files.js';
export {
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  importPublicKeyPem,
  privateKeyMatchesCertificate,
} from './keys.js';
export { randomSerialNumber, SERIAL_BYTES } from './serial.js';
export { CLOCK_SKEW_MS, type Issuer, type SubjectParams } from './issuer.js';
export { createIssuingCa, createRootCa, type CaParams } from './ca.js';
export {
  certificateHosts,
  issueServerCertificate,
  normalizeHost,
  type ServerCertificateParams,
  type ServerCredential,
} from './server-cert.js';
export {
  DEFAULT_CSR_VALIDITY_DAYS,
  MAX_CSR_VALIDITY_DAYS,
  parseCsr,
  signCsr,
  type CsrProfile,
  type SignCsrOptions,
} from './csr.js';
export {
  dedupeByFingerprint,
  fingerprint256,
  formatFingerprint,
  parsePemBundle,
  readPemBundleFile,
  toPemBundle,
  writePemBundleFile,
} from './pem.js';
export { decodeCertsOnly, encodeCertsOnly, fromBase64Body, toBase64Lines } from './pkcs7.js';
export {
  loadOrCreateDeploymentPki,
  type DeploymentPki,
  type DeploymentPkiOptions,
  type PkiLogger,
  type ServiceCredentialPem,
  type ServiceName,
} from './deployment-pki.js';
