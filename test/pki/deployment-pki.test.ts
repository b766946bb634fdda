import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isHomeportError } from '../../src/errors.js';
import {
  certificateHosts,
  exportPrivateKeyPem,
  fingerprint256,
  generateKeyPair,
  loadOrCreateDeploymentPki,
  parsePemBundle,
  type DeploymentPki,
  type PkiLogger,
} from '../../src/pki/index.js';
import { nodeCert, openssl, tempDir } from './helpers.js';

const CA_FILES = [
  'server-root.pem',
  'server-root.key',
  'server-issuing.pem',
  'server-issuing.key',
  'device-root.pem',
  'device-root.key',
  'device-issuing.pem',
  'device-issuing.key',
];
const SERVICES = ['api', 'bootstrap', 'management', 'content'] as const;

interface Logged {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger(): PkiLogger & { entries: Logged[] } {
  const entries: Logged[] = [];
  return {
    entries,
    info: (fields, message) => entries.push({ level: 'info', fields, message }),
    warn: (fields, message) => entries.push({ level: 'warn', fields, message }),
  };
}

async function snapshot(pkiDir: string, files: string[]): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const file of files) {
    const path = join(pkiDir, file);
    result[file] = `${(await stat(path)).mtimeMs} ${await readFile(path, 'utf8')}`;
  }
  return result;
}

async function incompleteMessage(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isHomeportError(err, 'PKI_INCOMPLETE')) return err.message;
    throw err;
  }
  throw new Error('expected PKI_INCOMPLETE');
}

