import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ApiClient } from '../../src/cli/api-client.js';
import { DeviceAgent, runFactory, type FactorySummary } from '../../src/device/index.js';
import type { MoveServer } from '../../src/move/index.js';
import { fingerprint256, parsePemBundle } from '../../src/pki/index.js';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { waitFor } from '../helpers/wait.js';

export { waitFor };

// Devices wait 1/20 of the protocol's times: the BS's 2 s retry timer becomes 100 ms.
export const TIME_SCALE = 0.05;

/** One deployment of a move test, with an admin token and a move-ready client. */
export interface Site {
  name: string;
  d: TestDeployment;
  token: string;
  server: MoveServer;
}

export interface Fleet {
  dir: string;
  factory: FactorySummary;
  /** MACs in the factory's order. */
  macs: string[];
  sites: Site[];
  agents: DeviceAgent[];
  stop(): Promise<void>;
}

/**
 * Three deployments (named one, two, three) on the given loopback addresses, all trusting one
 * manufacturer, with `count` devices made by the factory. No device is registered yet.
 */
export async function startFleet(hosts: [string, string, string], count: number): Promise<Fleet> {
  const dir = await mkdtemp(join(tmpdir(), 'homeport-move-'));
  const factory = await runFactory({ outDir: join(dir, 'factory'), count });
  const manufacturerCa = await readFile(factory.manufacturerCa.cert, 'utf8');
  const names = ['one', 'two', 'three'];
  const sites = await Promise.all(
    hosts.map(async (host, i) => {
      const name = names[i] ?? host;
      const d = await startTestDeployment({ host, name, manufacturerCas: [manufacturerCa] });
      const token = await d.login('admin', ADMIN_PASSWORD);
      return { name, d, token, server: await moveServer(d, name, 'admin', ADMIN_PASSWORD) };
    }),
  );
  const csv = (await readFile(factory.csv, 'utf8')).trim().split('\n').slice(1);
  const fleet: Fleet = {
    dir,
    factory,
    macs: csv.map((line) => line.split(',')[3] ?? ''),
    sites,
    agents: [],
    stop: async () => {
      await Promise.all(fleet.agents.map((a) => a.stop()));
      sites.forEach((s) => s.server.client.close());
      await Promise.all(sites.map((s) => s.d.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

/** A move server for a user of a deployment, as a profile would give it. */
export async function moveServer(
  d: TestDeployment,
  name: string,
  user: string,
  password: string,
): Promise<MoveServer> {
  const client = new ApiClient({
    name,
    baseUrl: d.deployment.info.services.api.url,
    ca: d.serverRoot,
  });
  client.setToken((await client.requestToken(user, password)).accessToken);
  return { name, client, ca: d.serverRoot };
}

/** Registers factory devices on a deployment through the API, as an operator would. */
export async function register(
  fleet: Fleet,
  site: Site,
  macs: string[],
  companyId?: number,
): Promise<void> {
  const csv = (await readFile(fleet.factory.csv, 'utf8')).trim().split('\n').slice(1);
  for (const line of csv) {
    const [alias, serial, orderCode, mac, imei, type] = line.split(',');
    if (!mac || !macs.includes(mac)) continue;
    const r = await site.d.api('POST', '/api/identity/devices', {
      token: site.token,
      json: {
        alias,
        serial_number: serial,
        mac_address: mac,
        ...(orderCode && { order_code: orderCode }),
        ...(imei && { imei }),
        ...(type && { device_type: type }),
        ...(companyId !== undefined && { company_id: companyId }),
      },
    });
    expect(r.status).toBe(201);
  }
}

/** Starts the device agent of `mac` with `home` as its Bootstrap Server; resolves when online. */
export async function startDevice(fleet: Fleet, mac: string, home: Site): Promise<DeviceAgent> {
  const agent = new DeviceAgent({
    folder: join(fleet.dir, 'factory', mac.replace(/:/g, '-')),
    bootstrap: { url: home.d.deployment.info.services.bootstrap.url, caPem: home.d.serverRoot },
    timeScale: TIME_SCALE,
  });
  fleet.agents.push(agent);
  await agent.start();
  await waitFor(() => agent.state === 'online', 20_000);
  await waitFor(async () => (await device(home, mac))?.is_online === true, 5000);
  return agent;
}

/** The device as a deployment shows it; undefined if it is not registered there. */
export async function device(site: Site, mac: string): Promise<any> {
  const r = await site.d.api('GET', `/api/management/devices/${mac}`, { token: site.token });
  return r.status === 404 ? undefined : r.body.data;
}

/** The SHA-256 fingerprints in a deployment's MS trust store, in stored order. */
export async function trustFingerprints(site: Site): Promise<string[]> {
  const r = await site.d.api('GET', '/api/certs', { token: site.token });
  const text = Buffer.from(r.body.data.certs, 'base64').toString('utf8');
  return parsePemBundle(text).map(fingerprint256);
}

/** The fingerprint of a deployment's own device root CA. */
export function deviceRoot(site: Site): string {
  return fingerprint256(site.d.deployment.pki.deviceRoot.cert);
}

/** The Management Server definitions a deployment holds (without its co-located one). */
export async function definitions(site: Site): Promise<any[]> {
  const r = await site.d.api('GET', '/api/bootstrap', { token: site.token });
  return r.body.data.filter((d: any) => !d.co_located);
}

export function msOf(site: Site): { address: string; port: number } {
  const { host, port } = site.d.deployment.info.services.management;
  return { address: host, port };
}
