import { createHash, createPrivateKey, type X509Certificate } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HomeportError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import {
  parsePemBundle,
  syncDirectory,
  writeFileAtomic,
  writePrivateKeyFile,
} from '../pki/index.js';
import { bootstrapAccountPaths } from './bootstrap-ops.js';
import {
  parseCertificate,
  readFactoryDevice,
  type Credential,
  type FactoryDevice,
} from './identity.js';
import { SECURITY, SECURITY_MODE_CERTIFICATE, type Instances } from './types.js';

/** The device's bootstrap-server account as given on a first start (becomes `/0/0`). */
export interface BootstrapAccount {
  /** `https://host:8884` */
  url: string;
  /** The BS's server root, PEM. */
  caPem: string;
}

/** What state.json records about the operational certificate that goes with its instances. */
export interface OperationalRecord {
  /** SHA-256 of the certificate's DER, lowercase hex. */
  fingerprint: string;
  /** The Server URI of the BS that issued it. */
  issuedBy: string;
  notBefore: string;
  notAfter: string;
}

/** The content of state.json. */
export interface DeviceStateFile {
  version: 1;
  endpoint: string;
  instances: Instances;
  operational?: OperationalRecord;
  updatedAt: string;
}

/** File names of the device state, next to the factory files. */
export const STATE_FILES = {
  state: 'state.json',
  key: 'operational.key',
  cert: 'operational.pem',
  nextKey: 'operational.next.key',
  nextCert: 'operational.next.pem',
} as const;

/** The steps of saving an enrollment, in order; `commit-state` is the commit point. */
export type SaveStep =
  'write-next-key' | 'write-next-cert' | 'commit-state' | 'install-key' | 'install-cert';

export interface DeviceStoreOptions {
  /** The bootstrap account for a first start; ignored (with a warning if different) later. */
  bootstrap?: BootstrapAccount;
  logger?: Logger;
  /** Called before each step of a save; a test throws from it to simulate a power cut. */
  beforeStep?: (step: SaveStep | 'save-state') => void | Promise<void>;
}

/**
 * A device's persistent state in its folder: the object instances of protocol.md §2 in
 * `state.json`, and the operational key (`operational.key`, 0600) and certificate
 * (`operational.pem`). Every file is written atomically (temporary file, fsync, rename, fsync
 * of the folder). An enrollment writes the new key and certificate beside the current ones,
 * then `state.json` (the commit point, naming the new certificate's fingerprint), then moves
 * them into place; opening the folder finishes or discards a save that a power cut interrupted.
 * `/0/0`, the bootstrap-server account, is written once, on the first start, and never again.
 *
 * @example
 *   const store = await DeviceStore.open('factory/02-48-50-00-00-01', {
 *     bootstrap: { url: 'https://127.0.0.1:8884', caPem },
 *   });
 *   store.instances['/0/0']['0']; // 'https://127.0.0.1:8884'
 */