describe('the deployment PKI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pkiDir: string;
  let template: Awaited<ReturnType<typeof tempDir>>;
  const options = { name: 'Server 1', hosts: ['127.0.0.1', 'homeport.test'] };

  /** A PKI as a first start left it, copied from one made once, to keep the tests fast. */
  async function existingPki(): Promise<void> {
    await cp(join(template.dir, 'pki'), pkiDir, { recursive: true, preserveTimestamps: true });
  }

  beforeAll(async () => {
    template = await tempDir();
    await loadOrCreateDeploymentPki(join(template.dir, 'pki'), options);
  });

  afterAll(async () => template.cleanup());

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    pkiDir = join(dir, 'pki');
  });

  afterEach(async () => cleanup());

  it('first start creates both PKIs and four service certificates, keys 0600 in a 0700 directory', async () => {
    const logger = recordingLogger();
    const pki = await loadOrCreateDeploymentPki(pkiDir, { ...options, logger });

    expect((await stat(pkiDir)).mode & 0o777).toBe(0o700);
    expect((await readdir(pkiDir)).sort()).toEqual([...CA_FILES, 'services'].sort());
    for (const file of CA_FILES.filter((name) => name.endsWith('.key'))) {
      expect((await stat(join(pkiDir, file))).mode & 0o777).toBe(0o600);
    }
    for (const service of SERVICES) {
      expect((await stat(join(pkiDir, 'services', `${service}.key`))).mode & 0o777).toBe(0o600);
      expect(pki.services[service].chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    }
    expect(await readdir(dir)).toEqual(['pki']);
    expect(logger.entries).toEqual([]);
  });

  it('the server root file is what clients pin and its fingerprint is returned', async () => {
    await existingPki();
    const pki = await loadOrCreateDeploymentPki(pkiDir, options);
    const rootPem = await readFile(join(pkiDir, 'server-root.pem'), 'utf8');
    expect(rootPem).toBe(pki.serverRootPem);
    expect(pki.serverRootFingerprint).toBe(fingerprint256(pki.serverRoot.cert));
    expect(pki.serverRoot.cert.subject).toBe('O=Server 1, CN=Homeport Server Root CA');
    expect(pki.deviceIssuing.cert.subject).toBe('O=Server 1, CN=Homeport Device Issuing CA');
  });

  it('service chains and the device chain verify with openssl', async () => {
    await existingPki();
    const pki = await loadOrCreateDeploymentPki(pkiDir, options);
    const root = join(pkiDir, 'server-root.pem');
    for (const service of SERVICES) {
      const chain = join(dir, `${service}-chain.pem`);
      const leaf = join(dir, `${service}-leaf.pem`);
      await writeFile(chain, pki.services[service].chainPem);
      await writeFile(leaf, pki.services[service].certPem);
      const out = await openssl([
        'verify',
        '-purpose',
        'sslserver',
        '-CAfile',
        root,
        '-untrusted',
        chain,
        leaf,
      ]);
      expect(out).toMatch(/OK/);
      expect(certificateHosts(parsePemBundle(pki.services[service].certPem)[0])).toEqual([
        '127.0.0.1',
        'homeport.test',
      ]);
    }

    const [deviceIssuing, deviceRoot] = parsePemBundle(pki.deviceChainPem).map(nodeCert);
    expect(deviceIssuing.checkIssued(deviceRoot)).toBe(true);
    expect(deviceRoot.fingerprint256).toBe(nodeCert(pki.deviceRoot.cert).fingerprint256);
  });

  it('a restart reuses everything and rewrites no file', async () => {
    await existingPki();
    const first = await loadOrCreateDeploymentPki(pkiDir, options);
    const files = [
      ...CA_FILES,
      ...SERVICES.flatMap((s) => [`services/${s}.pem`, `services/${s}.key`]),
    ];
    const before = await snapshot(pkiDir, files);

    const logger = recordingLogger();
    const second = await loadOrCreateDeploymentPki(pkiDir, { ...options, logger });

    expect(await snapshot(pkiDir, files)).toEqual(before);
    expect(second.serverRootFingerprint).toBe(first.serverRootFingerprint);
    const fps = (pki: DeploymentPki) =>
      [pki.serverIssuing, pki.deviceRoot, pki.deviceIssuing].map((ca) => fingerprint256(ca.cert));
    expect(fps(second)).toEqual(fps(first));
    expect(second.services).toEqual(first.services);
    expect(logger.entries).toEqual([]);
  });

  it('changed hosts get a new service certificate with the new SANs from the same CAs', async () => {
    await existingPki();
    const first = await loadOrCreateDeploymentPki(pkiDir, options);
    const caBefore = await snapshot(pkiDir, CA_FILES);
    const logger = recordingLogger();

    const second = await loadOrCreateDeploymentPki(pkiDir, {
      ...options,
      hosts: ['127.0.0.2', '::1'],
      logger,
    });

    expect(await snapshot(pkiDir, CA_FILES)).toEqual(caBefore);
    expect(second.serverRootFingerprint).toBe(first.serverRootFingerprint);
    const api = parsePemBundle(second.services.api.certPem)[0];
    expect(certificateHosts(api)).toEqual(['127.0.0.2', '::1']);
    expect(nodeCert(api).checkIssued(nodeCert(first.serverIssuing.cert))).toBe(true);
    expect(second.services.api.keyPem).not.toBe(first.services.api.keyPem);
    expect(logger.entries.filter((entry) => entry.level === 'info')).toHaveLength(4);
    expect(logger.entries[0].fields.reason).toMatch(/SANs 127\.0\.0\.1, homeport\.test differ/);
  });

  it('a service certificate expiring within 30 days is renewed', async () => {
    const longAgo = new Date(Date.now() - 380 * 86_400_000);
    await loadOrCreateDeploymentPki(pkiDir, { ...options, now: longAgo });
    const logger = recordingLogger();

    const pki = await loadOrCreateDeploymentPki(pkiDir, { ...options, logger });

    const notAfter = parsePemBundle(pki.services.content.certPem)[0].notAfter;
    expect(notAfter.getTime()).toBeGreaterThan(Date.now() + 390 * 86_400_000);
    expect(logger.entries.map((entry) => entry.fields.reason)).toEqual(
      SERVICES.map(() => expect.stringMatching(/within 30 days/)),
    );
  });

  it('a missing CA key is PKI_INCOMPLETE naming the file, and nothing is regenerated', async () => {
    await existingPki();
    await rm(join(pkiDir, 'device-issuing.key'));
    const before = await snapshot(pkiDir, ['device-issuing.pem', 'device-root.pem']);

    const message = await incompleteMessage(loadOrCreateDeploymentPki(pkiDir, options));

    expect(message).toContain(`${join(pkiDir, 'device-issuing.key')} is missing`);
    expect(message).toMatch(/Restore what is missing from a backup/);
    expect(await snapshot(pkiDir, ['device-issuing.pem', 'device-root.pem'])).toEqual(before);
    await expect(stat(join(pkiDir, 'device-issuing.key'))).rejects.toThrow(/ENOENT/);
  });

  it('a missing CA certificate with its key present is PKI_INCOMPLETE', async () => {
    await existingPki();
    await rm(join(pkiDir, 'server-root.pem'));
    const message = await incompleteMessage(loadOrCreateDeploymentPki(pkiDir, options));
    expect(message).toContain(`${join(pkiDir, 'server-root.pem')} is missing but`);
  });

  it('a CA key that does not match its certificate is PKI_INCOMPLETE', async () => {
    await existingPki();
    const other = await generateKeyPair();
    await writeFile(
      join(pkiDir, 'server-issuing.key'),
      await exportPrivateKeyPem(other.privateKey),
    );
    const message = await incompleteMessage(loadOrCreateDeploymentPki(pkiDir, options));
    expect(message).toContain(
      `${join(pkiDir, 'server-issuing.key')} is not the key of ${join(pkiDir, 'server-issuing.pem')}`,
    );
  });

  it('an issuing CA from another deployment is PKI_INCOMPLETE', async () => {
    const otherDir = join(template.dir, 'pki');
    await loadOrCreateDeploymentPki(pkiDir, options);
    for (const file of ['device-issuing.pem', 'device-issuing.key']) {
      await writeFile(join(pkiDir, file), await readFile(join(otherDir, file)));
    }
    const message = await incompleteMessage(loadOrCreateDeploymentPki(pkiDir, options));
    expect(message).toMatch(/device-issuing\.pem is not signed by its parent CA/);
  });

  it('a damaged CA certificate is PKI_INCOMPLETE naming the block', async () => {
    await existingPki();
    await writeFile(
      join(pkiDir, 'device-root.pem'),
      '-----BEGIN CERTIFICATE-----\n@@\n-----END CERTIFICATE-----\n',
    );
    const message = await incompleteMessage(loadOrCreateDeploymentPki(pkiDir, options));
    expect(message).toMatch(/device-root\.pem is damaged: block 1 \(line 1\) has "@" at line 2/);
  });

  it('a damaged service key is repaired by issuing again, with a warning', async () => {
    await existingPki();
    const first = await loadOrCreateDeploymentPki(pkiDir, options);
    await writeFile(join(pkiDir, 'services', 'bootstrap.key'), 'garbage');
    const logger = recordingLogger();

    const pki = await loadOrCreateDeploymentPki(pkiDir, { ...options, logger });

    expect(pki.services.bootstrap.certPem).not.toBe(first.services.bootstrap.certPem);
    expect(pki.services.api).toEqual(first.services.api);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({ level: 'warn', fields: { service: 'bootstrap' } });
  });

  it('a directory with other files but no CA is refused rather than filled', async () => {
    await mkdir(pkiDir);
    await writeFile(join(pkiDir, 'notes.txt'), 'hello');
    const message = await incompleteMessage(loadOrCreateDeploymentPki(pkiDir, options));
    expect(message).toMatch(/holds notes\.txt but none of the CA files/);
  });

  it('an existing empty directory is filled, and a staging directory left by a crash is removed', async () => {
    await mkdir(pkiDir);
    const stale = `${pkiDir}.staging-0123456789ab`;
    await mkdir(stale);
    await writeFile(join(stale, 'server-root.key'), 'half written');
    const logger = recordingLogger();

    await loadOrCreateDeploymentPki(pkiDir, { ...options, logger });

    expect(await readdir(dir)).toEqual(['pki']);
    expect(logger.entries).toMatchObject([{ level: 'warn', fields: { path: stale } }]);
    expect(await readdir(pkiDir)).toContain('server-root.pem');
  });

  it('bad options are CONFIG_INVALID', async () => {
    await expect(loadOrCreateDeploymentPki(pkiDir, { name: '', hosts: ['a'] })).rejects.toThrow(
      /name "" must be 1 to 64 characters/,
    );
    await expect(loadOrCreateDeploymentPki(pkiDir, { name: 'x', hosts: [] })).rejects.toThrow(
      /hosts is empty/,
    );
    await expect(
      loadOrCreateDeploymentPki(pkiDir, { name: 'x', hosts: ['not a host'] }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(stat(pkiDir)).rejects.toThrow(/ENOENT/);
  });
});
