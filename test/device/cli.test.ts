import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerDeviceCommand } from '../../src/cli/device.js';
import { registerFactoryCommand } from '../../src/cli/factory.js';
import { registerSimulateCommand } from '../../src/cli/simulate.js';
import { tempDir } from './helpers.js';

/** A program with only the device-side commands, run in this process. */
function program(): Command {
  const root = new Command('homeport').exitOverride().configureOutput({
    writeOut: () => undefined,
    writeErr: () => undefined,
  });
  registerFactoryCommand(root);
  registerDeviceCommand(root);
  registerSimulateCommand(root);
  for (const command of root.commands) {
    command
      .exitOverride()
      .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  }
  return root;
}

async function run(args: string[]): Promise<{ error?: Error; out: string[] }> {
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  try {
    await program().parseAsync(['node', 'homeport', ...args]);
    return { out };
  } catch (error) {
    return { error: error as Error, out };
  } finally {
    spy.mockRestore();
  }
}

describe('homeport factory, device and simulate (command line)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => cleanup());

  it('factory refuses a non-empty folder, naming --force', async () => {
    await writeFile(join(dir, 'keep.txt'), 'x');
    const { error } = await run(['factory', '--out', dir, '--count', '2']);
    expect(error?.message).toMatch(/holds 1 entries.*--force/);
  });

  it('factory refuses a count that is not a number and a multicast prefix', async () => {
    expect((await run(['factory', '--out', dir, '--count', 'ten'])).error?.message).toContain(
      "'ten' is not a device count",
    );
    expect(
      (await run(['factory', '--out', dir, '--count', '2', '--prefix', '01:00:5e'])).error?.message,
    ).toContain('multicast');
  });

  it('factory --json prints one summary object', async () => {
    const { error, out } = await run([
      'factory',
      '--out',
      dir,
      '--count',
      '3',
      '--manufacturer',
      'Acme',
      '--json',
    ]);
    expect(error).toBeUndefined();
    expect(out).toHaveLength(1);
    const summary = JSON.parse(out[0]);
    expect(summary).toMatchObject({
      count: 3,
      manufacturer: 'Acme',
      firstMac: '02:48:50:00:00:01',
      lastMac: '02:48:50:00:00:03',
    });
    expect(summary.manufacturerCa.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect((await readdir(dir)).sort()).toEqual([
      '02-48-50-00-00-01',
      '02-48-50-00-00-02',
      '02-48-50-00-00-03',
      'devices.csv',
      'manufacturer-ca.key',
      'manufacturer-ca.pem',
    ]);
  });

  it('device and simulate refuse a Bootstrap Server URL that is not https://HOST:PORT', async () => {
    const device = await run(['device', '--state', dir, '--bootstrap', 'http://127.0.0.180:8884']);
    expect(device.error?.message).toContain('is not a Bootstrap Server URL');
    const simulate = await run([
      'simulate',
      '--factory',
      dir,
      '--bootstrap',
      'https://127.0.0.180:8884/bs',
      '--bootstrap-ca',
      'ca.pem',
    ]);
    expect(simulate.error?.message).toContain('is not a Bootstrap Server URL');
  });

  it('device refuses --bootstrap without --bootstrap-ca, and a CA file without a certificate', async () => {
    const alone = await run(['device', '--state', dir, '--bootstrap', 'https://127.0.0.180:8884']);
    expect(alone.error?.message).toContain('give --bootstrap and --bootstrap-ca together');
    await writeFile(join(dir, 'empty.pem'), 'nothing here');
    const empty = await run([
      'device',
      '--state',
      dir,
      '--bootstrap',
      'https://127.0.0.180:8884',
      '--bootstrap-ca',
      join(dir, 'empty.pem'),
    ]);
    expect(empty.error?.message).toContain('holds no PEM certificate');
  });

  it('each command has examples in its help', () => {
    const root = program();
    for (const name of ['factory', 'device', 'simulate']) {
      const command = root.commands.find((c) => c.name() === name);
      let help = '';
      command?.configureOutput({ writeOut: (text) => (help += text) });
      command?.outputHelp();
      expect(help).toContain('Examples:');
      expect(help).toContain(`$ homeport ${name}`);
    }
  });
});
