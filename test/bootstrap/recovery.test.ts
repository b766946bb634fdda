import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managementServerUri, sameServerUri } from '../../src/bootstrap/management-target.js';
import type { ManagementServer } from '../../src/store/index.js';
import { startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { makeCa, makeDeviceCert } from '../helpers/openssl.js';

const exec = promisify(execFile);
const MAC = '02:48:50:00:08:01';
const SERIAL = 'HP000801';

let d: TestDeployment;
let dir: string;
let factory: { key: string; cert: string };
let anchor: string;
let home: ManagementServer;
let retry: ManagementServer;

/** A Bootstrap-Request with curl and the factory certificate; answers the MS account `/0/1`. */
async function bootstrap(body: object): Promise<Record<string, unknown>> {
  const { stdout } = await exec('curl', [
    '-sS',
    '--fail-with-body',
    '--cacert',
    join(d.dataDir, 'pki', 'server-root.pem'),
    '--cert',
    factory.cert,
    '--key',
    factory.key,
    '-H',
    'content-type: application/json',
    '-d',
    JSON.stringify(body),
    `${d.deployment.info.services.bootstrap.url}/bs?ep=${encodeURIComponent(MAC)}`,
  ]);
  const answer = JSON.parse(stdout) as { operations: { path?: string; value?: object }[] };
  const account = answer.operations.find((o) => o.path === '/0/1' && o.value);
  return account?.value as Record<string, unknown>;
}

const assigned = async () => (await d.deployment.repo.getDevice(MAC))?.managementServerId;
const lastAudit = async () =>
  (await d.deployment.repo.listAudit({ subject: `device:${MAC}`, limit: 1 }))[0];
const failure = (server: string) => ({ reason: 'registration-failure', failed_server: server });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-recovery-'));
  const maker = await makeCa(dir, 'Maker');
  factory = await makeDeviceCert(dir, maker, { name: 'factory', cn: MAC, serial: SERIAL });
  anchor = await readFile((await makeCa(dir, 'Server 2 Root')).cert, 'utf8');
  d = await startTestDeployment({
    host: '127.0.0.88',
    manufacturerCas: [await readFile(maker.cert, 'utf8')],
  });
  const repo = d.deployment.repo;
  await repo.createDevice({ mac: MAC, alias: 'mover', serialNumber: SERIAL });
  const define = (name: string, port: number, onFailure: 'home' | 'retry') =>
    repo.createManagementServer({
      name,
      address: 'ms2.example',
      port,
      caPem: anchor,
      caFingerprint: 'ab'.repeat(32),
      onFailure,
    });
  home = await define('Goes home', 8883, 'home');
  retry = await define('Keeps trying', 9883, 'retry');
}, 60_000);
afterAll(async () => {
  await d?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a device assigned to another Management Server', () => {
  it('is sent there with its anchor', async () => {
    await d.deployment.repo.setDeviceManagementServer(MAC, home.id);

    const account = await bootstrap({ reason: 'triggered' });
    expect(account['0']).toBe('mqtts://ms2.example:8883');
    expect(account['5']).toBe(anchor);
  });

  it('that fails there comes home when on_failure is home, audited as device.recovered', async () => {
    await d.deployment.repo.setDeviceManagementServer(MAC, home.id);

    const account = await bootstrap(failure('mqtts://MS2.example:8883'));
    expect(account['0']).toBe(d.deployment.info.services.management.url);
    expect(account['5']).toBe(d.serverRoot);
    expect(await assigned()).toBeNull();
    expect(await lastAudit()).toMatchObject({
      actor: `device:${MAC}`,
      action: 'device.recovered',
      detail: { failedServer: 'mqtts://MS2.example:8883', managementServerId: home.id },
    });
  });

  it('that fails there is sent there again when on_failure is retry', async () => {
    await d.deployment.repo.setDeviceManagementServer(MAC, retry.id);

    const account = await bootstrap(failure('mqtts://ms2.example:9883'));
    expect(account['0']).toBe('mqtts://ms2.example:9883');
    expect(await assigned()).toBe(retry.id);
    expect(await lastAudit()).toMatchObject({
      action: 'device.registration-failure',
      detail: { failedServer: 'mqtts://ms2.example:9883', managementServerId: retry.id },
    });
  });

  it('keeps its assignment when it failed at another server', async () => {
    await d.deployment.repo.setDeviceManagementServer(MAC, home.id);

    const account = await bootstrap(failure(d.deployment.info.services.management.url));
    expect(account['0']).toBe('mqtts://ms2.example:8883');
    expect(await assigned()).toBe(home.id);
    expect((await lastAudit())?.action).toBe('device.registration-failure');
  });
});

describe('Server URIs', () => {
  it('bracket IPv6 literals and compare host and port without regard to case', () => {
    expect(managementServerUri('2001:db8::5', 8883)).toBe('mqtts://[2001:db8::5]:8883');
    expect(managementServerUri('127.0.0.2', 8883)).toBe('mqtts://127.0.0.2:8883');
    expect(sameServerUri('MQTTS://[2001:DB8::5]:8883/', 'mqtts://[2001:db8::5]:8883')).toBe(true);
    expect(sameServerUri('mqtts://ms2.example:8884', 'mqtts://ms2.example:8883')).toBe(false);
    expect(sameServerUri('https://ms2.example:8883', 'mqtts://ms2.example:8883')).toBe(false);
  });
});
