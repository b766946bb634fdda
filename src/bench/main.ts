import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { benchBootstrap } from './bootstrap.js';
import { benchMove } from './move.js';

const RESULTS = new URL('../../bench/results/', import.meta.url);

/**
 * `npm run bench -- NAME [--devices N]`: runs one benchmark and writes its result, with the
 * machine it ran on, to bench/results/NAME-<time>.json.
 */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const devices = Number(flag(rest, '--devices') ?? 1000);
  let result: object;
  if (name === 'bootstrap') {
    result = await benchBootstrap({ devices, compare: Math.min(devices, 500) });
  } else if (name === 'move') {
    const concurrency = Number(flag(rest, '--concurrency') ?? 32);
    result = await benchMove({ devices: Number(flag(rest, '--devices') ?? 500), concurrency });
  } else {
    console.error(
      'usage: npm run bench -- bootstrap [--devices N] | move [--devices N] [--concurrency N]',
    );
    process.exitCode = 2;
    return;
  }
  const record = {
    benchmark: name,
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model,
    ...result,
  };
  await mkdir(RESULTS, { recursive: true });
  const file = new URL(`${name}-${record.at.replace(/[:.]/g, '-')}.json`, RESULTS);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(JSON.stringify(record, null, 2));
  console.error(`written to ${file.pathname}`);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
