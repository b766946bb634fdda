import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../cli/api-client.js';
import { runFactory, startSimulator } from '../device/index.js';
import { moveDevices, type MoveServer } from '../move/index.js';
import { fleetMacs, registerFleet } from '../cli/fleet.js';
import { step } from './progress.js';
import { cpuMs, median, percentile } from './proc.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const HOSTS = ['127.0.0.91', '127.0.0.92'] as const;
const ADMIN_PASSWORD = 'bench-admin-password';

/**
 * `npm run bench -- move`: a fleet online on one deployment, then all of it moved to a second
 * one with `homeport move`'s library, timing each device and reading both servers' CPU.
 */
export async function benchMove(options: { devices: number; concurrency: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'homeport-bench-move-'));
  const servers: ServerProcess[] = [];
  try {
    step(`factory: ${options.devices} devices`);
    const factory = await runFactory({ outDir: join(dir, 'factory'), count: options.devices });
    for (const [i, host] of HOSTS.entries()) {
      servers.push(
        await startServerProcess(
          [
            '--data',
            join(dir, `server${i + 1}`),
            '--host',
            host,
            '--manufacturer-ca',
            factory.manufacturerCa.cert,
          ],
          { HOMEPORT_ADMIN_PASSWORD: ADMIN_PASSWORD },
        ),
      );
    }
    const clients = await Promise.all(
      servers.map((s, i) => client(s, join(dir, `server${i + 1}`), `server${i + 1}`)),
    );
    step('registering the devices');
    await registerFleet(clients[0].client, factory.csv);

    step('simulator: the fleet online on server1');
    const first = clients[0];
    const sim = await startSimulator({
      factoryDir: join(dir, 'factory'),
      bootstrap: { url: servers[0].services.bootstrap.url, caPem: first.ca ?? '' },
      concurrency: 64,
    });
    await sim.waitFor((c) => c.online === options.devices, 600_000);

    const macs = await fleetMacs(factory.csv);
    step(`moving ${macs.length} devices to server2`);
    const cpuBefore = servers.map((s) => cpuMs(s.pid));
    const started = performance.now();
    const began = new Map<string, number>();
    const took: number[] = [];
    const report = await moveDevices({
      servers: clients,
      devices: macs,
      to: 'server2',
      concurrency: options.concurrency,
      timeoutMs: 300_000,
      onState: (device, state) => {
        // Each device's own time: from its first change to its arrival on server2.
        if (state === 'moving' && !began.has(device)) began.set(device, performance.now());
        if (state === 'arrived')
          took.push((performance.now() - (began.get(device) ?? started)) / 1000);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = servers.reduce((sum, s, i) => sum + cpuMs(s.pid) - (cpuBefore[i] ?? 0), 0);
    await sim.stop();

    return {
      devices: options.devices,
      concurrency: options.concurrency,
      arrived: report.arrived,
      failed: report.failed,
      move_seconds: round(seconds),
      devices_moved_per_second: round(report.arrived / seconds),
      p50_seconds_per_device: round(median(took)),
      p99_seconds_per_device: round(percentile(took, 99)),
      server_cpu_ms_per_moved_device: round(cpu / Math.max(1, report.arrived)),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function client(server: ServerProcess, dataDir: string, name: string): Promise<MoveServer> {
  const ca = await readFile(join(dataDir, 'pki', 'server-root.pem'), 'utf8');
  const api = new ApiClient({ name, baseUrl: server.services.api.url, ca });
  api.setToken((await api.requestToken('admin', ADMIN_PASSWORD)).accessToken);
  return { name, client: api, ca };
}

const round = (n: number) => Math.round(n * 100) / 100;
