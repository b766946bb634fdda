import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../cli/api-client.js';
import { runFactory, startSimulator } from '../device/index.js';
import { registerFleet } from '../cli/fleet.js';
import { step } from './progress.js';
import { connectFleet, startMosquitto } from './mosquitto.js';
import { cpuMs, rssKiB } from './proc.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const HOST = '127.0.0.90';
const ADMIN_PASSWORD = 'bench-admin-password';

export interface BootstrapBenchOptions {
  devices: number;
  /** Connections made to each broker for the side-by-side comparison. */
  compare: number;
}

/**
 * `npm run bench -- bootstrap`: a factory fleet taken from factory state to online on one
 * deployment, with the server's own CPU and memory read from /proc; then the same
 * certificates connected to the Management Server and to Mosquitto side by side.
 */
export async function benchBootstrap(options: BootstrapBenchOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'homeport-bench-'));
  let server: ServerProcess | undefined;
  try {
    step(`factory: ${options.devices} devices`);
    const factory = await runFactory({ outDir: join(dir, 'factory'), count: options.devices });
    server = await startServerProcess(
      [
        '--data',
        join(dir, 'data'),
        '--host',
        HOST,
        '--manufacturer-ca',
        factory.manufacturerCa.cert,
        '--api-port',
        '0',
        '--bootstrap-port',
        '0',
        '--management-port',
        '0',
        '--content-port',
        '0',
      ],
      { HOMEPORT_ADMIN_PASSWORD: ADMIN_PASSWORD },
    );
    step(`server ${server.services.api.url}`);
    const serverRoot = await readFile(join(dir, 'data', 'pki', 'server-root.pem'), 'utf8');
    const api = new ApiClient({ name: 'bench', baseUrl: server.services.api.url, ca: serverRoot });
    api.setToken((await api.requestToken('admin', ADMIN_PASSWORD)).accessToken);
    step('registering the devices');
    await registerFleet(api, factory.csv);

    step('simulator: factory state to online');
    const cpuBefore = cpuMs(server.pid);
    const rssBefore = rssKiB(server.pid);
    const started = performance.now();
    const sim = await startSimulator({
      factoryDir: join(dir, 'factory'),
      bootstrap: { url: server.services.bootstrap.url, caPem: serverRoot },
      concurrency: 64,
    });
    await sim.waitFor((c) => c.online === options.devices, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const serverCpu = cpuMs(server.pid) - cpuBefore;
    const rssOnline = rssKiB(server.pid);
    await sim.stop();

    step(`online in ${seconds.toFixed(1)} s; comparing with Mosquitto`);
    const comparison = await compareBrokers(dir, server, serverRoot, options.compare);
    return {
      devices: options.devices,
      end_to_end_devices_per_second: round(options.devices / seconds),
      end_to_end_seconds: round(seconds),
      server_cpu_ms_per_device: round(serverCpu / options.devices),
      server_rss_kib_per_online_device: round((rssOnline - rssBefore) / options.devices),
      ...comparison,
      // The MS's memory is read while the fleet is online: reconnecting the same devices to a
      // process that already held them reuses its heap and says nothing.
      memory_per_connection_ratio: round(
        (rssOnline - rssBefore) / options.devices / comparison.mosquitto_kib_per_connection,
      ),
    };
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Connects the same operational certificates to the Management Server and to Mosquitto in
 * turn and reads each broker's CPU per connect and memory per idle connection.
 */
async function compareBrokers(
  dir: string,
  server: ServerProcess,
  serverRoot: string,
  count: number,
) {
  const folders = join(dir, 'factory');
  const ms = server.services.management;
  const homeport = await connectFleet({
    folders,
    count,
    host: ms.host,
    port: ms.port,
    ca: serverRoot,
    pid: server.pid,
  });

  step(`Homeport MS: ${homeport.cpuMsPerConnect.toFixed(2)} ms CPU per connect`);
  const mosquitto = await startMosquitto(join(dir, 'data'), join(dir, 'mosquitto'), HOST);
  try {
    const reference = await connectFleet({
      folders,
      count,
      host: HOST,
      port: mosquitto.port,
      ca: serverRoot,
      pid: mosquitto.pid,
    });
    await writeFile(join(dir, 'compare.json'), JSON.stringify({ homeport, reference }));
    return {
      compared_connections: count,
      ms_cpu_ms_per_connect: round(homeport.cpuMsPerConnect),
      mosquitto_cpu_ms_per_connect: round(reference.cpuMsPerConnect),
      cpu_per_connect_ratio: round(homeport.cpuMsPerConnect / reference.cpuMsPerConnect),
      mosquitto_kib_per_connection: round(reference.kibPerConnection),
    };
  } finally {
    await mosquitto.stop();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
