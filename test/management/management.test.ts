import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCsr } from '../../src/pki/index.js';
import { startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { enrollWithCurl, type Credential } from '../helpers/enroll.js';
import { makeCa, makeCsr, makeDeviceCert, openssl } from '../helpers/openssl.js';
import { waitFor } from '../helpers/wait.js';

const exec = promisify(execFile);
const MAC = '02:48:50:00:01:01';
const OTHER = '02:48:50:00:01:02';

let d: TestDeployment;
let dir: string;
let ca: string;
let factory: Credential;
let operational: Credential;
const logLines: string[] = [];

function mosquitto(tool: 'mosquitto_pub' | 'mosquitto_sub', cred: Credential, args: string[]) {
  const { host, port } = d.deployment.info.services.management;
  return [
    tool,
    [
      '-h',
      host,
      '-p',
      String(port),
      '--cafile',
      ca,
      '--cert',
      cred.cert,
      '--key',
      cred.key,
      ...args,
    ],
  ] as const;
}

async function run(tool: 'mosquitto_pub' | 'mosquitto_sub', cred: Credential, args: string[]) {
  const [cmd, full] = mosquitto(tool, cred, args);
  return exec(cmd, [...full], { timeout: 10_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      out: e.stdout + e.stderr,
    }),
  );
}

