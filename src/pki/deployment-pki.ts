import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HomeportError } from '../errors.js';
import { createIssuingCa, createRootCa } from './ca.js';
import {
  CA_FILES,
  caPaths,
  incomplete,
  isIssuedBy,
  loadIssuer,
  readOptional,
  SERVICES,
  servicePaths,
  writeIssuer,
  type CaName,
  type ServiceName,
} from './deployment-files.js';
import {
  ensurePrivateDirectory,
  syncDirectory,
  writeFileAtomic,
  writePrivateKeyFile,
} from './files.js';
import type { Issuer } from './issuer.js';
import { importPrivateKeyPem, privateKeyMatchesCertificate } from './keys.js';
import { fingerprint256, parsePemBundle, toPemBundle } from './pem.js';
import { certificateHosts, issueServerCertificate, normalizeHost } from './server-cert.js';

export type { ServiceName } from './deployment-files.js';

/** The part of a pino logger the PKI uses. */
export interface PkiLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface DeploymentPkiOptions {
  /** The deployment's display name, written into every certificate's subject as O. */
  name: string;
  /** Host names and addresses the services are reached at: the SANs of their certificates. */
  hosts: string[];
  logger?: PkiLogger;
  /** The current time; tests move it to exercise expiry. */
  now?: Date;
}

/** A service's TLS credential as PEM. */
export interface ServiceCredentialPem {
  keyPem: string;
  certPem: string;
  /** The service certificate, the server issuing CA and the server root. */
  chainPem: string;
}

