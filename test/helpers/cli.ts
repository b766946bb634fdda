import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const HOMEPORT_BIN = fileURLToPath(new URL('../../bin/homeport.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line that parses as JSON with `event: 'ready'`. */
  ready: Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
}

/** Runs the built `homeport` CLI as a child process, as an operator would. */
export function runCli(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [HOMEPORT_BIN, ...args], {
    env: { ...process.env, HOMEPORT_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      for (const line of out.split('\n')) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.event === 'ready') resolve(parsed);
        } catch {
          // not a complete JSON line yet
        }
      }
    });
    void exit.then((code) => reject(new Error(`homeport exited (${code}) before ready:\n${err}`)));
  });
  ready.catch(() => undefined);
  return { child, stdout: () => out, stderr: () => err, ready, exit };
}

/** Runs the CLI to completion and returns its exit status and output. */
export async function runCliToEnd(args: string[], env: Record<string, string> = {}) {
  const running = runCli(args, env);
  const code = await running.exit;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}
