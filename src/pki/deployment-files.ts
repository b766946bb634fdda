import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HomeportError } from '../errors.js';
import { writeFileAtomic, writePrivateKeyFile } from './files.js';
import type { Issuer } from './issuer.js';
import { exportPrivateKeyPem, importPrivateKeyPem, privateKeyMatchesCertificate } from './keys.js';
import { parsePemBundle, toPemBundle } from './pem.js';
import { toBytes } from './encoding.js';
import type { x509 } from './x509.js';

/** The four CAs of a deployment, by the base name of their files in the PKI directory. */
export const CA_FILES = {
  serverRoot: 'server-root',
  serverIssuing: 'server-issuing',
  deviceRoot: 'device-root',
  deviceIssuing: 'device-issuing',
} as const;

export type CaName = keyof typeof CA_FILES;

/** The services that get a TLS certificate from the Server PKI. */
export const SERVICES = ['api', 'bootstrap', 'management', 'content'] as const;

export type ServiceName = (typeof SERVICES)[number];

/** Where one certificate and its key live. */
export interface PairPaths {
  cert: string;
  key: string;
}

/**
 * The files of a CA: `<name>.pem` (its certificate) and `<name>.key`.
 *
 * @example
 *   caPaths('/data/pki', 'deviceRoot'); // { cert: '/data/pki/device-root.pem', key: ... }
 */
export function caPaths(pkiDir: string, ca: CaName): PairPaths {
  const base = join(pkiDir, CA_FILES[ca]);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

/**
 * The files of a service: `services/<name>.pem` (its whole chain) and `services/<name>.key`.
 *
 * @example
 *   servicePaths('/data/pki', 'api'); // { cert: '/data/pki/services/api.pem', key: ... }
 */
export function servicePaths(pkiDir: string, service: ServiceName): PairPaths {
  const base = join(pkiDir, 'services', service);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

/**
 * Reads a text file, or returns undefined when it does not exist.
 *
 * @example
 *   const pem = await readOptional(paths.key);
 */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes a CA's key (mode 0600) and then its certificate, each atomically.
 *
 * @example
 *   await writeIssuer(caPaths(stagingDir, 'serverRoot'), serverRoot);
 */
export async function writeIssuer(paths: PairPaths, issuer: Issuer): Promise<void> {
  await writePrivateKeyFile(paths.key, await exportPrivateKeyPem(issuer.key));
  await writeFileAtomic(paths.cert, toPemBundle([issuer.cert]), 0o644);
}

/**
 * Loads a CA written by {@link writeIssuer} and checks it: both files present, the key belongs
 * to the certificate, and the certificate is signed by `parent` (or by itself for a root).
 * Any failure is PKI_INCOMPLETE, naming the file and what to do: a CA is never replaced.
 *
 * @example
 *   const root = await loadIssuer(caPaths(pkiDir, 'serverRoot'));
 *   const issuing = await loadIssuer(caPaths(pkiDir, 'serverIssuing'), root);
 */
export async function loadIssuer(paths: PairPaths, parent?: Issuer): Promise<Issuer> {
  const { certPem, keyPem } = requirePair(
    paths,
    await readOptional(paths.cert),
    await readOptional(paths.key),
  );

  const cert = await asIncomplete(() => {
    const certs = parsePemBundle(certPem, `CA certificate ${paths.cert}`);
    if (certs.length !== 1) throw new Error(`it holds ${certs.length} certificates, not 1`);
    return certs[0];
  }, paths.cert);
  const key = await asIncomplete(
    () => importPrivateKeyPem(keyPem, `CA key ${paths.key}`),
    paths.key,
  );

  if (!privateKeyMatchesCertificate(key, cert)) {
    throw incomplete(
      `${paths.key} is not the key of ${paths.cert}`,
      'Restore the matching key from a backup; Homeport never replaces a CA that devices and ' +
        'clients already trust.',
    );
  }
  checkSignedBy(cert, parent?.cert ?? cert, paths.cert);
  return { cert, key, chain: [cert, ...(parent?.chain ?? [])] };
}

/**
 * Tells whether `cert` was issued by `issuer`: names chain and the signature verifies.
 *
 * @example
 *   isIssuedBy(leaf, serverIssuing.cert); // true
 */
export function isIssuedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): boolean {
  const child = new NodeX509Certificate(toBytes(cert.rawData));
  const parent = new NodeX509Certificate(toBytes(issuer.rawData));
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * A PKI_INCOMPLETE error: what is wrong, and what the operator can do about it.
 *
 * @example
 *   throw incomplete(`${path} is missing`, 'Restore it from a backup.');
 */
export function incomplete(problem: string, remedy: string, cause?: unknown): HomeportError {
  const message = `Cannot load the deployment PKI: ${problem}. ${remedy}`;
  return cause === undefined
    ? new HomeportError('PKI_INCOMPLETE', message)
    : new HomeportError('PKI_INCOMPLETE', message, { cause });
}

function requirePair(
  paths: PairPaths,
  certPem?: string,
  keyPem?: string,
): { certPem: string; keyPem: string } {
  if (certPem !== undefined && keyPem !== undefined) return { certPem, keyPem };

  let problem = `${paths.cert} and ${paths.key} are missing while other CA files exist`;
  if (certPem !== undefined) problem = `${paths.key} is missing but ${paths.cert} exists`;
  if (keyPem !== undefined) problem = `${paths.cert} is missing but ${paths.key} exists`;
  throw incomplete(
    problem,
    'Restore what is missing from a backup; Homeport never replaces a CA, because devices and ' +
      'clients already trust it. To start over with new roots, move the PKI directory away.',
  );
}

function checkSignedBy(
  cert: x509.X509Certificate,
  issuer: x509.X509Certificate,
  path: string,
): void {
  if (isIssuedBy(cert, issuer)) return;

  const by =
    cert === issuer ? 'itself (a root must be self-signed)' : `its parent CA ${issuer.subject}`;
  throw incomplete(
    `${path} is not signed by ${by}`,
    'Restore the CA files of this deployment from one backup.',
  );
}

async function asIncomplete<T>(read: () => T | Promise<T>, path: string): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const detail = message.replace(/^Cannot read [^:]*: /, '').replace(/\.$/, '');
    throw incomplete(`${path} is damaged: ${detail}`, 'Restore the file from a backup.', err);
  }
}