/** Everything a deployment's services need from its PKI. */
export interface DeploymentPki {
  serverRoot: Issuer;
  serverIssuing: Issuer;
  deviceRoot: Issuer;
  deviceIssuing: Issuer;
  services: Record<ServiceName, ServiceCredentialPem>;
  serverRootPem: string;
  /** Lowercase hex SHA-256 of the server root's DER. */
  serverRootFingerprint: string;
  /** The device issuing CA, then the device root. */
  deviceChainPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const ROOT_DAYS = 7305; // 20 years
const ISSUING_DAYS = 3653; // 10 years
const SERVICE_DAYS = 397; // CA/B Baseline Requirements §6.3.2 limit for TLS server certificates
const RENEW_BEFORE_DAYS = 30;
const MAX_NAME = 64; // RFC 5280 Appendix A.1: ub-organization-name
const STAGING = '.staging-';

/**
 * Loads the deployment's PKI from `pkiDir`, creating it on first start: a Server PKI (root and
 * issuing CA) with one TLS certificate per service, and a Device PKI (root and issuing CA).
 * A first start builds everything in a staging directory and renames it into place, so a crash
 * never leaves a half PKI. Later starts reuse every file; a CA is never regenerated, and a
 * missing or mismatched CA file is PKI_INCOMPLETE. A service certificate whose SANs no longer
 * match `hosts`, that expires within 30 days, or whose files are damaged is re-issued from the
 * existing issuing CA, and that is logged.
 *
 * @example
 *   const pki = await loadOrCreateDeploymentPki(join(dataDir, 'pki'), {
 *     name: 'Server 1',
 *     hosts: ['127.0.0.1'],
 *     logger,
 *   });
 *   https.createServer({ key: pki.services.api.keyPem, cert: pki.services.api.chainPem });
 */
export async function loadOrCreateDeploymentPki(
  dir: string,
  options: DeploymentPkiOptions,
): Promise<DeploymentPki> {
  const pkiDir = resolve(dir);
  const hosts = checkOptions(pkiDir, options);
  const now = options.now ?? new Date();
  await removeUnfinishedStaging(pkiDir, options.logger);

  if (await isFirstStart(pkiDir)) await createDeploymentPki(pkiDir, options.name, hosts, now);

  const serverRoot = await loadIssuer(caPaths(pkiDir, 'serverRoot'));
  const serverIssuing = await loadIssuer(caPaths(pkiDir, 'serverIssuing'), serverRoot);
  const deviceRoot = await loadIssuer(caPaths(pkiDir, 'deviceRoot'));
  const deviceIssuing = await loadIssuer(caPaths(pkiDir, 'deviceIssuing'), deviceRoot);

  const services = {} as Record<ServiceName, ServiceCredentialPem>;
  for (const service of SERVICES) {
    const context = { pkiDir, service, hosts, now, name: options.name };
    services[service] = await ensureService(serverIssuing, context, options.logger);
  }

  return {
    serverRoot,
    serverIssuing,
    deviceRoot,
    deviceIssuing,
    services,
    serverRootPem: toPemBundle([serverRoot.cert]),
    serverRootFingerprint: fingerprint256(serverRoot.cert),
    deviceChainPem: toPemBundle(deviceIssuing.chain),
  };
}

interface ServiceContext {
  pkiDir: string;
  service: ServiceName;
  hosts: string[];
  now: Date;
  name: string;
}

/** Why a service certificate must be issued anew, and how loudly to say so. */
interface Renewal {
  reason: string;
  level: 'info' | 'warn';
}

function checkOptions(pkiDir: string, options: DeploymentPkiOptions): string[] {
  const fail = (reason: string) =>
    new HomeportError('CONFIG_INVALID', `Cannot set up the PKI in ${pkiDir}: ${reason}.`);
  const { name, hosts } = options;
  if (name.trim() === '' || name.length > MAX_NAME) {
    throw fail(`name ${JSON.stringify(name)} must be 1 to ${MAX_NAME} characters long`);
  }
  if (hosts.length === 0) throw fail('hosts is empty; the service certificates need a SAN');

  try {
    return [...new Set(hosts.map(normalizeHost))].sort();
  } catch (err) {
    throw fail((err as Error).message.replace(/^Cannot [^:]*: /, '').replace(/\.$/, ''));
  }
}

async function isFirstStart(pkiDir: string): Promise<boolean> {
  const entries = await readdir(pkiDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const caFiles = Object.values(CA_FILES).flatMap((base) => [`${base}.pem`, `${base}.key`]);
  if (entries.some((entry) => caFiles.includes(entry))) return false;
  if (entries.length === 0) return true;

  throw incomplete(
    `${pkiDir} holds ${entries.join(', ')} but none of the CA files`,
    'Move those entries away so that a new PKI can be created there, or restore the CA files.',
  );
}

async function createDeploymentPki(
  pkiDir: string,
  name: string,
  hosts: string[],
  now: Date,
): Promise<void> {
  await mkdir(dirname(pkiDir), { recursive: true, mode: 0o700 });
  const staging = `${pkiDir}${STAGING}${randomBytes(6).toString('hex')}`;

  try {
    await ensurePrivateDirectory(staging);
    const cas = await createCas(name, now);
    for (const ca of Object.keys(cas) as CaName[]) await writeIssuer(caPaths(staging, ca), cas[ca]);
    for (const service of SERVICES) {
      await issueService(cas.serverIssuing, { pkiDir: staging, service, hosts, now, name });
    }
    // rename(2) replaces pkiDir only if it is missing or an empty directory: all or nothing.
    await rename(staging, pkiDir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }

  await syncDirectory(dirname(pkiDir));
}

async function createCas(name: string, now: Date): Promise<Record<CaName, Issuer>> {
  const ca = (commonName: string, validityDays: number) => ({
    commonName,
    organization: name,
    validityDays,
    now,
  });
  const serverRoot = await createRootCa(ca('Homeport Server Root CA', ROOT_DAYS));
  const deviceRoot = await createRootCa(ca('Homeport Device Root CA', ROOT_DAYS));
  return {
    serverRoot,
    serverIssuing: await createIssuingCa(
      serverRoot,
      ca('Homeport Server Issuing CA', ISSUING_DAYS),
    ),
    deviceRoot,
    deviceIssuing: await createIssuingCa(
      deviceRoot,
      ca('Homeport Device Issuing CA', ISSUING_DAYS),
    ),
  };
}

async function ensureService(
  issuer: Issuer,
  context: ServiceContext,
  logger?: PkiLogger,
): Promise<ServiceCredentialPem> {
  const current = await loadService(issuer, context);
  if (!('reason' in current)) return current;

  const fields = { service: context.service, reason: current.reason, hosts: context.hosts };
  logger?.[current.level](fields, 'issuing a new TLS certificate from the server issuing CA');
  return issueService(issuer, context);
}

async function loadService(
  issuer: Issuer,
  context: ServiceContext,
): Promise<ServiceCredentialPem | Renewal> {
  const paths = servicePaths(context.pkiDir, context.service);
  const [chainPem, keyPem] = await Promise.all([readOptional(paths.cert), readOptional(paths.key)]);
  if (chainPem === undefined && keyPem === undefined) {
    return { reason: 'it has none yet', level: 'info' };
  }
  if (chainPem === undefined || keyPem === undefined) {
    const missing = chainPem === undefined ? paths.cert : paths.key;
    return { reason: `${missing} is missing`, level: 'warn' };
  }

  try {
    const [cert] = parsePemBundle(chainPem, `service certificate ${paths.cert}`);
    const key = await importPrivateKeyPem(keyPem, `service key ${paths.key}`);
    if (!cert || !privateKeyMatchesCertificate(key, cert)) {
      return { reason: `${paths.key} is not the key of ${paths.cert}`, level: 'warn' };
    }
    if (!isIssuedBy(cert, issuer.cert)) {
      return { reason: `${paths.cert} is not from the server issuing CA`, level: 'warn' };
    }

    const renewal = renewalReason(certificateHosts(cert), cert.notAfter, context);
    if (renewal) return { reason: renewal, level: 'info' };
    return { keyPem, certPem: toPemBundle([cert]), chainPem: toPemBundle([cert, ...issuer.chain]) };
  } catch (err) {
    return { reason: `its files are damaged: ${(err as Error).message}`, level: 'warn' };
  }
}

function renewalReason(
  certHosts: string[],
  notAfter: Date,
  context: ServiceContext,
): string | undefined {
  if (certHosts.join(',') !== context.hosts.join(',')) {
    return `its SANs ${certHosts.join(', ')} differ from the hosts ${context.hosts.join(', ')}`;
  }
  const daysLeft = (notAfter.getTime() - context.now.getTime()) / DAY_MS;
  if (daysLeft < RENEW_BEFORE_DAYS) {
    return `it expires on ${notAfter.toISOString()}, within ${RENEW_BEFORE_DAYS} days`;
  }
  return undefined;
}

async function issueService(
  issuer: Issuer,
  context: ServiceContext,
): Promise<ServiceCredentialPem> {
  const paths = servicePaths(context.pkiDir, context.service);
  await ensurePrivateDirectory(dirname(paths.cert));

  const issued = await issueServerCertificate(issuer, {
    commonName: `Homeport ${context.service}`,
    organization: context.name,
    hosts: context.hosts,
    validityDays: SERVICE_DAYS,
    now: context.now,
  });
  // Key first: a crash between the two writes leaves a key that does not match the chain,
  // which the next start detects and repairs by issuing again.
  await writePrivateKeyFile(paths.key, issued.keyPem);
  await writeFileAtomic(paths.cert, issued.chainPem, 0o644);
  return { keyPem: issued.keyPem, certPem: issued.certPem, chainPem: issued.chainPem };
}

async function removeUnfinishedStaging(pkiDir: string, logger?: PkiLogger): Promise<void> {
  const parent = dirname(pkiDir);
  const prefix = `${basename(pkiDir)}${STAGING}`;
  const entries = await readdir(parent).catch(() => [] as string[]);

  for (const entry of entries.filter((name) => name.startsWith(prefix))) {
    logger?.warn({ path: join(parent, entry) }, 'removing a PKI left unfinished by a crash');
    await rm(join(parent, entry), { recursive: true, force: true });
  }
}
