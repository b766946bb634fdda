import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiClient } from '../cli/api-client.js';
import { fleetMacs, registerFleet } from '../cli/fleet.js';
import { saveLogin } from '../cli/profiles.js';
import { runFactory, startSimulator, type Simulator } from '../device/index.js';
import type { Logger } from '../log.js';
import { moveDevices, type MoveReport, type MoveServer, type MoveState } from '../move/index.js';
import { DEFAULT_PORTS, startDeployment, type Deployment } from '../server/deployment.js';

export const DEMO_PASSWORD = 'homeport-demo';

export interface DemoOptions {
  dataDir: string;
  devices: number;
  moved: number;
  hosts: [string, string];
  logger: Logger;
  /** Where the demo tells what it does, a line at a time. */
  say: (line: string) => void;
  /** Progress of the move, for a bar: devices settled so far, and per state. */
  onMoveState?: (device: string, state: MoveState) => void;
}

export interface Demo {
  servers: Array<{ name: string; deployment: Deployment }>;
  configFile: string;
  report: MoveReport;
  stop(): Promise<void>;
}

/**
 * The demo behind `npm start`: two independent deployments, a factory fleet registered on the
 * first and brought online by the simulator, then part of it moved to the second with the same
 * procedure `homeport move` runs. Everything is made fresh in `dataDir`.
 *
 * @example
 *   const demo = await runDemo({ dataDir: './homeport-demo', devices: 50, moved: 10, … });
 *   await demo.stop();
 */
export async function runDemo(options: DemoOptions): Promise<Demo> {
  const { say } = options;
  const dataDir = resolve(options.dataDir);
  const configFile = join(dataDir, 'config.json');
  const stoppers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const close of stoppers.reverse()) await close().catch(() => undefined);
  };

  try {
    say(`Preparing ${dataDir} (made fresh on every run)`);
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });

    const factory = await runFactory({ outDir: join(dataDir, 'factory'), count: options.devices });
    say(
      `Factory: ${factory.count} devices with birth certificates (${factory.firstMac} … ${factory.lastMac})`,
    );
    const makerCa = await readFile(factory.manufacturerCa.cert, 'utf8');

    const servers = await Promise.all(
      options.hosts.map(async (host, i) => {
        const name = `server${i + 1}`;
        const deployment = await startDeployment({
          dataDir: join(dataDir, name),
          host,
          name: `Demo Server ${i + 1}`,
          ports: DEFAULT_PORTS,
          adminPassword: DEMO_PASSWORD,
          manufacturerCas: [makerCa],
          logger: options.logger.child({ deployment: name }),
        });
        stoppers.push(() => deployment.close());
        return { name, deployment };
      }),
    );
    for (const { name, deployment } of servers) {
      say(`${name}: ${deployment.info.name} at ${deployment.info.services.api.url}`);
    }

    const clients = await Promise.all(servers.map((s) => login(s.name, s.deployment, configFile)));
    await registerFleet(clients[0].client, factory.csv);
    say(`Registered ${factory.count} devices on server1`);

    const first = servers[0].deployment;
    const sim = await startSimulator({
      factoryDir: join(dataDir, 'factory'),
      bootstrap: { url: first.info.services.bootstrap.url, caPem: first.pki.serverRootPem },
      logger: options.logger.child({ simulator: true }),
    });
    stoppers.push(() => sim.stop());
    await waitOnline(sim, options.devices, say);

    const devices = (await fleetMacs(factory.csv)).slice(0, options.moved);
    say(`Moving ${devices.length} devices from server1 to server2 …`);
    const report = await moveDevices({
      servers: clients.map((c) => c.server),
      devices,
      to: 'server2',
      logger: options.logger.child({ move: true }),
      ...(options.onMoveState && { onState: options.onMoveState }),
    });
    return { servers, configFile, report, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function login(name: string, deployment: Deployment, configFile: string) {
  const url = deployment.info.services.api.url;
  const ca = deployment.pki.serverRootPem;
  const client = new ApiClient({ name, baseUrl: url, ca });
  const token = await client.requestToken('admin', DEMO_PASSWORD);
  client.setToken(token.accessToken);
  await saveLogin(
    {
      name,
      url,
      username: 'admin',
      ca,
      password: DEMO_PASSWORD,
      token: token.accessToken,
      tokenExpiresAt: token.expiresAt.toISOString(),
    },
    configFile,
  );
  const server: MoveServer = { name, client, ca };
  return { client, server };
}

async function waitOnline(sim: Simulator, count: number, say: (line: string) => void) {
  const timer = setInterval(() => {
    const c = sim.counts();
    say(
      `  devices: ${c.online} online, ${c.bootstrapping + c.enrolling} bootstrapping, ${c.backingOff} backing off`,
    );
  }, 2000);
  try {
    await sim.waitFor((c) => c.online === count, 120_000);
  } finally {
    clearInterval(timer);
  }
  say(`All ${count} devices are online on server1`);
}
