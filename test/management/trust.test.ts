import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIssuingCa, createRootCa, toPemBundle } from '../../src/pki/index.js';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { enrollWithCurl, type Credential } from '../helpers/enroll.js';
import { makeCa, makeDeviceCert, openssl } from '../helpers/openssl.js';

const MAC = '02:48:50:00:02:01';
let d: TestDeployment;
let dir: string;
let token: string;
let device: Credential;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-trust-'));
  const maker = await makeCa(dir, 'Maker');
  const factory = await makeDeviceCert(dir, maker, { name: 'factory', cn: MAC, serial: 'S1' });
  d = await startTestDeployment({
    host: '127.0.0.64',
    manufacturerCas: [await readFile(maker.cert, 'utf8')],
  });
  root = join(d.dataDir, 'pki', 'server-root.pem');
  token = await d.login('admin', ADMIN_PASSWORD);
  await d.deployment.repo.createDevice({ mac: MAC, alias: 'one', serialNumber: 'S1' });
  device = await enrollWithCurl(d.deployment, d.dataDir, dir, factory, MAC);
});
afterAll(async () => {
  await d?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** One TLS 1.2 handshake with openssl s_client as the device; its whole report. */
async function sClient(extra: string[] = []): Promise<string> {
  const { host, port } = d.deployment.info.services.management;
  return openssl(
    [
      's_client',
      '-connect',
      `${host}:${port}`,
      '-CAfile',
      root,
      '-cert',
      device.cert,
      '-key',
      device.key,
      '-tls1_2',
      ...extra,
    ],
    '',
  ).catch((err: Error & { stdout?: string }) => err.stdout ?? '');
}

/** Connects as the device; rejects when the MS refuses or drops the connection first. */
async function connectDevice(): Promise<mqtt.MqttClient> {
  const { host, port } = d.deployment.info.services.management;
  const client = mqtt.connect(`mqtts://${host}:${port}`, {
    ca: await readFile(root),
    cert: await readFile(device.cert),
    key: await readFile(device.key),
    clientId: MAC,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => reject(err));
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

async function putCerts(pems: string, force = false) {
  const certs = Buffer.from(pems).toString('base64');
  return d.api('PUT', `/api/certs${force ? '?force=true' : ''}`, { token, json: { certs } });
}

describe('PUT /api/certs applies live', () => {
  it('changes the CA names, voids resumed sessions and drops devices no longer trusted', async () => {
    const session = join(dir, 'session.pem');
    const before = await sClient(['-sess_out', session]);
    expect(before).toContain('Acceptable client certificate CA names');
    expect(before).toContain('Homeport Device Root CA');
    expect(await sClient(['-sess_in', session])).toMatch(/Reused, TLSv1\.2/);

    const client = await connectDevice();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const original = Buffer.from(
      (await d.api('GET', '/api/certs', { token })).body.data.certs,
      'base64',
    ).toString();

    const otherRoot = await createRootCa({
      commonName: 'Elsewhere Device Root CA',
      validityDays: 30,
    });
    const otherIssuing = await createIssuingCa(otherRoot, {
      commonName: 'Elsewhere Device Issuing CA',
      validityDays: 30,
    });
    const refused = await putCerts(toPemBundle([otherIssuing.cert, otherRoot.cert]));
    expect(refused.status).toBe(409);
    const swapped = await putCerts(toPemBundle([otherIssuing.cert, otherRoot.cert]), true);
    expect(swapped.status).toBe(200);

    await closed;
    const after = await sClient(['-sess_in', session]);
    expect(after).toContain('Elsewhere Device Root CA');
    expect(after).not.toContain('Homeport Device Root CA');
    expect(after).not.toMatch(/Reused, TLSv1\.2/);
    await expect(connectDevice()).rejects.toThrow();

    expect((await putCerts(original)).status).toBe(200);
    const again = await connectDevice();
    await again.endAsync();
  });

  it('drops the session of a device whose certificate is revoked through the API', async () => {
    const client = await connectDevice();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const r = await d.api('POST', `/api/management/devices/${MAC}/certificate/revoke`, { token });
    expect(r.status).toBe(200);
    expect(r.body.data.revoked).toBe(true);
    await closed;
    await expect(connectDevice()).rejects.toThrow();
  });
});
