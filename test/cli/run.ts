import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { HOMEPORT_BIN } from '../helpers/cli.js';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI to the end with its profiles in `config`, optionally feeding stdin, as an
 * operator's shell would.
 */
export async function homeport(config: string, args: string[], input?: string): Promise<Finished> {
  const child = spawn(process.execPath, [HOMEPORT_BIN, ...args], {
    env: { ...process.env, HOMEPORT_CONFIG: config },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Logs in through the CLI with the password on stdin. */
export function login(
  config: string,
  name: string,
  url: string,
  password: string,
  extra: string[] = [],
): Promise<Finished> {
  const args = ['login', name, '--url', url, '--username', 'admin', '--password-stdin'];
  return homeport(config, [...args, ...extra], `${password}\n`);
}

export async function readConfig(config: string): Promise<any> {
  return JSON.parse(await readFile(config, 'utf8'));
}

/** Edits the profile file as an operator would by hand (keeping its mode). */
export async function editConfig(config: string, edit: (c: any) => void): Promise<void> {
  const content = await readConfig(config);
  edit(content);
  await writeFile(config, JSON.stringify(content, null, 2));
  await chmod(config, 0o600);
}