export class DeviceStore {
  private current: DeviceStateFile;
  private credential: Credential | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly device: FactoryDevice,
    state: DeviceStateFile,
    operational: Credential | undefined,
    private readonly options: DeviceStoreOptions,
  ) {
    this.current = state;
    this.credential = operational;
  }

  /** Opens a device folder made by `homeport factory`, creating its state on a first start. */
  static async open(folder: string, options: DeviceStoreOptions = {}): Promise<DeviceStore> {
    const log = options.logger ?? silentLogger();
    const device = await readFactoryDevice(folder);
    await removeTemporaryFiles(folder);

    const existing = await readStateFile(folder, device.identity.mac);
    const state = existing ?? initialState(device, options.bootstrap);
    if (existing) warnIfBootstrapDiffers(existing, options.bootstrap, log);

    const operational = await recoverOperational(folder, state, log);
    const store = new DeviceStore(device, state, operational, options);
    if (!existing) await store.saveInstances(state.instances);
    if (existing && existing.operational && !operational) await store.forgetOperational();
    return store;
  }

  get folder(): string {
    return this.device.folder;
  }

  get endpoint(): string {
    return this.device.identity.mac;
  }

  /** A copy of the current object instances. */
  get instances(): Instances {
    return structuredClone(this.current.instances);
  }

  /** The operational credential that goes with the instances, if the device has one. */
  get operational(): (Credential & { issuedBy: string }) | undefined {
    const record = this.current.operational;
    return this.credential && record
      ? { ...this.credential, issuedBy: record.issuedBy }
      : undefined;
  }

  /**
   * Persists the outcome of a bootstrap: the new instances with the new operational key and
   * certificate, as one atomic change. `/0/0` is kept as it is whatever `instances` says.
   */
  async commitEnrollment(
    instances: Instances,
    credential: { keyPem: string; certPem: string },
    issuedBy: string,
  ): Promise<void> {
    const cert = parseCertificate(credential.certPem, 'the enrolled certificate');
    const next: DeviceStateFile = {
      ...this.current,
      instances: this.keepBootstrapAccount(instances),
      operational: operationalRecord(cert, issuedBy),
      updatedAt: new Date().toISOString(),
    };

    await this.serialize(async () => {
      const path = (name: string) => join(this.folder, name);
      await this.step('write-next-key', () =>
        writePrivateKeyFile(path(STATE_FILES.nextKey), credential.keyPem),
      );
      await this.step('write-next-cert', () =>
        writeFileAtomic(path(STATE_FILES.nextCert), credential.certPem, 0o644),
      );
      await this.step('commit-state', () => writeState(this.folder, next));
      this.current = next;
      this.credential = { keyPem: credential.keyPem, certPem: credential.certPem, cert };
      await this.step('install-key', () =>
        rename(path(STATE_FILES.nextKey), path(STATE_FILES.key)),
      );
      await this.step('install-cert', () =>
        rename(path(STATE_FILES.nextCert), path(STATE_FILES.cert)),
      );
      await syncDirectory(this.folder);
    });
  }

  /** Persists changed instances (a Write from the MS); `/0/0` is kept as it is. */
  async saveInstances(instances: Instances): Promise<void> {
    const next: DeviceStateFile = {
      ...this.current,
      instances: this.keepBootstrapAccount(instances),
      updatedAt: new Date().toISOString(),
    };
    await this.serialize(async () => {
      await this.step('save-state', () => writeState(this.folder, next));
      this.current = next;
    });
  }

  private async forgetOperational(): Promise<void> {
    const next: DeviceStateFile = { ...this.current, updatedAt: new Date().toISOString() };
    delete next.operational;
    await this.serialize(() => writeState(this.folder, next));
    this.current = next;
  }

  private keepBootstrapAccount(instances: Instances): Instances {
    const next = structuredClone(instances);
    const kept = bootstrapAccountPaths(this.current.instances);
    for (const path of bootstrapAccountPaths(next)) if (!kept.includes(path)) delete next[path];
    for (const path of kept) next[path] = structuredClone(this.current.instances[path]);
    return next;
  }

  private async step(name: SaveStep | 'save-state', run: () => Promise<void>): Promise<void> {
    await this.options.beforeStep?.(name);
    await run();
  }

  private serialize(run: () => Promise<void>): Promise<void> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function initialState(
  device: FactoryDevice,
  bootstrap: BootstrapAccount | undefined,
): DeviceStateFile {
  if (!bootstrap) {
    throw new HomeportError(
      'DEVICE_STATE_INVALID',
      `Cannot start device ${device.identity.mac}: ${device.folder} has no ${STATE_FILES.state} ` +
        'yet, so its first start needs the Bootstrap Server URL and CA ' +
        '(--bootstrap, --bootstrap-ca).',
    );
  }
  checkBootstrapAccount(bootstrap);

  return {
    version: 1,
    endpoint: device.identity.mac,
    instances: {
      // protocol.md §2: the bootstrap-server account, written once.
      '/0/0': {
        [SECURITY.serverUri]: bootstrap.url,
        [SECURITY.bootstrapServer]: true,
        [SECURITY.securityMode]: SECURITY_MODE_CERTIFICATE,
        [SECURITY.serverPublicKey]: bootstrap.caPem,
        [SECURITY.clientHoldOffTime]: 0,
      },
    },
    updatedAt: new Date().toISOString(),
  };
}

function checkBootstrapAccount(bootstrap: BootstrapAccount): void {
  let url: URL | undefined;
  try {
    url = new URL(bootstrap.url);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:' || url.pathname !== '/' || url.search !== '') {
    throw new HomeportError(
      'DEVICE_STATE_INVALID',
      `Cannot use Bootstrap Server URL ${JSON.stringify(bootstrap.url)}: give https://HOST:PORT.`,
    );
  }
  parsePemBundle(bootstrap.caPem, 'the Bootstrap Server CA');
}

