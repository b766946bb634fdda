import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent, runFactory, startSimulator, type Simulator } from '../../src/device/index.js';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { waitFor } from '../helpers/wait.js';

// Devices wait 1/20 of the protocol's times: the BS's 2 s retry timer becomes 100 ms.
const TIME_SCALE = 0.05;

let d: TestDeployment;
let dir: string;
let token: string;
let macs: string[];
let bootstrap: { url: string; caPem: string };

const device = async (mac: string) =>
  (await d.api('GET', `/api/management/devices/${mac}`, { token })).body.data;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-e2e-'));
  const factory = await runFactory({ outDir: join(dir, 'factory'), count: 22 });
  d = await startTestDeployment({
    host: '127.0.0.70',
    manufacturerCas: [await readFile(factory.manufacturerCa.cert, 'utf8')],
  });
  token = await d.login('admin', ADMIN_PASSWORD);
  const csv = (await readFile(factory.csv, 'utf8')).trim().split('\n').slice(1);
  macs = csv.map((line) => line.split(',')[3] ?? '');
  for (const line of csv) {
    const [alias, serial, , mac] = line.split(',');
    const r = await d.api('POST', '/api/identity/devices', {
      token,
      json: { alias, serial_number: serial, mac_address: mac },
    });
    expect(r.status).toBe(201);
  }
  bootstrap = { url: d.deployment.info.services.bootstrap.url, caPem: d.serverRoot };
}, 120_000);
afterAll(async () => {
  await d?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a fleet from the factory', () => {
  let sim: Simulator;
  afterAll(async () => {
    await sim?.stop();
  });

  it('brings 20 devices online, and a triggered bootstrap re-enrolls one', async () => {
    sim = await startSimulator({
      factoryDir: join(dir, 'factory'),
      bootstrap,
      count: 20,
      timeScale: TIME_SCALE,
    });
    await sim.waitFor((c) => c.online === 20, 60_000);
    await waitFor(async () => {
      const r = await d.api('GET', '/api/management/devices?isOnline=true&pageSize=100', { token });
      return r.body.total_items === 20;
    }, 3000);

    const mac = macs[0];
    const before = await device(mac);
    expect(before.bootstrap_server_uri).toBe(bootstrap.url);
    const trigger = await d.api(
      'POST',
      `/api/management/devices/${mac}/commands/trigger-bootstrap`,
      { token },
    );
    expect(trigger.status).toBe(201);
    await waitFor(async () => {
      const now = await device(mac);
      return now.is_online && now.certificate?.serial !== before.certificate.serial;
    }, 20_000);
    const command = await d.api(
      'GET',
      `/api/management/devices/${mac}/commands/${trigger.body.data.id}`,
      { token },
    );
    expect(command.body.data.state).toBe('Success');
  });

  it('keeps connected devices connected while the Bootstrap Server is down', async () => {
    await d.deployment.stopService('bootstrap');
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect(sim.counts().online).toBe(20);
      const r = await d.api('GET', '/api/management/devices?isOnline=true&pageSize=100', { token });
      expect(r.body.total_items).toBe(20);
    } finally {
      await d.deployment.startService('bootstrap');
    }
  });

  it('sends devices back to their BS when the MS dies, and brings them online when it returns', async () => {
    await d.deployment.stopService('management');
    try {
      await sim.waitFor((c) => c.online === 0, 10_000);
      await waitFor(async () => {
        const audit = await d.deployment.repo.listAudit({ limit: 200 });
        return audit.some((e) => e.action === 'device.registration-failure');
      }, 30_000);
    } finally {
      await d.deployment.startService('management');
    }
    await sim.waitFor((c) => c.online === 20, 60_000);
  });
});

describe('a device agent killed in the middle of a bootstrap', () => {
  it('still has its bootstrap account after a restart, and completes', async () => {
    const mac = macs[21];
    const folder = join(dir, 'factory', mac.replace(/:/g, '-'));
    const crashing = new DeviceAgent({
      folder,
      bootstrap,
      timeScale: TIME_SCALE,
      beforeSaveStep: (step) => {
        if (step === 'install-key') throw new Error(`power cut before ${step}`);
      },
    });
    await crashing.start();
    await waitFor(
      () => crashing.stats.bootstrapFailures > 0 || crashing.state === 'backing-off',
      10_000,
    );
    await crashing.stop();

    const state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8'));
    expect(JSON.stringify(state)).toContain(bootstrap.url);

    const restarted = new DeviceAgent({ folder, timeScale: TIME_SCALE });
    await restarted.start();
    try {
      await waitFor(() => restarted.state === 'online', 20_000);
      expect((await device(mac)).is_online).toBe(true);
    } finally {
      await restarted.stop();
    }
  });
});
