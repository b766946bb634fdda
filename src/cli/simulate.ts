import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { startSimulator, type Simulator, type SimulatorCounts } from '../device/simulator.js';
import { createLogger } from '../log.js';
import { bootstrapAccount, parseBootstrapUrl, stopOnSignals } from './device.js';

interface SimulateFlags {
  factory: string;
  bootstrap: string;
  bootstrapCa: string;
  count?: number;
  concurrency: number;
  json?: boolean;
}

// The live line on a terminal is redrawn twice a second; elsewhere a line every 5 s.
const TTY_REFRESH_MS = 500;
const LOG_REFRESH_MS = 5000;
const JSON_REFRESH_MS = 1000;

const help = readFileSync(new URL('../../src/cli/help/simulate.txt', import.meta.url), 'utf8');

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('Run the devices of a factory folder in this process, with a live summary.')
    .requiredOption('--factory <dir>', 'a folder made by homeport factory')
    .requiredOption('--bootstrap <url>', 'Bootstrap Server, https://HOST:PORT', parseBootstrapUrl)
    .requiredOption('--bootstrap-ca <file>', "the Bootstrap Server's root certificate, PEM")
    .option('--count <n>', 'run only the first N devices of devices.csv', parsePositive)
    .option('--concurrency <n>', 'devices bootstrapping or connecting at once', parsePositive, 20)
    .option('--json', 'one JSON summary line per second on stdout')
    .addHelpText('after', help)
    .action((flags: SimulateFlags) => runSimulate(flags));
}

async function runSimulate(flags: SimulateFlags): Promise<void> {
  const log = createLogger({ destination: 2, level: process.env.HOMEPORT_LOG_LEVEL ?? 'warn' });
  const bootstrap = bootstrapAccount(flags.bootstrap, flags.bootstrapCa);
  if (!bootstrap) return;

  const started = Date.now();
  const simulator = await startSimulator({
    factoryDir: flags.factory,
    bootstrap,
    concurrency: flags.concurrency,
    logger: log,
    ...(flags.count !== undefined && { count: flags.count }),
  });

  const stopSummary = flags.json
    ? every(JSON_REFRESH_MS, () => console.log(jsonLine(simulator, started)))
    : liveLine(simulator, started);
  stopOnSignals(log, [simulator], stopSummary);
}

function liveLine(simulator: Simulator, started: number): () => void {
  const tty = process.stderr.isTTY;
  const draw = () => {
    const line = summaryLine(simulator.counts(), Date.now() - started);
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  const stop = every(tty ? TTY_REFRESH_MS : LOG_REFRESH_MS, draw);
  draw();
  return () => {
    stop();
    draw();
    if (tty) process.stderr.write('\n');
  };
}

/**
 * The one-line summary: where the devices are, and what they did.
 *
 * @example
 *   summaryLine(counts, 12_300); // 'online 812/1000 · bootstrapping 40 · ... · 12.3 s'
 */
export function summaryLine(c: SimulatorCounts, elapsedMs: number): string {
  const parts = [
    `online ${c.online}/${c.total}`,
    `bootstrapping ${c.bootstrapping}`,
    `enrolling ${c.enrolling}`,
    `connecting ${c.connecting}`,
    `backing off ${c.backingOff}`,
    `bootstraps ${c.bootstraps}${c.bootstrapFailures ? ` (${c.bootstrapFailures} failed)` : ''}`,
    `connects ${c.connects}${c.connectFailures ? ` (${c.connectFailures} failed)` : ''}`,
    ...(c.failedToStart ? [`not started ${c.failedToStart}`] : []),
    `${(elapsedMs / 1000).toFixed(1)} s`,
  ];
  return parts.join(' · ');
}

function jsonLine(simulator: Simulator, started: number): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    elapsed_ms: Date.now() - started,
    ...simulator.counts(),
  });
}

function every(ms: number, run: () => void): () => void {
  const timer = setInterval(run, ms);
  return () => clearInterval(timer);
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    throw new InvalidArgumentError(`'${value}' is not a positive whole number.`);
  }
  return n;
}