function warnIfBootstrapDiffers(
  state: DeviceStateFile,
  bootstrap: BootstrapAccount | undefined,
  log: Logger,
): void {
  const account = state.instances['/0/0'];
  if (!bootstrap || !account) return;
  const differs =
    account[SECURITY.serverUri] !== bootstrap.url ||
    account[SECURITY.serverPublicKey] !== bootstrap.caPem;
  if (differs) {
    log.warn(
      { kept: account[SECURITY.serverUri], given: bootstrap.url },
      'the device keeps the bootstrap account it was first started with',
    );
  }
}

async function readStateFile(
  folder: string,
  endpoint: string,
): Promise<DeviceStateFile | undefined> {
  const path = join(folder, STATE_FILES.state);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) return undefined;

  const fail = (reason: string) =>
    new HomeportError('DEVICE_STATE_INVALID', `Cannot read ${path}: ${reason}.`);
  let state: DeviceStateFile;
  try {
    state = JSON.parse(text) as DeviceStateFile;
  } catch {
    throw fail('it is not JSON');
  }
  if (state.version !== 1) throw fail(`its version is ${String(state.version)}, not 1`);
  if (state.endpoint !== endpoint) throw fail(`it belongs to ${state.endpoint}, not ${endpoint}`);
  if (typeof state.instances !== 'object' || state.instances === null)
    throw fail('it has no instances');
  if (bootstrapAccountPaths(state.instances).length === 0)
    throw fail('it has no bootstrap account');
  return state;
}

/**
 * Finds the operational credential state.json names: in place, or still in the `next` files
 * when a power cut came after the commit (then the move is finished). Files of an enrollment
 * that was never committed are removed.
 */
async function recoverOperational(
  folder: string,
  state: DeviceStateFile,
  log: Logger,
): Promise<Credential | undefined> {
  const path = (name: string) => join(folder, name);
  const wanted = state.operational?.fingerprint;
  const nextCert = await readOptional(path(STATE_FILES.nextCert));

  if (wanted && nextCert && fingerprintOfPem(nextCert) === wanted) {
    log.info('finishing an enrollment that a restart interrupted');
    await rename(path(STATE_FILES.nextKey), path(STATE_FILES.key)).catch(ignoreMissing);
    await rename(path(STATE_FILES.nextCert), path(STATE_FILES.cert));
    await syncDirectory(folder);
  }
  await rm(path(STATE_FILES.nextKey), { force: true });
  await rm(path(STATE_FILES.nextCert), { force: true });
  if (!wanted) return undefined;

  const certPem = await readOptional(path(STATE_FILES.cert));
  const keyPem = await readOptional(path(STATE_FILES.key));
  if (!certPem || !keyPem || fingerprintOfPem(certPem) !== wanted) {
    log.warn('the operational certificate named in state.json is missing; it will bootstrap again');
    return undefined;
  }

  const cert = parseCertificate(certPem, path(STATE_FILES.cert));
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) {
    log.warn('operational.key does not match operational.pem; it will bootstrap again');
    return undefined;
  }
  return { keyPem, certPem, cert };
}

function operationalRecord(cert: X509Certificate, issuedBy: string): OperationalRecord {
  return {
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    issuedBy,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

function fingerprintOfPem(pem: string): string | undefined {
  try {
    return createHash('sha256').update(parseCertificate(pem, 'certificate').raw).digest('hex');
  } catch {
    return undefined;
  }
}

async function writeState(folder: string, state: DeviceStateFile): Promise<void> {
  await writeFileAtomic(
    join(folder, STATE_FILES.state),
    `${JSON.stringify(state, null, 2)}\n`,
    0o644,
  );
}

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

async function removeTemporaryFiles(folder: string): Promise<void> {
  // writeFileAtomic's temporary names: .<name>.<12 hex digits>.tmp, left by a power cut.
  const names = await readdir(folder);
  const temporary = names.filter((name) =>
    /^\.(state\.json|operational\.[a-z.]+)\.[0-9a-f]{12}\.tmp$/.test(name),
  );
  await Promise.all(temporary.map((name) => rm(join(folder, name), { force: true })));
}
