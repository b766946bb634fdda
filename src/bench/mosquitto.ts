import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { cpuMs, rssKiB } from './proc.js';

async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

/**
 * Mosquitto (Debian's) as a reference broker, with the Management Server's certificate and
 * the device CA chain as its client CA: the same TLS work for the same clients.
 */
export async function startMosquitto(dataDir: string, dir: string, host: string) {
  await mkdir(dir, { recursive: true });
  const port = await freePort(host);
  const pki = join(dataDir, 'pki');
  const deviceCas = (
    await Promise.all(
      ['device-issuing.pem', 'device-root.pem'].map((f) => readFile(join(pki, f), 'utf8')),
    )
  ).join('');
  await writeFile(join(dir, 'device-cas.pem'), deviceCas);
  await writeFile(
    join(dir, 'mosquitto.conf'),
    [
      // Run as whoever runs the benchmark: the keys are private to that user.
      `user ${userInfo().username}`,
      'per_listener_settings true',
      `listener ${port} ${host}`,
      `cafile ${join(dir, 'device-cas.pem')}`,
      `certfile ${join(pki, 'services', 'management.pem')}`,
      `keyfile ${join(pki, 'services', 'management.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'allow_anonymous false',
      'persistence false',
      'log_dest none',
      'max_keepalive 65535',
      '',
    ].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  child.once('exit', (code) => {
    if (code)
      console.error(`mosquitto exited with ${code}; run it by hand with ${dir}/mosquitto.conf`);
  });
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, host);
      socket.once('error', () => resolve(true));
      socket.once('listening', () => socket.close(() => resolve(false)));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

interface FleetOptions {
  folders: string;
  count: number;
  host: string;
  port: number;
  ca: string;
  /** The broker's process, whose CPU and memory are read. */
  pid: number;
}

/** Connects `count` devices with their operational credentials, 32 at a time, and measures. */
export async function connectFleet(options: FleetOptions) {
  const entries = (await readdir(options.folders, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => join(options.folders, e.name))
    .slice(0, options.count);
  const creds = await Promise.all(
    entries.map(async (folder) => ({
      mac: (JSON.parse(await readFile(join(folder, 'identity.json'), 'utf8')) as { mac: string })
        .mac,
      cert: await readFile(join(folder, 'operational.pem')),
      key: await readFile(join(folder, 'operational.key')),
    })),
  );
  const cpu0 = cpuMs(options.pid);
  const rss0 = rssKiB(options.pid);
  const clients: mqtt.MqttClient[] = [];
  for (let i = 0; i < creds.length; i += 32) {
    const batch = await Promise.all(
      creds.slice(i, i + 32).map((c) =>
        connect(`mqtts://${options.host}:${options.port}`, {
          ca: options.ca,
          cert: c.cert,
          key: c.key,
          clientId: c.mac,
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 10_000,
          keepalive: 600,
        }),
      ),
    );
    clients.push(...batch);
  }
  const cpu = cpuMs(options.pid) - cpu0;
  await new Promise((r) => setTimeout(r, 1000));
  const rss = rssKiB(options.pid) - rss0;
  await Promise.all(clients.map((c) => c.endAsync()));
  return {
    connections: clients.length,
    cpuMsPerConnect: cpu / clients.length,
    kibPerConnection: rss / clients.length,
  };
}

/** Resolves on CONNACK; rejects if the broker refuses or closes first. */
function connect(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, options);
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => reject(err));
    client.once('close', () => reject(new Error(`${url} closed the connection before CONNACK`)));
  });
}
