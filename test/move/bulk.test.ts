import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/device/index.js';
import { listDevices, MoveCalls, moveDevices, type MoveState } from '../../src/move/index.js';
import {
  register,
  startFleet,
  TIME_SCALE,
  trustFingerprints,
  type Fleet,
  type Site,
} from './helpers.js';

const COUNT = 200;

let fleet: Fleet;
let one: Site;
let two: Site;
let sim: Simulator;

beforeAll(async () => {
  fleet = await startFleet(['127.0.0.121', '127.0.0.122', '127.0.0.123'], COUNT);
  [one, two] = fleet.sites as [Site, Site];
  await register(fleet, one, fleet.macs);
  sim = await startSimulator({
    factoryDir: join(fleet.dir, 'factory'),
    bootstrap: { url: one.d.deployment.info.services.bootstrap.url, caPem: one.d.serverRoot },
    timeScale: TIME_SCALE,
  });
  await sim.waitFor((c) => c.online === COUNT, 60_000);
}, 120_000);
afterAll(async () => {
  await sim?.stop();
  await fleet?.stop();
});

describe('a bulk move', () => {
  it(`moves ${COUNT} online devices to another deployment, sharing the per-server steps`, async () => {
    const calls = new MoveCalls({ dryRun: false });
    const macs = await listDevices(calls, one.server, { onlineOnly: true });
    expect(macs).toHaveLength(COUNT);

    const changes: string[] = [];
    const states = new Map<string, MoveState>();
    const started = Date.now();
    const report = await moveDevices({
      servers: fleet.sites.map((s) => s.server),
      devices: macs,
      to: 'two',
      from: 'one',
      pollIntervalMs: 250,
      timeoutMs: 60_000,
      onCall: (call) => call.method !== 'GET' && changes.push(`${call.method} ${call.path}`),
      onState: (device, state) => states.set(device, state),
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(`moved ${report.arrived} of ${COUNT} devices in ${seconds.toFixed(1)} s`);

    expect(report).toMatchObject({ arrived: COUNT, failed: 0, skipped: 0 });
    expect([...states.values()].every((s) => s === 'arrived')).toBe(true);
    // Once per server pair: one trust update, one definition; per device: identity,
    // assignment and trigger.
    expect(changes.filter((c) => c === 'PUT /api/certs')).toHaveLength(1);
    expect(changes.filter((c) => c === 'POST /api/bootstrap')).toHaveLength(1);
    expect(changes.filter((c) => c.endsWith('/commands/trigger-bootstrap'))).toHaveLength(COUNT);
    const online = await two.d.api('GET', '/api/management/devices?isOnline=true&pageSize=1000', {
      token: two.token,
    });
    expect(online.body.total_items).toBe(COUNT);
    const trust = await trustFingerprints(two);
    expect(new Set(trust).size).toBe(trust.length);
  }, 90_000);
});
