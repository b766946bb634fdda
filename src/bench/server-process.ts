import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/homeport.js', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  services: Record<
    'api' | 'bootstrap' | 'management' | 'content',
    { host: string; port: number; url: string }
  >;
  stop(): Promise<void>;
}

/**
 * Runs `homeport server` as its own process, so that its CPU time and memory can be read
 * apart from the simulated devices that load it.
 */
export async function startServerProcess(
  args: string[],
  env: Record<string, string>,
): Promise<ServerProcess> {
  // HOMEPORT_BENCH_PROFILE=DIR writes a V8 CPU profile of the server to DIR when it stops.
  const profile = process.env.HOMEPORT_BENCH_PROFILE;
  const node = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child = spawn(process.execPath, [...node, BIN, 'server', '--json', ...args], {
    env: { ...process.env, HOMEPORT_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<ServerProcess['services']>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (line) resolve((JSON.parse(line) as { services: ServerProcess['services'] }).services);
    });
    child.once('exit', (code) =>
      reject(new Error(`homeport server exited with ${code} before it was ready`)),
    );
  });
  return {
    child,
    pid: child.pid ?? 0,
    services: ready,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
