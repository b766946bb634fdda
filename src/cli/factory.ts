import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_FACTORY_COUNT, runFactory, type FactorySummary } from '../device/factory.js';
import { DEFAULT_MAC_PREFIX } from '../device/numbering.js';

interface FactoryFlags {
  out: string;
  count: number;
  manufacturer: string;
  prefix: string;
  start: number;
  type: string;
  force?: boolean;
  json?: boolean;
}

/** From this many devices on, progress is shown on stderr. */
const PROGRESS_FROM = 200;

const help = readFileSync(new URL('../../src/cli/help/factory.txt', import.meta.url), 'utf8');

export function registerFactoryCommand(program: Command): void {
  program
    .command('factory')
    .description(
      'Play the production line: a manufacturer CA and factory credentials for N devices.',
    )
    .requiredOption('--out <dir>', 'output folder (must be empty unless --force)')
    .requiredOption('--count <n>', `how many devices (1 to ${MAX_FACTORY_COUNT})`, parseCount)
    .option(
      '--manufacturer <name>',
      'O of the certificates, name of the manufacturer CA',
      'Homeport',
    )
    .option('--prefix <mac-prefix>', 'MAC prefix, 1 to 5 octets', DEFAULT_MAC_PREFIX)
    .option('--start <n>', 'counter of the first device after the prefix', parseCounter, 1)
    .option('--type <type>', 'device type (Type column and model number)', 'HP-GW1')
    .option('--force', 'write into a folder that is not empty')
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText('after', help)
    .action((flags: FactoryFlags) => runFactoryCommand(flags));
}

async function runFactoryCommand(flags: FactoryFlags): Promise<void> {
  const bar =
    flags.count >= PROGRESS_FROM && process.stderr.isTTY ? progressBar(flags.count) : undefined;
  try {
    const summary = await runFactory({
      outDir: flags.out,
      count: flags.count,
      manufacturer: flags.manufacturer,
      macPrefix: flags.prefix,
      firstCounter: flags.start,
      deviceType: flags.type,
      force: flags.force === true,
      onProgress: (done) => bar?.update(done),
    });
    bar?.stop();
    report(summary, flags.json === true);
  } finally {
    bar?.stop();
  }
}

function progressBar(total: number): SingleBar {
  const bar = new SingleBar({
    format: 'signing  [{bar}] {value}/{total} devices  {eta}s left',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0);
  return bar;
}

function report(summary: FactorySummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const { count, firstMac, lastMac, elapsedMs, manufacturerCa } = summary;
  console.log(
    [
      `Made ${count} devices (${firstMac} … ${lastMac}) in ${elapsedMs} ms.`,
      `  Manufacturer CA: ${manufacturerCa.cert} (sha256 ${manufacturerCa.fingerprint})`,
      `  Devices CSV:     ${summary.csv}`,
      `  Device folders:  ${summary.outDir}/<MAC with dashes>/`,
    ].join('\n'),
  );
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > MAX_FACTORY_COUNT) {
    throw new InvalidArgumentError(
      `'${value}' is not a device count; give 1 to ${MAX_FACTORY_COUNT}.`,
    );
  }
  return count;
}

function parseCounter(value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError(`'${value}' is not a counter; give a whole number from 0.`);
  }
  return Number(value);
}