const online = async (mac: string) => (await d.deployment.repo.getDevice(mac))?.isOnline === true;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-ms-'));
  const maker = await makeCa(dir, 'Maker');
  factory = await makeDeviceCert(dir, maker, { name: 'factory', cn: MAC, serial: 'S1' });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  d = await startTestDeployment({
    host: '127.0.0.63',
    manufacturerCas: [await readFile(maker.cert, 'utf8')],
    logger: pino({ level: 'info' }, sink),
  });
  ca = join(d.dataDir, 'pki', 'server-root.pem');
  await d.deployment.repo.createDevice({ mac: MAC, alias: 'one', serialNumber: 'S1' });
  operational = await enrollWithCurl(d.deployment, d.dataDir, dir, factory, MAC);
});
afterAll(async () => {
  await d?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Management Server sessions', () => {
  it('accepts a registered device with its operational certificate and shows it online, then offline', async () => {
    const [cmd, args] = mosquitto('mosquitto_sub', operational, [
      '-i',
      MAC,
      '-t',
      `dm/${MAC}/req/+`,
    ]);
    const sub = spawn(cmd, [...args], { stdio: 'ignore' });
    try {
      await waitFor(() => online(MAC), 3000);
    } finally {
      sub.kill('SIGKILL');
    }
    await waitFor(async () => !(await online(MAC)), 1500);
  });

  it('lets a device publish under its own prefix', async () => {
    const r = await run('mosquitto_pub', operational, [
      '-i',
      MAC,
      '-q',
      '1',
      '-t',
      `dm/${MAC}/status`,
      '-m',
      '{"state":"online"}',
    ]);
    expect(r.code).toBe(0);
  });

  it("refuses a subscription to another device's topics", async () => {
    const r = await run('mosquitto_sub', operational, [
      '-i',
      MAC,
      '-t',
      `dm/${OTHER}/#`,
      '-C',
      '1',
      '-W',
      '3',
    ]);
    // mosquitto_sub reports the 0x80 return code of the SUBACK.
    expect(r.out).toMatch(/denied/i);
  });

  it('refuses a client id that is not the certificate CN', async () => {
    const r = await run('mosquitto_pub', operational, [
      '-i',
      OTHER,
      '-t',
      `dm/${OTHER}/status`,
      '-m',
      'x',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/not authori[sz]ed/i);
    expect(logLines.join('')).toContain('CN mismatch');
  });

  it('refuses a factory certificate (its CA is not in the trust store) before any MQTT', async () => {
    const r = await run('mosquitto_pub', factory, ['-i', MAC, '-t', `dm/${MAC}/status`, '-m', 'x']);
    expect(r.code).not.toBe(0);
    await waitFor(() => logLines.join('').includes('unknown CA'));
  });

  it('refuses an expired operational certificate', async () => {
    const csr = await makeCsr(dir, 'old', MAC);
    const cert = await signCsr(d.deployment.pki.deviceIssuing, Buffer.from(csr.body, 'base64'), {
      profile: 'device-client',
      endpoint: MAC,
      validityDays: 1,
      now: new Date(Date.now() - 10 * 86_400_000),
    });
    const file = join(dir, 'old.pem');
    await (await import('node:fs/promises')).writeFile(file, cert.toString('pem'));
    const r = await run('mosquitto_pub', { key: csr.key, cert: file }, [
      '-i',
      MAC,
      '-t',
      `dm/${MAC}/status`,
      '-m',
      'x',
    ]);
    expect(r.code).not.toBe(0);
    await waitFor(() => logLines.join('').includes('expired certificate'));
  });

  it('refuses a revoked certificate and an unregistered device', async () => {
    const second = await enrollWithCurl(d.deployment, d.dataDir, dir, factory, MAC);
    const serial = (await openssl(['x509', '-in', second.cert, '-noout', '-serial']))
      .trim()
      .split('=')[1];
    await d.deployment.repo.revokeCertificate(
      serial.toLowerCase().replace(/^(00)+/, ''),
      new Date().toISOString(),
    );
    const revoked = await run('mosquitto_pub', second, [
      '-i',
      MAC,
      '-t',
      `dm/${MAC}/status`,
      '-m',
      'x',
    ]);
    expect(revoked.code).not.toBe(0);
    expect(logLines.join('')).toContain('revoked');

    await d.deployment.repo.deleteDevice(MAC);
    try {
      const gone = await run('mosquitto_pub', operational, [
        '-i',
        MAC,
        '-t',
        `dm/${MAC}/status`,
        '-m',
        'x',
      ]);
      expect(gone.code).not.toBe(0);
      expect(logLines.join('')).toContain('unregistered');
    } finally {
      await d.deployment.repo.createDevice({ mac: MAC, alias: 'one', serialNumber: 'S1' });
      operational = await enrollWithCurl(d.deployment, d.dataDir, dir, factory, MAC);
    }
  });
});

describe('commands', () => {
  it('keeps commands while the device is offline, sends only the newest of a type, and records the answer', async () => {
    const repo = d.deployment.repo;
    const older = await repo.createCommand({ deviceMac: MAC, type: 'reboot', actor: 'test' });
    const newer = await repo.createCommand({ deviceMac: MAC, type: 'reboot', actor: 'test' });
    const trigger = await repo.createCommand({
      deviceMac: MAC,
      type: 'trigger-bootstrap',
      actor: 'test',
    });

    const { host, port } = d.deployment.info.services.management;
    const client = await mqtt.connectAsync(`mqtts://${host}:${port}`, {
      ca: await readFile(ca),
      cert: await readFile(operational.cert),
      key: await readFile(operational.key),
      clientId: MAC,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    try {
      const requests: Array<{ id: string; body: { op: string; path: string } }> = [];
      client.on('message', (topic, payload) => {
        const id = topic.split('/').pop() ?? '';
        requests.push({ id, body: JSON.parse(payload.toString()) });
        void client.publishAsync(`dm/${MAC}/rsp/${id}`, JSON.stringify({ code: '2.04' }), {
          qos: 1,
        });
      });
      await client.subscribeAsync(`dm/${MAC}/req/+`, { qos: 1 });
      await client.publishAsync(
        `dm/${MAC}/register`,
        JSON.stringify({ lifetime: 300, bootstrap_server: 'https://bs.example:8884' }),
        { qos: 1 },
      );

      await waitFor(async () => (await repo.getCommand(trigger.id))?.state === 'Success');
      await waitFor(async () => (await repo.getCommand(newer.id))?.state === 'Success');
      expect((await repo.getCommand(older.id))?.state).toBe('Superseded');
      expect(requests.map((r) => r.body.path).sort()).toEqual(['/1/0/9', '/3/0/4']);
      expect((await repo.getDevice(MAC))?.bootstrapServerUri).toBe('https://bs.example:8884');
    } finally {
      await client.endAsync();
    }
  });
});
